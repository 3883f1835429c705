/*
 * mmap_file: a 64 MiB file read through mmap versus read(2), page-cache
 * warm.  The file is $MMAP_FILE when set (an existing file of at least
 * 64 MiB: in the sandbox, a host file the gofer donates), else a file made
 * in $TMPDIR (default /tmp) and unlinked at once.
 * Figures (ms per 64 MiB): mmap_private_touch (MAP_PRIVATE PROT_READ,
 * read one byte per page, munmap), mmap_shared_touch (the same with
 * MAP_SHARED), read_64m (read(2) in 1 MiB calls into one buffer).
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "micro.h"

#define SIZE (64 << 20)
#define CHUNK (1 << 20)
#define PAGE 4096

static char buf[CHUNK];

static int open_file(void)
{
	const char *name = getenv("MMAP_FILE");
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (name && *name) {
		fd = open(name, O_RDONLY);
		if (fd < 0)
			micro_fail("mmap_file", name);
		if (lseek(fd, 0, SEEK_END) < SIZE) {
			errno = EINVAL;
			micro_fail("mmap_file", "MMAP_FILE shorter than 64 MiB");
		}
		return fd;
	}
	snprintf(path, sizeof(path), "%s/sbxbench-mmap_file-XXXXXX",
		 dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	if (fd < 0)
		micro_fail("mmap_file", "mkstemp");
	unlink(path);
	memset(buf, 'x', sizeof(buf));
	for (int i = 0; i < SIZE / CHUNK; i++)
		if (write(fd, buf, CHUNK) != CHUNK)
			micro_fail("mmap_file", "write");
	return fd;
}

static double touch(int fd, int type)
{
	volatile unsigned sum = 0;
	double t0 = micro_now_ns();
	unsigned char *p = mmap(NULL, SIZE, PROT_READ, type, fd, 0);

	if (p == MAP_FAILED)
		micro_fail("mmap_file", "mmap");
	for (size_t at = 0; at < SIZE; at += PAGE)
		sum += p[at];
	munmap(p, SIZE);
	return (micro_now_ns() - t0) / 1e6;
}

static double read_all(int fd)
{
	double t0 = micro_now_ns();

	for (off_t at = 0; at < SIZE; at += CHUNK)
		if (pread(fd, buf, CHUNK, at) != CHUNK)
			micro_fail("mmap_file", "pread");
	return (micro_now_ns() - t0) / 1e6;
}

int main(void)
{
	double v[3][MICRO_ROUNDS];
	int fd = open_file();

	read_all(fd); /* warm the page cache */
	for (int r = 0; r < MICRO_ROUNDS; r++) {
		v[0][r] = touch(fd, MAP_PRIVATE);
		v[1][r] = touch(fd, MAP_SHARED);
		v[2][r] = read_all(fd);
	}
	micro_report("mmap_private_touch", micro_median(v[0], MICRO_ROUNDS), "ms");
	micro_report("mmap_shared_touch", micro_median(v[1], MICRO_ROUNDS), "ms");
	micro_report("read_64m", micro_median(v[2], MICRO_ROUNDS), "ms");
	close(fd);
	return 0;
}
