/*
 * stat: stat(2) of an existing regular file, /etc/passwd (needs the file
 * system, #4).  One figure: ns per call.
 */
#include <sys/stat.h>

#include "micro.h"

#define ITERS 500
#define PATH "/etc/passwd"

int main(void)
{
	double v[MICRO_ROUNDS];
	struct stat st;

	for (int r = 0; r < MICRO_ROUNDS; r++) {
		double t0 = micro_now_ns();

		for (int i = 0; i < ITERS; i++)
			if (stat(PATH, &st) < 0)
				micro_fail("stat", "stat " PATH);
		v[r] = (micro_now_ns() - t0) / ITERS;
	}
	micro_report("stat", micro_median(v, MICRO_ROUNDS), "ns");
	return 0;
}
