/*
 * getppid: the round trip of the cheapest system call (the raw syscall, so
 * libc caching cannot hide it).  One figure: ns per call.
 */
#include <sys/syscall.h>
#include <unistd.h>

#include "micro.h"

#define ITERS 2000

int main(void)
{
	double v[MICRO_ROUNDS];

	for (int r = 0; r < MICRO_ROUNDS; r++) {
		double t0 = micro_now_ns();

		for (int i = 0; i < ITERS; i++)
			syscall(SYS_getppid);
		v[r] = (micro_now_ns() - t0) / ITERS;
	}
	micro_report("getppid", micro_median(v, MICRO_ROUNDS), "ns");
	return 0;
}
