/*
 * Processes: the process list and tree, task threads, exit and zombies,
 * reparenting to init, sleeping with signal wake-ups, and the end of the
 * sandbox when init exits.
 *
 * Every task runs its task loop on a host thread of its own (init's is
 * sbxrun's main thread).  A task creates and destroys its process's
 * platform address space on that thread, because platforms may require
 * it (ptrace: only the tracer thread may act on a stub).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util/log.h"
#include "../vfs/procfs.h"
#include "../vfs/vfs.h"
#include "fdtable.h"
#include "ipc.h"
#include "kernel.h"
#include "seccomp.h"

#define SHUTDOWN_WAIT_NS 2000000000LL /* then sbxrun exits regardless */

static int64_t now_ns(void);

void kernel_init(struct kernel *k)
{
	pthread_condattr_t ca;
	struct timespec ts;

	pthread_mutex_init(&k->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&k->changed, &ca);
	pthread_condattr_destroy(&ca);
	k->boot_ns = now_ns();
	clock_gettime(CLOCK_REALTIME, &ts);
	k->boot_real_ns = ts.tv_sec * 1000000000LL + ts.tv_nsec;
	procfs_attach(k);
}

void thread_add(struct process *p, struct task *t)
{
	t->next_thread = p->threads;
	p->threads = t;
	p->nthreads++;
	if (!p->task)
		p->task = t;
}

/* thread_remove - unlink @t; p->task moves to a remaining thread. */
static void thread_remove(struct process *p, struct task *t)
{
	for (struct task **pp = &p->threads; *pp; pp = &(*pp)->next_thread) {
		if (*pp == t) {
			*pp = t->next_thread;
			break;
		}
	}
	p->nthreads--;
	if (p->task == t && p->threads)
		p->task = p->threads;
}

struct task *task_find(struct kernel *k, int tid)
{
	for (struct process *p = k->procs; p; p = p->next)
		for (struct task *t = p->threads; t; t = t->next_thread)
			if (t->tid == tid)
				return t;
	return NULL;
}

void process_register(struct kernel *k, struct process *p)
{
	pthread_mutex_lock(&k->lock);
	p->start_ns = now_ns();
	if (!p->threads && p->task)
		thread_add(p, p->task);
	p->next = k->procs;
	k->procs = p;
	k->nprocs++;
	k->ntasks++;
	pthread_mutex_unlock(&k->lock);
}

