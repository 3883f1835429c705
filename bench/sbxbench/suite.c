/*
 * Workloads (see suite.h).
 *
 * Divided into: the micro suite table, the command workload, and reading a
 * figure from a run.  A micro program that needs a feature sbx lacks fails
 * inside the sandbox (exit status 1 and a message); `needs` names the
 * feature and its issue so the cell reads "skipped" with the reason.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suite.h"

/* ---- the micro suite --------------------------------------------------- */

#define FIG(n, u) { { n, u, M_FIGURE } }

static const struct {
	const char *prog;
	const char *needs;
	struct metric m[1];
} micro[] = {
	{ "getppid", NULL, FIG("getppid", "ns") },
	{ "getppid_seccomp", NULL, FIG("getppid_seccomp", "ns") },
	{ "clock_gettime", NULL, FIG("clock_gettime", "ns") },
	{ "mmap_munmap", NULL, FIG("mmap_munmap", "ns") },
	{ "page_fault", NULL, FIG("page_fault", "ns") },
	{ "read_4k", "the file system (#4)", FIG("read_4k", "ns") },
	{ "open_close", "the file system (#4)", FIG("open_close", "ns") },
	{ "stat", "the file system (#4)", FIG("stat", "ns") },
	{ "read_1m", "the file system (#4)", FIG("read_1m", "us") },
	{ "pipe_pingpong", "fork (#3) and pipes (#4)",
	  FIG("pipe_pingpong", "ns") },
	{ "futex_pingpong", "threads and futexes (#3)",
	  FIG("futex_pingpong", "ns") },
	{ "fork_exit_wait", "fork (#3)", FIG("fork_exit_wait", "us") },
	{ "fork_exec_wait", "fork and execve (#3) and the file system (#4)",
	  FIG("fork_exec_wait", "us") },
	{ "fork_256m", "copy-on-write fork (#3)", FIG("fork_256m", "us") },
	{ "thread_create_join", "threads (#3)",
	  FIG("thread_create_join", "us") },
	{ "tcp_pingpong", "a network plugin (network: host)",
	  FIG("tcp_pingpong", "ns") },
};

static const struct metric startup_metric = { "startup", "ms", M_WALL };

static const struct metric command_metrics[] = {
	{ "wall", "ms", M_WALL },
	{ "cpu_user", "ms", M_USER },
	{ "cpu_sys", "ms", M_SYS },
	{ "cpu_sbx_core", "ms", M_CORE_CPU },
	{ "cpu_app_stubs", "ms", M_APP_CPU },
	{ "peak_rss", "KiB", M_RSS },
};

static char **argv_dup(char *const *argv)
{
	size_t n = 0;
	char **v;

	while (argv[n])
		n++;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		v[i] = strdup(argv[i]);
		if (!v[i]) {
			while (i--)
				free(v[i]);
			free(v);
			return NULL;
		}
	}
	return v;
}

int suite_micro(const char *dir, const char *startup_prog,
		struct workload **out, size_t *n)
{
	size_t nm = sizeof(micro) / sizeof(micro[0]);
	struct workload *w = calloc(nm + 1, sizeof(*w));
	const char *base;
	size_t i;

	if (!w)
		return -ENOMEM;
	for (i = 0; i < nm; i++) {
		char *path;
		char *argv[2];

		if (asprintf(&path, "%s/%s", dir, micro[i].prog) < 0)
			goto out_free;
		argv[0] = path;
		argv[1] = NULL;
		w[i].argv = argv_dup(argv);
		free(path);
		w[i].name = strdup(micro[i].prog);
		if (!w[i].argv || !w[i].name)
			goto out_free;
		w[i].needs = micro[i].needs;
		w[i].metrics = micro[i].m;
		w[i].nmetrics = 1;
	}
	base = strrchr(startup_prog, '/');
	base = base ? base + 1 : startup_prog;
	{
		char *argv[] = { (char *)startup_prog,
				 strcmp(base, "busybox") == 0 ? "true" : NULL,
				 NULL };

		w[i].argv = argv_dup(argv);
	}
	w[i].name = strdup("startup");
	if (!w[i].argv || !w[i].name)
		goto out_free;
	w[i].metrics = &startup_metric;
	w[i].nmetrics = 1;
	*out = w;
	*n = nm + 1;
	return 0;
out_free:
	suite_free(w, nm + 1);
	return -ENOMEM;
}

/* ---- the user's command ------------------------------------------------ */

/*
 * suite_command - a program named by a relative path ("./prog") is made
 * absolute: sbxrun resolves program paths inside the sandbox's root, not
 * in sbxbench's working directory.
 */
int suite_command(char *const *argv, struct workload **out, size_t *n)
{
	struct workload *w = calloc(1, sizeof(*w));
	const char *base = strrchr(argv[0], '/');
	char *abs = NULL;

	if (!w)
		return -ENOMEM;
	w->argv = argv_dup(argv);
	if (w->argv && base && argv[0][0] != '/' &&
	    (abs = realpath(argv[0], NULL))) {
		free(w->argv[0]);
		w->argv[0] = abs;
	}
	w->name = strdup(base ? base + 1 : argv[0]);
	if (!w->argv || !w->name) {
		suite_free(w, 1);
		return -ENOMEM;
	}
	w->metrics = command_metrics;
	w->nmetrics = sizeof(command_metrics) / sizeof(command_metrics[0]);
	*out = w;
	*n = 1;
	return 0;
}

void suite_free(struct workload *w, size_t n)
{
	if (!w)
		return;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; w[i].argv && w[i].argv[j]; j++)
			free(w[i].argv[j]);
		free(w[i].argv);
		free(w[i].name);
	}
	free(w);
}

/* ---- figures ----------------------------------------------------------- */

/* find_figure - the value of the line "NAME VALUE UNIT" in @out. */
static int find_figure(const char *out, const char *name, const char *unit,
		       double *v)
{
	size_t len = strlen(name);

	for (const char *p = out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p) {
		char u[32];
		double x;

		if (strncmp(p, name, len) != 0 || p[len] != ' ')
			continue;
		if (sscanf(p + len, "%lf %31s", &x, u) != 2)
			continue;
		if (strcmp(u, unit) != 0)
			continue;
		*v = x;
		return 0;
	}
	return -ENOENT;
}

int metric_value(const struct metric *m, const struct run_result *res,
		 enum col_kind kind, double *v)
{
	switch (m->src) {
	case M_FIGURE:
		return find_figure(res->out, m->name, m->unit, v);
	case M_WALL:
		*v = res->wall_s * 1e3;
		return 0;
	case M_USER:
		*v = res->user_s * 1e3;
		return 0;
	case M_SYS:
		*v = res->sys_s * 1e3;
		return 0;
	case M_CORE_CPU:
		if (kind != COL_PLATFORM || !res->self_valid)
			return -EOPNOTSUPP;
		*v = res->self_cpu_s * 1e3;
		return 0;
	case M_APP_CPU:
		if (kind == COL_NATIVE) {
			*v = (res->user_s + res->sys_s) * 1e3;
			return 0;
		}
		if (kind != COL_PLATFORM || !res->self_valid)
			return -EOPNOTSUPP;
		*v = (res->user_s + res->sys_s - res->self_cpu_s) * 1e3;
		if (*v < 0)	/* rounding of the core's share */
			*v = 0;
		return 0;
	case M_RSS:
		*v = (double)res->maxrss_kb;
		return 0;
	}
	return -EINVAL;
}
