/*
 * The isolated network namespace (see netns.h).
 *
 * Why a helper process rather than setns() around socket(): setns needs
 * CAP_SYS_ADMIN in the core at run time, and a thread that changed its
 * namespace would have to be kept apart from every other use; a helper
 * that only ever calls socket() can be confined to exactly that, and the
 * core needs no new host call at all (the fds arrive by recvmsg, which it
 * already makes for the gofer).
 *
 * The helper is forked twice (the grandchild is not the core's child, so
 * no one has to reap it), keeps only its end of a SEQPACKET socketpair,
 * leaves the session (terminal signals are the core's), unshares the
 * network namespace (with a user namespace when unprivileged), brings
 * `lo` up, reports the outcome, sets no_new_privs and a seccomp filter
 * (socket for AF_INET/AF_INET6 stream and datagram only, recvmsg,
 * sendmsg, close, exit), then serves.  EOF on its socket (the core exited
 * or closed it) ends it.  Only raw system calls run in the forked child:
 * the core may already have threads, so malloc and stdio are off limits.
 *
 * Divided into: the filter, the helper, the core side.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netns.h"

struct nethost_ns {
	int sock;
	pthread_mutex_t lock; /* one request in flight */
};

struct ns_req {
	int family, type, protocol;
};

/* ---- the filter ---- */

#define ALLOW_NR(nr)                                                    \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1),                \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static struct sock_filter ns_filter[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	/* socket(AF_INET|AF_INET6, SOCK_STREAM|SOCK_DGRAM [| flags], any):
	 * the offsets below count instructions of this block */
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 9),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET, 1, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, 0, 5),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
	BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~(uint32_t)(SOCK_NONBLOCK | SOCK_CLOEXEC)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOCK_STREAM, 1, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOCK_DGRAM, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	ALLOW_NR(__NR_recvmsg),
	ALLOW_NR(__NR_sendmsg),
	ALLOW_NR(__NR_close),
	ALLOW_NR(__NR_exit_group),
	ALLOW_NR(__NR_exit),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
};

/* ---- the helper (raw system calls only) ---- */

static void ns_exit(int code)
{
	syscall(SYS_exit_group, code);
	__builtin_unreachable();
}

/* ns_lo_up - bring the namespace's loopback up (IPv6 ::1 comes with it). */
static int ns_lo_up(void)
{
	struct ifreq ifr;
	int s = (int)syscall(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r = 0;

	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (syscall(SYS_ioctl, s, SIOCGIFFLAGS, &ifr) < 0)
		r = -errno;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (!r && syscall(SYS_ioctl, s, SIOCSIFFLAGS, &ifr) < 0)
		r = -errno;
	syscall(SYS_close, s);
	return r;
}

/* ns_reply - the result of one request, with the fd when @err is 0. */
static void ns_reply(int sock, int err, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &err, sizeof(err) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (fd >= 0) {
		memset(cbuf, 0, sizeof(cbuf));
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if (syscall(SYS_sendmsg, sock, &m, MSG_NOSIGNAL) < 0)
		ns_exit(0); /* the core is gone */
}

static __attribute__((noreturn)) void ns_helper(int sock)
{
	struct sock_fprog prog = {
		.len = sizeof(ns_filter) / sizeof(ns_filter[0]),
		.filter = ns_filter,
	};
	int err = 0, hi;

	/* keep only our socket, as fd 3 */
	hi = (int)syscall(SYS_dup3, sock, 3, O_CLOEXEC);
	if (sock != 3 && hi != 3)
		ns_exit(1);
	sock = 3;
	syscall(SYS_close_range, 0, 2, 0);
	syscall(SYS_close_range, 4, ~0U, 0);
	syscall(SYS_setsid);
	if (syscall(SYS_unshare, CLONE_NEWNET) < 0) {
		err = -errno;
		if ((err == -EPERM || err == -EINVAL) &&
		    syscall(SYS_unshare, CLONE_NEWUSER | CLONE_NEWNET) == 0)
			err = 0;
	}
	if (!err)
		err = ns_lo_up();
	if (!err && (syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		     syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0))
		err = -errno;
	ns_reply(sock, err, -1);
	if (err)
		ns_exit(1);
	for (;;) {
		struct ns_req q;
		struct iovec iov = { &q, sizeof(q) };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
		long n = syscall(SYS_recvmsg, sock, &m, 0);
		int fd;

		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(q))
			ns_exit(0);
		/* the core validated these; the filter enforces them again */
		fd = (int)syscall(SYS_socket, q.family,
				  q.type | SOCK_NONBLOCK | SOCK_CLOEXEC, q.protocol);
		ns_reply(sock, fd < 0 ? -errno : 0, fd);
		if (fd >= 0)
			syscall(SYS_close, fd);
	}
}

/* ---- the core side ---- */

int nethost_ns_start(struct nethost_ns **out, const char **why)
{
	struct nethost_ns *ns;
	int sv[2], status, err;
	ssize_t n;
	long pid;

	ns = calloc(1, sizeof(*ns));
	if (!ns) {
		*why = "out of memory";
		return -ENOMEM;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		err = -errno;
		*why = "socketpair";
		goto out_free;
	}
	pid = syscall(SYS_clone, SIGCHLD, 0L, 0L, 0L, 0L);
	if (pid < 0) {
		err = -errno;
		*why = "fork";
		goto out_close;
	}
	if (pid == 0) {
		long p2 = syscall(SYS_clone, SIGCHLD, 0L, 0L, 0L, 0L);

		if (p2 == 0)
			ns_helper(sv[1]);
		ns_exit(p2 < 0 ? 1 : 0);
	}
	while (waitpid((pid_t)pid, &status, 0) < 0 && errno == EINTR)
		;
	close(sv[1]);
	sv[1] = -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		err = -ECHILD;
		*why = "fork";
		goto out_close;
	}
	/* the helper's first message is how its set-up went */
	do
		n = recv(sv[0], &err, sizeof(err), 0);
	while (n < 0 && errno == EINTR);
	if (n != sizeof(err) || err > 0 || err < -4095) {
		err = -ECHILD;
		*why = "the helper died during set-up";
		goto out_close;
	}
	if (err) {
		*why = "unshare the network namespace or bring lo up";
		goto out_close;
	}
	ns->sock = sv[0];
	pthread_mutex_init(&ns->lock, NULL);
	*out = ns;
	return 0;

out_close:
	close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
out_free:
	free(ns);
	return err;
}

int nethost_ns_socket(struct nethost_ns *ns, int family, int type,
		      int protocol)
{
	struct ns_req q = { family, type, protocol };
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	int err = 0, fd = -1;
	struct iovec iov = { &err, sizeof(err) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n;

	pthread_mutex_lock(&ns->lock);
	n = send(ns->sock, &q, sizeof(q), MSG_NOSIGNAL);
	if (n == sizeof(q)) {
		do
			n = recvmsg(ns->sock, &m, MSG_CMSG_CLOEXEC);
		while (n < 0 && errno == EINTR);
	}
	pthread_mutex_unlock(&ns->lock);
	if (n != sizeof(err))
		return -EIO; /* the helper is gone */
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd < 0)
				fd = got;
			else
				close(got);
		}
	}
	if (err) {
		if (fd >= 0)
			close(fd);
		return err > 0 || err < -4095 ? -EIO : err;
	}
	return fd >= 0 ? fd : -EIO;
}

void nethost_ns_stop(struct nethost_ns *ns)
{
	if (!ns)
		return;
	close(ns->sock);
	pthread_mutex_destroy(&ns->lock);
	free(ns);
}
