/*
 * Open files: reference counting, and the two generic kinds of struct
 * file_ops: host-fd files (inherited stdio, pipes, and every file the
 * gofer donated: reads and writes go straight to the host fd) and
 * provider-served files (tmpfs, dev nodes: the provider's read/write with
 * a file position kept here).  Also O_PATH files, which allow nothing but
 * fstat, fchdir and *at() calls.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../mm/mfile.h"
#include "vfs.h"

struct file *file_new(const struct file_ops *ops, int flags, int host_fd,
		      const struct vfs_path *path)
{
	struct file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->refs = 1;
	f->ops = ops;
	f->host_fd = host_fd;
	f->flags = flags;
	pthread_mutex_init(&f->pos_lock, NULL);
	if (path && path->mnt) {
		f->path = *path;
		vfs_path_get(path);
	}
	return f;
}

struct file *file_host(int host_fd, int flags)
{
	return file_new(&host_file_ops, flags, host_fd, NULL);
}

void file_get(struct file *f)
{
	__atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
}

void file_put(struct file *f)
{
	if (!f || __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL))
		return;
	if (f->lock_ino)
		locks_file_release(f);
	if (f->ops && f->ops->release)
		f->ops->release(f);
	mfile_put(f->mapped);
	if (f->host_fd >= 0)
		close(f->host_fd);
	vfs_path_put(&f->path);
	pthread_mutex_destroy(&f->pos_lock);
	free(f);
}

int vfs_read_full(struct file *f, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	if (!f->ops->read)
		return -EINVAL;
	while (done < len) {
		ssize_t n = f->ops->read(f, (char *)buf + done, len - done,
					 (int64_t)(off + done));
		if (n == -EINTR)
			continue;
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -ENOEXEC; /* truncated file */
		done += (size_t)n;
	}
	return 0;
}

/* ---- host-fd files ---- */

static ssize_t host_read(struct file *f, void *buf, size_t len, int64_t off)
{
	ssize_t n = off < 0 ? read(f->host_fd, buf, len)
			    : pread(f->host_fd, buf, len, off);

	return n < 0 ? -errno : n;
}

static ssize_t host_write(struct file *f, const void *buf, size_t len,
			  int64_t off)
{
	ssize_t n = off < 0 ? write(f->host_fd, buf, len)
			    : pwrite(f->host_fd, buf, len, off);

	return n < 0 ? -errno : n;
}

static int64_t host_llseek(struct file *f, int64_t off, int whence)
{
	off_t r = lseek(f->host_fd, off, whence);

	return r < 0 ? -errno : r;
}

static ssize_t host_getdents(struct file *f, void *buf, size_t len)
{
	long n = syscall(SYS_getdents64, f->host_fd, buf, len);

	return n < 0 ? -errno : n;
}

void vfs_stat_from_host(const struct stat *st, struct k_stat *ks)
{
	memset(ks, 0, sizeof(*ks));
	ks->st_dev = st->st_dev;
	ks->st_ino = st->st_ino;
	ks->st_nlink = st->st_nlink;
	ks->st_mode = st->st_mode;
	ks->st_uid = st->st_uid;
	ks->st_gid = st->st_gid;
	ks->st_rdev = st->st_rdev;
	ks->st_size = st->st_size;
	ks->st_blksize = st->st_blksize;
	ks->st_blocks = st->st_blocks;
	ks->st_atim = (struct k_timespec){ st->st_atim.tv_sec, st->st_atim.tv_nsec };
	ks->st_mtim = (struct k_timespec){ st->st_mtim.tv_sec, st->st_mtim.tv_nsec };
	ks->st_ctim = (struct k_timespec){ st->st_ctim.tv_sec, st->st_ctim.tv_nsec };
}

static int host_stat(struct file *f, struct k_stat *ks)
{
	struct stat st;

	if (fstat(f->host_fd, &st) < 0)
		return -errno;
	vfs_stat_from_host(&st, ks);
	/* an unmodified lower file of the overlay: stat(2) gives the
	 * overlay's device (and the lower inode, which fstat has too) */
	if (f->path.mnt && f->path.mnt->ops == &overlay_ops)
		ks->st_dev = f->path.mnt->dev;
	return 0;
}

static int host_truncate(struct file *f, uint64_t len)
{
	return ftruncate(f->host_fd, (off_t)len) < 0 ? -errno : 0;
}

static int host_fsync(struct file *f)
{
	return 0; /* fsync is not on the core's allowlist; data is the host's */
}

const struct file_ops host_file_ops = {
	.read = host_read,
	.write = host_write,
	.llseek = host_llseek,
	.getdents = host_getdents,
	.stat = host_stat,
	.truncate = host_truncate,
	.fsync = host_fsync,
};

/* ---- provider-served files ---- */

static struct sbx_fs_node *node_of(struct file *f)
{
	return f->path.d->node;
}

