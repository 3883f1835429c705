/*
 * Path syscalls: open family, stat family, readlink, access, cwd, the
 * directory-changing calls (mkdir, unlink, rename, link, symlink, mknod),
 * attribute changes (chmod, chown, utimensat, truncate) and statfs.  Each
 * copies its path in (EFAULT / ENAMETOOLONG), finds its starting point
 * (cwd or a dirfd: EBADF, ENOTDIR) and calls the VFS (core/vfs/vfs.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <linux/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "fdtable.h"
#include "fifo.h"
#include "kernel.h"

#define AT_FDCWD_ (-100)

long file_stat_out(struct task *t, struct file *f, uint64_t buf);

struct upath {
	char *s;
	struct vfs_path start; /* from the dirfd; NULL d: cwd */
	struct file *dir;      /* holds start */
};

static void put_path(struct upath *u);

static struct fs_context *fsx(struct task *t)
{
	return t->proc->fs;
}

/*
 * get_path - copy the path at @uaddr and resolve @dirfd for it.  An empty
 * path is -ENOENT unless @empty_ok (AT_EMPTY_PATH), which also lets the
 * dirfd be any file.
 */
static int get_path(struct task *t, int dirfd, uint64_t uaddr, bool empty_ok,
		    struct upath *u)
{
	int r;

	memset(u, 0, sizeof(*u));
	u->s = malloc(PATH_MAX);
	if (!u->s)
		return -ENOMEM;
	r = mm_copy_str(&t->proc->mm, u->s, uaddr, PATH_MAX);
	if (r < 0)
		goto fail;
	if (r == 0 && !empty_ok) {
		r = -ENOENT;
		goto fail;
	}
	if (u->s[0] == '/' || dirfd == AT_FDCWD_)
		return 0;
	u->dir = fd_get(t->proc->files, dirfd);
	r = -EBADF;
	if (!u->dir)
		goto fail;
	if (u->s[0] && (!u->dir->path.d || !S_ISDIR(u->dir->path.d->mode))) {
		r = -ENOTDIR;
		goto fail;
	}
	u->start = u->dir->path;
	return 0;
fail:
	put_path(u);
	return r;
}

static void put_path(struct upath *u)
{
	free(u->s);
	u->s = NULL;
	file_put(u->dir);
	u->dir = NULL;
}

static const struct vfs_path *start_of(const struct upath *u)
{
	return u->start.d ? &u->start : NULL;
}

/* ---- open ---- */

#define OPEN_VALID                                                      \
	(O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND |  \
	 O_NONBLOCK | O_DSYNC | O_ASYNC | O_DIRECT | O_LARGEFILE |       \
	 O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_SYNC |      \
	 O_PATH | O_TMPFILE)

static long do_open(struct task *t, int dirfd, uint64_t upath, int flags,
		    uint32_t mode, unsigned wflags)
{
	struct upath u;
	struct file *f;
	long r;

	if ((flags & O_TMPFILE) == O_TMPFILE &&
	    ((flags & O_ACCMODE) == O_RDONLY || (flags & O_PATH)))
		return -EINVAL; /* an unnamed file must be writable */
	/* (glibc's __O_TMPFILE includes O_DIRECTORY: test the bit itself) */
	if ((flags & 020000000) && (flags & O_TMPFILE) != O_TMPFILE)
		return -EINVAL; /* the tmpfile bit without O_DIRECTORY */
	if (flags & O_PATH)
		flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	r = get_path(t, dirfd, upath, false, &u);
	if (r)
		return r;
	if ((flags & O_TMPFILE) == O_TMPFILE)
		r = vfs_open_tmpfile(fsx(t), start_of(&u), u.s, flags, mode, &f);
	else
		r = vfs_open(fsx(t), start_of(&u), u.s, flags, mode, wflags, &f);
	if (!r && f->ops == &fifo_file_ops) {
		/* the rendezvous may sleep: drop the path's references first */
		put_path(&u);
		r = fifo_open(t, f);
		if (r) {
			file_put(f);
			return r;
		}
		r = fd_install(t->proc->files, f, 0, flags & O_CLOEXEC);
		file_put(f);
		return r;
	}
	if (!r) {
		r = fd_install(t->proc->files, f, 0, flags & O_CLOEXEC);
		file_put(f);
	}
	put_path(&u);
	return r;
}

