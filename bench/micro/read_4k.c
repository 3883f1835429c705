/*
 * read_4k: read(2) of 4 KiB from /dev/zero (needs the file system, #4).
 * One figure: ns per read.
 */
#include <fcntl.h>
#include <unistd.h>

#include "micro.h"

#define ITERS 1000

int main(void)
{
	double v[MICRO_ROUNDS];
	static char buf[4096];
	int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		micro_fail("read_4k", "open /dev/zero");
	for (int r = 0; r < MICRO_ROUNDS; r++) {
		double t0 = micro_now_ns();

		for (int i = 0; i < ITERS; i++)
			if (read(fd, buf, sizeof(buf)) != sizeof(buf))
				micro_fail("read_4k", "read");
		v[r] = (micro_now_ns() - t0) / ITERS;
	}
	micro_report("read_4k", micro_median(v, MICRO_ROUNDS), "ns");
	close(fd);
	return 0;
}
