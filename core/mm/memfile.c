/*
 * The memory file (see memfile.h).
 *
 * Free space is a sorted array of free extents, first fit, coalesced on
 * free.  Allocation never touches pages; the host allocates them on first
 * touch and fallocate(PUNCH_HOLE) gives them back, so freed memory reads as
 * zero when it is handed out again.
 *
 * Pages shared by several VMAs (copy-on-write after fork, MAP_SHARED
 * anonymous memory inherited by a child) carry a count of their extra
 * references in a sparse array, one uint32_t per page, zero for the usual
 * single owner: memfile_unref frees a page only when its last owner lets
 * go.  The counts change with atomics, so address spaces sharing pages need
 * no common lock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "memfile.h"

struct extent {
	uint64_t off, len;
};

static struct {
	int fd;
	uint8_t *base;
	uint64_t size;
	struct extent *free;
	size_t n_free, cap_free;
	uint32_t *extra; /* per page: references beyond the first */
	pthread_mutex_t lock;
} mf = { .fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

int memfile_init(uint64_t size)
{
	int err;

	mf.fd = memfd_create("sbx-memory", MFD_CLOEXEC);
	if (mf.fd < 0)
		return -errno;
	if (ftruncate(mf.fd, (off_t)size) < 0)
		goto out_close;
	mf.base = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_NORESERVE, mf.fd, 0);
	if (mf.base == MAP_FAILED)
		goto out_close;
	/* sparse like the file: only pages of counts ever shared cost */
	mf.extra = mmap(NULL, size / 4096 * sizeof(uint32_t),
			PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mf.extra == MAP_FAILED) {
		mf.extra = NULL;
		goto out_unmap;
	}
	mf.free = malloc(sizeof(*mf.free) * 16);
	if (!mf.free) {
		errno = ENOMEM;
		goto out_unmap;
	}
	mf.cap_free = 16;
	mf.n_free = 1;
	mf.free[0] = (struct extent){ 0, size };
	mf.size = size;
	return 0;

out_unmap:
	err = errno;
	if (mf.extra)
		munmap(mf.extra, size / 4096 * sizeof(uint32_t));
	mf.extra = NULL;
	munmap(mf.base, size);
	errno = err;
out_close:
	err = errno;
	close(mf.fd);
	mf.fd = -1;
	return -err;
}

void memfile_fini(void)
{
	if (mf.fd < 0)
		return;
	munmap(mf.base, mf.size);
	munmap(mf.extra, mf.size / 4096 * sizeof(uint32_t));
	mf.extra = NULL;
	close(mf.fd);
	free(mf.free);
	mf.free = NULL;
	mf.n_free = mf.cap_free = 0;
	mf.fd = -1;
}

int memfile_fd(void)
{
	return mf.fd;
}

void *memfile_ptr(uint64_t off)
{
	return mf.base + off;
}

/* carve - take @len bytes from the front of free extent @i (lock held). */
static void carve(size_t i, uint64_t len)
{
	struct extent *e = &mf.free[i];

	e->off += len;
	e->len -= len;
	if (e->len == 0) {
		memmove(e, e + 1, (mf.n_free - i - 1) * sizeof(*e));
		mf.n_free--;
	}
}

int memfile_alloc(uint64_t len, uint64_t *off)
{
	int ret = -ENOMEM;

	pthread_mutex_lock(&mf.lock);
	for (size_t i = 0; i < mf.n_free; i++) {
		struct extent *e = &mf.free[i];

		if (e->len < len)
			continue;
		*off = e->off;
		carve(i, len);
		ret = 0;
		break;
	}
	pthread_mutex_unlock(&mf.lock);
	return ret;
}

void memfile_zero(uint64_t off, uint64_t len)
{
	if (len)
		fallocate(mf.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			  (off_t)off, (off_t)len);
}

