/*
 * sbxbench: A/B trials of interception platforms on a workload.  Each
 * column runs the same command natively, under `sbxrun --platform X` (so
 * two columns differ in exactly one config key) or under a peer sandbox
 * (runsc); runs are interleaved (A B C A B C ...) after warm-up, and the
 * cells are written as a table, CSV, JSON and an SVG chart.
 *
 * Divided into: options, finding sbxrun and the micro programs, the known
 * platforms (parsed from `sbxrun --list-plugins`, so sbxbench sees exactly
 * the plugins sbxrun would load with the same config and environment),
 * columns, rows, the trial loop with its progress line, output, main().
 *
 * Exit status: 0 when every cell ran or was skipped for a known missing
 * feature; 1 when a cell failed or an output could not be written; 2 on
 * bad usage (unknown platform, --runs 0, no workload).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "report.h"
#include "run.h"
#include "suite.h"
#include "trial.h"

#define EXIT_USAGE 2

struct opts {
	const char *platforms;	/* comma list or "all" */
	bool native;
	const char *peer;
	unsigned runs, warmup;
	double timeout_s;
	const char *config;
	const char *csv, *json, *chart;
	const char *suite;
	char **argv;		/* the command after -- */
};

/* ---- options ----------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: sbxbench [OPTIONS] (--suite NAME | -- CMD [ARGS...])\n"
		"Run a workload natively and under sbx platforms, interleaved, and\n"
		"report medians, spreads and ratios.\n"
		"\n"
		"  --platforms LIST   comma-separated platform plugins, or 'all'\n"
		"                     (default: all that sbxrun --list-plugins shows)\n"
		"  --native           add a column running the workload natively\n"
		"  --peer runsc       add gVisor's runsc (ptrace, no network) if on PATH\n"
		"  --runs N           measured runs per cell (default 5, N >= 1)\n"
		"  --warmup N         warm-up runs per cell, not counted (default 1)\n"
		"  --timeout SEC      kill a run after SEC seconds (default 120)\n"
		"  --config FILE      sbxrun config for every platform column\n"
		"  --csv FILE         write the cells as CSV\n"
		"  --json FILE        write the trial as JSON\n"
		"  --chart FILE.svg   write an SVG bar chart of ratios (log scale)\n"
		"  --suite micro      the micro benchmark suite (bench/micro)\n"
		"  --version, --help\n"
		"\n"
		"Environment: SBXRUN (the sbxrun to use), SBXBENCH_MICRO_DIR (the\n"
		"micro programs).  Exit status: 0 ok; 1 some cell failed; 2 usage.\n");
}

static int parse_uint(const char *opt, const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > UINT_MAX || s[0] == '-') {
		fprintf(stderr, "sbxbench: %s: invalid number '%s'\n", opt, s);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_PLATFORMS = 256, O_NATIVE, O_PEER, O_RUNS, O_WARMUP,
	       O_TIMEOUT, O_CONFIG, O_CSV, O_JSON, O_CHART, O_SUITE,
	       O_VERSION, O_HELP };
	static const struct option lo[] = {
		{ "platforms", required_argument, NULL, O_PLATFORMS },
		{ "native", no_argument, NULL, O_NATIVE },
		{ "peer", required_argument, NULL, O_PEER },
		{ "runs", required_argument, NULL, O_RUNS },
		{ "warmup", required_argument, NULL, O_WARMUP },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "csv", required_argument, NULL, O_CSV },
		{ "json", required_argument, NULL, O_JSON },
		{ "chart", required_argument, NULL, O_CHART },
		{ "suite", required_argument, NULL, O_SUITE },
		{ "version", no_argument, NULL, O_VERSION },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	unsigned t;
	int c;

	while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		switch (c) {
		case O_PLATFORMS: o->platforms = optarg; break;
		case O_NATIVE: o->native = true; break;
		case O_PEER: o->peer = optarg; break;
		case O_RUNS:
			if (parse_uint("--runs", optarg, &o->runs))
				return -EINVAL;
			break;
		case O_WARMUP:
			if (parse_uint("--warmup", optarg, &o->warmup))
				return -EINVAL;
			break;
		case O_TIMEOUT:
			if (parse_uint("--timeout", optarg, &t))
				return -EINVAL;
			o->timeout_s = t;
			break;
		case O_CONFIG: o->config = optarg; break;
		case O_CSV: o->csv = optarg; break;
		case O_JSON: o->json = optarg; break;
		case O_CHART: o->chart = optarg; break;
		case O_SUITE: o->suite = optarg; break;
		case O_VERSION:
			printf("sbxbench %s\n", SBX_VERSION);
			exit(0);
		case 'h':
		case O_HELP:
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc)
		o->argv = argv + optind;
	if (o->runs == 0) {
		fprintf(stderr, "sbxbench: --runs must be at least 1\n");
		return -EINVAL;
	}
	if (!o->suite == !o->argv) {
		fprintf(stderr, "sbxbench: give either --suite NAME or -- CMD "
			"[ARGS...]%s\n", o->suite ? ", not both" : "");
		return -EINVAL;
	}
	if (o->suite && strcmp(o->suite, "micro") != 0) {
		fprintf(stderr, "sbxbench: unknown suite '%s' (known: micro)\n",
			o->suite);
		return -EINVAL;
	}
	return 0;
}

/* ---- where things are -------------------------------------------------- */

