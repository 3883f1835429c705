/*
 * futex(2): wait queues keyed by (address space, address), kept under the
 * kernel lock and slept on with task_sleep, so signals and kills interrupt
 * waits as they do every other sleep.  WAIT/WAKE with bitsets, REQUEUE,
 * CMP_REQUEUE and WAKE_OP; priority-inheritance ops are ENOSYS.
 * Shared futexes are keyed like private ones: MAP_SHARED anonymous memory
 * is not shared across fork yet (see docs/ARCHITECTURE.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <stddef.h>
#include <stdlib.h>
#include <time.h>

#include "kernel.h"

struct waiter {
	struct waiter *next;
	struct mm *mm;
	uint64_t addr;
	uint32_t bitset;
	bool woken;
};

static struct waiter *queue; /* under k->lock */

static int64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long futex_wait(struct task *t, uint64_t addr, uint32_t val,
		       uint64_t utimeout, uint32_t bitset, bool absolute,
		       bool realtime)
{
	struct kernel *k = t->proc->k;
	struct waiter w = { .mm = &t->proc->mm, .addr = addr, .bitset = bitset };
	int64_t deadline = 0;
	uint32_t cur;
	long r;

	if (!bitset)
		return -EINVAL;
	if (utimeout) {
		struct k_timespec ts;

		if (mm_copy_in(&t->proc->mm, &ts, utimeout, sizeof(ts)))
			return -EFAULT;
		if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000LL)
			return -EINVAL;
		deadline = ts.tv_sec * 1000000000LL + ts.tv_nsec;
		if (absolute)
			deadline += now_ns(CLOCK_MONOTONIC) -
				    now_ns(realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC);
		else
			deadline += now_ns(CLOCK_MONOTONIC);
		if (deadline <= 0)
			deadline = 1;
	}
	pthread_mutex_lock(&k->lock);
	/* the value check and the enqueue are atomic against wakers */
	if (mm_copy_in(&t->proc->mm, &cur, addr, sizeof(cur))) {
		r = -EFAULT;
		goto out;
	}
	if (cur != val) {
		r = -EAGAIN;
		goto out;
	}
	w.next = queue;
	queue = &w;
	do
		r = task_sleep(t, deadline);
	while (r == 0 && !w.woken);
	if (w.woken)
		r = 0;
	for (struct waiter **pp = &queue; *pp; pp = &(*pp)->next) {
		if (*pp == &w) {
			*pp = w.next;
			break;
		}
	}
out:
	pthread_mutex_unlock(&k->lock);
	return r;
}

/* wake - wake up to @n waiters on (mm, addr) matching @bitset (lock held);
 * then move up to @requeue more to @addr2. */
static long wake(struct mm *mm, uint64_t addr, int n, uint32_t bitset,
		 uint64_t addr2, int requeue)
{
	long woken = 0, moved = 0;

	for (struct waiter *w = queue; w; w = w->next) {
		if (w->woken || w->mm != mm || w->addr != addr || !(w->bitset & bitset))
			continue;
		if (woken < n) {
			w->woken = true;
			woken++;
		} else if (moved < requeue) {
			w->addr = addr2;
			moved++;
		}
	}
	return woken + moved;
}

long futex_wake(struct mm *mm, uint64_t addr, int n)
{
	struct process *p = (struct process *)((char *)mm - offsetof(struct process, mm));
	struct kernel *k = p->k;
	long r;

	pthread_mutex_lock(&k->lock);
	r = wake(mm, addr, n, ~0u, 0, 0);
	if (r)
		pthread_cond_broadcast(&k->changed);
	pthread_mutex_unlock(&k->lock);
	return r;
}

static long wake_locked(struct task *t, uint64_t addr, int n, uint32_t bitset,
			uint64_t addr2, int requeue)
{
	struct kernel *k = t->proc->k;
	long r;

	pthread_mutex_lock(&k->lock);
	r = wake(&t->proc->mm, addr, n, bitset, addr2, requeue);
	if (r)
		pthread_cond_broadcast(&k->changed);
	pthread_mutex_unlock(&k->lock);
	return r;
}

/* wake_op - FUTEX_WAKE_OP: *addr2 = op(*addr2, arg); wake addr; if the old
 * value passes cmp, also wake addr2. */
