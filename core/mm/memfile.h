/*
 * The memory file: one memfd owned by the core that holds all anonymous
 * application memory.  The core maps the whole file once, so copying to or
 * from the application is a bounds-checked memcpy; platforms map ranges of
 * the same file into application address spaces.  Offsets are handed out
 * in page-aligned extents and their pages released (hole punch) when freed.
 */
#ifndef SBX_MM_MEMFILE_H
#define SBX_MM_MEMFILE_H

#include <stdbool.h>
#include <stdint.h>

#define MEMFILE_DEFAULT_SIZE (64ULL << 30) /* sparse: costs nothing unused */

/* memfile_init - create and map the file.  Return: 0 or -errno. */
int memfile_init(uint64_t size);
void memfile_fini(void);

int memfile_fd(void);

/* memfile_ptr - the core's view of @off (which must lie in the file). */
void *memfile_ptr(uint64_t off);

/* memfile_alloc - reserve @len bytes (page multiple) of zeroed pages. */
int memfile_alloc(uint64_t len, uint64_t *off);

/* memfile_free - release [@off, @off+@len): pages are dropped (zeroed). */
void memfile_free(uint64_t off, uint64_t len);

/* memfile_zero - drop the pages of a range but keep it allocated. */
void memfile_zero(uint64_t off, uint64_t len);

/* memfile_copy - copy [@src, @src+@len) to @dst, skipping holes (so
 * untouched memory stays unallocated).  Return: 0 or -errno. */
int memfile_copy(uint64_t dst, uint64_t src, uint64_t len);

/* memfile_next_data / memfile_next_hole - the first byte at or after @off
 * that holds data (or is a hole), page granular; @end when none before. */
uint64_t memfile_next_data(uint64_t off, uint64_t end);
uint64_t memfile_next_hole(uint64_t off, uint64_t end);

/* memfile_try_extend - grow the extent ending at @end by @len in place. */
int memfile_try_extend(uint64_t end, uint64_t len);

/*
 * Shared pages (fork's copy-on-write, MAP_SHARED anonymous memory in a
 * child).  memfile_share adds a reference to every page of a range;
 * memfile_unref drops one and frees the pages that had no other;
 * memfile_page_shared tells whether a page has more than one owner.  A
 * range that was never shared may still be released with memfile_free.
 */
void memfile_share(uint64_t off, uint64_t len);
void memfile_unref(uint64_t off, uint64_t len);
bool memfile_page_shared(uint64_t off);

#endif
