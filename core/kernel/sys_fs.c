/*
 * File syscalls on fds: the read/write family, fd management (dup, fcntl,
 * close_range, pipes), fstat, ioctl, getdents64, lseek, ftruncate and the
 * fsync family.  Each goes through the file's ops (core/vfs/vfs.h): a
 * host fd (stdio, pipes, files the gofer donated) or a provider-served
 * file (tmpfs, /dev).  Data moves through a bounce buffer and the checked
 * mm copies, so a bad pointer gives EFAULT, never a crash.  Path calls
 * are in sys_path.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#include "../config/config.h"
#include "../net/socket.h"
#include "../util/log.h"
#include "fdtable.h"
#include "fifo.h"
#include "locks.h"
#include "kernel.h"

#define MAX_RW_COUNT (INT_MAX & ~(PAGE_SIZE - 1)) /* as Linux */
#define BOUNCE_MAX (1u << 20) /* one host call moves at most this */
#define SBX_UIO_MAXIOV 1024

static struct file *get(struct task *t, uint64_t fd)
{
	return fd > INT_MAX ? NULL : fd_get(t->proc->files, (int)fd);
}

static bool readable(const struct file *f)
{
	return (f->flags & O_ACCMODE) != O_WRONLY && !(f->flags & O_PATH);
}

static bool writable(const struct file *f)
{
	return (f->flags & O_ACCMODE) != O_RDONLY && !(f->flags & O_PATH);
}

/* ---- read and write ---- */

/* broken_pipe - a write failed with EPIPE: Linux also sends SIGPIPE, to
 * the writing thread (send_sig(SIGPIPE, current, 0)). */
static long broken_pipe(struct task *t, long r)
{
	if (r == -EPIPE) {
		struct k_siginfo info = { .signo = SIGPIPE, .code = SI_USER };

		info.u.kill.pid = t->proc->pid;
		info.u.kill.uid = t->proc->uid;
		pthread_mutex_lock(&t->proc->k->lock);
		signal_send_task(t, SIGPIPE, &info);
		pthread_mutex_unlock(&t->proc->k->lock);
	}
	return r;
}

/* bounce - a buffer for one transfer of at most BOUNCE_MAX bytes. */
static void *bounce(size_t *len)
{
	if (*len > MAX_RW_COUNT)
		*len = MAX_RW_COUNT;
	if (*len > BOUNCE_MAX)
		*len = BOUNCE_MAX;
	return malloc(*len ? *len : 1);
}

static long do_read(struct task *t, struct file *f, uint64_t buf, size_t len,
		    int64_t off)
{
	void *b = bounce(&len);
	ssize_t n;

	if (!b)
		return -ENOMEM;
	if (file_sock(f)) {
		n = off < 0 ? sock_rw(t, f, b, len, false) : -ESPIPE;
	} else if (off < 0 && f->ops->read_task) {
		n = f->ops->read_task(t, f, b, len);
	} else {
		n = off < 0 && len ? wait_host_fd(t, f, POLLIN) : 0; /* 0 bytes: at once */
		if (!n)
			n = f->ops->read ? f->ops->read(f, b, len, off) : -EINVAL;
	}
	if (n > 0 && mm_copy_out(&t->proc->mm, buf, b, (size_t)n))
		n = -EFAULT;
	free(b);
	return n;
}

static long do_write(struct task *t, struct file *f, uint64_t buf, size_t len,
		     int64_t off)
{
	void *b = bounce(&len);
	ssize_t n;

	if (!b)
		return -ENOMEM;
	if (mm_copy_in(&t->proc->mm, b, buf, len))
		n = -EFAULT;
	else if (file_sock(f)) {
		/* sends its own SIGPIPE */
		n = off < 0 ? sock_rw(t, f, b, len, true) : -ESPIPE;
		free(b);
		return n;
	} else if (off < 0 && f->ops->write_task)
		n = f->ops->write_task(t, f, b, len);
	else if (!(n = off < 0 && len ? wait_host_fd(t, f, POLLOUT) : 0))
		n = f->ops->write ? f->ops->write(f, b, len, off) : -EINVAL;
	free(b);
	return n < 0 ? broken_pipe(t, n) : n;
}

/*
 * rw - read(2)/write(2) and their p* forms: @pos < 0 means "at the file
 * position" (read/write), else pread64/pwrite64 at @pos.
 */
