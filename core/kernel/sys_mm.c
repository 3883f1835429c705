/*
 * Memory syscalls: argument checks in Linux's order, then the memory
 * manager (core/mm/mm.c) does the work.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "../mm/memfile.h"
#include "../mm/mfile.h"
#include "fdtable.h"
#include "ipc.h"
#include "kernel.h"

#ifndef PROT_SEM
#define PROT_SEM 0x8
#endif
#define PROT_VALID (PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)
#define MAP_TYPE_MASK 0x0f
#define MAP_KNOWN                                                          \
	(MAP_TYPE_MASK | MAP_FIXED | MAP_ANONYMOUS | MAP_GROWSDOWN |      \
	 MAP_DENYWRITE | MAP_EXECUTABLE | MAP_LOCKED | MAP_NORESERVE |     \
	 MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB | MAP_SYNC | \
	 MAP_FIXED_NOREPLACE | (0x3fu << 26) /* huge page size bits */)

int file_mfile(struct fs_context *fs, struct file *f, uint64_t need,
	       struct mfile **out)
{
	int hfl = fcntl(f->host_fd, F_GETFL);
	struct mfile *mf, *old;
	struct k_stat st;
	bool writable, deleted;
	char *path;
	int r;

	if (hfl < 0)
		return -errno;
	/* both sides must agree the file is open for writing */
	writable = (f->flags & O_ACCMODE) == O_RDWR &&
		   (hfl & O_ACCMODE) == O_RDWR;
	pthread_mutex_lock(&f->pos_lock);
	mf = f->mapped;
	if (mf && mf->vlen >= need && mf->writable == writable) {
		mfile_get(mf);
		pthread_mutex_unlock(&f->pos_lock);
		*out = mf;
		return 0;
	}
	pthread_mutex_unlock(&f->pos_lock);
	r = f->ops->stat ? f->ops->stat(f, &st) : -ENODEV;
	if (r)
		return r;
	path = malloc(PATH_MAX);
	if (!path)
		return -ENOMEM;
	if (vfs_d_path(fs, &f->path, path, PATH_MAX, &deleted) < 0)
		path[0] = 0;
	/* the whole file, so that later mmaps of it share the view */
	if ((uint64_t)st.st_size > need)
		need = PAGE_UP((uint64_t)st.st_size);
	r = mfile_new(f->host_fd, writable, need, st.st_dev, st.st_ino, path,
		      &mf);
	free(path);
	if (r)
		return r;
	mfile_get(mf);
	pthread_mutex_lock(&f->pos_lock);
	old = f->mapped;
	f->mapped = mf;
	pthread_mutex_unlock(&f->pos_lock);
	mfile_put(old);
	*out = mf;
	return 0;
}

/*
 * mmap_place - MAP_FIXED_NOREPLACE wins over MAP_FIXED, as in Linux's
 * do_mmap; without either the address is a hint.  The mm chooses and maps
 * under one lock hold (threads mapping at once get distinct ranges).
 */
static enum mm_place mmap_place(int flags)
{
	if (flags & MAP_FIXED_NOREPLACE)
		return MM_PLACE_NOREPLACE;
	if (flags & MAP_FIXED)
		return MM_PLACE_FIXED;
	return MM_PLACE_HINT;
}

/*
 * mmap_file - file mappings.  Host files (the gofer's donated fds) are
 * mapped for real: the platform maps the host fd, MAP_SHARED coherent with
 * write() and other mappings, MAP_PRIVATE copy-on-write into the memory
 * file (core/mm/mm.c).  MAP_SHARED of a tmpfs file maps the file's own
 * memory-file pages (coherent with read/write, shared across processes:
 * /dev/shm, sem_open).  Other files (tmpfs MAP_PRIVATE, providers without
 * a host fd) are served by copying: fresh anonymous memory filled through
 * the file's read op, exact for MAP_PRIVATE; MAP_SHARED of those is
 * accepted only without PROT_WRITE (a snapshot), else -ENODEV.
 */
