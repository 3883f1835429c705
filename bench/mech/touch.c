/*
 * touch: the page-fault-heavy benchmark of the kvm platform issue: map
 * MIB MiB of anonymous memory (default 256) and write one byte to each
 * 4 KiB page, natively or under sbxrun, to compare platforms (kvm must not
 * exit per page: its page tables map the whole range at mmap time and the
 * faults stay in the host kernel).  Static; prints `name value unit`
 * lines: the median of ROUNDS rounds, each on a fresh mapping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sys/mman.h>

#define ROUNDS 5

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 256;
	size_t len = mib << 20, pages = len / 4096, i;
	double v[ROUNDS];
	int r;

	for (r = 0; r < ROUNDS; r++) {
		volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		double t0;

		if (p == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		madvise((void *)p, len, MADV_NOHUGEPAGE); /* best effort */
		t0 = now_ns();
		for (i = 0; i < pages; i++)
			p[i * 4096] = 1;
		v[r] = now_ns() - t0;
		munmap((void *)p, len);
	}
	qsort(v, ROUNDS, sizeof(v[0]), cmp);
	printf("touch_%zum_ms %.1f ms\n", mib, v[ROUNDS / 2] / 1e6);
	printf("touch_%zum_per_page %.0f ns\n", mib, v[ROUNDS / 2] / pages);
	return 0;
}
