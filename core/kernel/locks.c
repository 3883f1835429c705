/*
 * Advisory file locks among the sandbox's processes, with Linux's
 * semantics (fs/locks.c):
 *  - POSIX record locks (fcntl F_SETLK/F_SETLKW/F_GETLK): owned by the
 *    process's fd table, so any close(2) of any fd of the file by that
 *    process drops them (locks_remove_posix), fork does not inherit them,
 *    execve keeps them, exit drops them; byte ranges split and merge; a
 *    conflict gives EAGAIN, a two-or-more-process wait cycle EDEADLK;
 *  - OFD locks (F_OFD_*): the same ranges, owned by the open file
 *    description, reported with l_pid -1;
 *  - flock(2): whole-file shared/exclusive, owned by the open file
 *    description, independent of the record locks.
 * OFD and flock locks go when the last reference to the open file goes
 * (locks_file_release from file_put).
 *
 * Files are identified by (st_dev, st_ino) from their stat op (donated
 * host fds: the host's; provider nodes: the mount's dev and the node's
 * ino), so two opens of one path share their locks.  Files with no stat
 * (epoll) are their own identity.  Host locks are never taken, on donated
 * host fds either: the sandbox is the only user of its files, and a host
 * lock would be an observable channel out of it.
 *
 * Locking: locks_mu guards the inode table, every lock list and the
 * waiter list.  A blocking request sleeps with task_sleep on the kernel
 * lock, which it takes before locks_mu (order: k->lock, then locks_mu);
 * whoever removes a lock without holding k->lock (close, exit, the last
 * file_put) drops locks_mu first and then broadcasts under k->lock, so a
 * sleeper that saw the conflict is already waiting when the broadcast
 * comes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "../vfs/vfs.h"
#include "fdtable.h"
#include "kernel.h"
#include "locks.h"

#define OFFSET_MAX INT64_MAX
#define MAX_DEADLK_ITERATIONS 10 /* as Linux */

struct lock {
	struct lock *next;
	void *owner;	/* struct fdtable * (POSIX) or struct file * (OFD, flock) */
	bool ofd;
	short type;	/* F_RDLCK or F_WRLCK */
	int pid;	/* F_GETLK's l_pid: the setter's sandbox pid, -1 for OFD */
	int64_t start, end; /* inclusive; end OFFSET_MAX: to any end of file */
};

struct lock_inode {
	struct lock_inode *next;
	uint64_t dev, ino;
	int refs;		/* files caching it in f->lock_ino */
	struct lock *posix;	/* POSIX and OFD locks, sorted by start */
	struct lock *flocks;
};

/* a task asleep in F_SETLKW or flock: for wake-ups and deadlock checks */
struct waiter {
	struct waiter *next;
	void *owner;	/* who waits */
	void *blocker;	/* owner of the POSIX lock in the way, or NULL */
	struct kernel *k;
};

static pthread_mutex_t locks_mu = PTHREAD_MUTEX_INITIALIZER;
static struct lock_inode *inodes;
static struct waiter *waiters;

/* ---- identities ---- */

static void file_key(struct file *f, uint64_t *dev, uint64_t *ino)
{
	struct k_stat st;

	if (f->ops->stat && f->ops->stat(f, &st) == 0) {
		*dev = st.st_dev;
		*ino = st.st_ino;
	} else {
		*dev = UINT64_MAX; /* nothing to stat: the file itself */
		*ino = (uint64_t)(uintptr_t)f;
	}
}

static struct lock_inode *inode_find(uint64_t dev, uint64_t ino)
{
	struct lock_inode *li;

	for (li = inodes; li; li = li->next)
		if (li->dev == dev && li->ino == ino)
			break;
	return li;
}

static void inode_maybe_free(struct lock_inode *li)
{
	if (li->refs || li->posix || li->flocks)
		return;
	for (struct lock_inode **pp = &inodes; *pp; pp = &(*pp)->next) {
		if (*pp == li) {
			*pp = li->next;
			break;
		}
	}
	free(li);
}

/* attach - @f's lock inode, created on first use and cached (with a
 * reference) in f->lock_ino.  Return: NULL on ENOMEM. */
static struct lock_inode *attach(struct file *f)
{
	struct lock_inode *li;
	uint64_t dev, ino;

	pthread_mutex_lock(&locks_mu);
	li = f->lock_ino;
	pthread_mutex_unlock(&locks_mu);
	if (li)
		return li;
	file_key(f, &dev, &ino); /* may ask the provider: not under the mutex */
	pthread_mutex_lock(&locks_mu);
	if (!f->lock_ino) {
		li = inode_find(dev, ino);
		if (!li) {
			li = calloc(1, sizeof(*li));
			if (!li)
				goto out;
			li->dev = dev;
			li->ino = ino;
			li->next = inodes;
			inodes = li;
		}
		li->refs++;
		f->lock_ino = li;
	}
	li = f->lock_ino;
out:
	pthread_mutex_unlock(&locks_mu);
	return li;
}

