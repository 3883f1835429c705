/*
 * The data of one sbxbench trial: columns (native, each platform, a peer),
 * rows (one figure of one workload: a benchmark), and a cell per row and
 * column holding the samples of its runs.  Filled by sbxbench.c, summarised
 * by trial_compute(), written by report.c.
 */
#ifndef SBX_BENCH_TRIAL_H
#define SBX_BENCH_TRIAL_H

#include <stdbool.h>
#include <stddef.h>

enum col_kind { COL_NATIVE, COL_PLATFORM, COL_PEER };

struct column {
	enum col_kind kind;
	char *name;	/* "native", a platform name, "runsc" */
	char *platform;	/* what --platform gets (COL_PLATFORM only) */
	char **prefix;	/* argv before the workload's, NULL-terminated */
};

enum cell_status {
	CELL_OK,	/* every run succeeded */
	CELL_FAILED,	/* a run failed: see note */
	CELL_SKIPPED,	/* failed, and the workload needs a missing feature */
	CELL_NA,	/* this figure does not exist for this column */
};

struct cell {
	enum cell_status status;
	double *v;		/* one sample per run, in round order */
	size_t n;
	char *note;		/* why it failed or was skipped, or NULL */
	/* filled by trial_compute(); NAN when not available */
	double median, min, max;
	double ratio_native, ratio_first;
};

struct row {
	char *workload;	/* program or command name */
	char *metric;	/* the figure's name */
	char *unit;
	char *needs;	/* missing feature that makes sandbox failures skips */
	struct cell *cells;	/* one per column */
};

struct trial {
	struct column *cols;
	size_t ncols;
	struct row *rows;
	size_t nrows;
	unsigned runs, warmup;
	char *command;	/* how sbxbench was invoked, for the record */
	char date[32];	/* UTC, ISO 8601 */
	char host[256];	/* uname -srm, CPU count */
	const char *const *notes;	/* what the measurements cover */
};

/* trial_native / trial_first - index of the native column / of the first
 * platform column, or -1. */
int trial_native(const struct trial *t);
int trial_first(const struct trial *t);

/* trial_compute - median, min, max and paired ratios of every OK cell.
 * Ratios need both cells OK; they are NAN otherwise.  Return: 0 or
 * -ENOMEM. */
int trial_compute(struct trial *t);

/* trial_failed - number of cells in CELL_FAILED. */
size_t trial_failed(const struct trial *t);

const char *cell_status_name(enum cell_status s);
const char *col_kind_name(enum col_kind k);

#endif