/* insert_free - add [off, off+len) to the sorted free list, coalescing. */
static int insert_free(uint64_t off, uint64_t len)
{
	size_t i = 0;

	while (i < mf.n_free && mf.free[i].off < off)
		i++;
	if (i > 0 && mf.free[i - 1].off + mf.free[i - 1].len == off) {
		mf.free[i - 1].len += len;
		if (i < mf.n_free && off + len == mf.free[i].off) {
			mf.free[i - 1].len += mf.free[i].len;
			memmove(&mf.free[i], &mf.free[i + 1],
				(mf.n_free - i - 1) * sizeof(mf.free[0]));
			mf.n_free--;
		}
		return 0;
	}
	if (i < mf.n_free && off + len == mf.free[i].off) {
		mf.free[i].off = off;
		mf.free[i].len += len;
		return 0;
	}
	if (mf.n_free == mf.cap_free) {
		struct extent *n = realloc(mf.free, 2 * mf.cap_free * sizeof(*n));

		if (!n)
			return -ENOMEM; /* the range leaks, pages are dropped */
		mf.free = n;
		mf.cap_free *= 2;
	}
	memmove(&mf.free[i + 1], &mf.free[i], (mf.n_free - i) * sizeof(mf.free[0]));
	mf.free[i] = (struct extent){ off, len };
	mf.n_free++;
	return 0;
}

void memfile_free(uint64_t off, uint64_t len)
{
	if (!len)
		return;
	memfile_zero(off, len);
	pthread_mutex_lock(&mf.lock);
	insert_free(off, len);
	pthread_mutex_unlock(&mf.lock);
}

uint64_t memfile_next_data(uint64_t off, uint64_t end)
{
	off_t r = off < end ? lseek(mf.fd, (off_t)off, SEEK_DATA) : -1;

	return r < 0 || (uint64_t)r > end ? end : (uint64_t)r;
}

uint64_t memfile_next_hole(uint64_t off, uint64_t end)
{
	off_t r = off < end ? lseek(mf.fd, (off_t)off, SEEK_HOLE) : -1;

	return r < 0 || (uint64_t)r > end ? end : (uint64_t)r;
}

int memfile_copy(uint64_t dst, uint64_t src, uint64_t len)
{
	uint64_t end = src + len, data, hole;

	for (data = memfile_next_data(src, end); data < end;
	     data = memfile_next_data(hole, end)) {
		hole = memfile_next_hole(data, end);
		memcpy(mf.base + dst + (data - src), mf.base + data,
		       (size_t)(hole - data));
	}
	return 0;
}

int memfile_try_extend(uint64_t end, uint64_t len)
{
	int ret = -ENOMEM;

	pthread_mutex_lock(&mf.lock);
	for (size_t i = 0; i < mf.n_free; i++) {
		struct extent *e = &mf.free[i];

		if (e->off != end)
			continue;
		if (e->len >= len) {
			carve(i, len);
			ret = 0;
		}
		break;
	}
	pthread_mutex_unlock(&mf.lock);
	return ret;
}

/* ---- shared pages ---- */

void memfile_share(uint64_t off, uint64_t len)
{
	for (uint64_t pg = off / 4096; pg < (off + len) / 4096; pg++)
		__atomic_add_fetch(&mf.extra[pg], 1, __ATOMIC_RELAXED);
}

bool memfile_page_shared(uint64_t off)
{
	return __atomic_load_n(&mf.extra[off / 4096], __ATOMIC_ACQUIRE) != 0;
}

/* unref_page - drop one reference; true when it was the last one.  Only an
 * owner can add references (by forking), so a count seen as zero by its
 * owner cannot rise behind its back. */
static bool unref_page(uint64_t pg)
{
	uint32_t v = __atomic_load_n(&mf.extra[pg], __ATOMIC_ACQUIRE);

	while (v) {
		if (__atomic_compare_exchange_n(&mf.extra[pg], &v, v - 1, false,
						__ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return false;
	}
	return true;
}

void memfile_unref(uint64_t off, uint64_t len)
{
	uint64_t run = 0, pg, end = (off + len) / 4096;

	/* free the pages whose last reference this was, in runs */
	for (pg = off / 4096; pg < end; pg++) {
		if (unref_page(pg)) {
			run++;
			continue;
		}
		memfile_free((pg - run) * 4096, run * 4096);
		run = 0;
	}
	memfile_free((pg - run) * 4096, run * 4096);
}
