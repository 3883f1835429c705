/*
 * File syscalls on the fds the sandbox has before the VFS lands: host-fd
 * backed files (inherited stdio).  Data moves through a bounce buffer and
 * the checked mm copies, so a bad pointer gives EFAULT, never a crash.
 * Divided into: read/write family, fd management, stat and ioctl, and the
 * few path calls that need no file system (readlink of /proc/self/exe).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#include "../config/config.h"
#include "../util/log.h"
#include "fdtable.h"
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

/*
 * broken_pipe - a write failed with EPIPE: Linux also sends SIGPIPE, whose
 * default action ends the process.  Until signal delivery exists, a
 * program with a handler gets only the EPIPE.
 */
static long broken_pipe(struct task *t, long r)
{
	if (r == -EPIPE && t->proc->sigact[SIGPIPE - 1].handler == 0 /* SIG_DFL */)
		process_exit(t->proc, SIGPIPE);
	return r;
}

static long do_read(struct task *t, struct file *f, uint64_t buf, size_t len,
		    int64_t off)
{
	ssize_t n;
	void *b;

	if (len > MAX_RW_COUNT)
		len = MAX_RW_COUNT;
	if (len > BOUNCE_MAX)
		len = BOUNCE_MAX;
	b = malloc(len ? len : 1);
	if (!b)
		return -ENOMEM;
	n = off < 0 ? read(f->host_fd, b, len) : pread(f->host_fd, b, len, off);
	if (n < 0)
		n = -errno;
	else if (n > 0 && mm_copy_out(&t->proc->mm, buf, b, (size_t)n))
		n = -EFAULT;
	free(b);
	return n;
}

static long do_write(struct task *t, struct file *f, uint64_t buf, size_t len,
		     int64_t off)
{
	ssize_t n;
	void *b;

	if (len > MAX_RW_COUNT)
		len = MAX_RW_COUNT;
	if (len > BOUNCE_MAX)
		len = BOUNCE_MAX;
	b = malloc(len ? len : 1);
	if (!b)
		return -ENOMEM;
	if (mm_copy_in(&t->proc->mm, b, buf, len)) {
		free(b);
		return -EFAULT;
	}
	n = off < 0 ? write(f->host_fd, b, len) : pwrite(f->host_fd, b, len, off);
	free(b);
	return n < 0 ? broken_pipe(t, -errno) : n;
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

/* writev gathers into one host write so a line is written atomically. */
long sys_writev(struct task *t, const struct sbx_syscall_args *a)
{
	struct file *f = get(t, a->a[0]);
	struct iovec *iov = NULL;
	long total, r;
	char *b = NULL;
	size_t at = 0;

	if (!f)
		return -EBADF;
	r = writable(f) ? 0 : -EBADF;
	if (r)
		goto out_put;
	total = r = copy_iov(t, a->a[1], a->a[2], &iov);
	if (r < 0)
		goto out_put;
	if (total > BOUNCE_MAX)
		total = BOUNCE_MAX;
	b = malloc((size_t)total + 1);
	r = -ENOMEM;
	if (!b)
		goto out_free;
	for (uint64_t i = 0; i < a->a[2] && at < (size_t)total; i++) {
		size_t n = iov[i].iov_len;

		if (n > (size_t)total - at)
			n = (size_t)total - at;
		if (mm_copy_in(&t->proc->mm, b + at, (uint64_t)iov[i].iov_base, n)) {
			r = -EFAULT;
			goto out_free;
		}
		at += n;
	}
	r = write(f->host_fd, b, at);
	if (r < 0)
		r = broken_pipe(t, -errno);
out_free:
	free(b);
	free(iov);
out_put:
	file_put(f);
	return r;
}

long sys_readv(struct task *t, const struct sbx_syscall_args *a)
{
	struct file *f = get(t, a->a[0]);
	struct iovec *iov = NULL;
	long total, r;
	char *b = NULL;
	ssize_t n;
	size_t at = 0;

	if (!f)
		return -EBADF;
	r = readable(f) ? 0 : -EBADF;
	if (r)
		goto out_put;
	total = r = copy_iov(t, a->a[1], a->a[2], &iov);
	if (r < 0)
		goto out_put;
	if (total > BOUNCE_MAX)
		total = BOUNCE_MAX;
	b = malloc((size_t)total + 1);
	r = -ENOMEM;
	if (!b)
		goto out_free;
	n = read(f->host_fd, b, (size_t)total);
	r = n < 0 ? -errno : n;
	for (uint64_t i = 0; i < a->a[2] && n > 0 && at < (size_t)n; i++) {
		size_t c = iov[i].iov_len;

		if (c > (size_t)n - at)
			c = (size_t)n - at;
		if (mm_copy_out(&t->proc->mm, (uint64_t)iov[i].iov_base, b + at, c)) {
			r = -EFAULT;
			break;
		}
		at += c;
	}
out_free:
	free(b);
	free(iov);
out_put:
	file_put(f);
	return r;
}

long sys_lseek(struct task *t, const struct sbx_syscall_args *a)
{
	struct file *f = get(t, a->a[0]);
	off_t r;

	if (!f)
		return -EBADF;
	r = lseek(f->host_fd, (off_t)a->a[1], (int)a->a[2]);
	file_put(f);
	return r < 0 ? -errno : r;
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

		r = fcntl(f->host_fd, F_SETFL, nf & ~O_ACCMODE) < 0 ? -errno : 0;
		if (!r)
			f->flags = nf;
		break;
	}
	default:
		r = -EINVAL;
	}
	file_put(f);
	return r;
}

