/*
 * The memory manager: one struct mm per application address space.
 *
 * It keeps the VMAs (sorted, non-overlapping, page-aligned), owns the
 * memory-file extents behind anonymous memory, and mirrors every change
 * into the platform's address space through a small backend (so unit tests
 * can run without a platform).  Syscall-level argument checks live in
 * core/kernel/sys_mm.c; the functions here take aligned, validated ranges
 * unless said otherwise.
 *
 * Locking: every function takes mm->lock itself, except the *_locked ones.
 */
#ifndef SBX_MM_MM_H
#define SBX_MM_MM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../arch/x86_64/abi.h"

#define PAGE_SIZE 4096ULL
#define PAGE_DOWN(x) ((x) & ~(PAGE_SIZE - 1))
#define PAGE_UP(x) (((x) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))

/* vma.flags */
#define VMA_SHARED	(1u << 0) /* MAP_SHARED anonymous */
#define VMA_GROWSDOWN	(1u << 1) /* stack: grows on faults just below */
#define VMA_SPECIAL	(1u << 2) /* core-owned page ([vvar]): not freed,
				     not zeroed, never writable */
#define VMA_COW		(1u << 3) /* private pages that may be shared with
				     another address space since a fork:
				     mapped without write access; the first
				     write copies them (or takes them back
				     when no one else holds them) */
#define VMA_FILE	(1u << 4) /* maps host file @mf at file offset @foff:
				     with VMA_SHARED the file's own pages
				     (its page cache); without, a private
				     view: the file's pages mapped without
				     write access until VMA_COPIED */
#define VMA_COPIED	(1u << 5) /* VMA_FILE private range whose pages
				     were copied into the memory file (at
				     @off) by a write: from then on it is
				     private anonymous memory, as Linux's
				     copy-on-write file pages */
#define VMA_NOWRITE	(1u << 6) /* MAP_SHARED of a file not opened for
				     writing: mprotect(PROT_WRITE) is EACCES
				     (host files: see mfile.writable) */

struct mfile;

struct vma {
	uint64_t start, end; /* [start, end) */
	int prot;	     /* PROT_* */
	unsigned flags;	     /* VMA_* */
	uint64_t off;	     /* memory-file offset of start (not for
				VMA_FILE without VMA_COPIED) */
	struct mfile *mf;    /* VMA_FILE: the file (one reference) */
	uint64_t foff;	     /* VMA_FILE: file offset of start */
};

/* The platform side of an address space (sbx_platform_ops as_* calls). */
struct mm_backend {
	void *as;
	int (*map)(void *as, uint64_t addr, uint64_t len, int prot, int fd,
		   uint64_t off, uint32_t flags);
	int (*unmap)(void *as, uint64_t addr, uint64_t len);
	int (*protect)(void *as, uint64_t addr, uint64_t len, int prot);
};

struct mm {
	pthread_mutex_t lock;
	struct vma *v;
	size_t n, cap;
	uint64_t user_min, user_max; /* application range [min, max) */
	uint64_t mmap_base;	     /* top-down placement starts here */
	uint64_t brk_start, brk;
	uint64_t stack_max;	     /* RLIMIT_STACK for growsdown VMAs */
	uint64_t committed, limit;   /* accessible bytes; limit 0 = none */
	bool vfork_child;	     /* copy-on-write breaks one page at a
					time, so written pages are exactly
					the unshared ones (mm_vfork_delta) */
	/* set by exec for /proc (stat, cmdline, environ), as Linux's mm */
	uint64_t start_code, end_code, start_stack;
	uint64_t arg_start, arg_end, env_start, env_end;
	struct mm_backend be;
};

int mm_init(struct mm *mm, uint64_t user_min, uint64_t user_max,
	    uint64_t limit, const struct mm_backend *be);
/* mm_destroy - drop every VMA and its memory (no backend calls). */
void mm_destroy(struct mm *mm);

/*
 * mm_fork - make @dst (initialised, empty, with its own backend) a copy of
 * @src for fork, copy-on-write: private pages that hold data are shared
 * and both sides' VMAs become VMA_COW (@src's are write-protected through
 * its backend, so call this on @src's thread); untouched ranges get fresh
 * memory in @dst; MAP_SHARED and special pages are shared.  @dst gets no
 * backend calls: its thread maps everything with mm_replay.
 * Return: 0 or -ENOMEM.
 */
