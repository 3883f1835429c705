/*
 * One measured run of a command: fork/exec/wait from sbxbench, with wall
 * time taken outside the child and the child's rusage from wait4().
 */
#ifndef SBX_BENCH_RUN_H
#define SBX_BENCH_RUN_H

#include <stdbool.h>
#include <stddef.h>

struct run_result {
	int status;		/* wait status (valid unless spawn_err) */
	int spawn_err;		/* -errno when fork or the capture failed */
	bool timed_out;		/* killed with SIGKILL after the timeout */
	double wall_s;		/* CLOCK_MONOTONIC before fork .. exit seen */
	double user_s, sys_s;	/* wait4 rusage: the child and every
				 * descendant it waited for */
	long maxrss_kb;		/* the largest of those processes */
	bool self_valid;	/* self_* read from the zombie's /proc stat */
	double self_user_s, self_sys_s;	/* the child alone (clock ticks) */
	double self_cpu_s;	/* the child alone, user+sys: ns precision
				 * when its main thread did (nearly) all */
	char *out;		/* captured stdout (NUL-terminated) or NULL */
	char *err_tail;		/* last lines of stderr, or NULL */
};

/*
 * run_measure - run @argv (argv[0] searched on PATH) with stdin from
 * /dev/null, stdout captured when @capture_out (else /dev/null) and stderr
 * captured (its tail kept).  Killed after @timeout_s seconds (0: never).
 * Return: 0 when the child ran (look at res->status), or -errno when it
 * could not be started (res->spawn_err too).  Free with run_result_free().
 */
int run_measure(char *const argv[], bool capture_out, double timeout_s,
		struct run_result *res);
void run_result_free(struct run_result *res);

/* run_describe - "exit status N", "killed by signal N (NAME)", "timed out
 * after S s" or "cannot run: strerror" into @buf. */
void run_describe(const struct run_result *res, double timeout_s,
		  char *buf, size_t len);

#endif