long sys_open(struct task *t, const struct sbx_syscall_args *a)
{
	return do_open(t, AT_FDCWD_, a->a[0], (int)a->a[1], (uint32_t)a->a[2], 0);
}

long sys_openat(struct task *t, const struct sbx_syscall_args *a)
{
	return do_open(t, (int)a->a[0], a->a[1], (int)a->a[2], (uint32_t)a->a[3], 0);
}

long sys_creat(struct task *t, const struct sbx_syscall_args *a)
{
	return do_open(t, AT_FDCWD_, a->a[0], O_CREAT | O_WRONLY | O_TRUNC,
		       (uint32_t)a->a[1], 0);
}

long sys_openat2(struct task *t, const struct sbx_syscall_args *a)
{
	struct open_how how;
	unsigned wflags = 0;

	if (a->a[3] < 24)
		return -EINVAL;
	if (a->a[3] > 4096)
		return -E2BIG;
	if (mm_copy_in(&t->proc->mm, &how, a->a[2], sizeof(how)))
		return -EFAULT;
	if ((how.flags & ~(uint64_t)OPEN_VALID) || how.mode & ~07777ULL ||
	    (!(how.flags & (O_CREAT | 020000000)) && how.mode))
		return -EINVAL;
	if (how.resolve & ~(uint64_t)(RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS |
				      RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH |
				      RESOLVE_IN_ROOT | RESOLVE_CACHED))
		return -EINVAL;
	if ((how.resolve & RESOLVE_BENEATH) && (how.resolve & RESOLVE_IN_ROOT))
		return -EINVAL;
	if (how.resolve & RESOLVE_IN_ROOT)
		return -EOPNOTSUPP; /* not yet */
	if (how.resolve & RESOLVE_BENEATH)
		wflags |= WALK_BENEATH;
	if (how.resolve & RESOLVE_NO_SYMLINKS)
		wflags |= WALK_NO_SYMLINKS;
	if (how.resolve & RESOLVE_NO_XDEV)
		wflags |= WALK_NO_XDEV;
	return do_open(t, (int)a->a[0], a->a[1], (int)how.flags,
		       (uint32_t)how.mode, wflags);
}

/* ---- stat ---- */

static int resolve(struct task *t, int dirfd, uint64_t upath, int atflags,
		   struct vfs_path *p, struct file **file)
{
	struct upath u;
	int r = get_path(t, dirfd, upath, atflags & AT_EMPTY_PATH, &u);

	*file = NULL;
	if (r)
		return r;
	if (!u.s[0]) {
		/* AT_EMPTY_PATH: the dirfd itself (any file), or cwd */
		if (u.dir) {
			*file = u.dir;
			u.dir = NULL;
			p->mnt = NULL;
			p->d = NULL;
			put_path(&u);
			return 0;
		}
	}
	r = vfs_walk(fsx(t), start_of(&u), u.s,
		     (atflags & AT_SYMLINK_NOFOLLOW ? 0 : WALK_FOLLOW) | WALK_EMPTY,
		     p);
	put_path(&u);
	return r;
}

static long stat_at(struct task *t, int dirfd, uint64_t upath, uint64_t buf,
		    int atflags)
{
	struct vfs_path p;
	struct file *f;
	struct k_stat st;
	long r;

	if (atflags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT))
		return -EINVAL;
	r = resolve(t, dirfd, upath, atflags, &p, &f);
	if (r)
		return r;
	if (f) {
		r = file_stat_out(t, f, buf);
		file_put(f);
		return r;
	}
	r = vfs_stat(&p, &st);
	vfs_path_put(&p);
	return r ? r : mm_copy_out(&t->proc->mm, buf, &st, sizeof(st));
}

long sys_stat(struct task *t, const struct sbx_syscall_args *a)
{
	return stat_at(t, AT_FDCWD_, a->a[0], a->a[1], 0);
}

long sys_lstat(struct task *t, const struct sbx_syscall_args *a)
{
	return stat_at(t, AT_FDCWD_, a->a[0], a->a[1], AT_SYMLINK_NOFOLLOW);
}

long sys_newfstatat(struct task *t, const struct sbx_syscall_args *a)
{
	return stat_at(t, (int)a->a[0], a->a[1], a->a[2], (int)a->a[3]);
}