static ssize_t node_read(struct file *f, void *buf, size_t len, int64_t off)
{
	const struct sbx_fs_ops *ops = f->path.mnt->ops;
	ssize_t n;

	if (!SBX_OPS_HAS(ops, read))
		return -EINVAL;
	if (off >= 0)
		return ops->read(node_of(f), buf, len, (uint64_t)off);
	pthread_mutex_lock(&f->pos_lock);
	n = ops->read(node_of(f), buf, len, (uint64_t)f->pos);
	if (n > 0)
		f->pos += n;
	pthread_mutex_unlock(&f->pos_lock);
	return n;
}

static ssize_t node_write(struct file *f, const void *buf, size_t len,
			  int64_t off)
{
	const struct sbx_fs_ops *ops = f->path.mnt->ops;
	struct sbx_fs_attr a = { .size = sizeof(a) };
	ssize_t n;

	if (!SBX_OPS_HAS(ops, write))
		return -EINVAL;
	if (off >= 0)
		return ops->write(node_of(f), buf, len, (uint64_t)off);
	pthread_mutex_lock(&f->pos_lock);
	if (f->flags & O_APPEND) {
		n = ops->getattr(node_of(f), &a);
		if (n < 0)
			goto out;
		f->pos = (int64_t)a.size_bytes;
	}
	n = ops->write(node_of(f), buf, len, (uint64_t)f->pos);
	if (n > 0)
		f->pos += n;
out:
	pthread_mutex_unlock(&f->pos_lock);
	return n;
}

static int64_t node_llseek(struct file *f, int64_t off, int whence)
{
	struct sbx_fs_attr a = { .size = sizeof(a) };
	int64_t base, r;

	pthread_mutex_lock(&f->pos_lock);
	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = f->pos;
		break;
	case SEEK_END:
		r = f->path.mnt->ops->getattr(node_of(f), &a);
		if (r < 0)
			goto out;
		base = (int64_t)a.size_bytes;
		break;
	default:
		r = -EINVAL;
		goto out;
	}
	r = -EINVAL;
	if (base + off < 0)
		goto out;
	f->pos = r = base + off;
	if (S_ISDIR(f->path.d->mode))
		f->dir_cookie = (uint64_t)r; /* 0 rewinds; else a cookie */
out:
	pthread_mutex_unlock(&f->pos_lock);
	return r;
}

struct dents_buf {
	char *buf;
	size_t len, at;
	uint64_t cookie;
	bool full;
};

static int emit_dent(void *arg, const char *name, uint64_t ino,
		     unsigned type, uint64_t next)
{
	struct dents_buf *b = arg;
	size_t nl = strlen(name);
	size_t reclen = (19 + nl + 1 + 7) & ~(size_t)7;
	char *p;

	if (b->at + reclen > b->len) {
		b->full = true;
		return 1;
	}
	p = b->buf + b->at;
	memset(p, 0, reclen);
	memcpy(p, &ino, 8);
	memcpy(p + 8, &next, 8);
	memcpy(p + 16, &(uint16_t){ (uint16_t)reclen }, 2);
	p[18] = (char)type;
	memcpy(p + 19, name, nl);
	b->at += reclen;
	b->cookie = next;
	return 0;
}

static ssize_t node_getdents(struct file *f, void *buf, size_t len)
{
	const struct sbx_fs_ops *ops = f->path.mnt->ops;
	struct dents_buf b = { buf, len, 0, 0, false };
	int64_t r;

	if (!S_ISDIR(f->path.d->mode))
		return -ENOTDIR;
	if (!SBX_OPS_HAS(ops, getdents))
		return -ENOTDIR;
	pthread_mutex_lock(&f->pos_lock);
	b.cookie = f->dir_cookie;
	r = ops->getdents(node_of(f), f->dir_cookie, emit_dent, &b);
	if (r >= 0) {
		f->dir_cookie = b.at ? b.cookie : (uint64_t)r;
		f->pos = (int64_t)f->dir_cookie;
		r = (int64_t)b.at;
		if (b.at == 0 && b.full)
			r = -EINVAL;
	}
	pthread_mutex_unlock(&f->pos_lock);
	return r;
}

static int node_stat(struct file *f, struct k_stat *st)
{
	return vfs_stat(&f->path, st);
}

static int node_truncate(struct file *f, uint64_t len)
{
	struct sbx_fs_attr a = { .size = sizeof(a), .size_bytes = len };

	return vfs_setattr(&f->path, &a, SBX_FS_ATTR_SIZE);
}

static int node_fsync(struct file *f)
{
	return 0;
}

const struct file_ops node_file_ops = {
	.read = node_read,
	.write = node_write,
	.llseek = node_llseek,
	.getdents = node_getdents,
	.stat = node_stat,
	.truncate = node_truncate,
	.fsync = node_fsync,
};

/* O_PATH: only the path is usable; data calls see EBADF in the syscalls */
const struct file_ops path_file_ops = {
	.stat = node_stat,
};
