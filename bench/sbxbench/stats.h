/*
 * Statistics of one cell of an sbxbench trial: median, min/max, and the
 * median of paired ratios between two cells (run i against run i: runs are
 * interleaved, so pairs share the machine's state and drift cancels).
 */
#ifndef SBX_BENCH_STATS_H
#define SBX_BENCH_STATS_H

#include <stddef.h>

/* stats_median - median of @v[0..n) (mean of the two middle values when @n
 * is even); @v is not changed.  Return: 0, -EINVAL when @n is 0, -ENOMEM. */
int stats_median(const double *v, size_t n, double *out);

/* stats_minmax - smallest and largest of @v[0..n).  Return: 0 or -EINVAL
 * when @n is 0. */
int stats_minmax(const double *v, size_t n, double *min, double *max);

/*
 * stats_paired_ratios - r[i] = @num[i] / @den[i] for i < @n, skipping pairs
 * whose denominator is 0 or either value is not finite; the ratios go to
 * @r (room for @n) and their count to *@nr.  Return: 0, or -EINVAL when no
 * pair is usable.
 */
int stats_paired_ratios(const double *num, const double *den, size_t n,
			double *r, size_t *nr);

/* stats_paired_ratio - median of stats_paired_ratios().  Return: as
 * stats_paired_ratios(), or -ENOMEM. */
int stats_paired_ratio(const double *num, const double *den, size_t n,
		       double *out);

#endif