static long mmap_file(struct task *t, const struct sbx_syscall_args *a)
{
	struct mm *mm = &t->proc->mm;
	uint64_t addr = a->a[0], len = a->a[1], off = a->a[5];
	int prot = (int)a->a[2] & (PROT_READ | PROT_WRITE | PROT_EXEC);
	int flags = (int)a->a[3], type = flags & MAP_TYPE_MASK;
	struct file *f = (int)a->a[4] < 0 ? NULL
			 : fd_get(t->proc->files, (int)a->a[4]);
	char *buf = NULL;
	long r;

	if (!f)
		return -EBADF;
	r = -EINVAL;
	if (len == 0)
		goto out;
	r = -EOPNOTSUPP;
	if (type == MAP_SHARED_VALIDATE && (flags & ~MAP_KNOWN))
		goto out;
	r = -EINVAL;
	if (type != MAP_SHARED && type != MAP_PRIVATE &&
	    type != MAP_SHARED_VALIDATE)
		goto out;
	r = -EACCES;
	if ((f->flags & O_PATH) || (f->flags & O_ACCMODE) == O_WRONLY)
		goto out;
	r = -ENODEV;
	if (!f->path.d || !S_ISREG(f->path.d->mode) || !f->ops->read)
		goto out;
	/* the tmpfs node whose pages a MAP_SHARED maps: a tmpfs file, or
	 * the upper (tmpfs) copy of an overlay file; lower-only overlay
	 * files are host files (a snapshot, and opening one for writing
	 * copies it up) */
	struct sbx_fs_node *tnode = NULL;

	if (type != MAP_PRIVATE && f->path.mnt && f->path.d->node)
		tnode = f->path.mnt->ops == &tmpfs_ops ? f->path.d->node
			: f->path.mnt->ops == &overlay_ops
			? overlay_upper(f->path.d->node) : NULL;
	bool tmpfs_shared = tnode != NULL;
	/* a file the gofer donated: mapped through its host fd */
	bool host = !tmpfs_shared && f->host_fd >= 0 && f->path.mnt;

	if (type != MAP_PRIVATE && (prot & PROT_WRITE) &&
	    (f->flags & O_ACCMODE) == O_RDONLY) {
		r = -EACCES;
		goto out;
	}
	if (type != MAP_PRIVATE && (prot & PROT_WRITE) && !tmpfs_shared &&
	    !host) {
		r = -ENODEV;
		goto out;
	}
	/* F_SEAL_WRITE, F_SEAL_FUTURE_WRITE refuse shared writable maps */
	if (tmpfs_shared && (prot & PROT_WRITE)) {
		int seals = tmpfs_seals(tnode, false, 0);

		r = -EPERM;
		if (seals > 0 && (seals & 0x18))
			goto out;
	}
	len = PAGE_UP(len);
	r = -ENOMEM;
	if (len == 0 || len > mm->user_max)
		goto out;
	if (off + len < off) {
		r = -EOVERFLOW;
		goto out;
	}
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		r = -EINVAL;
		if (addr & (PAGE_SIZE - 1))
			goto out;
		r = -ENOMEM;
		if (addr + len > mm->user_max || addr + len < addr)
			goto out;
		r = -EPERM;
		if (addr < mm->user_min)
			goto out;
		/* early for errno order; mapping checks again, locked */
		r = -EEXIST;
		if (mmap_place(flags) == MM_PLACE_NOREPLACE &&
		    !mm_range_free(mm, addr, len))
			goto out;
	}
	if (host) {
		struct mfile *mf = NULL;

		r = file_mfile(t->proc->fs, f, off + len, &mf);
		if (r)
			goto out;
		r = mm_map_file_placed(mm, &addr, len, prot, mf, off,
				       type != MAP_PRIVATE,
				       type == MAP_PRIVATE &&
					       (prot & PROT_WRITE) &&
					       len <= FILE_COPY_NOW,
				       mmap_place(flags));
		mfile_put(mf);
		r = r ? r : (long)addr;
		goto out;
	}
	if (tmpfs_shared) {
		uint64_t moff;

		r = tmpfs_map_pages(tnode, off, len, &moff);
		if (r)
			goto out;
		r = mm_map_shared_placed(mm, &addr, len, prot, moff,
					 (f->flags & O_ACCMODE) == O_RDWR,
					 mmap_place(flags));
		if (r)
			memfile_unref(moff, len);
		r = r ? r : (long)addr;
		goto out;
	}
	r = mm_map_anon_placed(mm, &addr, len, PROT_READ | PROT_WRITE, 0,
			       mmap_place(flags));
	if (r)
		goto out;
	buf = malloc(1 << 20);
	r = -ENOMEM;
	if (!buf)
		goto out_unmap;
	for (uint64_t at = 0; at < len;) {
		size_t want = len - at < (1 << 20) ? len - at : (1 << 20);
		ssize_t n = f->ops->read(f, buf, want, (int64_t)(off + at));

		if (n == -EINTR)
			continue;
		if (n < 0) {
			r = n;
			goto out_unmap;
		}
		if (n == 0)
			break;
		r = mm_poke(mm, addr + at, buf, (size_t)n);
		if (r)
			goto out_unmap;
		at += (uint64_t)n;
	}
	r = mm_protect(mm, addr, len, prot);
	if (r)
		goto out_unmap;
	r = (long)addr;
	goto out;
