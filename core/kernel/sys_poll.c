/*
 * poll, ppoll, select and pselect6.  Files backed by a host fd (pipes,
 * donated files, inherited stdio) are polled through the host; files the
 * core serves itself (tmpfs, /dev) are always ready, as regular files are
 * on Linux; files with a poll op (FIFOs) name their host fds and add
 * events the host cannot know.  The host poll runs in short slices so that a signal or a kill
 * interrupts the wait (the task has no wake-up fd yet).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <time.h>

#include "../vfs/vfs.h"
#include "fdtable.h"
#include "kernel.h"

#define SLICE_MS 20
#define NSEC 1000000000LL

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

static bool interrupted(struct task *t)
{
	bool r;

	pthread_mutex_lock(&t->proc->k->lock);
	r = signal_pending(t) || t->proc->exiting;
	pthread_mutex_unlock(&t->proc->k->lock);
	return r;
}

/*
 * do_poll - poll @pfd (application fds) until something is ready, the
 * CLOCK_MONOTONIC @deadline (0 = never, -1 = don't wait) or a signal.
 * Each fd gets two host pollfd slots: one host fd for plain host-backed
 * files, up to two for files with a poll op (a FIFO open O_RDWR waits on
 * both ends of its host pipe), whose op also reports the events that hold
 * without the host (POLLHUP, POLLERR) and is asked again every slice.
 * Return: ready count, or -ERESTARTNOHAND.
 */
static long do_poll(struct task *t, struct pollfd *pfd, size_t n, int64_t deadline)
{
	struct pollfd *host = calloc(n ? 2 * n : 1, sizeof(*host));
	/* references held over the wait: another thread may close the fds */
	struct file **held = calloc(n ? n : 1, sizeof(*held));
	short *now = calloc(n ? n : 1, sizeof(*now));
	long ready;

	if (!host || !held || !now) {
		free(host);
		free(held);
		free(now);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct file *f = pfd[i].fd < 0 ? NULL : fd_get(t->proc->files, pfd[i].fd);

		host[2 * i].fd = host[2 * i + 1].fd = -1;
		pfd[i].revents = 0;
		if (pfd[i].fd < 0)
			continue;
		if (!f) {
			pfd[i].revents = POLLNVAL;
			continue;
		}
		held[i] = f;
		if (f->ops->poll) {
			continue; /* asked in the loop */
		} else if (f->host_fd >= 0) {
			host[2 * i].fd = f->host_fd;
			host[2 * i].events = pfd[i].events;
		} else {
			/* served by the core: always ready, as regular files */
			now[i] = pfd[i].events & (POLLIN | POLLOUT | POLLRDNORM |
						  POLLWRNORM);
		}
	}
	for (;;) {
		int64_t left = deadline > 0 ? deadline - now_ns() : 0;
		int ms = deadline < 0 ? 0 : deadline == 0 ? SLICE_MS
			 : left <= 0 ? 0 : left / 1000000 < SLICE_MS ? (int)(left / 1000000) + 1
			 : SLICE_MS;

		for (size_t i = 0; i < n; i++) {
			if (held[i] && held[i]->ops->poll)
				now[i] = held[i]->ops->poll(held[i], pfd[i].events,
							    &host[2 * i]);
			if (now[i])
				ms = 0; /* something is ready already */
		}
		if (task_host_poll(t, host, 2 * n, ms) < 0 && errno != EINTR) {
			ready = -errno;
			break;
		}
		ready = 0;
		for (size_t i = 0; i < n; i++) {
			if (held[i])
				pfd[i].revents = now[i] | host[2 * i].revents |
						 host[2 * i + 1].revents;
			if (pfd[i].revents)
				ready++;
		}
		if (ready || deadline < 0 || (deadline > 0 && now_ns() >= deadline))
			break;
		if (interrupted(t)) {
			ready = -ERESTARTNOHAND;
			break;
		}
	}
	for (size_t i = 0; i < n; i++)
		file_put(held[i]);
	free(now);
	free(held);
	free(host);
	return ready;
}

long wait_host_fd(struct task *t, struct file *f, short events)
{
	struct stat st;
	struct pollfd p = { f->host_fd, events, 0 };

	if (f->host_fd < 0 || (f->flags & O_NONBLOCK))
		return 0;
	if (fstat(f->host_fd, &st) < 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
		return 0;
	for (;;) {
		int r = task_host_poll(t, &p, 1, SLICE_MS);

		if (r > 0 || (r < 0 && errno != EINTR))
			return 0; /* ready, or let the read report the error */
		if (interrupted(t))
			return -ERESTARTSYS;
	}
}

/* set_mask / restore - ppoll and pselect's temporary signal mask. */
static int set_mask(struct task *t, uint64_t umask, uint64_t size)
{
	uint64_t mask;

	if (!umask)
		return 0;
	if (size != K_SIGSET_SIZE)
		return -EINVAL;
	if (mm_copy_in(&t->proc->mm, &mask, umask, sizeof(mask)))
		return -EFAULT;
	pthread_mutex_lock(&t->proc->k->lock);
	t->saved_mask = t->sigmask;
	t->has_saved_mask = true;
	t->sigmask = mask & ~((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)));
	pthread_mutex_unlock(&t->proc->k->lock);
	return 0;
}

