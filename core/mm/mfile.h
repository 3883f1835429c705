/*
 * Mapped host files: what a file-backed VMA holds on to.
 *
 * A struct mfile is made by mmap(2) of a file that has a host fd (a file
 * the gofer donated).  It owns a duplicate of that fd (platforms map it
 * into the application's address space, for the mapping's whole life:
 * fork, mremap and copy-on-write need it again later) and the core's own
 * MAP_SHARED view of the file, through which the core's copies to and
 * from the application (read(2) into a buffer, signal frames, futex words,
 * path names) reach the same page-cache pages the application sees.
 *
 * The view may lie beyond the end of the file (mappings may, as Linux's),
 * and the file may shrink under it at any time (another process, or the
 * host), so the core touches it only through mfile_read/mfile_write, which
 * turn the resulting SIGBUS into -EFAULT instead of a crash of the core.
 *
 * Reference counted (atomics): VMAs in any address space share one, and
 * an open file caches the last one made for it so that the several mmaps
 * ld.so makes of one library share one fd and one view.  Releasing takes
 * no lock: safe under mm->lock or the kernel lock.
 */
#ifndef SBX_MM_MFILE_H
#define SBX_MM_MFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mfile {
	int refs;	/* atomic */
	int fd;		/* owned duplicate of the open file's host fd */
	uint8_t *view;	/* the core's view of file bytes [0, vlen) */
	uint64_t vlen;
	bool writable;	/* opened O_RDWR: the view (and MAP_SHARED
			   mappings) may be written */
	uint64_t dev, ino; /* as the application's fstat shows them */
	char *path;	/* the sandbox path at mmap time (/proc maps) */
};

/*
 * mfile_guard_init - install the core's SIGBUS handler (once, at start-up,
 * before any thread): a SIGBUS inside mfile_read/mfile_write ends that
 * copy with -EFAULT; any other SIGBUS keeps its default action.
 */
int mfile_guard_init(void);

/*
 * mfile_new - a mapped file for host fd @fd (duplicated; the caller keeps
 * @fd) whose view covers at least @len bytes.  @path is copied.
 * Return: 0 and *@out with one reference, or -errno (-ENOMEM, -EMFILE,
 * -EACCES ...).
 */
int mfile_new(int fd, bool writable, uint64_t len, uint64_t dev, uint64_t ino,
	      const char *path, struct mfile **out);
/* mfile_extend - a new mapped file for the same file whose view covers
 * @len bytes (mremap growing past the view). */
int mfile_extend(const struct mfile *mf, uint64_t len, struct mfile **out);
void mfile_get(struct mfile *mf);
void mfile_put(struct mfile *mf);

/* mfile_size - the file's current size, or 0 if fstat fails. */
uint64_t mfile_size(const struct mfile *mf);

/*
 * mfile_read / mfile_write - copy between the core and file bytes
 * [@off, @off+@len) through the view (which must cover them).
 * Return: 0, or -EFAULT when a page lies past the end of the file (the
 * copy may have been partly done).
 */
int mfile_read(const struct mfile *mf, uint64_t off, void *dst, size_t len);
int mfile_write(struct mfile *mf, uint64_t off, const void *src, size_t len);

#endif
