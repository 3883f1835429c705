/*
 * Socket system calls: the thin layer between the application and the
 * core's sockets (core/net/socket.h).  Here: fd lookup (EBADF, ENOTSOCK),
 * copying addresses, buffers, msghdrs and options in and out with Linux's
 * checks and precedence (move_addr_to_kernel/_to_user), blocking for
 * accept and connect, and the options every family shares (SO_TYPE,
 * SO_DOMAIN, SO_PROTOCOL, SO_RCVTIMEO, SO_SNDTIMEO).  Families do the
 * rest: unix sockets in core/net/unix.c, inet sockets through the network
 * provider (core/net/net.c).
 *
 * Decisions: AF_NETLINK gives EAFNOSUPPORT (as a kernel without netlink:
 * glibc's getaddrinfo then assumes both IPv4 and IPv6 are configured, and
 * getifaddrs/if_nameindex fail cleanly); AF_PACKET gives EPERM (no
 * CAP_NET_RAW in the sandbox).  Control messages (SCM_RIGHTS and
 * credentials over unix sockets, IP_PKTINFO ...) are refused with
 * EOPNOTSUPP until the core translates them.
 *
 * Divided into: helpers; socket and socketpair; bind, listen, accept,
 * connect; data (sendto/recvfrom, msg, mmsg, and read/write for
 * sys_fs.c); names, options, shutdown, ioctl.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "../net/net.h"
#include "../net/socket.h"
#include "../vfs/vfs.h"
#include "fdtable.h"
#include "kernel.h"

#define MAX_IO (1u << 20) /* one call moves at most this (bounce buffer) */
#define K_AF_MAX 46
#define K_SOCK_MAX 11	  /* SOCK_PACKET + 1 */
#define K_SOCK_TYPE_MASK 0xf
#define K_SOMAXCONN 4096
#define K_UIO_MAXIOV 1024
#define K_SO_RCVTIMEO_NEW 66
#define K_SO_SNDTIMEO_NEW 67

/* ---- helpers ---- */

/* get_sock - the socket at @fd, with a reference on its file in *@f. */
static struct sock *get_sock(struct task *t, uint64_t fd, struct file **f,
			     long *err)
{
	struct sock *s;

	*f = fd > INT_MAX ? NULL : fd_get(t->proc->files, (int)fd);
	if (!*f) {
		*err = -EBADF;
		return NULL;
	}
	s = file_sock(*f);
	if (!s) {
		file_put(*f);
		*err = -ENOTSOCK;
	}
	return s;
}

/* addr_in - move_addr_to_kernel: @buf has SOCK_ADDR_MAX bytes. */
static long addr_in(struct task *t, uint64_t ua, uint64_t ulen, void *buf)
{
	int len = (int)ulen;

	memset(buf, 0, SOCK_ADDR_MAX);
	if (len < 0 || len > SOCK_ADDR_MAX)
		return -EINVAL;
	if (len && mm_copy_in(&t->proc->mm, buf, ua, (size_t)len))
		return -EFAULT;
	return len;
}

/* addr_out - move_addr_to_user: @klen bytes at @kaddr, the length to
 * *@ulenp (which holds the room on entry). */
static long addr_out(struct task *t, const void *kaddr, uint32_t klen,
		     uint64_t uaddr, uint64_t ulenp)
{
	int32_t len;

	if (mm_copy_in(&t->proc->mm, &len, ulenp, sizeof(len)))
		return -EFAULT;
	if (len > (int32_t)klen)
		len = (int32_t)klen;
	if (len < 0)
		return -EINVAL;
	if (len && mm_copy_out(&t->proc->mm, uaddr, kaddr, (size_t)len))
		return -EFAULT;
	return mm_copy_out(&t->proc->mm, ulenp, &klen, sizeof(klen)) ? -EFAULT : 0;
}

static bool nonblocking(const struct file *f)
{
	return (f->flags & O_NONBLOCK) != 0;
}

/* ---- socket, socketpair ---- */

static int make_sock(struct task *t, int family, int type, int protocol,
		     struct sock **out)
{
	switch (family) {
	case AF_UNIX:
		return unix_create(t, type, protocol, out);
	case AF_INET:
	case AF_INET6:
		return net_socket(family, type, protocol, out);
	case AF_PACKET:
		return -EPERM;
	default:
		return -EAFNOSUPPORT; /* AF_NETLINK too: see the top */
	}
}

