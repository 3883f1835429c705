/*
 * System V IPC: shmget/shmat/shmdt/shmctl, semget/semop/semtimedop/semctl
 * and msgget/msgsnd/msgrcv/msgctl, with Linux's semantics and errnos.
 *
 * One namespace per sandbox (k->ipc, created at first use).  Everything
 * in it is guarded by the kernel lock (k->lock), so blocking semop,
 * msgsnd and msgrcv sleep in task_sleep as futexes do: signals and kills
 * interrupt them the same way.  Wake-ups are done by the waker (Linux's
 * model): a semop that changes values completes the sleepers it can, in
 * FIFO order, and a msgsnd hands its message straight to the first
 * matching sleeping receiver; the sleeper only reads its status.
 *
 * Divided into: ids and keys (Linux's allocation: index + seq * 32768,
 * indexes handed out cyclically so a removed id is not reused at once),
 * permissions and the steps every *ctl shares, shared memory, semaphores,
 * message queues, and the process hooks (ipc.h).
 *
 * Shared memory segments are extents of the memory file, mapped with
 * mm_map_shared exactly as MAP_SHARED tmpfs files are: the segment owns
 * one reference on its pages and every attachment's VMA another
 * (memfile_share), so pages live until the segment is destroyed and the
 * last mapping is gone, whatever the order.  Attachments are recorded per
 * process (p->shm_attach) for shmdt, shm_nattch, fork, exec and exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/ipc.h>
#include <linux/msg.h>
#include <linux/sem.h>
#include <linux/shm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

#include "../config/config.h"
#include "../mm/memfile.h"
#include "ipc.h"
#include "kernel.h"

/* Linux's defaults (include/uapi/linux/{shm,sem,msg}.h, ipc/util.h) */
#define IPCMNI 32768
#define SEQ_SHIFT 15
#define SEQ_MAX (INT_MAX >> SEQ_SHIFT)
#define MIN_CYCLE 64 /* ipc_min_cycle: indexes cycle at least this far */
#define K_SHMMIN 1ULL
#define K_SHMMAX (ULONG_MAX - (1UL << 24))
#define K_SHMALL (ULONG_MAX - (1UL << 24)) /* pages */
#define K_SHMMNI 4096
#define K_SEMMSL 32000
#define K_SEMMNS (K_SEMMNI * K_SEMMSL)
#define K_SEMOPM 500
#define K_SEMMNI 32000
#define K_SEMVMX 32767
#define K_SEMAEM K_SEMVMX
#define K_SEMUSZ 20
#define K_MSGMAX 8192
#define K_MSGMNB 16384
#define K_MSGMNI 32000
#define K_MSGPOOL (K_MSGMNI * K_MSGMNB / 1024)
#define K_MSGSSZ 16
#define K_MSGSEG 0xffff
/* shm_perm.mode bits the kernel keeps to itself (include/linux/shm.h) */
#define SHM_DEST 01000
#define SHM_LOCKED 02000

/*
 * Core memory all semaphore sets, undo records and queued messages of a
 * sandbox may hold.  Linux charges these to kernel memory (memcg); here
 * they are the core's own heap, so they get a fixed cap (beyond it
 * semget, semop with SEM_UNDO and msgsnd give ENOMEM, as a failed kernel
 * allocation would).  Linux's table limits alone would allow gigabytes.
 */
#define IPC_CORE_MAX (64ULL << 20)

#define WAITING 1 /* a sleeper's status until a waker sets the result */

enum { SHM_IDS, SEM_IDS, MSG_IDS };

/* The kernel's kern_ipc_perm: what every object starts with. */
struct ipc_obj {
	int32_t key;
	uint32_t uid, gid, cuid, cgid;
	uint32_t mode; /* 0777 bits, plus SHM_DEST and SHM_LOCKED */
	uint16_t seq;
	int id;
};

struct ipc_ids {
	struct ipc_obj **v; /* by index */
	int cap;	    /* slots in v */
	int in_use;
	int max_idx;	    /* highest index in use, -1 when none */
	int last_idx;	    /* index of the last allocation, -1 at first */
	int next;	    /* where the next cyclic search starts */
	int seq;
};

struct ipc_ns {
	struct ipc_ids ids[3];
	uint64_t shm_tot; /* pages of all segments */
	uint64_t shm_all; /* limit on shm_tot */
	int64_t used_sems;
	uint64_t msg_bytes, msg_hdrs;
	uint64_t core_bytes; /* against IPC_CORE_MAX */
};

struct shm_seg {
	struct ipc_obj o;
	uint64_t size; /* shm_segsz; the extent is PAGE_UP(size) */
	uint64_t moff;
	int64_t atime, dtime, ctime;
	int cpid, lpid;
	uint64_t nattch;
};

/* One shmat of one process (p->shm_attach): keeps its segment alive. */
struct shm_attach {
	struct shm_attach *next;
	struct shm_seg *seg;
	uint64_t addr;
};

struct sem {
	int val, pid;
};

/* A process's SEM_UNDO adjustments for one set, in the set's list. */
struct sem_undo {
	struct sem_undo *next;
	struct process *p;
	int16_t adj[];
};

/* A task sleeping in semop, on its stack, in its set's FIFO list. */
struct sem_waiter {
	struct sem_waiter *next;
	const struct k_sembuf *sops;
	int nsops;
	bool alter;
	int pid;
	struct sem_undo *undo;
	int blocking; /* index of the op that could not proceed */
	int status;   /* WAITING, then 0 or -errno */
};

struct sem_set {
	struct ipc_obj o;
	int nsems;
	int64_t otime, ctime;
	struct sem_waiter *waiters;
	struct sem_undo *undos;
	struct sem sems[];
};

struct msg {
	struct msg *next;
	int64_t type;
	size_t len;
	char text[];
};

enum { SEARCH_ANY, SEARCH_EQUAL, SEARCH_NOTEQUAL, SEARCH_LESSEQUAL,
       SEARCH_NUMBER };

/* A task sleeping in msgrcv, on its stack: a sender fills msg. */
struct msg_receiver {
	struct msg_receiver *next;
	int64_t type;
	int mode;
	size_t maxsize;
	int pid;
	struct msg *msg;
	int status; /* WAITING, 0 (msg is ours), -E2BIG, -EIDRM, -EAGAIN */
};

/* A task sleeping in msgsnd until its message fits. */
struct msg_sender {
	struct msg_sender *next;
	int status; /* WAITING, or -EIDRM */
};

struct msg_queue {
	struct ipc_obj o;
	struct msg *head, **tail;
	uint64_t cbytes, qnum, qbytes;
	int64_t stime, rtime, ctime;
	int lspid, lrpid;
	struct msg_receiver *receivers;
	struct msg_sender *senders;
};

static int64_t now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

static int64_t now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- namespace, ids and keys ---- */

/* ns_get - the sandbox's namespace, created at first use (lock held). */
static struct ipc_ns *ns_get(struct kernel *k)
{
	struct ipc_ns *ns = k->ipc;
	uint64_t limit = k->cfg ? k->cfg->limits.memory : 0;

	if (ns)
		return ns;
	ns = calloc(1, sizeof(*ns));
	if (!ns)
		return NULL;
	for (int i = 0; i < 3; i++)
		ns->ids[i].max_idx = ns->ids[i].last_idx = -1;
	/* segments hold memory no mm is charged for once detached: with a
	 * memory limit, their total is capped by it (shmall) */
	ns->shm_all = limit ? limit / PAGE_SIZE : K_SHMALL;
	k->ipc = ns;
	return ns;
}

static int free_slot(const struct ipc_ids *ids, int from, int to)
{
	for (int i = from; i < to; i++)
		if (!ids->v[i])
			return i;
	return -1;
}

/*
 * ids_add - give @o an id: Linux's ipc_idr_alloc.  Indexes are taken
 * cyclically below max(in_use * 3/2, 64), and the sequence number goes up
 * each time the cycle wraps, so a removed id comes back only much later.
 * Return: the id, -ENOSPC past @mni objects, -ENOMEM.
 */