static long rw(struct task *t, const struct sbx_syscall_args *a, bool wr,
	       bool positional)
{
	struct file *f = get(t, a->a[0]);
	int64_t pos = positional ? (int64_t)a->a[3] : -1;
	long r;

	if (!f)
		return -EBADF;
	if (!(wr ? writable(f) : readable(f)))
		r = -EBADF;
	else if (positional && pos < 0)
		r = -EINVAL;
	else if (!wr && f->path.d && S_ISDIR(f->path.d->mode))
		r = -EISDIR;
	else if (wr)
		r = do_write(t, f, a->a[1], a->a[2], pos);
	else
		r = do_read(t, f, a->a[1], a->a[2], pos);
	file_put(f);
	return r;
}

long sys_read(struct task *t, const struct sbx_syscall_args *a)
{
	return rw(t, a, false, false);
}

long sys_write(struct task *t, const struct sbx_syscall_args *a)
{
	return rw(t, a, true, false);
}

long sys_pread64(struct task *t, const struct sbx_syscall_args *a)
{
	return rw(t, a, false, true);
}

long sys_pwrite64(struct task *t, const struct sbx_syscall_args *a)
{
	return rw(t, a, true, true);
}

/* copy_iov - fetch and check an iovec array; returns the total length. */
static long copy_iov(struct task *t, uint64_t uiov, uint64_t cnt,
		     struct iovec **out)
{
	struct iovec *iov;
	uint64_t total = 0;

	if (cnt > SBX_UIO_MAXIOV)
		return -EINVAL;
	iov = calloc(cnt ? cnt : 1, sizeof(*iov));
	if (!iov)
		return -ENOMEM;
	if (mm_copy_in(&t->proc->mm, iov, uiov, cnt * sizeof(*iov))) {
		free(iov);
		return -EFAULT;
	}
	for (uint64_t i = 0; i < cnt; i++) {
		if ((ssize_t)iov[i].iov_len < 0 ||
		    total + iov[i].iov_len > (uint64_t)SSIZE_MAX) {
			free(iov);
			return -EINVAL;
		}
		total += iov[i].iov_len;
	}
	*out = iov;
	return total > MAX_RW_COUNT ? (long)MAX_RW_COUNT : (long)total;
}

/*
 * vec_prepare - the common start of readv and writev: the file (checked
 * for the direction), the iovec array, and a bounce buffer for the whole
 * transfer (one host call, so a writev'd line stays atomic).
 * Return: the transfer length, or -errno with nothing held.
 */
static long vec_prepare(struct task *t, const struct sbx_syscall_args *a,
			bool wr, struct file **f, struct iovec **iov, char **b)
{
	long total;

	*f = get(t, a->a[0]);
	if (!*f)
		return -EBADF;
	total = (wr ? writable(*f) : readable(*f)) ? 0 : -EBADF;
	if (!total)
		total = copy_iov(t, a->a[1], a->a[2], iov);
	if (total < 0) {
		file_put(*f);
		return total;
	}
	if (total > BOUNCE_MAX)
		total = BOUNCE_MAX;
	*b = malloc((size_t)total + 1);
	if (!*b) {
		free(*iov);
		file_put(*f);
		return -ENOMEM;
	}
	return total;
}

static void vec_done(struct file *f, struct iovec *iov, char *b)
{
	free(b);
	free(iov);
	file_put(f);
}

/*
 * vec_rw - readv/writev and their positional forms: @pos < 0 means at
 * (and advancing) the file position.
 */
