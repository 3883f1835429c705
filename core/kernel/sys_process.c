/*
 * Process syscalls: clone/fork/vfork/clone3, wait4/waitid, kill/tkill/
 * tgkill, process groups and sessions, and the signal-aware sleeps and
 * waits (nanosleep, clock_nanosleep, restart_syscall, pause, sigsuspend).
 * Every process has one thread for now: CLONE_THREAD comes with threads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "../config/config.h"
#include "../util/log.h"
#include "../vfs/vfs.h"
#include "fdtable.h"
#include "ipc.h"
#include "kernel.h"

#define BIT(s) (1ULL << ((s) - 1))
#define UNBLOCKABLE (BIT(SIGKILL) | BIT(SIGSTOP))
#define NSEC 1000000000LL

/* ---- fork ---- */

static int be_map(void *as, uint64_t addr, uint64_t len, int prot, int fd,
		  uint64_t off, uint32_t flags)
{
	struct process *p = as;

	if (!p->as)
		return 0; /* not yet made: mm_replay will map it all */
	return p->k->pops->as_map(p->as, addr, len, prot, fd, off, flags);
}

static int be_unmap(void *as, uint64_t addr, uint64_t len)
{
	struct process *p = as;

	if (!p->as)
		return 0; /* not yet made: mm_replay will map it all */
	return p->k->pops->as_unmap(p->as, addr, len);
}

static int be_protect(void *as, uint64_t addr, uint64_t len, int prot)
{
	struct process *p = as;

	if (!p->as)
		return 0; /* not yet made: mm_replay will map it all */
	return p->k->pops->as_protect(p->as, addr, len, prot);
}

void process_init_mm(struct process *p, uint64_t limit)
{
	struct mm_backend be = { p, be_map, be_unmap, be_protect };

	mm_init(&p->mm, p->k->pinfo.user_min, p->k->pinfo.user_max, limit, &be);
}

/* task_thread - a forked task's host thread: its address space is made
 * here, on the thread that will drive it (see platform.h). */
static void *task_thread(void *arg)
{
	struct task *t = arg;
	struct process *p = t->proc;
	struct kernel *k = p->k;
	struct sbx_ctx *ctx = NULL;
	bool thread = p->as != NULL; /* a new thread joins an address space */
	int r = 0;

	if (!thread) {
		r = k->pops->as_create(k->plat, &p->as);
		if (!r)
			r = mm_replay(&p->mm);
	}
	if (!r)
		r = k->pops->ctx_create(p->as, &ctx);
	if (r) {
		sbx_err("clone: cannot start tid %d: %s", t->tid, strerror(-r));
		if (thread)
			t->exit_thread = true;
		else
			process_exit(p, SIGKILL);
	} else {
		pthread_mutex_lock(&k->lock);
		t->ctx = ctx;
		pthread_mutex_unlock(&k->lock);
		signal_deliver(t); /* signals sent before it could run */
		task_run(t);
	}
	task_finish(t);
	return NULL;
}

static int start_thread(struct task *t)
{
	pthread_attr_t attr;
	int r;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* the core's own stack for this task; lazily backed by the host */
	pthread_attr_setstacksize(&attr, 1 << 20);
	r = pthread_create(&t->thread, &attr, task_thread, t);
	pthread_attr_destroy(&attr);
	return -r;
}

/* new_thread - CLONE_THREAD: a task in @t's process, on its own context. */
static long new_thread(struct task *t, uint64_t flags, uint64_t stack,
		       uint64_t ptid, uint64_t ctid, uint64_t tls)
{
	struct process *p = t->proc;
	struct kernel *k = p->k;
	struct task *nt = calloc(1, sizeof(*nt));
	uint32_t tid32;
	int r;

	if (!nt)
		return -ENOMEM;
	nt->proc = p;
	nt->regs = t->regs;
	nt->regs.rax = 0;
	if (stack)
		nt->regs.rsp = stack;
	if (flags & CLONE_SETTLS)
		nt->regs.fs_base = tls;
	if (flags & CLONE_CHILD_CLEARTID)
		nt->clear_child_tid = ctid;
	nt->sigmask = t->sigmask;
	memcpy(nt->comm, t->comm, sizeof(nt->comm));
	pthread_mutex_lock(&k->lock);
	/* the platform's contexts per address space (kvm: vCPUs per VM) */
	if ((k->cfg->limits.pids && k->ntasks >= (int)k->cfg->limits.pids) ||
	    (k->pinfo.max_threads &&
	     p->nthreads + p->leaving >= (int)k->pinfo.max_threads)) {
		pthread_mutex_unlock(&k->lock);
		free(nt);
		return -EAGAIN;
	}
	nt->tid = k->next_pid++;
	pthread_mutex_unlock(&k->lock);
	tid32 = (uint32_t)nt->tid;
	if (((flags & CLONE_CHILD_SETTID) &&
	     mm_copy_out(&p->mm, ctid, &tid32, sizeof(tid32))) ||
	    ((flags & CLONE_PARENT_SETTID) &&
	     mm_copy_out(&p->mm, ptid, &tid32, sizeof(tid32)))) {
		free(nt);
		return -EFAULT;
	}
	pthread_mutex_lock(&k->lock);
	thread_add(p, nt);
	k->ntasks++;
	pthread_mutex_unlock(&k->lock);
	r = start_thread(nt);
	if (r) {
		nt->exit_thread = true;
		task_finish(nt);
		return -EAGAIN;
	}
	return (long)tid32;
}

