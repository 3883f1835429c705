/*
 * Sandbox start-up and teardown: build the first process (pid 1) with its
 * address space on the platform, its fd table holding the inherited stdio,
 * its limits from the config; load the program; run the task loop; tear
 * everything down.  The mm backend forwards to the platform's as_* ops.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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

static int be_map(void *as, uint64_t addr, uint64_t len, int prot, int fd,
		  uint64_t off, uint32_t flags)
{
	struct process *p = as;

	return p->k->pops->as_map(p->as, addr, len, prot, fd, off, flags);
}

static int be_unmap(void *as, uint64_t addr, uint64_t len)
{
	struct process *p = as;

	return p->k->pops->as_unmap(p->as, addr, len);
}

static int be_protect(void *as, uint64_t addr, uint64_t len, int prot)
{
	struct process *p = as;

	return p->k->pops->as_protect(p->as, addr, len, prot);
}

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

int sandbox_run(struct kernel *k, int prog_fd, const char *execfn,
		char *const argv[], int *status, struct sbx_error *err)
{
	const struct sbx_config *cfg = k->cfg;
	struct mm_backend be = { NULL, be_map, be_unmap, be_protect };
	struct process *p;
	struct task t;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return sbx_error_set(err, ENOMEM, "out of memory");
	p->k = k;
	p->pid = p->pgid = p->sid = k->next_pid++;
	p->ppid = 0;
	p->uid = cfg->process.uid;
	p->gid = cfg->process.gid;
	p->umask = 022;
	p->dumpable = 1;
	p->exe = strdup(execfn);
	k->init = p;
	init_rlimits(p, cfg);
	be.as = p;
	mm_init(&p->mm, k->pinfo.user_min, k->pinfo.user_max,
		cfg->limits.memory, &be);
	p->files = fdtable_new((int)cfg->limits.nofile);
	r = -ENOMEM;
	if (!p->exe || !p->files)
		goto out_free;
	r = install_stdio(p);
	if (r)
		goto out_free;
	r = k->pops->as_create(k->plat, &p->as);
	if (r) {
		sbx_error_set(err, -r, "platform: cannot create an address space: %s",
			      strerror(-r));
		goto out_free;
	}
	memset(&t, 0, sizeof(t));
	t.proc = p;
	t.tid = p->pid;
	snprintf(t.comm, sizeof(t.comm), "%s", basename_of(execfn));
	r = exec_load(p, prog_fd, execfn, argv, cfg->process.env, &t.regs, err);
	if (r)
		goto out_as;
	r = k->pops->ctx_create(p->as, &t.ctx);
	if (r) {
		sbx_error_set(err, -r, "platform: cannot create a context: %s",
			      strerror(-r));
		goto out_as;
	}
	task_run(&t);
	*status = p->exit_status;
	r = 0;
	k->pops->ctx_destroy(t.ctx);
out_as:
	k->pops->as_destroy(p->as);
out_free:
	mm_destroy(&p->mm);
	fdtable_free(p->files);
	free(p->exe);
	free(p);
	k->init = NULL;
	return r;
}
