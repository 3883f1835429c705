/*
 * Event fds on host objects: eventfd and timerfd are host eventfds and
 * timerfds owned by the core (the sandbox's clocks are the host's), and
 * memfd_create's files are unlinked nodes of an internal tmpfs whose data
 * lives in the memory file (core/vfs/tmpfs.c), never a host file.
 *
 * The host eventfd or timerfd is always O_NONBLOCK: the core does the
 * blocking itself (read_task/write_task), waiting for readiness in
 * signal-interruptible slices (wait_host_fd), so a blocked read ends with
 * -ERESTARTSYS on a signal as Linux's does, and two readers racing for one
 * count never leave the loser stuck in an uninterruptible host read.
 * poll, select and epoll see the host fd (sys_poll.c) unchanged.
 *
 * Divided into: the file ops, eventfd, timerfd, memfd_create and seals.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../vfs/vfs.h"
#include "fdtable.h"
#include "kernel.h"

#define K_EFD_SEMAPHORE 1
#define K_EFD_CLOEXEC 02000000
#define K_EFD_NONBLOCK 04000
#define K_TFD_TIMER_ABSTIME 1
#define K_TFD_TIMER_CANCEL_ON_SET 2
#define K_CLOCK_REALTIME_ALARM 8
#define K_CLOCK_BOOTTIME_ALARM 9
#define K_MFD_CLOEXEC 0x1u
#define K_MFD_ALLOW_SEALING 0x2u
#define K_MFD_HUGETLB 0x4u
#define K_MFD_HUGE_MASK (0x3fu << 26)
#define K_MFD_NAME_MAX 249 /* NAME_MAX - strlen("memfd:") */
#define K_F_ALL_SEALS 0x1fu

/* ---- the file ops (both kinds) ---- */

/* host_rw - one 8-byte transfer on the O_NONBLOCK host fd, waiting (in
 * the core, interruptibly) while it would block and the file is not
 * O_NONBLOCK for the application. */
static ssize_t host_rw(struct task *t, struct file *f, void *buf, bool wr)
{
	for (;;) {
		ssize_t n = wr ? write(f->host_fd, buf, 8) : read(f->host_fd, buf, 8);
		long r;

		if (n >= 0)
			return n;
		if (errno != EAGAIN || (f->flags & O_NONBLOCK))
			return -errno;
		r = wait_host_fd(t, f, wr ? POLLOUT : POLLIN);
		if (r)
			return r;
	}
}

static ssize_t ev_read_task(struct task *t, struct file *f, void *buf,
			    size_t len)
{
	return len < 8 ? -EINVAL : host_rw(t, f, buf, false);
}

static ssize_t ev_write_task(struct task *t, struct file *f, const void *buf,
			     size_t len)
{
	return len < 8 ? -EINVAL : host_rw(t, f, (void *)buf, true);
}

/* timerfd has no write: Linux's vfs_write gives EINVAL */
static ssize_t no_write_task(struct task *t, struct file *f, const void *buf,
			     size_t len)
{
	return -EINVAL;
}

/* pread/pwrite: these files have no position (Linux: ESPIPE) */
static ssize_t no_pread(struct file *f, void *buf, size_t len, int64_t off)
{
	return -ESPIPE;
}

static ssize_t no_pwrite(struct file *f, const void *buf, size_t len,
			 int64_t off)
{
	return -ESPIPE;
}

/* lseek succeeds and stays at 0 (Linux's noop_llseek) */
int64_t evfd_noop_llseek(struct file *f, int64_t off, int whence)
{
	return 0;
}

static int ev_stat(struct file *f, struct k_stat *ks)
{
	return host_file_ops.stat(f, ks); /* the host's anon inode */
}

static const struct file_ops eventfd_ops = {
	.read = no_pread,
	.write = no_pwrite,
	.llseek = evfd_noop_llseek,
	.stat = ev_stat,
	.read_task = ev_read_task,
	.write_task = ev_write_task,
	.anon_name = "[eventfd]",
};