int mm_fork(struct mm *dst, struct mm *src);
/*
 * vfork: the child runs on a copy-on-write copy of its parent's memory,
 * and what it writes is handed back when it execs or exits, while the
 * parent still waits (so the parent sees the stores a vfork child makes,
 * e.g. posix_spawn's exec error code, as if memory had been shared).
 * mm_vfork_delta - the data of @mm's private pages that are no longer
 * shared with anyone (written since the fork), NULL if none or too much;
 * mm_delta_apply - write it into @mm where it is still mapped, and free.
 */
struct mm_delta {
	struct mm_delta *next;
	uint64_t addr;
	size_t len;
	char data[];
};
struct mm_delta *mm_vfork_delta(struct mm *mm);
void mm_delta_apply(struct mm *mm, struct mm_delta *d);
void mm_delta_free(struct mm_delta *d);

/* mm_replay - map every VMA through the backend (a new address space). */
int mm_replay(struct mm *mm);

/*
 * mm_shared_key - if @addr lies in MAP_SHARED memory, a key for it that
 * every process mapping the same byte shares: (0, 0, memory-file offset)
 * for memory-file pages, (dev, inode, file offset) for host files.
 */
bool mm_shared_key(struct mm *mm, uint64_t addr, uint64_t *dev, uint64_t *ino,
		   uint64_t *off);

/* mm_find_vma - the VMA containing @addr, or NULL (lock held). */
struct vma *mm_find_vma(struct mm *mm, uint64_t addr);
/* mm_next_vma - the first VMA ending above @addr, or NULL (lock held). */
struct vma *mm_next_vma(struct mm *mm, uint64_t addr);

/*
 * mm_get_unmapped - choose where to put @len bytes: @hint if the range is
 * free and in range, else the highest free range below mmap_base, else
 * the highest anywhere.  Return: 0 and *@out, or -ENOMEM.
 */
int mm_get_unmapped(struct mm *mm, uint64_t hint, uint64_t len,
		    uint64_t *out);

/* mm_mapped - 1 if every page of [@addr, @addr+@len) is mapped. */
int mm_mapped(struct mm *mm, uint64_t addr, uint64_t len);

/* mm_range_free - 1 if no VMA overlaps [@addr, @addr+@len). */
int mm_range_free(struct mm *mm, uint64_t addr, uint64_t len);

/*
 * mm_map_anon - map fresh zeroed memory at @addr (anything there is
 * replaced).  @vflags: VMA_*.  Return: 0, -ENOMEM (limit or memory file).
 */
int mm_map_anon(struct mm *mm, uint64_t addr, uint64_t len, int prot,
		unsigned vflags);
/*
 * mm_map_shared - map memory-file pages [@off, @off+@len) as MAP_SHARED
 * (a tmpfs file's own pages); the caller has taken a reference on them
 * (memfile_share), which the VMA now owns.  @maywrite: the file is open
 * for writing (else PROT_WRITE can never be added).  Return: 0 or -errno
 * (the reference is still the caller's).
 */
int mm_map_shared(struct mm *mm, uint64_t addr, uint64_t len, int prot,
		  uint64_t off, bool maywrite);

/* Where mm_map_*_placed put a mapping (mmap's MAP_FIXED family). */
enum mm_place {
	MM_PLACE_FIXED,	    /* at *addr, replacing what is there */
	MM_PLACE_NOREPLACE, /* at *addr, -EEXIST if anything is there */
	MM_PLACE_HINT,	    /* *addr if free, else as mm_get_unmapped */
};

/*
 * mm_map_anon_placed / mm_map_shared_placed / mm_map_file_placed -
 * mm_map_anon / mm_map_shared / mm_map_file for mmap(2): the range is
 * chosen (@place, *@addr in, the address out) and mapped under one hold of
 * the lock.  Two threads mapping at once must never be given the same free
 * range: the second map would silently replace the first's memory (seen as
 * one thread's TLS page turning into another's malloc page).
 * Return: 0, -EEXIST (NOREPLACE), -ENOMEM, or as the unplaced call.
 */
int mm_map_anon_placed(struct mm *mm, uint64_t *addr, uint64_t len, int prot,
		       unsigned vflags, enum mm_place place);