long sys_statx(struct task *t, const struct sbx_syscall_args *a)
{
	int atflags = (int)a->a[2];
	struct vfs_path p;
	struct file *f;
	struct k_stat st;
	struct statx sx;
	long r;

	if (atflags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT |
			AT_STATX_SYNC_TYPE))
		return -EINVAL;
	if ((atflags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE)
		return -EINVAL;
	if (a->a[3] & STATX__RESERVED)
		return -EINVAL;
	r = resolve(t, (int)a->a[0], a->a[1], atflags, &p, &f);
	if (r)
		return r;
	if (f) {
		r = f->ops->stat ? f->ops->stat(f, &st) : -EBADF;
		file_put(f);
	} else {
		r = vfs_stat(&p, &st);
		vfs_path_put(&p);
	}
	if (r)
		return r;
	memset(&sx, 0, sizeof(sx));
	sx.stx_mask = STATX_BASIC_STATS;
	sx.stx_blksize = (uint32_t)st.st_blksize;
	sx.stx_nlink = (uint32_t)st.st_nlink;
	sx.stx_uid = st.st_uid;
	sx.stx_gid = st.st_gid;
	sx.stx_mode = (uint16_t)st.st_mode;
	sx.stx_ino = st.st_ino;
	sx.stx_size = (uint64_t)st.st_size;
	sx.stx_blocks = (uint64_t)st.st_blocks;
	sx.stx_atime = (struct statx_timestamp){ st.st_atim.tv_sec,
						 (uint32_t)st.st_atim.tv_nsec };
	sx.stx_mtime = (struct statx_timestamp){ st.st_mtim.tv_sec,
						 (uint32_t)st.st_mtim.tv_nsec };
	sx.stx_ctime = (struct statx_timestamp){ st.st_ctim.tv_sec,
						 (uint32_t)st.st_ctim.tv_nsec };
	sx.stx_rdev_major = major(st.st_rdev);
	sx.stx_rdev_minor = minor(st.st_rdev);
	sx.stx_dev_major = major(st.st_dev);
	sx.stx_dev_minor = minor(st.st_dev);
	return mm_copy_out(&t->proc->mm, a->a[4], &sx, sizeof(sx));
}

/* ---- readlink, access ---- */

static long readlink_at(struct task *t, int dirfd, uint64_t upath,
			uint64_t buf, uint64_t size)
{
	char *target = NULL;
	struct vfs_path p;
	struct upath u;
	ssize_t n;
	long r;

	r = get_path(t, dirfd, upath, true, &u);
	if (r)
		return r;
	if ((int64_t)size <= 0) {
		r = -EINVAL;
		goto out;
	}
	if (!u.s[0]) {
		r = u.dir ? -EINVAL : -ENOENT;
		goto out;
	}
	r = vfs_walk(fsx(t), start_of(&u), u.s, 0, &p);
	if (r)
		goto out;
	target = malloc(PATH_MAX);
	n = target ? vfs_readlink(&p, target, PATH_MAX) : -ENOMEM;
	vfs_path_put(&p);
	if (n >= 0) {
		if ((uint64_t)n > size)
			n = (ssize_t)size;
		r = mm_copy_out(&t->proc->mm, buf, target, (size_t)n) ?: n;
	} else {
		r = n;
	}
out:
	free(target);
	put_path(&u);
	return r;
}

long sys_readlink(struct task *t, const struct sbx_syscall_args *a)
{
	return readlink_at(t, AT_FDCWD_, a->a[0], a->a[1], a->a[2]);
}

long sys_readlinkat(struct task *t, const struct sbx_syscall_args *a)
{
	return readlink_at(t, (int)a->a[0], a->a[1], a->a[2], a->a[3]);
}

