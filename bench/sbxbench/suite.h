/*
 * Workloads of a trial: the micro suite (bench/micro programs and the
 * start-up of a trivial program) or the user's command, and how each of
 * their figures is taken from one run.
 */
#ifndef SBX_BENCH_SUITE_H
#define SBX_BENCH_SUITE_H

#include <stdbool.h>
#include <stddef.h>

#include "run.h"
#include "trial.h"

enum metric_src {
	M_FIGURE,	/* a `name value unit` line the program printed */
	M_WALL,		/* wall time of the whole process, ms */
	M_USER,		/* user CPU of the process tree waited for, ms */
	M_SYS,		/* system CPU of the same, ms */
	M_CORE_CPU,	/* user+sys of sbxrun itself, ms (platforms only) */
	M_APP_CPU,	/* user+sys of what sbxrun reaped (stubs running the
			 * application), ms; natively the application's */
	M_RSS,		/* peak RSS of the largest process, KiB */
};

struct metric {
	const char *name;
	const char *unit;
	enum metric_src src;
};

struct workload {
	char *name;
	char **argv;		/* NULL-terminated; owned */
	const char *needs;	/* feature whose absence explains failures */
	const struct metric *metrics;
	size_t nmetrics;
};

/*
 * suite_micro - the micro suite, programs taken from @dir; start-up runs
 * @startup_argv0 (with "true" as argument when it is busybox).
 * Return: 0 or -ENOMEM.
 */
int suite_micro(const char *dir, const char *startup_prog,
		struct workload **out, size_t *n);
/* suite_command - one workload running @argv, with process figures;
 * a relative program path is made absolute. */
int suite_command(char *const *argv, struct workload **out, size_t *n);
void suite_free(struct workload *w, size_t n);

/*
 * metric_value - the figure @m of a run that succeeded in a column of
 * @kind.  Return: 0, -ENOENT when the program did not print it,
 * -EOPNOTSUPP when the figure does not exist for that column.
 */
int metric_value(const struct metric *m, const struct run_result *res,
		 enum col_kind kind, double *v);

#endif
