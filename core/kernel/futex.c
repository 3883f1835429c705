/*
 * futex(2): wait queues keyed by (address space, address), kept under the
 * kernel lock and slept on with task_sleep, so signals and kills interrupt
 * waits as they do every other sleep.  WAIT/WAKE with bitsets, REQUEUE,
 * CMP_REQUEUE and WAKE_OP; priority-inheritance ops are ENOSYS.
 * A futex used without FUTEX_PRIVATE_FLAG on MAP_SHARED memory is keyed
 * by its memory-file offset instead, or by (dev, inode, offset) in a
 * mapped host file, as Linux keys shared futexes by page, so processes
 * sharing the pages (fork, a tmpfs or host file mapped twice) meet on one
 * queue.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <stddef.h>
#include <stdlib.h>
#include <time.h>

#include "kernel.h"

/* fkey - (address space, address), or (NULL, memory-file offset), or
 * (NULL, file offset) with the file's dev and inode */
struct fkey {
	void *space;
	uint64_t addr;
	uint64_t dev, ino;
};

struct waiter {
	struct waiter *next;
	struct fkey key;
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

static struct fkey key_of(struct mm *mm, uint64_t addr, bool private)
{
	uint64_t off, dev, ino;

	if (!private && mm_shared_key(mm, addr, &dev, &ino, &off))
		return (struct fkey){ NULL, off, dev, ino };
	return (struct fkey){ mm, addr, 0, 0 };
}

static long futex_wait(struct task *t, uint64_t addr, struct fkey key,
		       uint32_t val,
		       uint64_t utimeout, uint32_t bitset, bool absolute,
		       bool realtime)
{
	struct kernel *k = t->proc->k;
	struct waiter w = { .key = key, .bitset = bitset };
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

/* wake - wake up to @n waiters on @key matching @bitset (lock held);
 * then move up to @requeue more to @key2. */
static long wake(struct fkey key, int n, uint32_t bitset, struct fkey key2,
		 int requeue)
{
	long woken = 0, moved = 0;

	for (struct waiter *w = queue; w; w = w->next) {
		if (w->woken || w->key.space != key.space ||
		    w->key.addr != key.addr || w->key.dev != key.dev ||
		    w->key.ino != key.ino || !(w->bitset & bitset))
			continue;
		if (woken < n) {
			w->woken = true;
			woken++;
		} else if (moved < requeue) {
			w->key = key2;
			moved++;
		}
	}
	return woken + moved;
}

static const struct fkey no_key;

long futex_wake(struct mm *mm, uint64_t addr, int n)
{
	struct process *p = (struct process *)((char *)mm - offsetof(struct process, mm));
	struct kernel *k = p->k;
	long r;

	pthread_mutex_lock(&k->lock);
	r = wake(key_of(mm, addr, false), n, ~0u, no_key, 0);
	if (r)
		pthread_cond_broadcast(&k->changed);
	pthread_mutex_unlock(&k->lock);
	return r;
}

static long wake_locked(struct task *t, struct fkey key, int n,
			uint32_t bitset)
{
	struct kernel *k = t->proc->k;
	long r;

	pthread_mutex_lock(&k->lock);
	r = wake(key, n, bitset, no_key, 0);
	if (r)
		pthread_cond_broadcast(&k->changed);
	pthread_mutex_unlock(&k->lock);
	return r;
}

/* wake_op - FUTEX_WAKE_OP: *addr2 = op(*addr2, arg); wake addr; if the old
 * value passes cmp, also wake addr2. */
static long wake_op(struct task *t, struct fkey key, int n, uint64_t addr2,
		    struct fkey key2, int n2, uint32_t encoded)
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
	r = wake(key, n, ~0u, no_key, 0);
	if (hit)
		r += wake(key2, n2, ~0u, no_key, 0);
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
	bool private = op & FUTEX_PRIVATE_FLAG;
	struct fkey key, key2;

	if (addr & 3)
		return -EINVAL;
	key = key_of(&t->proc->mm, addr, private);
	key2 = key_of(&t->proc->mm, addr2, private);
	if (realtime && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_WAIT)
		return -ENOSYS;
	switch (cmd) {
	case FUTEX_WAIT:
		return futex_wait(t, addr, key, val, a->a[3], ~0u, false, false);
	case FUTEX_WAIT_BITSET:
		return futex_wait(t, addr, key, val, a->a[3], val3, true,
				  realtime);
	case FUTEX_WAKE:
		return wake_locked(t, key, (int)val, ~0u);
	case FUTEX_WAKE_BITSET:
		if (!val3)
			return -EINVAL;
		return wake_locked(t, key, (int)val, val3);
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
		r = wake(key, (int)val, ~0u, key2, n2);
		if (r)
			pthread_cond_broadcast(&k->changed);
		pthread_mutex_unlock(&k->lock);
		return r;
	}
	case FUTEX_WAKE_OP:
		if (addr2 & 3)
			return -EINVAL;
		return wake_op(t, key, (int)val, addr2, key2, n2, val3);
	default:
		return -ENOSYS; /* priority inheritance: not yet */
	}
}