static long vec_rw(struct task *t, const struct sbx_syscall_args *a, bool wr,
		   int64_t pos)
{
	struct iovec *iov;
	struct file *f;
	char *b;
	long total = vec_prepare(t, a, wr, &f, &iov, &b), r = 0;

	if (total < 0)
		return total;
	if (wr)
		r = mm_gather(&t->proc->mm, b, iov, a->a[2], (size_t)total);
	if (!r && file_sock(f)) {
		/* sockets have no position; they send their own SIGPIPE */
		r = pos >= 0 ? -ESPIPE : sock_rw(t, f, b, (size_t)total, wr);
		if (r > 0 && !wr && mm_scatter(&t->proc->mm, iov, a->a[2], b, (size_t)r))
			r = -EFAULT;
		vec_done(f, iov, b);
		return r;
	}
	if (!r && pos < 0 && (wr ? f->ops->write_task != NULL
				    : f->ops->read_task != NULL)) {
		/* files that block in the core (event fds) */
		r = wr ? f->ops->write_task(t, f, b, (size_t)total)
		       : f->ops->read_task(t, f, b, (size_t)total);
	} else {
		if (!r && pos < 0)
			r = wait_host_fd(t, f, wr ? POLLOUT : POLLIN);
		if (!r && wr)
			r = f->ops->write ? f->ops->write(f, b, (size_t)total, pos)
					  : -EINVAL;
		else if (!r)
			r = f->ops->read ? f->ops->read(f, b, (size_t)total, pos)
					 : -EINVAL;
	}
	if (r > 0 && !wr && mm_scatter(&t->proc->mm, iov, a->a[2], b, (size_t)r))
		r = -EFAULT;
	if (r < 0 && wr)
		r = broken_pipe(t, r);
	vec_done(f, iov, b);
	return r;
}

long sys_writev(struct task *t, const struct sbx_syscall_args *a)
{
	return vec_rw(t, a, true, -1);
}

long sys_readv(struct task *t, const struct sbx_syscall_args *a)
{
	return vec_rw(t, a, false, -1);
}

/* The RWF_* flags preadv2/pwritev2 know; each is a hint here. */
#define RWF_KNOWN (RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND)

/* pvec - preadv/pwritev(2): x86-64 passes the whole offset in pos_l;
 * the v2 forms take -1 as "the file position". */
static long pvec(struct task *t, const struct sbx_syscall_args *a, bool wr,
		 bool v2)
{
	int64_t pos = (int64_t)a->a[3];

	if (v2 && (a->a[5] & ~(uint64_t)RWF_KNOWN))
		return -EOPNOTSUPP;
	if (pos < 0 && !(v2 && pos == -1))
		return -EINVAL;
	return vec_rw(t, a, wr, pos);
}

long sys_preadv(struct task *t, const struct sbx_syscall_args *a)
{
	return pvec(t, a, false, false);
}

long sys_pwritev(struct task *t, const struct sbx_syscall_args *a)
{
	return pvec(t, a, true, false);
}

long sys_preadv2(struct task *t, const struct sbx_syscall_args *a)
{
	return pvec(t, a, false, true);
}

long sys_pwritev2(struct task *t, const struct sbx_syscall_args *a)
{
	return pvec(t, a, true, true);
}

long sys_lseek(struct task *t, const struct sbx_syscall_args *a)
{
	struct file *f = get(t, a->a[0]);
	off_t r;

	if (!f)
		return -EBADF;
	if (f->flags & O_PATH)
		r = -EBADF;
	else if ((int)a->a[2] < 0 || (int)a->a[2] > SEEK_END)
		r = -EINVAL;
	else
		r = f->ops->llseek ? f->ops->llseek(f, (int64_t)a->a[1], (int)a->a[2])
				   : -ESPIPE;
	file_put(f);
	return r;
}

/* ---- fd management ---- */

long sys_close(struct task *t, const struct sbx_syscall_args *a)
{
	return a->a[0] > INT_MAX ? -EBADF : fd_close(t->proc->files, (int)a->a[0]);
}

static long dup_to(struct task *t, uint64_t oldfd, uint64_t newfd, bool cloexec)
{
	struct file *f = get(t, oldfd);
	long r;

	if (!f)
		return -EBADF;
	r = newfd > INT_MAX ? -EBADF
			    : fd_install_at(t->proc->files, (int)newfd, f, cloexec);
	file_put(f);
	return r;
}

long sys_dup(struct task *t, const struct sbx_syscall_args *a)
{
	struct file *f = get(t, a->a[0]);
	long r;

	if (!f)
		return -EBADF;
	r = fd_install(t->proc->files, f, 0, false);
	file_put(f);
	return r;
}

long sys_dup2(struct task *t, const struct sbx_syscall_args *a)
{
	if (a->a[0] == a->a[1]) {
		struct file *f = get(t, a->a[0]);

		if (!f)
			return -EBADF;
		file_put(f);
		return (long)a->a[1];
	}
	return dup_to(t, a->a[0], a->a[1], false);
}

long sys_dup3(struct task *t, const struct sbx_syscall_args *a)
{
	if (a->a[2] & ~(uint64_t)O_CLOEXEC)
		return -EINVAL;
	if (a->a[0] == a->a[1])
		return -EINVAL;
	return dup_to(t, a->a[0], a->a[1], a->a[2] & O_CLOEXEC);
}