static long wake_op(struct task *t, uint64_t addr, int n, uint64_t addr2,
		    int n2, uint32_t encoded)
{
	struct kernel *k = t->proc->k;
	int op = (encoded >> 28) & 7, cmp = (encoded >> 24) & 15;
	int oparg = (int)((encoded << 8) >> 20), cmparg = (int)((encoded << 20) >> 20);
	int32_t old, nv;
	bool hit;
	long r;

	if (encoded & (8u << 28))
		oparg = 1 << (oparg & 31);
	pthread_mutex_lock(&k->lock);
	if (mm_copy_in(&t->proc->mm, &old, addr2, sizeof(old))) {
		pthread_mutex_unlock(&k->lock);
		return -EFAULT;
	}
	switch (op) {
	case FUTEX_OP_SET: nv = oparg; break;
	case FUTEX_OP_ADD: nv = old + oparg; break;
	case FUTEX_OP_OR: nv = old | oparg; break;
	case FUTEX_OP_ANDN: nv = old & ~oparg; break;
	case FUTEX_OP_XOR: nv = old ^ oparg; break;
	default:
		pthread_mutex_unlock(&k->lock);
		return -ENOSYS;
	}
	if (mm_copy_out(&t->proc->mm, addr2, &nv, sizeof(nv))) {
		pthread_mutex_unlock(&k->lock);
		return -EFAULT;
	}
	switch (cmp) {
	case FUTEX_OP_CMP_EQ: hit = old == cmparg; break;
	case FUTEX_OP_CMP_NE: hit = old != cmparg; break;
	case FUTEX_OP_CMP_LT: hit = old < cmparg; break;
	case FUTEX_OP_CMP_LE: hit = old <= cmparg; break;
	case FUTEX_OP_CMP_GT: hit = old > cmparg; break;
	case FUTEX_OP_CMP_GE: hit = old >= cmparg; break;
	default:
		pthread_mutex_unlock(&k->lock);
		return -ENOSYS;
	}
	r = wake(&t->proc->mm, addr, n, ~0u, 0, 0);
	if (hit)
		r += wake(&t->proc->mm, addr2, n2, ~0u, 0, 0);
	if (r)
		pthread_cond_broadcast(&k->changed);
	pthread_mutex_unlock(&k->lock);
	return r;
}

long sys_futex(struct task *t, const struct sbx_syscall_args *a)
{
	uint64_t addr = a->a[0], addr2 = a->a[4];
	int op = (int)a->a[1];
	int cmd = op & FUTEX_CMD_MASK;
	bool realtime = op & FUTEX_CLOCK_REALTIME;
	uint32_t val = (uint32_t)a->a[2], val3 = (uint32_t)a->a[5];
	int n2 = (int)a->a[3]; /* val2: the timeout slot as an int */

	if (addr & 3)
		return -EINVAL;
	if (realtime && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_WAIT)
		return -ENOSYS;
	switch (cmd) {
	case FUTEX_WAIT:
		return futex_wait(t, addr, val, a->a[3], ~0u, false, false);
	case FUTEX_WAIT_BITSET:
		return futex_wait(t, addr, val, a->a[3], val3, true, realtime);
	case FUTEX_WAKE:
		return wake_locked(t, addr, (int)val, ~0u, 0, 0);
	case FUTEX_WAKE_BITSET:
		if (!val3)
			return -EINVAL;
		return wake_locked(t, addr, (int)val, val3, 0, 0);
	case FUTEX_REQUEUE:
	case FUTEX_CMP_REQUEUE: {
		struct kernel *k = t->proc->k;
		uint32_t cur;
		long r;

		if ((int)val < 0 || n2 < 0)
			return -EINVAL;
		if (addr2 & 3)
			return -EINVAL;
		pthread_mutex_lock(&k->lock);
		if (cmd == FUTEX_CMP_REQUEUE &&
		    (mm_copy_in(&t->proc->mm, &cur, addr, sizeof(cur)) || cur != val3)) {
			pthread_mutex_unlock(&k->lock);
			return mm_copy_in(&t->proc->mm, &cur, addr, sizeof(cur)) ? -EFAULT
										 : -EAGAIN;
		}
		r = wake(&t->proc->mm, addr, (int)val, ~0u, addr2, n2);
		if (r)
			pthread_cond_broadcast(&k->changed);
		pthread_mutex_unlock(&k->lock);
		return r;
	}
	case FUTEX_WAKE_OP:
		if (addr2 & 3)
			return -EINVAL;
		return wake_op(t, addr, (int)val, addr2, n2, val3);
	default:
		return -ENOSYS; /* priority inheritance: not yet */
	}
}
