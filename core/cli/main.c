/*
 * sbxrun: run a program in an sbx sandbox.
 *
 *   sbxrun [--config FILE] [options] [-- ARGV...]
 *
 * Divided into: option parsing, --list-plugins, program lookup (through
 * the VFS: the gofer opens the file), platform set-up, and the run itself.  Exit status: the program's own; 128+N when
 * it died of signal N; 125 when sbx itself failed; 126 when the program
 * cannot be executed; 127 when it is not found.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sbx/platform.h>

#include "config.h"
#include "core/config/config.h"
#include "core/host/confine.h"
#include "core/kernel/kernel.h"
#include "core/kernel/sandbox.h"
#include "core/mm/memfile.h"
#include "core/net/net.h"
#include "core/mm/mfile.h"
#include "core/vdso/vdso.h"
#include "core/plugin/loader.h"
#include "core/plugin/services.h"
#include "core/util/log.h"
#include "core/vfs/vfs.h"

#define EXIT_SBX 125
#define EXIT_NOEXEC 126
#define EXIT_NOTFOUND 127

struct opts {
	const char *config;
	const char *platform;
	const char *net;
	const char *log_level;
	bool strace;
	bool list;
	char **argv; /* after --, or NULL */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: sbxrun [--config FILE] [OPTIONS] [-- PROGRAM [ARGS...]]\n"
		"Run PROGRAM in an sbx sandbox (every system call is handled by sbx).\n"
		"\n"
		"  -c, --config FILE        sandbox config (YAML); default: built-in\n"
		"  -p, --platform NAME|PATH override platform.plugin (e.g. ptrace)\n"
		"      --net NAME|PATH      override network.plugin (none, host)\n"
		"      --strace             log every application syscall\n"
		"      --log-level LEVEL    error, warn, info or debug\n"
		"      --list-plugins       list installed plugins and exit\n"
		"      --version            print the version and exit\n"
		"  -h, --help               print this help and exit\n"
		"\n"
		"ARGS after -- replace process.argv from the config.\n"
		"Exit status: the program's; 128+N if it died of signal N; 125 if\n"
		"sbx failed; 126 if the program cannot run; 127 if it is not found.\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "platform", required_argument, NULL, 'p' },
		{ "net", required_argument, NULL, 'n' },
		{ "strace", no_argument, NULL, 's' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "list-plugins", no_argument, NULL, 'L' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "+c:p:h", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'p': o->platform = optarg; break;
		case 'n': o->net = optarg; break;
		case 's': o->strace = true; break;
		case 'l': o->log_level = optarg; break;
		case 'L': o->list = true; break;
		case 'V':
			printf("sbxrun %s (platform ABI %d.%d)\n", SBX_VERSION,
			       SBX_PLATFORM_ABI_MAJOR, SBX_PLATFORM_ABI_MINOR);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc)
		o->argv = argv + optind;
	return 0;
}

static int list_plugins(const struct plugin_search_path *sp)
{
	struct plugin_manifest *m;
	size_t n;

	if (plugin_list(sp, &m, &n) < 0) {
		fprintf(stderr, "sbxrun: cannot list plugins\n");
		return EXIT_SBX;
	}
	printf("%-12s %-9s %-5s %s\n", "NAME", "KIND", "ABI", "LIBRARY");
	for (size_t i = 0; i < n; i++) {
		printf("%-12s %-9s %u.%-3u %s\n", m[i].name,
		       plugin_kind_name(m[i].kind), m[i].abi_major,
		       m[i].abi_minor, m[i].library);
		if (m[i].description && *m[i].description)
			printf("%-12s %s\n", "", m[i].description);
	}
	if (n == 0) {
		printf("(none found; searched:");
		for (size_t i = 0; i < sp->n; i++)
			printf(" %s", sp->dirs[i]);
		printf(")\n");
	}
	plugin_list_free(m, n);
	return 0;
}