/* ---- stat and ioctl ---- */

static long stat_out(struct task *t, int host_fd, uint64_t buf)
{
	struct stat st;
	struct k_stat ks;

	if (fstat(host_fd, &st) < 0)
		return -errno;
	memset(&ks, 0, sizeof(ks));
	ks.st_dev = st.st_dev;
	ks.st_ino = st.st_ino;
	ks.st_nlink = st.st_nlink;
	ks.st_mode = st.st_mode;
	ks.st_uid = st.st_uid;
	ks.st_gid = st.st_gid;
	ks.st_rdev = st.st_rdev;
	ks.st_size = st.st_size;
	ks.st_blksize = st.st_blksize;
	ks.st_blocks = st.st_blocks;
	ks.st_atim = (struct k_timespec){ st.st_atim.tv_sec, st.st_atim.tv_nsec };
	ks.st_mtim = (struct k_timespec){ st.st_mtim.tv_sec, st.st_mtim.tv_nsec };
	ks.st_ctim = (struct k_timespec){ st.st_ctim.tv_sec, st.st_ctim.tv_nsec };
	return mm_copy_out(&t->proc->mm, buf, &ks, sizeof(ks));
}

long sys_fstat(struct task *t, const struct sbx_syscall_args *a)
{
	struct file *f = get(t, a->a[0]);
	long r;

	if (!f)
		return -EBADF;
	r = stat_out(t, f->host_fd, a->a[1]);
	file_put(f);
	return r;
}

long sys_newfstatat(struct task *t, const struct sbx_syscall_args *a)
{
	char c;
	int r;

	if (a->a[3] & ~(uint64_t)(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW |
				  AT_NO_AUTOMOUNT))
		return -EINVAL;
	r = mm_copy_str(&t->proc->mm, &c, a->a[1], 1);
	if (r == -EFAULT)
		return r;
	if (r == 0 && (a->a[3] & AT_EMPTY_PATH)) {
		struct sbx_syscall_args b = { .a = { a->a[0], a->a[2] } };

		return sys_fstat(t, &b);
	}
	if (r == 0)
		return -ENOENT;
	/* a relative path needs a valid directory fd, as in Linux */
	if (c != '/' && (int)a->a[0] != AT_FDCWD) {
		struct file *f = get(t, a->a[0]);
		struct stat st;

		if (!f)
			return -EBADF;
		r = fstat(f->host_fd, &st) < 0 ? -errno
		    : S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
		file_put(f);
		if (r)
			return r;
	}
	/* paths need the VFS (file-system issue) */
	sbx_debug("newfstatat of a path: no file system yet");
	return -ENOENT;
}

long sys_ioctl(struct task *t, const struct sbx_syscall_args *a)
{
	struct file *f = get(t, a->a[0]);
	unsigned char buf[64];
	long r;

	if (!f)
		return -EBADF;
	switch (a->a[1]) {
	case TCGETS:
		r = ioctl(f->host_fd, TCGETS, buf) < 0 ? -errno : 0;
		if (!r)
			r = mm_copy_out(&t->proc->mm, a->a[2], buf, K_TERMIOS_SIZE);
		break;
	case TIOCGWINSZ:
		r = ioctl(f->host_fd, TIOCGWINSZ, buf) < 0 ? -errno : 0;
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

/* ---- paths without a file system ---- */

static long readlink_common(struct task *t, uint64_t upath, uint64_t buf,
			    uint64_t size)
{
	char path[PATH_MAX];
	char self[32];
	int r = mm_copy_str(&t->proc->mm, path, upath, sizeof(path));
	size_t n;

	if (r < 0)
		return r;
	if ((int64_t)size <= 0)
		return -EINVAL;
	snprintf(self, sizeof(self), "/proc/%d/exe", t->proc->pid);
	if (strcmp(path, "/proc/self/exe") != 0 && strcmp(path, self) != 0)
		return -ENOENT; /* other paths need the VFS */
	n = strlen(t->proc->exe);
	if (n > size)
		n = size;
	r = mm_copy_out(&t->proc->mm, buf, t->proc->exe, n);
	return r ? r : (long)n;
}

long sys_readlink(struct task *t, const struct sbx_syscall_args *a)
{
	return readlink_common(t, a->a[0], a->a[1], a->a[2]);
}

long sys_readlinkat(struct task *t, const struct sbx_syscall_args *a)
{
	return readlink_common(t, a->a[1], a->a[2], a->a[3]);
}

long sys_getcwd(struct task *t, const struct sbx_syscall_args *a)
{
	const char *cwd = t->proc->k->cfg->process.cwd;
	size_t n = strlen(cwd) + 1;

	if (a->a[1] < n)
		return -ERANGE;
	return mm_copy_out(&t->proc->mm, a->a[0], cwd, n) ?: (long)n;
}

long sys_umask(struct task *t, const struct sbx_syscall_args *a)
{
	uint32_t old = t->proc->umask;

	t->proc->umask = (uint32_t)a->a[0] & 0777;
	return old;
}
