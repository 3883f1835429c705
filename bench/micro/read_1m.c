/*
 * read_1m: sequential read of a 1 MiB file in 64 KiB read(2) calls, from
 * the start each round (page-cache warm).  The file is created in $TMPDIR
 * (default /tmp) and unlinked at once (needs the file system, #4).
 * One figure: us per MiB.
 */
#include <fcntl.h>
#include <unistd.h>

#include "micro.h"

#define SIZE (1 << 20)
#define CHUNK (64 << 10)
#define ITERS 20

static char buf[CHUNK];

static int make_file(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/sbxbench-read_1m-XXXXXX",
		 dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	if (fd < 0)
		micro_fail("read_1m", "mkstemp");
	unlink(path);
	memset(buf, 'x', sizeof(buf));
	for (int i = 0; i < SIZE / CHUNK; i++)
		if (write(fd, buf, CHUNK) != CHUNK)
			micro_fail("read_1m", "write");
	return fd;
}

int main(void)
{
	double v[MICRO_ROUNDS];
	int fd = make_file();

	for (int r = 0; r < MICRO_ROUNDS; r++) {
		double t0 = micro_now_ns();

		for (int i = 0; i < ITERS; i++) {
			if (lseek(fd, 0, SEEK_SET) < 0)
				micro_fail("read_1m", "lseek");
			for (int c = 0; c < SIZE / CHUNK; c++)
				if (read(fd, buf, CHUNK) != CHUNK)
					micro_fail("read_1m", "read");
		}
		v[r] = (micro_now_ns() - t0) / ITERS / 1000;
	}
	micro_report("read_1m", micro_median(v, MICRO_ROUNDS), "us");
	close(fd);
	return 0;
}
