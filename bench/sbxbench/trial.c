/*
 * Summaries of a trial (see trial.h): column look-ups, then per-cell
 * statistics and the paired ratios to the native and first-platform cells.
 */
#include <errno.h>
#include <math.h>

#include "stats.h"
#include "trial.h"

/* ---- look-ups ---------------------------------------------------------- */

static int find_kind(const struct trial *t, enum col_kind k)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (t->cols[i].kind == k)
			return (int)i;
	return -1;
}

int trial_native(const struct trial *t)
{
	return find_kind(t, COL_NATIVE);
}

int trial_first(const struct trial *t)
{
	return find_kind(t, COL_PLATFORM);
}

const char *cell_status_name(enum cell_status s)
{
	switch (s) {
	case CELL_OK: return "ok";
	case CELL_FAILED: return "failed";
	case CELL_SKIPPED: return "skipped";
	case CELL_NA: return "n/a";
	}
	return "?";
}

const char *col_kind_name(enum col_kind k)
{
	switch (k) {
	case COL_NATIVE: return "native";
	case COL_PLATFORM: return "platform";
	case COL_PEER: return "peer";
	}
	return "?";
}

size_t trial_failed(const struct trial *t)
{
	size_t n = 0;

	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++)
			n += t->rows[r].cells[c].status == CELL_FAILED;
	return n;
}

/* ---- statistics -------------------------------------------------------- */

/* ratio - paired ratio of @c to @ref over the runs both have; NAN if
 * either is not OK. */
static int ratio(const struct cell *c, const struct cell *ref, double *out)
{
	size_t n = c->n < ref->n ? c->n : ref->n;
	int err;

	*out = NAN;
	if (c->status != CELL_OK || ref->status != CELL_OK || n == 0)
		return 0;
	err = stats_paired_ratio(c->v, ref->v, n, out);
	if (err == -EINVAL)
		*out = NAN;
	return err == -ENOMEM ? err : 0;
}

static int compute_cell(struct cell *c)
{
	int err;

	c->median = c->min = c->max = NAN;
	c->ratio_native = c->ratio_first = NAN;
	if (c->status != CELL_OK || c->n == 0)
		return 0;
	err = stats_median(c->v, c->n, &c->median);
	if (err)
		return err;
	return stats_minmax(c->v, c->n, &c->min, &c->max);
}

int trial_compute(struct trial *t)
{
	int nat = trial_native(t), first = trial_first(t);
	int err;

	for (size_t r = 0; r < t->nrows; r++) {
		struct cell *cells = t->rows[r].cells;

		for (size_t c = 0; c < t->ncols; c++) {
			err = compute_cell(&cells[c]);
			if (err)
				return err;
		}
		for (size_t c = 0; c < t->ncols; c++) {
			if (nat >= 0) {
				err = ratio(&cells[c], &cells[nat],
					    &cells[c].ratio_native);
				if (err)
					return err;
			}
			if (first >= 0) {
				err = ratio(&cells[c], &cells[first],
					    &cells[c].ratio_first);
				if (err)
					return err;
			}
		}
	}
	return 0;
}