static int ids_add(struct ipc_ids *ids, struct ipc_obj *o, int mni)
{
	int max, idx;

	if (ids->in_use >= mni)
		return -ENOSPC;
	max = ids->in_use * 3 / 2;
	if (max < MIN_CYCLE)
		max = MIN_CYCLE;
	if (max > mni)
		max = mni;
	if (ids->cap < max) {
		struct ipc_obj **v = realloc(ids->v, (size_t)max * sizeof(*v));

		if (!v)
			return -ENOMEM;
		memset(v + ids->cap, 0, (size_t)(max - ids->cap) * sizeof(*v));
		ids->v = v;
		ids->cap = max;
	}
	idx = ids->next < max ? free_slot(ids, ids->next, max) : -1;
	if (idx < 0)
		idx = free_slot(ids, 0, max);
	if (idx < 0)
		return -ENOSPC;
	ids->next = idx + 1;
	if (idx <= ids->last_idx && ++ids->seq >= SEQ_MAX)
		ids->seq = 0;
	ids->last_idx = idx;
	o->seq = (uint16_t)ids->seq;
	o->id = (ids->seq << SEQ_SHIFT) + idx;
	ids->v[idx] = o;
	ids->in_use++;
	if (idx > ids->max_idx)
		ids->max_idx = idx;
	return o->id;
}

static void ids_remove(struct ipc_ids *ids, struct ipc_obj *o)
{
	int idx = o->id & (IPCMNI - 1);

	ids->v[idx] = NULL;
	ids->in_use--;
	while (ids->max_idx >= 0 && !ids->v[ids->max_idx])
		ids->max_idx--;
}

/* obj_check - the object @id names, sequence included (ipc_obtain_object_check). */
static struct ipc_obj *obj_check(const struct ipc_ids *ids, int id)
{
	int idx = id & (IPCMNI - 1);
	struct ipc_obj *o = idx < ids->cap ? ids->v[idx] : NULL;

	return o && (id >> SEQ_SHIFT) == o->seq ? o : NULL;
}

/* obj_at - *_STAT: @id is an index (only its low bits count). */
static struct ipc_obj *obj_at(const struct ipc_ids *ids, int id)
{
	int idx = id & (IPCMNI - 1);

	return idx < ids->cap ? ids->v[idx] : NULL;
}

static struct ipc_obj *find_key(const struct ipc_ids *ids, int32_t key)
{
	for (int i = 0; i <= ids->max_idx; i++)
		if (ids->v[i] && ids->v[i]->key == key)
			return ids->v[i];
	return NULL;
}

static void obj_init(struct ipc_obj *o, const struct process *p, int32_t key,
		     int flg)
{
	o->key = key;
	o->mode = (uint32_t)flg & 0777;
	o->uid = o->cuid = p->uid;
	o->gid = o->cgid = p->gid;
}

static int charge(struct ipc_ns *ns, uint64_t bytes)
{
	if (ns->core_bytes + bytes > IPC_CORE_MAX)
		return -ENOMEM;
	ns->core_bytes += bytes;
	return 0;
}

/* ---- permissions and the common ctl steps ---- */

/*
 * allowed - ipcperms: the rwx bits of @flg (any of the three triplets)
 * against the owner's, group's or others' bits of @o.  uid 0 is the
 * sandbox's root and has CAP_IPC_OWNER; there are no supplementary groups.
 */
static bool allowed(const struct process *p, const struct ipc_obj *o, int flg)
{
	int16_t flag = (int16_t)flg; /* Linux's short flag */
	unsigned want = (unsigned)((flag >> 6) | (flag >> 3) | flag) & 7;
	unsigned granted = o->mode;

	if (p->uid == o->cuid || p->uid == o->uid)
		granted >>= 6;
	else if (p->gid == o->cgid || p->gid == o->gid)
		granted >>= 3;
	return !(want & ~granted & 7) || p->uid == 0;
}

/*
 * stat_obj - what IPC_STAT (an id) or *_STAT / *_STAT_ANY (an index)
 * names, readable by the caller unless @any.  Return: it, or NULL with
 * *@err -EINVAL or -EACCES.
 */
static struct ipc_obj *stat_obj(struct task *t, struct ipc_ids *ids, int id,
				int cmd, bool any, long *err)
{
	struct ipc_obj *o = cmd == IPC_STAT ? obj_check(ids, id) : obj_at(ids, id);

	*err = !o ? -EINVAL : !any && !allowed(t->proc, o, 0444) ? -EACCES : 0;
	return *err ? NULL : o;
}

/* lookup_owner - IPC_SET and IPC_RMID: the owner, the creator or root
 * (CAP_SYS_ADMIN), as Linux's ipcctl_obtain_check. */
static int lookup_owner(const struct process *p, const struct ipc_ids *ids,
			int id, struct ipc_obj **out)
{
	struct ipc_obj *o = obj_check(ids, id);

	if (!o)
		return -EINVAL;
	if (p->uid != o->cuid && p->uid != o->uid && p->uid != 0)
		return -EPERM;
	*out = o;
	return 0;
}

/* update_perm - IPC_SET: owner and permission bits (ipc_update_perm). */
static int update_perm(struct ipc_obj *o, const struct k_ipc64_perm *in)
{
	if (in->uid == (uint32_t)-1 || in->gid == (uint32_t)-1)
		return -EINVAL;
	o->uid = in->uid;
	o->gid = in->gid;
	o->mode = (o->mode & ~0777u) | (in->mode & 0777);
	return 0;
}

static void fill_perm(struct k_ipc64_perm *out, const struct ipc_obj *o)
{
	out->key = o->key;
	out->uid = o->uid;
	out->gid = o->gid;
	out->cuid = o->cuid;
	out->cgid = o->cgid;
	out->mode = o->mode;
	out->seq = o->seq;
}

struct get_args {
	int32_t key;
	int flg;
	uint64_t size; /* shmget */
	int nsems;     /* semget */
};

typedef long (*new_fn)(struct task *t, struct ipc_ns *ns,
		       const struct get_args *g);
typedef int (*check_fn)(struct ipc_obj *o, const struct get_args *g);

/* ipcget - the *get calls: Linux's ipcget_new / ipcget_public (lock held). */
static long ipcget(struct task *t, struct ipc_ids *ids, struct ipc_ns *ns,
		   const struct get_args *g, new_fn fresh, check_fn more)
{
	struct ipc_obj *o;
	int r;

	if (g->key == IPC_PRIVATE)
		return fresh(t, ns, g);
	o = find_key(ids, g->key);
	if (!o)
		return (g->flg & IPC_CREAT) ? fresh(t, ns, g) : -ENOENT;
	if ((g->flg & IPC_CREAT) && (g->flg & IPC_EXCL))
		return -EEXIST;
	if (more && (r = more(o, g)))
		return r;
	if (!allowed(t->proc, o, g->flg))
		return -EACCES;
	return o->id;
}

/* ---- shared memory ---- */

static struct shm_seg *seg_of(struct ipc_obj *o)
{
	return (struct shm_seg *)o;
}

static uint64_t seg_len(const struct shm_seg *s)
{
	return PAGE_UP(s->size);
}

/* shm_destroy - the segment goes; mappings keep their own references. */
static void shm_destroy(struct ipc_ns *ns, struct shm_seg *s)
{
	ns->shm_tot -= seg_len(s) / PAGE_SIZE;
	ids_remove(&ns->ids[SHM_IDS], &s->o);
	memfile_unref(s->moff, seg_len(s));
	free(s);
}

/* shm_detached - one attachment fewer, by @pid (shm_close). */
static void shm_detached(struct ipc_ns *ns, struct shm_seg *s, int pid)
{
	s->lpid = pid;
	s->dtime = now_sec();
	if (--s->nattch == 0 && (s->o.mode & SHM_DEST))
		shm_destroy(ns, s);
}

static long shm_new(struct task *t, struct ipc_ns *ns, const struct get_args *g)
{
	uint64_t len, pages;
	struct shm_seg *s;
	long r;

	if (g->size < K_SHMMIN || g->size > K_SHMMAX)
		return -EINVAL;
	len = PAGE_UP(g->size);
	pages = len / PAGE_SIZE;
	if (ns->shm_tot + pages < ns->shm_tot || ns->shm_tot + pages > ns->shm_all)
		return -ENOSPC;
	if (g->flg & SHM_HUGETLB)
		return -ENOMEM; /* as a kernel without huge pages reserved
				   (mmap MAP_HUGETLB does the same) */
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	r = memfile_alloc(len, &s->moff);
	if (r)
		goto out_free;
	obj_init(&s->o, t->proc, g->key, g->flg);
	r = ids_add(&ns->ids[SHM_IDS], &s->o, K_SHMMNI);
	if (r < 0)
		goto out_memfile;
	s->size = g->size;
	s->cpid = t->proc->pid;
	s->ctime = now_sec();
	ns->shm_tot += pages;
	return s->o.id;

out_memfile:
	memfile_free(s->moff, len);
out_free:
	free(s);
	return r;
}

