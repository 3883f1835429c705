/*
 * signalfd: reading pending signals as struct signalfd_siginfo records.
 *
 * Signals are core state, so reads are served by the core: under the
 * kernel lock, take the reader's lowest pending signal in the mask (the
 * synchronous ones first, as Linux's next_signal), else one that another
 * thread of the process has pending and blocked (the core queues a
 * process-directed signal on one thread; Linux keeps it process-wide),
 * with signal_dequeue, as delivery and sigtimedwait do (real-time signals
 * come one queued instance at a time).  A blocking read sleeps with
 * task_sleep: queueing a signal broadcasts k->changed, and a signal that
 * is not blocked ends the wait with -ERESTARTSYS (EINTR or a restart).
 *
 * Readiness for poll, select and epoll: each signalfd owns a host pipe
 * whose read end is its file's host_fd (so sys_poll.c polls it like any
 * host fd) and which holds one byte exactly while a signal in the mask is
 * pending for the owner process, none otherwise.  A pipe rather than an
 * eventfd because a read end never reports POLLOUT (a signalfd is never
 * writable; an eventfd would be, and an EPOLLIN|EPOLLOUT watcher would
 * spin).  signalfd_update_locked recomputes that on
 * every change of pending signals (queue, delivery, SIGCONT/stop
 * clearing, reads).  Linux's readiness follows whichever task polls; here
 * it follows the owner: the process that created the signalfd, updated
 * its mask or last read it.  The difference shows only when another
 * process (a forked child) polls an inherited signalfd without reading
 * it; its reads are always exact.
 *
 * Every signalfd is on one list under the kernel lock (k->lock).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../vfs/vfs.h"
#include "fdtable.h"
#include "kernel.h"

#define BIT(s) (1ULL << ((s) - 1))
#define SYNCHRONOUS (BIT(SIGSEGV) | BIT(SIGBUS) | BIT(SIGILL) | BIT(SIGTRAP) | \
		     BIT(SIGFPE) | BIT(SIGSYS))
#define K_SFD_CLOEXEC 02000000
#define K_SFD_NONBLOCK 04000
#define K_SI_USER 0
#define K_SI_KERNEL 0x80
#define K_SI_TIMER (-2)
#define K_SI_SIGIO (-5)

/* struct signalfd_siginfo as Linux defines it (128 bytes) */
struct k_signalfd_siginfo {
	uint32_t ssi_signo;
	int32_t ssi_errno, ssi_code;
	uint32_t ssi_pid, ssi_uid;
	int32_t ssi_fd;
	uint32_t ssi_tid, ssi_band, ssi_overrun, ssi_trapno;
	int32_t ssi_status, ssi_int;
	uint64_t ssi_ptr, ssi_utime, ssi_stime, ssi_addr;
	uint16_t ssi_addr_lsb, pad2;
	int32_t ssi_syscall;
	uint64_t ssi_call_addr;
	uint32_t ssi_arch;
	uint8_t pad[28];
};
_Static_assert(sizeof(struct k_signalfd_siginfo) == 128, "signalfd_siginfo");
_Static_assert(offsetof(struct k_signalfd_siginfo, ssi_ptr) == 48, "ssi_ptr");
_Static_assert(offsetof(struct k_signalfd_siginfo, ssi_addr_lsb) == 80, "lsb");

struct sigfd {
	struct kernel *k;
	struct sigfd *next;	/* on sigfds */
	uint64_t mask;		/* signals read (never SIGKILL, SIGSTOP) */
	int owner;		/* pid whose pending signals make it ready */
	bool armed;		/* the pipe holds its byte */
	int rfd, wfd;		/* the pipe: rfd is the file's host_fd */
};

static struct sigfd *sigfds; /* under k->lock */

/* ---- readiness ---- */

static uint64_t group_pending(struct process *p)
{
	uint64_t s = 0;

	for (struct task *t = p->threads; t; t = t->next_thread)
		s |= t->pending;
	return s;
}

/* arm - put the byte in the pipe (@on) or take it out; both ends are
 * O_NONBLOCK and only the core touches them, so neither call blocks. */
static void arm(struct sigfd *s, bool on)
{
	char c = 0;
	ssize_t n = on ? write(s->wfd, &c, 1) : read(s->rfd, &c, 1);

	(void)n;
	s->armed = on;
}