static struct process *new_child(struct task *t, uint64_t flags, int exit_signal)
{
	struct process *p = t->proc, *c;
	struct task *ct;

	c = calloc(1, sizeof(*c));
	ct = calloc(1, sizeof(*ct));
	if (!c || !ct)
		goto out_free;
	c->k = p->k;
	c->parent = (flags & CLONE_PARENT) && p->parent ? p->parent : p;
	c->ppid = c->parent->pid;
	c->pgid = p->pgid;
	c->sid = p->sid;
	c->uid = p->uid;
	c->gid = p->gid;
	c->umask = p->umask;
	c->dumpable = p->dumpable;
	c->nice = p->nice;
	c->personality = p->personality;
	c->caps_dropped = p->caps_dropped;
	c->cap_eff = p->cap_eff;
	c->cap_perm = p->cap_perm;
	c->cap_inh = p->cap_inh;
	c->ioprio = p->ioprio;
	c->no_new_privs = p->no_new_privs;
	c->exit_signal = exit_signal;
	c->task = ct;
	memcpy(c->sigact, p->sigact, sizeof(c->sigact));
	memcpy(c->rlim, p->rlim, sizeof(c->rlim));
	memcpy(c->auxv, p->auxv, sizeof(c->auxv));
	c->exe = strdup(p->exe);
	if (!c->exe)
		goto out_free;
	ct->proc = c;
	ct->regs = t->regs;
	ct->sigmask = t->sigmask;
	ct->altstack = t->altstack;
	memcpy(ct->comm, t->comm, sizeof(ct->comm));
	return c;

out_free:
	if (c)
		free(c->exe);
	free(ct);
	free(c);
	return NULL;
}

static void free_child(struct process *c)
{
	ipc_exit(c); /* inherited shm attachments */
	mm_destroy(&c->mm);
	fdtable_free(c->files);
	if (c->fs)
		fs_context_put(c->fs);
	free(c->exe);
	free(c->task);
	free(c);
}

/*
 * do_fork - clone's engine.  @pidfd_ptr: where CLONE_PIDFD stores the
 * pidfd (clone passes parent_tid, clone3 its own field).
 */