static int shm_more(struct ipc_obj *o, const struct get_args *g)
{
	return seg_of(o)->size < g->size ? -EINVAL : 0;
}

long sys_shmget(struct task *t, const struct sbx_syscall_args *a)
{
	struct kernel *k = t->proc->k;
	struct get_args g = { .key = (int32_t)a->a[0], .size = a->a[1],
			      .flg = (int)a->a[2] };
	struct ipc_ns *ns;
	long r;

	pthread_mutex_lock(&k->lock);
	ns = ns_get(k);
	r = ns ? ipcget(t, &ns->ids[SHM_IDS], ns, &g, shm_new, shm_more)
	       : -ENOMEM;
	pthread_mutex_unlock(&k->lock);
	return r;
}

/*
 * next_piece - the first part of [@lo, @hi) that @mm maps with @s's pages
 * where an attachment at @addr would (pieces left by munmap or mprotect
 * count: Linux's shmdt takes those too; a VMA merged with a neighbour
 * counts for its part).  Return: true and the range.
 */
static bool next_piece(struct mm *mm, const struct shm_seg *s, uint64_t addr,
		       uint64_t lo, uint64_t hi, uint64_t *start, uint64_t *end)
{
	bool found = false;

	pthread_mutex_lock(&mm->lock);
	for (struct vma *v = mm_next_vma(mm, lo); v && v->start < hi;
	     v = mm_next_vma(mm, v->end)) {
		uint64_t a = v->start > lo ? v->start : lo;

		/* (a host file's shared VMA has no memory-file offset) */
		if ((v->flags & (VMA_SHARED | VMA_FILE)) == VMA_SHARED &&
		    v->off + (a - v->start) == s->moff + (a - addr)) {
			*start = a;
			*end = v->end < hi ? v->end : hi;
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&mm->lock);
	return found;
}

static bool attach_live(struct process *p, const struct shm_attach *at)
{
	uint64_t s, e;

	return next_piece(&p->mm, at->seg, at->addr, at->addr,
			  at->addr + seg_len(at->seg), &s, &e);
}

/* prune - drop @p's attachments overlapping [lo, hi) that no longer map
 * their segment (lock held). */
static void prune(struct ipc_ns *ns, struct process *p, uint64_t lo,
		  uint64_t hi)
{
	struct shm_attach **pp = &p->shm_attach;

	while (*pp) {
		struct shm_attach *at = *pp;

		if (at->addr < hi && lo < at->addr + seg_len(at->seg) &&
		    !attach_live(p, at)) {
			*pp = at->next;
			shm_detached(ns, at->seg, p->pid);
			free(at);
			continue;
		}
		pp = &at->next;
	}
}

long sys_shmat(struct task *t, const struct sbx_syscall_args *a)
{
	struct process *p = t->proc;
	struct kernel *k = p->k;
	struct mm *mm = &p->mm;
	int id = (int)a->a[0], flg = (int)a->a[2], prot, acc;
	uint64_t addr = a->a[1], len;
	struct shm_attach *at;
	struct ipc_ns *ns;
	struct shm_seg *s;
	bool fixed = addr != 0;
	long r;

	if (id < 0)
		return -EINVAL;
	if (addr) {
		/* SHMLBA is the page size on x86-64 */
		if (addr & (PAGE_SIZE - 1)) {
			if (!(flg & SHM_RND))
				return -EINVAL;
			addr = PAGE_DOWN(addr);
			if (!addr && (flg & SHM_REMAP))
				return -EINVAL;
		}
	} else if (flg & SHM_REMAP) {
		return -EINVAL;
	}
	prot = PROT_READ | ((flg & SHM_RDONLY) ? 0 : PROT_WRITE);
	acc = (flg & SHM_RDONLY) ? 0444 : 0666;
	if (flg & SHM_EXEC) {
		prot |= PROT_EXEC;
		acc |= 0111;
	}
	at = calloc(1, sizeof(*at));
	if (!at)
		return -ENOMEM;
	pthread_mutex_lock(&k->lock);
	ns = ns_get(k);
	r = -ENOMEM;
	if (!ns)
		goto out;
	r = -EINVAL;
	s = (struct shm_seg *)obj_check(&ns->ids[SHM_IDS], id);
	if (!s)
		goto out;
	r = -EACCES;
	if (!allowed(p, &s->o, acc))
		goto out;
	len = seg_len(s);
	if (fixed) {
		r = -EINVAL;
		if (!(flg & SHM_REMAP) &&
		    (addr + len < addr || (addr && !mm_range_free(mm, addr, len))))
			goto out;
		/* then what do_mmap says of a MAP_FIXED range */
		r = -ENOMEM;
		if (len > mm->user_max || addr > mm->user_max - len)
			goto out;
		r = -EPERM;
		if (addr < mm->user_min)
			goto out;
	} else {
		r = mm_get_unmapped(mm, 0, len, &addr);
		if (r)
			goto out;
	}
	/* the VMA's own reference on the pages, as tmpfs_map_pages takes */
	memfile_share(s->moff, len);
	/* SHM_RDONLY: never writable, as Linux's VM_MAYWRITE-less VMA */
	r = mm_map_shared(mm, addr, len, prot, s->moff, !(flg & SHM_RDONLY));
	if (r) {
		memfile_unref(s->moff, len);
		if (fixed) /* what was there may be gone all the same */
			prune(ns, p, addr, addr + len);
		goto out;
	}
	s->nattch++;
	s->atime = now_sec();
	s->lpid = p->pid;
	/* attachments SHM_REMAP replaced are gone (one of the same segment
	 * at the same place would still look mapped: drop it by name) */
	for (struct shm_attach **pp = &p->shm_attach; *pp;) {
		struct shm_attach *old = *pp;

		if (old->seg == s && old->addr == addr) {
			*pp = old->next;
			shm_detached(ns, s, p->pid);
			free(old);
			continue;
		}
		pp = &old->next;
	}
	prune(ns, p, addr, addr + len);
	at->seg = s;
	at->addr = addr;
	at->next = p->shm_attach;
	__atomic_store_n(&p->shm_attach, at, __ATOMIC_RELEASE);
	at = NULL;
	r = (long)addr;
out:
	pthread_mutex_unlock(&k->lock);
	free(at);
	return r;
}

/*
 * shmdt - unmap the segment attached at @addr: every piece of it from
 * @addr on (Linux unmaps the fragments mprotect or munmap left), and drop
 * the attachment.  EINVAL when nothing of a segment is attached there.
 */
long sys_shmdt(struct task *t, const struct sbx_syscall_args *a)
{
	struct process *p = t->proc;
	struct kernel *k = p->k;
	uint64_t addr = a->a[0];
	struct shm_attach **pp, *at;
	bool done = false;
	long r = -EINVAL;

	if (addr & (PAGE_SIZE - 1))
		return -EINVAL;
	pthread_mutex_lock(&k->lock);
	for (pp = &p->shm_attach; (at = *pp);) {
		uint64_t s, e, hi = at->addr + seg_len(at->seg);

		if (at->addr != addr || done) {
			pp = &at->next;
			continue;
		}
		while (next_piece(&p->mm, at->seg, addr, addr, hi, &s, &e)) {
			if (mm_unmap(&p->mm, s, e - s))
				break; /* out of memory splitting: leave it */
			done = true;
		}
		/* found or stale (unmapped some other way), it is gone */
		*pp = at->next;
		shm_detached(k->ipc, at->seg, p->pid);
		free(at);
	}
	if (done)
		r = 0;
	pthread_mutex_unlock(&k->lock);
	return r;
}

/* shm_rss - resident pages of a segment (those that hold data). */
static uint64_t shm_rss(const struct shm_seg *s)
{
	uint64_t n = 0, end = s->moff + seg_len(s);

	for (uint64_t d = memfile_next_data(s->moff, end); d < end;) {
		uint64_t h = memfile_next_hole(d, end);

		n += (h - d) / PAGE_SIZE;
		d = memfile_next_data(h, end);
	}
	return n;
}

static long shm_stat(struct task *t, struct ipc_ns *ns, int id, int cmd,
		     uint64_t ubuf)
{
	struct ipc_ids *ids = &ns->ids[SHM_IDS];
	struct k_shmid64_ds ds = { 0 };
	struct shm_seg *s;
	struct ipc_obj *o;
	long r;

	o = stat_obj(t, ids, id, cmd, cmd == SHM_STAT_ANY, &r);
	if (!o)
		return r;
	s = seg_of(o);
	fill_perm(&ds.shm_perm, o);
	ds.shm_segsz = s->size;
	ds.shm_atime = s->atime;
	ds.shm_dtime = s->dtime;
	ds.shm_ctime = s->ctime;
	ds.shm_cpid = s->cpid;
	ds.shm_lpid = s->lpid;
	ds.shm_nattch = s->nattch;
	if (mm_copy_out(&t->proc->mm, ubuf, &ds, sizeof(ds)))
		return -EFAULT;
	return cmd == IPC_STAT ? 0 : o->id;
}

static long shm_ctl(struct task *t, struct ipc_ns *ns, int id, int cmd,
		    uint64_t ubuf)
{
	struct process *p = t->proc;
	struct ipc_ids *ids = &ns->ids[SHM_IDS];
	struct k_shmid64_ds ds;
	struct ipc_obj *o;
	long r;

	switch (cmd) {
	case IPC_INFO: {
		struct k_shminfo64 info = {
			.shmmax = K_SHMMAX, .shmmin = K_SHMMIN, .shmmni = K_SHMMNI,
			.shmseg = K_SHMMNI, .shmall = ns->shm_all,
		};

		if (mm_copy_out(&p->mm, ubuf, &info, sizeof(info)))
			return -EFAULT;
		return ids->max_idx < 0 ? 0 : ids->max_idx;
	}
	case SHM_INFO: {
		struct k_shm_info info = { .used_ids = ids->in_use,
					   .shm_tot = ns->shm_tot };

		for (int i = 0; i <= ids->max_idx; i++)
			if (ids->v[i])
				info.shm_rss += shm_rss(seg_of(ids->v[i]));
		if (mm_copy_out(&p->mm, ubuf, &info, sizeof(info)))
			return -EFAULT;
		return ids->max_idx < 0 ? 0 : ids->max_idx;
	}
	case IPC_STAT:
	case SHM_STAT:
	case SHM_STAT_ANY:
		return shm_stat(t, ns, id, cmd, ubuf);
	case IPC_SET:
		if (mm_copy_in(&p->mm, &ds, ubuf, sizeof(ds)))
			return -EFAULT;
		/* fall through */
	case IPC_RMID:
		r = lookup_owner(p, ids, id, &o);
		if (r)
			return r;
		if (cmd == IPC_SET) {
			r = update_perm(o, &ds.shm_perm);
			if (!r)
				seg_of(o)->ctime = now_sec();
			return r;
		}
		if (!seg_of(o)->nattch) {
			shm_destroy(ns, seg_of(o));
			return 0;
		}
		/* destroyed with its last attachment; no longer found */
		o->mode |= SHM_DEST;
		o->key = IPC_PRIVATE;
		return 0;
	case SHM_LOCK:
	case SHM_UNLOCK:
		o = obj_check(ids, id);
		if (!o)
			return -EINVAL;
		if (p->uid != 0) { /* without CAP_IPC_LOCK */
			if (p->uid != o->uid && p->uid != o->cuid)
				return -EPERM;
			if (cmd == SHM_LOCK && !p->rlim[RLIMIT_MEMLOCK].cur)
				return -EPERM;
		}
		/* memory-file pages are never swapped: only the flag changes */
		if (cmd == SHM_LOCK)
			o->mode |= SHM_LOCKED;
		else
			o->mode &= ~(uint32_t)SHM_LOCKED;
		return 0;
	default:
		return -EINVAL;
	}
}

long sys_shmctl(struct task *t, const struct sbx_syscall_args *a)
{
	struct kernel *k = t->proc->k;
	int id = (int)a->a[0], cmd = (int)a->a[1];
	struct ipc_ns *ns;
	long r;

	if (cmd < 0 || id < 0)
		return -EINVAL;
	pthread_mutex_lock(&k->lock);
	ns = ns_get(k);
	r = ns ? shm_ctl(t, ns, id, cmd, a->a[2]) : -ENOMEM;
	pthread_mutex_unlock(&k->lock);
	return r;
}

/* ---- semaphores ---- */

static struct sem_set *set_of(struct ipc_obj *o)
{
	return (struct sem_set *)o;
}

static uint64_t set_bytes(int nsems)
{
	return sizeof(struct sem_set) + (uint64_t)nsems * sizeof(struct sem);
}

static uint64_t undo_bytes(int nsems)
{
	return sizeof(struct sem_undo) + (uint64_t)nsems * sizeof(int16_t);
}

static long sem_new(struct task *t, struct ipc_ns *ns, const struct get_args *g)
{
	struct sem_set *s;
	long r;

	if (!g->nsems)
		return -EINVAL;
	if (ns->used_sems + g->nsems > K_SEMMNS)
		return -ENOSPC;
	if (charge(ns, set_bytes(g->nsems)))
		return -ENOMEM;
	s = calloc(1, set_bytes(g->nsems));
	r = -ENOMEM;
	if (!s)
		goto out_uncharge;
	obj_init(&s->o, t->proc, g->key, g->flg);
	s->nsems = g->nsems;
	s->ctime = now_sec();
	r = ids_add(&ns->ids[SEM_IDS], &s->o, K_SEMMNI);
	if (r < 0)
		goto out_free;
	ns->used_sems += g->nsems;
	return s->o.id;

out_free:
	free(s);
out_uncharge:
	ns->core_bytes -= set_bytes(g->nsems);
	return r;
}

static int sem_more(struct ipc_obj *o, const struct get_args *g)
{
	return g->nsems > set_of(o)->nsems ? -EINVAL : 0;
}

long sys_semget(struct task *t, const struct sbx_syscall_args *a)
{
	struct kernel *k = t->proc->k;
	struct get_args g = { .key = (int32_t)a->a[0], .nsems = (int)a->a[1],
			      .flg = (int)a->a[2] };
	struct ipc_ns *ns;
	long r;

	if (g.nsems < 0 || g.nsems > K_SEMMSL)
		return -EINVAL;
	pthread_mutex_lock(&k->lock);
	ns = ns_get(k);
	r = ns ? ipcget(t, &ns->ids[SEM_IDS], ns, &g, sem_new, sem_more)
	       : -ENOMEM;
	pthread_mutex_unlock(&k->lock);
	return r;
}

/*
 * try_ops - apply @n ops to @s atomically, in order (Linux's
 * perform_atomic_semop_slow: an op may see the ones before it, and
 * everything is rolled back if one cannot proceed).  Return: 0 done,
 * 1 would block (*@blocking is the op's index), -EAGAIN when that op has
 * IPC_NOWAIT, -ERANGE past SEMVMX or the undo range.
 */
static int try_ops(struct sem_set *s, const struct k_sembuf *ops, int n,
		   struct sem_undo *un, int pid, int *blocking)
{
	int i, r;

	for (i = 0; i < n; i++) {
		const struct k_sembuf *op = &ops[i];
		int v = s->sems[op->sem_num].val;

		if (!op->sem_op && v)
			goto block;
		v += op->sem_op;
		if (v < 0)
			goto block;
		if (v > K_SEMVMX) {
			r = -ERANGE;
			goto undo;
		}
		if (op->sem_flg & SEM_UNDO) {
			int adj = un->adj[op->sem_num] - op->sem_op;

			if (adj < -K_SEMAEM - 1 || adj > K_SEMAEM) {
				r = -ERANGE;
				goto undo;
			}
			un->adj[op->sem_num] = (int16_t)adj;
		}
		s->sems[op->sem_num].val = v;
	}
	for (i = 0; i < n; i++)
		s->sems[ops[i].sem_num].pid = pid;
	return 0;

block:
	*blocking = i;
	r = (ops[i].sem_flg & IPC_NOWAIT) ? -EAGAIN : 1;
undo:
	while (--i >= 0) {
		s->sems[ops[i].sem_num].val -= ops[i].sem_op;
		if (ops[i].sem_flg & SEM_UNDO)
			un->adj[ops[i].sem_num] += ops[i].sem_op;
	}
	return r;
}

/*
 * sem_update - values changed: complete the sleepers that can go now, in
 * FIFO order; after one that changed values, start again from the oldest
 * (it may be waiting for exactly that).  Return: whether one succeeded.
 */
static bool sem_update(struct kernel *k, struct sem_set *s)
{
	bool any = false, woke = false;
	struct sem_waiter **pp;

again:
	for (pp = &s->waiters; *pp;) {
		struct sem_waiter *w = *pp;
		int r = try_ops(s, w->sops, w->nsops, w->undo, w->pid, &w->blocking);

		if (r > 0) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		w->status = r;
		woke = true;
		if (r == 0) {
			any = true;
			if (w->alter)
				goto again;
		}
	}
	if (any)
		s->otime = now_sec();
	if (woke)
		pthread_cond_broadcast(&k->changed);
	return any;
}

/* find_undo - @p's undo record for @s, made if needed (lock held). */
static int find_undo(struct ipc_ns *ns, struct sem_set *s, struct process *p,
		     struct sem_undo **out)
{
	struct sem_undo *u;

	for (u = s->undos; u; u = u->next) {
		if (u->p == p) {
			*out = u;
			return 0;
		}
	}
	if (charge(ns, undo_bytes(s->nsems)))
		return -ENOMEM;
	u = calloc(1, undo_bytes(s->nsems));
	if (!u) {
		ns->core_bytes -= undo_bytes(s->nsems);
		return -ENOMEM;
	}
	u->p = p;
	u->next = s->undos;
	s->undos = u;
	p->sem_undo = true;
	*out = u;
	return 0;
}

static void free_undo(struct ipc_ns *ns, struct sem_set *s, struct sem_undo *u)
{
	ns->core_bytes -= undo_bytes(s->nsems);
	free(u);
}

/* sem_destroy - IPC_RMID: sleepers get EIDRM, undo records go. */
static void sem_destroy(struct kernel *k, struct ipc_ns *ns, struct sem_set *s)
{
	for (struct sem_waiter *w = s->waiters; w; w = w->next)
		w->status = -EIDRM;
	if (s->waiters)
		pthread_cond_broadcast(&k->changed);
	while (s->undos) {
		struct sem_undo *u = s->undos;

		s->undos = u->next;
		free_undo(ns, s, u);
	}
	ids_remove(&ns->ids[SEM_IDS], &s->o);
	ns->used_sems -= s->nsems;
	ns->core_bytes -= set_bytes(s->nsems);
	free(s);
}

static long do_semop(struct task *t, int id, uint64_t usops, unsigned nsops,
		     const struct k_timespec *timeout)
{
	struct process *p = t->proc;
	struct kernel *k = p->k;
	struct sem_waiter w = { .pid = p->pid, .status = WAITING };
	struct k_sembuf *ops;
	struct sem_undo *un = NULL;
	struct ipc_ns *ns;
	struct sem_set *s;
	bool undos = false;
	int64_t deadline = 0;
	unsigned max = 0;
	long r;

	if (nsops < 1 || id < 0)
		return -EINVAL;
	if (nsops > K_SEMOPM)
		return -E2BIG;
	ops = malloc(nsops * sizeof(*ops));
	if (!ops)
		return -ENOMEM;
	r = -EFAULT;
	if (mm_copy_in(&p->mm, ops, usops, nsops * sizeof(*ops)))
		goto out_free;
	if (timeout) {
		r = -EINVAL;
		if (timeout->tv_sec < 0 || timeout->tv_nsec < 0 ||
		    timeout->tv_nsec >= 1000000000LL)
			goto out_free;
		if (timeout->tv_sec > INT64_MAX / 4000000000LL)
			deadline = INT64_MAX; /* never, in practice */
		else
			deadline = now_mono() + timeout->tv_sec * 1000000000LL +
				   timeout->tv_nsec;
	}
	for (unsigned i = 0; i < nsops; i++) {
		if (ops[i].sem_num > max)
			max = ops[i].sem_num;
		if (ops[i].sem_flg & SEM_UNDO)
			undos = true;
		if (ops[i].sem_op)
			w.alter = true;
	}
	w.sops = ops;
	w.nsops = (int)nsops;

	pthread_mutex_lock(&k->lock);
	ns = ns_get(k);
	r = -ENOMEM;
	if (!ns)
		goto out_unlock;
	r = -EINVAL;
	s = (struct sem_set *)obj_check(&ns->ids[SEM_IDS], id);
	if (!s)
		goto out_unlock;
	if (undos) {
		/* Linux makes the record before the other checks too */
		r = find_undo(ns, s, p, &un);
		if (r)
			goto out_unlock;
		w.undo = un;
	}
	r = -EFBIG;
	if (max >= (unsigned)s->nsems)
		goto out_unlock;
	r = -EACCES;
	if (!allowed(p, &s->o, w.alter ? 0222 : 0444))
		goto out_unlock;
	r = try_ops(s, ops, w.nsops, un, w.pid, &w.blocking);
	if (r == 0) {
		if (w.alter)
			sem_update(k, s);
		s->otime = now_sec();
		goto out_unlock;
	}
	if (r < 0)
		goto out_unlock;
	/* sleep at the tail of the set's queue; a waker completes us */
	{
		struct sem_waiter **pp = &s->waiters;

		while (*pp)
			pp = &(*pp)->next;
		*pp = &w;
	}
	for (;;) {
		int sr = task_sleep(t, deadline);

		if (w.status != WAITING) {
			/* done by a waker, or EIDRM: the set may be gone */
			r = w.status;
			break;
		}
		if (sr == 0)
			continue;
		/* still queued, so the set still exists: leave it */
		for (struct sem_waiter **pp = &s->waiters; *pp; pp = &(*pp)->next) {
			if (*pp == &w) {
				*pp = w.next;
				break;
			}
		}
		/* semop is never restarted: a handled signal gives EINTR */
		r = sr == -ETIMEDOUT ? -EAGAIN : -EINTR;
		break;
	}
out_unlock:
	pthread_mutex_unlock(&k->lock);
out_free:
	free(ops);
	return r;
}

long sys_semop(struct task *t, const struct sbx_syscall_args *a)
{
	return do_semop(t, (int)a->a[0], a->a[1], (unsigned)a->a[2], NULL);
}

long sys_semtimedop(struct task *t, const struct sbx_syscall_args *a)
{
	struct k_timespec ts;

	if (!a->a[3])
		return do_semop(t, (int)a->a[0], a->a[1], (unsigned)a->a[2], NULL);
	if (mm_copy_in(&t->proc->mm, &ts, a->a[3], sizeof(ts)))
		return -EFAULT;
	return do_semop(t, (int)a->a[0], a->a[1], (unsigned)a->a[2], &ts);
}

/* sem_count - GETNCNT/GETZCNT: sleepers whose blocking op is on @num and
 * a decrement (or a wait for zero), as Linux since 3.16 (SUS). */
static int sem_count(const struct sem_set *s, int num, bool zero)
{
	int n = 0;

	for (const struct sem_waiter *w = s->waiters; w; w = w->next) {
		const struct k_sembuf *op = &w->sops[w->blocking];

		if (op->sem_num == num && (zero ? op->sem_op == 0 : op->sem_op < 0))
			n++;
	}
	return n;
}

static long sem_stat(struct task *t, struct ipc_ns *ns, int id, int cmd,
		     uint64_t ubuf)
{
	struct ipc_ids *ids = &ns->ids[SEM_IDS];
	struct k_semid64_ds ds = { 0 };
	struct ipc_obj *o;
	long r;

	o = stat_obj(t, ids, id, cmd, cmd == SEM_STAT_ANY, &r);
	if (!o)
		return r;
	fill_perm(&ds.sem_perm, o);
	ds.sem_otime = set_of(o)->otime;
	ds.sem_ctime = set_of(o)->ctime;
	ds.sem_nsems = (uint64_t)set_of(o)->nsems;
	if (mm_copy_out(&t->proc->mm, ubuf, &ds, sizeof(ds)))
		return -EFAULT;
	return cmd == IPC_STAT ? 0 : o->id;
}

/* sem_set_values - SETVAL/SETALL: values, pids and ctime; the undo
 * adjustments of the semaphores set are cleared, as Linux does. */
static void sem_set_values(struct kernel *k, struct sem_set *s, int num,
			   const uint16_t *vals, int pid)
{
	int lo = num < 0 ? 0 : num, hi = num < 0 ? s->nsems : num + 1;

	for (int i = lo; i < hi; i++) {
		s->sems[i].val = vals[i - lo];
		s->sems[i].pid = pid;
		for (struct sem_undo *u = s->undos; u; u = u->next)
			u->adj[i] = 0;
	}
	s->ctime = now_sec();
	sem_update(k, s);
}

static long sem_ctl(struct task *t, struct ipc_ns *ns, int id, int num,
		    int cmd, uint64_t arg)
{
	struct process *p = t->proc;
	struct kernel *k = p->k;
	struct ipc_ids *ids = &ns->ids[SEM_IDS];
	struct k_semid64_ds ds;
	struct ipc_obj *o;
	struct sem_set *s;
	uint16_t *vals;
	long r;

	switch (cmd) {
	case IPC_INFO:
	case SEM_INFO: {
		struct k_seminfo info = {
			.semmni = K_SEMMNI, .semmns = K_SEMMNS,
			.semmsl = K_SEMMSL, .semopm = K_SEMOPM,
			.semvmx = K_SEMVMX, .semmnu = K_SEMMNS,
			.semmap = K_SEMMNS, .semume = K_SEMOPM,
			.semusz = cmd == SEM_INFO ? ids->in_use : K_SEMUSZ,
			.semaem = cmd == SEM_INFO ? (int32_t)ns->used_sems : K_SEMAEM,
		};

		if (mm_copy_out(&p->mm, arg, &info, sizeof(info)))
			return -EFAULT;
		return ids->max_idx < 0 ? 0 : ids->max_idx;
	}
	case IPC_STAT:
	case SEM_STAT:
	case SEM_STAT_ANY:
		return sem_stat(t, ns, id, cmd, arg);
	case SETVAL: {
		int val = (int)arg;
		uint16_t v = (uint16_t)val;

		if (val > K_SEMVMX || val < 0)
			return -ERANGE;
		o = obj_check(ids, id);
		if (!o)
			return -EINVAL;
		if (num < 0 || num >= set_of(o)->nsems)
			return -EINVAL;
		if (!allowed(p, o, 0222))
			return -EACCES;
		sem_set_values(k, set_of(o), num, &v, p->pid);
		return 0;
	}
	case GETALL:
	case SETALL:
	case GETVAL:
	case GETPID:
	case GETNCNT:
	case GETZCNT:
		o = obj_check(ids, id);
		if (!o)
			return -EINVAL;
		s = set_of(o);
		if (!allowed(p, o, cmd == SETALL ? 0222 : 0444))
			return -EACCES;
		if (cmd == GETALL || cmd == SETALL) {
			vals = malloc((size_t)s->nsems * sizeof(*vals));
			if (!vals)
				return -ENOMEM;
			r = 0;
			if (cmd == GETALL) {
				for (int i = 0; i < s->nsems; i++)
					vals[i] = (uint16_t)s->sems[i].val;
				if (mm_copy_out(&p->mm, arg, vals,
						(size_t)s->nsems * sizeof(*vals)))
					r = -EFAULT;
			} else if (mm_copy_in(&p->mm, vals, arg,
					      (size_t)s->nsems * sizeof(*vals))) {
				r = -EFAULT;
			} else {
				for (int i = 0; i < s->nsems && !r; i++)
					if (vals[i] > K_SEMVMX)
						r = -ERANGE;
				if (!r)
					sem_set_values(k, s, -1, vals, p->pid);
			}
			free(vals);
			return r;
		}
		if (num < 0 || num >= s->nsems)
			return -EINVAL;
		switch (cmd) {
		case GETVAL:
			return s->sems[num].val;
		case GETPID:
			return s->sems[num].pid;
		case GETNCNT:
			return sem_count(s, num, false);
		default:
			return sem_count(s, num, true);
		}
	case IPC_SET:
		if (mm_copy_in(&p->mm, &ds, arg, sizeof(ds)))
			return -EFAULT;
		/* fall through */
	case IPC_RMID:
		r = lookup_owner(p, ids, id, &o);
		if (r)
			return r;
		if (cmd == IPC_RMID) {
			sem_destroy(k, ns, set_of(o));
			return 0;
		}
		r = update_perm(o, &ds.sem_perm);
		if (!r)
			set_of(o)->ctime = now_sec();
		return r;
	default:
		return -EINVAL;
	}
}

long sys_semctl(struct task *t, const struct sbx_syscall_args *a)
{
	struct kernel *k = t->proc->k;
	int id = (int)a->a[0];
	struct ipc_ns *ns;
	long r;

	if (id < 0)
		return -EINVAL;
	pthread_mutex_lock(&k->lock);
	ns = ns_get(k);
	r = ns ? sem_ctl(t, ns, id, (int)a->a[1], (int)a->a[2], a->a[3])
	       : -ENOMEM;
	pthread_mutex_unlock(&k->lock);
	return r;
}

/* ---- message queues ---- */

static struct msg_queue *queue_of(struct ipc_obj *o)
{
	return (struct msg_queue *)o;
}

static void free_msg(struct ipc_ns *ns, struct msg *m)
{
	ns->core_bytes -= sizeof(*m) + m->len;
	free(m);
}

static long msg_new(struct task *t, struct ipc_ns *ns, const struct get_args *g)
{
	struct msg_queue *q = calloc(1, sizeof(*q));
	long r;

	if (!q)
		return -ENOMEM;
	obj_init(&q->o, t->proc, g->key, g->flg);
	q->tail = &q->head;
	q->qbytes = K_MSGMNB;
	q->ctime = now_sec();
	r = ids_add(&ns->ids[MSG_IDS], &q->o, K_MSGMNI);
	if (r < 0)
		free(q);
	return r;
}

long sys_msgget(struct task *t, const struct sbx_syscall_args *a)
{
	struct kernel *k = t->proc->k;
	struct get_args g = { .key = (int32_t)a->a[0], .flg = (int)a->a[1] };
	struct ipc_ns *ns;
	long r;

	pthread_mutex_lock(&k->lock);
	ns = ns_get(k);
	r = ns ? ipcget(t, &ns->ids[MSG_IDS], ns, &g, msg_new, NULL) : -ENOMEM;
	pthread_mutex_unlock(&k->lock);
	return r;
}

static bool matches(const struct msg *m, int64_t type, int mode)
{
	switch (mode) {
	case SEARCH_EQUAL:
		return m->type == type;
	case SEARCH_NOTEQUAL:
		return m->type != type;
	case SEARCH_LESSEQUAL:
		return m->type <= type;
	default:
		return true;
	}
}

/* find_msg - Linux's find_msg: the first match, or for a negative type
 * the first of the lowest type; SEARCH_NUMBER (MSG_COPY) the n-th. */
static struct msg **find_msg(struct msg_queue *q, int64_t *type, int mode)
{
	struct msg **found = NULL;
	int64_t count = 0;

	for (struct msg **pp = &q->head; *pp; pp = &(*pp)->next) {
		struct msg *m = *pp;

		if (mode == SEARCH_NUMBER) {
			if (count++ == *type)
				return pp;
			continue;
		}
		if (!matches(m, *type, mode))
			continue;
		if (mode != SEARCH_LESSEQUAL)
			return pp;
		if (m->type == 1)
			return pp; /* nothing can be lower */
		*type = m->type - 1;
		found = pp;
	}
	return found;
}

static bool fits(const struct msg_queue *q, size_t len)
{
	return len + q->cbytes <= q->qbytes && 1 + q->qnum <= q->qbytes;
}

/*
 * pipelined_send - hand @m to the oldest sleeping receiver it matches;
 * receivers whose buffer is too small get E2BIG on the way, as Linux's.
 * Return: true if a receiver took it.
 */
static bool pipelined_send(struct msg_queue *q, struct msg *m, bool *woke)
{
	for (struct msg_receiver **pp = &q->receivers; *pp;) {
		struct msg_receiver *r = *pp;

		if (!matches(m, r->type, r->mode)) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		*woke = true;
		if (r->maxsize < m->len) {
			r->status = -E2BIG;
			continue;
		}
		q->lrpid = r->pid;
		q->rtime = now_sec();
		r->msg = m;
		r->status = 0;
		return true;
	}
	return false;
}

long sys_msgsnd(struct task *t, const struct sbx_syscall_args *a)
{
	struct process *p = t->proc;
	struct kernel *k = p->k;
	int id = (int)a->a[0], flg = (int)a->a[3];
	uint64_t ubuf = a->a[1];
	size_t len = a->a[2];
	struct msg_sender snd = { .status = WAITING };
	bool queued = false, woke = false;
	struct msg_queue *q;
	struct ipc_ns *ns;
	struct msg *m;
	int64_t type;
	long r;

	if (mm_copy_in(&p->mm, &type, ubuf, sizeof(type)))
		return -EFAULT;
	if (len > K_MSGMAX || (int64_t)len < 0 || id < 0)
		return -EINVAL;
	if (type < 1)
		return -EINVAL;
	m = malloc(sizeof(*m) + len);
	if (!m)
		return -ENOMEM;
	m->type = type;
	m->len = len;
	if (mm_copy_in(&p->mm, m->text, ubuf + sizeof(type), len)) {
		free(m);
		return -EFAULT;
	}
	pthread_mutex_lock(&k->lock);
	ns = ns_get(k);
	r = -ENOMEM;
	if (!ns || charge(ns, sizeof(*m) + len))
		goto out_free;
	r = -EINVAL;
	q = (struct msg_queue *)obj_check(&ns->ids[MSG_IDS], id);
	if (!q)
		goto out_uncharge;
	for (;;) {
		r = -EACCES;
		if (!allowed(p, &q->o, 0222))
			break;
		if (fits(q, len)) {
			r = 0;
			break;
		}
		r = -EAGAIN;
		if (flg & IPC_NOWAIT)
			break;
		if (!queued) {
			snd.next = q->senders;
			q->senders = &snd;
			queued = true;
		}
		r = task_sleep(t, 0);
		if (snd.status == -EIDRM) {
			queued = false; /* the queue is gone, and its list */
			r = -EIDRM;
			break;
		}
		if (r == -ERESTARTSYS) {
			/* restarted only when no handler ran, as Linux */
			r = -ERESTARTNOHAND;
			break;
		}
	}
	if (queued) {
		for (struct msg_sender **pp = &q->senders; *pp; pp = &(*pp)->next) {
			if (*pp == &snd) {
				*pp = snd.next;
				break;
			}
		}
	}
	if (r)
		goto out_uncharge;
	q->lspid = p->pid;
	q->stime = now_sec();
	if (!pipelined_send(q, m, &woke)) {
		m->next = NULL;
		*q->tail = m;
		q->tail = &m->next;
		q->cbytes += len;
		q->qnum++;
		ns->msg_bytes += len;
		ns->msg_hdrs++;
	}
	if (woke)
		pthread_cond_broadcast(&k->changed);
	pthread_mutex_unlock(&k->lock);
	return 0;

out_uncharge:
	ns->core_bytes -= sizeof(*m) + len;
out_free:
	pthread_mutex_unlock(&k->lock);
	free(m);
	return r;
}

/* unqueue - take *@pp out of @q (it was found there). */
static struct msg *unqueue(struct ipc_ns *ns, struct msg_queue *q,
			   struct msg **pp)
{
	struct msg *m = *pp;

	*pp = m->next;
	if (q->tail == &m->next)
		q->tail = pp;
	q->qnum--;
	q->cbytes -= m->len;
	ns->msg_bytes -= m->len;
	ns->msg_hdrs--;
	return m;
}

long sys_msgrcv(struct task *t, const struct sbx_syscall_args *a)
{
	struct process *p = t->proc;
	struct kernel *k = p->k;
	int id = (int)a->a[0], flg = (int)a->a[4], mode;
	uint64_t ubuf = a->a[1];
	size_t size = a->a[2];
	int64_t type = (int64_t)a->a[3];
	struct msg_receiver rcv = { .pid = p->pid, .status = WAITING };
	bool copy = flg & MSG_COPY;
	struct msg_queue *q;
	struct ipc_ns *ns;
	struct msg *m = NULL, **pp;
	long r;

	if (id < 0 || (int64_t)size < 0)
		return -EINVAL;
	if (copy) {
		/* checkpoint/restore's peek at the n-th message */
		if ((flg & MSG_EXCEPT) || !(flg & IPC_NOWAIT))
			return -EINVAL;
		if (size > K_MSGMAX)
			size = K_MSGMAX;
		mode = SEARCH_NUMBER;
	} else if (type == 0) {
		mode = SEARCH_ANY;
	} else if (type < 0) {
		type = type == INT64_MIN ? INT64_MAX : -type;
		mode = SEARCH_LESSEQUAL;
	} else {
		mode = (flg & MSG_EXCEPT) ? SEARCH_NOTEQUAL : SEARCH_EQUAL;
	}
	pthread_mutex_lock(&k->lock);
	ns = ns_get(k);
	r = -ENOMEM;
	if (!ns)
		goto out_unlock;
	r = -EINVAL;
	q = (struct msg_queue *)obj_check(&ns->ids[MSG_IDS], id);
	if (!q)
		goto out_unlock;
	for (;;) {
		r = -EACCES;
		if (!allowed(p, &q->o, 0444))
			break;
		pp = find_msg(q, &type, mode);
		if (pp) {
			r = -E2BIG;
			if (size < (*pp)->len && !(flg & MSG_NOERROR))
				break;
			r = 0;
			if (copy) {
				/* the copy buffer is the caller's size even with
				 * MSG_NOERROR (Linux's copy_msg) */
				r = -EINVAL;
				if (size < (*pp)->len)
					break;
				m = malloc(sizeof(*m) + (*pp)->len);
				if (!m) {
					r = -ENOMEM;
					break;
				}
				memcpy(m, *pp, sizeof(*m) + (*pp)->len);
				r = 0;
				break;
			}
			m = unqueue(ns, q, pp);
			q->rtime = now_sec();
			q->lrpid = p->pid;
			if (q->senders) /* room for a sleeping sender */
				pthread_cond_broadcast(&k->changed);
			break;
		}
		r = -ENOMSG;
		if (flg & IPC_NOWAIT)
			break;
		/* sleep in FIFO order: msgsnd hands over what matches */
		rcv.type = type;
		rcv.mode = mode;
		rcv.maxsize = (flg & MSG_NOERROR) ? INT_MAX : size;
		rcv.status = WAITING;
		rcv.next = NULL;
		{
			struct msg_receiver **rp = &q->receivers;

			while (*rp)
				rp = &(*rp)->next;
			*rp = &rcv;
		}
		do
			r = task_sleep(t, 0);
		while (r == 0 && rcv.status == WAITING);
		if (rcv.status == 0) {
			m = rcv.msg;
			break;
		}
		if (rcv.status == -EAGAIN)
			continue; /* IPC_SET: check again from the top */
		if (rcv.status != WAITING) {
			r = rcv.status; /* E2BIG or EIDRM, off the list */
			break;
		}
		/* a signal: still queued, so the queue still exists */
		for (struct msg_receiver **rp = &q->receivers; *rp;
		     rp = &(*rp)->next) {
			if (*rp == &rcv) {
				*rp = rcv.next;
				break;
			}
		}
		r = -ERESTARTNOHAND; /* restarted only when no handler ran */
		break;
	}
out_unlock:
	pthread_mutex_unlock(&k->lock);
	if (!m)
		return r;
	/* a message taken is gone even if the copy out faults, as Linux */
	r = -EFAULT;
	size = size < m->len ? size : m->len;
	if (mm_copy_out(&p->mm, ubuf, &m->type, sizeof(m->type)) == 0 &&
	    mm_copy_out(&p->mm, ubuf + sizeof(m->type), m->text, size) == 0)
		r = (long)size;
	if (copy) {
		free(m);
	} else {
		pthread_mutex_lock(&k->lock);
		free_msg(ns, m);
		pthread_mutex_unlock(&k->lock);
	}
	return r;
}

/* msg_destroy - IPC_RMID: sleepers on both sides get EIDRM. */
static void msg_destroy(struct kernel *k, struct ipc_ns *ns,
			struct msg_queue *q)
{
	for (struct msg_receiver *r = q->receivers; r; r = r->next)
		r->status = -EIDRM;
	for (struct msg_sender *s = q->senders; s; s = s->next)
		s->status = -EIDRM;
	pthread_cond_broadcast(&k->changed);
	while (q->head)
		free_msg(ns, unqueue(ns, q, &q->head));
	ids_remove(&ns->ids[MSG_IDS], &q->o);
	free(q);
}

static long msg_stat(struct task *t, struct ipc_ns *ns, int id, int cmd,
		     uint64_t ubuf)
{
	struct ipc_ids *ids = &ns->ids[MSG_IDS];
	struct k_msqid64_ds ds = { 0 };
	struct msg_queue *q;
	struct ipc_obj *o;
	long r;

	o = stat_obj(t, ids, id, cmd, cmd == MSG_STAT_ANY, &r);
	if (!o)
		return r;
	q = queue_of(o);
	fill_perm(&ds.msg_perm, o);
	ds.msg_stime = q->stime;
	ds.msg_rtime = q->rtime;
	ds.msg_ctime = q->ctime;
	ds.msg_cbytes = q->cbytes;
	ds.msg_qnum = q->qnum;
	ds.msg_qbytes = q->qbytes;
	ds.msg_lspid = q->lspid;
	ds.msg_lrpid = q->lrpid;
	if (mm_copy_out(&t->proc->mm, ubuf, &ds, sizeof(ds)))
		return -EFAULT;
	return cmd == IPC_STAT ? 0 : o->id;
}

static long msg_ctl(struct task *t, struct ipc_ns *ns, int id, int cmd,
		    uint64_t ubuf)
{
	struct process *p = t->proc;
	struct kernel *k = p->k;
	struct ipc_ids *ids = &ns->ids[MSG_IDS];
	struct k_msqid64_ds ds;
	struct ipc_obj *o;
	long r;

	switch (cmd) {
	case IPC_INFO:
	case MSG_INFO: {
		struct k_msginfo info = {
			.msgmni = K_MSGMNI, .msgmax = K_MSGMAX, .msgmnb = K_MSGMNB,
			.msgssz = K_MSGSSZ, .msgseg = K_MSGSEG,
		};

		if (cmd == MSG_INFO) {
			info.msgpool = ids->in_use;
			info.msgmap = (int32_t)ns->msg_hdrs;
			info.msgtql = (int32_t)ns->msg_bytes;
		} else {
			info.msgmap = K_MSGMNB;
			info.msgpool = K_MSGPOOL;
			info.msgtql = K_MSGMNB;
		}
		if (mm_copy_out(&p->mm, ubuf, &info, sizeof(info)))
			return -EFAULT;
		return ids->max_idx < 0 ? 0 : ids->max_idx;
	}
	case IPC_STAT:
	case MSG_STAT:
	case MSG_STAT_ANY:
		return msg_stat(t, ns, id, cmd, ubuf);
	case IPC_SET:
		if (mm_copy_in(&p->mm, &ds, ubuf, sizeof(ds)))
			return -EFAULT;
		/* fall through */
	case IPC_RMID:
		r = lookup_owner(p, ids, id, &o);
		if (r)
			return r;
		if (cmd == IPC_RMID) {
			msg_destroy(k, ns, queue_of(o));
			return 0;
		}
		if (ds.msg_qbytes > K_MSGMNB && p->uid != 0) /* CAP_SYS_RESOURCE */
			return -EPERM;
		r = update_perm(o, &ds.msg_perm);
		if (r)
			return r;
		queue_of(o)->qbytes = ds.msg_qbytes;
		queue_of(o)->ctime = now_sec();
		/* receivers may have lost the right to read: they check again;
		 * senders may fit now */
		for (struct msg_receiver *rc = queue_of(o)->receivers; rc;
		     rc = rc->next)
			rc->status = -EAGAIN;
		queue_of(o)->receivers = NULL;
		pthread_cond_broadcast(&k->changed);
		return 0;
	default:
		return -EINVAL;
	}
}

long sys_msgctl(struct task *t, const struct sbx_syscall_args *a)
{
	struct kernel *k = t->proc->k;
	int id = (int)a->a[0], cmd = (int)a->a[1];
	struct ipc_ns *ns;
	long r;

	if (id < 0 || cmd < 0)
		return -EINVAL;
	pthread_mutex_lock(&k->lock);
	ns = ns_get(k);
	r = ns ? msg_ctl(t, ns, id, cmd, a->a[2]) : -ENOMEM;
	pthread_mutex_unlock(&k->lock);
	return r;
}

/* ---- process hooks ---- */

int ipc_fork(struct process *parent, struct process *child)
{
	struct kernel *k = parent->k;
	struct shm_attach *list = NULL, **tail = &list;

	pthread_mutex_lock(&k->lock);
	/* all or nothing: copy the list first */
	for (struct shm_attach *at = parent->shm_attach; at; at = at->next) {
		struct shm_attach *c = malloc(sizeof(*c));

		if (!c) {
			while (list) {
				struct shm_attach *n = list->next;

				free(list);
				list = n;
			}
			pthread_mutex_unlock(&k->lock);
			return -ENOMEM;
		}
		*c = *at;
		c->next = NULL;
		*tail = c;
		tail = &c->next;
	}
	/* the fork's shm_open: each attachment counts once more */
	for (struct shm_attach *c = list; c; c = c->next) {
		c->seg->nattch++;
		c->seg->atime = now_sec();
		c->seg->lpid = parent->pid;
	}
	child->shm_attach = list;
	pthread_mutex_unlock(&k->lock);
	return 0;
}

/* drop_attachments - @p's attachments go with its address space (lock
 * held; the mm itself is destroyed by the caller). */
static void drop_attachments(struct process *p)
{
	while (p->shm_attach) {
		struct shm_attach *at = p->shm_attach;

		p->shm_attach = at->next;
		shm_detached(p->k->ipc, at->seg, p->pid);
		free(at);
	}
}

void ipc_exec(struct process *p)
{
	pthread_mutex_lock(&p->k->lock);
	drop_attachments(p);
	pthread_mutex_unlock(&p->k->lock);
}

/* undo_exit - apply @p's SEM_UNDO adjustments, clamped to 0..SEMVMX as
 * Linux's exit_sem, and wake whoever can go now (lock held). */
static void undo_exit(struct kernel *k, struct process *p)
{
	struct ipc_ids *ids = &k->ipc->ids[SEM_IDS];

	for (int i = 0; i <= ids->max_idx; i++) {
		struct sem_set *s = ids->v[i] ? set_of(ids->v[i]) : NULL;
		struct sem_undo **pp, *u;

		if (!s)
			continue;
		for (pp = &s->undos; *pp && (*pp)->p != p; pp = &(*pp)->next)
			;
		u = *pp;
		if (!u)
			continue;
		*pp = u->next;
		for (int n = 0; n < s->nsems; n++) {
			int v;

			if (!u->adj[n])
				continue;
			v = s->sems[n].val + u->adj[n];
			s->sems[n].val = v < 0 ? 0 : v > K_SEMVMX ? K_SEMVMX : v;
			s->sems[n].pid = p->pid;
		}
		free_undo(k->ipc, s, u);
		sem_update(k, s);
		s->otime = now_sec(); /* exit_sem sets it in any case */
	}
	p->sem_undo = false;
}

void ipc_exit(struct process *p)
{
	struct kernel *k = p->k;

	pthread_mutex_lock(&k->lock);
	if (k->ipc) {
		if (p->sem_undo)
			undo_exit(k, p);
		drop_attachments(p);
	}
	pthread_mutex_unlock(&k->lock);
}

void ipc_unmapped(struct process *p, uint64_t addr, uint64_t len)
{
	struct kernel *k = p->k;

	/* only p's own threads change its list: no lock to see it empty */
	if (!__atomic_load_n(&p->shm_attach, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&k->lock);
	prune(k->ipc, p, addr, addr + len);
	pthread_mutex_unlock(&k->lock);
}

void ipc_release(struct kernel *k)
{
	struct ipc_ns *ns = k->ipc;

	if (!ns)
		return;
	pthread_mutex_lock(&k->lock);
	for (int i = 0; i <= ns->ids[SHM_IDS].max_idx; i++) {
		struct shm_seg *s = (struct shm_seg *)ns->ids[SHM_IDS].v[i];

		if (s)
			shm_destroy(ns, s); /* no process maps it any more */
	}
	for (int i = 0; i <= ns->ids[SEM_IDS].max_idx; i++)
		if (ns->ids[SEM_IDS].v[i])
			sem_destroy(k, ns, set_of(ns->ids[SEM_IDS].v[i]));
	for (int i = 0; i <= ns->ids[MSG_IDS].max_idx; i++)
		if (ns->ids[MSG_IDS].v[i])
			msg_destroy(k, ns, queue_of(ns->ids[MSG_IDS].v[i]));
	for (int i = 0; i < 3; i++)
		free(ns->ids[i].v);
	free(ns);
	k->ipc = NULL;
	pthread_mutex_unlock(&k->lock);
}