void signalfd_update_locked(struct process *p)
{
	uint64_t pending;

	if (!sigfds)
		return;
	pending = group_pending(p);
	for (struct sigfd *s = sigfds; s; s = s->next)
		if (s->owner == p->pid && s->armed != !!(pending & s->mask))
			arm(s, !s->armed);
}

/* ---- reading ---- */

/* dequeue - take one pending signal of @mask for @t (lock held): its
 * info in *@info.  Return: the signal, or 0. */
static int dequeue(struct task *t, uint64_t mask, struct k_siginfo *info)
{
	struct task *src = t;
	uint64_t ready = t->pending & mask;

	for (struct task *o = t->proc->threads; !ready && o; o = o->next_thread)
		if (o != t && (o->pending & o->sigmask & mask)) {
			src = o;
			ready = o->pending & o->sigmask & mask;
		}
	if (!ready)
		return 0;
	if (ready & SYNCHRONOUS)
		ready &= SYNCHRONOUS;
	return signal_dequeue(src, ready, info);
}

static int32_t i32_at(const struct k_siginfo *si, size_t off)
{
	int32_t v;

	memcpy(&v, si->u.raw + off, sizeof(v));
	return v;
}

static uint64_t u64_at(const struct k_siginfo *si, size_t off)
{
	uint64_t v;

	memcpy(&v, si->u.raw + off, sizeof(v));
	return v;
}

/* fill - a siginfo as a signalfd record, field by field as Linux's
 * signalfd_copyinfo does for each siginfo layout. */
static void fill(struct k_signalfd_siginfo *o, const struct k_siginfo *si)
{
	int sig = si->signo, code = si->code;
	bool specific = code > K_SI_USER && code < K_SI_KERNEL;

	memset(o, 0, sizeof(*o));
	o->ssi_signo = (uint32_t)sig;
	o->ssi_errno = si->err;
	o->ssi_code = code;
	if (specific && (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
			 sig == SIGTRAP || sig == SIGFPE)) {
		o->ssi_addr = si->u.addr;
	} else if (specific && sig == SIGCHLD) {
		o->ssi_pid = (uint32_t)si->u.chld.pid;
		o->ssi_uid = si->u.chld.uid;
		o->ssi_status = si->u.chld.status;
		o->ssi_utime = (uint64_t)si->u.chld.utime;
		o->ssi_stime = (uint64_t)si->u.chld.stime;
	} else if ((specific && sig == SIGPOLL) || code == K_SI_SIGIO) {
		o->ssi_band = (uint32_t)u64_at(si, 0);
		o->ssi_fd = i32_at(si, 8);
	} else if (code == K_SI_TIMER) {
		o->ssi_tid = (uint32_t)i32_at(si, 0);
		o->ssi_overrun = (uint32_t)i32_at(si, 4);
		o->ssi_ptr = u64_at(si, 8);
		o->ssi_int = i32_at(si, 8);
	} else if (code < 0) { /* sigqueue, tkill, timers of other kinds */
		o->ssi_pid = (uint32_t)si->u.kill.pid;
		o->ssi_uid = si->u.kill.uid;
		o->ssi_ptr = u64_at(si, 8);
		o->ssi_int = i32_at(si, 8);
	} else { /* SI_USER, SI_KERNEL */
		o->ssi_pid = (uint32_t)si->u.kill.pid;
		o->ssi_uid = si->u.kill.uid;
	}
}

static ssize_t sfd_read_task(struct task *t, struct file *f, void *buf,
			     size_t len)
{
	struct sigfd *s = f->priv;
	struct kernel *k = t->proc->k;
	size_t want = len / sizeof(struct k_signalfd_siginfo), got = 0;
	struct k_siginfo info;
	ssize_t r = 0;

	if (!want)
		return -EINVAL;
	pthread_mutex_lock(&k->lock);
	s->owner = t->proc->pid; /* readiness follows the reader */
	while (got < want) {
		if (dequeue(t, s->mask, &info)) {
			fill((struct k_signalfd_siginfo *)buf + got, &info);
			got++;
			continue;
		}
		/* only the first record is waited for */
		if (got)
			break;
		if (f->flags & O_NONBLOCK) {
			r = -EAGAIN;
			break;
		}
		r = task_sleep(t, 0);
		if (r)
			break;
	}
	signalfd_update_locked(t->proc);
	pthread_mutex_unlock(&k->lock);
	return got ? (ssize_t)(got * sizeof(struct k_signalfd_siginfo)) : r;
}

