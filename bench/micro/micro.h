/*
 * Shared helpers of the micro benchmark programs (static, run natively and
 * inside the sandbox by sbxbench --suite micro).
 *
 * Divided into: the clock, the median of inner rounds, reporting.
 *
 * Contract with sbxbench: a program prints one `name value unit` line per
 * figure on stdout and exits 0; on any failure it prints `PROG: what:
 * strerror` on stderr and exits 1, never printing a figure it did not
 * measure.  Each figure is the median over MICRO_ROUNDS inner rounds of the
 * per-operation time of one round.
 */
#ifndef SBX_BENCH_MICRO_H
#define SBX_BENCH_MICRO_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MICRO_ROUNDS 11

static inline double micro_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline int micro_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* micro_median - sorts @v in place; @n is MICRO_ROUNDS, never 0. */
static inline double micro_median(double *v, int n)
{
	qsort(v, n, sizeof(*v), micro_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* micro_fail - report @what with the current errno and exit 1. */
static inline void micro_fail(const char *prog, const char *what)
{
	int e = errno;

	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(e));
	exit(1);
}

static inline void micro_report(const char *name, double value,
				const char *unit)
{
	printf("%s %.1f %s\n", name, value, unit);
	fflush(stdout);
}

#endif