static const struct file_ops timerfd_ops = {
	.read = no_pread,
	.write = no_pwrite,
	.llseek = evfd_noop_llseek,
	.stat = ev_stat,
	.read_task = ev_read_task,
	.write_task = no_write_task,
	.anon_name = "[timerfd]",
};

/* install - wrap @host_fd (owned: closed on failure) as a new fd. */
static long install(struct task *t, const struct file_ops *ops, int host_fd,
		    bool nonblock, bool cloexec)
{
	struct file *f = file_new(ops, O_RDWR | (nonblock ? O_NONBLOCK : 0),
				  host_fd, NULL);
	long r;

	if (!f) {
		close(host_fd);
		return -ENOMEM;
	}
	r = fd_install(t->proc->files, f, 0, cloexec);
	file_put(f);
	return r;
}

/* ---- eventfd ---- */

static long do_eventfd(struct task *t, unsigned initval, int flags)
{
	int fd;

	if (flags & ~(K_EFD_SEMAPHORE | K_EFD_CLOEXEC | K_EFD_NONBLOCK))
		return -EINVAL;
	fd = eventfd(initval, EFD_CLOEXEC | EFD_NONBLOCK |
			      (flags & K_EFD_SEMAPHORE ? EFD_SEMAPHORE : 0));
	if (fd < 0)
		return -errno;
	return install(t, &eventfd_ops, fd, flags & K_EFD_NONBLOCK,
		       flags & K_EFD_CLOEXEC);
}

long sys_eventfd(struct task *t, const struct sbx_syscall_args *a)
{
	return do_eventfd(t, (unsigned)a->a[0], 0);
}

long sys_eventfd2(struct task *t, const struct sbx_syscall_args *a)
{
	return do_eventfd(t, (unsigned)a->a[0], (int)a->a[1]);
}

/* ---- timerfd ---- */

long sys_timerfd_create(struct task *t, const struct sbx_syscall_args *a)
{
	int clock = (int)a->a[0], flags = (int)a->a[1], fd;

	if (flags & ~(TFD_CLOEXEC | TFD_NONBLOCK))
		return -EINVAL;
	if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC &&
	    clock != CLOCK_BOOTTIME && clock != K_CLOCK_REALTIME_ALARM &&
	    clock != K_CLOCK_BOOTTIME_ALARM)
		return -EINVAL;
	/* the alarm clocks need CAP_WAKE_ALARM, which the sandbox never
	 * grants (it cannot wake the host) */
	if (clock == K_CLOCK_REALTIME_ALARM || clock == K_CLOCK_BOOTTIME_ALARM)
		return -EPERM;
	fd = timerfd_create(clock, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	return install(t, &timerfd_ops, fd, flags & TFD_NONBLOCK,
		       flags & TFD_CLOEXEC);
}

/* timerfd_get - the timerfd at @fd: -EBADF, or -EINVAL for other files. */
static long timerfd_get(struct task *t, uint64_t fd, struct file **out)
{
	struct file *f = fd > INT_MAX ? NULL : fd_get(t->proc->files, (int)fd);

	if (!f)
		return -EBADF;
	if (f->ops != &timerfd_ops) {
		file_put(f);
		return -EINVAL;
	}
	*out = f;
	return 0;
}

static bool ts_valid(const struct k_timespec *ts)
{
	return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000;
}