static long do_fork(struct task *t, uint64_t flags, uint64_t stack,
		    uint64_t ptid, uint64_t ctid, uint64_t tls, uint64_t pidfd_ptr)
{
	struct process *p = t->proc, *c;
	struct kernel *k = p->k;
	int exit_signal = (int)(flags & CSIGNAL);
	uint32_t pid32;
	int r;

	if ((flags & CLONE_THREAD) && !(flags & CLONE_SIGHAND))
		return -EINVAL;
	if ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM))
		return -EINVAL;
	if ((flags & CLONE_FS) && (flags & CLONE_NEWNS))
		return -EINVAL;
	if (exit_signal > K_NSIG)
		return -EINVAL;
	if ((flags & CLONE_PIDFD) &&
	    (flags & (CLONE_THREAD | CLONE_DETACHED)))
		return -EINVAL;
	if (flags & (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
		     CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP))
		return -EPERM;
	if ((flags & CLONE_THREAD) && (k->pinfo.flags & SBX_PLATFORM_MULTI_CTX))
		return new_thread(t, flags, stack, ptid, ctid, tls);
	if ((flags & CLONE_THREAD) ||
	    ((flags & CLONE_VM) && !(flags & CLONE_VFORK))) {
		/* threads on platforms with one context per address space, and
		 * processes sharing memory without being threads: not yet */
		sbx_info("clone: not supported here (flags %#llx)",
			 (unsigned long long)flags);
		return -ENOSYS;
	}
	pthread_mutex_lock(&k->lock);
	if (k->cfg->limits.pids && k->nprocs >= (int)k->cfg->limits.pids) {
		pthread_mutex_unlock(&k->lock);
		return -EAGAIN;
	}
	pthread_mutex_unlock(&k->lock);

	c = new_child(t, flags, exit_signal);
	if (!c)
		return -ENOMEM;
	process_init_mm(c, k->cfg->limits.memory);
	r = mm_fork(&c->mm, &p->mm);
	c->files = fdtable_clone(p->files);
	c->fs = fs_context_clone(p->fs);
	if (r || !c->files || !c->fs || ipc_fork(p, c)) {
		free_child(c);
		return -ENOMEM;
	}
	c->task->regs.rax = 0;
	if (stack)
		c->task->regs.rsp = stack;
	if (flags & CLONE_SETTLS)
		c->task->regs.fs_base = tls;
	if (flags & CLONE_CHILD_CLEARTID)
		c->task->clear_child_tid = ctid;

	pthread_mutex_lock(&k->lock);
	c->pid = c->task->tid = k->next_pid++;
	pthread_mutex_unlock(&k->lock);
	pid32 = (uint32_t)c->pid;
	if ((flags & CLONE_CHILD_SETTID) &&
	    mm_copy_out(&c->mm, ctid, &pid32, sizeof(pid32))) {
		free_child(c);
		return -EFAULT;
	}
	if ((flags & CLONE_PARENT_SETTID) &&
	    mm_copy_out(&p->mm, ptid, &pid32, sizeof(pid32))) {
		free_child(c);
		return -EFAULT;
	}
	process_register(k, c);
	if (flags & CLONE_PIDFD) {
		int32_t fd = pidfd_new(t, c, false);

		if (fd < 0 || mm_copy_out(&p->mm, pidfd_ptr, &fd, sizeof(fd))) {
			/* Linux fails the clone before the child runs: it
			 * never existed, so it is reaped here at once */
			if (fd >= 0)
				fd_close(p->files, fd);
			c->exiting = true;
			c->exit_status = SIGKILL;
			c->exit_signal = 0;
			task_exit(c->task);
			pthread_mutex_lock(&k->lock);
			process_reap(k, c);
			pthread_mutex_unlock(&k->lock);
			return fd < 0 ? fd : -EFAULT;
		}
	}
	r = start_thread(c->task);
	if (r) {
		/* never ran: becomes a zombie killed by SIGKILL */
		c->exiting = true;
		c->exit_status = SIGKILL;
		task_exit(c->task);
		return -EAGAIN;
	}
	if (flags & CLONE_VFORK) {
		pthread_mutex_lock(&k->lock);
		while (!c->vfork_done && !p->exiting)
			pthread_cond_wait(&k->changed, &k->lock);
		pthread_mutex_unlock(&k->lock);
	}
	return (long)pid32;
}

long sys_clone(struct task *t, const struct sbx_syscall_args *a)
{
	/* x86-64 order: flags, stack, parent_tid, child_tid, tls */
	if ((a->a[0] & CLONE_PIDFD) && (a->a[0] & CLONE_PARENT_SETTID))
		return -EINVAL; /* both use parent_tid */
	return do_fork(t, a->a[0], a->a[1], a->a[2], a->a[3], a->a[4], a->a[2]);
}

long sys_fork(struct task *t, const struct sbx_syscall_args *a)
{
	return do_fork(t, SIGCHLD, 0, 0, 0, 0, 0);
}

long sys_vfork(struct task *t, const struct sbx_syscall_args *a)
{
	return do_fork(t, CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0, 0);
}

long sys_clone3(struct task *t, const struct sbx_syscall_args *a)
{
	struct {
		uint64_t flags, pidfd, child_tid, parent_tid, exit_signal;
		uint64_t stack, stack_size, tls, set_tid, set_tid_size, cgroup;
	} ca;
	size_t size = a->a[1];

	memset(&ca, 0, sizeof(ca));
	if (size < 64 || size > 4096)
		return -EINVAL;
	if (mm_copy_in(&t->proc->mm, &ca, a->a[0], size < sizeof(ca) ? size : sizeof(ca)))
		return -EFAULT;
	if ((ca.flags & CSIGNAL) || ca.exit_signal > K_NSIG || ca.set_tid_size)
		return -EINVAL;
	return do_fork(t, ca.flags | ca.exit_signal,
		       ca.stack ? ca.stack + ca.stack_size : 0, ca.parent_tid,
		       ca.child_tid, ca.tls, ca.pidfd);
}

/* ---- wait ---- */

struct wait_result {
	int pid, status, code, cstatus;
	uint32_t uid;
	struct cputime cpu;  /* a reaped child's total, for wait4's rusage */
	uint64_t maxrss_kb;
};

static bool matches(struct process *p, struct process *c, int idtype, int id)
{
	if (c->parent != p)
		return false;
	switch (idtype) {
	case P_PID:
		return c->pid == id;
	case P_PGID:
		return c->pgid == id;
	default:
		return true;
	}
}