/* ---- lock lists (locks_mu held) ---- */

/* count - POSIX locks are counted in their fd table, so that closes of
 * processes holding none cost nothing. */
static void count(const struct lock *l, int d)
{
	if (!l->ofd)
		__atomic_add_fetch(&((struct fdtable *)l->owner)->nlocks, d,
				   __ATOMIC_RELEASE);
}

static void insert_sorted(struct lock_inode *li, struct lock *n)
{
	struct lock **pp = &li->posix;

	while (*pp && (*pp)->start <= n->start)
		pp = &(*pp)->next;
	n->next = *pp;
	*pp = n;
	count(n, 1);
}

static bool overlap(const struct lock *a, const struct lock *b)
{
	return a->start <= b->end && b->start <= a->end;
}

static struct lock *posix_conflict(struct lock_inode *li, const struct lock *req)
{
	for (struct lock *l = li->posix; l; l = l->next)
		if (l->owner != req->owner && overlap(l, req) &&
		    (l->type == F_WRLCK || req->type == F_WRLCK))
			return l;
	return NULL;
}

/*
 * posix_apply - make @req's owner hold exactly @req's type over its range
 * (F_UNLCK: nothing), keeping its other ranges: the owner's locks that
 * overlap or touch the range are taken out, trimmed (one may split in
 * two) and put back, and the new lock absorbs touching neighbours of its
 * type, so each owner's locks stay maximal runs, as Linux's.
 * Return: 0 or -ENOMEM (nothing changed).
 */
static int posix_apply(struct lock_inode *li, const struct lock *req)
{
	struct lock *spare[2], *cut = NULL, *keep = NULL, *l, **pp;
	int used = 0;

	spare[0] = malloc(sizeof(struct lock));
	spare[1] = malloc(sizeof(struct lock));
	if (!spare[0] || !spare[1]) {
		free(spare[0]);
		free(spare[1]);
		return -ENOMEM;
	}
	for (pp = &li->posix; (l = *pp);) {
		if (l->owner == req->owner && l->start - 1 <= req->end &&
		    l->end >= req->start - 1) {
			*pp = l->next;
			l->next = cut;
			cut = l;
			count(l, -1);
		} else {
			pp = &l->next;
		}
	}
	while ((l = cut)) {
		bool left = l->start < req->start, right = l->end > req->end;

		cut = l->next;
		if (left && right) {
			struct lock *r = spare[used++];

			*r = *l;
			r->start = req->end + 1;
			r->next = keep;
			keep = r;
			l->end = req->start - 1;
		} else if (left) {
			if (l->end > req->start - 1)
				l->end = req->start - 1;
		} else if (right) {
			if (l->start < req->end + 1)
				l->start = req->end + 1;
		} else {
			free(l);
			continue;
		}
		l->next = keep;
		keep = l;
	}
	if (req->type != F_UNLCK) {
		struct lock *n = spare[used++];

		*n = *req;
		for (pp = &keep; (l = *pp);) {
			if (l->type == n->type &&
			    ((n->start > 0 && l->end == n->start - 1) ||
			     (n->end < OFFSET_MAX && l->start == n->end + 1))) {
				if (l->start < n->start)
					n->start = l->start;
				if (l->end > n->end)
					n->end = l->end;
				*pp = l->next;
				free(l);
			} else {
				pp = &l->next;
			}
		}
		n->next = keep;
		keep = n;
	}
	while ((l = keep)) {
		keep = l->next;
		insert_sorted(li, l);
	}
	while (used < 2)
		free(spare[used++]);
	return 0;
}

/* remove_posix_owner - drop every lock of @owner in @li's record list. */
static void remove_posix_owner(struct lock_inode *li, void *owner)
{
	struct lock **pp, *l;

	for (pp = &li->posix; (l = *pp);) {
		if (l->owner == owner) {
			*pp = l->next;
			count(l, -1);
			free(l);
		} else {
			pp = &l->next;
		}
	}
}

/* deadlock - would @me waiting for @blocker close a cycle of POSIX
 * owners each waiting for the next?  (Linux's posix_locks_deadlock) */
static bool deadlock(void *me, void *blocker)
{
	for (int i = 0; i <= MAX_DEADLK_ITERATIONS; i++) {
		struct waiter *w;

		for (w = waiters; w && !(w->owner == blocker && w->blocker);
		     w = w->next)
			;
		if (!w)
			return false;
		blocker = w->blocker;
		if (blocker == me)
			return true;
	}
	return false;
}

