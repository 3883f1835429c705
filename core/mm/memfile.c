/*
 * The memory file (see memfile.h).
 *
 * Free space is a sorted array of free extents, first fit, coalesced on
 * free.  Allocation never touches pages; the host allocates them on first
 * touch and fallocate(PUNCH_HOLE) gives them back, so freed memory reads as
 * zero when it is handed out again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

int memfile_copy(uint64_t dst, uint64_t src, uint64_t len)
{
	uint64_t at = src, end = src + len;

	while (at < end) {
		off_t data = lseek(mf.fd, (off_t)at, SEEK_DATA);
		off_t hole;

		if (data < 0 || (uint64_t)data >= end)
			break; /* only holes left */
		hole = lseek(mf.fd, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > end)
			hole = (off_t)end;
		memcpy(mf.base + dst + ((uint64_t)data - src), mf.base + data,
		       (size_t)(hole - data));
		at = (uint64_t)hole;
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
