/*
 * page_fault: first write to each page of a fresh anonymous mapping (4 MiB,
 * mapped and unmapped outside the timed part of each round; transparent
 * huge pages are refused with MADV_NOHUGEPAGE so every 4 KiB page faults).
 * One figure: ns per page.
 */
#include <sys/mman.h>

#include "micro.h"

#define PAGES 1024

int main(void)
{
	double v[MICRO_ROUNDS];
	size_t len = (size_t)PAGES * 4096;

	for (int r = 0; r < MICRO_ROUNDS; r++) {
		volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		double t0;

		if (p == MAP_FAILED)
			micro_fail("page_fault", "mmap");
		madvise((void *)p, len, MADV_NOHUGEPAGE); /* best effort */
		t0 = micro_now_ns();
		for (size_t i = 0; i < PAGES; i++)
			p[i * 4096] = 1;
		v[r] = (micro_now_ns() - t0) / PAGES;
		if (munmap((void *)p, len) < 0)
			micro_fail("page_fault", "munmap");
	}
	micro_report("page_fault", micro_median(v, MICRO_ROUNDS), "ns");
	return 0;
}