long sys_fcntl(struct task *t, const struct sbx_syscall_args *a)
{
	struct file *f = get(t, a->a[0]);
	int fd = (int)a->a[0];
	long r;

	if (!f)
		return -EBADF;
	/* O_PATH files allow only these (Linux's check_fcntl_cmd) */
	if ((f->flags & O_PATH) && (int)a->a[1] != F_DUPFD &&
	    (int)a->a[1] != F_DUPFD_CLOEXEC && (int)a->a[1] != F_GETFD &&
	    (int)a->a[1] != F_SETFD && (int)a->a[1] != F_GETFL) {
		file_put(f);
		return -EBADF;
	}
	switch ((int)a->a[1]) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		/* Linux: EINVAL when the minimum is at or above RLIMIT_NOFILE */
		r = (int)a->a[2] < 0 || (int)a->a[2] >= t->proc->files->max
			? -EINVAL
			: fd_install(t->proc->files, f, (int)a->a[2],
				     (int)a->a[1] == F_DUPFD_CLOEXEC);
		break;
	case F_GETFD:
		r = fd_cloexec(t->proc->files, fd, -1);
		r = r < 0 ? r : r ? FD_CLOEXEC : 0;
		break;
	case F_SETFD:
		r = fd_cloexec(t->proc->files, fd, (a->a[2] & FD_CLOEXEC) != 0);
		r = r < 0 ? r : 0;
		break;
	case F_GETFL:
		r = f->flags;
		break;
	case F_SETFL: {
		/* Linux lets F_SETFL change only these; the host fd follows so
		 * non-blocking I/O behaves */
		int mask = O_APPEND | O_NONBLOCK;
		int nf = (f->flags & ~mask) | ((int)a->a[2] & mask);

		/* (files that block in the core keep their host fd as it is:
		 * event fds' and sockets' host fds stay O_NONBLOCK) */
		r = f->host_fd >= 0 && !f->ops->read_task && !file_sock(f) &&
		    fcntl(f->host_fd, F_SETFL, nf & ~O_ACCMODE) < 0 ? -errno : 0;
		if (!r)
			f->flags = nf;
		break;
	}
	case F_GETPIPE_SZ:
	case F_SETPIPE_SZ: {
		/* pipes (host fds without a path) and FIFOs (their host pipe) */
		int hfd = f->host_fd >= 0 && !f->path.mnt ? f->host_fd
							   : fifo_host_fd(f);

		r = hfd < 0 ? -EBADF : fcntl(hfd, (int)a->a[1], (int)a->a[2]);
		if (r < 0 && hfd >= 0)
			r = -errno;
		break;
	}
	case F_SETLK:
	case F_SETLKW:
	case F_OFD_SETLK:
	case F_OFD_SETLKW:
	case F_GETLK:
	case F_OFD_GETLK:
		r = locks_fcntl(t, f, (int)a->a[1], a->a[2]);
		break;
	case F_GETOWN:
	case F_SETOWN:
	case F_SETSIG:
	case F_GETSIG:
		r = 0;
		break;
	case F_ADD_SEALS:
	case F_GET_SEALS:
		r = memfd_fcntl(f, (int)a->a[1], a->a[2]);
		break;
	default:
		r = -EINVAL;
	}
	file_put(f);
	return r;
}

long sys_flock(struct task *t, const struct sbx_syscall_args *a)
{
	unsigned cmd = (unsigned)a->a[1];
	struct file *f;
	long r;

	/* LOCK_MAND (32) was never enforced; Linux ignores it now */
	if (cmd & 32)
		return 0;
	switch (cmd & ~(unsigned)LOCK_NB) {
	case LOCK_SH:
	case LOCK_EX:
	case LOCK_UN:
		break;
	default:
		return -EINVAL;
	}
	f = get(t, a->a[0]);
	if (!f)
		return -EBADF;
	r = f->flags & O_PATH ? -EBADF : locks_flock(t, f, (int)cmd);
	file_put(f);
	return r;
}

/* ---- stat and ioctl ---- */

long file_stat_out(struct task *t, struct file *f, uint64_t buf)
{
	struct k_stat ks;
	int r = f->ops->stat ? f->ops->stat(f, &ks) : -EBADF;

	return r ? r : mm_copy_out(&t->proc->mm, buf, &ks, sizeof(ks));
}