/* do_wait - Return: pid, 0 (WNOHANG, none ready), -ECHILD, -ERESTARTSYS. */
static long do_wait(struct task *t, int idtype, int id, int options,
		    struct wait_result *w)
{
	struct process *p = t->proc;
	struct kernel *k = p->k;
	long r;

	pthread_mutex_lock(&k->lock);
	for (;;) {
		bool have = false;

		for (struct process *c = k->procs; c; c = c->next) {
			if (!matches(p, c, idtype, id))
				continue;
			have = true;
			w->pid = c->pid;
			w->uid = c->uid;
			if (c->state == PROC_ZOMBIE && (options & WEXITED)) {
				int st = c->exit_status;

				w->status = st;
				w->code = (st & 0x7f) == 0 ? CLD_EXITED
					  : (st & 0x80) ? CLD_DUMPED : CLD_KILLED;
				w->cstatus = (st & 0x7f) == 0 ? (st >> 8) & 0xff : st & 0x7f;
				/* Linux's wait4 rusage: the child and what
				 * it reaped itself */
				w->cpu = c->cpu_done;
				cputime_add(&w->cpu, &c->cpu_children);
				w->maxrss_kb = c->maxrss_kb > c->children_maxrss_kb
					       ? c->maxrss_kb : c->children_maxrss_kb;
				if (!(options & WNOWAIT)) {
					cputime_add(&p->cpu_children, &w->cpu);
					if (p->children_maxrss_kb < w->maxrss_kb)
						p->children_maxrss_kb = w->maxrss_kb;
					process_reap(k, c);
				}
				r = w->pid;
				goto out;
			}
			if ((options & WSTOPPED) && c->stop_sig && c->stop_report) {
				w->status = 0x7f | (c->stop_sig << 8);
				w->code = CLD_STOPPED;
				w->cstatus = c->stop_sig;
				if (!(options & WNOWAIT))
					c->stop_report = false;
				r = w->pid;
				goto out;
			}
			if ((options & WCONTINUED) && c->cont_report) {
				w->status = 0xffff;
				w->code = CLD_CONTINUED;
				w->cstatus = SIGCONT;
				if (!(options & WNOWAIT))
					c->cont_report = false;
				r = w->pid;
				goto out;
			}
		}
		if (!have) {
			r = -ECHILD;
			break;
		}
		if (options & WNOHANG) {
			r = 0;
			break;
		}
		r = task_sleep(t, 0);
		if (r == -ERESTARTSYS)
			break;
	}
out:
	pthread_mutex_unlock(&k->lock);
	return r;
}

/* struct rusage as x86-64 lays it out */
struct k_rusage {
	struct { int64_t sec, usec; } utime, stime;
	int64_t maxrss, ixrss, idrss, isrss, minflt, majflt, nswap, inblock,
		oublock, msgsnd, msgrcv, nsignals, nvcsw, nivcsw;
};

static long put_rusage(struct task *t, uint64_t ru, const struct cputime *c,
		       uint64_t maxrss_kb)
{
	struct k_rusage r = { 0 };

	if (!ru)
		return 0;
	r.utime.sec = (int64_t)(c->user / NSEC);
	r.utime.usec = (int64_t)(c->user % NSEC / 1000);
	r.stime.sec = (int64_t)(c->sys / NSEC);
	r.stime.usec = (int64_t)(c->sys % NSEC / 1000);
	r.maxrss = (int64_t)maxrss_kb;
	return mm_copy_out(&t->proc->mm, ru, &r, sizeof(r));
}

long sys_wait4(struct task *t, const struct sbx_syscall_args *a)
{
	int pid = (int)a->a[0], options = (int)a->a[2];
	struct wait_result w = { 0 };
	int idtype = P_ALL, id = 0;
	long r;

	if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD |
			__WCLONE | __WALL))
		return -EINVAL;
	if (pid == INT_MIN)
		return -ESRCH;
	if (pid > 0)
		idtype = P_PID, id = pid;
	else if (pid == 0)
		idtype = P_PGID, id = t->proc->pgid;
	else if (pid < -1)
		idtype = P_PGID, id = -pid;
	r = do_wait(t, idtype, id, options | WEXITED, &w);
	if (r > 0) {
		if (a->a[1] && mm_copy_out(&t->proc->mm, a->a[1], &w.status,
					   sizeof(int)))
			return -EFAULT;
		if (put_rusage(t, a->a[3], &w.cpu, w.maxrss_kb))
			return -EFAULT;
	}
	return r;
}