static long poll_common(struct task *t, uint64_t ufds, uint64_t nfds,
			int64_t deadline)
{
	struct pollfd *pfd;
	long r;

	if (nfds > (uint64_t)t->proc->files->max)
		return -EINVAL;
	pfd = calloc(nfds ? nfds : 1, sizeof(*pfd));
	if (!pfd)
		return -ENOMEM;
	r = mm_copy_in(&t->proc->mm, pfd, ufds, nfds * sizeof(*pfd));
	if (!r)
		r = do_poll(t, pfd, nfds, deadline);
	if (r >= 0) {
		for (uint64_t i = 0; i < nfds; i++)
			if (mm_copy_out(&t->proc->mm, ufds + i * sizeof(*pfd) + 6,
					&pfd[i].revents, sizeof(short))) {
				r = -EFAULT;
				break;
			}
	}
	free(pfd);
	return r;
}

long sys_poll(struct task *t, const struct sbx_syscall_args *a)
{
	int ms = (int)a->a[2];

	return poll_common(t, a->a[0], a->a[1],
			   ms < 0 ? 0 : ms == 0 ? -1 : now_ns() + ms * 1000000LL);
}

static int timeout_of(struct task *t, uint64_t uts, int64_t *deadline)
{
	struct k_timespec ts;

	*deadline = 0;
	if (!uts)
		return 0;
	if (mm_copy_in(&t->proc->mm, &ts, uts, sizeof(ts)))
		return -EFAULT;
	if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= NSEC)
		return -EINVAL;
	*deadline = ts.tv_sec == 0 && ts.tv_nsec == 0 ? -1
		    : now_ns() + ts.tv_sec * NSEC + ts.tv_nsec;
	return 0;
}

long sys_ppoll(struct task *t, const struct sbx_syscall_args *a)
{
	int64_t deadline;
	long r = timeout_of(t, a->a[2], &deadline);

	if (!r)
		r = set_mask(t, a->a[3], a->a[4]);
	return r ? r : poll_common(t, a->a[0], a->a[1], deadline);
}

/* select_common - fd_sets to pollfds and back, as Linux's select. */
static long select_common(struct task *t, int nfds, uint64_t ur, uint64_t uw,
			  uint64_t ue, int64_t deadline)
{
	fd_set in[3], out[3];
	uint64_t u[3] = { ur, uw, ue };
	struct pollfd *pfd;
	size_t n = 0, bytes;
	long r;

	if (nfds < 0)
		return -EINVAL;
	if (nfds > FD_SETSIZE)
		nfds = FD_SETSIZE;
	bytes = ((size_t)nfds + 63) / 64 * 8;
	for (int s = 0; s < 3; s++) {
		FD_ZERO(&in[s]);
		FD_ZERO(&out[s]);
		if (u[s] && mm_copy_in(&t->proc->mm, &in[s], u[s], bytes))
			return -EFAULT;
	}
	pfd = calloc((size_t)nfds + 1, sizeof(*pfd));
	if (!pfd)
		return -ENOMEM;
	for (int fd = 0; fd < nfds; fd++) {
		short ev = (FD_ISSET(fd, &in[0]) ? POLLIN : 0) |
			   (FD_ISSET(fd, &in[1]) ? POLLOUT : 0) |
			   (FD_ISSET(fd, &in[2]) ? POLLPRI : 0);

		if (ev)
			pfd[n++] = (struct pollfd){ fd, ev, 0 };
	}
	r = do_poll(t, pfd, n, deadline);
	if (r >= 0) {
		r = 0;
		for (size_t i = 0; i < n; i++) {
			short rv = pfd[i].revents;

			if (rv & POLLNVAL) {
				r = -EBADF;
				break;
			}
			if ((pfd[i].events & POLLIN) && (rv & (POLLIN | POLLHUP | POLLERR)))
				FD_SET(pfd[i].fd, &out[0]), r++;
			if ((pfd[i].events & POLLOUT) && (rv & (POLLOUT | POLLERR)))
				FD_SET(pfd[i].fd, &out[1]), r++;
			if ((pfd[i].events & POLLPRI) && (rv & POLLPRI))
				FD_SET(pfd[i].fd, &out[2]), r++;
		}
		for (int s = 0; s < 3 && r >= 0; s++)
			if (u[s] && mm_copy_out(&t->proc->mm, u[s], &out[s], bytes))
				r = -EFAULT;
	}
	free(pfd);
	return r;
}