static long access_at(struct task *t, int dirfd, uint64_t upath, int mode,
		      int atflags)
{
	struct vfs_path p;
	struct file *f;
	long r;

	if (mode & ~(R_OK | W_OK | X_OK))
		return -EINVAL;
	if (atflags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	r = resolve(t, dirfd, upath, atflags, &p, &f);
	if (r)
		return r;
	if (f) {
		r = f->path.d ? vfs_access(&f->path, mode, t->proc->uid) : 0;
		file_put(f);
		return r;
	}
	r = vfs_access(&p, mode, t->proc->uid);
	vfs_path_put(&p);
	return r;
}

long sys_access(struct task *t, const struct sbx_syscall_args *a)
{
	return access_at(t, AT_FDCWD_, a->a[0], (int)a->a[1], 0);
}

long sys_faccessat(struct task *t, const struct sbx_syscall_args *a)
{
	return access_at(t, (int)a->a[0], a->a[1], (int)a->a[2], 0);
}

long sys_faccessat2(struct task *t, const struct sbx_syscall_args *a)
{
	return access_at(t, (int)a->a[0], a->a[1], (int)a->a[2], (int)a->a[3]);
}

/* ---- cwd, umask ---- */

static long set_cwd(struct task *t, const struct vfs_path *p)
{
	struct fs_context *fs = fsx(t);
	struct vfs_path old;

	if (!vfs_is_dir(p))
		return -ENOTDIR;
	vfs_path_get(p);
	pthread_mutex_lock(&fs->lock);
	old = fs->cwd;
	fs->cwd = *p;
	pthread_mutex_unlock(&fs->lock);
	vfs_path_put(&old);
	return 0;
}

long sys_chdir(struct task *t, const struct sbx_syscall_args *a)
{
	struct vfs_path p;
	struct upath u;
	long r = get_path(t, AT_FDCWD_, a->a[0], false, &u);

	if (r)
		return r;
	r = vfs_walk(fsx(t), NULL, u.s, WALK_FOLLOW | WALK_DIRECTORY, &p);
	put_path(&u);
	if (r)
		return r;
	r = set_cwd(t, &p);
	vfs_path_put(&p);
	return r;
}

long sys_fchdir(struct task *t, const struct sbx_syscall_args *a)
{
	struct file *f = a->a[0] > INT_MAX ? NULL
			 : fd_get(t->proc->files, (int)a->a[0]);
	long r;

	if (!f)
		return -EBADF;
	r = f->path.d ? set_cwd(t, &f->path) : -ENOTDIR;
	file_put(f);
	return r;
}

long sys_getcwd(struct task *t, const struct sbx_syscall_args *a)
{
	struct fs_context *fs = fsx(t);
	struct vfs_path cwd;
	char *buf = malloc(PATH_MAX);
	long r;

	if (!buf)
		return -ENOMEM;
	pthread_mutex_lock(&fs->lock);
	cwd = fs->cwd;
	vfs_path_get(&cwd);
	pthread_mutex_unlock(&fs->lock);
	r = vfs_getpath(fs, &cwd, buf, PATH_MAX);
	vfs_path_put(&cwd);
	if (r >= 0) {
		size_t n = (size_t)r + 1;

		r = a->a[1] < n ? -ERANGE
		    : mm_copy_out(&t->proc->mm, a->a[0], buf, n) ?: (long)n;
	}
	free(buf);
	return r;
}

long sys_umask(struct task *t, const struct sbx_syscall_args *a)
{
	struct fs_context *fs = fsx(t);
	uint32_t old;

	pthread_mutex_lock(&fs->lock);
	old = fs->umask;
	fs->umask = (uint32_t)a->a[0] & 0777;
	pthread_mutex_unlock(&fs->lock);
	return old;
}

/* ---- creating and removing names ---- */

static long mknod_at(struct task *t, int dirfd, uint64_t upath, uint32_t mode,
		     uint32_t dev)
{
	struct upath u;
	long r;

	switch (mode & S_IFMT) {
	case 0:
		mode |= S_IFREG;
		/* fallthrough */
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK:
	case S_IFDIR:
		break;
	case S_IFCHR:
	case S_IFBLK:
		return -EPERM; /* no CAP_MKNOD in the sandbox */
	default:
		return -EINVAL;
	}
	r = get_path(t, dirfd, upath, false, &u);
	if (r)
		return r;
	r = vfs_mknod(fsx(t), start_of(&u), u.s, mode, dev);
	put_path(&u);
	return r;
}

long sys_mknod(struct task *t, const struct sbx_syscall_args *a)
{
	if (((uint32_t)a->a[1] & S_IFMT) == S_IFDIR)
		return -EINVAL;
	return mknod_at(t, AT_FDCWD_, a->a[0], (uint32_t)a->a[1], (uint32_t)a->a[2]);
}

long sys_mknodat(struct task *t, const struct sbx_syscall_args *a)
{
	if (((uint32_t)a->a[2] & S_IFMT) == S_IFDIR)
		return -EINVAL;
	return mknod_at(t, (int)a->a[0], a->a[1], (uint32_t)a->a[2],
			(uint32_t)a->a[3]);
}

long sys_mkdir(struct task *t, const struct sbx_syscall_args *a)
{
	return mknod_at(t, AT_FDCWD_, a->a[0], S_IFDIR | ((uint32_t)a->a[1] & 07777), 0);
}

long sys_mkdirat(struct task *t, const struct sbx_syscall_args *a)
{
	return mknod_at(t, (int)a->a[0], a->a[1],
			S_IFDIR | ((uint32_t)a->a[2] & 07777), 0);
}

static long unlink_at(struct task *t, int dirfd, uint64_t upath, int flags)
{
	struct upath u;
	long r;

	if (flags & ~AT_REMOVEDIR)
		return -EINVAL;
	r = get_path(t, dirfd, upath, false, &u);
	if (r)
		return r;
	r = vfs_unlink(fsx(t), start_of(&u), u.s, flags);
	put_path(&u);
	return r;
}

long sys_unlink(struct task *t, const struct sbx_syscall_args *a)
{
	return unlink_at(t, AT_FDCWD_, a->a[0], 0);
}

long sys_rmdir(struct task *t, const struct sbx_syscall_args *a)
{
	return unlink_at(t, AT_FDCWD_, a->a[0], AT_REMOVEDIR);
}

long sys_unlinkat(struct task *t, const struct sbx_syscall_args *a)
{
	return unlink_at(t, (int)a->a[0], a->a[1], (int)a->a[2]);
}

static long rename_at(struct task *t, int ofd, uint64_t op, int nfd,
		      uint64_t np, unsigned flags)
{
	struct upath o, n;
	long r;

	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
		return -EINVAL;
	if (flags & RENAME_WHITEOUT)
		return -EPERM;
	r = get_path(t, ofd, op, false, &o);
	if (r)
		return r;
	r = get_path(t, nfd, np, false, &n);
	if (!r) {
		r = vfs_rename(fsx(t), start_of(&o), o.s, start_of(&n), n.s, flags);
		put_path(&n);
	}
	put_path(&o);
	return r;
}

long sys_rename(struct task *t, const struct sbx_syscall_args *a)
{
	return rename_at(t, AT_FDCWD_, a->a[0], AT_FDCWD_, a->a[1], 0);
}

long sys_renameat(struct task *t, const struct sbx_syscall_args *a)
{
	return rename_at(t, (int)a->a[0], a->a[1], (int)a->a[2], a->a[3], 0);
}

long sys_renameat2(struct task *t, const struct sbx_syscall_args *a)
{
	return rename_at(t, (int)a->a[0], a->a[1], (int)a->a[2], a->a[3],
			 (unsigned)a->a[4]);
}

static long link_at(struct task *t, int ofd, uint64_t op, int nfd, uint64_t np,
		    int flags)
{
	struct upath o, n;
	long r;

	if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	if ((flags & AT_EMPTY_PATH) && t->proc->uid != 0)
		return -ENOENT; /* needs CAP_DAC_READ_SEARCH */
	r = get_path(t, ofd, op, flags & AT_EMPTY_PATH, &o);
	if (r)
		return r;
	r = get_path(t, nfd, np, false, &n);
	if (!r) {
		r = vfs_link(fsx(t), start_of(&o), o.s, start_of(&n), n.s,
			     (flags & AT_SYMLINK_FOLLOW ? WALK_FOLLOW : 0) |
			     (flags & AT_EMPTY_PATH ? WALK_EMPTY : 0));
		put_path(&n);
	}
	put_path(&o);
	return r;
}

long sys_link(struct task *t, const struct sbx_syscall_args *a)
{
	return link_at(t, AT_FDCWD_, a->a[0], AT_FDCWD_, a->a[1], 0);
}

long sys_linkat(struct task *t, const struct sbx_syscall_args *a)
{
	return link_at(t, (int)a->a[0], a->a[1], (int)a->a[2], a->a[3],
		       (int)a->a[4]);
}

static long symlink_at(struct task *t, uint64_t utarget, int dirfd,
		       uint64_t upath)
{
	char *target = malloc(PATH_MAX);
	struct upath u;
	long r;

	if (!target)
		return -ENOMEM;
	r = mm_copy_str(&t->proc->mm, target, utarget, PATH_MAX);
	if (r < 0)
		goto out;
	r = get_path(t, dirfd, upath, false, &u);
	if (r)
		goto out;
	r = vfs_symlink(fsx(t), target, start_of(&u), u.s);
	put_path(&u);
out:
	free(target);
	return r;
}

long sys_symlink(struct task *t, const struct sbx_syscall_args *a)
{
	return symlink_at(t, a->a[0], AT_FDCWD_, a->a[1]);
}

long sys_symlinkat(struct task *t, const struct sbx_syscall_args *a)
{
	return symlink_at(t, a->a[0], (int)a->a[1], a->a[2]);
}

/* ---- attributes ---- */

static long setattr_at(struct task *t, int dirfd, uint64_t upath, int atflags,
		       const struct sbx_fs_attr *attr, uint32_t mask)
{
	struct vfs_path p;
	struct file *f;
	long r = resolve(t, dirfd, upath, atflags, &p, &f);

	if (r)
		return r;
	if (f) {
		r = f->path.d ? vfs_setattr(&f->path, attr, mask) : -EBADF;
		file_put(f);
		return r;
	}
	r = vfs_setattr(&p, attr, mask);
	vfs_path_put(&p);
	return r;
}

static long fd_setattr(struct task *t, uint64_t fd,
		       const struct sbx_fs_attr *attr, uint32_t mask)
{
	struct file *f = fd > INT_MAX ? NULL : fd_get(t->proc->files, (int)fd);
	long r;

	if (!f)
		return -EBADF;
	r = f->flags & O_PATH ? -EBADF
	    : f->path.d ? vfs_setattr(&f->path, attr, mask) : 0;
	file_put(f);
	return r;
}

long sys_chmod(struct task *t, const struct sbx_syscall_args *a)
{
	struct sbx_fs_attr at = { .size = sizeof(at), .mode = (uint32_t)a->a[1] };

	return setattr_at(t, AT_FDCWD_, a->a[0], 0, &at, SBX_FS_ATTR_MODE);
}

long sys_fchmodat(struct task *t, const struct sbx_syscall_args *a)
{
	struct sbx_fs_attr at = { .size = sizeof(at), .mode = (uint32_t)a->a[2] };

	return setattr_at(t, (int)a->a[0], a->a[1], 0, &at, SBX_FS_ATTR_MODE);
}

long sys_fchmod(struct task *t, const struct sbx_syscall_args *a)
{
	struct sbx_fs_attr at = { .size = sizeof(at), .mode = (uint32_t)a->a[1] };

	return fd_setattr(t, a->a[0], &at, SBX_FS_ATTR_MODE);
}

static uint32_t own_mask(uint64_t uid, uint64_t gid)
{
	return ((uint32_t)uid != (uint32_t)-1 ? SBX_FS_ATTR_UID : 0) |
	       ((uint32_t)gid != (uint32_t)-1 ? SBX_FS_ATTR_GID : 0);
}

long sys_chown(struct task *t, const struct sbx_syscall_args *a)
{
	struct sbx_fs_attr at = { .size = sizeof(at), .uid = (uint32_t)a->a[1],
				  .gid = (uint32_t)a->a[2] };

	return setattr_at(t, AT_FDCWD_, a->a[0], 0, &at, own_mask(a->a[1], a->a[2]));
}

long sys_lchown(struct task *t, const struct sbx_syscall_args *a)
{
	struct sbx_fs_attr at = { .size = sizeof(at), .uid = (uint32_t)a->a[1],
				  .gid = (uint32_t)a->a[2] };

	return setattr_at(t, AT_FDCWD_, a->a[0], AT_SYMLINK_NOFOLLOW, &at,
			  own_mask(a->a[1], a->a[2]));
}

long sys_fchown(struct task *t, const struct sbx_syscall_args *a)
{
	struct sbx_fs_attr at = { .size = sizeof(at), .uid = (uint32_t)a->a[1],
				  .gid = (uint32_t)a->a[2] };

	return fd_setattr(t, a->a[0], &at, own_mask(a->a[1], a->a[2]));
}

long sys_fchownat(struct task *t, const struct sbx_syscall_args *a)
{
	struct sbx_fs_attr at = { .size = sizeof(at), .uid = (uint32_t)a->a[2],
				  .gid = (uint32_t)a->a[3] };

	if (a->a[4] & ~(uint64_t)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	return setattr_at(t, (int)a->a[0], a->a[1], (int)a->a[4], &at,
			  own_mask(a->a[2], a->a[3]));
}

/*
 * set_times - the common end of utimensat, utimes, futimesat and utime:
 * @ts (NULL: both now; UTIME_NOW/UTIME_OMIT honoured) on @dirfd/@upath,
 * or on the fd @dirfd itself when @upath is 0 (futimens).
 */
static long set_times(struct task *t, int dirfd, uint64_t upath, int flags,
		      const struct k_timespec *ts)
{
	struct sbx_fs_attr at = { .size = sizeof(at) };
	struct timespec now;
	uint32_t mask = 0;

	clock_gettime(CLOCK_REALTIME, &now);
	for (int i = 0; i < 2; i++) {
		long nsec = ts ? ts[i].tv_nsec : UTIME_NOW;
		int64_t v;

		if (nsec == UTIME_OMIT)
			continue;
		if (nsec == UTIME_NOW)
			v = now.tv_sec * 1000000000LL + now.tv_nsec;
		else if (nsec < 0 || nsec >= 1000000000)
			return -EINVAL;
		else
			v = ts[i].tv_sec * 1000000000LL + nsec;
		if (i == 0)
			at.atime_ns = v, mask |= SBX_FS_ATTR_ATIME;
		else
			at.mtime_ns = v, mask |= SBX_FS_ATTR_MTIME;
	}
	if (!mask)
		return 0;
	if (!upath) /* futimens: utimensat(fd, NULL, ...) */
		return fd_setattr(t, (uint64_t)dirfd, &at, mask);
	return setattr_at(t, dirfd, upath, flags, &at, mask);
}

long sys_utimensat(struct task *t, const struct sbx_syscall_args *a)
{
	struct k_timespec ts[2];

	if (a->a[3] & ~(uint64_t)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	if (a->a[2] && mm_copy_in(&t->proc->mm, ts, a->a[2], sizeof(ts)))
		return -EFAULT;
	return set_times(t, (int)a->a[0], a->a[1], (int)a->a[3],
			 a->a[2] ? ts : NULL);
}

/* timeval_times - utimes/futimesat's struct timeval[2], or NULL for now;
 * microseconds out of range are EINVAL. */
static long timeval_times(struct task *t, int dirfd, uint64_t upath,
			  uint64_t utv)
{
	struct { int64_t sec, usec; } tv[2];
	struct k_timespec ts[2];

	if (!utv)
		return set_times(t, dirfd, upath, 0, NULL);
	if (mm_copy_in(&t->proc->mm, tv, utv, sizeof(tv)))
		return -EFAULT;
	for (int i = 0; i < 2; i++) {
		if (tv[i].usec < 0 || tv[i].usec >= 1000000)
			return -EINVAL;
		ts[i].tv_sec = tv[i].sec;
		ts[i].tv_nsec = tv[i].usec * 1000;
	}
	return set_times(t, dirfd, upath, 0, ts);
}

long sys_utimes(struct task *t, const struct sbx_syscall_args *a)
{
	return timeval_times(t, AT_FDCWD_, a->a[0], a->a[1]);
}

long sys_futimesat(struct task *t, const struct sbx_syscall_args *a)
{
	return timeval_times(t, (int)a->a[0], a->a[1], a->a[2]);
}

long sys_utime(struct task *t, const struct sbx_syscall_args *a)
{
	struct { int64_t actime, modtime; } ub;
	struct k_timespec ts[2];

	if (!a->a[1])
		return set_times(t, AT_FDCWD_, a->a[0], 0, NULL);
	if (mm_copy_in(&t->proc->mm, &ub, a->a[1], sizeof(ub)))
		return -EFAULT;
	ts[0] = (struct k_timespec){ ub.actime, 0 };
	ts[1] = (struct k_timespec){ ub.modtime, 0 };
	return set_times(t, AT_FDCWD_, a->a[0], 0, ts);
}

long sys_truncate(struct task *t, const struct sbx_syscall_args *a)
{
	struct sbx_fs_attr at = { .size = sizeof(at), .size_bytes = a->a[1] };
	struct vfs_path p;
	struct file *f;
	long r;

	if ((int64_t)a->a[1] < 0)
		return -EINVAL;
	r = resolve(t, AT_FDCWD_, a->a[0], 0, &p, &f);
	if (r)
		return r;
	if (S_ISDIR(p.d->mode))
		r = -EISDIR;
	else if (!S_ISREG(p.d->mode))
		r = -EINVAL;
	else if (p.mnt->ops != &tmpfs_ops) {
		/* host files: open for writing and truncate the host fd */
		struct file *w;

		r = vfs_open_path(&p, O_WRONLY, &w);
		if (!r) {
			r = w->ops->truncate ? w->ops->truncate(w, a->a[1]) : -EINVAL;
			file_put(w);
		}
	} else {
		r = vfs_setattr(&p, &at, SBX_FS_ATTR_SIZE);
	}
	vfs_path_put(&p);
	return r;
}

/* ---- statfs ---- */

static long statfs_out(struct task *t, const struct vfs_path *p, uint64_t buf)
{
	struct statfs st;
	long r = vfs_statfs(p, &st);

	return r ? r : mm_copy_out(&t->proc->mm, buf, &st, sizeof(st));
}

long sys_statfs(struct task *t, const struct sbx_syscall_args *a)
{
	struct vfs_path p;
	struct file *f;
	long r = resolve(t, AT_FDCWD_, a->a[0], 0, &p, &f);

	if (r)
		return r;
	r = statfs_out(t, &p, a->a[1]);
	vfs_path_put(&p);
	return r;
}

long sys_fstatfs(struct task *t, const struct sbx_syscall_args *a)
{
	struct file *f = a->a[0] > INT_MAX ? NULL
			 : fd_get(t->proc->files, (int)a->a[0]);
	struct statfs st;
	long r;

	if (!f)
		return -EBADF;
	if (f->path.d) {
		r = statfs_out(t, &f->path, a->a[1]);
	} else {
		/* pipes and inherited stdio: pipefs-like answers */
		memset(&st, 0, sizeof(st));
		st.f_type = 0x50495045; /* PIPEFS_MAGIC */
		st.f_bsize = 4096;
		st.f_namelen = 255;
		r = mm_copy_out(&t->proc->mm, a->a[1], &st, sizeof(st));
	}
	file_put(f);
	return r;
}

/* ---- extended attributes: none are stored yet ---- */

/* xattr_path - check the path exists as Linux would, then answer @ret. */
static long xattr_path(struct task *t, uint64_t upath, int atflags, long ret)
{
	struct vfs_path p;
	struct file *f;
	long r = resolve(t, AT_FDCWD_, upath, atflags, &p, &f);

	if (r)
		return r;
	vfs_path_put(&p);
	return ret;
}

static long xattr_fd(struct task *t, uint64_t fd, long ret)
{
	struct file *f = fd > INT_MAX ? NULL : fd_get(t->proc->files, (int)fd);

	if (!f)
		return -EBADF;
	file_put(f);
	return ret;
}

long sys_getxattr(struct task *t, const struct sbx_syscall_args *a)
{
	return xattr_path(t, a->a[0], 0, -ENODATA);
}

long sys_lgetxattr(struct task *t, const struct sbx_syscall_args *a)
{
	return xattr_path(t, a->a[0], AT_SYMLINK_NOFOLLOW, -ENODATA);
}

long sys_fgetxattr(struct task *t, const struct sbx_syscall_args *a)
{
	return xattr_fd(t, a->a[0], -ENODATA);
}

long sys_listxattr(struct task *t, const struct sbx_syscall_args *a)
{
	return xattr_path(t, a->a[0], 0, 0);
}

long sys_llistxattr(struct task *t, const struct sbx_syscall_args *a)
{
	return xattr_path(t, a->a[0], AT_SYMLINK_NOFOLLOW, 0);
}

long sys_flistxattr(struct task *t, const struct sbx_syscall_args *a)
{
	return xattr_fd(t, a->a[0], 0);
}

long sys_setxattr(struct task *t, const struct sbx_syscall_args *a)
{
	return xattr_path(t, a->a[0], 0, -EOPNOTSUPP);
}

long sys_lsetxattr(struct task *t, const struct sbx_syscall_args *a)
{
	return xattr_path(t, a->a[0], AT_SYMLINK_NOFOLLOW, -EOPNOTSUPP);
}

long sys_fsetxattr(struct task *t, const struct sbx_syscall_args *a)
{
	return xattr_fd(t, a->a[0], -EOPNOTSUPP);
}

long sys_removexattr(struct task *t, const struct sbx_syscall_args *a)
{
	return xattr_path(t, a->a[0], 0, -ENODATA);
}

long sys_lremovexattr(struct task *t, const struct sbx_syscall_args *a)
{
	return xattr_path(t, a->a[0], AT_SYMLINK_NOFOLLOW, -ENODATA);
}

long sys_fremovexattr(struct task *t, const struct sbx_syscall_args *a)
{
	return xattr_fd(t, a->a[0], -ENODATA);
}