/*
 * from_build_tree - does this sbxbench run from its build directory?  Then
 * it uses the sbxrun and micro programs of that build, else installed ones.
 */
static bool from_build_tree(void)
{
	char self[PATH_MAX], dir[PATH_MAX];
	size_t n;

	if (!realpath("/proc/self/exe", self) ||
	    !realpath(SBXBENCH_BUILD_DIR, dir))
		return false;
	n = strlen(dir);
	return strncmp(self, dir, n) == 0 && self[n] == '/';
}

static const char *sbxrun_path(void)
{
	const char *env = getenv("SBXRUN");

	if (env && *env)
		return env;
	return from_build_tree() ? SBXBENCH_SBXRUN_BUILD :
				   SBXBENCH_BINDIR "/sbxrun";
}

static const char *micro_dir(void)
{
	const char *env = getenv("SBXBENCH_MICRO_DIR");

	if (env && *env)
		return env;
	return from_build_tree() ? SBXBENCH_MICRO_BUILD :
				   SBXBENCH_MICRO_INSTALL;
}

/* on_path - the first executable @name on $PATH, malloc'ed, or NULL. */
static char *on_path(const char *name)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save, *hit = NULL;

	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? strdup(name) : NULL;
	copy = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	if (!copy)
		return NULL;
	for (dir = strtok_r(copy, ":", &save); dir && !hit;
	     dir = strtok_r(NULL, ":", &save)) {
		char *p;

		if (asprintf(&p, "%s/%s", *dir ? dir : ".", name) < 0)
			break;
		if (access(p, X_OK) == 0)
			hit = p;
		else
			free(p);
	}
	free(copy);
	return hit;
}

/* ---- known platforms --------------------------------------------------- */

struct names {
	char **v;
	size_t n;
};

static void names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
	ns->v = NULL;
	ns->n = 0;
}