long sys_waitid(struct task *t, const struct sbx_syscall_args *a)
{
	int idtype = (int)a->a[0], id = (int)a->a[1], options = (int)a->a[3];
	struct wait_result w = { 0 };
	struct k_siginfo info;
	long r;

	if (options & ~(WNOHANG | WNOWAIT | WEXITED | WSTOPPED | WCONTINUED |
			__WNOTHREAD | __WCLONE | __WALL))
		return -EINVAL;
	if (!(options & (WEXITED | WSTOPPED | WCONTINUED)))
		return -EINVAL;
	if (idtype == P_PIDFD) {
		struct process *c;

		pthread_mutex_lock(&t->proc->k->lock);
		r = pidfd_target(t, id, &c);
		if (!r)
			id = c->pid;
		pthread_mutex_unlock(&t->proc->k->lock);
		if (r)
			return r == -ESRCH ? -ECHILD : r;
		idtype = P_PID;
	}
	if (idtype != P_ALL && idtype != P_PID && idtype != P_PGID)
		return -EINVAL;
	if ((idtype == P_PID || idtype == P_PGID) && id <= 0) {
		if (idtype == P_PID || id < 0)
			return -EINVAL;
		id = t->proc->pgid; /* P_PGID 0: our own group */
	}
	r = do_wait(t, idtype, id, options, &w);
	if (r < 0)
		return r;
	memset(&info, 0, sizeof(info));
	if (r > 0) {
		info.signo = SIGCHLD;
		info.code = w.code;
		info.u.chld.pid = w.pid;
		info.u.chld.uid = w.uid;
		info.u.chld.status = w.cstatus;
	}
	if (a->a[2] && mm_copy_out(&t->proc->mm, a->a[2], &info, sizeof(info)))
		return -EFAULT;
	if (put_rusage(t, a->a[4], &w.cpu, w.maxrss_kb))
		return -EFAULT;
	return 0;
}

/* ---- kill ---- */

static void user_info(struct task *t, int sig, int code, struct k_siginfo *i)
{
	memset(i, 0, sizeof(*i));
	i->signo = sig;
	i->code = code;
	i->u.kill.pid = t->proc->pid;
	i->u.kill.uid = t->proc->uid;
}

long sys_kill(struct task *t, const struct sbx_syscall_args *a)
{
	int pid = (int)a->a[0], sig = (int)a->a[1];
	struct kernel *k = t->proc->k;
	struct k_siginfo info;
	bool found = false;

	if (sig < 0 || sig > K_NSIG)
		return -EINVAL;
	if (pid == INT_MIN)
		return -ESRCH;
	user_info(t, sig, SI_USER, &info);
	pthread_mutex_lock(&k->lock);
	for (struct process *c = k->procs; c; c = c->next) {
		bool hit;

		if (pid > 0)
			hit = c->pid == pid;
		else if (pid == 0)
			hit = c->pgid == t->proc->pgid;
		else if (pid == -1)
			hit = c->pid != 1 && c != t->proc;
		else
			hit = c->pgid == -pid;
		if (!hit || (pid <= 0 && c->state != PROC_LIVE))
			continue;
		found = true;
		if (sig)
			signal_send_locked(c, sig, &info);
	}
	pthread_mutex_unlock(&k->lock);
	return found ? 0 : -ESRCH;
}

static long thread_kill(struct task *t, int tgid, int tid, int sig)
{
	struct kernel *k = t->proc->k;
	struct k_siginfo info;
	struct task *target;
	long r = 0;

	if (sig < 0 || sig > K_NSIG || tid <= 0 || tgid == 0 || tgid < -1)
		return -EINVAL;
	user_info(t, sig, SI_TKILL, &info);
	pthread_mutex_lock(&k->lock);
	target = task_find(k, tid);
	if (!target || target->proc->state != PROC_LIVE ||
	    (tgid > 0 && target->proc->pid != tgid))
		r = -ESRCH;
	else if (sig)
		signal_send_task(target, sig, &info);
	pthread_mutex_unlock(&k->lock);
	return r;
}

long sys_tkill(struct task *t, const struct sbx_syscall_args *a)
{
	return thread_kill(t, -1, (int)a->a[0], (int)a->a[1]);
}

long sys_tgkill(struct task *t, const struct sbx_syscall_args *a)
{
	if ((int)a->a[0] <= 0)
		return -EINVAL;
	return thread_kill(t, (int)a->a[0], (int)a->a[1], (int)a->a[2]);
}

/* ---- process groups and sessions ---- */