int mm_map_shared_placed(struct mm *mm, uint64_t *addr, uint64_t len,
			 int prot, uint64_t off, bool maywrite,
			 enum mm_place place);
int mm_map_file_placed(struct mm *mm, uint64_t *addr, uint64_t len, int prot,
		       struct mfile *mf, uint64_t foff, bool shared,
		       bool copy_now, enum mm_place place);
/*
 * mm_map_special - map the core-owned memory-file range at @off (read-only
 * kinds of pages such as [vvar]); the VMA never owns or frees it, and the
 * application can never make it writable (mprotect gives EACCES).
 */
int mm_map_special(struct mm *mm, uint64_t addr, uint64_t len, int prot,
		   uint64_t off);
/*
 * mm_map_file - map bytes [@foff, @foff+@len) of host file @mf (whose view
 * covers them) at @addr, MAP_SHARED when @shared, else private
 * (copy-on-write into the memory file on the first write).  The VMA takes
 * its own reference on @mf.  With @copy_now (small writable private
 * mappings: ld.so's data segments, which are written at once) the private
 * pages are copied now instead of at the first write fault.
 * Return: 0, -ENOMEM, -EFAULT (@copy_now and the file is shorter), or the
 * platform's error.
 */
int mm_map_file(struct mm *mm, uint64_t addr, uint64_t len, int prot,
		struct mfile *mf, uint64_t foff, bool shared, bool copy_now);
int mm_unmap(struct mm *mm, uint64_t addr, uint64_t len);
/* mm_protect - Return: -ENOMEM if part of the range is unmapped, -EACCES
 * when asked to make a VMA_SPECIAL page, or a MAP_SHARED mapping of a
 * file not opened for writing, writable. */
int mm_protect(struct mm *mm, uint64_t addr, uint64_t len, int prot);
/* mm_zero - MADV_DONTNEED: private anonymous pages read back as zero. */
int mm_zero(struct mm *mm, uint64_t addr, uint64_t len);

/*
 * mm_remap - mremap(2) on aligned arguments: @flags MREMAP_MAYMOVE,
 * MREMAP_FIXED (with @new_addr).  Return: the new address or -errno.
 */
int64_t mm_remap(struct mm *mm, uint64_t old_addr, uint64_t old_len,
		 uint64_t new_len, int flags, uint64_t new_addr);

/* mm_brk - brk(2): returns the new (or unchanged) break. */
uint64_t mm_brk(struct mm *mm, uint64_t new_brk);

/*
 * mm_fault - handle a fault at @addr: break copy-on-write, grow a stack,
 * or say why it is a real fault.  Return: 0 when handled (retry), -EFAULT
 * for SIGSEGV with *@si_code set to SEGV_MAPERR or SEGV_ACCERR, or -ENXIO
 * for SIGBUS (*@si_code BUS_ADRERR: a file page past the end of the file).
 */
int mm_fault(struct mm *mm, uint64_t addr, unsigned access, int *si_code);

/*
 * Copies between the core and application memory, checked against the
 * VMAs: -EFAULT if any byte is unmapped or lacks the access (reads need a
 * readable VMA, writes a writable one), as the kernel's copy_*_user.
 */
int mm_copy_in(struct mm *mm, void *dst, uint64_t src, size_t len);
int mm_copy_out(struct mm *mm, uint64_t dst, const void *src, size_t len);
/* mm_copy_str - a NUL-terminated string of at most @max bytes with the
 * NUL: length, or -EFAULT, or -ENAMETOOLONG when no NUL in @max. */
int mm_copy_str(struct mm *mm, char *dst, uint64_t src, size_t max);
/*
 * mm_gather / mm_scatter - copy between one core buffer of @len bytes and
 * the application buffers of an iovec array (already copied in), in order,
 * stopping after @len bytes.  Return: 0 or -EFAULT.
 */
struct iovec;
int mm_gather(struct mm *mm, void *dst, const struct iovec *iov, size_t cnt,
	      size_t len);
int mm_scatter(struct mm *mm, const struct iovec *iov, size_t cnt,
	       const void *src, size_t len);
/* mm_poke - write ignoring protection (the ELF loader, stack setup). */
int mm_poke(struct mm *mm, uint64_t dst, const void *src, size_t len);

#endif