struct process *process_find(struct kernel *k, int pid)
{
	for (struct process *p = k->procs; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int task_sleep(struct task *t, int64_t deadline_ns)
{
	struct kernel *k = t->proc->k;
	struct timespec ts;

	if (signal_pending(t) || t->proc->exiting || t->exit_thread)
		return -ERESTARTSYS;
	if (deadline_ns) {
		if (now_ns() >= deadline_ns)
			return -ETIMEDOUT;
		ts.tv_sec = deadline_ns / 1000000000LL;
		ts.tv_nsec = deadline_ns % 1000000000LL;
		pthread_cond_timedwait(&k->changed, &k->lock, &ts);
	} else {
		pthread_cond_wait(&k->changed, &k->lock);
	}
	if (signal_pending(t) || t->proc->exiting || t->exit_thread)
		return -ERESTARTSYS;
	if (deadline_ns && now_ns() >= deadline_ns)
		return -ETIMEDOUT;
	return 0;
}

/* unlink_process - drop a reaped zombie from the list and free it. */
static void unlink_process(struct kernel *k, struct process *z)
{
	for (struct process **pp = &k->procs; *pp; pp = &(*pp)->next) {
		if (*pp == z) {
			*pp = z->next;
			break;
		}
	}
	k->nprocs--;
	pidfd_process_release(z);
	if (z->task) {
		signal_task_release(z->task);
		kseccomp_release(z->task);
	}
	free(z->task);
	free(z->exe);
	free(z);
}

void process_reap(struct kernel *k, struct process *z)
{
	unlink_process(k, z);
}

/* notify_parent - SIGCHLD (or the clone exit signal) with CLD_* info. */
static void notify_parent(struct process *p)
{
	struct process *parent = p->parent;
	struct k_siginfo info = { 0 };
	int st = p->exit_status;
	struct k_sigaction *act;

	if (!parent)
		return;
	info.signo = p->exit_signal ? p->exit_signal : SIGCHLD;
	info.u.chld.pid = p->pid;
	info.u.chld.uid = p->uid;
	if ((st & 0x7f) == 0) {
		info.code = 1; /* CLD_EXITED */
		info.u.chld.status = (st >> 8) & 0xff;
	} else {
		info.code = (st & 0x80) ? 3 /* CLD_DUMPED */ : 2 /* CLD_KILLED */;
		info.u.chld.status = st & 0x7f;
	}
	if (p->exit_signal)
		signal_send_locked(parent, info.signo, &info);
	/* SIGCHLD ignored or SA_NOCLDWAIT: the child is reaped at once */
	act = &parent->sigact[SIGCHLD - 1];
	if (act->handler == 1 /* SIG_IGN */ || (act->flags & 2 /* SA_NOCLDWAIT */))
		unlink_process(p->k, p);
}

void task_exit(struct task *t)
{
	struct process *p = t->proc, *init;
	struct kernel *k = p->k;
	const struct sbx_platform_ops *ops = k->pops;
	struct sbx_ctx *ctx;
	struct fdtable *files;
	struct fs_context *fs;
	struct mm_delta *delta;

	if (t->clear_child_tid) {
		uint32_t zero = 0;

		mm_copy_out(&p->mm, t->clear_child_tid, &zero, sizeof(zero));
	}
	pthread_mutex_lock(&k->lock);
	/* the platform frees the address space only after every context */
	while (p->leaving)
		pthread_cond_wait(&k->changed, &k->lock);
	ctx = t->ctx;
	t->ctx = NULL; /* no more interrupts */
	task_cputime_retire(t);
	process_cputime_retire_as(p, p->as);
	thread_remove(p, t);
	p->task = t; /* the zombie keeps its last task */
	/* from here /proc no longer looks at mm, files or fs */
	p->released = true;
	files = p->files;
	fs = p->fs;
	p->files = NULL;
	p->fs = NULL;
	pthread_mutex_unlock(&k->lock);
	if (ctx)
		ops->ctx_destroy(ctx);
	if (p->as)
		ops->as_destroy(p->as);
	p->as = NULL;
	ipc_exit(p); /* SEM_UNDO, shm attachments */
	delta = p->vfork_parent ? mm_vfork_delta(&p->mm) : NULL;
	mm_destroy(&p->mm);
	fdtable_free(files); /* pipe readers see EOF now */
	if (fs)
		fs_context_put(fs);

	pthread_mutex_lock(&k->lock);
	t->exited = true;
	timers_release(p, false);
	p->state = PROC_ZOMBIE;
	vfork_handover(p, delta);
	pidfd_process_exited(p);
	init = k->init;
	for (struct process *c = k->procs, *next; c; c = next) {
		next = c->next;
		if (c->parent != p)
			continue;
		/* orphans go to init; a zombie one is reported there */
		c->parent = init != p ? init : NULL;
		c->ppid = c->parent ? c->parent->pid : 0;
		if (c->state == PROC_ZOMBIE && c->parent)
			signal_send_locked(c->parent, SIGCHLD, NULL);
		if (c->state == PROC_LIVE && c->task && c->task->pdeathsig)
			signal_send_locked(c, c->task->pdeathsig, NULL);
	}
	if (p != init)
		notify_parent(p);
	k->ntasks--;
	pthread_cond_broadcast(&k->changed);
	pthread_mutex_unlock(&k->lock);
}

void vfork_handover(struct process *p, struct mm_delta *d)
{
	if (p->vfork_parent)
		p->vfork_parent->vfork_delta = d;
	else
		mm_delta_free(d);
	p->vfork_parent = NULL;
	p->vfork_done = true;
	pthread_cond_broadcast(&p->k->changed);
}

/* kick - make every task of @p notice it must exit (lock held). */
static void kick(struct process *p)
{
	for (struct task *t = p->threads; t; t = t->next_thread) {
		if (t->ctx && p->k->pops->interrupt)
			p->k->pops->interrupt(t->ctx);
		task_kick(t);
	}
}

/*
 * task_finish - @t's host thread is done with it.  Deciding whether @t is
 * the last thread and leaving the thread list happen under one hold of the
 * lock: two threads finishing at once must not both take the other for
 * the last (then nobody would make the process a zombie, and its waiters
 * would wait for ever).  A thread of several clears and wakes its tid word
 * (pthread_join) first, while it still counts, so no other thread can be
 * the last and free the mm under it.  Off the list it still destroys its
 * context, counted in p->leaving: the last thread's task_exit and exec's
 * de_thread wait for that, since the platform's address space must outlive
 * all its contexts (ptrace reaps the stub's threads; a racing as_destroy
 * freed the address space under ctx_destroy).
 */
void task_finish(struct task *t)
{
	struct process *p = t->proc;
	struct kernel *k = p->k;
	struct sbx_ctx *ctx;

	pthread_mutex_lock(&k->lock);
	if (p->nthreads > 1 && t->clear_child_tid) {
		uint32_t zero = 0;

		pthread_mutex_unlock(&k->lock);
		if (mm_copy_out(&p->mm, t->clear_child_tid, &zero, sizeof(zero)) == 0)
			futex_wake(&p->mm, t->clear_child_tid, 1);
		pthread_mutex_lock(&k->lock);
	}
	if (p->nthreads == 1) {
		pthread_mutex_unlock(&k->lock);
		task_exit(t);
		return;
	}
	ctx = t->ctx;
	t->ctx = NULL;
	task_cputime_retire(t);
	thread_remove(p, t);
	p->leaving++;
	k->ntasks--;
	pthread_cond_broadcast(&k->changed);
	pthread_mutex_unlock(&k->lock);
	if (ctx)
		k->pops->ctx_destroy(ctx);
	signal_task_release(t);
	kseccomp_release(t);
	free(t);
	/* now the last thread (or exec) may destroy the address space */
	pthread_mutex_lock(&k->lock);
	p->leaving--;
	pthread_cond_broadcast(&k->changed);
	pthread_mutex_unlock(&k->lock);
}

void process_kill_locked(struct process *p, int status)
{
	if (p->state != PROC_LIVE || p->exiting)
		return;
	p->exiting = true;
	p->exit_status = status;
	kick(p);
	pthread_cond_broadcast(&p->k->changed);
}

void kernel_shutdown(struct kernel *k)
{
	int64_t deadline = now_ns() + SHUTDOWN_WAIT_NS;
	struct timespec ts = { deadline / 1000000000LL, deadline % 1000000000LL };

	pthread_mutex_lock(&k->lock);
	for (struct process *p = k->procs; p; p = p->next)
		process_kill_locked(p, SIGKILL);
	while (k->ntasks > 0) {
		if (pthread_cond_timedwait(&k->changed, &k->lock, &ts) == ETIMEDOUT) {
			sbx_warn("%d task(s) still blocked in the host at exit",
				 k->ntasks);
			pthread_mutex_unlock(&k->lock);
			return; /* leave them: sbxrun's exit ends the threads */
		}
	}
	while (k->procs)
		unlink_process(k, k->procs);
	pthread_mutex_unlock(&k->lock);
	ipc_release(k); /* no process maps a segment any more */
}
