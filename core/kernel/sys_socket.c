/*
 * Sockets, for now: unnamed AF_UNIX socket pairs backed by host socket
 * pairs the core owns (no path is ever involved, so nothing can reach the
 * host), and the data calls on them.  Control messages (SCM_RIGHTS ...)
 * would carry host fds and are refused until the core translates them.
 * socket(2) itself: no family yet (network.plugin none: no inet sockets;
 * named unix sockets come with the networking work).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <signal.h>
#include <unistd.h>

#include "../vfs/vfs.h"
#include "fdtable.h"
#include "kernel.h"

#define MAX_IO (1u << 20)

long sys_socket(struct task *t, const struct sbx_syscall_args *a)
{
	int family = (int)a->a[0];

	if (family < 0 || family >= 46 /* AF_MAX */)
		return -EAFNOSUPPORT;
	return -EAFNOSUPPORT;
}

long sys_socketpair(struct task *t, const struct sbx_syscall_args *a)
{
	int family = (int)a->a[0], type = (int)a->a[1], proto = (int)a->a[2];
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), sv[2], fds[2] = { -1, -1 };
	struct file *f[2] = { NULL, NULL };
	long r;

	if (family != AF_UNIX)
		return -EAFNOSUPPORT;
	if (base != SOCK_STREAM && base != SOCK_DGRAM && base != SOCK_SEQPACKET)
		return -EINVAL;
	if (proto != 0)
		return -EPROTONOSUPPORT;
	if (socketpair(AF_UNIX, base | SOCK_CLOEXEC | (type & SOCK_NONBLOCK), 0, sv) < 0)
		return -errno;
	for (int i = 0; i < 2; i++) {
		f[i] = file_host(sv[i], O_RDWR | ((type & SOCK_NONBLOCK) ? O_NONBLOCK : 0));
		if (!f[i]) {
			close(sv[i]);
			r = -ENOMEM;
			goto out;
		}
	}
	for (int i = 0; i < 2; i++) {
		r = fd_install(t->proc->files, f[i], 0, type & SOCK_CLOEXEC);
		if (r < 0)
			goto out;
		fds[i] = (int)r;
	}
	r = mm_copy_out(&t->proc->mm, a->a[3], fds, sizeof(fds));
out:
	if (r < 0)
		for (int i = 0; i < 2; i++)
			if (fds[i] >= 0)
				fd_close(t->proc->files, fds[i]);
	for (int i = 0; i < 2; i++)
		file_put(f[i]);
	return r < 0 ? r : 0;
}

