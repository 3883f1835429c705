/*
 * Process identity and environment syscalls: exit, ids, uname, arch_prctl,
 * thread bookkeeping (set_tid_address, robust lists), resource limits,
 * affinity and randomness.  Thread creation and signals come with the
 * process model; here every process has one thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "fdtable.h"
#include "kernel.h"
#include "seccomp.h"

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004
#define ARCH_GET_CPUID 0x1011
#define ARCH_SET_CPUID 0x1012
#define N_RLIMITS 16

long sys_exit(struct task *t, const struct sbx_syscall_args *a)
{
	struct process *p = t->proc;
	bool alone;

	pthread_mutex_lock(&p->k->lock);
	alone = p->nthreads == 1;
	if (!alone)
		t->exit_thread = true; /* the others go on */
	pthread_mutex_unlock(&p->k->lock);
	if (alone)
		process_exit(p, ((int)a->a[0] & 0xff) << 8);
	return 0;
}

long sys_exit_group(struct task *t, const struct sbx_syscall_args *a)
{
	process_exit(t->proc, ((int)a->a[0] & 0xff) << 8);
	return 0;
}

long sys_getpid(struct task *t, const struct sbx_syscall_args *a)
{
	return t->proc->pid;
}

long sys_gettid(struct task *t, const struct sbx_syscall_args *a)
{
	return t->tid;
}

long sys_getuid(struct task *t, const struct sbx_syscall_args *a)
{
	return t->proc->uid;
}

long sys_geteuid(struct task *t, const struct sbx_syscall_args *a)
{
	return t->proc->uid;
}

long sys_getgid(struct task *t, const struct sbx_syscall_args *a)
{
	return t->proc->gid;
}

long sys_getegid(struct task *t, const struct sbx_syscall_args *a)
{
	return t->proc->gid;
}

static long ids_out(struct task *t, const struct sbx_syscall_args *a,
		    uint32_t id)
{
	for (int i = 0; i < 3; i++)
		if (mm_copy_out(&t->proc->mm, a->a[i], &id, sizeof(id)))
			return -EFAULT;
	return 0;
}

long sys_getresuid(struct task *t, const struct sbx_syscall_args *a)
{
	return ids_out(t, a, t->proc->uid);
}

long sys_getresgid(struct task *t, const struct sbx_syscall_args *a)
{
	return ids_out(t, a, t->proc->gid);
}

long sys_uname(struct task *t, const struct sbx_syscall_args *a)
{
	struct k_utsname u;

	memset(&u, 0, sizeof(u));
	strcpy(u.sysname, "Linux");
	strcpy(u.nodename, "sbx");
	strcpy(u.release, SBX_UTS_RELEASE);
	strcpy(u.version, SBX_UTS_VERSION);
	strcpy(u.machine, "x86_64");
	strcpy(u.domainname, "(none)");
	return mm_copy_out(&t->proc->mm, a->a[0], &u, sizeof(u));
}

long sys_arch_prctl(struct task *t, const struct sbx_syscall_args *a)
{
	uint64_t v;

	switch (a->a[0]) {
	case ARCH_SET_FS:
	case ARCH_SET_GS:
		if (a->a[1] >= K_TASK_SIZE)
			return -EPERM;
		if (a->a[0] == ARCH_SET_FS)
			t->regs.fs_base = a->a[1];
		else
			t->regs.gs_base = a->a[1];
		return 0;
	case ARCH_GET_FS:
	case ARCH_GET_GS:
		v = a->a[0] == ARCH_GET_FS ? t->regs.fs_base : t->regs.gs_base;
		return mm_copy_out(&t->proc->mm, a->a[1], &v, sizeof(v));
	case ARCH_GET_CPUID:
		return 1; /* cpuid is not faulting */
	case ARCH_SET_CPUID:
		return -ENODEV; /* as a host without CPUID faulting */
	default:
		return -EINVAL;
	}
}

long sys_set_tid_address(struct task *t, const struct sbx_syscall_args *a)
{
	t->clear_child_tid = a->a[0];
	return t->tid;
}

