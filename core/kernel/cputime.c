/*
 * CPU time accounting for getrusage, times and wait4 (see kernel.h).
 *
 * An application's time is spent in two places: its own code, in the
 * platform's stub process (ptrace, systrap: that process's CPU clocks,
 * found with as_cpu_pid) or on the core's task thread (kvm: the vCPU runs
 * there); and the core's handling of its system calls, on the task's host
 * thread.  Linux reports the first as user time and the second as system
 * time, so sbx does too: stub user -> user; stub system (traps, faults) +
 * the core thread -> system.  Where the application runs on the task
 * thread the thread's own user/system split is used.  What retires (a
 * thread that exits, an address space replaced by execve) is added to the
 * process's running total first, and a reaped child's total is added to
 * its parent's children, as Linux does in wait.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "kernel.h"

/* Linux's encoding of another thread's or process's CPU clock id. */
#define CPUCLOCK_PROF 0
#define CPUCLOCK_VIRT 1
#define THREAD_CLOCK(tid, which) ((~(clockid_t)(tid) << 3) | (which) | 4)
#define PROCESS_CLOCK(pid, which) ((~(clockid_t)(pid) << 3) | (which))

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	if (clock_gettime(c, &ts))
		return 0; /* gone (a thread racing its exit): nothing to add */
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* split - user and system time of one clock pair (PROF is both). */
static void split(clockid_t prof, clockid_t virt, struct cputime *c)
{
	uint64_t all = clock_ns(prof), user = clock_ns(virt);

	c->user = user;
	c->sys = all > user ? all - user : 0;
}

void cputime_add(struct cputime *to, const struct cputime *c)
{
	to->user += c->user;
	to->sys += c->sys;
}

void task_cputime(struct task *t, struct cputime *c)
{
	struct process *p = t->proc;

	c->user = c->sys = 0;
	if (!t->host_tid)
		return;
	split(THREAD_CLOCK(t->host_tid, CPUCLOCK_PROF),
	      THREAD_CLOCK(t->host_tid, CPUCLOCK_VIRT), c);
	if (p->as && p->k->pops->as_cpu_pid && p->k->pops->as_cpu_pid(p->as) > 0) {
		/* the application ran in a stub: all of this is system time */
		c->sys += c->user;
		c->user = 0;
	}
}

/* as_time - the application time of @p's current stub, if it has one. */
static void as_time(struct process *p, struct cputime *c)
{
	int pid = p->as && p->k->pops->as_cpu_pid ? p->k->pops->as_cpu_pid(p->as)
						  : -ENOSYS;

	c->user = c->sys = 0;
	if (pid > 0)
		split(PROCESS_CLOCK(pid, CPUCLOCK_PROF),
		      PROCESS_CLOCK(pid, CPUCLOCK_VIRT), c);
}

void process_cputime(struct process *p, struct cputime *c)
{
	struct cputime x;

	*c = p->cpu_done;
	for (struct task *t = p->threads; t; t = t->next_thread) {
		task_cputime(t, &x);
		cputime_add(c, &x);
	}
	as_time(p, &x);
	cputime_add(c, &x);
}

void task_cputime_retire(struct task *t)
{
	struct cputime x;

	task_cputime(t, &x);
	cputime_add(&t->proc->cpu_done, &x);
	t->host_tid = 0;
}

void process_cputime_retire_as(struct process *p, struct sbx_as *as)
{
	struct sbx_as *cur = p->as;
	struct cputime x;

	p->as = as;
	as_time(p, &x);
	p->as = cur;
	cputime_add(&p->cpu_done, &x);
	if (p->maxrss_kb < p->mm.committed / 1024)
		p->maxrss_kb = p->mm.committed / 1024;
}