out_unmap:
	mm_unmap(mm, addr, len);
out:
	free(buf);
	file_put(f);
	return r;
}

static long do_mmap(struct task *t, const struct sbx_syscall_args *a)
{
	struct mm *mm = &t->proc->mm;
	uint64_t addr = a->a[0], len = a->a[1], off = a->a[5];
	int prot = (int)a->a[2], flags = (int)a->a[3];
	unsigned vflags = 0;
	int type = flags & MAP_TYPE_MASK;
	int r;

	if (off & (PAGE_SIZE - 1))
		return -EINVAL;
	if (!(flags & MAP_ANONYMOUS))
		return mmap_file(t, a);
	if (len == 0)
		return -EINVAL;
	/* anonymous: only MAP_SHARED or MAP_PRIVATE (not _VALIDATE), and
	 * no shared stack */
	if (type != MAP_SHARED && type != MAP_PRIVATE)
		return -EINVAL;
	if (type == MAP_SHARED && (flags & MAP_GROWSDOWN))
		return -EINVAL;
	/* unknown prot bits are ignored by mmap (only mprotect checks) */
	prot &= PROT_READ | PROT_WRITE | PROT_EXEC;
	if (flags & MAP_HUGETLB)
		return -ENOMEM; /* as a kernel without huge pages reserved */
	len = PAGE_UP(len);
	if (len == 0 || len > mm->user_max)
		return -ENOMEM;
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if (addr & (PAGE_SIZE - 1))
			return -EINVAL;
		if (addr + len > mm->user_max || addr + len < addr)
			return -ENOMEM;
		if (addr < mm->user_min)
			return -EPERM; /* below mmap_min_addr */
	}
	if (type != MAP_PRIVATE)
		vflags |= VMA_SHARED;
	if (flags & MAP_GROWSDOWN)
		vflags |= VMA_GROWSDOWN;
	r = mm_map_anon_placed(mm, &addr, len, prot, vflags, mmap_place(flags));
	return r ? r : (long)addr;
}

long sys_mmap(struct task *t, const struct sbx_syscall_args *a)
{
	long r = do_mmap(t, a);

	/* MAP_FIXED may have replaced a System V shm attachment */
	if (r >= 0 && ((int)a->a[3] & MAP_FIXED))
		ipc_unmapped(t->proc, (uint64_t)r, PAGE_UP(a->a[1]));
	return r;
}

long sys_munmap(struct task *t, const struct sbx_syscall_args *a)
{
	struct mm *mm = &t->proc->mm;
	uint64_t addr = a->a[0], len = PAGE_UP(a->a[1]);
	int r;

	if ((addr & (PAGE_SIZE - 1)) || a->a[1] == 0 || len == 0)
		return -EINVAL;
	if (addr > K_TASK_SIZE || len > K_TASK_SIZE - addr)
		return -EINVAL;
	/* nothing of the application lies above user_max */
	if (addr >= mm->user_max)
		return 0;
	if (addr + len > mm->user_max)
		len = mm->user_max - addr;
	r = mm_unmap(mm, addr, len);
	if (!r) /* a System V shm attachment unmapped without shmdt */
		ipc_unmapped(t->proc, addr, len);
	return r;
}

long sys_mprotect(struct task *t, const struct sbx_syscall_args *a)
{
	uint64_t addr = a->a[0], len = PAGE_UP(a->a[1]);
	int prot = (int)a->a[2];

	if (addr & (PAGE_SIZE - 1))
		return -EINVAL;
	if (prot & ~(PROT_VALID | PROT_GROWSDOWN | PROT_GROWSUP))
		return -EINVAL;
	if (a->a[1] == 0)
		return 0;
	if (len == 0 || addr + len < addr)
		return -ENOMEM;
	return mm_protect(&t->proc->mm, addr, len,
			  prot & (PROT_READ | PROT_WRITE | PROT_EXEC));
}

long sys_brk(struct task *t, const struct sbx_syscall_args *a)
{
	return (long)mm_brk(&t->proc->mm, a->a[0]);
}