static void sfd_release(struct file *f)
{
	struct sigfd *s = f->priv;

	pthread_mutex_lock(&s->k->lock);
	for (struct sigfd **pp = &sigfds; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	pthread_mutex_unlock(&s->k->lock);
	close(s->wfd);
	free(s); /* file_put closes the read end */
}

static ssize_t sfd_no_pread(struct file *f, void *buf, size_t len, int64_t off)
{
	return -ESPIPE;
}

/* Linux's signalfd has no write: vfs_write gives EINVAL */
static ssize_t sfd_write_task(struct task *t, struct file *f, const void *buf,
			      size_t len)
{
	return -EINVAL;
}

/* an anonymous inode as Linux's (mode 0600, no type), not the pipe */
static int sfd_stat(struct file *f, struct k_stat *ks)
{
	int r = host_file_ops.stat(f, ks);

	if (!r) {
		ks->st_mode = 0600;
		ks->st_size = 0;
		ks->st_blocks = 0;
		ks->st_blksize = 4096;
	}
	return r;
}

static const struct file_ops signalfd_ops = {
	.read = sfd_no_pread,
	.llseek = evfd_noop_llseek,
	.stat = sfd_stat,
	.release = sfd_release,
	.read_task = sfd_read_task,
	.write_task = sfd_write_task,
	.anon_name = "[signalfd]",
};

/* ---- the syscalls ---- */

static long do_signalfd(struct task *t, int ufd, uint64_t umask,
			uint64_t size, int flags)
{
	struct kernel *k = t->proc->k;
	uint64_t mask;
	struct sigfd *s;
	struct file *f;
	int pfd[2];
	long r;

	/* Linux's order: size, mask (EFAULT), flags, then the fd */
	if (size != K_SIGSET_SIZE)
		return -EINVAL;
	if (mm_copy_in(&t->proc->mm, &mask, umask, sizeof(mask)))
		return -EFAULT;
	if (flags & ~(K_SFD_CLOEXEC | K_SFD_NONBLOCK))
		return -EINVAL;
	mask &= ~(BIT(SIGKILL) | BIT(SIGSTOP));
	if (ufd != -1) {
		f = fd_get(t->proc->files, ufd);
		if (!f)
			return -EBADF;
		if (f->ops != &signalfd_ops) {
			file_put(f);
			return -EINVAL;
		}
		s = f->priv;
		pthread_mutex_lock(&k->lock);
		s->mask = mask;
		s->owner = t->proc->pid;
		signalfd_update_locked(t->proc);
		/* a reader sleeping in this signalfd sees the new mask */
		pthread_cond_broadcast(&k->changed);
		pthread_mutex_unlock(&k->lock);
		file_put(f);
		return ufd;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) < 0) {
		r = -errno;
		free(s);
		return r;
	}
	f = file_new(&signalfd_ops, O_RDWR | (flags & K_SFD_NONBLOCK ? O_NONBLOCK : 0),
		     pfd[0], NULL);
	if (!f) {
		close(pfd[0]);
		close(pfd[1]);
		free(s);
		return -ENOMEM;
	}
	s->k = k;
	s->mask = mask;
	s->rfd = pfd[0];
	s->wfd = pfd[1];
	s->owner = t->proc->pid;
	f->priv = s;
	pthread_mutex_lock(&k->lock);
	s->next = sigfds;
	sigfds = s;
	signalfd_update_locked(t->proc);
	pthread_mutex_unlock(&k->lock);
	r = fd_install(t->proc->files, f, 0, flags & K_SFD_CLOEXEC);
	file_put(f);
	return r;
}

long sys_signalfd(struct task *t, const struct sbx_syscall_args *a)
{
	return do_signalfd(t, (int)a->a[0], a->a[1], a->a[2], 0);
}

long sys_signalfd4(struct task *t, const struct sbx_syscall_args *a)
{
	return do_signalfd(t, (int)a->a[0], a->a[1], a->a[2], (int)a->a[3]);
}