static int names_add(struct names *ns, const char *s, size_t len)
{
	char **v = realloc(ns->v, (ns->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	ns->v = v;
	v[ns->n] = strndup(s, len);
	if (!v[ns->n])
		return -ENOMEM;
	ns->n++;
	return 0;
}

/*
 * parse_plugin_list - platform names from `sbxrun --list-plugins`:
 * a header "NAME KIND ABI LIBRARY", one row per plugin, and indented
 * description lines.
 */
static int parse_plugin_list(const char *out, struct names *ns)
{
	for (const char *p = out; p && *p;) {
		const char *eol = strchrnul(p, '\n');
		char name[128], kind[32];

		if (*p != ' ' && *p != '(' &&
		    sscanf(p, "%127s %31s", name, kind) == 2 &&
		    strcmp(kind, "platform") == 0 &&
		    names_add(ns, name, strlen(name)) < 0)
			return -ENOMEM;
		p = *eol ? eol + 1 : eol;
	}
	return 0;
}

static int known_platforms(const char *sbxrun, const char *config,
			   struct names *ns)
{
	char *argv[] = { (char *)sbxrun, "--list-plugins", NULL, NULL, NULL };
	struct run_result res;
	int err;

	if (config) {
		argv[2] = "--config";
		argv[3] = (char *)config;
	}
	err = run_measure(argv, true, 30, &res);
	if (!err && (!WIFEXITED(res.status) || WEXITSTATUS(res.status))) {
		char why[128];

		run_describe(&res, 30, why, sizeof(why));
		fprintf(stderr, "sbxbench: %s --list-plugins: %s%s%s\n", sbxrun,
			why, res.err_tail ? ": " : "",
			res.err_tail ? res.err_tail : "");
		err = -EIO;
	} else if (err) {
		fprintf(stderr, "sbxbench: cannot run '%s': %s\n", sbxrun,
			strerror(-err));
	} else {
		err = parse_plugin_list(res.out, ns);
	}
	run_result_free(&res);
	return err;
}

/* ---- columns ----------------------------------------------------------- */

static char **prefix_make(const char *const *args)
{
	size_t n = 0;
	char **v;

	while (args[n])
		n++;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		v[i] = strdup(args[i]);
		if (!v[i]) {
			while (i--)
				free(v[i]);
			free(v);
			return NULL;
		}
	}
	return v;
}

static int add_column(struct trial *t, enum col_kind kind, const char *name,
		      const char *platform, const char *const *prefix)
{
	struct column *cols = realloc(t->cols, (t->ncols + 1) * sizeof(*cols));
	struct column *c;
	int dup = 1;

	if (!cols)
		return -ENOMEM;
	t->cols = cols;
	c = &cols[t->ncols];
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < t->ncols; i++)
		if (strcmp(cols[i].platform ? cols[i].platform : cols[i].name,
			   name) == 0)
			dup++;
	/* the same platform twice (an A/A trial) gets "name#2" */
	if ((dup > 1 ? asprintf(&c->name, "%s#%d", name, dup) :
		       asprintf(&c->name, "%s", name)) < 0)
		return -ENOMEM;
	c->kind = kind;
	c->platform = platform ? strdup(platform) : NULL;
	c->prefix = prefix_make(prefix);
	t->ncols++;
	if (!c->prefix || (platform && !c->platform))
		return -ENOMEM;
	return 0;
}

static int add_platform(struct trial *t, const char *sbxrun,
			const char *config, const char *name)
{
	const char *prefix[] = { sbxrun, "--platform", name, "--", NULL,
				 NULL, NULL };
	const char *base = strrchr(name, '/');

	if (config) {
		prefix[1] = "--config";
		prefix[2] = config;
		prefix[3] = "--platform";
		prefix[4] = name;
		prefix[5] = "--";
	}
	return add_column(t, COL_PLATFORM, base ? base + 1 : name, name,
			  prefix);
}

static bool is_path(const char *s)
{
	size_t n = strlen(s);

	return strchr(s, '/') || (n > 3 && strcmp(s + n - 3, ".so") == 0);
}

static void list_known(FILE *f, const struct names *known)
{
	for (size_t i = 0; i < known->n; i++)
		fprintf(f, "%s%s", i ? ", " : "", known->v[i]);
	if (!known->n)
		fputs("none found", f);
}

/* platform_columns - one column per entry of @list ("all": every known
 * platform, in sbxrun's order).  Return: 0, -EINVAL (unknown name,
 * reported), -ENOMEM. */
static int platform_columns(struct trial *t, const char *list,
			    const char *sbxrun, const char *config,
			    const struct names *known)
{
	char *copy = strdup(list), *tok, *save;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && !err;
	     tok = strtok_r(NULL, ",", &save)) {
		bool found = false;

		if (strcmp(tok, "all") == 0) {
			for (size_t i = 0; i < known->n && !err; i++)
				err = add_platform(t, sbxrun, config,
						   known->v[i]);
			continue;
		}
		for (size_t i = 0; i < known->n; i++)
			found |= strcmp(known->v[i], tok) == 0;
		if (!found && !is_path(tok)) {
			fprintf(stderr, "sbxbench: unknown platform '%s' "
				"(known: ", tok);
			list_known(stderr, known);
			fprintf(stderr, "; from %s --list-plugins)\n", sbxrun);
			err = -EINVAL;
			break;
		}
		err = add_platform(t, sbxrun, config, tok);
	}
	free(copy);
	return err;
}

