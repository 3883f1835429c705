/*
 * mmap_munmap: map and unmap one anonymous private 4 KiB page, untouched.
 * One figure: ns per mmap+munmap pair.
 */
#include <sys/mman.h>

#include "micro.h"

#define ITERS 500

int main(void)
{
	double v[MICRO_ROUNDS];

	for (int r = 0; r < MICRO_ROUNDS; r++) {
		double t0 = micro_now_ns();

		for (int i = 0; i < ITERS; i++) {
			void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p == MAP_FAILED)
				micro_fail("mmap_munmap", "mmap");
			if (munmap(p, 4096) < 0)
				micro_fail("mmap_munmap", "munmap");
		}
		v[r] = (micro_now_ns() - t0) / ITERS;
	}
	micro_report("mmap_munmap", micro_median(v, MICRO_ROUNDS), "ns");
	return 0;
}