long sys_set_robust_list(struct task *t, const struct sbx_syscall_args *a)
{
	if (a->a[1] != 24) /* sizeof(struct robust_list_head) */
		return -EINVAL;
	t->robust_list = a->a[0];
	t->robust_len = a->a[1];
	return 0;
}

long sys_rseq(struct task *t, const struct sbx_syscall_args *a)
{
	return -ENOSYS; /* glibc then does without restartable sequences */
}

/* ---- resource limits ---- */

static long rlimit_set(struct task *t, unsigned res, const struct k_rlimit *n)
{
	struct process *p = t->proc;

	if (n->cur > n->max)
		return -EINVAL;
	if (res == RLIMIT_NOFILE) {
		if (n->max > (1u << 20))
			return -EPERM; /* above fs.nr_open */
		p->files->max = (int)n->cur; /* fds above stay open, as Linux */
	}
	if (res == RLIMIT_STACK)
		p->mm.stack_max = n->cur;
	p->rlim[res] = *n;
	return 0;
}

long sys_prlimit64(struct task *t, const struct sbx_syscall_args *a)
{
	unsigned res = (unsigned)a->a[1];
	struct k_rlimit old, n;
	long r;

	if ((int)a->a[0] != 0 && (int)a->a[0] != t->proc->pid)
		return (int)a->a[0] < 0 ? -EINVAL : -ESRCH;
	if (res >= N_RLIMITS)
		return -EINVAL;
	old = t->proc->rlim[res];
	if (a->a[2]) {
		if (mm_copy_in(&t->proc->mm, &n, a->a[2], sizeof(n)))
			return -EFAULT;
		r = rlimit_set(t, res, &n);
		if (r)
			return r;
	}
	if (a->a[3] && mm_copy_out(&t->proc->mm, a->a[3], &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

long sys_getrlimit(struct task *t, const struct sbx_syscall_args *a)
{
	if (a->a[0] >= N_RLIMITS)
		return -EINVAL;
	return mm_copy_out(&t->proc->mm, a->a[1], &t->proc->rlim[a->a[0]],
			   sizeof(struct k_rlimit));
}

long sys_setrlimit(struct task *t, const struct sbx_syscall_args *a)
{
	struct k_rlimit n;

	if (a->a[0] >= N_RLIMITS)
		return -EINVAL;
	if (mm_copy_in(&t->proc->mm, &n, a->a[1], sizeof(n)))
		return -EFAULT;
	return rlimit_set(t, (unsigned)a->a[0], &n);
}

/* ---- scheduling, randomness, system info ---- */

long sys_sched_getaffinity(struct task *t, const struct sbx_syscall_args *a)
{
	cpu_set_t set;
	size_t len = a->a[1] < sizeof(set) ? (size_t)a->a[1] : sizeof(set);
	long n;

	/*
	 * The host checks @len against its nr_cpu_ids (EINVAL first, as in
	 * Linux) and returns the bytes it filled.  Not get_nprocs_conf():
	 * that reads /sys, which the confined core may not open (SIGSYS).
	 */
	n = syscall(SYS_sched_getaffinity, 0, len, &set);
	if (n < 0)
		return -errno;
	if (a->a[1] & (sizeof(long) - 1))
		return -EINVAL;
	if ((int)a->a[0] != 0 && (int)a->a[0] != t->tid)
		return (int)a->a[0] < 0 ? -EINVAL : -ESRCH;
	/* the set at start-up, not the one a platform may have pinned us to */
	memcpy(&set, t->proc->k->cpus, sizeof(set) < sizeof(t->proc->k->cpus)
					       ? sizeof(set) : sizeof(t->proc->k->cpus));
	return mm_copy_out(&t->proc->mm, a->a[2], &set, (size_t)n) ?: n;
}

long sys_sched_yield(struct task *t, const struct sbx_syscall_args *a)
{
	sched_yield();
	return 0;
}

long sys_getrandom(struct task *t, const struct sbx_syscall_args *a)
{
	size_t len = a->a[1] > (1u << 20) ? (1u << 20) : a->a[1];
	unsigned flags = (unsigned)a->a[2];
	ssize_t n;
	void *b;

	if (flags & ~(unsigned)(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE))
		return -EINVAL;
	if ((flags & GRND_INSECURE) && (flags & GRND_RANDOM))
		return -EINVAL;
	b = malloc(len ? len : 1);
	if (!b)
		return -ENOMEM;
	n = getrandom(b, len, flags & ~GRND_RANDOM);
	if (n < 0)
		n = -errno;
	else if (mm_copy_out(&t->proc->mm, a->a[0], b, (size_t)n))
		n = -EFAULT;
	free(b);
	return n;
}

long sys_sysinfo(struct task *t, const struct sbx_syscall_args *a)
{
	struct sysinfo si;

	if (sysinfo(&si) < 0)
		return -errno;
	si.procs = 1;
	return mm_copy_out(&t->proc->mm, a->a[0], &si, sizeof(si));
}

/* ---- prctl ---- */

long sys_prctl(struct task *t, const struct sbx_syscall_args *a)
{
	struct process *p = t->proc;

	switch ((int)a->a[0]) {
	case PR_SET_NAME: {
		char name[16];
		int r = mm_copy_str(&p->mm, name, a->a[1], sizeof(name));

		if (r == -EFAULT)
			return r;
		name[sizeof(name) - 1] = '\0';
		pthread_mutex_lock(&p->k->lock); /* /proc reads it */
		memcpy(t->comm, name, sizeof(name));
		pthread_mutex_unlock(&p->k->lock);
		return 0;
	}
	case PR_GET_NAME:
		return mm_copy_out(&p->mm, a->a[1], t->comm, sizeof(t->comm));
	case PR_SET_PDEATHSIG:
		if (a->a[1] > K_NSIG)
			return -EINVAL;
		t->pdeathsig = (int)a->a[1];
		return 0;
	case PR_GET_PDEATHSIG:
		return mm_copy_out(&p->mm, a->a[1], &t->pdeathsig, sizeof(int));
	case PR_SET_NO_NEW_PRIVS:
		if (a->a[1] != 1 || a->a[2] || a->a[3] || a->a[4])
			return -EINVAL;
		p->no_new_privs = true;
		return 0;
	case PR_GET_NO_NEW_PRIVS:
		if (a->a[1] || a->a[2] || a->a[3] || a->a[4])
			return -EINVAL;
		return p->no_new_privs;
	case PR_GET_DUMPABLE:
		return p->dumpable;
	case PR_SET_DUMPABLE:
		if (a->a[1] > 1)
			return -EINVAL;
		p->dumpable = (int)a->a[1];
		return 0;
	case PR_GET_SECCOMP:
		return __atomic_load_n(&t->seccomp_mode, __ATOMIC_ACQUIRE);
	case PR_SET_SECCOMP:
		return kseccomp_prctl_set(t, a->a[1], a->a[2]);
	case PR_GET_KEEPCAPS:
	case PR_GET_CHILD_SUBREAPER:
		return 0;
	case PR_CAPBSET_READ:
		return a->a[1] <= 40 ? 1 : -EINVAL;
	case PR_SET_VMA:
	case PR_SET_MM:
		return -EINVAL;
	default:
		return -EINVAL;
	}
}

/* ---- credentials ----
 * One uid and one gid per process, as the config sets them.  Root in the
 * sandbox may become anyone (it is only a number the core reports and the
 * VFS checks); anyone else may only set what it already has.
 */

static long set_ids(struct task *t, const uint64_t *ids, int n, bool gid)
{
	struct process *p = t->proc;
	uint32_t *cur = gid ? &p->gid : &p->uid;
	uint32_t want = *cur;

	for (int i = 0; i < n; i++) {
		if ((int32_t)ids[i] == -1)
			continue;
		if (ids[i] > 0xfffffffeULL)
			return -EINVAL;
		if (p->uid != 0 && ids[i] != *cur)
			return -EPERM;
		want = (uint32_t)ids[i];
	}
	*cur = want;
	return 0;
}

long sys_setuid(struct task *t, const struct sbx_syscall_args *a)
{
	return set_ids(t, a->a, 1, false);
}

long sys_setgid(struct task *t, const struct sbx_syscall_args *a)
{
	return set_ids(t, a->a, 1, true);
}

long sys_setreuid(struct task *t, const struct sbx_syscall_args *a)
{
	return set_ids(t, a->a, 2, false);
}

long sys_setregid(struct task *t, const struct sbx_syscall_args *a)
{
	return set_ids(t, a->a, 2, true);
}

long sys_setresuid(struct task *t, const struct sbx_syscall_args *a)
{
	return set_ids(t, a->a, 3, false);
}

long sys_setresgid(struct task *t, const struct sbx_syscall_args *a)
{
	return set_ids(t, a->a, 3, true);
}

long sys_getgroups(struct task *t, const struct sbx_syscall_args *a)
{
	if ((int)a->a[0] < 0)
		return -EINVAL;
	return 0; /* no supplementary groups (setgroups does not keep any yet) */
}

long sys_setgroups(struct task *t, const struct sbx_syscall_args *a)
{
	if (a->a[0] > 65536)
		return -EINVAL;
	return t->proc->uid == 0 ? 0 : -EPERM; /* supplementary groups: not kept */
}

/* ---- scheduling knobs: accepted, with the host doing the scheduling ---- */

long sys_sched_setaffinity(struct task *t, const struct sbx_syscall_args *a)
{
	uint64_t mask = 0;

	if ((int)a->a[0] < 0)
		return -ESRCH;
	if (a->a[1] < sizeof(mask))
		return -EINVAL;
	if (mm_copy_in(&t->proc->mm, &mask, a->a[2], sizeof(mask)))
		return -EFAULT;
	return mask ? 0 : -EINVAL;
}

long sys_sched_getscheduler(struct task *t, const struct sbx_syscall_args *a)
{
	return (int)a->a[0] < 0 ? -EINVAL : 0; /* SCHED_OTHER */
}

long sys_sched_getparam(struct task *t, const struct sbx_syscall_args *a)
{
	int32_t prio = 0;

	if ((int)a->a[0] < 0)
		return -EINVAL;
	return mm_copy_out(&t->proc->mm, a->a[1], &prio, sizeof(prio));
}

long sys_sched_setscheduler(struct task *t, const struct sbx_syscall_args *a)
{
	int policy = (int)a->a[1] & ~0x40000000; /* SCHED_RESET_ON_FORK */
	int32_t prio;

	if ((int)a->a[0] < 0 || policy < 0 || policy > 6 || policy == 4)
		return -EINVAL;
	if (mm_copy_in(&t->proc->mm, &prio, a->a[2], sizeof(prio)))
		return -EFAULT;
	if (policy == 1 || policy == 2 || policy == 6)
		return -EPERM; /* real-time policies: not granted in a sandbox */
	return prio == 0 ? 0 : -EINVAL;
}

long sys_sched_get_priority_max(struct task *t, const struct sbx_syscall_args *a)
{
	int policy = (int)a->a[0];

	if (policy == 1 || policy == 2)
		return 99;
	return policy == 0 || policy == 3 || policy == 5 || policy == 6 ? 0 : -EINVAL;
}

long sys_sched_get_priority_min(struct task *t, const struct sbx_syscall_args *a)
{
	int policy = (int)a->a[0];

	if (policy == 1 || policy == 2)
		return 1;
	return policy == 0 || policy == 3 || policy == 5 || policy == 6 ? 0 : -EINVAL;
}

long sys_getpriority(struct task *t, const struct sbx_syscall_args *a)
{
	if ((int)a->a[0] < 0 || (int)a->a[0] > 2)
		return -EINVAL;
	return 20 - t->proc->nice; /* the syscall's 40..1 encoding of nice */
}

long sys_setpriority(struct task *t, const struct sbx_syscall_args *a)
{
	int nice = (int)a->a[2];

	if ((int)a->a[0] < 0 || (int)a->a[0] > 2)
		return -EINVAL;
	if (nice < -20)
		nice = -20;
	if (nice > 19)
		nice = 19;
	if (nice < t->proc->nice && t->proc->uid != 0)
		return -EACCES;
	t->proc->nice = nice;
	return 0;
}

long sys_mincore(struct task *t, const struct sbx_syscall_args *a)
{
	struct mm *mm = &t->proc->mm;
	uint64_t addr = a->a[0], len = PAGE_UP(a->a[1]), pages;
	uint8_t one[256];
	long r = 0;

	if (addr & (PAGE_SIZE - 1))
		return -EINVAL;
	if (addr + len < addr)
		return -ENOMEM;
	/* every mapped page counts as resident: the answer programs act on */
	for (uint64_t at = addr; at < addr + len; at += PAGE_SIZE) {
		pthread_mutex_lock(&mm->lock);
		bool mapped = mm_find_vma(mm, at) != NULL;
		pthread_mutex_unlock(&mm->lock);

		if (!mapped)
			return -ENOMEM;
	}
	memset(one, 1, sizeof(one));
	pages = len / PAGE_SIZE;
	for (uint64_t done = 0; done < pages && !r; done += sizeof(one)) {
		size_t n = pages - done < sizeof(one) ? pages - done : sizeof(one);

		r = mm_copy_out(mm, a->a[2] + done, one, n);
	}
	return r;
}

/* ---- personality, capabilities, I/O priority, CPU number ---- */

long sys_personality(struct task *t, const struct sbx_syscall_args *a)
{
	unsigned old = t->proc->personality, want = (unsigned)a->a[0];

	if (want != 0xffffffffu)
		t->proc->personality = want; /* recorded (ADDR_NO_RANDOMIZE...) */
	return old;
}

#define CAP_V1 0x19980330
#define CAP_V2 0x20071026
#define CAP_V3 0x20080522
#define CAP_ALL ((1ULL << 41) - 1) /* CAP_LAST_CAP 40 */

struct cap_header {
	uint32_t version;
	int32_t pid;
};

struct cap_data {
	uint32_t effective, permitted, inheritable;
};

static void caps_of(struct process *p, uint64_t c[3])
{
	if (p->caps_dropped) {
		c[0] = p->cap_eff, c[1] = p->cap_perm, c[2] = p->cap_inh;
		return;
	}
	c[0] = c[1] = p->uid == 0 ? CAP_ALL : 0; /* root holds them all */
	c[2] = 0;
}

/* cap_header_in - check the version (a wrong one is answered with ours,
 * as Linux) and find the target; *@words is 1 for v1, else 2. */
static long cap_header_in(struct task *t, uint64_t uh, uint64_t ud,
			  struct process **p, int *words)
{
	struct cap_header h;

	if (mm_copy_in(&t->proc->mm, &h, uh, sizeof(h)))
		return -EFAULT;
	if (h.version != CAP_V1 && h.version != CAP_V2 && h.version != CAP_V3) {
		h.version = CAP_V3;
		if (mm_copy_out(&t->proc->mm, uh, &h, sizeof(h)))
			return -EFAULT;
		return ud ? -EINVAL : 0;
	}
	if (h.pid < 0)
		return -EINVAL;
	*words = h.version == CAP_V1 ? 1 : 2;
	pthread_mutex_lock(&t->proc->k->lock);
	*p = h.pid == 0 || h.pid == t->proc->pid ? t->proc
						 : process_find(t->proc->k, h.pid);
	pthread_mutex_unlock(&t->proc->k->lock);
	return *p ? 1 : -ESRCH;
}

long sys_capget(struct task *t, const struct sbx_syscall_args *a)
{
	struct cap_data d[2] = { 0 };
	struct process *p;
	uint64_t c[3];
	int words;
	long r = cap_header_in(t, a->a[0], a->a[1], &p, &words);

	if (r <= 0)
		return r;
	if (!a->a[1])
		return 0;
	caps_of(p, c);
	for (int i = 0; i < words; i++) {
		d[i].effective = (uint32_t)(c[0] >> (32 * i));
		d[i].permitted = (uint32_t)(c[1] >> (32 * i));
		d[i].inheritable = (uint32_t)(c[2] >> (32 * i));
	}
	return mm_copy_out(&t->proc->mm, a->a[1], d, words * sizeof(d[0]));
}

long sys_capset(struct task *t, const struct sbx_syscall_args *a)
{
	struct cap_data d[2] = { 0 };
	struct process *p;
	uint64_t c[3], n[3] = { 0 };
	int words;
	long r = cap_header_in(t, a->a[0], a->a[1], &p, &words);

	if (r <= 0)
		return r;
	if (p != t->proc)
		return -EPERM;
	if (mm_copy_in(&t->proc->mm, d, a->a[1], words * sizeof(d[0])))
		return -EFAULT;
	for (int i = 0; i < words; i++) {
		n[0] |= (uint64_t)d[i].effective << (32 * i);
		n[1] |= (uint64_t)d[i].permitted << (32 * i);
		n[2] |= (uint64_t)d[i].inheritable << (32 * i);
	}
	caps_of(p, c);
	/* no new permitted caps; effective within permitted; inheritable
	 * only from permitted (no CAP_SETPCAP bounding games) */
	if ((n[1] & ~c[1]) || (n[0] & ~n[1]) || (n[2] & ~(c[2] | c[1])))
		return -EPERM;
	p->cap_eff = n[0], p->cap_perm = n[1], p->cap_inh = n[2];
	p->caps_dropped = true;
	return 0;
}

long sys_ioprio_get(struct task *t, const struct sbx_syscall_args *a)
{
	int which = (int)a->a[0];

	if (which < 1 || which > 3)
		return -EINVAL;
	return t->proc->ioprio; /* IOPRIO_CLASS_NONE (0) until set */
}

long sys_ioprio_set(struct task *t, const struct sbx_syscall_args *a)
{
	int which = (int)a->a[0], prio = (int)a->a[2];
	int class = prio >> 13, data = prio & 0x1fff;

	if (which < 1 || which > 3)
		return -EINVAL;
	if (class < 0 || class > 3 || (class != 0 && class != 3 && data > 7))
		return -EINVAL;
	if (class == 1 && t->proc->uid != 0)
		return -EPERM; /* realtime I/O class needs CAP_SYS_ADMIN */
	t->proc->ioprio = prio;
	return 0;
}

long sys_getcpu(struct task *t, const struct sbx_syscall_args *a)
{
	unsigned cpu = 0, node = 0;

	/* the host schedules the sandbox: report CPU 0 of node 0 */
	if (a->a[0] && mm_copy_out(&t->proc->mm, a->a[0], &cpu, sizeof(cpu)))
		return -EFAULT;
	if (a->a[1] && mm_copy_out(&t->proc->mm, a->a[1], &node, sizeof(node)))
		return -EFAULT;
	return 0;
}

long sys_sched_setparam(struct task *t, const struct sbx_syscall_args *a)
{
	int32_t prio;

	if ((int)a->a[0] < 0 || !a->a[1])
		return -EINVAL;
	if (mm_copy_in(&t->proc->mm, &prio, a->a[1], sizeof(prio)))
		return -EFAULT;
	return prio == 0 ? 0 : -EINVAL; /* SCHED_OTHER takes priority 0 */
}

long sys_sched_rr_get_interval(struct task *t, const struct sbx_syscall_args *a)
{
	struct k_timespec ts = { 0, 0 }; /* SCHED_OTHER: no round-robin slice */

	if ((int)a->a[0] < 0)
		return -EINVAL;
	return mm_copy_out(&t->proc->mm, a->a[1], &ts, sizeof(ts));
}

long sys_get_robust_list(struct task *t, const struct sbx_syscall_args *a)
{
	struct task *target = t;
	uint64_t head, len = 24;

	pthread_mutex_lock(&t->proc->k->lock);
	if ((int)a->a[0] != 0 && (int)a->a[0] != t->tid)
		target = task_find(t->proc->k, (int)a->a[0]);
	head = target ? target->robust_list : 0;
	pthread_mutex_unlock(&t->proc->k->lock);
	if (!target)
		return -ESRCH;
	if (mm_copy_out(&t->proc->mm, a->a[1], &head, sizeof(head)) ||
	    mm_copy_out(&t->proc->mm, a->a[2], &len, sizeof(len)))
		return -EFAULT;
	return 0;
}