static int peer_column(struct trial *t, const char *peer)
{
	char *path;
	int err;

	if (strcmp(peer, "runsc") != 0) {
		fprintf(stderr, "sbxbench: unknown peer '%s' (known: runsc)\n",
			peer);
		return -EINVAL;
	}
	path = on_path("runsc");
	if (!path) {
		fprintf(stderr, "sbxbench: peer 'runsc' (gVisor) is not on "
			"PATH; continuing without it\n");
		return 0;
	}
	{
		const char *prefix[] = { path, "--platform=ptrace",
					 "--network=none", "do", NULL };

		err = add_column(t, COL_PEER, "runsc", NULL, prefix);
	}
	free(path);
	return err;
}

static void free_columns(struct trial *t)
{
	for (size_t c = 0; c < t->ncols; c++) {
		for (size_t i = 0; t->cols[c].prefix && t->cols[c].prefix[i];
		     i++)
			free(t->cols[c].prefix[i]);
		free(t->cols[c].prefix);
		free(t->cols[c].name);
		free(t->cols[c].platform);
	}
	free(t->cols);
}

/* ---- rows -------------------------------------------------------------- */

/* make_rows - one row per figure of every workload, a cell per column
 * with room for @runs samples. */
static int make_rows(struct trial *t, const struct workload *w, size_t nw)
{
	size_t n = 0;

	for (size_t i = 0; i < nw; i++)
		n += w[i].nmetrics;
	t->rows = calloc(n ? n : 1, sizeof(*t->rows));
	if (!t->rows)
		return -ENOMEM;
	for (size_t i = 0; i < nw; i++) {
		for (size_t m = 0; m < w[i].nmetrics; m++) {
			struct row *r = &t->rows[t->nrows++];

			r->workload = w[i].name;
			r->metric = (char *)w[i].metrics[m].name;
			r->unit = (char *)w[i].metrics[m].unit;
			r->needs = (char *)w[i].needs;
			r->cells = calloc(t->ncols, sizeof(*r->cells));
			if (!r->cells)
				return -ENOMEM;
			for (size_t c = 0; c < t->ncols; c++) {
				r->cells[c].v = calloc(t->runs,
						       sizeof(double));
				if (!r->cells[c].v)
					return -ENOMEM;
			}
		}
	}
	return 0;
}

static void free_rows(struct trial *t)
{
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; t->rows[r].cells && c < t->ncols; c++) {
			free(t->rows[r].cells[c].v);
			free(t->rows[r].cells[c].note);
		}
		free(t->rows[r].cells);
	}
	free(t->rows);
}

/* ---- the trial --------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct progress {
	bool tty;
	double t0;
	size_t nw;
};

static void progress(const struct progress *p, size_t wi, const char *wname,
		     const char *col, unsigned round, unsigned warmup,
		     unsigned runs)
{
	if (!p->tty)
		return;
	if (round < warmup)
		fprintf(stderr, "\r\033[Ksbxbench: [%zu/%zu] %s on %s: warm-up "
			"%u/%u, %.1f s", wi + 1, p->nw, wname, col, round + 1,
			warmup, now_s() - p->t0);
	else
		fprintf(stderr, "\r\033[Ksbxbench: [%zu/%zu] %s on %s: run "
			"%u/%u, %.1f s", wi + 1, p->nw, wname, col,
			round - warmup + 1, runs, now_s() - p->t0);
}

static void progress_clear(const struct progress *p)
{
	if (p->tty)
		fputs("\r\033[K", stderr);
}

/* argv_join - @prefix then @argv, NULL-terminated (strings not copied). */
static char **argv_join(char *const *prefix, char *const *argv)
{
	size_t np = 0, na = 0;
	char **v;

	while (prefix && prefix[np])
		np++;
	while (argv[na])
		na++;
	v = calloc(np + na + 1, sizeof(*v));
	if (!v)
		return NULL;
	memcpy(v, prefix, np * sizeof(*v));
	memcpy(v + np, argv, na * sizeof(*v));
	return v;
}

/* one_line - @s with newlines turned into " | ", malloc'ed. */
static char *one_line(const char *s)
{
	size_t n = 0;
	char *o, *q;

	for (const char *p = s; *p; p++)
		n += *p == '\n' ? 3 : 1;
	o = q = malloc(n + 1);
	if (!o)
		return NULL;
	for (const char *p = s; *p; p++) {
		if (*p == '\n') {
			memcpy(q, " | ", 3);
			q += 3;
		} else {
			*q++ = *p;
		}
	}
	*q = '\0';
	return o;
}