long sys_fstat(struct task *t, const struct sbx_syscall_args *a)
{
	struct file *f = get(t, a->a[0]);
	long r;

	if (!f)
		return -EBADF;
	r = file_stat_out(t, f, a->a[1]);
	file_put(f);
	return r;
}

long sys_ioctl(struct task *t, const struct sbx_syscall_args *a)
{
	struct file *f = get(t, a->a[0]);
	unsigned char buf[64];
	long r;

	if (!f)
		return -EBADF;
	if (f->flags & O_PATH) {
		file_put(f);
		return -EBADF;
	}
	if (file_sock(f) && a->a[1] != FIONBIO && a->a[1] != FIOCLEX &&
	    a->a[1] != FIONCLEX) {
		r = sock_ioctl(t, f, a->a[1], a->a[2]);
		file_put(f);
		return r;
	}
	switch (a->a[1]) {
	case FIONREAD: {
		int n = 0, hfd = f->host_fd >= 0 ? f->host_fd : fifo_host_fd(f);

		if (hfd >= 0)
			r = ioctl(hfd, FIONREAD, &n) < 0 ? -errno : 0;
		else
			r = -ENOTTY;
		if (!r)
			r = mm_copy_out(&t->proc->mm, a->a[2], &n, sizeof(n));
		break;
	}
	case TCGETS:
		r = f->host_fd < 0 ? -ENOTTY : ioctl(f->host_fd, TCGETS, buf) < 0 ? -errno : 0;
		if (!r)
			r = mm_copy_out(&t->proc->mm, a->a[2], buf, K_TERMIOS_SIZE);
		break;
	case TIOCGWINSZ:
		r = f->host_fd < 0 ? -ENOTTY : ioctl(f->host_fd, TIOCGWINSZ, buf) < 0 ? -errno : 0;
		if (!r)
			r = mm_copy_out(&t->proc->mm, a->a[2], buf,
					sizeof(struct k_winsize));
		break;
	case FIONBIO: {
		int on;

		r = mm_copy_in(&t->proc->mm, &on, a->a[2], sizeof(on));
		if (!r) {
			struct sbx_syscall_args b = {
				.a = { a->a[0], F_SETFL,
				       on ? (f->flags | O_NONBLOCK)
					  : (f->flags & ~O_NONBLOCK) }
			};
			r = sys_fcntl(t, &b);
		}
		break;
	}
	case FIOCLEX:
	case FIONCLEX:
		r = fd_cloexec(t->proc->files, (int)a->a[0], a->a[1] == FIOCLEX);
		r = r < 0 ? r : 0;
		break;
	default:
		r = -ENOTTY;
	}
	file_put(f);
	return r;
}

/* ---- directories, sizes, sync ---- */

long sys_getdents64(struct task *t, const struct sbx_syscall_args *a)
{
	struct file *f = get(t, a->a[0]);
	size_t len = a->a[2] > BOUNCE_MAX ? BOUNCE_MAX : a->a[2];
	void *b;
	long r;

	if (!f)
		return -EBADF;
	if (f->flags & O_PATH) {
		r = -EBADF;
		goto out_put;
	}
	if (!f->ops->getdents || !f->path.d || !S_ISDIR(f->path.d->mode)) {
		r = -ENOTDIR;
		goto out_put;
	}
	b = malloc(len ? len : 1);
	r = -ENOMEM;
	if (!b)
		goto out_put;
	r = f->ops->getdents(f, b, len);
	if (r > 0 && mm_copy_out(&t->proc->mm, a->a[1], b, (size_t)r))
		r = -EFAULT;
	free(b);
out_put:
	file_put(f);
	return r;
}

long sys_ftruncate(struct task *t, const struct sbx_syscall_args *a)
{
	struct file *f = get(t, a->a[0]);
	long r;

	if (!f)
		return -EBADF;
	if ((int64_t)a->a[1] < 0)
		r = -EINVAL;
	else if (!writable(f))
		r = f->flags & O_PATH ? -EBADF : -EINVAL;
	else if (!f->path.d || !S_ISREG(f->path.d->mode) || !f->ops->truncate)
		r = -EINVAL;
	else if (f->path.mnt->readonly)
		r = -EROFS;
	else
		r = f->ops->truncate(f, a->a[1]);
	file_put(f);
	return r;
}