long sys_setpgid(struct task *t, const struct sbx_syscall_args *a)
{
	struct process *p = t->proc, *target;
	struct kernel *k = p->k;
	int pid = (int)a->a[0], pgid = (int)a->a[1];
	long r = 0;

	if (pgid < 0)
		return -EINVAL;
	pthread_mutex_lock(&k->lock);
	target = pid == 0 ? p : process_find(k, pid);
	if (!target || (target != p && target->parent != p)) {
		r = -ESRCH;
		goto out;
	}
	if (pgid == 0)
		pgid = target->pid;
	if (target->sid == target->pid || target->sid != p->sid) {
		r = -EPERM;
		goto out;
	}
	if (pgid != target->pid) {
		bool ok = false;

		for (struct process *c = k->procs; c; c = c->next)
			if (c->pgid == pgid && c->sid == p->sid && c->state == PROC_LIVE)
				ok = true;
		if (!ok) {
			r = -EPERM;
			goto out;
		}
	}
	target->pgid = pgid;
out:
	pthread_mutex_unlock(&k->lock);
	return r;
}

long sys_setsid(struct task *t, const struct sbx_syscall_args *a)
{
	struct process *p = t->proc;
	struct kernel *k = p->k;
	long r;

	pthread_mutex_lock(&k->lock);
	r = -EPERM;
	bool leader = false;

	for (struct process *c = k->procs; c; c = c->next)
		if (c->pgid == p->pid && c->state == PROC_LIVE)
			leader = true;
	if (!leader) {
		p->sid = p->pgid = p->pid;
		r = p->pid;
	}
	pthread_mutex_unlock(&k->lock);
	return r;
}

static long lookup_id(struct task *t, int pid, bool sid)
{
	struct kernel *k = t->proc->k;
	struct process *c;
	long r;

	if (pid < 0)
		return -EINVAL;
	pthread_mutex_lock(&k->lock);
	c = pid == 0 ? t->proc : process_find(k, pid);
	r = !c ? -ESRCH : sid ? c->sid : c->pgid;
	pthread_mutex_unlock(&k->lock);
	return r;
}

long sys_getpgid(struct task *t, const struct sbx_syscall_args *a)
{
	return lookup_id(t, (int)a->a[0], false);
}

long sys_getsid(struct task *t, const struct sbx_syscall_args *a)
{
	return lookup_id(t, (int)a->a[0], true);
}

long sys_getpgrp(struct task *t, const struct sbx_syscall_args *a)
{
	return lookup_id(t, 0, false);
}

long sys_getppid(struct task *t, const struct sbx_syscall_args *a)
{
	long r;

	pthread_mutex_lock(&t->proc->k->lock);
	r = t->proc->ppid;
	pthread_mutex_unlock(&t->proc->k->lock);
	return r;
}

/* ---- sleeps and waits for signals ---- */

static int64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

/* sleep_until - block until the CLOCK_MONOTONIC @deadline or a signal. */
static long sleep_until(struct task *t, int64_t deadline, uint64_t rem_ptr)
{
	struct kernel *k = t->proc->k;
	long r;

	pthread_mutex_lock(&k->lock);
	do
		r = task_sleep(t, deadline);
	while (r == 0);
	pthread_mutex_unlock(&k->lock);
	if (r == -ETIMEDOUT)
		return 0;
	t->restart_deadline = deadline;
	t->restart_rem = rem_ptr;
	if (rem_ptr) {
		int64_t left = deadline - now_ns(CLOCK_MONOTONIC);
		struct k_timespec ts;

		if (left < 0)
			left = 0;
		ts.tv_sec = left / NSEC;
		ts.tv_nsec = left % NSEC;
		if (mm_copy_out(&t->proc->mm, rem_ptr, &ts, sizeof(ts)))
			return -EFAULT;
	}
	return -ERESTART_RESTARTBLOCK;
}

static long get_duration(struct task *t, uint64_t uaddr, int64_t *ns)
{
	struct k_timespec k;

	if (mm_copy_in(&t->proc->mm, &k, uaddr, sizeof(k)))
		return -EFAULT;
	if (k.tv_sec < 0 || k.tv_nsec < 0 || k.tv_nsec >= NSEC)
		return -EINVAL;
	*ns = k.tv_sec > INT64_MAX / NSEC - 1 ? INT64_MAX / 2 : k.tv_sec * NSEC + k.tv_nsec;
	return 0;
}

long sys_nanosleep(struct task *t, const struct sbx_syscall_args *a)
{
	int64_t d;
	long r = get_duration(t, a->a[0], &d);

	if (r)
		return r;
	return sleep_until(t, now_ns(CLOCK_MONOTONIC) + d, a->a[1]);
}