long sys_mremap(struct task *t, const struct sbx_syscall_args *a)
{
	uint64_t old = a->a[0], old_len = PAGE_UP(a->a[1]);
	uint64_t new_len = PAGE_UP(a->a[2]), new_addr = a->a[4];
	int flags = (int)a->a[3];

	if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP))
		return -EINVAL;
	if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE))
		return -EINVAL;
	if (flags & MREMAP_DONTUNMAP)
		return -EINVAL; /* not supported yet */
	if (old & (PAGE_SIZE - 1))
		return -EINVAL;
	if ((flags & MREMAP_FIXED) && (new_addr & (PAGE_SIZE - 1)))
		return -EINVAL;
	if (new_len == 0)
		return -EINVAL;
	if (old_len == 0)
		return -EINVAL; /* duplicating shared mappings: not supported */
	return mm_remap(&t->proc->mm, old, old_len, new_len, flags, new_addr);
}

long sys_madvise(struct task *t, const struct sbx_syscall_args *a)
{
	struct mm *mm = &t->proc->mm;
	uint64_t addr = a->a[0], len = PAGE_UP(a->a[1]);
	int advice = (int)a->a[2];

	if (addr & (PAGE_SIZE - 1))
		return -EINVAL;
	switch (advice) {
	case MADV_NORMAL: case MADV_RANDOM: case MADV_SEQUENTIAL:
	case MADV_WILLNEED: case MADV_DONTNEED: case MADV_FREE:
	case MADV_DONTFORK: case MADV_DOFORK: case MADV_MERGEABLE:
	case MADV_UNMERGEABLE: case MADV_HUGEPAGE: case MADV_NOHUGEPAGE:
	case MADV_DONTDUMP: case MADV_DODUMP: case MADV_WIPEONFORK:
	case MADV_KEEPONFORK: case MADV_COLD: case MADV_PAGEOUT:
		break;
	default:
		return -EINVAL;
	}
	if (len == 0)
		return 0;
	if (addr + len < addr)
		return -EINVAL;
	if (advice == MADV_DONTNEED || advice == MADV_FREE) {
		pthread_mutex_lock(&mm->lock);
		struct vma *v = mm_find_vma(mm, addr);
		int mapped = v != NULL;
		pthread_mutex_unlock(&mm->lock);

		if (!mapped)
			return -ENOMEM;
		return mm_zero(mm, addr, len);
	}
	return 0;
}

/* ---- msync and locking: memory is always resident here ---- */

/* range_ok - an aligned, wholly mapped range (msync, mlock): EINVAL for
 * a misaligned start, ENOMEM for holes, as Linux. */
static long range_ok(struct task *t, uint64_t addr, uint64_t len)
{
	if (addr & (PAGE_SIZE - 1))
		return -EINVAL;
	len = PAGE_UP(len);
	if (addr + len < addr)
		return -ENOMEM;
	return !len || mm_mapped(&t->proc->mm, addr, len) ? 0 : -ENOMEM;
}

long sys_msync(struct task *t, const struct sbx_syscall_args *a)
{
	int flags = (int)a->a[2];

	if (flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE))
		return -EINVAL;
	if ((flags & MS_ASYNC) && (flags & MS_SYNC))
		return -EINVAL;
	/* shared mappings are the file's own pages (the memory file's, or a
	 * host file's page cache, which the host writes back): nothing to
	 * write back here */
	return range_ok(t, a->a[0], a->a[1]);
}

long sys_mlock(struct task *t, const struct sbx_syscall_args *a)
{
	return range_ok(t, PAGE_DOWN(a->a[0]), a->a[1] + (a->a[0] & (PAGE_SIZE - 1)));
}

long sys_munlock(struct task *t, const struct sbx_syscall_args *a)
{
	return sys_mlock(t, a);
}

long sys_mlock2(struct task *t, const struct sbx_syscall_args *a)
{
	if (a->a[2] & ~(uint64_t)MLOCK_ONFAULT)
		return -EINVAL;
	return sys_mlock(t, a);
}

long sys_mlockall(struct task *t, const struct sbx_syscall_args *a)
{
	uint64_t f = a->a[0];

	if (!f || (f & ~(uint64_t)(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) ||
	    f == MCL_ONFAULT)
		return -EINVAL;
	return 0;
}

long sys_munlockall(struct task *t, const struct sbx_syscall_args *a)
{
	return 0;
}