static long sync_fd(struct task *t, uint64_t fd)
{
	struct file *f = get(t, fd);
	long r;

	if (!f)
		return -EBADF;
	r = f->flags & O_PATH ? -EBADF
	    : f->ops->fsync ? f->ops->fsync(f) : -EINVAL;
	file_put(f);
	return r;
}

long sys_fsync(struct task *t, const struct sbx_syscall_args *a)
{
	return sync_fd(t, a->a[0]);
}

long sys_fdatasync(struct task *t, const struct sbx_syscall_args *a)
{
	return sync_fd(t, a->a[0]);
}

long sys_syncfs(struct task *t, const struct sbx_syscall_args *a)
{
	return sync_fd(t, a->a[0]);
}

long sys_sync_file_range(struct task *t, const struct sbx_syscall_args *a)
{
	if (a->a[3] & ~7ULL)
		return -EINVAL;
	return sync_fd(t, a->a[0]);
}

long sys_sync(struct task *t, const struct sbx_syscall_args *a)
{
	return 0;
}

long sys_fadvise64(struct task *t, const struct sbx_syscall_args *a)
{
	struct file *f = get(t, a->a[0]);

	if (!f)
		return -EBADF;
	file_put(f);
	return (int)a->a[3] < 0 || (int)a->a[3] > 5 ? -EINVAL : 0;
}

/* ---- close_range, pipes ---- */

long sys_close_range(struct task *t, const struct sbx_syscall_args *a)
{
	unsigned lo = (unsigned)a->a[0], hi = (unsigned)a->a[1];

	if (a->a[2] & ~(uint64_t)(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC))
		return -EINVAL;
	if (lo > hi)
		return -EINVAL;
	/* UNSHARE: the fd table is not shared between processes yet */
	return fd_close_range(t->proc->files, lo, hi,
			      a->a[2] & CLOSE_RANGE_CLOEXEC);
}

/*
 * pipe2 - a host pipe owned by the core: readiness, PIPE_BUF atomicity
 * and blocking come from the host kernel; the core validates arguments.
 * A blocking read of an empty pipe holds this task's thread (signal
 * interruption arrives with the blocking work of the process model).
 */
long sys_pipe2(struct task *t, const struct sbx_syscall_args *a)
{
	int flags = (int)a->a[1], hp[2], fds[2] = { -1, -1 };
	struct file *rf = NULL, *wf = NULL;
	long r;

	if (flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT))
		return -EINVAL;
	if (pipe2(hp, O_CLOEXEC | (flags & (O_NONBLOCK | O_DIRECT))) < 0)
		return -errno;
	rf = file_host(hp[0], O_RDONLY | (flags & (O_NONBLOCK | O_DIRECT)));
	wf = file_host(hp[1], O_WRONLY | (flags & (O_NONBLOCK | O_DIRECT)));
	r = -ENOMEM;
	if (!rf || !wf)
		goto out;
	r = fds[0] = fd_install(t->proc->files, rf, 0, flags & O_CLOEXEC);
	if (r < 0)
		goto out;
	r = fds[1] = fd_install(t->proc->files, wf, 0, flags & O_CLOEXEC);
	if (r < 0)
		goto out_close;
	r = mm_copy_out(&t->proc->mm, a->a[0], fds, sizeof(fds));
	if (r)
		goto out_close;
	goto out;
out_close:
	if (fds[0] >= 0)
		fd_close(t->proc->files, fds[0]);
	if (fds[1] >= 0)
		fd_close(t->proc->files, fds[1]);
out:
	if (rf)
		file_put(rf);
	else
		close(hp[0]);
	if (wf)
		file_put(wf);
	else
		close(hp[1]);
	return r;
}

long sys_pipe(struct task *t, const struct sbx_syscall_args *a)
{
	struct sbx_syscall_args b = { .a = { a->a[0], 0 } };

	return sys_pipe2(t, &b);
}

/* ---- readahead, fallocate ---- */

long sys_readahead(struct task *t, const struct sbx_syscall_args *a)
{
	struct file *f = get(t, a->a[0]);
	long r = 0;

	if (!f)
		return -EBADF;
	if (!readable(f))
		r = -EBADF;
	else if (!f->path.d || !S_ISREG(f->path.d->mode))
		r = -EINVAL;
	file_put(f);
	return r; /* a hint: the data is read when asked for */
}

