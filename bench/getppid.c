/*
 * getppid [N [R]]: the cost of the cheapest system call.  Each of R rounds
 * (default 11) times N (default 20000) raw getppid syscalls, not libc's
 * wrapper, so nothing is cached; prints the median of the rounds as
 * `getppid_ns VALUE ns` (per call).  Static, so it runs under sbxrun.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUNDS 101

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;
	int rounds = argc > 2 ? atoi(argv[2]) : 11;
	double v[MAX_ROUNDS];

	if (n < 1 || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: getppid [N [R]] (R <= %d)\n",
			MAX_ROUNDS);
		return 2;
	}
	for (int r = 0; r < rounds; r++) {
		double t0 = now_ns();

		for (long i = 0; i < n; i++)
			syscall(SYS_getppid);
		v[r] = (now_ns() - t0) / (double)n;
	}
	qsort(v, (size_t)rounds, sizeof(v[0]), cmp);
	printf("getppid_ns %.1f ns\n", v[rounds / 2]);
	return 0;
}
