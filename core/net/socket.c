/*
 * The family-independent half of sockets (see socket.h): socket files,
 * references, and the blocking send and receive loops with their timeouts
 * and signal handling.
 *
 * Why the core waits rather than the host: a task blocked in a host call
 * cannot be interrupted by a sandbox signal (the core has no per-task
 * wake-up fd yet), and a readiness check followed by a blocking host call
 * races with other readers of the same socket.  Host sockets are therefore
 * always non-blocking; an op that would block returns -EAGAIN and we poll
 * its fd in 20 ms slices, checking for signals and the deadline between
 * slices, then try again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "../kernel/kernel.h"
#include "../vfs/vfs.h"
#include "socket.h"

#define SLICE_MS 20

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- references and files ---- */

void sock_init(struct sock *s, int family, int type, int protocol,
	       const struct sock_ops *ops)
{
	s->refs = 1;
	s->family = family;
	s->type = type;
	s->protocol = protocol;
	s->ops = ops;
	s->fd = -1;
	s->rcvtimeo = s->sndtimeo = -1;
}

void sock_get(struct sock *s)
{
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
}

void sock_put(struct sock *s)
{
	if (s && !__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL))
		s->ops->free(s);
}

static int sockf_stat(struct file *f, struct k_stat *ks)
{
	struct stat st;

	if (fstat(f->host_fd, &st) < 0)
		return -errno;
	vfs_stat_from_host(&st, ks);
	return 0;
}

static void sockf_release(struct file *f)
{
	struct sock *s = f->priv;

	f->host_fd = -1; /* the family's, closed when the socket is freed */
	if (s->ops->close)
		s->ops->close(s);
	sock_put(s);
}

/* read and write go through sock_send/sock_recv (sys_fs.c routes them) */
static const struct file_ops sock_file_ops = {
	.stat = sockf_stat,
	.release = sockf_release,
};

struct file *sock_file(struct sock *s, int flags)
{
	struct file *f = file_new(&sock_file_ops, O_RDWR | (flags & O_NONBLOCK),
				  s->fd, NULL);

	if (!f) {
		if (s->ops->close)
			s->ops->close(s);
		sock_put(s);
		return NULL;
	}
	f->priv = s;
	return f;
}

struct sock *file_sock(struct file *f)
{
	return f && f->ops == &sock_file_ops ? f->priv : NULL;
}

/* ---- waiting ---- */

int64_t sock_deadline(int64_t timeo)
{
	/* 0 (a negative SO_RCVTIMEO): a deadline already passed */
	return timeo < 0 ? 0 : now_ns() + timeo;
}

long sock_wait(struct task *t, int fd, short events, int64_t deadline,
	       bool timed)
{
	struct pollfd p = { fd, events, 0 };
	int ms = SLICE_MS;
	bool sig;

	if (deadline) {
		int64_t left = deadline - now_ns();

		if (left <= 0)
			return -EAGAIN;
		if (left / 1000000 < SLICE_MS)
			ms = (int)(left / 1000000) + 1;
	}
	pthread_mutex_lock(&t->proc->k->lock);
	sig = signal_pending(t) || t->proc->exiting;
	pthread_mutex_unlock(&t->proc->k->lock);
	if (sig)
		return timed ? -EINTR : -ERESTARTSYS;
	task_host_poll(t, &p, fd >= 0 ? 1 : 0, ms);
	return 0;
}

/* ---- send and receive ---- */

static void sigpipe(struct task *t)
{
	struct k_siginfo info = { .signo = SIGPIPE, .code = SI_USER };

	info.u.kill.pid = t->proc->pid;
	signal_send(t->proc, SIGPIPE, &info);
}

#define CORE_MSG_FLAGS (MSG_DONTWAIT | MSG_NOSIGNAL | MSG_WAITALL)

ssize_t sock_send(struct task *t, struct file *f, const void *buf, size_t len,
		  const void *a, uint32_t l, int flags)
{
	struct sock *s = file_sock(f);
	bool nonblock = (flags & MSG_DONTWAIT) || (f->flags & O_NONBLOCK);
	int64_t deadline = 0;
	size_t done = 0;
	ssize_t r;

	for (;;) {
		struct sock_wait w = { s->fd, NULL };
		ssize_t n = s->ops->send(t, s, (const char *)buf + done, len - done,
					 a, l, flags & ~CORE_MSG_FLAGS, &w);
		long wr;

		if (n >= 0) {
			done += (size_t)n;
			if (s->type != SOCK_STREAM || done >= len || nonblock) {
				r = (ssize_t)done;
				break;
			}
			continue;
		}
		if (n != -EAGAIN || nonblock) {
			sock_put(w.hold);
			r = done ? (ssize_t)done : n;
			break;
		}
		if (!deadline)
			deadline = sock_deadline(s->sndtimeo);
		wr = sock_wait(t, w.fd, POLLOUT, deadline, s->sndtimeo >= 0);
		sock_put(w.hold);
		if (wr) {
			r = done ? (ssize_t)done : wr;
			break;
		}
	}
	if (r == -EPIPE && !(flags & MSG_NOSIGNAL))
		sigpipe(t);
	return r;
}

ssize_t sock_recv(struct task *t, struct file *f, void *buf, size_t len,
		  void *a, uint32_t *l, int flags, int *oflags)
{
	struct sock *s = file_sock(f);
	bool nonblock = (flags & MSG_DONTWAIT) || (f->flags & O_NONBLOCK);
	bool waitall = (flags & MSG_WAITALL) && !(flags & MSG_PEEK) &&
		       s->type == SOCK_STREAM;
	int64_t deadline = 0;
	size_t done = 0;
	int of = 0;

	for (;;) {
		/* MSG_DONTWAIT tells a family the caller will not wait (a
		 * shut-down unix datagram socket answers EOF or EAGAIN) */
		ssize_t n = s->ops->recv(t, s, (char *)buf + done, len - done,
					 done ? NULL : a, done ? NULL : l,
					 (flags & ~CORE_MSG_FLAGS) |
					 (nonblock ? MSG_DONTWAIT : 0), &of);
		long wr;

		if (n > 0) {
			done += (size_t)n;
			if (waitall && done < len)
				continue;
			break;
		}
		if (n == 0)
			break;
		if (n != -EAGAIN || nonblock)
			return done ? (ssize_t)done : n;
		if (!deadline)
			deadline = sock_deadline(s->rcvtimeo);
		wr = sock_wait(t, s->fd, POLLIN, deadline, s->rcvtimeo >= 0);
		if (wr)
			return done ? (ssize_t)done : wr;
	}
	if (oflags)
		*oflags = of;
	return (ssize_t)done;
}
