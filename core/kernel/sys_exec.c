/*
 * execve and execveat: copy the arguments in (Linux's limits), open the
 * program through the VFS, follow `#!` interpreters (nested up to Linux's
 * 4 levels), load it into a fresh address space, and only then, past the
 * point of no return, drop the old one: close-on-exec fds, reset signal
 * handlers and the alternate stack, wake a vfork parent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../config/config.h"
#include "../util/log.h"
#include "../vfs/vfs.h"
#include "exec.h"
#include "fdtable.h"
#include "ipc.h"
#include "kernel.h"

#define MAX_ARG_STRLEN (32 * 4096)
#define MAX_ARGS 0x7fffffff
#define BINPRM_BUF 256
#define MAX_INTERP_DEPTH 4

struct strv {
	char **v;
	size_t n, cap, bytes;
};

static void strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int strv_push(struct strv *s, const char *str, size_t limit, bool front)
{
	char *c;

	if (s->n + 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		char **n = realloc(s->v, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->v = n;
		s->cap = cap;
	}
	s->bytes += strlen(str) + 1 + sizeof(char *);
	if (s->bytes > limit)
		return -E2BIG;
	c = strdup(str);
	if (!c)
		return -ENOMEM;
	if (front) {
		memmove(s->v + 1, s->v, s->n * sizeof(*s->v));
		s->v[0] = c;
	} else {
		s->v[s->n] = c;
	}
	s->n++;
	s->v[s->n] = NULL;
	return 0;
}

/* copy_strv - an argv/envp array from the application. */
static int copy_strv(struct task *t, uint64_t uptr, struct strv *s, size_t limit)
{
	char *buf = malloc(MAX_ARG_STRLEN); /* not on the task's small stack */
	int r = buf ? 0 : -ENOMEM;

	for (uint64_t i = 0; uptr && !r; i++) {
		uint64_t p;

		if (i >= MAX_ARGS) {
			r = -E2BIG;
			break;
		}
		if (mm_copy_in(&t->proc->mm, &p, uptr + i * 8, sizeof(p))) {
			r = -EFAULT;
			break;
		}
		if (!p)
			break;
		r = mm_copy_str(&t->proc->mm, buf, p, MAX_ARG_STRLEN);
		if (r < 0) {
			r = r == -ENAMETOOLONG ? -E2BIG : r;
			break;
		}
		r = strv_push(s, buf, limit, false);
	}
	free(buf);
	if (!r && !s->v)
		r = strv_push(s, "", limit, false) ?: (s->n = 0, 0);
	return r;
}

/*
 * parse_shebang - "#!interp [arg]" in @buf: the interpreter path and its
 * optional single argument (the rest of the line, trimmed), as Linux.
 */
static int parse_shebang(char *buf, size_t n, char **interp, char **arg)
{
	char *end = memchr(buf, '\n', n), *p;

	if (!end)
		end = buf + n;
	*end = '\0';
	for (p = end - 1; p > buf + 1 && (*p == ' ' || *p == '\t'); p--)
		*p = '\0';
	p = buf + 2;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return -ENOEXEC;
	*interp = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	*arg = NULL;
	if (*p) {
		*p++ = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p)
			*arg = p;
	}
	return 0;
}

/* open_exec - open @path for execution: a regular file with an x bit. */
static int open_exec(struct task *t, const struct vfs_path *start,
		     const char *path, unsigned wflags, struct file **out)
{
	struct k_stat st;
	struct file *f;
	int r;

	r = vfs_open(t->proc->fs, start, path, O_RDONLY, 0, wflags, &f);
	if (r)
		return r == -EISDIR ? -EACCES : r;
	r = f->ops->stat ? f->ops->stat(f, &st) : -EACCES;
	if (!r && (!S_ISREG(st.st_mode) || !(st.st_mode & 0111)))
		r = -EACCES;
	if (r) {
		file_put(f);
		return r;
	}
	*out = f;
	return 0;
}

/* point_of_no_return - the new image is loaded: retire the old one. */
static void commit_exec(struct task *t, struct mm *old_mm, struct sbx_as *old_as,
			struct sbx_ctx *new_ctx, const char *exe)
{
	struct process *p = t->proc;
	struct kernel *k = p->k;
	struct sbx_ctx *old_ctx;
	const char *base = strrchr(exe, '/');
	char *new_exe, *old_exe = NULL;

	pthread_mutex_lock(&k->lock);
	old_ctx = t->ctx;
	t->ctx = new_ctx;
	process_cputime_retire_as(p, old_as);
	pthread_mutex_unlock(&k->lock);
	k->pops->ctx_destroy(old_ctx);
	k->pops->as_destroy(old_as);
	mm_destroy(old_mm);
	ipc_exec(p); /* shm attachments went with the old image */
	fdtable_close_on_exec(p->files);
	pthread_mutex_lock(&k->lock);
	for (int i = 0; i < K_NSIG; i++) {
		if (p->sigact[i].handler != 1 /* SIG_IGN stays */)
			memset(&p->sigact[i], 0, sizeof(p->sigact[i]));
		p->sigact[i].flags = 0;
	}
	t->altstack.sp = t->altstack.size = 0;
	timers_release(p, true); /* POSIX timers end at exec; alarm stays */
	t->clear_child_tid = 0;
	t->robust_list = t->robust_len = 0;
	p->vfork_done = true;
	/* /proc reads exe and comm under the lock */
	new_exe = strdup(exe);
	if (new_exe) {
		old_exe = p->exe;
		p->exe = new_exe;
	}
	snprintf(t->comm, sizeof(t->comm), "%.15s", base ? base + 1 : exe);
	pthread_cond_broadcast(&k->changed);
	pthread_mutex_unlock(&k->lock);
	free(old_exe);
}

