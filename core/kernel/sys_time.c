/*
 * Time syscalls, answered from the host clocks (when the vDSO does not
 * answer them first).  Sleeps are in sys_process.c: signals interrupt them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <time.h>

#include "kernel.h"

#define NSEC_PER_SEC 1000000000LL

/* clock_ok - the clocks a sandbox may name (no per-process/fd clocks). */
static bool clock_ok(uint64_t clk)
{
	switch ((int)clk) {
	case CLOCK_REALTIME: case CLOCK_MONOTONIC:
	case CLOCK_PROCESS_CPUTIME_ID: case CLOCK_THREAD_CPUTIME_ID:
	case CLOCK_MONOTONIC_RAW: case CLOCK_REALTIME_COARSE:
	case CLOCK_MONOTONIC_COARSE: case CLOCK_BOOTTIME: case CLOCK_TAI:
		return true;
	default:
		return false;
	}
}

/* cpu_clock - the sandbox's own CPU clocks: the application's time (its
 * stub plus the core's work for it, see cputime.c), never sbxrun's. */
static uint64_t cpu_clock(struct task *t, int clk)
{
	struct process *p = t->proc;
	struct cputime c;

	pthread_mutex_lock(&p->k->lock);
	if (clk == CLOCK_THREAD_CPUTIME_ID && p->nthreads > 1)
		task_cputime(t, &c);
	else
		process_cputime(p, &c);
	pthread_mutex_unlock(&p->k->lock);
	return c.user + c.sys;
}

long sys_clock_gettime(struct task *t, const struct sbx_syscall_args *a)
{
	struct timespec ts;
	struct k_timespec k;
	int clk = (int)a->a[0];

	if (!clock_ok(a->a[0]))
		return -EINVAL;
	if (clk == CLOCK_PROCESS_CPUTIME_ID || clk == CLOCK_THREAD_CPUTIME_ID) {
		uint64_t ns = cpu_clock(t, clk);

		ts.tv_sec = (time_t)(ns / NSEC_PER_SEC);
		ts.tv_nsec = (long)(ns % NSEC_PER_SEC);
	} else if (clock_gettime((clockid_t)clk, &ts) < 0) {
		return -errno;
	}
	k = (struct k_timespec){ ts.tv_sec, ts.tv_nsec };
	return mm_copy_out(&t->proc->mm, a->a[1], &k, sizeof(k));
}

long sys_clock_getres(struct task *t, const struct sbx_syscall_args *a)
{
	struct timespec ts;
	struct k_timespec k;

	if (!clock_ok(a->a[0]))
		return -EINVAL;
	if (clock_getres((clockid_t)a->a[0], &ts) < 0)
		return -errno;
	k = (struct k_timespec){ ts.tv_sec, ts.tv_nsec };
	return a->a[1] ? mm_copy_out(&t->proc->mm, a->a[1], &k, sizeof(k)) : 0;
}

long sys_gettimeofday(struct task *t, const struct sbx_syscall_args *a)
{
	struct timespec ts;
	struct k_timeval tv;
	int32_t tz[2] = { 0, 0 };

	clock_gettime(CLOCK_REALTIME, &ts);
	tv = (struct k_timeval){ ts.tv_sec, ts.tv_nsec / 1000 };
	if (a->a[0] && mm_copy_out(&t->proc->mm, a->a[0], &tv, sizeof(tv)))
		return -EFAULT;
	if (a->a[1] && mm_copy_out(&t->proc->mm, a->a[1], tz, sizeof(tz)))
		return -EFAULT;
	return 0;
}

long sys_time(struct task *t, const struct sbx_syscall_args *a)
{
	int64_t now = (int64_t)time(NULL);

	if (a->a[0] && mm_copy_out(&t->proc->mm, a->a[0], &now, sizeof(now)))
		return -EFAULT;
	return now;
}