long sys_clock_nanosleep(struct task *t, const struct sbx_syscall_args *a)
{
	clockid_t clk = (clockid_t)a->a[0];
	int64_t d;
	long r;

	if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC &&
	    clk != CLOCK_BOOTTIME && clk != CLOCK_TAI)
		return clk == CLOCK_THREAD_CPUTIME_ID ? -EINVAL
		       : (clk > CLOCK_TAI || clk == 10 || clk < 0) ? -EINVAL
		       : -EOPNOTSUPP;
	if (a->a[1] & ~(uint64_t)TIMER_ABSTIME)
		return -EINVAL;
	r = get_duration(t, a->a[2], &d);
	if (r)
		return r;
	if (a->a[1] & TIMER_ABSTIME) {
		d -= now_ns(clk); /* to a relative wait on the monotonic clock */
		r = sleep_until(t, now_ns(CLOCK_MONOTONIC) + (d > 0 ? d : 0), 0);
		return r == -ERESTART_RESTARTBLOCK ? -ERESTARTNOHAND : r;
	}
	return sleep_until(t, now_ns(CLOCK_MONOTONIC) + d, a->a[3]);
}

long sys_restart_syscall(struct task *t, const struct sbx_syscall_args *a)
{
	if (!t->restart_deadline)
		return -EINTR;
	return sleep_until(t, t->restart_deadline, t->restart_rem);
}

static long wait_for_signal(struct task *t)
{
	struct kernel *k = t->proc->k;

	pthread_mutex_lock(&k->lock);
	while (task_sleep(t, 0) == 0)
		;
	pthread_mutex_unlock(&k->lock);
	return -ERESTARTNOHAND;
}

long sys_pause(struct task *t, const struct sbx_syscall_args *a)
{
	return wait_for_signal(t);
}

long sys_rt_sigsuspend(struct task *t, const struct sbx_syscall_args *a)
{
	struct kernel *k = t->proc->k;
	uint64_t mask;

	if (a->a[1] != K_SIGSET_SIZE)
		return -EINVAL;
	if (mm_copy_in(&t->proc->mm, &mask, a->a[0], sizeof(mask)))
		return -EFAULT;
	pthread_mutex_lock(&k->lock);
	t->saved_mask = t->sigmask;
	t->has_saved_mask = true;
	t->sigmask = mask & ~UNBLOCKABLE;
	pthread_mutex_unlock(&k->lock);
	return wait_for_signal(t);
}

long sys_rt_sigtimedwait(struct task *t, const struct sbx_syscall_args *a)
{
	struct kernel *k = t->proc->k;
	struct k_siginfo info;
	int64_t d = -1, deadline = 0;
	uint64_t set;
	long r;

	if (a->a[3] != K_SIGSET_SIZE)
		return -EINVAL;
	if (mm_copy_in(&t->proc->mm, &set, a->a[0], sizeof(set)))
		return -EFAULT;
	set &= ~UNBLOCKABLE;
	if (a->a[2]) {
		r = get_duration(t, a->a[2], &d);
		if (r)
			return r;
		deadline = now_ns(CLOCK_MONOTONIC) + d;
	}
	pthread_mutex_lock(&k->lock);
	for (;;) {
		r = signal_dequeue(t, set, &info);
		if (r || d == 0) {
			r = r ? r : -EAGAIN;
			break;
		}
		/* the set is usually blocked: a queued one wakes us through
		 * k->changed; any other unblocked signal interrupts (EINTR,
		 * never restarted, as Linux) */
		r = task_sleep(t, deadline);
		if (r == -ETIMEDOUT) {
			r = -EAGAIN;
			break;
		}
		if (r) {
			r = signal_dequeue(t, set, &info);
			r = r ? r : -EINTR;
			break;
		}
	}
	pthread_mutex_unlock(&k->lock);
	if (r > 0 && a->a[1] &&
	    mm_copy_out(&t->proc->mm, a->a[1], &info, sizeof(info)))
		return -EFAULT;
	return r;
}

/*
 * queue_info - rt_sigqueueinfo and rt_tgsigqueueinfo: send @sig with the
 * caller's siginfo.  As Linux, only a process signalling itself may claim
 * a kernel or kill() origin (si_code >= 0 or SI_TKILL).
 */
static long queue_info(struct task *t, int tgid, int tid, int sig,
		       uint64_t uinfo)
{
	struct kernel *k = t->proc->k;
	struct k_siginfo info;
	struct task *target = NULL;
	struct process *p;
	long r = 0;

	if (sig < 0 || sig > K_NSIG)
		return -EINVAL;
	if (mm_copy_in(&t->proc->mm, &info, uinfo, sizeof(info)))
		return -EFAULT;
	if ((info.code >= 0 || info.code == SI_TKILL) && tgid != t->proc->pid)
		return -EPERM;
	info.signo = sig;
	pthread_mutex_lock(&k->lock);
	if (tid > 0) {
		target = task_find(k, tid);
		p = target && target->proc->pid == tgid ? target->proc : NULL;
	} else {
		p = process_find(k, tgid);
	}
	if (!p || p->state != PROC_LIVE)
		r = -ESRCH;
	else if (sig && target)
		r = signal_send_task(target, sig, &info);
	else if (sig)
		r = signal_send_locked(p, sig, &info);
	pthread_mutex_unlock(&k->lock);
	return r;
}