/* sock - the host socket behind application fd @fd (a referenced file). */
static long sock(struct task *t, uint64_t fd, struct file **out)
{
	struct file *f = fd > INT32_MAX ? NULL : fd_get(t->proc->files, (int)fd);
	struct stat st;

	if (!f)
		return -EBADF;
	if (f->host_fd < 0 || fstat(f->host_fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		file_put(f);
		return -ENOTSOCK;
	}
	*out = f;
	return f->host_fd;
}

static const int ok_flags = MSG_DONTWAIT | MSG_PEEK | MSG_WAITALL | MSG_NOSIGNAL |
			    MSG_TRUNC | MSG_EOR | MSG_CMSG_CLOEXEC;

/* xfer - one send or receive of @len bytes at @buf, through a bounce. */
static long xfer(struct task *t, uint64_t fd, uint64_t buf, size_t len, int flags,
		 bool send_)
{
	struct file *f;
	long h = sock(t, fd, &f), r;
	void *b;

	if (h < 0)
		return h;
	if (flags & ~ok_flags) {
		file_put(f);
		return -EOPNOTSUPP;
	}
	if (len > MAX_IO)
		len = MAX_IO;
	b = malloc(len ? len : 1);
	if (!b) {
		file_put(f);
		return -ENOMEM;
	}
	if (send_) {
		r = mm_copy_in(&t->proc->mm, b, buf, len);
		if (!r) {
			r = send((int)h, b, len, flags | MSG_NOSIGNAL);
			r = r < 0 ? -errno : r;
			if (r == -EPIPE && !(flags & MSG_NOSIGNAL))
				signal_send(t->proc, SIGPIPE, NULL);
		}
	} else {
		r = recv((int)h, b, len, flags & ~MSG_CMSG_CLOEXEC);
		r = r < 0 ? -errno : r;
		if (r > 0 && mm_copy_out(&t->proc->mm, buf, b,
					 (size_t)r < len ? (size_t)r : len))
			r = -EFAULT;
	}
	free(b);
	file_put(f);
	return r;
}

long sys_sendto(struct task *t, const struct sbx_syscall_args *a)
{
	if (a->a[4])
		return -EISCONN; /* socket pairs are connected */
	return xfer(t, a->a[0], a->a[1], a->a[2], (int)a->a[3], true);
}

long sys_recvfrom(struct task *t, const struct sbx_syscall_args *a)
{
	long r = xfer(t, a->a[0], a->a[1], a->a[2], (int)a->a[3], false);
	uint32_t zero = 0;

	/* the peer of a socket pair has no address */
	if (r >= 0 && a->a[4] && a->a[5])
		mm_copy_out(&t->proc->mm, a->a[5], &zero, sizeof(zero));
	return r;
}

struct k_msghdr {
	uint64_t name;
	uint32_t namelen, pad;
	uint64_t iov;
	uint64_t iovlen;
	uint64_t control;
	uint64_t controllen;
	int32_t flags, pad2;
};

/* msg - sendmsg/recvmsg of the whole iovec, gathered into one call. */
static long msg(struct task *t, const struct sbx_syscall_args *a, bool send_)
{
	struct k_msghdr m;
	struct iovec *iov;
	size_t total = 0;
	char *b = NULL;
	struct file *f;
	long h, r;

	if (mm_copy_in(&t->proc->mm, &m, a->a[1], sizeof(m)))
		return -EFAULT;
	if (m.iovlen > 1024)
		return -EMSGSIZE;
	if (send_ && m.controllen)
		return -EOPNOTSUPP; /* fds and credentials: not translated yet */
	iov = calloc(m.iovlen ? m.iovlen : 1, sizeof(*iov));
	if (!iov)
		return -ENOMEM;
	if (mm_copy_in(&t->proc->mm, iov, m.iov, m.iovlen * sizeof(*iov))) {
		free(iov);
		return -EFAULT;
	}
	for (size_t i = 0; i < m.iovlen; i++) {
		if (iov[i].iov_len > SSIZE_MAX - total) {
			free(iov);
			return -EINVAL;
		}
		total += iov[i].iov_len;
	}
	if (total > MAX_IO)
		total = MAX_IO;
	h = sock(t, a->a[0], &f);
	if (h < 0) {
		free(iov);
		return h;
	}
	b = malloc(total ? total : 1);
	r = b ? 0 : -ENOMEM;
	if (!r && send_)
		r = mm_gather(&t->proc->mm, b, iov, m.iovlen, total);
	if (!r) {
		int flags = (int)a->a[2];

		if (flags & ~ok_flags)
			r = -EOPNOTSUPP;
		else if (send_)
			r = send((int)h, b, total, flags | MSG_NOSIGNAL);
		else
			r = recv((int)h, b, total, flags & ~MSG_CMSG_CLOEXEC);
		if (r == -1)
			r = -errno;
		if (r == -EPIPE && send_ && !(flags & MSG_NOSIGNAL))
			signal_send(t->proc, SIGPIPE, NULL);
	}
	if (!send_ && r > 0) {
		if (mm_scatter(&t->proc->mm, iov, m.iovlen, b, (size_t)r))
			r = -EFAULT;
		if (r > 0) {
			m.namelen = 0;
			m.controllen = 0;
			m.flags = 0;
			if (mm_copy_out(&t->proc->mm, a->a[1], &m, sizeof(m)))
				r = -EFAULT;
		}
	}
	free(b);
	free(iov);
	file_put(f);
	return r;
}

long sys_sendmsg(struct task *t, const struct sbx_syscall_args *a)
{
	return msg(t, a, true);
}

long sys_recvmsg(struct task *t, const struct sbx_syscall_args *a)
{
	return msg(t, a, false);
}

long sys_shutdown(struct task *t, const struct sbx_syscall_args *a)
{
	struct file *f;
	long h = sock(t, a->a[0], &f), r;

	if (h < 0)
		return h;
	r = shutdown((int)h, (int)a->a[1]) < 0 ? -errno : 0;
	file_put(f);
	return r;
}

static long name_of(struct task *t, const struct sbx_syscall_args *a)
{
	struct file *f;
	long h = sock(t, a->a[0], &f);
	uint16_t family = AF_UNIX;
	uint32_t len, out = sizeof(family);

	if (h < 0)
		return h;
	file_put(f);
	if (mm_copy_in(&t->proc->mm, &len, a->a[2], sizeof(len)))
		return -EFAULT;
	if ((int32_t)len < 0)
		return -EINVAL;
	if (mm_copy_out(&t->proc->mm, a->a[1], &family, len < 2 ? len : 2) ||
	    mm_copy_out(&t->proc->mm, a->a[2], &out, sizeof(out)))
		return -EFAULT;
	return 0;
}

long sys_getsockname(struct task *t, const struct sbx_syscall_args *a)
{
	return name_of(t, a);
}

long sys_getpeername(struct task *t, const struct sbx_syscall_args *a)
{
	return name_of(t, a);
}

/* Socket options: the few SOL_SOCKET ones programs query on pairs. */
static bool opt_ok(int level, int name)
{
	return level == SOL_SOCKET &&
	       (name == SO_TYPE || name == SO_ERROR || name == SO_SNDBUF ||
		name == SO_RCVBUF || name == SO_DOMAIN || name == SO_PROTOCOL ||
		name == SO_ACCEPTCONN || name == SO_PASSCRED || name == SO_RCVLOWAT ||
		name == SO_SNDLOWAT || name == SO_RCVTIMEO || name == SO_SNDTIMEO);
}

long sys_getsockopt(struct task *t, const struct sbx_syscall_args *a)
{
	struct file *f;
	long h = sock(t, a->a[0], &f), r;
	uint8_t buf[64];
	socklen_t len;
	uint32_t ulen;

	if (h < 0)
		return h;
	if (!opt_ok((int)a->a[1], (int)a->a[2])) {
		file_put(f);
		return -ENOPROTOOPT;
	}
	r = mm_copy_in(&t->proc->mm, &ulen, a->a[4], sizeof(ulen));
	if (!r && (int32_t)ulen < 0)
		r = -EINVAL;
	if (!r) {
		len = ulen < sizeof(buf) ? ulen : sizeof(buf);
		r = getsockopt((int)h, (int)a->a[1], (int)a->a[2], buf, &len) < 0 ? -errno : 0;
		ulen = len;
		if (!r && (mm_copy_out(&t->proc->mm, a->a[3], buf, len) ||
			   mm_copy_out(&t->proc->mm, a->a[4], &ulen, sizeof(ulen))))
			r = -EFAULT;
	}
	file_put(f);
	return r;
}

long sys_setsockopt(struct task *t, const struct sbx_syscall_args *a)
{
	struct file *f;
	long h = sock(t, a->a[0], &f), r;
	uint8_t buf[64];
	size_t len = a->a[4];

	if (h < 0)
		return h;
	if (!opt_ok((int)a->a[1], (int)a->a[2])) {
		file_put(f);
		return -ENOPROTOOPT;
	}
	if (len > sizeof(buf))
		len = sizeof(buf);
	r = mm_copy_in(&t->proc->mm, buf, a->a[3], len);
	if (!r)
		r = setsockopt((int)h, (int)a->a[1], (int)a->a[2], buf, (socklen_t)len) < 0
			    ? -errno : 0;
	file_put(f);
	return r;
}