long sys_timerfd_settime(struct task *t, const struct sbx_syscall_args *a)
{
	struct k_timespec nv[2], ov[2]; /* it_interval, it_value */
	struct itimerspec hn, ho;
	int flags = (int)a->a[1];
	struct file *f;
	long r;

	/* Linux's order: the new value (EFAULT), flags and values (EINVAL),
	 * the fd (EBADF, EINVAL), then the old value */
	if (mm_copy_in(&t->proc->mm, nv, a->a[2], sizeof(nv)))
		return -EFAULT;
	if ((flags & ~(K_TFD_TIMER_ABSTIME | K_TFD_TIMER_CANCEL_ON_SET)) ||
	    !ts_valid(&nv[0]) || !ts_valid(&nv[1]))
		return -EINVAL;
	r = timerfd_get(t, a->a[0], &f);
	if (r)
		return r;
	hn.it_interval = (struct timespec){ nv[0].tv_sec, nv[0].tv_nsec };
	hn.it_value = (struct timespec){ nv[1].tv_sec, nv[1].tv_nsec };
	r = timerfd_settime(f->host_fd, flags, &hn, &ho) < 0 ? -errno : 0;
	file_put(f);
	if (r)
		return r;
	ov[0] = (struct k_timespec){ ho.it_interval.tv_sec, ho.it_interval.tv_nsec };
	ov[1] = (struct k_timespec){ ho.it_value.tv_sec, ho.it_value.tv_nsec };
	if (a->a[3] && mm_copy_out(&t->proc->mm, a->a[3], ov, sizeof(ov)))
		return -EFAULT;
	return 0;
}

long sys_timerfd_gettime(struct task *t, const struct sbx_syscall_args *a)
{
	struct k_timespec cv[2];
	struct itimerspec h;
	struct file *f;
	long r = timerfd_get(t, a->a[0], &f);

	if (r)
		return r;
	r = timerfd_gettime(f->host_fd, &h) < 0 ? -errno : 0;
	file_put(f);
	if (r)
		return r;
	cv[0] = (struct k_timespec){ h.it_interval.tv_sec, h.it_interval.tv_nsec };
	cv[1] = (struct k_timespec){ h.it_value.tv_sec, h.it_value.tv_nsec };
	return mm_copy_out(&t->proc->mm, a->a[1], cv, sizeof(cv));
}

/* ---- memfd_create and seals ---- */

long sys_memfd_create(struct task *t, const struct sbx_syscall_args *a)
{
	unsigned flags = (unsigned)a->a[1];
	unsigned all = K_MFD_CLOEXEC | K_MFD_ALLOW_SEALING | K_MFD_HUGETLB;
	char name[6 + K_MFD_NAME_MAX + 1] = "memfd:";
	struct file *f;
	long r;

	if (flags & ~(all | ((flags & K_MFD_HUGETLB) ? K_MFD_HUGE_MASK : 0)))
		return -EINVAL;
	r = mm_copy_str(&t->proc->mm, name + 6, a->a[0], K_MFD_NAME_MAX + 1);
	if (r == -ENAMETOOLONG)
		return -EINVAL;
	if (r < 0)
		return r;
	/* no huge pages in the sandbox: refused like a size it lacks */
	if (flags & K_MFD_HUGETLB)
		return -EINVAL;
	r = vfs_anon_file(name, 0777, &f);
	if (r)
		return r;
	r = tmpfs_memfd_init(f->path.d->node, flags & K_MFD_ALLOW_SEALING);
	if (!r)
		r = fd_install(t->proc->files, f, 0, flags & K_MFD_CLOEXEC);
	file_put(f);
	return r;
}

long memfd_fcntl(struct file *f, int cmd, uint64_t arg)
{
	bool tmpfs = f->path.mnt && f->path.mnt->ops == &tmpfs_ops &&
		     f->path.d->node && S_ISREG(f->path.d->mode);

	if (f->flags & O_PATH)
		return -EBADF;
	if (cmd == F_GET_SEALS)
		return tmpfs ? tmpfs_seals(f->path.d->node, false, 0) : -EINVAL;
	/* F_ADD_SEALS, in Linux's order (memfd_fcntl, memfd_add_seals) */
	if (arg > UINT_MAX)
		return -EINVAL;
	if ((f->flags & O_ACCMODE) == O_RDONLY)
		return -EPERM;
	if (arg & ~K_F_ALL_SEALS)
		return -EINVAL;
	return tmpfs ? tmpfs_seals(f->path.d->node, true, (uint32_t)arg) : -EINVAL;
}