static long do_execve(struct task *t, const struct vfs_path *start,
		      const char *upath, struct strv *argv, struct strv *envp,
		      unsigned wflags)
{
	struct process *p = t->proc;
	struct kernel *k = p->k;
	char path[PATH_MAX], exe[PATH_MAX], buf[BINPRM_BUF + 1];
	struct sbx_error err = { 0 };
	struct mm old_mm;
	struct sbx_as *old_as = p->as, *new_as = NULL;
	struct sbx_ctx *new_ctx = NULL;
	struct sbx_regs regs;
	struct file *f = NULL;
	size_t limit = p->mm.stack_max / 4;
	long r;

	snprintf(path, sizeof(path), "%s", upath);
	for (int depth = 0;; depth++) {
		char *interp, *arg;

		r = open_exec(t, depth ? NULL : start, path, depth ? 0 : wflags, &f);
		if (r)
			return r;
		memset(buf, 0, sizeof(buf));
		r = vfs_read_full(f, buf, 2, 0);
		if (r || buf[0] != '#' || buf[1] != '!')
			break;
		if (depth >= MAX_INTERP_DEPTH) {
			file_put(f);
			return -ELOOP;
		}
		/* a script: read its first line */
		ssize_t n = f->ops->read ? f->ops->read(f, buf, BINPRM_BUF, 0) : -EIO;

		file_put(f);
		f = NULL;
		if (n < 2)
			return -ENOEXEC;
		r = parse_shebang(buf, (size_t)n, &interp, &arg);
		if (r)
			return r;
		/* argv becomes: interp [arg] path argv[1..] */
		free(argv->v[0]);
		argv->v[0] = strdup(path);
		if (!argv->v[0] || (arg && strv_push(argv, arg, limit, true)) ||
		    strv_push(argv, interp, limit, true))
			return -E2BIG;
		snprintf(path, sizeof(path), "%s", interp);
	}
	if (vfs_getpath(p->fs, &f->path, exe, sizeof(exe)) < 0)
		snprintf(exe, sizeof(exe), "%s", path);

	/* other threads go first (Linux's de_thread) */
	pthread_mutex_lock(&k->lock);
	for (struct task *o = p->threads; o; o = o->next_thread) {
		if (o != t) {
			o->exit_thread = true;
			if (o->ctx)
				k->pops->interrupt(o->ctx);
		}
	}
	pthread_cond_broadcast(&k->changed);
	while (p->nthreads > 1 || p->leaving)
		pthread_cond_wait(&k->changed, &k->lock);
	pthread_mutex_unlock(&k->lock);

	/* build the new image beside the old one; the swap of p->mm is under
	 * the kernel lock, under which /proc takes another process's mm lock */
	r = k->pops->as_create(k->plat, &new_as);
	if (r)
		goto out_file;
	pthread_mutex_lock(&k->lock);
	old_mm = p->mm;
	p->as = new_as;
	process_init_mm(p, k->cfg->limits.memory);
	p->mm.stack_max = old_mm.stack_max;
	pthread_mutex_unlock(&k->lock);
	r = exec_load(p, f, upath, argv->v, envp->v, &regs, &err);
	if (!r)
		r = k->pops->ctx_create(new_as, &new_ctx);
	if (r) {
		if (err.err)
			sbx_debug("execve %s: %s", path, err.msg);
		pthread_mutex_lock(&k->lock);
		mm_destroy(&p->mm);
		p->mm = old_mm;
		p->as = old_as;
		pthread_mutex_unlock(&k->lock);
		k->pops->as_destroy(new_as);
		goto out_file;
	}
	regs.fs_base = 0;
	commit_exec(t, &old_mm, old_as, new_ctx, exe);
	t->regs = regs;
	r = 0;
out_file:
	file_put(f);
	return r;
}

static long execve_common(struct task *t, int dirfd, uint64_t upath,
			  uint64_t uargv, uint64_t uenvp, int flags)
{
	struct strv argv = { 0 }, envp = { 0 };
	struct file *dir = NULL;
	char path[PATH_MAX];
	size_t limit = t->proc->mm.stack_max / 4;
	unsigned wflags = WALK_FOLLOW;
	long r;

	if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -EINVAL;
	r = mm_copy_str(&t->proc->mm, path, upath, sizeof(path));
	if (r < 0)
		return r;
	if (!path[0] && !(flags & AT_EMPTY_PATH))
		return -ENOENT;
	if (flags & AT_SYMLINK_NOFOLLOW)
		wflags &= ~WALK_FOLLOW;
	if (flags & AT_EMPTY_PATH)
		wflags |= WALK_EMPTY;
	if (path[0] != '/' && dirfd != AT_FDCWD) {
		dir = fd_get(t->proc->files, dirfd);
		if (!dir)
			return -EBADF;
	}
	r = copy_strv(t, uargv, &argv, limit);
	if (!r)
		r = copy_strv(t, uenvp, &envp, limit);
	if (!r && argv.n == 0)
		r = strv_push(&argv, "", limit, false); /* as Linux: argv[0] = "" */
	if (!r)
		r = do_execve(t, dir ? &dir->path : NULL, path, &argv, &envp, wflags);
	strv_free(&argv);
	strv_free(&envp);
	if (dir)
		file_put(dir);
	return r;
}

long sys_execve(struct task *t, const struct sbx_syscall_args *a)
{
	return execve_common(t, AT_FDCWD, a->a[0], a->a[1], a->a[2], 0);
}

long sys_execveat(struct task *t, const struct sbx_syscall_args *a)
{
	return execve_common(t, (int)a->a[0], a->a[1], a->a[2], a->a[3], (int)a->a[4]);
}