long sys_select(struct task *t, const struct sbx_syscall_args *a)
{
	struct k_timeval tv;
	int64_t deadline = 0;

	if (a->a[4]) {
		if (mm_copy_in(&t->proc->mm, &tv, a->a[4], sizeof(tv)))
			return -EFAULT;
		if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000)
			return -EINVAL;
		deadline = tv.tv_sec == 0 && tv.tv_usec == 0 ? -1
			   : now_ns() + tv.tv_sec * NSEC + tv.tv_usec * 1000;
	}
	return select_common(t, (int)a->a[0], a->a[1], a->a[2], a->a[3], deadline);
}

long sys_pselect6(struct task *t, const struct sbx_syscall_args *a)
{
	struct {
		uint64_t set, size;
	} sig = { 0, 0 };
	int64_t deadline;
	long r = timeout_of(t, a->a[4], &deadline);

	if (!r && a->a[5] && mm_copy_in(&t->proc->mm, &sig, a->a[5], sizeof(sig)))
		r = -EFAULT;
	if (!r)
		r = set_mask(t, sig.set, sig.size);
	return r ? r : select_common(t, (int)a->a[0], a->a[1], a->a[2], a->a[3],
				     deadline);
}

/* ---- epoll ----
 * An epoll instance is a core file holding (fd, events, data) entries;
 * epoll_wait polls them with do_poll.  EPOLLET is served level-triggered
 * (a spurious wake-up is allowed by the edge-triggered contract's users
 * only in practice: documented), EPOLLONESHOT disables an entry once it
 * has been reported.  Entries whose fd was closed are dropped at wait.
 */

#define K_EPOLLONESHOT (1u << 30)
#define K_EPOLLET (1u << 31)
#define K_EPOLL_USER_BITS 0x00003fffu

struct epoll_entry {
	int fd;
	uint32_t events;
	uint64_t data;
};

struct epoll {
	pthread_mutex_t lock;
	struct epoll_entry *e;
	size_t n, cap;
};

struct k_epoll_event {
	uint32_t events;
	uint64_t data;
} __attribute__((packed));

static void epoll_release(struct file *f)
{
	struct epoll *ep = f->priv;

	free(ep->e);
	pthread_mutex_destroy(&ep->lock);
	free(ep);
}

static const struct file_ops epoll_ops = { .release = epoll_release,
					   .anon_name = "[eventpoll]" };

static long epoll_new(struct task *t, int flags)
{
	struct epoll *ep;
	struct file *f;
	long r;

	if (flags & ~O_CLOEXEC)
		return -EINVAL;
	ep = calloc(1, sizeof(*ep));
	if (!ep)
		return -ENOMEM;
	pthread_mutex_init(&ep->lock, NULL);
	f = file_new(&epoll_ops, O_RDWR, -1, NULL);
	if (!f) {
		pthread_mutex_destroy(&ep->lock);
		free(ep);
		return -ENOMEM;
	}
	f->priv = ep;
	r = fd_install(t->proc->files, f, 0, flags & O_CLOEXEC);
	file_put(f);
	return r;
}

long sys_epoll_create(struct task *t, const struct sbx_syscall_args *a)
{
	return (int)a->a[0] <= 0 ? -EINVAL : epoll_new(t, 0);
}

long sys_epoll_create1(struct task *t, const struct sbx_syscall_args *a)
{
	return epoll_new(t, (int)a->a[0]);
}

static struct epoll *epoll_get(struct task *t, int epfd, struct file **out)
{
	struct file *f = fd_get(t->proc->files, epfd);

	*out = f;
	if (!f)
		return NULL;
	if (f->ops != &epoll_ops) {
		file_put(f);
		*out = NULL;
		return (struct epoll *)-1;
	}
	return f->priv;
}