/*
 * cell_fail - mark every cell of workload @w (rows @r0..) in column @c as
 * failed, or skipped when the workload needs a missing feature and the
 * column is a sandbox; say so on stderr at once.
 */
static void cell_fail(struct trial *t, const struct workload *w, size_t r0,
		      size_t c, const char *why, const struct progress *p)
{
	bool skip = w->needs && t->cols[c].kind != COL_NATIVE;
	char *note = NULL;

	if (asprintf(&note, "%s%s%s", skip ? "needs " : "",
		     skip ? w->needs : "", skip ? "; " : "") < 0)
		note = NULL;
	if (note) {
		char *full;

		if (asprintf(&full, "%s%s", note, why) >= 0) {
			free(note);
			note = full;
		}
	}
	progress_clear(p);
	fprintf(stderr, "sbxbench: %s on %s: %s: %s\n", w->name,
		t->cols[c].name, skip ? "skipped" : "FAILED",
		note ? note : why);
	for (size_t m = 0; m < w->nmetrics; m++) {
		struct cell *cell = &t->rows[r0 + m].cells[c];

		if (cell->status == CELL_NA)
			continue;
		cell->status = skip ? CELL_SKIPPED : CELL_FAILED;
		free(cell->note);
		cell->note = note ? strdup(note) : NULL;
	}
	free(note);
}

static bool col_dead(const struct trial *t, size_t r0, size_t nm, size_t c)
{
	for (size_t m = 0; m < nm; m++) {
		enum cell_status s = t->rows[r0 + m].cells[c].status;

		if (s == CELL_FAILED || s == CELL_SKIPPED)
			return true;
	}
	return false;
}

/* record - check one finished run of @w in column @c and keep its
 * figures when @keep (not a warm-up run). */
static void record(struct trial *t, const struct workload *w, size_t r0,
		   size_t c, const struct run_result *res, bool keep,
		   double timeout_s, const struct progress *p)
{
	char why[1024], desc[128];
	enum col_kind kind = t->cols[c].kind;

	if (res->spawn_err || res->timed_out || !WIFEXITED(res->status) ||
	    WEXITSTATUS(res->status) != 0) {
		char *tail = res->err_tail ? one_line(res->err_tail) : NULL;

		run_describe(res, timeout_s, desc, sizeof(desc));
		snprintf(why, sizeof(why), "%s%s%s%s", desc,
			 kind == COL_PLATFORM && WIFEXITED(res->status) &&
			 WEXITSTATUS(res->status) == 125 ?
			 " (sbxrun itself failed)" : "",
			 tail ? "; stderr: " : "", tail ? tail : "");
		free(tail);
		cell_fail(t, w, r0, c, why, p);
		return;
	}
	for (size_t m = 0; m < w->nmetrics; m++) {
		struct cell *cell = &t->rows[r0 + m].cells[c];
		double v;
		int err = metric_value(&w->metrics[m], res, kind, &v);

		if (err == -EOPNOTSUPP) {
			cell->status = CELL_NA;
			continue;
		}
		if (err) {
			snprintf(why, sizeof(why), "exit status 0 but no '%s "
				 "VALUE %s' line on stdout", w->metrics[m].name,
				 w->metrics[m].unit);
			cell_fail(t, w, r0, c, why, p);
			return;
		}
		if (keep && cell->n < t->runs)
			cell->v[cell->n++] = v;
	}
}

/* run_workload - warm-up and measured rounds of @w, each round visiting
 * every live column in order. */