/* sleep_on - wait for a lock to change (k->lock and locks_mu held; both
 * are held again on return).  Return: 0 or -ERESTARTSYS. */
static int sleep_on(struct task *t, void *owner, void *blocker)
{
	struct waiter w = { waiters, owner, blocker, t->proc->k }, **pp;
	int r;

	waiters = &w;
	pthread_mutex_unlock(&locks_mu);
	r = task_sleep(t, 0);
	pthread_mutex_lock(&locks_mu);
	for (pp = &waiters; *pp; pp = &(*pp)->next) {
		if (*pp == &w) {
			*pp = w.next;
			break;
		}
	}
	return r ? -ERESTARTSYS : 0;
}

/* wake_locked - after a change, with k->lock held: wake the sleepers. */
static void wake_locked(struct kernel *k)
{
	if (waiters)
		pthread_cond_broadcast(&k->changed);
}

/* wake_unlocked - after a change made without k->lock: locks_mu is
 * released first (lock order), then the sleepers' kernel is woken. */
static void wake_unlocked(void)
{
	struct kernel *k = waiters ? waiters->k : NULL;

	pthread_mutex_unlock(&locks_mu);
	if (k) {
		pthread_mutex_lock(&k->lock);
		pthread_cond_broadcast(&k->changed);
		pthread_mutex_unlock(&k->lock);
	}
}

/* ---- fcntl ---- */

/* to_range - struct flock's whence/start/len as an inclusive range, with
 * Linux's checks and errors (flock64_to_posix_lock). */
static int to_range(struct file *f, const struct k_flock *fl, int64_t *start,
		    int64_t *end)
{
	struct k_stat st;
	int64_t base, s, e;

	switch (fl->l_whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = f->ops->llseek ? f->ops->llseek(f, 0, SEEK_CUR) : 0;
		if (base < 0)
			base = 0; /* pipes: no position */
		break;
	case SEEK_END:
		base = f->ops->stat && f->ops->stat(f, &st) == 0 ? st.st_size : 0;
		break;
	default:
		return -EINVAL;
	}
	if (fl->l_start > OFFSET_MAX - base)
		return -EOVERFLOW;
	s = base + fl->l_start;
	if (s < 0)
		return -EINVAL;
	if (fl->l_len > 0) {
		if (fl->l_len - 1 > OFFSET_MAX - s)
			return -EOVERFLOW;
		e = s + (fl->l_len - 1);
	} else if (fl->l_len < 0) {
		if (s + fl->l_len < 0)
			return -EINVAL;
		e = s - 1;
		s += fl->l_len;
	} else {
		e = OFFSET_MAX;
	}
	*start = s;
	*end = e;
	return 0;
}

static long getlk(struct task *t, struct file *f, struct k_flock *fl,
		  const struct lock *req, uint64_t uaddr)
{
	struct lock_inode *li;
	struct lock *c;
	uint64_t dev, ino;

	pthread_mutex_lock(&locks_mu);
	li = f->lock_ino;
	pthread_mutex_unlock(&locks_mu);
	if (!li)
		file_key(f, &dev, &ino);
	pthread_mutex_lock(&locks_mu);
	if (!li)
		li = inode_find(dev, ino);
	c = li ? posix_conflict(li, req) : NULL;
	if (c) {
		fl->l_type = c->type;
		fl->l_whence = SEEK_SET;
		fl->l_start = c->start;
		fl->l_len = c->end == OFFSET_MAX ? 0 : c->end - c->start + 1;
		fl->l_pid = c->ofd ? -1 : c->pid;
	} else {
		fl->l_type = F_UNLCK; /* the rest stays as given */
	}
	pthread_mutex_unlock(&locks_mu);
	return mm_copy_out(&t->proc->mm, uaddr, fl, sizeof(*fl));
}

