/*
 * open_close: open(2) and close(2) of an existing regular file, /etc/passwd
 * (needs the file system, #4).  One figure: ns per open+close pair.
 */
#include <fcntl.h>
#include <unistd.h>

#include "micro.h"

#define ITERS 500
#define PATH "/etc/passwd"

int main(void)
{
	double v[MICRO_ROUNDS];

	for (int r = 0; r < MICRO_ROUNDS; r++) {
		double t0 = micro_now_ns();

		for (int i = 0; i < ITERS; i++) {
			int fd = open(PATH, O_RDONLY | O_CLOEXEC);

			if (fd < 0)
				micro_fail("open_close", "open " PATH);
			close(fd);
		}
		v[r] = (micro_now_ns() - t0) / ITERS;
	}
	micro_report("open_close", micro_median(v, MICRO_ROUNDS), "ns");
	return 0;
}