static int run_workload(struct trial *t, const struct workload *w, size_t wi,
			size_t r0, double timeout_s, const struct progress *p)
{
	unsigned rounds = t->warmup + t->runs;
	double t0 = now_s();

	for (unsigned round = 0; round < rounds; round++) {
		for (size_t c = 0; c < t->ncols; c++) {
			struct run_result res;
			char **argv;

			if (col_dead(t, r0, w->nmetrics, c))
				continue;
			argv = argv_join(t->cols[c].prefix, w->argv);
			if (!argv)
				return -ENOMEM;
			progress(p, wi, w->name, t->cols[c].name, round,
				 t->warmup, t->runs);
			run_measure(argv, w->metrics[0].src == M_FIGURE,
				    timeout_s, &res);
			free(argv);
			record(t, w, r0, c, &res, round >= t->warmup,
			       timeout_s, p);
			run_result_free(&res);
		}
	}
	progress_clear(p);
	if (!p->tty)
		fprintf(stderr, "sbxbench: [%zu/%zu] %s: %u rounds x %zu "
			"columns in %.1f s\n", wi + 1, p->nw, w->name, rounds,
			t->ncols, now_s() - t0);
	return 0;
}

static int run_trial(struct trial *t, const struct workload *w, size_t nw,
		     double timeout_s)
{
	struct progress p = { .tty = isatty(2), .t0 = now_s(), .nw = nw };
	size_t r0 = 0;
	int err;

	for (size_t i = 0; i < nw; i++) {
		err = run_workload(t, &w[i], i, r0, timeout_s, &p);
		if (err)
			return err;
		r0 += w[i].nmetrics;
	}
	return 0;
}

/* ---- output ------------------------------------------------------------ */

static const char *const notes_micro[] = {
	"micro figures are per operation, measured inside the program (natively "
	"or in the sandbox): the median of 11 inner rounds, each round timed "
	"with clock_gettime(CLOCK_MONOTONIC) (the host's vDSO natively, sbx's "
	"vDSO in the sandbox)",
	"startup: wall time of the whole process from outside (CLOCK_MONOTONIC "
	"in sbxbench from before fork to the exit), so under sbx it includes "
	"sbxrun's start-up: config, plugin load, stub creation, and tear-down",
	NULL,
};

static const char *const notes_command[] = {
	"wall: CLOCK_MONOTONIC in sbxbench from before fork to the child's "
	"exit; under sbx it includes sbxrun's start-up and tear-down",
	"cpu_user, cpu_sys: wait4() rusage of the child and every descendant "
	"it reaped: natively the application; under sbx sbxrun (the core) and "
	"its stubs, in which the application itself runs",
	"cpu_sbx_core: sbxrun alone (user+sys), read from its zombie before "
	"reaping: /proc/PID/schedstat (ns) when its main thread did nearly all "
	"the work, else /proc/PID/stat (clock ticks, 10 ms at 100 Hz); "
	"cpu_app_stubs is the rest (stubs = application plus the "
	"stub's own overhead: the two cannot be told apart, since the "
	"application executes inside the stub processes); natively "
	"cpu_app_stubs is the application's user+sys",
	"peak_rss: ru_maxrss, the largest single process of that tree, not a "
	"sum: under sbx max(core, stubs); the core maps the whole memory file "
	"but only pages it touches count",
	"peer columns (runsc): totals only; cpu_sbx_core and cpu_app_stubs "
	"are n/a there",
	NULL,
};

static int write_file(const char *path, const char *what,
		      int (*fn)(FILE *, const struct trial *),
		      const struct trial *t)
{
	FILE *f = fopen(path, "w");
	int err;

	if (!f) {
		err = -errno;
		fprintf(stderr, "sbxbench: open '%s': %s\n", path,
			strerror(-err));
		return err;
	}
	err = fn(f, t);
	if (fclose(f) == EOF && !err)
		err = -errno;
	if (err)
		fprintf(stderr, "sbxbench: write %s '%s': %s\n", what, path,
			strerror(-err));
	return err;
}

static char *join_args(int argc, char **argv)
{
	size_t n = 1;
	char *s, *p;

	for (int i = 0; i < argc; i++)
		n += strlen(argv[i]) * 4 + 3;
	s = p = malloc(n);
	if (!s)
		return NULL;
	*p = '\0';
	for (int i = 0; i < argc; i++) {
		bool q = !*argv[i] || strpbrk(argv[i], " \t\n'\"$\\*?;&|<>()");

		if (i)
			*p++ = ' ';
		if (q)
			*p++ = '\'';
		for (const char *a = argv[i]; *a; a++) {
			if (*a == '\'') {
				memcpy(p, "'\\''", 4);
				p += 4;
			} else {
				*p++ = *a;
			}
		}
		if (q)
			*p++ = '\'';
		*p = '\0';
	}
	return s;
}