/* install - a file for @s at the lowest free fd (takes @s's reference) */
static long install(struct task *t, struct sock *s, int flags)
{
	struct file *f = sock_file(s, flags & SOCK_NONBLOCK ? O_NONBLOCK : 0);
	long r;

	if (!f)
		return -ENOMEM;
	r = fd_install(t->proc->files, f, 0, flags & SOCK_CLOEXEC);
	file_put(f);
	return r;
}

/* split - socket()'s type into type and flags, with Linux's checks */
static int split(int family, int *type, int *flags)
{
	*flags = *type & ~K_SOCK_TYPE_MASK;
	*type &= K_SOCK_TYPE_MASK;
	if (*flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
		return -EINVAL;
	if (family < 0 || family >= K_AF_MAX)
		return -EAFNOSUPPORT;
	if (*type >= K_SOCK_MAX)
		return -EINVAL;
	return 0;
}

long sys_socket(struct task *t, const struct sbx_syscall_args *a)
{
	int family = (int)a->a[0], type = (int)a->a[1], flags;
	struct sock *s;
	long r = split(family, &type, &flags);

	if (r)
		return r;
	r = make_sock(t, family, type, (int)a->a[2], &s);
	return r ? r : install(t, s, flags);
}

long sys_socketpair(struct task *t, const struct sbx_syscall_args *a)
{
	int family = (int)a->a[0], type = (int)a->a[1], flags;
	int fds[2] = { -1, -1 };
	struct sock *s[2];
	long r = split(family, &type, &flags);

	if (r)
		return r;
	if (family != AF_UNIX) {
		/* the family's own errors first, then: no pairs of these */
		r = make_sock(t, family, type, (int)a->a[2], &s[0]);
		if (r)
			return r;
		sock_put(s[0]);
		return -EOPNOTSUPP;
	}
	r = unix_pair(t, type, (int)a->a[2], s);
	if (r)
		return r;
	r = fds[0] = (int)install(t, s[0], flags);
	if (r < 0) {
		sock_put(s[1]);
		return r;
	}
	r = fds[1] = (int)install(t, s[1], flags);
	if (r >= 0)
		r = mm_copy_out(&t->proc->mm, a->a[3], fds, sizeof(fds));
	if (r < 0) {
		fd_close(t->proc->files, fds[0]);
		if (fds[1] >= 0)
			fd_close(t->proc->files, fds[1]);
	}
	return r < 0 ? r : 0;
}

/* ---- bind, listen, accept, connect ---- */

long sys_bind(struct task *t, const struct sbx_syscall_args *a)
{
	char addr[SOCK_ADDR_MAX];
	struct file *f;
	long r;
	struct sock *s = get_sock(t, a->a[0], &f, &r);

	if (!s)
		return r;
	r = addr_in(t, a->a[1], a->a[2], addr);
	if (r >= 0)
		r = s->ops->bind(t, s, addr, (uint32_t)r);
	file_put(f);
	return r;
}

long sys_listen(struct task *t, const struct sbx_syscall_args *a)
{
	int backlog = (int)a->a[1];
	struct file *f;
	long r;
	struct sock *s = get_sock(t, a->a[0], &f, &r);

	if (!s)
		return r;
	if ((unsigned)backlog > K_SOMAXCONN)
		backlog = K_SOMAXCONN;
	r = s->ops->listen(t, s, backlog);
	file_put(f);
	return r;
}

static long do_accept(struct task *t, uint64_t fd, uint64_t uaddr,
		      uint64_t ulenp, int flags)
{
	char addr[SOCK_ADDR_MAX];
	uint32_t alen = 0;
	struct sock *ns = NULL;
	struct file *f, *nf;
	int64_t deadline = 0;
	struct sock *s;
	long r;

	if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
		return -EINVAL;
	s = get_sock(t, fd, &f, &r);
	if (!s)
		return r;
	for (;;) {
		r = s->ops->accept(t, s, &ns, addr, &alen);
		if (r != -EAGAIN || nonblocking(f))
			break;
		if (!deadline)
			deadline = sock_deadline(s->rcvtimeo);
		r = sock_wait(t, s->fd, POLLIN, deadline, s->rcvtimeo >= 0);
		if (r)
			break;
	}
	file_put(f);
	if (r)
		return r;
	nf = sock_file(ns, flags & SOCK_NONBLOCK ? O_NONBLOCK : 0);
	if (!nf)
		return -ENOMEM;
	/* as Linux: the address is copied after the accept, so a bad
	 * pointer loses the connection */
	r = uaddr ? addr_out(t, addr, alen, uaddr, ulenp) : 0;
	if (!r)
		r = fd_install(t->proc->files, nf, 0, flags & SOCK_CLOEXEC);
	file_put(nf);
	return r;
}

long sys_accept(struct task *t, const struct sbx_syscall_args *a)
{
	return do_accept(t, a->a[0], a->a[1], a->a[2], 0);
}

long sys_accept4(struct task *t, const struct sbx_syscall_args *a)
{
	return do_accept(t, a->a[0], a->a[1], a->a[2], (int)a->a[3]);
}

/*
 * connect: a blocking connect waits for POLLOUT and asks again (the
 * second connect of a connection in progress reports how it ended, as
 * Linux's __inet_stream_connect does); a unix listener with a full
 * backlog makes a blocking connector wait for room.
 */
long sys_connect(struct task *t, const struct sbx_syscall_args *a)
{
	char addr[SOCK_ADDR_MAX];
	int64_t deadline = 0;
	struct file *f;
	long r, len;
	struct sock *s = get_sock(t, a->a[0], &f, &r);

	if (!s)
		return r;
	len = addr_in(t, a->a[1], a->a[2], addr);
	for (r = len; r >= 0;) {
		bool busy;

		r = s->ops->connect(t, s, addr, (uint32_t)len);
		busy = r == -EINPROGRESS || r == -EALREADY;
		if (nonblocking(f) || !(busy || (r == -EAGAIN && s->family == AF_UNIX)))
			break;
		if (!deadline)
			deadline = sock_deadline(s->sndtimeo);
		r = sock_wait(t, busy ? s->fd : -1, POLLOUT, deadline,
			      s->sndtimeo >= 0);
		if (r == -EAGAIN && busy)
			r = -EINPROGRESS; /* SO_SNDTIMEO ran out */
		if (r)
			break;
	}
	file_put(f);
	return r;
}

/* ---- data ---- */

/* xfer_buf - a bounce buffer for @len bytes (capped to MAX_IO) */
static void *xfer_buf(size_t *len)
{
	if (*len > MAX_IO)
		*len = MAX_IO;
	return malloc(*len ? *len : 1);
}

long sys_sendto(struct task *t, const struct sbx_syscall_args *a)
{
	char addr[SOCK_ADDR_MAX];
	size_t len = a->a[2];
	long r, alen = 0;
	struct file *f;
	struct sock *s = get_sock(t, a->a[0], &f, &r);
	void *b;

	if (!s)
		return r;
	if (a->a[4]) {
		alen = addr_in(t, a->a[4], a->a[5], addr);
		if (alen < 0) {
			file_put(f);
			return alen;
		}
	}
	b = xfer_buf(&len);
	r = b ? 0 : -ENOMEM;
	if (!r && mm_copy_in(&t->proc->mm, b, a->a[1], len))
		r = -EFAULT;
	if (!r)
		r = sock_send(t, f, b, len, alen ? addr : NULL, (uint32_t)alen,
			      (int)a->a[3]);
	free(b);
	file_put(f);
	return r;
}

long sys_recvfrom(struct task *t, const struct sbx_syscall_args *a)
{
	char addr[SOCK_ADDR_MAX];
	uint32_t alen = 0;
	size_t len = a->a[2];
	struct file *f;
	int of = 0;
	long r;
	struct sock *s = get_sock(t, a->a[0], &f, &r);
	void *b;

	if (!s)
		return r;
	b = xfer_buf(&len);
	r = b ? sock_recv(t, f, b, len, a->a[4] ? addr : NULL, &alen,
			  (int)a->a[3], &of)
	      : -ENOMEM;
	if (r > 0 && mm_copy_out(&t->proc->mm, a->a[1], b,
				 (size_t)r < len ? (size_t)r : len))
		r = -EFAULT;
	if (r >= 0 && a->a[4]) {
		long e = addr_out(t, addr, alen, a->a[4], a->a[5]);

		if (e)
			r = e;
	}
	free(b);
	file_put(f);
	return r;
}

/* the application's struct msghdr */
struct k_msghdr {
	uint64_t name;
	uint32_t namelen, pad;
	uint64_t iov;
	uint64_t iovlen;
	uint64_t control;
	uint64_t controllen;
	int32_t flags, pad2;
};
_Static_assert(sizeof(struct k_msghdr) == 56, "msghdr");

struct k_mmsghdr {
	struct k_msghdr hdr;
	uint32_t len, pad;
};
_Static_assert(sizeof(struct k_mmsghdr) == 64, "mmsghdr");

/*
 * do_msg - one sendmsg/recvmsg on @f with the msghdr at @um.
 * Return: bytes or -errno.
 */
static long do_msg(struct task *t, struct file *f, uint64_t um, int flags,
		   bool send_)
{
	char addr[SOCK_ADDR_MAX];
	uint32_t alen = 0;
	struct k_msghdr m;
	struct iovec *iov = NULL;
	size_t total = 0;
	char *b = NULL;
	int of = 0;
	long r;

	if (mm_copy_in(&t->proc->mm, &m, um, sizeof(m)))
		return -EFAULT;
	if (!m.name)
		m.namelen = 0;
	if ((int32_t)m.namelen < 0)
		return -EINVAL;
	if (m.namelen > SOCK_ADDR_MAX)
		m.namelen = SOCK_ADDR_MAX;
	if (m.iovlen > K_UIO_MAXIOV)
		return -EMSGSIZE;
	if (send_ && m.namelen) {
		r = addr_in(t, m.name, m.namelen, addr);
		if (r < 0)
			return r;
		alen = m.namelen;
	}
	if (m.controllen > INT_MAX)
		return -ENOBUFS;
	if (send_ && m.controllen >= 16 /* one cmsghdr */)
		return -EOPNOTSUPP; /* SCM_RIGHTS etc.: not translated yet */
	iov = calloc(m.iovlen ? m.iovlen : 1, sizeof(*iov));
	if (!iov)
		return -ENOMEM;
	r = mm_copy_in(&t->proc->mm, iov, m.iov, m.iovlen * sizeof(*iov)) ? -EFAULT : 0;
	for (size_t i = 0; !r && i < m.iovlen; i++) {
		if ((ssize_t)iov[i].iov_len < 0 || iov[i].iov_len > SSIZE_MAX - total)
			r = -EINVAL;
		else
			total += iov[i].iov_len;
	}
	if (r)
		goto out;
	b = xfer_buf(&total);
	r = -ENOMEM;
	if (!b)
		goto out;
	if (send_) {
		r = mm_gather(&t->proc->mm, b, iov, m.iovlen, total);
		if (!r)
			r = sock_send(t, f, b, total, alen ? addr : NULL, alen, flags);
		goto out;
	}
	r = sock_recv(t, f, b, total, m.name ? addr : NULL, &alen, flags, &of);
	if (r < 0)
		goto out;
	if (mm_scatter(&t->proc->mm, iov, m.iovlen, b,
		       (size_t)r < total ? (size_t)r : total)) {
		r = -EFAULT;
		goto out;
	}
	if (m.name) {
		long e = addr_out(t, addr, alen, m.name,
				  um + offsetof(struct k_msghdr, namelen));

		if (e) {
			r = e;
			goto out;
		}
	}
	m.controllen = 0;
	m.flags = of;
	if (mm_copy_out(&t->proc->mm, um + offsetof(struct k_msghdr, controllen),
			&m.controllen, sizeof(m.controllen) + sizeof(m.flags)))
		r = -EFAULT;
out:
	free(b);
	free(iov);
	return r;
}

static long msg(struct task *t, const struct sbx_syscall_args *a, bool send_)
{
	struct file *f;
	long r;
	struct sock *s = get_sock(t, a->a[0], &f, &r);

	if (!s)
		return r;
	r = do_msg(t, f, a->a[1], (int)a->a[2], send_);
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

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * mmsg - sendmmsg/recvmmsg: one do_msg per entry, each length written
 * to its msg_len; an error after some entries ends the batch with their
 * count (as Linux).  recvmmsg's timeout is checked after each datagram,
 * MSG_WAITFORONE makes the entries after the first non-blocking.
 */
static long mmsg(struct task *t, const struct sbx_syscall_args *a, bool send_)
{
	unsigned vlen = (unsigned)a->a[2];
	int flags = (int)a->a[3];
	int64_t deadline = 0;
	struct file *f;
	unsigned i;
	long r;
	struct sock *s = get_sock(t, a->a[0], &f, &r);

	if (!s)
		return r;
	if (vlen > K_UIO_MAXIOV)
		vlen = K_UIO_MAXIOV;
	if (!send_ && a->a[4]) {
		struct k_timespec ts;

		if (mm_copy_in(&t->proc->mm, &ts, a->a[4], sizeof(ts))) {
			r = -EFAULT;
			goto out;
		}
		if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000) {
			r = -EINVAL;
			goto out;
		}
		deadline = mono_ns() + ts.tv_sec * 1000000000LL + ts.tv_nsec;
	}
	for (i = 0, r = 0; i < vlen; i++) {
		uint64_t um = a->a[1] + (uint64_t)i * sizeof(struct k_mmsghdr);
		uint32_t n;

		r = do_msg(t, f, um, i && (flags & MSG_WAITFORONE)
				     ? (flags | MSG_DONTWAIT) & ~MSG_WAITFORONE
				     : flags & ~MSG_WAITFORONE, send_);
		if (r < 0)
			break;
		n = (uint32_t)r;
		if (mm_copy_out(&t->proc->mm, um + offsetof(struct k_mmsghdr, len),
				&n, sizeof(n))) {
			r = -EFAULT;
			break;
		}
		if (deadline && mono_ns() >= deadline) {
			i++;
			break;
		}
	}
	if (i > 0)
		r = i;
out:
	file_put(f);
	return r;
}

long sys_sendmmsg(struct task *t, const struct sbx_syscall_args *a)
{
	return mmsg(t, a, true);
}

long sys_recvmmsg(struct task *t, const struct sbx_syscall_args *a)
{
	return mmsg(t, a, false);
}

long sock_rw(struct task *t, struct file *f, void *b, size_t len, bool wr)
{
	struct sock *s = file_sock(f);

	if (wr)
		return sock_send(t, f, b, len, NULL, 0,
				 s->type == SOCK_SEQPACKET ? MSG_EOR : 0);
	return len ? sock_recv(t, f, b, len, NULL, NULL, 0, NULL) : 0;
}

/* ---- names, options, shutdown, ioctl ---- */

static long name_of(struct task *t, const struct sbx_syscall_args *a, bool peer)
{
	char addr[SOCK_ADDR_MAX];
	uint32_t alen = SOCK_ADDR_MAX;
	struct file *f;
	long r;
	struct sock *s = get_sock(t, a->a[0], &f, &r);

	if (!s)
		return r;
	r = s->ops->name(s, addr, &alen, peer);
	if (!r)
		r = addr_out(t, addr, alen, a->a[1], a->a[2]);
	file_put(f);
	return r;
}

long sys_getsockname(struct task *t, const struct sbx_syscall_args *a)
{
	return name_of(t, a, false);
}

long sys_getpeername(struct task *t, const struct sbx_syscall_args *a)
{
	return name_of(t, a, true);
}

static bool timeo_opt(int level, int name, bool *rcv)
{
	if (level != SOL_SOCKET)
		return false;
	*rcv = name == SO_RCVTIMEO || name == K_SO_RCVTIMEO_NEW;
	return *rcv || name == SO_SNDTIMEO || name == K_SO_SNDTIMEO_NEW;
}

/* generic - the SOL_SOCKET options every family answers the same way
 * (into @v, natural length to *@l); -ENOPROTOOPT for the others */
static int generic(struct sock *s, int level, int name, void *v, uint32_t *l)
{
	int i;
	bool rcv;

	if (timeo_opt(level, name, &rcv)) {
		int64_t ns = rcv ? s->rcvtimeo : s->sndtimeo;
		struct k_timeval tv = { 0, 0 };

		if (ns > 0) {
			tv.tv_sec = ns / 1000000000;
			tv.tv_usec = ns % 1000000000 / 1000;
		}
		memcpy(v, &tv, sizeof(tv));
		*l = sizeof(tv);
		return 0;
	}
	if (level != SOL_SOCKET)
		return -ENOPROTOOPT;
	switch (name) {
	case SO_TYPE:
		i = s->type;
		break;
	case SO_DOMAIN:
		i = s->family;
		break;
	case SO_PROTOCOL:
		i = s->protocol;
		if (!i && s->family != AF_UNIX)
			i = s->type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
		break;
	default:
		return -ENOPROTOOPT;
	}
	memcpy(v, &i, sizeof(i));
	*l = sizeof(i);
	return 0;
}

long sys_getsockopt(struct task *t, const struct sbx_syscall_args *a)
{
	int level = (int)a->a[1], name = (int)a->a[2];
	uint8_t v[SOCK_OPT_MAX];
	struct file *f;
	int32_t len;
	uint32_t got;
	long r;
	struct sock *s = get_sock(t, a->a[0], &f, &r);

	if (!s)
		return r;
	r = mm_copy_in(&t->proc->mm, &len, a->a[4], sizeof(len)) ? -EFAULT : 0;
	if (!r && len < 0)
		r = -EINVAL;
	if (r)
		goto out;
	memset(v, 0, sizeof(v));
	got = (uint32_t)len < sizeof(v) ? (uint32_t)len : sizeof(v);
	r = generic(s, level, name, v, &got);
	if (r == -ENOPROTOOPT) {
		got = (uint32_t)len < sizeof(v) ? (uint32_t)len : sizeof(v);
		r = s->ops->getsockopt(s, level, name, v, &got);
	}
	if (r)
		goto out;
	if (got > (uint32_t)len)
		got = (uint32_t)len;
	if (mm_copy_out(&t->proc->mm, a->a[3], v, got) ||
	    mm_copy_out(&t->proc->mm, a->a[4], &got, sizeof(got)))
		r = -EFAULT;
out:
	file_put(f);
	return r;
}

/* set_timeo - SO_RCVTIMEO/SO_SNDTIMEO as Linux's sock_set_timeout */
static long set_timeo(struct sock *s, bool rcv, const void *v, int32_t len)
{
	struct k_timeval tv;
	int64_t ns;

	if (len < (int32_t)sizeof(tv))
		return -EINVAL;
	memcpy(&tv, v, sizeof(tv));
	if (tv.tv_usec < 0 || tv.tv_usec >= 1000000)
		return -EDOM;
	if (tv.tv_sec < 0)
		ns = 0; /* Linux: a zero timeout, so the calls never wait */
	else if (!tv.tv_sec && !tv.tv_usec)
		ns = -1;
	else if (tv.tv_sec > INT64_MAX / 1000000000 - 1)
		ns = -1;
	else
		ns = tv.tv_sec * 1000000000 + tv.tv_usec * 1000;
	if (rcv)
		s->rcvtimeo = ns;
	else
		s->sndtimeo = ns;
	return 0;
}

long sys_setsockopt(struct task *t, const struct sbx_syscall_args *a)
{
	int level = (int)a->a[1], name = (int)a->a[2];
	int32_t len = (int32_t)a->a[4];
	uint8_t v[SOCK_OPT_MAX];
	struct file *f;
	struct sock *s;
	bool rcv;
	long r;

	if (len < 0)
		return -EINVAL;
	s = get_sock(t, a->a[0], &f, &r);
	if (!s)
		return r;
	if (len > (int32_t)sizeof(v))
		len = sizeof(v);
	memset(v, 0, sizeof(v));
	r = len && mm_copy_in(&t->proc->mm, v, a->a[3], (size_t)len) ? -EFAULT : 0;
	if (!r)
		r = timeo_opt(level, name, &rcv)
			? set_timeo(s, rcv, v, len)
			: s->ops->setsockopt(s, level, name, v, (uint32_t)len);
	file_put(f);
	return r;
}

long sys_shutdown(struct task *t, const struct sbx_syscall_args *a)
{
	struct file *f;
	long r;
	struct sock *s = get_sock(t, a->a[0], &f, &r);

	if (!s)
		return r;
	r = s->ops->shutdown(s, (int)a->a[1]);
	file_put(f);
	return r;
}

long sock_ioctl(struct task *t, struct file *f, unsigned long cmd,
		uint64_t arg)
{
	struct sock *s = file_sock(f);
	int v = 0;
	long r;

	switch (cmd) {
	case FIONREAD: /* SIOCINQ */
	case TIOCOUTQ: /* SIOCOUTQ */
	case SIOCOUTQNSD:
	case SIOCATMARK:
		r = s->ops->ioctl ? s->ops->ioctl(s, cmd, &v) : -ENOTTY;
		if (!r && mm_copy_out(&t->proc->mm, arg, &v, sizeof(v)))
			r = -EFAULT;
		return r;
	default:
		return -ENOTTY;
	}
}
