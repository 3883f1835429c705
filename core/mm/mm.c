/*
 * The memory manager (see mm.h).
 *
 * Divided into: the VMA array (find, split, insert, remove, merge), memory
 * accounting, the operations behind mmap/munmap/mprotect/mremap/brk and
 * MADV_DONTNEED, fault handling (stack growth, si_code), and checked
 * copies between core and application memory through the memory file.
 *
 * Every anonymous VMA owns the memory-file range [off, off + len); a split
 * hands each half its part, and an unmapped part is freed.  Adjacent VMAs
 * merge only when their file offsets are contiguous, so the platform's
 * mappings never need to change on a merge.
 *
 * Fork is copy-on-write: the child's VMAs name the parent's memory-file
 * pages (the memory file counts the extra owners), both sides are marked
 * VMA_COW and mapped without write access.  A write fault (or a core copy
 * into the range) then either takes the pages back in place, when no one
 * else holds them any more, or copies a chunk to fresh pages; ranges that
 * were never touched are not shared at all: the child gets fresh memory.
 *
 * File VMAs (VMA_FILE) map a host file (struct mfile): MAP_SHARED ones the
 * file's own pages, private ones the file's pages without write access;
 * the first write (a fault, or a core copy into the range) copies a chunk
 * into the memory file (VMA_COPIED), after which it is private memory
 * like any other, copy-on-write across fork.  The core reaches file pages
 * through the mfile's view, with copies that survive the file shrinking.
 * A fork shares file VMAs as they are (shared ones stay shared; private
 * file pages are never written in place, so nothing needs write-protecting).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include <sbx/platform.h>

#include "memfile.h"
#include "mfile.h"
#include "mm.h"

#define STACK_GUARD_GAP (256 * PAGE_SIZE) /* as Linux's stack_guard_gap */
#define COW_CHUNK (16 * PAGE_SIZE) /* copied per fault: sequential writers
				      fault once per 64 KiB, not per page */
#define FORK_HOLE_MERGE (16 * PAGE_SIZE) /* smaller holes between touched
					    runs are shared too (fewer VMAs) */

/* ---- VMA array ---- */

/* in_memfile - the VMA's pages are memory-file pages at @off */
static bool in_memfile(const struct vma *v)
{
	return !(v->flags & VMA_FILE) || (v->flags & VMA_COPIED);
}

/* file_pages - a private file VMA whose pages are still the file's */
static bool file_pages(const struct vma *v)
{
	return (v->flags & (VMA_FILE | VMA_SHARED | VMA_COPIED)) == VMA_FILE;
}