static void describe_host(struct trial *t)
{
	struct utsname u;
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(t->date, sizeof(t->date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (uname(&u) == 0)
		snprintf(t->host, sizeof(t->host), "%s %s %s, %ld CPUs",
			 u.sysname, u.release, u.machine,
			 sysconf(_SC_NPROCESSORS_ONLN));
}

static int write_outputs(const struct opts *o, const struct trial *t)
{
	int err = 0;

	fputc('\n', stdout);
	report_table(stdout, t);
	if (o->csv && write_file(o->csv, "CSV", report_csv, t))
		err = -EIO;
	if (o->json && write_file(o->json, "JSON", report_json, t))
		err = -EIO;
	if (o->chart && write_file(o->chart, "chart", report_svg, t))
		err = -EIO;
	return err;
}

/* ---- main -------------------------------------------------------------- */

static int setup_columns(struct trial *t, const struct opts *o,
			 const char *sbxrun)
{
	struct names known = { 0 };
	int err;

	if (o->native) {
		const char *none[] = { NULL };

		err = add_column(t, COL_NATIVE, "native", NULL, none);
		if (err)
			return err;
	}
	err = known_platforms(sbxrun, o->config, &known);
	if (err)
		goto out;
	err = platform_columns(t, o->platforms ? o->platforms : "all", sbxrun,
			       o->config, &known);
	if (err)
		goto out;
	if (o->peer)
		err = peer_column(t, o->peer);
	if (!err && t->ncols == 0) {
		fprintf(stderr, "sbxbench: no columns: no platform plugin found "
			"(sbxrun --list-plugins) and no --native\n");
		err = -EINVAL;
	}
out:
	names_free(&known);
	return err;
}

static int setup_workloads(const struct opts *o, struct workload **w,
			   size_t *nw)
{
	const char *startup = "/bin/busybox";
	char *fallback = NULL;
	int err;

	if (!o->suite)
		return suite_command(o->argv, w, nw);
	if (access(startup, X_OK) != 0) {
		if (asprintf(&fallback, "%s/true", micro_dir()) < 0)
			return -ENOMEM;
		startup = fallback;
	}
	err = suite_micro(micro_dir(), startup, w, nw);
	free(fallback);
	if (!err && access((*w)[0].argv[0], X_OK) != 0) {
		fprintf(stderr, "sbxbench: micro programs not found in '%s' "
			"(set SBXBENCH_MICRO_DIR)\n", micro_dir());
		suite_free(*w, *nw);
		return -ENOENT;
	}
	return err;
}

int main(int argc, char **argv)
{
	struct opts o = { .runs = 5, .warmup = 1, .timeout_s = 120 };
	struct trial t = { 0 };
	struct workload *w = NULL;
	size_t nw = 0;
	const char *sbxrun;
	int status = 1, err;

	if (parse_args(argc, argv, &o))
		return EXIT_USAGE;
	sbxrun = sbxrun_path();
	t.runs = o.runs;
	t.warmup = o.warmup;
	t.notes = o.suite ? notes_micro : notes_command;
	t.command = join_args(argc, argv);
	describe_host(&t);
	err = setup_columns(&t, &o, sbxrun);
	if (err) {
		status = err == -EINVAL ? EXIT_USAGE : 1;
		goto out_free_columns;
	}
	err = setup_workloads(&o, &w, &nw);
	if (err)
		goto out_free_columns;
	err = make_rows(&t, w, nw);
	if (err)
		goto out_free_rows;
	fprintf(stderr, "sbxbench: %zu workload%s x %zu column%s x (%u warm-up "
		"+ %u runs), interleaved; sbxrun: %s\n", nw, nw == 1 ? "" : "s",
		t.ncols, t.ncols == 1 ? "" : "s", t.warmup, t.runs, sbxrun);
	err = run_trial(&t, w, nw, o.timeout_s);
	if (!err)
		err = trial_compute(&t);
	if (err) {
		fprintf(stderr, "sbxbench: %s\n", strerror(-err));
		goto out_free_rows;
	}
	err = write_outputs(&o, &t);
	status = err || trial_failed(&t) ? 1 : 0;
out_free_rows:
	free_rows(&t);
	suite_free(w, nw);
out_free_columns:
	free_columns(&t);
	free(t.command);
	return status;
}
