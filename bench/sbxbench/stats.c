/*
 * Statistics for sbxbench (see stats.h): median and min/max of a sample,
 * then paired ratios.  Pure functions, no I/O; unit-tested by
 * tests/unit/test_sbxbench.c.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

/* ---- one sample -------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int stats_median(const double *v, size_t n, double *out)
{
	double *s;

	if (n == 0)
		return -EINVAL;
	s = malloc(n * sizeof(*s));
	if (!s)
		return -ENOMEM;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	*out = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	free(s);
	return 0;
}

int stats_minmax(const double *v, size_t n, double *min, double *max)
{
	if (n == 0)
		return -EINVAL;
	*min = *max = v[0];
	for (size_t i = 1; i < n; i++) {
		if (v[i] < *min)
			*min = v[i];
		if (v[i] > *max)
			*max = v[i];
	}
	return 0;
}

/* ---- pairs ------------------------------------------------------------- */

int stats_paired_ratios(const double *num, const double *den, size_t n,
			double *r, size_t *nr)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (!isfinite(num[i]) || !isfinite(den[i]) || den[i] == 0)
			continue;
		r[k++] = num[i] / den[i];
	}
	*nr = k;
	return k ? 0 : -EINVAL;
}

int stats_paired_ratio(const double *num, const double *den, size_t n,
		       double *out)
{
	double *r;
	size_t nr;
	int err;

	if (n == 0)
		return -EINVAL;
	r = malloc(n * sizeof(*r));
	if (!r)
		return -ENOMEM;
	err = stats_paired_ratios(num, den, n, r, &nr);
	if (!err)
		err = stats_median(r, nr, out);
	free(r);
	return err;
}