#define FALLOC_KNOWN (FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | \
		      FALLOC_FL_ZERO_RANGE)

/* zero_range - write zeros over [@off, @end) of a core-served file. */
static long zero_range(struct file *f, uint64_t off, uint64_t end)
{
	static const char zeros[4096];

	while (off < end) {
		size_t n = end - off < sizeof(zeros) ? end - off : sizeof(zeros);
		ssize_t w = f->ops->write(f, zeros, n, (int64_t)off);

		if (w < 0)
			return w;
		off += (uint64_t)w;
	}
	return 0;
}

long sys_fallocate(struct task *t, const struct sbx_syscall_args *a)
{
	struct file *f = get(t, a->a[0]);
	int mode = (int)a->a[1];
	int64_t off = (int64_t)a->a[2], len = (int64_t)a->a[3];
	struct k_stat st;
	long r;

	if (!f)
		return -EBADF;
	r = -EINVAL;
	if (off < 0 || len <= 0 || off + len < off)
		goto out;
	r = -EBADF;
	if (!writable(f))
		goto out;
	r = -ESPIPE;
	if (!f->path.d || S_ISFIFO(f->path.d->mode))
		goto out;
	r = S_ISDIR(f->path.d->mode) ? -EISDIR : -ENODEV;
	if (!S_ISREG(f->path.d->mode))
		goto out;
	r = -EOPNOTSUPP;
	if (mode & ~FALLOC_KNOWN)
		goto out;
	if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE))
		goto out; /* EOPNOTSUPP, as vfs_fallocate */
	if (f->host_fd >= 0) {
		r = fallocate(f->host_fd, mode, off, len) < 0 ? -errno : 0;
		goto out;
	}
	/* core-served (tmpfs): memory is allocated as it is written */
	r = f->ops->stat ? f->ops->stat(f, &st) : -EOPNOTSUPP;
	if (r)
		goto out;
	if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
		uint64_t end = (uint64_t)(off + len);

		if ((mode & FALLOC_FL_KEEP_SIZE) && end > (uint64_t)st.st_size)
			end = (uint64_t)st.st_size;
		r = zero_range(f, (uint64_t)off, end);
		if (r)
			goto out;
	}
	if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > st.st_size)
		r = f->ops->truncate ? f->ops->truncate(f, (uint64_t)(off + len))
				     : -EOPNOTSUPP;
out:
	file_put(f);
	return r;
}

/* ---- sendfile, copy_file_range, splice: copies through the core ---- */

#define XFER_CHUNK (64u << 10)

/*
 * transfer - move up to @count bytes from @in to @out; *@in_off / *@out_off
 * (NULL: the file position, waiting for readiness as read/write do) advance
 * by what moved.  Stops at a short read.  Return: bytes moved, or -errno if
 * nothing moved.
 */
static long transfer(struct task *t, struct file *in, int64_t *in_off,
		     struct file *out, int64_t *out_off, size_t count)
{
	char *buf = malloc(XFER_CHUNK);
	size_t done = 0;
	long r = 0;

	if (!buf)
		return -ENOMEM;
	if (count > MAX_RW_COUNT)
		count = MAX_RW_COUNT;
	while (done < count) {
		size_t want = count - done < XFER_CHUNK ? count - done : XFER_CHUNK;
		size_t put = 0;

		if (file_sock(in))
			r = in_off ? -ESPIPE : sock_rw(t, in, buf, want, false);
		else if (!in_off && in->ops->read_task)
			r = in->ops->read_task(t, in, buf, want);
		else
			r = in_off ? 0 : wait_host_fd(t, in, POLLIN);
		if (!r && !file_sock(in) && (in_off || !in->ops->read_task))
			r = in->ops->read ? in->ops->read(in, buf, want,
							 in_off ? *in_off : -1)
					  : -EINVAL;
		if (r <= 0)
			break;
		while (put < (size_t)r) {
			long w;

			if (file_sock(out)) {
				/* sends its own SIGPIPE */
				w = out_off ? -ESPIPE : sock_rw(t, out, buf + put,
								(size_t)r - put, true);
				if (w < 0) {
					free(buf);
					return done ? (long)done : w;
				}
				put += (size_t)w;
				continue;
			}
			if (!out_off && out->ops->write_task)
				w = out->ops->write_task(t, out, buf + put,
							 (size_t)r - put);
			else if (!(w = out_off ? 0 : wait_host_fd(t, out, POLLOUT)))
				w = out->ops->write ? out->ops->write(out, buf + put,
					(size_t)r - put, out_off ? *out_off : -1)
						    : -EINVAL;
			if (w < 0) {
				free(buf);
				return done ? (long)done : broken_pipe(t, w);
			}
			put += (size_t)w;
			if (out_off)
				*out_off += w;
		}
		if (in_off)
			*in_off += r;
		done += (size_t)r;
		if ((size_t)r < want)
			break;
	}
	free(buf);
	return done ? (long)done : r;
}