long sys_epoll_ctl(struct task *t, const struct sbx_syscall_args *a)
{
	int epfd = (int)a->a[0], op = (int)a->a[1], fd = (int)a->a[2];
	struct k_epoll_event ev = { 0 };
	struct file *ef, *target;
	struct epoll *ep;
	size_t i;
	long r = 0;

	if (op != EPOLL_CTL_DEL &&
	    mm_copy_in(&t->proc->mm, &ev, a->a[3], sizeof(ev)))
		return -EFAULT;
	ep = epoll_get(t, epfd, &ef);
	if (!ep)
		return -EBADF;
	target = fd_get(t->proc->files, fd);
	if (!target) {
		if (ep != (struct epoll *)-1)
			file_put(ef);
		return -EBADF;
	}
	if (ep == (struct epoll *)-1 || fd == epfd || target->ops == &epoll_ops) {
		file_put(target);
		if (ep != (struct epoll *)-1)
			file_put(ef);
		return -EINVAL; /* nested epoll: not supported */
	}
	pthread_mutex_lock(&ep->lock);
	for (i = 0; i < ep->n && ep->e[i].fd != fd; i++)
		;
	switch (op) {
	case EPOLL_CTL_ADD:
		if (i < ep->n) {
			r = -EEXIST;
			break;
		}
		if (ep->n == ep->cap) {
			size_t cap = ep->cap ? ep->cap * 2 : 16;
			struct epoll_entry *n = realloc(ep->e, cap * sizeof(*n));

			if (!n) {
				r = -ENOMEM;
				break;
			}
			ep->e = n;
			ep->cap = cap;
		}
		ep->e[ep->n++] = (struct epoll_entry){ fd, ev.events, ev.data };
		break;
	case EPOLL_CTL_MOD:
		if (i == ep->n)
			r = -ENOENT;
		else
			ep->e[i] = (struct epoll_entry){ fd, ev.events, ev.data };
		break;
	case EPOLL_CTL_DEL:
		if (i == ep->n)
			r = -ENOENT;
		else
			ep->e[i] = ep->e[--ep->n];
		break;
	default:
		r = -EINVAL;
	}
	pthread_mutex_unlock(&ep->lock);
	file_put(target);
	file_put(ef);
	return r;
}

static long epoll_wait_common(struct task *t, int epfd, uint64_t uev, int max,
			      int64_t deadline)
{
	struct file *ef;
	struct epoll *ep;
	struct pollfd *pfd = NULL;
	struct k_epoll_event *out = NULL;
	size_t n;
	long r, got = 0;

	if (max <= 0 || (size_t)max > INT32_MAX / sizeof(struct k_epoll_event))
		return -EINVAL;
	ep = epoll_get(t, epfd, &ef);
	if (!ep)
		return -EBADF;
	if (ep == (struct epoll *)-1)
		return -EINVAL;
	pthread_mutex_lock(&ep->lock);
	n = ep->n;
	pfd = calloc(n ? n : 1, sizeof(*pfd));
	out = calloc((size_t)max, sizeof(*out));
	if (!pfd || !out) {
		pthread_mutex_unlock(&ep->lock);
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		pfd[i].fd = ep->e[i].events & K_EPOLL_USER_BITS ? ep->e[i].fd : -1;
		pfd[i].events = (short)(ep->e[i].events & K_EPOLL_USER_BITS);
	}
	pthread_mutex_unlock(&ep->lock);
	r = do_poll(t, pfd, n, deadline);
	if (r < 0)
		goto out;
	pthread_mutex_lock(&ep->lock);
	for (size_t i = 0; i < n && i < ep->n && got < max; i++) {
		short rv = pfd[i].revents;

		if (rv & POLLNVAL) {
			ep->e[i].events = 0; /* closed: never reported again */
			continue;
		}
		if (!rv)
			continue;
		out[got].events = (uint32_t)rv &
				  (ep->e[i].events | POLLERR | POLLHUP);
		out[got].data = ep->e[i].data;
		if (ep->e[i].events & K_EPOLLONESHOT)
			ep->e[i].events &= ~K_EPOLL_USER_BITS;
		got++;
	}
	pthread_mutex_unlock(&ep->lock);
	r = got;
	if (got && mm_copy_out(&t->proc->mm, uev, out, (size_t)got * sizeof(*out)))
		r = -EFAULT;
out:
	free(pfd);
	free(out);
	file_put(ef);
	return r;
}

long sys_epoll_wait(struct task *t, const struct sbx_syscall_args *a)
{
	int ms = (int)a->a[3];

	return epoll_wait_common(t, (int)a->a[0], a->a[1], (int)a->a[2],
				 ms < 0 ? 0 : ms == 0 ? -1 : now_ns() + ms * 1000000LL);
}

long sys_epoll_pwait(struct task *t, const struct sbx_syscall_args *a)
{
	int ms = (int)a->a[3];
	long r = set_mask(t, a->a[4], a->a[5]);

	return r ? r : epoll_wait_common(t, (int)a->a[0], a->a[1], (int)a->a[2],
					 ms < 0 ? 0 : ms == 0 ? -1
						 : now_ns() + ms * 1000000LL);
}

long sys_epoll_pwait2(struct task *t, const struct sbx_syscall_args *a)
{
	int64_t deadline;
	long r = timeout_of(t, a->a[3], &deadline);

	if (!r)
		r = set_mask(t, a->a[4], a->a[5]);
	return r ? r : epoll_wait_common(t, (int)a->a[0], a->a[1], (int)a->a[2],
					 deadline);
}