/* env_path - PATH from the sandbox environment, or the usual default. */
static const char *env_path(const struct sbx_config *cfg)
{
	for (size_t i = 0; i < cfg->process.envc; i++)
		if (strncmp(cfg->process.env[i], "PATH=", 5) == 0)
			return cfg->process.env[i] + 5;
	return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

/*
 * open_program - find @name as execvp would inside the sandbox, through
 * the VFS (the gofer opens it: the core never opens a host path), with
 * process.cwd as the cwd.  Return: 0 and *@out, or -errno; *@path gets
 * the sandbox path.
 */
static int open_program(const struct sbx_config *cfg, const char *name,
			char *path, size_t len, struct file **out)
{
	struct fs_context *fs = fs_context_new_cwd(cfg->process.cwd);
	int err = -ENOENT;

	if (!fs)
		return -ENOMEM;
	if (strchr(name, '/'))
		snprintf(path, len, "%s", name);
	for (const char *p = env_path(cfg); ; ) {
		const char *colon = strchr(p, ':');
		size_t dl = colon ? (size_t)(colon - p) : strlen(p);
		struct k_stat st;
		struct file *f;
		int r;

		if (!strchr(name, '/'))
			snprintf(path, len, "%.*s/%s", (int)dl, dl ? p : ".", name);
		r = vfs_open(fs, NULL, path, O_RDONLY, 0, 0, &f);
		if (r == 0) {
			r = f->ops->stat ? f->ops->stat(f, &st) : -EACCES;
			if (r == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) {
				*out = f;
				fs_context_put(fs);
				return 0;
			}
			file_put(f);
			err = -EACCES;
		} else if (r == -EISDIR) {
			err = -EACCES;
		} else if (r != -ENOENT && r != -ENOTDIR) {
			err = r;
		}
		if (strchr(name, '/') || !colon)
			break;
		p = colon + 1;
	}
	fs_context_put(fs);
	return err;
}

static int open_log(const struct sbx_config *cfg)
{
	int fd;

	if (!cfg->log.file)
		return 2;
	fd = open(cfg->log.file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		fprintf(stderr, "sbxrun: open '%s': %s\n", cfg->log.file,
			strerror(errno));
	return fd;
}

/* start_platform - load, check and initialise the platform plugin. */
static int start_platform(struct kernel *k, const struct sbx_config *cfg,
			  const struct plugin_search_path *sp, struct plugin *pl,
			  struct sbx_services *svc)
{
	const struct sbx_platform_ops *ops;
	struct sbx_error err = { 0 };
	uint32_t major, minor;
	int r;

	plugin_core_abi(SBX_PLUGIN_PLATFORM, &major, &minor);
	r = plugin_load(sp, cfg->platform.plugin, SBX_PLUGIN_PLATFORM, major,
			minor, pl, &err);
	if (r) {
		fprintf(stderr, "sbxrun: %s\n", err.msg);
		return r;
	}
	ops = pl->desc->ops;
	if (!SBX_OPS_HAS(ops, init) || !SBX_OPS_HAS(ops, describe) ||
	    !SBX_OPS_HAS(ops, as_create) || !SBX_OPS_HAS(ops, as_map) ||
	    !SBX_OPS_HAS(ops, as_unmap) || !SBX_OPS_HAS(ops, as_protect) ||
	    !SBX_OPS_HAS(ops, as_destroy) || !SBX_OPS_HAS(ops, ctx_create) ||
	    !SBX_OPS_HAS(ops, switch_to) || !SBX_OPS_HAS(ops, ctx_destroy)) {
		fprintf(stderr, "sbxrun: plugin '%s' (%s): platform ops table "
			"lacks required operations\n", pl->name, pl->path);
		return -EINVAL;
	}
	k->pops = ops;
	r = ops->init(svc, &cfg->platform.options, &k->plat);
	if (r) {
		fprintf(stderr, "sbxrun: platform '%s' failed to start: %s\n",
			pl->name, strerror(-r));
		return r;
	}
	k->pinfo.size = sizeof(k->pinfo);
	r = ops->describe(k->plat, &k->pinfo);
	if (!r && (k->pinfo.user_min >= k->pinfo.user_max ||
		   k->pinfo.user_max > K_TASK_SIZE ||
		   (k->pinfo.user_min & (PAGE_SIZE - 1)) ||
		   (k->pinfo.user_max & (PAGE_SIZE - 1))))
		r = -EINVAL;
	if (r) {
		fprintf(stderr, "sbxrun: platform '%s' describes itself badly\n",
			pl->name);
		if (SBX_OPS_HAS(ops, fini))
			ops->fini(k->plat);
		k->plat = NULL;
	}
	return r;
}

static int exit_code(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct sbx_config cfg;
	struct sbx_error err = { 0 };
	struct plugin_search_path sp = { 0 };
	struct plugin pl = { 0 };
	struct sbx_services svc;
	struct kernel k = { .next_pid = 1 };
	char path[PATH_MAX];
	char **prog_argv;
	struct file *prog = NULL;
	int r, status = 0, ret = EXIT_SBX;

	/* a closed pipe is the application's business: it gets EPIPE (and
	 * its SIGPIPE) from the core, which must not die of it */
	signal(SIGPIPE, SIG_IGN);
	{
		/* blocked in every thread and process to come: the sandbox's
		 * init gets them (signal_forward_start) */
		sigset_t set;

		signal_host_set(&set);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
		task_wake_setup();
	}
	if (parse_args(argc, argv, &o))
		return EXIT_SBX;
	if (o.config)
		r = config_load_file(o.config, &cfg, &err);
	else
		r = config_load_string("<built-in config>", config_default_yaml,
				       strlen(config_default_yaml), &cfg, &err);
	if (r) {
		fprintf(stderr, "sbxrun: %s\n", err.msg);
		return EXIT_SBX;
	}
	sbx_log_level = cfg.log.level;
	if (o.log_level) {
		r = log_level_parse(o.log_level);
		if (r < 0) {
			fprintf(stderr, "sbxrun: --log-level: unknown level '%s' "
				"(use error, warn, info or debug)\n", o.log_level);
			goto out_config;
		}
		sbx_log_level = r;
	}
	if (o.platform) {
		free(cfg.platform.plugin);
		cfg.platform.plugin = strdup(o.platform);
	}
	if (plugin_search_path_build(&sp, cfg.plugins.search_path,
				     cfg.plugins.n) < 0) {
		fprintf(stderr, "sbxrun: out of memory\n");
		goto out_config;
	}
	if (o.list) {
		ret = list_plugins(&sp);
		goto out_search;
	}
	prog_argv = o.argv ? o.argv : cfg.process.argv;
	if (!prog_argv || !prog_argv[0]) {
		fprintf(stderr, "sbxrun: no program: give process.argv in the "
			"config or a command after --\n");
		goto out_search;
	}
	k.cfg = &cfg;
	k.strace = o.strace || cfg.log.strace;
	k.strace_fd = open_log(&cfg);
	if (k.strace_fd < 0)
		goto out_search;
	log_set_fd(k.strace_fd);

	r = memfile_init(MEMFILE_DEFAULT_SIZE);
	if (r) {
		fprintf(stderr, "sbxrun: cannot create the memory file: %s\n",
			strerror(-r));
		goto out_log;
	}
	/* the core's copies through views of mapped host files end with
	 * EFAULT, not a crash, when a file shrinks under them */
	r = mfile_guard_init();
	if (r) {
		fprintf(stderr, "sbxrun: SIGBUS handler: %s\n", strerror(-r));
		goto out_memfile;
	}
	r = vdso_init();
	if (r)
		sbx_warn("vdso: %s; time calls will trap", strerror(-r));
	services_init(&svc, memfile_fd());
	sched_getaffinity(0, sizeof(k.cpus), (cpu_set_t *)k.cpus);
	/* mounts start the sbx-gofer processes: before confine_core() */
	r = vfs_init(&cfg, &sp, &svc, &err);
	if (r) {
		fprintf(stderr, "sbxrun: %s\n", err.msg);
		goto out_memfile;
	}
	r = open_program(&cfg, prog_argv[0], path, sizeof(path), &prog);
	if (r) {
		fprintf(stderr, "sbxrun: %s: %s\n", prog_argv[0], strerror(-r));
		ret = r == -ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
		goto out_memfile;
	}
	/* the provider may fork helpers and unshare: before confine_core() */
	r = net_init(&cfg, o.net, &sp, &svc, &err);
	if (r) {
		fprintf(stderr, "sbxrun: %s\n", err.msg);
		goto out_memfile;
	}
	if (start_platform(&k, &cfg, &sp, &pl, &svc))
		goto out_net;

	r = confine_core(k.pops, k.plat, &err);
	if (r) {
		fprintf(stderr, "sbxrun: %s\n", err.msg);
		goto out_platform;
	}
	r = sandbox_run(&k, prog, path, prog_argv, &status, &err);
	if (r) {
		fprintf(stderr, "sbxrun: %s: %s\n", path, err.msg);
		ret = r == -ENOENT ? EXIT_NOTFOUND
		    : r == -ENOEXEC || r == -EACCES ? EXIT_NOEXEC : EXIT_SBX;
	} else {
		ret = exit_code(status);
	}
out_platform:
	if (SBX_OPS_HAS(k.pops, fini))
		k.pops->fini(k.plat);
out_net:
	net_fini();
out_memfile:
	vdso_fini();
	plugin_unload(&pl);
	file_put(prog);
	memfile_fini();
out_log:
	if (k.strace_fd > 2)
		close(k.strace_fd);
out_search:
	plugin_search_path_free(&sp);
out_config:
	config_free(&cfg);
	return ret;
}
