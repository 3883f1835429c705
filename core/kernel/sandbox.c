/*
 * Sandbox start-up and teardown: build the first process (pid 1) with its
 * address space on the platform, its fd table holding the inherited stdio,
 * its limits from the config; load the program; run the task loop; tear
 * everything down when init exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../config/config.h"
#include "../util/log.h"
#include "exec.h"
#include "fdtable.h"
#include "sandbox.h"

/* install_stdio - host fds 0-2, dup'd so the core owns its copies. */
static int install_stdio(struct process *p)
{
	for (int fd = 0; fd < 3; fd++) {
		int flags = fcntl(fd, F_GETFL);
		int host = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		struct file *f;
		int r;

		if (flags < 0 || host < 0)
			continue; /* closed in the parent: closed here too */
		f = file_host(host, flags);
		if (!f) {
			close(host);
			return -ENOMEM;
		}
		r = fd_install_at(p->files, fd, f, false);
		file_put(f);
		if (r < 0)
			return r;
	}
	return 0;
}

static const char *basename_of(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static void init_rlimits(struct process *p, const struct sbx_config *cfg)
{
	for (int i = 0; i < 16; i++)
		p->rlim[i] = (struct k_rlimit){ RLIM_INFINITY, RLIM_INFINITY };
	p->rlim[RLIMIT_STACK] = (struct k_rlimit){ 8 << 20, RLIM_INFINITY };
	p->rlim[RLIMIT_NOFILE] = (struct k_rlimit){ cfg->limits.nofile,
						    cfg->limits.nofile };
	p->rlim[RLIMIT_CORE] = (struct k_rlimit){ 0, RLIM_INFINITY };
	if (cfg->limits.memory)
		p->rlim[RLIMIT_AS] = (struct k_rlimit){ cfg->limits.memory,
							cfg->limits.memory };
	if (cfg->limits.pids)
		p->rlim[RLIMIT_NPROC] = (struct k_rlimit){ cfg->limits.pids,
							   cfg->limits.pids };
}

int sandbox_run(struct kernel *k, struct file *prog, const char *execfn,
		char *const argv[], int *status, struct sbx_error *err)
{
	const struct sbx_config *cfg = k->cfg;
	struct process *p;
	struct task *t;
	int r;

	kernel_init(k);
	p = calloc(1, sizeof(*p));
	t = calloc(1, sizeof(*t));
	if (!p || !t) {
		free(p);
		free(t);
		return sbx_error_set(err, ENOMEM, "out of memory");
	}
	p->k = k;
	p->task = t;
	t->proc = p;
	p->pid = p->pgid = p->sid = t->tid = k->next_pid++;
	p->ppid = 0;
	p->uid = cfg->process.uid;
	p->gid = cfg->process.gid;
	p->umask = 022;
	p->dumpable = 1;
	p->exit_signal = SIGCHLD;
	p->exe = strdup(execfn);
	k->init = p;
	init_rlimits(p, cfg);
	process_init_mm(p, cfg->limits.memory);
	p->files = fdtable_new((int)cfg->limits.nofile);
	p->fs = fs_context_new_cwd(cfg->process.cwd);
	r = -ENOMEM;
	if (!p->exe || !p->files || !p->fs)
		goto out_free;
	r = install_stdio(p);
	if (r)
		goto out_free;
	{
		/* /proc/1/exe: the program's real path, as after execve */
		char exe[PATH_MAX];

		if (prog->path.d &&
		    vfs_getpath(p->fs, &prog->path, exe, sizeof(exe)) >= 0) {
			char *e = strdup(exe);

			if (e) {
				free(p->exe);
				p->exe = e;
			}
		}
	}
	r = k->pops->as_create(k->plat, &p->as);
	if (r) {
		sbx_error_set(err, -r, "platform: cannot create an address space: %s",
			      strerror(-r));
		goto out_free;
	}
	snprintf(t->comm, sizeof(t->comm), "%s", basename_of(execfn));
	r = exec_load(p, prog, execfn, argv, cfg->process.env, &t->regs, err);
	if (r)
		goto out_as;
	r = k->pops->ctx_create(p->as, &t->ctx);
	if (r) {
		sbx_error_set(err, -r, "platform: cannot create a context: %s",
			      strerror(-r));
		goto out_as;
	}
	process_register(k, p);
	signal_forward_start(k);
	task_run(t);
	task_finish(t);
	/* init's other threads may outlive its first one */
	pthread_mutex_lock(&k->lock);
	while (p->state != PROC_ZOMBIE)
		pthread_cond_wait(&k->changed, &k->lock);
	*status = p->exit_status;
	pthread_mutex_unlock(&k->lock);
	/* init is gone: so is the sandbox, with every other process in it */
	kernel_shutdown(k);
	k->init = NULL;
	return 0;

out_as:
	k->pops->as_destroy(p->as);
out_free:
	mm_destroy(&p->mm);
	fdtable_free(p->files);
	fs_context_put(p->fs);
	free(p->exe);
	free(t);
	free(p);
	k->init = NULL;
	return r;
}