/* first_above - index of the first VMA whose end is above @addr. */
static size_t first_above(struct mm *mm, uint64_t addr)
{
	size_t lo = 0, hi = mm->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (mm->v[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct vma *mm_find_vma(struct mm *mm, uint64_t addr)
{
	size_t i = first_above(mm, addr);

	if (i < mm->n && mm->v[i].start <= addr)
		return &mm->v[i];
	return NULL;
}

struct vma *mm_next_vma(struct mm *mm, uint64_t addr)
{
	size_t i = first_above(mm, addr);

	return i < mm->n ? &mm->v[i] : NULL;
}

bool mm_shared_key(struct mm *mm, uint64_t addr, uint64_t *dev, uint64_t *ino,
		   uint64_t *off)
{
	struct vma *v;
	bool shared;

	pthread_mutex_lock(&mm->lock);
	v = mm_find_vma(mm, addr);
	shared = v && (v->flags & VMA_SHARED);
	if (shared && (v->flags & VMA_FILE)) {
		*dev = v->mf->dev;
		*ino = v->mf->ino;
		*off = v->foff + (addr - v->start);
	} else if (shared) {
		*dev = *ino = 0;
		*off = v->off + (addr - v->start);
	}
	pthread_mutex_unlock(&mm->lock);
	return shared;
}

static int reserve(struct mm *mm, size_t extra)
{
	struct vma *n;
	size_t cap;

	if (mm->n + extra <= mm->cap)
		return 0;
	cap = mm->cap ? mm->cap * 2 : 32;
	while (cap < mm->n + extra)
		cap *= 2;
	n = realloc(mm->v, cap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	mm->v = n;
	mm->cap = cap;
	return 0;
}

/* split_at - make @addr a VMA boundary if it falls inside one. */
static int split_at(struct mm *mm, uint64_t addr)
{
	size_t i = first_above(mm, addr);
	struct vma *a;

	if (i == mm->n || mm->v[i].start >= addr)
		return 0;
	if (reserve(mm, 1))
		return -ENOMEM;
	a = &mm->v[i];
	memmove(a + 1, a, (mm->n - i) * sizeof(*a));
	mm->n++;
	a[0].end = addr;
	a[1].start = addr;
	a[1].off = a[0].off + (addr - a[0].start);
	a[1].foff = a[0].foff + (addr - a[0].start);
	if (a[1].mf)
		mfile_get(a[1].mf);
	return 0;
}

/* mergeable - one VMA could hold both without any mapping changing */
static int mergeable(const struct vma *a, const struct vma *b)
{
	uint64_t len = a->end - a->start;

	if (a->end != b->start || a->prot != b->prot || a->flags != b->flags ||
	    a->mf != b->mf)
		return 0;
	if ((a->flags & VMA_FILE) && a->foff + len != b->foff)
		return 0;
	return !in_memfile(a) || a->off + len == b->off;
}

/* merge_around - merge the VMAs touching [lo, hi) where possible. */
static void merge_around(struct mm *mm, uint64_t lo, uint64_t hi)
{
	size_t i = first_above(mm, lo ? lo - 1 : 0);

	while (i + 1 < mm->n && mm->v[i].start <= hi) {
		if (mergeable(&mm->v[i], &mm->v[i + 1])) {
			mm->v[i].end = mm->v[i + 1].end;
			mfile_put(mm->v[i + 1].mf); /* NULL for anonymous */
			memmove(&mm->v[i + 1], &mm->v[i + 2],
				(mm->n - i - 2) * sizeof(mm->v[0]));
			mm->n--;
		} else {
			i++;
		}
	}
}

static uint64_t accounted(const struct vma *v)
{
	/* MAP_SHARED file pages are the file's, not anonymous memory;
	 * private file mappings are charged like anonymous memory, which
	 * they become when written */
	if ((v->flags & VMA_SPECIAL) ||
	    (v->flags & (VMA_FILE | VMA_SHARED)) == (VMA_FILE | VMA_SHARED))
		return 0;
	return v->prot != PROT_NONE ? v->end - v->start : 0;
}

/* release - give back the memory a VMA owns (special ones own none);
 * pages another address space still holds stay with it. */
static void release(const struct vma *v)
{
	if (v->flags & VMA_SPECIAL)
		return;
	if (v->flags & VMA_FILE) {
		if ((v->flags & (VMA_COPIED | VMA_COW)) == VMA_COPIED)
			memfile_free(v->off, v->end - v->start);
		else if (v->flags & VMA_COPIED)
			memfile_unref(v->off, v->end - v->start);
		mfile_put(v->mf);
		return;
	}
	if (v->flags & (VMA_COW | VMA_SHARED))
		memfile_unref(v->off, v->end - v->start);
	else
		memfile_free(v->off, v->end - v->start);
}

/* host_prot - what the platform maps: copy-on-write pages (and private
 * file pages not yet copied) read-only. */
static int host_prot(const struct vma *v)
{
	return (v->flags & VMA_COW) || file_pages(v) ? v->prot & ~PROT_WRITE
						      : v->prot;
}

/* be_map_vma - mirror VMA @v in the platform at @at (its start, or where
 * mremap moves it). */
static int be_map_vma(struct mm *mm, const struct vma *v, uint64_t at)
{
	uint64_t len = v->end - v->start;

	if (in_memfile(v))
		return mm->be.map(mm->be.as, at, len, host_prot(v),
				  memfile_fd(), v->off, SBX_MAP_SHARED);
	return mm->be.map(mm->be.as, at, len, host_prot(v), v->mf->fd, v->foff,
			  v->flags & VMA_SHARED ? SBX_MAP_SHARED
						: SBX_MAP_PRIVATE);
}

/* insert - put @v (whose range is free) in order; room is reserved. */
static void insert(struct mm *mm, const struct vma *v)
{
	size_t i = first_above(mm, v->start);

	memmove(&mm->v[i + 1], &mm->v[i], (mm->n - i) * sizeof(*v));
	mm->v[i] = *v;
	mm->n++;
}

/* remove_range - drop VMAs in [addr, addr+len) and free their memory. */
static int remove_range(struct mm *mm, uint64_t addr, uint64_t len)
{
	uint64_t end = addr + len;
	size_t i, j;

	if (split_at(mm, addr) || split_at(mm, end))
		return -ENOMEM;
	i = first_above(mm, addr);
	for (j = i; j < mm->n && mm->v[j].start < end; j++) {
		mm->committed -= accounted(&mm->v[j]);
		release(&mm->v[j]);
	}
	memmove(&mm->v[i], &mm->v[j], (mm->n - j) * sizeof(mm->v[0]));
	mm->n -= j - i;
	return 0;
}

/* ---- setup ---- */

int mm_init(struct mm *mm, uint64_t user_min, uint64_t user_max,
	    uint64_t limit, const struct mm_backend *be)
{
	memset(mm, 0, sizeof(*mm));
	pthread_mutex_init(&mm->lock, NULL);
	mm->user_min = user_min;
	mm->user_max = user_max;
	mm->mmap_base = user_max;
	mm->stack_max = 8ULL << 20;
	mm->limit = limit;
	mm->be = *be;
	return 0;
}

void mm_destroy(struct mm *mm)
{
	for (size_t i = 0; i < mm->n; i++)
		release(&mm->v[i]);
	free(mm->v);
	mm->v = NULL;
	mm->n = mm->cap = 0;
	pthread_mutex_destroy(&mm->lock);
}

/*
 * fork_private - give @dst its view of @src's private VMA @i: the touched
 * runs shared copy-on-write (and marked so in @src, write-protected
 * through its backend), untouched runs as fresh memory.  Return: 0 or
 * -ENOMEM; *@next is the index of the VMA after the ones @i became.
 */
static int fork_private(struct mm *dst, struct mm *src, size_t i, size_t *next)
{
	struct vma v = src->v[i];
	uint64_t at = v.start;

#define OFF(addr) (v.off + ((addr) - v.start))
#define VA(o) (v.start + ((o) - v.off))
	while (at < v.end) {
		uint64_t d = VA(memfile_next_data(OFF(at), OFF(v.end))), e;
		struct vma c = v;
		int r;

		if (d > at) {
			/* untouched: the child's own fresh pages */
			c.start = at;
			c.end = d;
			c.foff = v.foff + (at - v.start);
			c.flags &= ~VMA_COW;
			if (reserve(dst, 1) || memfile_alloc(d - at, &c.off))
				return -ENOMEM;
			if (c.mf)
				mfile_get(c.mf);
			dst->v[dst->n++] = c;
			at = d;
			continue;
		}
		/* a touched run, extended over holes too short to matter */
		e = at;
		for (;;) {
			e = VA(memfile_next_hole(OFF(e), OFF(v.end)));
			if (e >= v.end)
				break;
			d = VA(memfile_next_data(OFF(e), OFF(v.end)));
			if (d - e >= FORK_HOLE_MERGE)
				break;
			e = d;
		}
		if (reserve(dst, 1) || reserve(src, 2))
			return -ENOMEM;
		c.start = at;
		c.end = e;
		c.off = v.off + (at - v.start);
		c.foff = v.foff + (at - v.start);
		c.flags |= VMA_COW;
		memfile_share(c.off, e - at);
		if (c.mf)
			mfile_get(c.mf);
		dst->v[dst->n++] = c;
		if (!(v.flags & VMA_COW)) {
			split_at(src, at);
			split_at(src, e);
			mm_find_vma(src, at)->flags |= VMA_COW;
			if (v.prot & PROT_WRITE) {
				r = src->be.protect(src->be.as, at, e - at,
						    v.prot & ~PROT_WRITE);
				if (r)
					return r;
			}
		}
		at = e;
	}
#undef OFF
#undef VA
	*next = first_above(src, v.end - 1) + 1;
	return 0;
}

int mm_fork(struct mm *dst, struct mm *src)
{
	size_t i = 0;
	int r = 0;

	pthread_mutex_lock(&src->lock);
	while (i < src->n) {
		struct vma v = src->v[i];

		if (!(v.flags & (VMA_SPECIAL | VMA_SHARED)) && in_memfile(&v)) {
			r = fork_private(dst, src, i, &i);
			if (r)
				break;
			continue;
		}
		if (reserve(dst, 1)) {
			r = -ENOMEM;
			break;
		}
		/* file VMAs are shared as they are: private file pages are
		 * never written in place */
		if (v.mf)
			mfile_get(v.mf);
		else if (v.flags & VMA_SHARED)
			memfile_share(v.off, v.end - v.start);
		dst->v[dst->n++] = v;
		i++;
	}
	merge_around(src, 0, src->user_max);
	merge_around(dst, 0, dst->user_max);
	dst->committed = src->committed;
	dst->brk_start = src->brk_start;
	dst->brk = src->brk;
	dst->mmap_base = src->mmap_base;
	dst->stack_max = src->stack_max;
	dst->start_code = src->start_code;
	dst->end_code = src->end_code;
	dst->start_stack = src->start_stack;
	dst->arg_start = src->arg_start;
	dst->arg_end = src->arg_end;
	dst->env_start = src->env_start;
	dst->env_end = src->env_end;
	pthread_mutex_unlock(&src->lock);
	return r;
}

int mm_replay(struct mm *mm)
{
	int r = 0;

	pthread_mutex_lock(&mm->lock);
	for (size_t i = 0; i < mm->n && !r; i++)
		r = be_map_vma(mm, &mm->v[i], mm->v[i].start);
	pthread_mutex_unlock(&mm->lock);
	return r;
}

/* ---- placement ---- */

static int range_free(struct mm *mm, uint64_t addr, uint64_t len)
{
	size_t i = first_above(mm, addr);

	return i == mm->n || mm->v[i].start >= addr + len;
}

int mm_range_free(struct mm *mm, uint64_t addr, uint64_t len)
{
	int r;

	pthread_mutex_lock(&mm->lock);
	r = range_free(mm, addr, len);
	pthread_mutex_unlock(&mm->lock);
	return r;
}

/* top_down - highest free [x, x+len) with x+len <= below. */
static int top_down(struct mm *mm, uint64_t below, uint64_t len, uint64_t *out)
{
	uint64_t hi = below;
	size_t i = first_above(mm, below);

	/* walk gaps downwards: between v[i-1].end and hi */
	for (;;) {
		uint64_t lo = i > 0 ? mm->v[i - 1].end : mm->user_min;

		if (i > 0 && mm->v[i - 1].start >= hi) {
			i--;
			continue;
		}
		if (lo < mm->user_min)
			lo = mm->user_min;
		if (hi >= lo + len) {
			*out = hi - len;
			return 0;
		}
		if (i == 0)
			return -ENOMEM;
		hi = mm->v[i - 1].start;
		i--;
	}
}

static int get_unmapped(struct mm *mm, uint64_t hint, uint64_t len,
			uint64_t *out)
{
	if (len > mm->user_max - mm->user_min)
		return -ENOMEM;
	hint = PAGE_DOWN(hint);
	if (hint && hint >= mm->user_min && hint <= mm->user_max - len &&
	    range_free(mm, hint, len)) {
		*out = hint;
		return 0;
	}
	if (top_down(mm, mm->mmap_base, len, out) == 0)
		return 0;
	return top_down(mm, mm->user_max, len, out);
}

int mm_get_unmapped(struct mm *mm, uint64_t hint, uint64_t len, uint64_t *out)
{
	int r;

	pthread_mutex_lock(&mm->lock);
	r = get_unmapped(mm, hint, len, out);
	pthread_mutex_unlock(&mm->lock);
	return r;
}

/* ---- map, unmap, protect ---- */

/* map_vma - put @v (its memory already owned) in place of whatever is in
 * its range, charging the limit.  Return: 0 or -errno (@v not taken). */
static int map_vma(struct mm *mm, const struct vma *v)
{
	uint64_t addr = v->start, len = v->end - v->start;
	uint64_t charge = accounted(v);
	size_t i;
	int r;

	if (mm->limit && mm->committed + charge > mm->limit) {
		/* what would be released by replacing the old range counts */
		uint64_t old = 0;

		for (i = first_above(mm, addr);
		     i < mm->n && mm->v[i].start < addr + len; i++) {
			uint64_t s = mm->v[i].start > addr ? mm->v[i].start : addr;
			uint64_t e = mm->v[i].end < addr + len ? mm->v[i].end
								: addr + len;
			if (mm->v[i].prot != PROT_NONE)
				old += e - s;
		}
		if (mm->committed - old + charge > mm->limit)
			return -ENOMEM;
	}
	if (reserve(mm, 3))
		return -ENOMEM;
	r = remove_range(mm, addr, len);
	if (r)
		return r;
	r = be_map_vma(mm, v, addr);
	if (r) {
		/* the old range is gone from the VMAs: make the platform agree */
		mm->be.unmap(mm->be.as, addr, len);
		return r;
	}
	insert(mm, v);
	mm->committed += charge;
	merge_around(mm, addr, addr + len);
	return 0;
}

static int map_anon(struct mm *mm, uint64_t addr, uint64_t len, int prot,
		    unsigned vflags)
{
	struct vma v = { addr, addr + len, prot,
			 vflags & ~(VMA_COW | VMA_FILE | VMA_COPIED), 0 };
	int r;

	r = memfile_alloc(len, &v.off);
	if (r)
		return r;
	r = map_vma(mm, &v);
	if (r)
		memfile_free(v.off, len);
	return r;
}

int mm_map_anon(struct mm *mm, uint64_t addr, uint64_t len, int prot,
		unsigned vflags)
{
	int r;

	pthread_mutex_lock(&mm->lock);
	r = map_anon(mm, addr, len, prot, vflags);
	pthread_mutex_unlock(&mm->lock);
	return r;
}

/* place - choose where a mapping of @len goes (lock held). */
static int place(struct mm *mm, uint64_t *addr, uint64_t len,
		 enum mm_place how)
{
	if (how == MM_PLACE_FIXED)
		return 0;
	if (how == MM_PLACE_NOREPLACE)
		return range_free(mm, *addr, len) ? 0 : -EEXIST;
	return get_unmapped(mm, *addr, len, addr);
}

int mm_map_anon_placed(struct mm *mm, uint64_t *addr, uint64_t len, int prot,
		       unsigned vflags, enum mm_place how)
{
	int r;

	pthread_mutex_lock(&mm->lock);
	r = place(mm, addr, len, how);
	if (!r)
		r = map_anon(mm, *addr, len, prot, vflags);
	pthread_mutex_unlock(&mm->lock);
	return r;
}

int mm_map_shared_placed(struct mm *mm, uint64_t *addr, uint64_t len,
			 int prot, uint64_t off, bool maywrite,
			 enum mm_place how)
{
	struct vma v = { 0, 0, prot, VMA_SHARED | (maywrite ? 0 : VMA_NOWRITE),
			 off };
	int r;

	pthread_mutex_lock(&mm->lock);
	r = place(mm, addr, len, how);
	if (!r) {
		v.start = *addr;
		v.end = *addr + len;
		r = map_vma(mm, &v);
	}
	pthread_mutex_unlock(&mm->lock);
	return r;
}

int mm_map_shared(struct mm *mm, uint64_t addr, uint64_t len, int prot,
		  uint64_t off, bool maywrite)
{
	return mm_map_shared_placed(mm, &addr, len, prot, off, maywrite,
				    MM_PLACE_FIXED);
}

int mm_map_special(struct mm *mm, uint64_t addr, uint64_t len, int prot,
		   uint64_t off)
{
	struct vma v = { addr, addr + len, prot & ~PROT_WRITE, VMA_SPECIAL, off };
	int r;

	pthread_mutex_lock(&mm->lock);
	r = map_vma(mm, &v);
	pthread_mutex_unlock(&mm->lock);
	return r;
}

static int copy_file_pages(struct mm *mm, uint64_t lo, uint64_t hi);
static int unmap(struct mm *mm, uint64_t addr, uint64_t len);

/* file_end - the VMA address where @v's file ends (page rounded), or
 * @v->start when the file ends before the VMA's range. */
static uint64_t file_end(const struct vma *v)
{
	uint64_t eof = PAGE_UP(mfile_size(v->mf));

	if (eof <= v->foff)
		return v->start;
	return eof - v->foff >= v->end - v->start ? v->end
						   : v->start + (eof - v->foff);
}

int mm_map_file_placed(struct mm *mm, uint64_t *addr, uint64_t len, int prot,
		       struct mfile *mf, uint64_t foff, bool shared,
		       bool copy_now, enum mm_place how)
{
	struct vma v = { 0, 0, prot, VMA_FILE | (shared ? VMA_SHARED : 0), 0,
			 mf, foff };
	int r;

	pthread_mutex_lock(&mm->lock);
	r = place(mm, addr, len, how);
	if (r)
		goto out;
	v.start = *addr;
	v.end = *addr + len;
	mfile_get(mf);
	r = map_vma(mm, &v);
	if (r) {
		mfile_put(mf);
		goto out;
	}
	if (copy_now && !shared) {
		/* pages past the end of the file stay the file's (SIGBUS) */
		uint64_t end = file_end(&v);

		if (end > v.start)
			r = copy_file_pages(mm, v.start, end);
		if (r)
			unmap(mm, v.start, len);
	}
out:
	pthread_mutex_unlock(&mm->lock);
	return r;
}

int mm_map_file(struct mm *mm, uint64_t addr, uint64_t len, int prot,
		struct mfile *mf, uint64_t foff, bool shared, bool copy_now)
{
	return mm_map_file_placed(mm, &addr, len, prot, mf, foff, shared,
				  copy_now, MM_PLACE_FIXED);
}

static int unmap(struct mm *mm, uint64_t addr, uint64_t len)
{
	int r = remove_range(mm, addr, len);

	if (r)
		return r;
	return mm->be.unmap(mm->be.as, addr, len);
}

int mm_unmap(struct mm *mm, uint64_t addr, uint64_t len)
{
	int r;

	pthread_mutex_lock(&mm->lock);
	r = unmap(mm, addr, len);
	pthread_mutex_unlock(&mm->lock);
	return r;
}

/* covered - 1 if [addr, addr+len) is mapped with no holes. */
static int covered(struct mm *mm, uint64_t addr, uint64_t len)
{
	uint64_t at = addr;

	for (size_t i = first_above(mm, addr); i < mm->n && at < addr + len; i++) {
		if (mm->v[i].start > at)
			return 0;
		at = mm->v[i].end;
	}
	return at >= addr + len;
}

int mm_mapped(struct mm *mm, uint64_t addr, uint64_t len)
{
	int r;

	pthread_mutex_lock(&mm->lock);
	r = covered(mm, addr, len);
	pthread_mutex_unlock(&mm->lock);
	return r;
}

int mm_protect(struct mm *mm, uint64_t addr, uint64_t len, int prot)
{
	uint64_t end = addr + len, grow = 0, shrink = 0;
	size_t i;
	int r = -ENOMEM;

	pthread_mutex_lock(&mm->lock);
	if (!covered(mm, addr, len))
		goto out;
	for (i = first_above(mm, addr); i < mm->n && mm->v[i].start < end; i++) {
		uint64_t s = mm->v[i].start > addr ? mm->v[i].start : addr;
		uint64_t e = mm->v[i].end < end ? mm->v[i].end : end;

		if (mm->v[i].flags & VMA_SPECIAL) {
			if (prot & PROT_WRITE) {
				r = -EACCES;
				goto out;
			}
			continue; /* never charged */
		}
		if ((mm->v[i].flags & VMA_NOWRITE) && (prot & PROT_WRITE)) {
			r = -EACCES;
			goto out;
		}
		if ((mm->v[i].flags & (VMA_FILE | VMA_SHARED)) ==
		    (VMA_FILE | VMA_SHARED)) {
			/* as Linux: a file opened read-only (or on a
			 * read-only mount) can never be written through a
			 * shared mapping */
			if ((prot & PROT_WRITE) && !mm->v[i].mf->writable) {
				r = -EACCES;
				goto out;
			}
			continue; /* never charged */
		}
		if (mm->v[i].prot == PROT_NONE && prot != PROT_NONE)
			grow += e - s;
		if (mm->v[i].prot != PROT_NONE && prot == PROT_NONE)
			shrink += e - s;
	}
	if (mm->limit && mm->committed + grow - shrink > mm->limit)
		goto out;
	if (split_at(mm, addr) || split_at(mm, end))
		goto out;
	for (i = first_above(mm, addr); i < mm->n && mm->v[i].start < end; i++)
		if ((mm->v[i].flags & VMA_COW) || file_pages(&mm->v[i]))
			break;
	if (i < mm->n && mm->v[i].start < end) {
		/* copy-on-write parts (and private file pages) stay
		 * read-only: one call per VMA */
		for (r = 0, i = first_above(mm, addr);
		     i < mm->n && mm->v[i].start < end && !r; i++) {
			struct vma n = mm->v[i];

			n.prot = prot;
			r = mm->be.protect(mm->be.as, n.start, n.end - n.start,
					   host_prot(&n));
		}
	} else {
		r = mm->be.protect(mm->be.as, addr, len, prot);
	}
	if (r)
		goto out;
	for (i = first_above(mm, addr); i < mm->n && mm->v[i].start < end; i++)
		mm->v[i].prot = prot;
	mm->committed += grow - shrink;
	merge_around(mm, addr, end);
out:
	pthread_mutex_unlock(&mm->lock);
	return r;
}

/*
 * uncopy - give the copied pages of private file range [lo, hi) (inside
 * one VMA_COPIED VMA) back: the range maps the file's pages again.
 */
static int uncopy(struct mm *mm, uint64_t lo, uint64_t hi)
{
	struct vma *v;
	int r;

	if (reserve(mm, 2))
		return -ENOMEM;
	split_at(mm, lo);
	split_at(mm, hi);
	v = mm_find_vma(mm, lo);
	{
		struct vma n = *v;

		n.flags &= ~(VMA_COPIED | VMA_COW);
		r = be_map_vma(mm, &n, lo);
		if (r)
			return r;
		if (v->flags & VMA_COW)
			memfile_unref(v->off, hi - lo);
		else
			memfile_free(v->off, hi - lo);
		v->flags = n.flags;
		v->off = 0;
	}
	merge_around(mm, lo, hi);
	return 0;
}

int mm_zero(struct mm *mm, uint64_t addr, uint64_t len)
{
	uint64_t end = addr + len;
	int r = 0;

	pthread_mutex_lock(&mm->lock);
	for (size_t i = first_above(mm, addr);
	     i < mm->n && mm->v[i].start < end && !r; i++) {
		struct vma *v = &mm->v[i];
		uint64_t s = v->start > addr ? v->start : addr;
		uint64_t e = v->end < end ? v->end : end;

		if (v->flags & (VMA_SHARED | VMA_SPECIAL))
			continue; /* shared memory keeps its contents */
		if (file_pages(v))
			continue; /* the file's pages: nothing of ours */
		if (v->flags & VMA_FILE) {
			/* copied file pages: back to the file's, as Linux
			 * drops private copies of file pages */
			r = uncopy(mm, s, e);
			i = first_above(mm, e) - 1;
			continue;
		}
		if (v->flags & VMA_COW) {
			/* the pages may be another's: take fresh ones */
			r = map_anon(mm, s, e - s, v->prot, v->flags);
			i = first_above(mm, s);
			continue;
		}
		memfile_zero(v->off + (s - v->start), e - s);
	}
	pthread_mutex_unlock(&mm->lock);
	return r;
}

/* ---- mremap ---- */

/*
 * move_range - move the VMAs of [old, old+len) to new (free) without
 * copying: each keeps its memory-file range and is mapped again there.
 */
static int move_range(struct mm *mm, uint64_t old, uint64_t len, uint64_t new)
{
	size_t i, j, k;
	int r;

	if (split_at(mm, old) || split_at(mm, old + len) || reserve(mm, 2))
		return -ENOMEM;
	i = first_above(mm, old);
	for (j = i; j < mm->n && mm->v[j].start < old + len; j++) {
		struct vma *v = &mm->v[j];

		r = be_map_vma(mm, v, new + (v->start - old));
		if (r)
			return r;
	}
	mm->be.unmap(mm->be.as, old, len);
	/* take the moved VMAs out, rebase them, put them back in order */
	size_t cnt = j - i;
	struct vma *tmp = malloc(cnt * sizeof(*tmp));

	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, &mm->v[i], cnt * sizeof(*tmp));
	memmove(&mm->v[i], &mm->v[j], (mm->n - j) * sizeof(*tmp));
	mm->n -= cnt;
	k = first_above(mm, new);
	memmove(&mm->v[k + cnt], &mm->v[k], (mm->n - k) * sizeof(*tmp));
	for (size_t m = 0; m < cnt; m++) {
		tmp[m].start = tmp[m].start - old + new;
		tmp[m].end = tmp[m].end - old + new;
		mm->v[k + m] = tmp[m];
	}
	mm->n += cnt;
	free(tmp);
	merge_around(mm, new, new + len);
	return 0;
}

/* same_run - [addr, addr+len) is mapped by VMAs of one prot and kind. */
static int same_run(struct mm *mm, uint64_t addr, uint64_t len)
{
	size_t i = first_above(mm, addr);
	uint64_t at = addr;

	for (size_t j = i; j < mm->n && at < addr + len; j++) {
		if (mm->v[j].start > at || mm->v[j].prot != mm->v[i].prot ||
		    ((mm->v[j].flags ^ mm->v[i].flags) &
		     ~(VMA_COW | VMA_COPIED)))
			return 0;
		at = mm->v[j].end;
	}
	return at >= addr + len;
}

/*
 * grow_tail - map [@at, @at+@len), just after VMA @last (a copy; @at is
 * its end), as mremap's growth of it: fresh anonymous memory, or the next
 * bytes of @last's file (through a longer view when @last's ends).
 */
static int grow_tail(struct mm *mm, const struct vma *last, uint64_t at,
		     uint64_t len)
{
	struct vma t = *last;
	int r;

	if (!(last->flags & VMA_FILE))
		return map_anon(mm, at, len, last->prot, last->flags);
	t.start = at;
	t.end = at + len;
	t.flags &= ~(VMA_COPIED | VMA_COW);
	t.off = 0;
	t.foff = last->foff + (at - last->start);
	if (t.foff + len > last->mf->vlen) {
		r = mfile_extend(last->mf, t.foff + len, &t.mf);
		if (r)
			return r;
	} else {
		mfile_get(t.mf);
	}
	r = map_vma(mm, &t);
	if (r)
		mfile_put(t.mf);
	return r;
}

int64_t mm_remap(struct mm *mm, uint64_t old, uint64_t old_len,
		 uint64_t new_len, int flags, uint64_t new_addr)
{
	struct vma *v;
	int64_t r;
	uint64_t dst;

	pthread_mutex_lock(&mm->lock);
	v = mm_find_vma(mm, old);
	/* the old range must lie in one VMA, as Linux's vma_to_resize; ours
	 * may be split where memory-file extents meet, so accept a run of
	 * VMAs that Linux would have kept as one */
	if (!v || !same_run(mm, old, old_len)) {
		r = -EFAULT;
		goto out;
	}
	if (new_len > old_len && (v->flags & VMA_SPECIAL)) {
		r = -EINVAL; /* [vvar] cannot grow */
		goto out;
	}
	if (flags & MREMAP_FIXED) {
		if (new_addr < mm->user_min || new_addr + new_len > mm->user_max) {
			r = -EINVAL;
			goto out;
		}
		if (new_addr < old + old_len && old < new_addr + new_len) {
			r = -EINVAL; /* overlapping source and destination */
			goto out;
		}
		r = unmap(mm, new_addr, new_len);
		if (r)
			goto out;
		v = mm_find_vma(mm, old);
		if (new_len < old_len) {
			r = unmap(mm, old + new_len, old_len - new_len);
			if (r)
				goto out;
			old_len = new_len;
		}
		dst = new_addr;
		goto move;
	}
	if (new_len <= old_len) {
		r = unmap(mm, old + new_len, old_len - new_len);
		r = r ? r : (int64_t)old;
		goto out;
	}
	/* grow in place if the pages after are free */
	if (old + new_len <= mm->user_max &&
	    range_free(mm, old + old_len, new_len - old_len)) {
		struct vma last = *mm_find_vma(mm, old + old_len - 1);

		r = grow_tail(mm, &last, old + old_len, new_len - old_len);
		r = r ? r : (int64_t)old;
		goto out;
	}
	if (!(flags & MREMAP_MAYMOVE)) {
		r = -ENOMEM;
		goto out;
	}
	r = get_unmapped(mm, 0, new_len, &dst);
	if (r)
		goto out;
move:
	{
		/* the array may have moved: copy what the tail continues */
		struct vma last = *mm_find_vma(mm, old + old_len - 1);

		r = move_range(mm, old, old_len, dst);
		if (r)
			goto out;
		if (new_len > old_len) {
			last.start += dst - old;
			last.end += dst - old;
			r = grow_tail(mm, &last, dst + old_len,
				      new_len - old_len);
			if (r)
				goto out;
		}
		r = (int64_t)dst;
	}
out:
	pthread_mutex_unlock(&mm->lock);
	return r;
}

/* ---- brk ---- */

uint64_t mm_brk(struct mm *mm, uint64_t new_brk)
{
	uint64_t old_top, new_top;

	pthread_mutex_lock(&mm->lock);
	if (new_brk < mm->brk_start || new_brk >= mm->user_max)
		goto out;
	old_top = PAGE_UP(mm->brk);
	new_top = PAGE_UP(new_brk);
	if (new_top < old_top) {
		if (unmap(mm, new_top, old_top - new_top))
			goto out;
	} else if (new_top > old_top) {
		/* keep a guard gap below the next mapping, as Linux does */
		size_t i = first_above(mm, old_top);
		uint64_t gap = i < mm->n && (mm->v[i].flags & VMA_GROWSDOWN) ?
				       STACK_GUARD_GAP : 0;

		if (i < mm->n && mm->v[i].start < new_top + gap)
			goto out;
		if (map_anon(mm, old_top, new_top - old_top,
			     PROT_READ | PROT_WRITE, 0))
			goto out;
	}
	mm->brk = new_brk;
out:
	new_brk = mm->brk;
	pthread_mutex_unlock(&mm->lock);
	return new_brk;
}

/* ---- faults and copy-on-write ---- */

/*
 * alloc_after - @len fresh bytes for the range starting at @addr, placed
 * right after the memory-file extent of the VMA ending at @addr when
 * possible, so that the two can merge (sequential writers after fork end
 * with one VMA, not one per chunk).
 */
static int alloc_after(struct mm *mm, uint64_t addr, uint64_t len,
		       uint64_t *off)
{
	struct vma *prev = addr ? mm_find_vma(mm, addr - 1) : NULL;

	if (prev && in_memfile(prev) &&
	    !(prev->flags & (VMA_COW | VMA_SHARED | VMA_SPECIAL))) {
		uint64_t end = prev->off + (prev->end - prev->start);

		if (memfile_try_extend(end, len) == 0) {
			*off = end;
			return 0;
		}
	}
	return memfile_alloc(len, off);
}

/*
 * make_private - make [lo, hi), page aligned inside one VMA_COW VMA, private:
 * in place when no other address space holds any of its pages, else by
 * copying them to fresh pages.  Return: 0 or -errno.
 */
static int make_private(struct mm *mm, uint64_t lo, uint64_t hi)
{
	struct vma *v = mm_find_vma(mm, lo);
	uint64_t off = v->off + (lo - v->start), len = hi - lo, fresh = 0;
	bool shared = false;
	int r;

	for (uint64_t a = 0; a < len && !shared; a += PAGE_SIZE)
		shared = memfile_page_shared(off + a);
	if (reserve(mm, 2))
		return -ENOMEM;
	if (shared) {
		r = alloc_after(mm, lo, len, &fresh);
		if (r)
			return r;
		memfile_copy(fresh, off, len);
	}
	split_at(mm, lo);
	split_at(mm, hi);
	v = mm_find_vma(mm, lo);
	if (shared)
		r = mm->be.map(mm->be.as, lo, len, v->prot, memfile_fd(), fresh,
			       SBX_MAP_SHARED);
	else
		r = mm->be.protect(mm->be.as, lo, len, v->prot);
	if (r) {
		if (shared)
			memfile_free(fresh, len);
		return r;
	}
	if (shared) {
		memfile_unref(off, len);
		v->off = fresh;
	}
	v->flags &= ~VMA_COW;
	merge_around(mm, lo, hi);
	return 0;
}

/*
 * copy_file_pages - copy the file's bytes of [lo, hi), page aligned inside
 * one private VMA_FILE VMA that still maps the file's pages, into fresh
 * memory-file pages that replace them (VMA_COPIED).  Placed after the
 * previous copied chunk when possible so that they merge.
 * Return: 0, -ENOMEM, or -EFAULT when the file no longer covers the range.
 */
static int copy_file_pages(struct mm *mm, uint64_t lo, uint64_t hi)
{
	uint64_t len = hi - lo, fresh;
	struct vma *v;
	int r;

	/* before finding the VMA: reserve may move the array */
	if (reserve(mm, 2))
		return -ENOMEM;
	v = mm_find_vma(mm, lo);
	r = alloc_after(mm, lo, len, &fresh);
	if (r)
		return r;
	r = mfile_read(v->mf, v->foff + (lo - v->start), memfile_ptr(fresh),
		       len);
	if (r)
		goto out_free;
	split_at(mm, lo);
	split_at(mm, hi);
	v = mm_find_vma(mm, lo);
	r = mm->be.map(mm->be.as, lo, len, v->prot, memfile_fd(), fresh,
		       SBX_MAP_SHARED);
	if (r)
		goto out_free;
	v->flags |= VMA_COPIED;
	v->off = fresh;
	merge_around(mm, lo, hi);
	return 0;

out_free:
	memfile_free(fresh, len);
	return r;
}

/*
 * file_fault - a write to private file page @addr of @v: copy a chunk
 * (COW_CHUNK, within the VMA and the file) into the memory file.  A page
 * past the end of the file is SIGBUS, as Linux.
 */
static int file_fault(struct mm *mm, struct vma *v, uint64_t addr,
		      int *si_code)
{
	uint64_t lo = PAGE_DOWN(addr), end = file_end(v);
	uint64_t hi = end - lo < COW_CHUNK ? end : lo + COW_CHUNK;

	int r = lo < end ? copy_file_pages(mm, lo, hi) : -EFAULT;

	if (r == -EFAULT) {
		*si_code = BUS_ADRERR;
		return -ENXIO;
	}
	if (r) {
		*si_code = SEGV_ACCERR; /* out of memory: no better signal */
		return -EFAULT;
	}
	return 0;
}

/*
 * cow_fault - a write to copy-on-write page @addr of @v.  Pages that are
 * ours alone are taken back as one run (after the child of a fork+exec
 * lets go, one fault gives the whole VMA back); shared ones are copied a
 * chunk at a time.
 */
static int cow_fault(struct mm *mm, struct vma *v, uint64_t addr)
{
	uint64_t lo = PAGE_DOWN(addr), hi = lo + PAGE_SIZE;

#define SHARED(a) memfile_page_shared(v->off + ((a) - v->start))
	if (mm->vfork_child) {
		/* exactly the written page (see mm_vfork_delta) */
	} else if (!SHARED(lo)) {
		while (lo > v->start && !SHARED(lo - PAGE_SIZE))
			lo -= PAGE_SIZE;
		while (hi < v->end && !SHARED(hi))
			hi += PAGE_SIZE;
	} else {
		hi = v->end - lo < COW_CHUNK ? v->end : lo + COW_CHUNK;
	}
#undef SHARED
	return make_private(mm, lo, hi);
}

/* allowed - @v's protection permits every access kind in @access. */
static bool allowed(const struct vma *v, unsigned access)
{
	if ((access & SBX_ACCESS_READ) && v->prot == PROT_NONE)
		return false;
	if ((access & SBX_ACCESS_WRITE) && !(v->prot & PROT_WRITE))
		return false;
	return !(access & SBX_ACCESS_EXEC) || (v->prot & PROT_EXEC);
}

/*
 * file_absent - an allowed access to file page @addr of @v faulted: a
 * platform that maps file pages only up to the end of the file (kvm: the
 * host cannot back guest pages past it) left it out.  Still past the end:
 * SIGBUS, as Linux.  The file has grown since: map the pages now.
 */
static int file_absent(struct mm *mm, struct vma *v, uint64_t addr,
		       int *si_code)
{
	uint64_t lo = PAGE_DOWN(addr), end = file_end(v);
	struct vma n = *v;

	if (lo >= end) {
		*si_code = BUS_ADRERR;
		return -ENXIO;
	}
	n.foff += lo - v->start;
	n.start = lo;
	n.end = end;
	if (be_map_vma(mm, &n, lo)) {
		*si_code = SEGV_ACCERR;
		return -EFAULT;
	}
	return 0;
}

int mm_fault(struct mm *mm, uint64_t addr, unsigned access, int *si_code)
{
	struct vma *v;
	size_t i;
	int r = -EFAULT;

	pthread_mutex_lock(&mm->lock);
	v = mm_find_vma(mm, addr);
	if (v && (v->flags & VMA_COW) && (v->prot & PROT_WRITE) &&
	    (!access || (access & SBX_ACCESS_WRITE))) {
		/* the only fault a readable mapped COW page can take */
		r = cow_fault(mm, v, addr);
		goto out;
	}
	if (v && file_pages(v) && (v->prot & PROT_WRITE) &&
	    (!access || (access & SBX_ACCESS_WRITE))) {
		/* likewise for private file pages (a read past the end of
		 * the file is a SIGBUS the platform reports itself; a write
		 * past it is the SIGBUS file_fault gives, never the raced
		 * retry below) */
		r = file_fault(mm, v, addr, si_code);
		goto out;
	}
	if (v && (v->flags & VMA_FILE) && !in_memfile(v) && access &&
	    allowed(v, access)) {
		/* an access the VMA allows, on a file page the platform did
		 * not map: past the end of the file when mapped (kvm maps only
		 * up to it) */
		r = file_absent(mm, v, addr, si_code);
		goto out;
	}
	if (v && !(v->flags & VMA_COW) &&
	    (access ? allowed(v, access) :
		      (v->prot & (PROT_READ | PROT_WRITE)) ==
			      (PROT_READ | PROT_WRITE))) {
		/* the VMA permits it: the fault raced another thread's
		 * mprotect/mmap upgrading the mapping, or its copy-on-write
		 * break of the same run; retry (the task loop bounds retries
		 * at one address).  Access unknown (ptrace, data accesses):
		 * no data access faults on a read-write VMA but a raced one */
		r = 0;
		goto out;
	}
	if (v) {
		/* mappings mirror the VMAs, so a fault inside one is a
		 * protection violation */
		*si_code = SEGV_ACCERR;
		goto out;
	}
	*si_code = SEGV_MAPERR;
	i = first_above(mm, addr);
	if (i < mm->n && (mm->v[i].flags & VMA_GROWSDOWN) &&
	    addr >= mm->user_min && mm->v[i].end - PAGE_DOWN(addr) <= mm->stack_max) {
		uint64_t lo = PAGE_DOWN(addr);
		uint64_t prev_end = i > 0 ? mm->v[i - 1].end : mm->user_min;

		if (lo < prev_end + (i > 0 ? PAGE_SIZE : 0))
			goto out;
		if (map_anon(mm, lo, mm->v[i].start - lo, mm->v[i].prot,
			     mm->v[i].flags) == 0)
			r = 0;
	}
out:
	pthread_mutex_unlock(&mm->lock);
	return r;
}

/* ---- copies ---- */

enum { CHECK_READ, CHECK_WRITE, CHECK_NONE };

/*
 * xfer - copy between @buf and application [addr, addr+len), checking
 * each VMA.  On x86 every mapped page but PROT_NONE is readable.
 */
static int xfer(struct mm *mm, uint64_t addr, void *buf, size_t len, int check,
		int to_app)
{
	uint8_t *p = buf;
	int r = 0;

	if (addr + len < addr)
		return -EFAULT;
	pthread_mutex_lock(&mm->lock);
	while (len) {
		struct vma *v = mm_find_vma(mm, addr);
		size_t n;

		if (!v || (check == CHECK_READ && v->prot == PROT_NONE) ||
		    (check == CHECK_WRITE && !(v->prot & PROT_WRITE))) {
			r = -EFAULT;
			break;
		}
		n = v->end - addr < len ? v->end - addr : len;
		if (v->flags & VMA_FILE && !in_memfile(v)) {
			uint64_t fo = v->foff + (addr - v->start);

			if (!to_app) {
				r = mfile_read(v->mf, fo, p, n);
			} else if (v->flags & VMA_SHARED) {
				r = mfile_write(v->mf, fo, p, n);
			} else {
				/* copy the pages first, as a write fault
				 * would; past the end of the file: EFAULT */
				uint64_t lo = PAGE_DOWN(addr), end = file_end(v);
				uint64_t hi = PAGE_UP(addr + n);

				r = lo >= end ? -EFAULT
				    : copy_file_pages(mm, lo, hi < end ? hi : end);
				if (r)
					break;
				continue; /* the VMAs have changed */
			}
			if (r)
				break;
			p += n;
			addr += n;
			len -= n;
			continue;
		}
		if (to_app && (v->flags & VMA_COW)) {
			r = make_private(mm, PAGE_DOWN(addr), PAGE_UP(addr + n));
			if (r)
				break;
			continue; /* the VMAs have changed: look again */
		}
		if (to_app)
			memcpy(memfile_ptr(v->off + (addr - v->start)), p, n);
		else
			memcpy(p, memfile_ptr(v->off + (addr - v->start)), n);
		p += n;
		addr += n;
		len -= n;
	}
	pthread_mutex_unlock(&mm->lock);
	return r;
}

int mm_copy_in(struct mm *mm, void *dst, uint64_t src, size_t len)
{
	return xfer(mm, src, dst, len, CHECK_READ, 0);
}

int mm_copy_out(struct mm *mm, uint64_t dst, const void *src, size_t len)
{
	return xfer(mm, dst, (void *)src, len, CHECK_WRITE, 1);
}

int mm_poke(struct mm *mm, uint64_t dst, const void *src, size_t len)
{
	return xfer(mm, dst, (void *)src, len, CHECK_NONE, 1);
}

int mm_copy_str(struct mm *mm, char *dst, uint64_t src, size_t max)
{
	size_t done = 0;
	int r = -ENAMETOOLONG;

	pthread_mutex_lock(&mm->lock);
	while (done < max) {
		struct vma *v = mm_find_vma(mm, src + done);
		const char *p, *nul;
		size_t n;

		if (!v || v->prot == PROT_NONE) {
			r = -EFAULT;
			break;
		}
		n = v->end - (src + done);
		if (n > max - done)
			n = max - done;
		if (!in_memfile(v)) {
			/* a page at a time: the string may end before a
			 * page past the end of the file */
			uint64_t a = src + done;

			if (n > PAGE_SIZE - (a & (PAGE_SIZE - 1)))
				n = PAGE_SIZE - (a & (PAGE_SIZE - 1));
			if (mfile_read(v->mf, v->foff + (a - v->start),
				       dst + done, n)) {
				r = -EFAULT;
				break;
			}
			nul = memchr(dst + done, 0, n);
			if (nul) {
				r = (int)(nul - dst);
				break;
			}
			done += n;
			continue;
		}
		p = memfile_ptr(v->off + (src + done - v->start));
		nul = memchr(p, 0, n);
		if (nul) {
			memcpy(dst + done, p, (size_t)(nul - p) + 1);
			r = (int)(done + (size_t)(nul - p));
			break;
		}
		memcpy(dst + done, p, n);
		done += n;
	}
	pthread_mutex_unlock(&mm->lock);
	return r;
}

int mm_gather(struct mm *mm, void *dst, const struct iovec *iov, size_t cnt,
	      size_t len)
{
	size_t at = 0;

	for (size_t i = 0; i < cnt && at < len; i++) {
		size_t n = iov[i].iov_len < len - at ? iov[i].iov_len : len - at;

		if (mm_copy_in(mm, (char *)dst + at, (uint64_t)iov[i].iov_base, n))
			return -EFAULT;
		at += n;
	}
	return 0;
}

int mm_scatter(struct mm *mm, const struct iovec *iov, size_t cnt,
	       const void *src, size_t len)
{
	size_t at = 0;

	for (size_t i = 0; i < cnt && at < len; i++) {
		size_t n = iov[i].iov_len < len - at ? iov[i].iov_len : len - at;

		if (mm_copy_out(mm, (uint64_t)iov[i].iov_base, (const char *)src + at, n))
			return -EFAULT;
		at += n;
	}
	return 0;
}

/* ---- vfork write-back ---- */

#define VFORK_DELTA_MAX (64ULL << 20) /* more and the parent gets none */

void mm_delta_free(struct mm_delta *d)
{
	while (d) {
		struct mm_delta *n = d->next;

		free(d);
		d = n;
	}
}

struct mm_delta *mm_vfork_delta(struct mm *mm)
{
	struct mm_delta *head = NULL, **tail = &head;
	uint64_t total = 0;

	pthread_mutex_lock(&mm->lock);
	for (size_t i = 0; i < mm->n; i++) {
		const struct vma *v = &mm->v[i];
		uint64_t end = v->off + (v->end - v->start), at = v->off;

		/* still shared (COW), shared anyway, not ours to give, or
		 * still the file's own pages (never written) */
		if ((v->flags & (VMA_COW | VMA_SHARED | VMA_SPECIAL)) ||
		    !in_memfile(v))
			continue;
		while ((at = memfile_next_data(at, end)) < end) {
			uint64_t hole = memfile_next_hole(at, end);
			struct mm_delta *d;

			total += hole - at;
			d = total <= VFORK_DELTA_MAX
				    ? malloc(sizeof(*d) + (hole - at)) : NULL;
			if (!d) {
				mm_delta_free(head);
				head = NULL;
				goto out;
			}
			d->next = NULL;
			d->addr = v->start + (at - v->off);
			d->len = hole - at;
			memcpy(d->data, memfile_ptr(at), d->len);
			*tail = d;
			tail = &d->next;
			at = hole;
		}
	}
out:
	pthread_mutex_unlock(&mm->lock);
	return head;
}

void mm_delta_apply(struct mm *mm, struct mm_delta *d)
{
	for (struct mm_delta *x = d; x; x = x->next)
		mm_poke(mm, x->addr, x->data, x->len); /* gone since: skipped */
	mm_delta_free(d);
}
