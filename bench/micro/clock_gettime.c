/*
 * clock_gettime: CLOCK_MONOTONIC through libc, as programs call it: the
 * host's vDSO natively, sbx's vDSO (#8) in the sandbox, a system call where
 * neither is there.  One figure: ns per call.
 */
#include "micro.h"

#define ITERS 2000

int main(void)
{
	double v[MICRO_ROUNDS];
	struct timespec ts;

	for (int r = 0; r < MICRO_ROUNDS; r++) {
		double t0 = micro_now_ns();

		for (int i = 0; i < ITERS; i++)
			if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
				micro_fail("clock_gettime", "clock_gettime");
		v[r] = (micro_now_ns() - t0) / ITERS;
	}
	micro_report("clock_gettime", micro_median(v, MICRO_ROUNDS), "ns");
	return 0;
}