long sys_rt_sigqueueinfo(struct task *t, const struct sbx_syscall_args *a)
{
	if ((int)a->a[0] <= 0)
		return -ESRCH;
	return queue_info(t, (int)a->a[0], 0, (int)a->a[1], a->a[2]);
}

long sys_rt_tgsigqueueinfo(struct task *t, const struct sbx_syscall_args *a)
{
	if ((int)a->a[0] <= 0 || (int)a->a[1] <= 0)
		return -EINVAL;
	return queue_info(t, (int)a->a[0], (int)a->a[1], (int)a->a[2], a->a[3]);
}

long sys_rt_sigpending(struct task *t, const struct sbx_syscall_args *a)
{
	uint64_t set;

	if (a->a[1] > K_SIGSET_SIZE)
		return -EINVAL;
	pthread_mutex_lock(&t->proc->k->lock);
	set = t->pending & t->sigmask;
	pthread_mutex_unlock(&t->proc->k->lock);
	return mm_copy_out(&t->proc->mm, a->a[0], &set, a->a[1]);
}

long sys_sigaltstack(struct task *t, const struct sbx_syscall_args *a)
{
	struct {
		uint64_t sp;
		int32_t flags, pad;
		uint64_t size;
	} ss, old;
	bool on = t->altstack.size && t->regs.rsp > t->altstack.sp &&
		  t->regs.rsp <= t->altstack.sp + t->altstack.size;

	memset(&old, 0, sizeof(old));
	old.sp = t->altstack.sp;
	old.size = t->altstack.size;
	old.flags = on ? 1 /* SS_ONSTACK */ : t->altstack.size ? 0 : 2 /* SS_DISABLE */;
	if (a->a[0]) {
		if (mm_copy_in(&t->proc->mm, &ss, a->a[0], sizeof(ss)))
			return -EFAULT;
		if (on)
			return -EPERM;
		if (ss.flags & ~(2 | (1 << 31) /* SS_AUTODISARM */))
			return -EINVAL;
		if (ss.flags & 2) {
			t->altstack.sp = t->altstack.size = 0;
		} else {
			if (ss.size < 2048) /* MINSIGSTKSZ */
				return -ENOMEM;
			t->altstack.sp = ss.sp;
			t->altstack.size = ss.size;
		}
	}
	if (a->a[1] && mm_copy_out(&t->proc->mm, a->a[1], &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

/* usage - RUSAGE_SELF, RUSAGE_CHILDREN or RUSAGE_THREAD of @t. */
static void usage(struct task *t, int who, struct cputime *c, uint64_t *maxrss)
{
	struct process *p = t->proc;

	pthread_mutex_lock(&p->k->lock);
	if (p->maxrss_kb < p->mm.committed / 1024)
		p->maxrss_kb = p->mm.committed / 1024;
	if (who == RUSAGE_CHILDREN) {
		*c = p->cpu_children;
		*maxrss = p->children_maxrss_kb;
	} else if (who == RUSAGE_THREAD && p->nthreads > 1) {
		/* a stub's time is per process: a thread of several gets
		 * what its own host thread used */
		task_cputime(t, c);
		*maxrss = p->maxrss_kb;
	} else {
		process_cputime(p, c);
		*maxrss = p->maxrss_kb;
	}
	pthread_mutex_unlock(&p->k->lock);
}

long sys_getrusage(struct task *t, const struct sbx_syscall_args *a)
{
	int who = (int)a->a[0];
	struct cputime c;
	uint64_t maxrss;

	if (who != RUSAGE_SELF && who != RUSAGE_CHILDREN && who != RUSAGE_THREAD)
		return -EINVAL;
	usage(t, who, &c, &maxrss);
	return put_rusage(t, a->a[1], &c, maxrss);
}

long sys_times(struct task *t, const struct sbx_syscall_args *a)
{
	struct cputime self, kids;
	uint64_t maxrss;
	int64_t tms[4]; /* clock_t ticks at USER_HZ 100 */

	usage(t, RUSAGE_SELF, &self, &maxrss);
	usage(t, RUSAGE_CHILDREN, &kids, &maxrss);
	tms[0] = (int64_t)(self.user / (NSEC / 100));
	tms[1] = (int64_t)(self.sys / (NSEC / 100));
	tms[2] = (int64_t)(kids.user / (NSEC / 100));
	tms[3] = (int64_t)(kids.sys / (NSEC / 100));
	if (a->a[0] && mm_copy_out(&t->proc->mm, a->a[0], tms, sizeof(tms)))
		return -EFAULT;
	return (long)(now_ns(CLOCK_MONOTONIC) / (NSEC / 100));
}