long locks_fcntl(struct task *t, struct file *f, int cmd, uint64_t uaddr)
{
	bool ofd = cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW || cmd == F_OFD_GETLK;
	bool get = cmd == F_GETLK || cmd == F_OFD_GETLK;
	bool wait = cmd == F_SETLKW || cmd == F_OFD_SETLKW;
	int acc = f->flags & O_ACCMODE;
	struct kernel *k = t->proc->k;
	struct lock req = { 0 };
	struct lock_inode *li;
	struct k_flock fl;
	struct lock *c;
	long r;

	if (mm_copy_in(&t->proc->mm, &fl, uaddr, sizeof(fl)))
		return -EFAULT;
	/* Linux's order: GETLK's type, the range, the type, the mode, l_pid */
	if (get && fl.l_type != F_RDLCK && fl.l_type != F_WRLCK)
		return -EINVAL;
	r = to_range(f, &fl, &req.start, &req.end);
	if (r)
		return r;
	if (fl.l_type != F_RDLCK && fl.l_type != F_WRLCK && fl.l_type != F_UNLCK)
		return -EINVAL;
	if (!get && ((fl.l_type == F_RDLCK && acc == O_WRONLY) ||
		     (fl.l_type == F_WRLCK && acc == O_RDONLY)))
		return -EBADF;
	if (ofd && fl.l_pid != 0)
		return -EINVAL;
	req.type = fl.l_type;
	req.ofd = ofd;
	req.owner = ofd ? (void *)f : (void *)t->proc->files;
	req.pid = ofd ? -1 : t->proc->pid;
	if (get)
		return getlk(t, f, &fl, &req, uaddr);

	li = attach(f);
	if (!li)
		return -ENOMEM;
	pthread_mutex_lock(&k->lock);
	pthread_mutex_lock(&locks_mu);
	for (;;) {
		c = req.type != F_UNLCK ? posix_conflict(li, &req) : NULL;
		if (!c) {
			r = posix_apply(li, &req);
			if (!r)
				wake_locked(k);
			break;
		}
		if (!wait) {
			r = -EAGAIN;
			break;
		}
		if (!ofd && !c->ofd && deadlock(req.owner, c->owner)) {
			r = -EDEADLK;
			break;
		}
		r = sleep_on(t, req.owner, !ofd && !c->ofd ? c->owner : NULL);
		if (r)
			break;
	}
	pthread_mutex_unlock(&locks_mu);
	pthread_mutex_unlock(&k->lock);
	return r;
}

/* ---- flock ---- */

long locks_flock(struct task *t, struct file *f, int cmd)
{
	int op = cmd & ~LOCK_NB;
	short type = op == LOCK_SH ? F_RDLCK : op == LOCK_EX ? F_WRLCK : F_UNLCK;
	struct kernel *k = t->proc->k;
	struct lock_inode *li = attach(f);
	struct lock *l, **pp, *n;
	long r = 0;

	if (!li)
		return -ENOMEM;
	n = type == F_UNLCK ? NULL : calloc(1, sizeof(*n));
	if (type != F_UNLCK && !n)
		return -ENOMEM;
	pthread_mutex_lock(&k->lock);
	pthread_mutex_lock(&locks_mu);
	for (pp = &li->flocks; (l = *pp); pp = &l->next)
		if (l->owner == f)
			break;
	if (l && l->type == type)
		goto out; /* held already */
	if (l) {
		/* a conversion is an unlock then a lock, not atomic (Linux) */
		*pp = l->next;
		free(l);
		wake_locked(k);
	}
	while (n) {
		for (l = li->flocks; l; l = l->next)
			if (l->owner != f && (l->type == F_WRLCK || type == F_WRLCK))
				break;
		if (!l) {
			n->owner = f;
			n->ofd = true;
			n->type = type;
			n->pid = -1;
			n->end = OFFSET_MAX;
			n->next = li->flocks;
			li->flocks = n;
			n = NULL;
			break;
		}
		if (cmd & LOCK_NB) {
			r = -EWOULDBLOCK;
			break;
		}
		r = sleep_on(t, f, NULL);
		if (r)
			break;
	}
out:
	pthread_mutex_unlock(&locks_mu);
	pthread_mutex_unlock(&k->lock);
	free(n);
	return r;
}

/* ---- releases ---- */

void locks_remove_posix(struct fdtable *owner, struct file *f)
{
	struct lock_inode *li;
	uint64_t dev, ino;

	if (!__atomic_load_n(&owner->nlocks, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&locks_mu);
	li = f->lock_ino;
	pthread_mutex_unlock(&locks_mu);
	if (!li)
		file_key(f, &dev, &ino);
	pthread_mutex_lock(&locks_mu);
	if (!li)
		li = inode_find(dev, ino);
	if (li) {
		remove_posix_owner(li, owner);
		inode_maybe_free(li);
	}
	wake_unlocked();
}

void locks_remove_owner(struct fdtable *owner)
{
	struct lock_inode *li, *next;

	if (!__atomic_load_n(&owner->nlocks, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&locks_mu);
	for (li = inodes; li; li = next) {
		next = li->next;
		remove_posix_owner(li, owner);
		inode_maybe_free(li);
	}
	wake_unlocked();
}

void locks_file_release(struct file *f)
{
	struct lock_inode *li;
	struct lock **pp, *l;

	pthread_mutex_lock(&locks_mu);
	li = f->lock_ino;
	f->lock_ino = NULL;
	remove_posix_owner(li, f); /* its OFD locks */
	for (pp = &li->flocks; (l = *pp);) {
		if (l->owner == f) {
			*pp = l->next;
			free(l);
		} else {
			pp = &l->next;
		}
	}
	li->refs--;
	inode_maybe_free(li);
	wake_unlocked();
}