/* get_off - an optional loff_t argument (NULL pointer: none). */
static long get_off(struct task *t, uint64_t uoff, int64_t *off, bool *has)
{
	*has = uoff != 0;
	if (!*has)
		return 0;
	if (mm_copy_in(&t->proc->mm, off, uoff, sizeof(*off)))
		return -EFAULT;
	return *off < 0 ? -EINVAL : 0;
}

static bool is_pipe(struct file *f)
{
	return !file_sock(f) && (!f->path.d || S_ISFIFO(f->path.d->mode));
}

/*
 * xfer_call - the common body of sendfile (@kind 0), copy_file_range (1)
 * and splice (2): fds, optional offsets, the checks each makes, the copy
 * and the offsets written back.
 */
static long xfer_call(struct task *t, int kind, uint64_t in_fd, uint64_t uin_off,
		      uint64_t out_fd, uint64_t uout_off, size_t count)
{
	struct file *in = get(t, in_fd), *out = get(t, out_fd);
	int64_t ioff = 0, ooff = 0;
	bool has_i, has_o;
	long r = -EBADF;

	if (!in || !out || !readable(in) || !writable(out))
		goto out;
	r = -EINVAL;
	if (kind != 2 && (out->flags & O_APPEND))
		goto out; /* copy_file_range says EBADF: fixed below */
	if (kind == 1 && (is_pipe(in) || is_pipe(out) ||
			  !S_ISREG(in->path.d->mode) || !S_ISREG(out->path.d->mode))) {
		r = (in->path.d && S_ISDIR(in->path.d->mode)) ||
		    (out->path.d && S_ISDIR(out->path.d->mode)) ? -EISDIR : -EINVAL;
		goto out;
	}
	if (kind == 2 && !is_pipe(in) && !is_pipe(out))
		goto out;
	r = get_off(t, uin_off, &ioff, &has_i);
	if (!r)
		r = get_off(t, uout_off, &ooff, &has_o);
	if (r)
		goto out;
	r = -ESPIPE;
	if (kind == 2 && ((has_i && is_pipe(in)) || (has_o && is_pipe(out))))
		goto out;
	if (kind == 0)
		has_o = false; /* sendfile writes at out's position */
	r = count ? transfer(t, in, has_i ? &ioff : NULL, out,
			     has_o ? &ooff : NULL, count) : 0;
	if (r > 0 && has_i &&
	    mm_copy_out(&t->proc->mm, uin_off, &ioff, sizeof(ioff)))
		r = -EFAULT;
	if (r > 0 && has_o &&
	    mm_copy_out(&t->proc->mm, uout_off, &ooff, sizeof(ooff)))
		r = -EFAULT;
out:
	if (r == -EINVAL && kind == 1 && out && (out->flags & O_APPEND))
		r = -EBADF;
	if (in)
		file_put(in);
	if (out)
		file_put(out);
	return r;
}

long sys_sendfile(struct task *t, const struct sbx_syscall_args *a)
{
	return xfer_call(t, 0, a->a[1], a->a[2], a->a[0], 0, a->a[3]);
}

long sys_copy_file_range(struct task *t, const struct sbx_syscall_args *a)
{
	if (a->a[5])
		return -EINVAL; /* no flags are defined */
	return xfer_call(t, 1, a->a[0], a->a[1], a->a[2], a->a[3], a->a[4]);
}

long sys_splice(struct task *t, const struct sbx_syscall_args *a)
{
	if (a->a[5] & ~(uint64_t)(SPLICE_F_MOVE | SPLICE_F_NONBLOCK |
				  SPLICE_F_MORE | SPLICE_F_GIFT))
		return -EINVAL;
	return xfer_call(t, 2, a->a[0], a->a[1], a->a[2], a->a[3], a->a[4]);
}
