/*
 * /proc (see procfs.h): a provider whose every byte comes from the core's
 * own state: sandbox pids and tasks, their mm, fd tables and fs contexts,
 * the sandbox's mount table, the config's limits.  The host's /proc is
 * never read, and no host path, pid or fd is ever shown.
 *
 * Divided into: nodes and the entry tables' types; the generators (global
 * files, then per process); the tables (adding a file is one line); the
 * tree ops (lookup, getattr, getdents, readlink); magic links; open files.
 *
 * Nodes are small refcounted records (entry, pid, tid, fd) made on lookup;
 * nothing about a process is cached in them, so a node whose process or fd
 * is gone fails with ENOENT (and the VFS drops its cached dentry through
 * procfs_revalidate).  Inode numbers are a hash of the node's identity, so
 * a path keeps its inode for the sandbox's life.
 *
 * Content is generated at open into a buffer the open file owns: a read
 * sees one consistent snapshot, lseek and pread work on it, and stat
 * reports size 0 as Linux does.
 *
 * Locking.  Order: fs_context lock -> vfs_lock -> k->lock -> {mm->lock,
 * fd table lock}.  Tree ops may run under vfs_lock (walks) and take
 * k->lock briefly.  Generators run with k->lock held, which keeps the
 * process from being reaped and (p->released, set by task_exit under
 * k->lock) its mm, fd table and fs context from being freed, and the mm
 * from being swapped by execve.  Generators that need paths (vfs_lock,
 * fs->lock) are flagged PE_NOLOCK: they pin what they need (an fs context
 * or file reference) under k->lock, drop it, then format.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "../config/config.h"
#include "../kernel/fdtable.h"
#include "../kernel/kernel.h"
#include "../kernel/seccomp.h"
#include "../mm/mfile.h"
#include "procfs.h"
#include "vfs.h"

#define PROC_SUPER_MAGIC 0x9fa0
#define HZ 100 /* USER_HZ, as AT_CLKTCK says */
#define DYN_BASE 0x10000ULL /* getdents cookies of pids, tids, fds */
#define CMDLINE_MAX (128u << 10)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct kernel *kern;
static char boot_id[37];

/* ---- nodes and entries ---- */

struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

struct pnode;

/* What a generator sees: the caller, the node, and (unless PE_NOLOCK)
 * its process and task, resolved under k->lock. */
struct pctx {
	struct kernel *k;
	struct task *cur;
	const struct pnode *n;
	struct process *p;
	struct task *t;
};

#define PE_NOLOCK  (1u << 0) /* gen runs without k->lock (needs the VFS) */
#define PE_TGID    (1u << 1) /* in /proc/PID only, not in task/TID */
#define PE_PRIVATE (1u << 2) /* the owner or root only (environ, auxv) */

enum pdyn { DYN_NONE, DYN_PIDS, DYN_TASKS, DYN_FDS };
enum pmagic { MAGIC_NONE, MAGIC_CWD, MAGIC_ROOT, MAGIC_FD };

struct pent {
	const char *name;
	uint32_t mode;
	/* regular files: the content; links: the target's text */
	int (*gen)(struct pctx *c, struct sbuf *b);
	/* writable files (mode has a w bit): one write(2) */
	int (*write)(struct pctx *c, const char *buf, size_t len);
	const struct pent *sub; /* directories: the fixed children */
	size_t nsub;
	enum pdyn dyn;		/* and the numbered ones */
	const struct pent *child; /* what a numbered child is */
	enum pmagic magic;
	unsigned flags;
};

struct pnode {
	int refs; /* atomic */
	const struct pent *e;
	int pid, tid, fd; /* 0, 0, -1 when not in a process's directory */
	bool task;	  /* under /proc/PID/task/TID */
	uint32_t mode;	  /* e->mode, or an fd target's file type */
	uint64_t ino;
};

static const struct pent ent_root, ent_fdref;

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

static struct pnode *pnode_new(const struct pent *e, int pid, int tid, int fd,
			       bool task)
{
	struct pnode *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->refs = 1;
	n->e = e;
	n->pid = pid;
	n->tid = tid;
	n->fd = fd;
	n->task = task;
	n->mode = e->mode;
	/* stable per path: the identity, hashed (1 is the root's) */
	n->ino = e == &ent_root ? 1
		 : (mix((uintptr_t)e ^ mix(((uint64_t)(uint32_t)pid << 32) |
					   (uint32_t)tid) ^
			mix(((uint64_t)(uint32_t)fd << 1) | task)) &
		    0xffffffffffffULL) | 2;
	return n;
}

/* ---- buffers ---- */

static void bput(struct sbuf *b, const void *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *ns;

		while (cap < b->len + n + 1)
			cap *= 2;
		ns = realloc(b->s, cap);
		if (!ns) {
			b->oom = true;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
}

__attribute__((format(printf, 2, 3)))
static void bprintf(struct sbuf *b, const char *fmt, ...)
{
	char small[512], *big = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		bput(b, small, (size_t)n);
		return;
	}
	va_start(ap, fmt);
	n = vasprintf(&big, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	bput(b, big, (size_t)n);
	free(big);
}

/* ---- looking things up (k->lock held) ---- */

static int resolve(struct kernel *k, const struct pnode *n, struct process **pp,
		   struct task **tp)
{
	struct process *p;
	struct task *t;

	*pp = NULL;
	*tp = NULL;
	if (!n->pid)
		return 0;
	if (!k)
		return -ENOENT;
	p = process_find(k, n->pid);
	if (!p)
		return -ENOENT;
	if (n->tid) {
		for (t = p->threads; t && t->tid != n->tid; t = t->next_thread)
			;
		if (!t)
			return -ENOENT;
	} else {
		t = p->task;
	}
	*pp = p;
	*tp = t;
	return 0;
}

/* file_at - @p's open file at @fd, referenced, and its close-on-exec flag
 * (k->lock held; takes the fd table's). */
static struct file *file_at(struct process *p, int fd, bool *cloexec)
{
	struct fdtable *ft = p->released ? NULL : p->files;
	struct file *f = NULL;

	if (!ft || fd < 0)
		return NULL;
	pthread_mutex_lock(&ft->lock);
	if (fd < ft->size && ft->fds[fd].file) {
		f = ft->fds[fd].file;
		file_get(f);
		if (cloexec)
			*cloexec = ft->fds[fd].cloexec;
	}
	pthread_mutex_unlock(&ft->lock);
	return f;
}

/* fd_open - @fd is open in @p; *@acc gets its access mode (k->lock held;
 * takes no file reference: file_put may need the VFS lock, which a caller
 * under vfs_lock holds) */
static bool fd_open(struct process *p, int fd, int *acc)
{
	struct fdtable *ft = p->released ? NULL : p->files;
	bool r = false;

	if (!ft || fd < 0)
		return false;
	pthread_mutex_lock(&ft->lock);
	if (fd < ft->size && ft->fds[fd].file) {
		r = true;
		if (acc)
			*acc = ft->fds[fd].file->flags & O_ACCMODE;
	}
	pthread_mutex_unlock(&ft->lock);
	return r;
}

static uint32_t caller_uid(void)
{
	return current_task ? current_task->proc->uid : 0;
}

/* may_see - ptrace-like access to @p's private parts (k->lock held). */
static bool may_see(const struct process *p)
{
	uint32_t uid = caller_uid();

	return uid == 0 || uid == p->uid;
}

/* pin_file - the open file a node's fd refers to, referenced. */
static int pin_file(const struct pnode *n, struct file **out, bool *cloexec)
{
	struct process *p;
	struct task *t;
	int r;

	if (!kern)
		return -ENOENT;
	pthread_mutex_lock(&kern->lock);
	r = resolve(kern, n, &p, &t);
	if (!r && !may_see(p))
		r = -EACCES;
	if (!r) {
		*out = file_at(p, n->fd, cloexec);
		if (!*out)
			r = -ENOENT;
	}
	pthread_mutex_unlock(&kern->lock);
	return r;
}

/* pin_fs - the fs context of the node's process, referenced. */
static int pin_fs(const struct pnode *n, bool check, struct fs_context **out)
{
	struct process *p;
	struct task *t;
	int r;

	if (!kern)
		return -ENOENT;
	pthread_mutex_lock(&kern->lock);
	r = resolve(kern, n, &p, &t);
	if (!r && check && !may_see(p))
		r = -EACCES;
	if (!r && (p->released || !p->fs))
		r = -ENOENT;
	if (!r) {
		fs_context_get(p->fs);
		*out = p->fs;
	}
	pthread_mutex_unlock(&kern->lock);
	return r;
}

/* reader_fs - the caller's fs context (paths are shown from its root),
 * else the node's process's. */
static int reader_fs(const struct pnode *n, struct fs_context **out)
{
	if (current_task && current_task->proc->fs) {
		fs_context_get(current_task->proc->fs);
		*out = current_task->proc->fs;
		return 0;
	}
	return pin_fs(n, false, out);
}

/* fs_path - @fs's cwd or root, referenced. */
static void fs_path(struct fs_context *fs, enum pmagic m, struct vfs_path *out)
{
	pthread_mutex_lock(&fs->lock);
	*out = m == MAGIC_ROOT ? fs->root : fs->cwd;
	vfs_path_get(out);
	pthread_mutex_unlock(&fs->lock);
}

/* ---- global files ---- */

static int gen_version(struct pctx *c, struct sbuf *b)
{
	bprintf(b, "Linux version %s (sbx@sbx) (gcc) %s\n", SBX_UTS_RELEASE,
		SBX_UTS_VERSION);
	return 0;
}

static int gen_filesystems(struct pctx *c, struct sbuf *b)
{
	static const char *const fs[] = { "sysfs", "tmpfs", "proc", "gofer" };

	for (size_t i = 0; i < ARRAY_SIZE(fs); i++)
		bprintf(b, "nodev\t%s\n", fs[i]);
	return 0;
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int ncpus(void)
{
	int n = 0;

	if (!kern)
		return 1;
	for (size_t i = 0; i < ARRAY_SIZE(kern->cpus); i++)
		n += __builtin_popcountll(kern->cpus[i]);
	return n ? n : 1;
}

/* uptime_ticks - the sandbox's uptime in USER_HZ ticks */
static uint64_t uptime_ticks(void)
{
	int64_t ns = kern ? mono_ns() - kern->boot_ns : 0;

	return ns > 0 ? (uint64_t)ns / (1000000000 / HZ) : 0;
}

static int gen_uptime(struct pctx *c, struct sbuf *b)
{
	uint64_t t = uptime_ticks(), idle = t * (uint64_t)ncpus();

	bprintf(b, "%llu.%02llu %llu.%02llu\n", (unsigned long long)(t / HZ),
		(unsigned long long)(t % HZ), (unsigned long long)(idle / HZ),
		(unsigned long long)(idle % HZ));
	return 0;
}

static int gen_loadavg(struct pctx *c, struct sbuf *b)
{
	int tasks = 0, last = 0;

	if (c->k) {
		pthread_mutex_lock(&c->k->lock);
		tasks = c->k->ntasks;
		last = c->k->next_pid - 1;
		pthread_mutex_unlock(&c->k->lock);
	}
	bprintf(b, "0.00 0.00 0.00 1/%d %d\n", tasks > 0 ? tasks : 1, last);
	return 0;
}

static int gen_stat(struct pctx *c, struct sbuf *b)
{
	uint64_t idle = uptime_ticks();
	int n = ncpus(), procs = 0, running = 1;

	if (c->k) {
		pthread_mutex_lock(&c->k->lock);
		procs = c->k->next_pid - 1;
		pthread_mutex_unlock(&c->k->lock);
	}
	bprintf(b, "cpu  0 0 0 %llu 0 0 0 0 0 0\n",
		(unsigned long long)(idle * (uint64_t)n));
	for (int i = 0; i < n; i++)
		bprintf(b, "cpu%d 0 0 0 %llu 0 0 0 0 0 0\n", i,
			(unsigned long long)idle);
	bprintf(b, "intr 0\nctxt 0\nbtime %lld\nprocesses %d\n"
		"procs_running %d\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n",
		c->k ? (long long)(c->k->boot_real_ns / 1000000000LL) : 0LL,
		procs, running);
	return 0;
}

/* committed_kb - memory the sandbox's processes hold (k->lock held) */
static uint64_t committed_kb(struct kernel *k)
{
	uint64_t sum = 0;

	for (struct process *p = k->procs; p; p = p->next) {
		if (p->released)
			continue;
		pthread_mutex_lock(&p->mm.lock);
		sum += p->mm.committed;
		pthread_mutex_unlock(&p->mm.lock);
	}
	return sum >> 10;
}

static int gen_meminfo(struct pctx *c, struct sbuf *b)
{
	uint64_t total = 0, used = 0, free_kb;
	struct sysinfo si;

	if (c->k && c->k->cfg && c->k->cfg->limits.memory)
		total = c->k->cfg->limits.memory >> 10;
	else if (sysinfo(&si) == 0)
		total = (uint64_t)si.totalram * si.mem_unit >> 10;
	if (c->k) {
		pthread_mutex_lock(&c->k->lock);
		used = committed_kb(c->k);
		pthread_mutex_unlock(&c->k->lock);
	}
	free_kb = used < total ? total - used : 0;
	{
		const struct { const char *name; uint64_t v; } rows[] = {
			{ "MemTotal", total }, { "MemFree", free_kb },
			{ "MemAvailable", free_kb }, { "Buffers", 0 },
			{ "Cached", 0 }, { "SwapCached", 0 }, { "Active", used },
			{ "Inactive", 0 }, { "Active(anon)", used },
			{ "Inactive(anon)", 0 }, { "Active(file)", 0 },
			{ "Inactive(file)", 0 }, { "Unevictable", 0 },
			{ "Mlocked", 0 }, { "SwapTotal", 0 }, { "SwapFree", 0 },
			{ "Dirty", 0 }, { "Writeback", 0 }, { "AnonPages", used },
			{ "Mapped", 0 }, { "Shmem", 0 }, { "KReclaimable", 0 },
			{ "Slab", 0 }, { "SReclaimable", 0 }, { "SUnreclaim", 0 },
			{ "KernelStack", 0 }, { "PageTables", 0 },
			{ "NFS_Unstable", 0 }, { "Bounce", 0 },
			{ "WritebackTmp", 0 }, { "CommitLimit", total },
			{ "Committed_AS", used },
			{ "VmallocTotal", 34359738367ULL }, { "VmallocUsed", 0 },
			{ "VmallocChunk", 0 }, { "Percpu", 0 },
			{ "AnonHugePages", 0 }, { "ShmemHugePages", 0 },
			{ "ShmemPmdMapped", 0 }, { "FileHugePages", 0 },
			{ "FilePmdMapped", 0 },
		};

		for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
			char name[32];

			snprintf(name, sizeof(name), "%s:", rows[i].name);
			bprintf(b, "%-16s%8llu kB\n", name,
				(unsigned long long)rows[i].v);
		}
	}
	bprintf(b, "HugePages_Total:       0\nHugePages_Free:        0\n"
		"HugePages_Rsvd:        0\nHugePages_Surp:        0\n"
		"Hugepagesize:       2048 kB\nHugetlb:               0 kB\n");
	return 0;
}

/* The CPU as cpuid describes it (the host's CPU runs the sandbox). */
struct cpuflag {
	unsigned leaf, reg, bit; /* reg: 0 eax 1 ebx 2 ecx 3 edx */
	const char *name;
};

static const struct cpuflag cpuflags[] = {
	{ 1, 3, 0, "fpu" }, { 1, 3, 1, "vme" }, { 1, 3, 2, "de" },
	{ 1, 3, 3, "pse" }, { 1, 3, 4, "tsc" }, { 1, 3, 5, "msr" },
	{ 1, 3, 6, "pae" }, { 1, 3, 7, "mce" }, { 1, 3, 8, "cx8" },
	{ 1, 3, 9, "apic" }, { 1, 3, 11, "sep" }, { 1, 3, 12, "mtrr" },
	{ 1, 3, 13, "pge" }, { 1, 3, 14, "mca" }, { 1, 3, 15, "cmov" },
	{ 1, 3, 16, "pat" }, { 1, 3, 17, "pse36" }, { 1, 3, 19, "clflush" },
	{ 1, 3, 23, "mmx" }, { 1, 3, 24, "fxsr" }, { 1, 3, 25, "sse" },
	{ 1, 3, 26, "sse2" }, { 1, 3, 27, "ss" }, { 1, 3, 28, "ht" },
	{ 0x80000001, 3, 11, "syscall" }, { 0x80000001, 3, 20, "nx" },
	{ 0x80000001, 3, 26, "pdpe1gb" }, { 0x80000001, 3, 27, "rdtscp" },
	{ 0x80000001, 3, 29, "lm" },
	{ 1, 2, 0, "pni" }, { 1, 2, 1, "pclmulqdq" }, { 1, 2, 9, "ssse3" },
	{ 1, 2, 12, "fma" }, { 1, 2, 13, "cx16" }, { 1, 2, 19, "sse4_1" },
	{ 1, 2, 20, "sse4_2" }, { 1, 2, 21, "x2apic" }, { 1, 2, 22, "movbe" },
	{ 1, 2, 23, "popcnt" }, { 1, 2, 25, "aes" }, { 1, 2, 26, "xsave" },
	{ 1, 2, 28, "avx" }, { 1, 2, 29, "f16c" }, { 1, 2, 30, "rdrand" },
	{ 1, 2, 31, "hypervisor" },
	{ 0x80000001, 2, 0, "lahf_lm" }, { 0x80000001, 2, 5, "abm" },
	{ 0x80000001, 2, 8, "3dnowprefetch" },
	{ 7, 1, 0, "fsgsbase" }, { 7, 1, 3, "bmi1" }, { 7, 1, 4, "hle" },
	{ 7, 1, 5, "avx2" }, { 7, 1, 7, "smep" }, { 7, 1, 8, "bmi2" },
	{ 7, 1, 9, "erms" }, { 7, 1, 10, "invpcid" }, { 7, 1, 11, "rtm" },
	{ 7, 1, 16, "avx512f" }, { 7, 1, 17, "avx512dq" },
	{ 7, 1, 18, "rdseed" }, { 7, 1, 19, "adx" }, { 7, 1, 20, "smap" },
	{ 7, 1, 21, "avx512ifma" }, { 7, 1, 23, "clflushopt" },
	{ 7, 1, 24, "clwb" }, { 7, 1, 28, "avx512cd" }, { 7, 1, 29, "sha_ni" },
	{ 7, 1, 30, "avx512bw" }, { 7, 1, 31, "avx512vl" },
	{ 7, 2, 1, "avx512vbmi" }, { 7, 2, 2, "umip" }, { 7, 2, 3, "pku" },
	{ 7, 2, 6, "avx512_vbmi2" }, { 7, 2, 8, "gfni" }, { 7, 2, 9, "vaes" },
	{ 7, 2, 10, "vpclmulqdq" }, { 7, 2, 11, "avx512_vnni" },
	{ 7, 2, 12, "avx512_bitalg" }, { 7, 2, 14, "avx512_vpopcntdq" },
	{ 7, 2, 22, "rdpid" }, { 7, 3, 4, "fsrm" }, { 7, 3, 10, "md_clear" },
};

static void cpuid_regs(unsigned leaf, unsigned sub, unsigned r[4])
{
	r[0] = r[1] = r[2] = r[3] = 0;
	__cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
}

static int gen_cpuinfo(struct pctx *c, struct sbuf *b)
{
	unsigned r[4], maxl, maxe, l1[4], l7[4] = { 0 }, e1[4] = { 0 };
	char vendor[13] = { 0 }, brand[49] = { 0 }, flags[1024] = "";
	unsigned fam, model, step, mhz = 0, cache_kb = 0, phys = 46, virt = 48;
	int n = ncpus(), cpu = 0;

	cpuid_regs(0, 0, r);
	maxl = r[0];
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	cpuid_regs(1, 0, l1);
	if (maxl >= 7)
		cpuid_regs(7, 0, l7);
	if (maxl >= 0x16) {
		cpuid_regs(0x16, 0, r);
		mhz = r[0];
	}
	cpuid_regs(0x80000000, 0, r);
	maxe = r[0];
	if (maxe >= 0x80000001)
		cpuid_regs(0x80000001, 0, e1);
	if (maxe >= 0x80000004)
		for (unsigned i = 0; i < 3; i++) {
			cpuid_regs(0x80000002 + i, 0, r);
			memcpy(brand + 16 * i, r, 16);
		}
	if (maxe >= 0x80000006) {
		cpuid_regs(0x80000006, 0, r);
		cache_kb = r[2] >> 16;
	}
	if (maxe >= 0x80000008) {
		cpuid_regs(0x80000008, 0, r);
		phys = r[0] & 0xff;
		virt = (r[0] >> 8) & 0xff;
	}
	fam = (l1[0] >> 8) & 0xf;
	model = (l1[0] >> 4) & 0xf;
	step = l1[0] & 0xf;
	if (fam == 6 || fam == 15)
		model |= ((l1[0] >> 16) & 0xf) << 4;
	if (fam == 15)
		fam += (l1[0] >> 20) & 0xff;
	for (size_t i = 0; i < ARRAY_SIZE(cpuflags); i++) {
		const struct cpuflag *f = &cpuflags[i];
		const unsigned *regs = f->leaf == 1 ? l1 : f->leaf == 7 ? l7 : e1;

		if (regs[f->reg] & (1u << f->bit)) {
			if (flags[0])
				strcat(flags, " ");
			strcat(flags, f->name);
		}
	}
	{
		char *s = brand;

		while (*s == ' ')
			s++;
		memmove(brand, s, strlen(s) + 1);
	}
	for (size_t i = 0; c->k && i < ARRAY_SIZE(c->k->cpus) * 64; i++) {
		if (!(c->k->cpus[i / 64] & (1ULL << (i % 64))))
			continue;
		bprintf(b, "processor\t: %zu\nvendor_id\t: %s\ncpu family\t: %u\n"
			"model\t\t: %u\nmodel name\t: %s\nstepping\t: %u\n"
			"cpu MHz\t\t: %u.000\ncache size\t: %u KB\n"
			"physical id\t: 0\nsiblings\t: %d\ncore id\t\t: %d\n"
			"cpu cores\t: %d\napicid\t\t: %d\ninitial apicid\t: %d\n"
			"fpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: %u\n"
			"wp\t\t: yes\nflags\t\t: %s\nbugs\t\t:\nbogomips\t: %u.00\n"
			"clflush size\t: 64\ncache_alignment\t: 64\n"
			"address sizes\t: %u bits physical, %u bits virtual\n"
			"power management:\n\n", i, vendor, fam, model, brand,
			step, mhz, cache_kb, n, cpu, n, cpu, cpu, maxl, flags,
			mhz * 2, phys, virt);
		cpu++;
	}
	return 0;
}

static int gen_text(struct sbuf *b, const char *s)
{
	bprintf(b, "%s\n", s);
	return 0;
}

static int gen_hostname(struct pctx *c, struct sbuf *b) { return gen_text(b, "sbx"); }
static int gen_osrelease(struct pctx *c, struct sbuf *b) { return gen_text(b, SBX_UTS_RELEASE); }
static int gen_ostype(struct pctx *c, struct sbuf *b) { return gen_text(b, "Linux"); }
static int gen_kversion(struct pctx *c, struct sbuf *b) { return gen_text(b, SBX_UTS_VERSION); }
static int gen_ngroups_max(struct pctx *c, struct sbuf *b) { return gen_text(b, "65536"); }
static int gen_pid_max(struct pctx *c, struct sbuf *b) { return gen_text(b, "4194304"); }
static int gen_cap_last_cap(struct pctx *c, struct sbuf *b) { return gen_text(b, "40"); }
static int gen_zero(struct pctx *c, struct sbuf *b) { return gen_text(b, "0"); }
static int gen_file_max(struct pctx *c, struct sbuf *b) { return gen_text(b, "9223372036854775807"); }
static int gen_nr_open(struct pctx *c, struct sbuf *b) { return gen_text(b, "1048576"); }
static int gen_boot_id(struct pctx *c, struct sbuf *b) { return gen_text(b, boot_id); }

static void make_uuid(char out[37])
{
	unsigned char u[16];

	if (getrandom(u, sizeof(u), 0) != sizeof(u))
		memset(u, 0x5a, sizeof(u));
	u[6] = (u[6] & 0x0f) | 0x40; /* version 4 */
	u[8] = (u[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5],
		 u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static int gen_uuid(struct pctx *c, struct sbuf *b)
{
	char u[37];

	make_uuid(u);
	return gen_text(b, u);
}

/* ---- links ---- */

static int gen_self(struct pctx *c, struct sbuf *b)
{
	if (!c->cur)
		return -ENOENT;
	bprintf(b, "%d", c->cur->proc->pid);
	return 0;
}

static int gen_thread_self(struct pctx *c, struct sbuf *b)
{
	if (!c->cur)
		return -ENOENT;
	bprintf(b, "%d/task/%d", c->cur->proc->pid, c->cur->tid);
	return 0;
}

static int gen_mounts_link(struct pctx *c, struct sbuf *b)
{
	bprintf(b, "self/mounts");
	return 0;
}

static int gen_exe(struct pctx *c, struct sbuf *b)
{
	if (c->p->released || !c->p->exe)
		return -ENOENT;
	if (!may_see(c->p))
		return -EACCES;
	bprintf(b, "%s", c->p->exe);
	return 0;
}

/* put_path - a path as /proc links show it: " (deleted)" when unlinked */
static int put_path(struct sbuf *b, struct fs_context *fs,
		    const struct vfs_path *p)
{
	char *buf = malloc(PATH_MAX);
	bool deleted = false;
	int r;

	if (!buf)
		return -ENOMEM;
	r = vfs_d_path(fs, p, buf, PATH_MAX, &deleted);
	if (r >= 0) {
		bprintf(b, "%s%s", buf, deleted ? " (deleted)" : "");
		r = 0;
	}
	free(buf);
	return r;
}

/* gen_fs_link - readlink of cwd and root (PE_NOLOCK) */
static int gen_fs_link(struct pctx *c, struct sbuf *b)
{
	struct fs_context *fs, *rfs;
	struct vfs_path p;
	int r = pin_fs(c->n, true, &fs);

	if (r)
		return r;
	fs_path(fs, c->n->e->magic, &p);
	fs_context_put(fs);
	r = reader_fs(c->n, &rfs);
	if (!r) {
		r = put_path(b, rfs, &p);
		fs_context_put(rfs);
	}
	vfs_path_put(&p);
	return r;
}

/* dev_name - a character device without a sandbox path (inherited stdio) */
static const char *dev_name(uint64_t rdev, char *buf, size_t len)
{
	static const char *const mem[] = { [3] = "null", [5] = "zero",
		[7] = "full", [8] = "random", [9] = "urandom" };
	unsigned ma = major(rdev), mi = minor(rdev);

	if (ma == 1 && mi < ARRAY_SIZE(mem) && mem[mi])
		snprintf(buf, len, "/dev/%s", mem[mi]);
	else if (ma >= 136 && ma <= 143)
		snprintf(buf, len, "/dev/pts/%u", (ma - 136) * 256 + mi);
	else if (ma == 5 && mi == 0)
		snprintf(buf, len, "/dev/tty");
	else
		snprintf(buf, len, "anon_inode:[%u:%u]", ma, mi);
	return buf;
}

/* file_text - what /proc/PID/fd/N reads as for @f */
static int file_text(const struct pnode *n, struct file *f, struct sbuf *b)
{
	struct k_stat st;
	char name[64];
	int r;

	if (f->path.d) {
		struct fs_context *fs;

		r = reader_fs(n, &fs);
		if (r)
			return r;
		r = put_path(b, fs, &f->path);
		fs_context_put(fs);
		return r;
	}
	if (f->ops->anon_name) {
		bprintf(b, "anon_inode:%s", f->ops->anon_name);
		return 0;
	}
	if (!f->ops->stat || f->ops->stat(f, &st)) {
		bprintf(b, "anon_inode:[unknown]");
		return 0;
	}
	switch (st.st_mode & S_IFMT) {
	case S_IFIFO:
		bprintf(b, "pipe:[%llu]", (unsigned long long)st.st_ino);
		break;
	case S_IFSOCK:
		bprintf(b, "socket:[%llu]", (unsigned long long)st.st_ino);
		break;
	case S_IFCHR:
		bprintf(b, "%s", dev_name(st.st_rdev, name, sizeof(name)));
		break;
	default:
		/* a host file with no sandbox path: never show where it is */
		bprintf(b, "anon_inode:[file]");
	}
	return 0;
}

static int gen_fd_link(struct pctx *c, struct sbuf *b)
{
	struct file *f;
	int r = pin_file(c->n, &f, NULL);

	if (r)
		return r;
	r = file_text(c->n, f, b);
	file_put(f);
	return r;
}

static int gen_fdinfo(struct pctx *c, struct sbuf *b)
{
	bool cloexec = false;
	struct k_stat st = { 0 };
	struct file *f;
	int64_t pos;
	int r = pin_file(c->n, &f, &cloexec);

	if (r)
		return r;
	if (f->host_fd >= 0) {
		pos = lseek(f->host_fd, 0, SEEK_CUR);
		if (pos < 0)
			pos = 0;
	} else {
		pthread_mutex_lock(&f->pos_lock);
		pos = f->pos;
		pthread_mutex_unlock(&f->pos_lock);
	}
	if (f->ops->stat)
		f->ops->stat(f, &st);
	/* open(2) on x86-64 always adds O_LARGEFILE (0100000; glibc's is 0) */
	bprintf(b, "pos:\t%lld\nflags:\t0%o\nmnt_id:\t%d\nino:\t%llu\n",
		(long long)pos, (unsigned)f->flags | (cloexec ? O_CLOEXEC : 0) |
		(f->path.d ? 0100000 : 0),
		f->path.mnt ? vfs_mount_id(&f->path) : 15,
		(unsigned long long)st.st_ino);
	file_put(f);
	return 0;
}

/* ---- per process (k->lock held unless PE_NOLOCK) ---- */

/* vm - the numbers of an address space (mm->lock held) */
struct vm {
	uint64_t size, rss, data, stack, exe;
};

static void vm_numbers(const struct mm *mm, struct vm *v)
{
	memset(v, 0, sizeof(*v));
	for (size_t i = 0; i < mm->n; i++) {
		const struct vma *a = &mm->v[i];
		uint64_t len = a->end - a->start;

		v->size += len;
		if (a->prot != PROT_NONE && !(a->flags & VMA_SPECIAL))
			v->rss += len;
		if (a->flags & VMA_GROWSDOWN)
			v->stack += len;
		else if ((a->prot & PROT_WRITE) && !(a->flags & VMA_SHARED))
			v->data += len;
	}
	v->exe = mm->end_code > mm->start_code ? mm->end_code - mm->start_code : 0;
}

static bool mm_ok(const struct process *p)
{
	return !p->released && p->state == PROC_LIVE;
}

static char state_char(struct pctx *c, const char **name)
{
	if (c->p->state == PROC_ZOMBIE) {
		*name = "zombie";
		return 'Z';
	}
	if (c->p->stop_sig) {
		*name = "stopped";
		return 'T';
	}
	if (c->cur && c->t == c->cur) {
		*name = "running";
		return 'R';
	}
	*name = "sleeping";
	return 'S';
}

static uint64_t sigset_of(const struct process *p, bool ign)
{
	uint64_t s = 0;

	for (int i = 0; i < K_NSIG; i++) {
		uint64_t h = p->sigact[i].handler;

		if (ign ? h == 1 : h > 1)
			s |= 1ULL << i;
	}
	return s;
}

static int gen_pid_stat(struct pctx *c, struct sbuf *b)
{
	struct process *p = c->p;
	struct task *t = c->t;
	struct vm v = { 0 };
	struct mm m = { 0 };
	struct cputime cpu;
	const char *sname;
	char st = state_char(c, &sname);
	uint64_t start = p->start_ns > c->k->boot_ns
			 ? (uint64_t)(p->start_ns - c->k->boot_ns) / (1000000000 / HZ) : 0;

	if (mm_ok(p)) {
		pthread_mutex_lock(&p->mm.lock);
		vm_numbers(&p->mm, &v);
		m.start_code = p->mm.start_code;
		m.end_code = p->mm.end_code;
		m.start_stack = p->mm.start_stack;
		m.brk_start = p->mm.brk_start;
		m.arg_start = p->mm.arg_start;
		m.arg_end = p->mm.arg_end;
		m.env_start = p->mm.env_start;
		m.env_end = p->mm.env_end;
		pthread_mutex_unlock(&p->mm.lock);
	}
	if (p->state == PROC_ZOMBIE)
		cpu = p->cpu_done;
	else if (c->n->tid && t && p->nthreads > 1)
		task_cputime(t, &cpu); /* a thread of several: its own */
	else
		process_cputime(p, &cpu);
	bprintf(b, "%d (%s) %c %d %d %d 0 -1 4194560 0 0 0 0 %llu %llu %llu %llu "
		"%d %d %d 0 "
		"%llu %llu %llu %llu %llu %llu %llu 0 0 %llu %llu %llu %llu 0 0 0 "
		"%d 0 0 0 0 0 0 %llu %llu %llu %llu %llu %llu %llu %d\n",
		c->n->tid ? t->tid : p->pid, t ? t->comm : "", st, p->ppid,
		p->pgid, p->sid,
		(unsigned long long)(cpu.user / (1000000000 / HZ)),
		(unsigned long long)(cpu.sys / (1000000000 / HZ)),
		(unsigned long long)(p->cpu_children.user / (1000000000 / HZ)),
		(unsigned long long)(p->cpu_children.sys / (1000000000 / HZ)),
		20 + p->nice, p->nice,
		p->nthreads > 0 ? p->nthreads : 1, (unsigned long long)start,
		(unsigned long long)v.size, (unsigned long long)(v.rss / 4096),
		(unsigned long long)p->rlim[RLIMIT_RSS].cur,
		(unsigned long long)m.start_code, (unsigned long long)m.end_code,
		(unsigned long long)m.start_stack,
		(unsigned long long)(t ? t->pending : 0),
		(unsigned long long)(t ? t->sigmask : 0),
		(unsigned long long)sigset_of(p, true),
		(unsigned long long)sigset_of(p, false),
		p->exit_signal,
		(unsigned long long)m.end_code, (unsigned long long)m.end_code,
		(unsigned long long)m.brk_start, (unsigned long long)m.arg_start,
		(unsigned long long)m.arg_end, (unsigned long long)m.env_start,
		(unsigned long long)m.env_end,
		p->state == PROC_ZOMBIE ? p->exit_status : 0);
	return 0;
}

static int gen_statm(struct pctx *c, struct sbuf *b)
{
	struct vm v = { 0 };

	if (mm_ok(c->p)) {
		pthread_mutex_lock(&c->p->mm.lock);
		vm_numbers(&c->p->mm, &v);
		pthread_mutex_unlock(&c->p->mm.lock);
	}
	bprintf(b, "%llu %llu 0 %llu 0 %llu 0\n",
		(unsigned long long)(v.size / 4096), (unsigned long long)(v.rss / 4096),
		(unsigned long long)(v.exe / 4096),
		(unsigned long long)((v.data + v.stack) / 4096));
	return 0;
}

static void cpu_list(struct kernel *k, struct sbuf *b)
{
	size_t nbits = ARRAY_SIZE(k->cpus) * 64;
	bool first = true;

	for (size_t i = 0; i < nbits; i++) {
		size_t j = i;

		if (!(k->cpus[i / 64] & (1ULL << (i % 64))))
			continue;
		while (j + 1 < nbits && (k->cpus[(j + 1) / 64] & (1ULL << ((j + 1) % 64))))
			j++;
		if (j > i)
			bprintf(b, "%s%zu-%zu", first ? "" : ",", i, j);
		else
			bprintf(b, "%s%zu", first ? "" : ",", i);
		first = false;
		i = j;
	}
}

static void cpu_mask(struct kernel *k, struct sbuf *b)
{
	int top = 0;

	for (int i = (int)ARRAY_SIZE(k->cpus) * 2 - 1; i > 0 && !top; i--)
		if ((uint32_t)(k->cpus[i / 2] >> (32 * (i % 2))))
			top = i;
	for (int i = top; i >= 0; i--)
		bprintf(b, i == top ? "%x" : ",%08x",
			(uint32_t)(k->cpus[i / 2] >> (32 * (i % 2))));
}

static int gen_status(struct pctx *c, struct sbuf *b)
{
	struct process *p = c->p;
	struct task *t = c->t;
	const char *sname;
	char st = state_char(c, &sname);
	uint64_t caps = p->uid == 0 ? 0x1ffffffffffULL : 0;
	int fdsize = 0;

	if (!p->released && p->files) {
		pthread_mutex_lock(&p->files->lock);
		fdsize = p->files->size;
		pthread_mutex_unlock(&p->files->lock);
	}
	bprintf(b, "Name:\t%s\n", t ? t->comm : "");
	if (!p->released && p->fs)
		bprintf(b, "Umask:\t%04o\n", p->fs->umask);
	bprintf(b, "State:\t%c (%s)\nTgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\n"
		"TracerPid:\t0\nUid:\t%u\t%u\t%u\t%u\nGid:\t%u\t%u\t%u\t%u\n"
		"FDSize:\t%d\nGroups:\t \nNStgid:\t%d\nNSpid:\t%d\nNSpgid:\t%d\n"
		"NSsid:\t%d\n", st, sname, p->pid, c->n->tid ? t->tid : p->pid,
		p->ppid, p->uid, p->uid, p->uid, p->uid, p->gid, p->gid, p->gid,
		p->gid, fdsize, p->pid, c->n->tid ? t->tid : p->pid, p->pgid,
		p->sid);
	if (mm_ok(p)) {
		struct vm v;
		const struct { const char *name; uint64_t kb; } rows[] = {
			{ "VmPeak", 0 }, { "VmSize", 0 }, { "VmLck", 0 },
			{ "VmPin", 0 }, { "VmHWM", 0 }, { "VmRSS", 0 },
			{ "RssAnon", 0 }, { "RssFile", 0 }, { "RssShmem", 0 },
			{ "VmData", 0 }, { "VmStk", 0 }, { "VmExe", 0 },
			{ "VmLib", 0 }, { "VmPTE", 0 }, { "VmSwap", 0 },
		};
		uint64_t kb[ARRAY_SIZE(rows)];

		pthread_mutex_lock(&p->mm.lock);
		vm_numbers(&p->mm, &v);
		pthread_mutex_unlock(&p->mm.lock);
		memset(kb, 0, sizeof(kb));
		kb[0] = kb[1] = v.size >> 10;
		kb[4] = kb[5] = kb[6] = v.rss >> 10;
		kb[9] = v.data >> 10;
		kb[10] = v.stack >> 10;
		kb[11] = v.exe >> 10;
		kb[13] = (v.rss >> 21) * 4 + 4; /* page tables: 4 KiB per 2 MiB */
		for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
			bprintf(b, "%s:\t%8llu kB\n", rows[i].name,
				(unsigned long long)kb[i]);
		bprintf(b, "HugetlbPages:\t%8u kB\nCoreDumping:\t0\nTHP_enabled:\t1\n", 0);
	}
	bprintf(b, "Threads:\t%d\nSigQ:\t0/%llu\nSigPnd:\t%016llx\nShdPnd:\t%016llx\n"
		"SigBlk:\t%016llx\nSigIgn:\t%016llx\nSigCgt:\t%016llx\n"
		"CapInh:\t%016llx\nCapPrm:\t%016llx\nCapEff:\t%016llx\n"
		"CapBnd:\t%016llx\nCapAmb:\t%016llx\nNoNewPrivs:\t%d\n"
		"Seccomp:\t%d\nSeccomp_filters:\t%d\n"
		"Speculation_Store_Bypass:\tvulnerable\n"
		"SpeculationIndirectBranch:\talways enabled\nCpus_allowed:\t",
		p->nthreads > 0 ? p->nthreads : 1,
		(unsigned long long)p->rlim[RLIMIT_SIGPENDING].cur,
		(unsigned long long)(t ? t->pending : 0), 0ULL,
		(unsigned long long)(t ? t->sigmask : 0),
		(unsigned long long)sigset_of(p, true),
		(unsigned long long)sigset_of(p, false), 0ULL,
		(unsigned long long)caps, (unsigned long long)caps,
		0x1ffffffffffULL, 0ULL, p->no_new_privs ? 1 : 0,
		t ? t->seccomp_mode : 0, t ? kseccomp_nfilters(t) : 0);
	cpu_mask(c->k, b);
	bprintf(b, "\nCpus_allowed_list:\t");
	cpu_list(c->k, b);
	bprintf(b, "\nMems_allowed:\t1\nMems_allowed_list:\t0\n"
		"voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n");
	return 0;
}

/* vma_name - what maps shows after the numbers (mm->lock held) */
static const char *vma_name(const struct process *p, const struct mm *mm,
			    const struct vma *a)
{
	uint64_t vdso = 0;

	for (size_t i = 0; i + 1 < ARRAY_SIZE(p->auxv) && p->auxv[i]; i += 2)
		if (p->auxv[i] == 33 /* AT_SYSINFO_EHDR */)
			vdso = p->auxv[i + 1];
	if (vdso && a->start == vdso)
		return "[vdso]";
	if (a->flags & VMA_SPECIAL)
		return "[vvar]";
	if (a->flags & VMA_GROWSDOWN)
		return "[stack]";
	if (mm->brk > mm->brk_start && a->start >= mm->brk_start &&
	    a->start < mm->brk)
		return "[heap]";
	return NULL;
}

/*
 * same_line - @b continues file VMA @a as one Linux VMA: ours also split
 * where separate mmaps of one file meet (Linux merges those unless one
 * has private copies of pages, like ld.so's RELRO next to its rodata).
 */
static bool same_line(const struct vma *a, const struct vma *b)
{
	return (a->flags & VMA_FILE) && (b->flags & VMA_FILE) &&
	       a->end == b->start && a->prot == b->prot &&
	       !((a->flags ^ b->flags) & (VMA_SHARED | VMA_COPIED)) &&
	       a->mf->dev == b->mf->dev && a->mf->ino == b->mf->ino &&
	       a->foff + (a->end - a->start) == b->foff;
}

/* maps_line - one line of maps, Linux's layout: the name at column 73;
 * file mappings show their offset, device, inode and sandbox path */
static void maps_line(struct sbuf *b, const struct vma *a, const char *name)
{
	size_t start = b->len;
	bool file = a->flags & VMA_FILE;
	uint64_t dev = file ? a->mf->dev : 0;

	if (file && a->mf->path[0])
		name = a->mf->path;
	bprintf(b, "%08llx-%08llx %c%c%c%c %08llx %02x:%02x %lu ",
		(unsigned long long)a->start, (unsigned long long)a->end,
		a->prot & PROT_READ ? 'r' : '-', a->prot & PROT_WRITE ? 'w' : '-',
		a->prot & PROT_EXEC ? 'x' : '-',
		a->flags & VMA_SHARED ? 's' : 'p',
		(unsigned long long)(file ? a->foff : 0), major(dev), minor(dev),
		(unsigned long)(file ? a->mf->ino : 0));
	if (name) {
		size_t n = b->len - start;

		/* seq_setwidth(25 + 6 * sizeof(void *) - 1), seq_pad(' ') */
		if (n < 72)
			bprintf(b, "%*s", (int)(72 - n), "");
		bprintf(b, " %s", name);
	}
	bput(b, "\n", 1);
}

static void gen_vmas(struct pctx *c, struct sbuf *b, bool smaps)
{
	struct process *p = c->p;

	if (!mm_ok(p))
		return;
	pthread_mutex_lock(&p->mm.lock);
	for (size_t i = 0; i < p->mm.n; i++) {
		struct vma line = p->mm.v[i];
		const struct vma *a = &line;
		uint64_t kb;

		while (i + 1 < p->mm.n && same_line(&line, &p->mm.v[i + 1]))
			line.end = p->mm.v[++i].end;
		kb = (a->end - a->start) >> 10;
		uint64_t rss = a->prot != PROT_NONE ? kb : 0;
		bool wr = a->prot & PROT_WRITE;

		maps_line(b, a, vma_name(p, &p->mm, a));
		if (!smaps)
			continue;
		{
			const struct { const char *name; uint64_t v; } rows[] = {
				{ "Size", kb }, { "KernelPageSize", 4 },
				{ "MMUPageSize", 4 }, { "Rss", rss }, { "Pss", rss },
				{ "Pss_Dirty", wr ? rss : 0 },
				{ "Shared_Clean", 0 }, { "Shared_Dirty", 0 },
				{ "Private_Clean", wr ? 0 : rss },
				{ "Private_Dirty", wr ? rss : 0 },
				{ "Referenced", rss }, { "Anonymous", rss },
				{ "LazyFree", 0 }, { "AnonHugePages", 0 },
				{ "ShmemPmdMapped", 0 }, { "FilePmdMapped", 0 },
				{ "Shared_Hugetlb", 0 }, { "Private_Hugetlb", 0 },
				{ "Swap", 0 }, { "SwapPss", 0 }, { "Locked", 0 },
			};

			for (size_t j = 0; j < ARRAY_SIZE(rows); j++) {
				char name[32];

				snprintf(name, sizeof(name), "%s:", rows[j].name);
				bprintf(b, "%-16s%8llu kB\n", name,
					(unsigned long long)rows[j].v);
			}
		}
		bprintf(b, "THPeligible:    %8d\nVmFlags:%s%s%s%s mr mw me%s%s%s \n", 0,
			a->prot & PROT_READ ? " rd" : "", wr ? " wr" : "",
			a->prot & PROT_EXEC ? " ex" : "",
			a->flags & VMA_SHARED ? " sh" : "",
			a->flags & VMA_SHARED ? " ms" : "",
			a->flags & VMA_GROWSDOWN ? " gd" : "",
			wr && !(a->flags & VMA_SHARED) ? " ac" : "");
	}
	pthread_mutex_unlock(&p->mm.lock);
}

static int gen_maps(struct pctx *c, struct sbuf *b)
{
	gen_vmas(c, b, false);
	return 0;
}

static int gen_smaps(struct pctx *c, struct sbuf *b)
{
	gen_vmas(c, b, true);
	return 0;
}

/* gen_mem - bytes [lo, hi) of the process's memory, as cmdline and
 * environ read them (nothing once it has exited, as Linux) */
static int gen_mem(struct pctx *c, struct sbuf *b, bool env)
{
	struct process *p = c->p;
	uint64_t lo, hi;
	char *buf;

	if (!mm_ok(p))
		return 0;
	pthread_mutex_lock(&p->mm.lock);
	lo = env ? p->mm.env_start : p->mm.arg_start;
	hi = env ? p->mm.env_end : p->mm.arg_end;
	pthread_mutex_unlock(&p->mm.lock);
	if (hi <= lo)
		return 0;
	if (hi - lo > CMDLINE_MAX)
		hi = lo + CMDLINE_MAX;
	buf = malloc(hi - lo);
	if (!buf)
		return -ENOMEM;
	if (mm_copy_in(&p->mm, buf, lo, hi - lo) == 0)
		bput(b, buf, hi - lo);
	free(buf);
	return 0;
}

static int gen_cmdline(struct pctx *c, struct sbuf *b)
{
	return gen_mem(c, b, false);
}

static int gen_environ(struct pctx *c, struct sbuf *b)
{
	return gen_mem(c, b, true);
}

static int gen_auxv(struct pctx *c, struct sbuf *b)
{
	size_t n = 0;

	if (c->p->released)
		return 0;
	while (n + 2 <= ARRAY_SIZE(c->p->auxv) && c->p->auxv[n])
		n += 2;
	if (n + 2 <= ARRAY_SIZE(c->p->auxv))
		n += 2; /* the AT_NULL pair */
	bput(b, c->p->auxv, n * sizeof(uint64_t));
	return 0;
}

static int gen_comm(struct pctx *c, struct sbuf *b)
{
	bprintf(b, "%s\n", c->t ? c->t->comm : "");
	return 0;
}

/* comm is writable by the thread group itself (Linux: else EINVAL) */
static int write_comm(struct pctx *c, const char *buf, size_t len)
{
	if (!c->cur || c->cur->proc != c->p || !c->t)
		return -EINVAL;
	memset(c->t->comm, 0, sizeof(c->t->comm));
	memcpy(c->t->comm, buf, len < sizeof(c->t->comm) - 1 ? len
							   : sizeof(c->t->comm) - 1);
	return 0;
}

static int gen_oom_score_adj(struct pctx *c, struct sbuf *b)
{
	bprintf(b, "%d\n", c->p->oom_score_adj);
	return 0;
}

static int write_oom_score_adj(struct pctx *c, const char *buf, size_t len)
{
	char s[24];
	char *end;
	long v;

	if (len >= sizeof(s))
		return -EINVAL;
	memcpy(s, buf, len);
	s[len] = 0;
	v = strtol(s, &end, 10);
	while (*end == '\n' || *end == ' ')
		end++;
	if (end == s || *end || v < -1000 || v > 1000)
		return -EINVAL;
	if (v < c->p->oom_score_adj && caller_uid() != 0)
		return -EACCES;
	c->p->oom_score_adj = (int)v;
	return 0;
}

static int gen_cgroup(struct pctx *c, struct sbuf *b) { return gen_text(b, "0::/"); }

static int gen_loginuid(struct pctx *c, struct sbuf *b)
{
	bprintf(b, "4294967295");
	return 0;
}

static int gen_limits(struct pctx *c, struct sbuf *b)
{
	static const struct { const char *name, *unit; } lim[] = {
		[RLIMIT_CPU] = { "Max cpu time", "seconds" },
		[RLIMIT_FSIZE] = { "Max file size", "bytes" },
		[RLIMIT_DATA] = { "Max data size", "bytes" },
		[RLIMIT_STACK] = { "Max stack size", "bytes" },
		[RLIMIT_CORE] = { "Max core file size", "bytes" },
		[RLIMIT_RSS] = { "Max resident set", "bytes" },
		[RLIMIT_NPROC] = { "Max processes", "processes" },
		[RLIMIT_NOFILE] = { "Max open files", "files" },
		[RLIMIT_MEMLOCK] = { "Max locked memory", "bytes" },
		[RLIMIT_AS] = { "Max address space", "bytes" },
		[RLIMIT_LOCKS] = { "Max file locks", "locks" },
		[RLIMIT_SIGPENDING] = { "Max pending signals", "signals" },
		[RLIMIT_MSGQUEUE] = { "Max msgqueue size", "bytes" },
		[RLIMIT_NICE] = { "Max nice priority", NULL },
		[RLIMIT_RTPRIO] = { "Max realtime priority", NULL },
		[RLIMIT_RTTIME] = { "Max realtime timeout", "us" },
	};

	bprintf(b, "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit",
		"Hard Limit", "Units");
	for (size_t i = 0; i < ARRAY_SIZE(lim); i++) {
		const struct k_rlimit *r = &c->p->rlim[i];
		char cur[24], max[24];

		snprintf(cur, sizeof(cur), r->cur == RLIM_INFINITY ? "unlimited"
			 : "%llu", (unsigned long long)r->cur);
		snprintf(max, sizeof(max), r->max == RLIM_INFINITY ? "unlimited"
			 : "%llu", (unsigned long long)r->max);
		bprintf(b, "%-25s %-20s %-20s ", lim[i].name, cur, max);
		if (lim[i].unit)
			bprintf(b, "%-10s\n", lim[i].unit);
		else
			bput(b, "\n", 1);
	}
	return 0;
}

/* mounts and mountinfo (PE_NOLOCK: the VFS's mount table) */
struct mounts_arg {
	struct sbuf *b;
	bool info;
};

static void mount_line(void *arg, const struct vfs_mount_info *mi)
{
	struct mounts_arg *a = arg;
	/* gofer sources are host paths: never shown */
	const char *type = !strcmp(mi->type, "dev") ? "tmpfs" : mi->type;
	const char *src = !strcmp(mi->type, "gofer") ? "none" : type;
	const char *opts = mi->readonly ? "ro" : "rw";

	if (a->info)
		bprintf(a->b, "%d %d %u:%u / %s %s,relatime - %s %s %s\n", mi->id,
			mi->parent_id, major(mi->dev), minor(mi->dev), mi->path,
			opts, type, src, opts);
	else
		bprintf(a->b, "%s %s %s %s,relatime 0 0\n", src, mi->path, type,
			opts);
}

static int gen_mounts_common(struct pctx *c, struct sbuf *b, bool info)
{
	struct mounts_arg a = { b, info };
	struct fs_context *fs;
	int r = pin_fs(c->n, false, &fs);

	if (r)
		return r;
	r = vfs_mounts_foreach(fs, mount_line, &a);
	fs_context_put(fs);
	return r;
}

static int gen_mounts(struct pctx *c, struct sbuf *b)
{
	return gen_mounts_common(c, b, false);
}

static int gen_mountinfo(struct pctx *c, struct sbuf *b)
{
	return gen_mounts_common(c, b, true);
}

/* ---- the tables ---- */

#define F(n, m, g) { .name = n, .mode = S_IFREG | (m), .gen = g }
#define FW(n, m, g, w) { .name = n, .mode = S_IFREG | (m), .gen = g, .write = w }
#define FF(n, m, g, fl) { .name = n, .mode = S_IFREG | (m), .gen = g, .flags = fl }
#define L(n, g) { .name = n, .mode = S_IFLNK | 0777, .gen = g }
#define D(n, t) { .name = n, .mode = S_IFDIR | 0555, .sub = t, .nsub = ARRAY_SIZE(t) }

static const struct pent sys_kernel_random[] = {
	F("boot_id", 0444, gen_boot_id),
	F("uuid", 0444, gen_uuid),
};

static const struct pent sys_kernel[] = {
	F("cap_last_cap", 0444, gen_cap_last_cap),
	F("hostname", 0444, gen_hostname),
	F("ngroups_max", 0444, gen_ngroups_max),
	F("osrelease", 0444, gen_osrelease),
	F("ostype", 0444, gen_ostype),
	F("pid_max", 0444, gen_pid_max),
	D("random", sys_kernel_random),
	F("version", 0444, gen_kversion),
};

static const struct pent sys_vm[] = {
	F("overcommit_memory", 0444, gen_zero),
};

static const struct pent sys_fs[] = {
	F("file-max", 0444, gen_file_max),
	F("nr_open", 0444, gen_nr_open),
};

static const struct pent sys[] = {
	D("fs", sys_fs),
	D("kernel", sys_kernel),
	D("vm", sys_vm),
};

static const struct pent ent_fd = {
	.name = "", .mode = S_IFLNK | 0700, .gen = gen_fd_link,
	.magic = MAGIC_FD, .flags = PE_NOLOCK,
};
static const struct pent ent_fdinfo = {
	.name = "", .mode = S_IFREG | 0444, .gen = gen_fdinfo, .flags = PE_NOLOCK,
};
/* what a pathless fd/N link leads to: the open file itself */
static const struct pent ent_fdref = { .name = "", .mode = S_IFREG | 0600 };
static const struct pent ent_tid;

/* /proc/PID and /proc/PID/task/TID (sorted: getdents lists in this order) */
static const struct pent pid_tab[] = {
	FF("auxv", 0400, gen_auxv, PE_PRIVATE),
	F("cgroup", 0444, gen_cgroup),
	F("cmdline", 0444, gen_cmdline),
	FW("comm", 0644, gen_comm, write_comm),
	{ .name = "cwd", .mode = S_IFLNK | 0777, .gen = gen_fs_link,
	  .magic = MAGIC_CWD, .flags = PE_NOLOCK },
	FF("environ", 0400, gen_environ, PE_PRIVATE),
	{ .name = "exe", .mode = S_IFLNK | 0777, .gen = gen_exe },
	{ .name = "fd", .mode = S_IFDIR | 0500, .dyn = DYN_FDS, .child = &ent_fd },
	{ .name = "fdinfo", .mode = S_IFDIR | 0500, .dyn = DYN_FDS,
	  .child = &ent_fdinfo },
	F("limits", 0444, gen_limits),
	F("loginuid", 0444, gen_loginuid),
	F("maps", 0444, gen_maps),
	FF("mountinfo", 0444, gen_mountinfo, PE_NOLOCK),
	FF("mounts", 0444, gen_mounts, PE_NOLOCK),
	F("oom_score", 0444, gen_zero),
	FW("oom_score_adj", 0644, gen_oom_score_adj, write_oom_score_adj),
	{ .name = "root", .mode = S_IFLNK | 0777, .gen = gen_fs_link,
	  .magic = MAGIC_ROOT, .flags = PE_NOLOCK },
	F("smaps", 0444, gen_smaps),
	F("stat", 0444, gen_pid_stat),
	F("statm", 0444, gen_statm),
	F("status", 0444, gen_status),
	{ .name = "task", .mode = S_IFDIR | 0555, .dyn = DYN_TASKS,
	  .child = &ent_tid, .flags = PE_TGID },
};

static const struct pent ent_pid = {
	.name = "", .mode = S_IFDIR | 0555, .sub = pid_tab,
	.nsub = ARRAY_SIZE(pid_tab),
};
static const struct pent ent_tid = {
	.name = "", .mode = S_IFDIR | 0555, .sub = pid_tab,
	.nsub = ARRAY_SIZE(pid_tab),
};

static const struct pent root_tab[] = {
	F("cpuinfo", 0444, gen_cpuinfo),
	F("filesystems", 0444, gen_filesystems),
	F("loadavg", 0444, gen_loadavg),
	F("meminfo", 0444, gen_meminfo),
	L("mounts", gen_mounts_link),
	L("self", gen_self),
	F("stat", 0444, gen_stat),
	D("sys", sys),
	L("thread-self", gen_thread_self),
	F("uptime", 0444, gen_uptime),
	F("version", 0444, gen_version),
};

static const struct pent ent_root = {
	.name = "", .mode = S_IFDIR | 0555, .sub = root_tab,
	.nsub = ARRAY_SIZE(root_tab), .dyn = DYN_PIDS, .child = &ent_pid,
};

/* ---- generating ---- */

/* generate - @n's content (or link text) into @b. */
static int generate(const struct pnode *n, struct sbuf *b)
{
	struct pctx c = { .k = kern, .cur = current_task, .n = n };
	int r;

	if (!n->e->gen)
		return -EINVAL;
	if (!n->pid || (n->e->flags & PE_NOLOCK))
		return n->e->gen(&c, b);
	pthread_mutex_lock(&kern->lock);
	r = resolve(kern, n, &c.p, &c.t);
	if (!r && (n->e->flags & PE_PRIVATE) && !may_see(c.p))
		r = -EACCES;
	if (!r)
		r = n->e->gen(&c, b);
	pthread_mutex_unlock(&kern->lock);
	if (!r && b->oom)
		r = -ENOMEM;
	return r;
}

/* ---- the tree ---- */

/* parse_id - a canonical decimal number, as Linux's name_to_int */
static int parse_id(const char *name)
{
	long v = 0;

	if (!*name || (name[0] == '0' && name[1]))
		return -1;
	for (const char *s = name; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > INT_MAX)
			return -1;
	}
	return (int)v;
}

static bool listed(const struct pnode *dir, const struct pent *e)
{
	return !(e->flags & PE_TGID) || !dir->task;
}

static int p_lookup(struct sbx_fs_node *dn, const char *name,
		    struct sbx_fs_node **out)
{
	struct pnode *dir = (struct pnode *)dn, *n = NULL;
	const struct pent *e = dir->e;
	struct process *p;
	struct task *t;
	int id, r;

	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	for (size_t i = 0; i < e->nsub; i++) {
		if (strcmp(e->sub[i].name, name) || !listed(dir, &e->sub[i]))
			continue;
		n = pnode_new(&e->sub[i], dir->pid, dir->tid, -1, dir->task);
		goto out;
	}
	id = parse_id(name);
	if (e->dyn == DYN_NONE || id < 0 || !kern)
		return -ENOENT;
	pthread_mutex_lock(&kern->lock);
	r = resolve(kern, dir, &p, &t);
	if (r)
		goto unlock;
	r = -ENOENT;
	switch (e->dyn) {
	case DYN_PIDS:
		/* a thread id works too, as in Linux (not listed) */
		if ((p = process_find(kern, id)))
			n = pnode_new(e->child, id, 0, -1, false);
		else if ((t = task_find(kern, id)))
			n = pnode_new(e->child, t->proc->pid, id, -1, false);
		break;
	case DYN_TASKS:
		for (t = p->threads; t && t->tid != id; t = t->next_thread)
			;
		if (t)
			n = pnode_new(e->child, p->pid, id, -1, true);
		break;
	case DYN_FDS: {
		if (!may_see(p)) {
			r = -EACCES;
			break;
		}
		if (fd_open(p, id, NULL))
			n = pnode_new(e->child, dir->pid, dir->tid, id, dir->task);
		break;
	}
	default:
		break;
	}
unlock:
	pthread_mutex_unlock(&kern->lock);
	if (!n)
		return r ? r : -ENOMEM;
out:
	if (!n)
		return -ENOMEM;
	*out = (struct sbx_fs_node *)n;
	return 0;
}

static void p_release(struct sbx_fs_node *nn)
{
	struct pnode *n = (struct pnode *)nn;

	if (n && !__atomic_sub_fetch(&n->refs, 1, __ATOMIC_ACQ_REL))
		free(n);
}

static int p_getattr(struct sbx_fs_node *nn, struct sbx_fs_attr *a)
{
	struct pnode *n = (struct pnode *)nn;
	int64_t t = kern ? kern->boot_real_ns : 0;
	struct process *p;
	struct task *tk;
	int r = 0, acc = O_RDWR;

	a->ino = n->ino;
	a->mode = n->mode;
	a->nlink = S_ISDIR(n->mode) ? 2 : 1;
	a->uid = a->gid = 0;
	a->size_bytes = 0;
	a->blocks = 0;
	a->rdev = 0;
	if (n->e == &ent_fdref) {
		/* the open file's own attributes (stat -L /proc/self/fd/0) */
		struct k_stat st;
		struct file *f;

		r = pin_file(n, &f, NULL);
		if (r)
			return r;
		r = f->ops->stat ? f->ops->stat(f, &st) : -ENOENT;
		if (!r) {
			a->ino = st.st_ino;
			a->mode = st.st_mode;
			a->nlink = st.st_nlink;
			a->uid = st.st_uid;
			a->gid = st.st_gid;
			a->rdev = (uint32_t)st.st_rdev;
			a->size_bytes = (uint64_t)st.st_size;
			a->blocks = (uint64_t)st.st_blocks;
			t = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
		}
		file_put(f);
		a->atime_ns = a->mtime_ns = a->ctime_ns = t;
		return r;
	}
	if (n->pid) {
		if (!kern)
			return -ENOENT;
		pthread_mutex_lock(&kern->lock);
		r = resolve(kern, n, &p, &tk);
		if (!r) {
			a->uid = p->uid;
			a->gid = p->gid;
			t = kern->boot_real_ns + (p->start_ns - kern->boot_ns);
			/* fd links show the file's access, as Linux */
			if (n->e == &ent_fd && !fd_open(p, n->fd, &acc))
				r = -ENOENT;
		}
		pthread_mutex_unlock(&kern->lock);
		if (n->e == &ent_fd)
			a->mode = S_IFLNK | (acc == O_WRONLY ? 0300 :
					     acc == O_RDONLY ? 0500 : 0700);
	}
	a->atime_ns = a->mtime_ns = a->ctime_ns = t;
	return r;
}

static int p_setattr(struct sbx_fs_node *nn, const struct sbx_fs_attr *a,
		     uint32_t mask)
{
	return -EPERM;
}

static unsigned dtype(uint32_t mode)
{
	return S_ISDIR(mode) ? 4 /* DT_DIR */ : S_ISLNK(mode) ? 10 /* DT_LNK */
							 : 8 /* DT_REG */;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* dyn_ids - the numbered children of @dir, sorted (k->lock taken). */
static int dyn_ids(const struct pnode *dir, int **out, size_t *count)
{
	struct process *p;
	struct task *t;
	size_t n = 0, cap = 64;
	int *ids = malloc(cap * sizeof(*ids)), r;

	if (!ids)
		return -ENOMEM;
	pthread_mutex_lock(&kern->lock);
	r = resolve(kern, dir, &p, &t);
	if (r)
		goto out;
#define ADD(x)                                                        \
	do {                                                          \
		if (n == cap) {                                       \
			int *ni = realloc(ids, 2 * cap * sizeof(*ids)); \
			if (!ni) {                                    \
				r = -ENOMEM;                          \
				goto out;                             \
			}                                             \
			ids = ni;                                     \
			cap *= 2;                                     \
		}                                                     \
		ids[n++] = (x);                                       \
	} while (0)
	switch (dir->e->dyn) {
	case DYN_PIDS:
		for (struct process *q = kern->procs; q; q = q->next)
			ADD(q->pid);
		break;
	case DYN_TASKS:
		if (p->state == PROC_ZOMBIE)
			break;
		for (t = p->threads; t; t = t->next_thread)
			ADD(t->tid);
		break;
	case DYN_FDS:
		if (!may_see(p)) {
			r = -EACCES;
			break;
		}
		if (p->released || !p->files)
			break;
		pthread_mutex_lock(&p->files->lock);
		for (int fd = 0; fd < p->files->size; fd++) {
			if (!p->files->fds[fd].file)
				continue;
			if (n == cap) {
				int *ni = realloc(ids, 2 * cap * sizeof(*ids));

				if (!ni) {
					r = -ENOMEM;
					break;
				}
				ids = ni;
				cap *= 2;
			}
			ids[n++] = fd;
		}
		pthread_mutex_unlock(&p->files->lock);
		break;
	default:
		break;
	}
#undef ADD
out:
	pthread_mutex_unlock(&kern->lock);
	if (r) {
		free(ids);
		return r;
	}
	qsort(ids, n, sizeof(*ids), cmp_int);
	*out = ids;
	*count = n;
	return 0;
}

/*
 * Cookies: 0 ".", 1 "..", 2 + i the i-th fixed entry, DYN_BASE + id the
 * numbered child id (pids, tids, fds: ascending, so the order is stable
 * and a listing resumed after a child vanished neither skips nor repeats).
 */
static int64_t p_getdents(struct sbx_fs_node *dn, uint64_t cookie,
			  int (*emit)(void *, const char *, uint64_t, unsigned,
				      uint64_t),
			  void *arg)
{
	struct pnode *dir = (struct pnode *)dn;
	const struct pent *e = dir->e;
	int *ids = NULL;
	size_t nids = 0;
	int r;

	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	if (cookie == 0) {
		if (emit(arg, ".", dir->ino, 4, 1))
			return 0;
		cookie = 1;
	}
	if (cookie == 1) {
		if (emit(arg, "..", dir->ino, 4, 2))
			return 1;
		cookie = 2;
	}
	for (; cookie < 2 + e->nsub && cookie < DYN_BASE; cookie++) {
		const struct pent *s = &e->sub[cookie - 2];
		struct pnode *c;
		uint64_t ino;

		if (!listed(dir, s))
			continue;
		c = pnode_new(s, dir->pid, dir->tid, -1, dir->task);
		if (!c)
			return -ENOMEM;
		ino = c->ino;
		p_release((struct sbx_fs_node *)c);
		if (emit(arg, s->name, ino, dtype(s->mode), cookie + 1))
			return (int64_t)cookie;
	}
	if (e->dyn == DYN_NONE || !kern)
		return (int64_t)(cookie < DYN_BASE ? DYN_BASE : cookie);
	if (cookie < DYN_BASE)
		cookie = DYN_BASE;
	r = dyn_ids(dir, &ids, &nids);
	if (r)
		return r;
	for (size_t i = 0; i < nids; i++) {
		char name[16];
		struct pnode *c;
		uint64_t ino;

		if ((uint64_t)ids[i] + DYN_BASE < cookie)
			continue;
		c = e->dyn == DYN_PIDS
			? pnode_new(e->child, ids[i], 0, -1, false)
			: e->dyn == DYN_TASKS
			? pnode_new(e->child, dir->pid, ids[i], -1, true)
			: pnode_new(e->child, dir->pid, dir->tid, ids[i], dir->task);
		if (!c) {
			free(ids);
			return -ENOMEM;
		}
		ino = c->ino;
		p_release((struct sbx_fs_node *)c);
		snprintf(name, sizeof(name), "%d", ids[i]);
		if (emit(arg, name, ino, dtype(e->child->mode),
			 DYN_BASE + (uint64_t)ids[i] + 1))
			break;
		cookie = DYN_BASE + (uint64_t)ids[i] + 1;
	}
	free(ids);
	return (int64_t)cookie;
}

static ssize_t p_readlink(struct sbx_fs_node *nn, char *buf, size_t len)
{
	struct pnode *n = (struct pnode *)nn;
	struct sbuf b = { 0 };
	ssize_t r;

	if (!S_ISLNK(n->mode))
		return -EINVAL;
	r = generate(n, &b);
	if (!r && b.oom)
		r = -ENOMEM;
	if (!r) {
		r = (ssize_t)(b.len < len ? b.len : len);
		memcpy(buf, b.s ? b.s : "", (size_t)r);
	}
	free(b.s);
	return r;
}

static int p_mount(struct sbx_fs *fs, const struct sbx_fs_mount_args *args,
		   struct sbx_fs_mnt **mnt, struct sbx_fs_node **root)
{
	struct pnode *n = pnode_new(&ent_root, 0, 0, -1, false);

	if (!n)
		return -ENOMEM;
	*mnt = (struct sbx_fs_mnt *)n;
	*root = (struct sbx_fs_node *)n;
	__atomic_add_fetch(&n->refs, 1, __ATOMIC_RELAXED); /* the mount's */
	return 0;
}

static void p_umount(struct sbx_fs_mnt *m)
{
	p_release((struct sbx_fs_node *)m);
}

static int p_statfs(struct sbx_fs_mnt *m, struct statfs *out)
{
	memset(out, 0, sizeof(*out));
	out->f_type = PROC_SUPER_MAGIC;
	out->f_bsize = 4096;
	out->f_namelen = 255;
	out->f_frsize = 4096;
	return 0;
}

/* Linux's errors for making names in /proc */
static int p_create(struct sbx_fs_node *dir, const char *name, uint32_t mode,
		    int flags, struct sbx_fs_node **out, int *host_fd)
{
	return -ENOENT;
}

static int p_mkdir(struct sbx_fs_node *dir, const char *name, uint32_t mode)
{
	return -ENOENT;
}

static int p_unlink(struct sbx_fs_node *dir, const char *name, int flags)
{
	return -EPERM;
}

static int p_rename(struct sbx_fs_node *odir, const char *oname,
		    struct sbx_fs_node *ndir, const char *nname, unsigned flags)
{
	return -EPERM;
}

static int p_link(struct sbx_fs_node *node, struct sbx_fs_node *dir,
		  const char *name)
{
	return -ENOENT;
}

static int p_symlink(struct sbx_fs_node *dir, const char *name,
		     const char *target)
{
	return -ENOENT;
}

const struct sbx_fs_ops procfs_ops = {
	.size = sizeof(struct sbx_fs_ops),
	.mount = p_mount,
	.umount = p_umount,
	.lookup = p_lookup,
	.release = p_release,
	.getattr = p_getattr,
	.setattr = p_setattr,
	.getdents = p_getdents,
	.create = p_create,
	.mkdir = p_mkdir,
	.unlink = p_unlink,
	.rename = p_rename,
	.link = p_link,
	.symlink = p_symlink,
	.readlink = p_readlink,
	.statfs = p_statfs,
};

void procfs_attach(struct kernel *k)
{
	kern = k;
	make_uuid(boot_id);
}

bool procfs_revalidate(struct sbx_fs_node *nn)
{
	struct pnode *n = (struct pnode *)nn;
	struct process *p;
	struct task *t;
	bool ok;

	if (!n->pid)
		return true;
	if (!kern)
		return false;
	pthread_mutex_lock(&kern->lock);
	ok = resolve(kern, n, &p, &t) == 0 &&
	     (n->fd < 0 || fd_open(p, n->fd, NULL));
	pthread_mutex_unlock(&kern->lock);
	return ok;
}

bool procfs_is_magic(struct sbx_fs_node *nn)
{
	return ((struct pnode *)nn)->e->magic != MAGIC_NONE;
}

/* ---- magic links ---- */

int procfs_follow(struct sbx_fs_node *nn, struct vfs_path *to,
		  struct sbx_fs_node **anon, uint32_t *mode)
{
	struct pnode *n = (struct pnode *)nn;
	struct fs_context *fs;
	struct file *f;
	int r;

	switch (n->e->magic) {
	case MAGIC_CWD:
	case MAGIC_ROOT:
		r = pin_fs(n, true, &fs);
		if (r)
			return r;
		fs_path(fs, n->e->magic, to);
		fs_context_put(fs);
		return 0;
	case MAGIC_FD:
		r = pin_file(n, &f, NULL);
		if (r)
			return r;
		if (f->path.d) {
			/* the file's own dentry: a reopen goes through its
			 * provider (gofer: a fresh open in the gofer) */
			*to = f->path;
			vfs_path_get(to);
		} else {
			struct k_stat st;
			struct pnode *a;

			st.st_mode = S_IFREG | 0600;
			if (f->ops->stat && f->ops->stat(f, &st))
				st.st_mode = S_IFREG | 0600;
			a = pnode_new(&ent_fdref, n->pid, n->tid, n->fd, n->task);
			if (!a) {
				file_put(f);
				return -ENOMEM;
			}
			a->mode = st.st_mode & S_IFMT ? st.st_mode : S_IFREG | 0600;
			*anon = (struct sbx_fs_node *)a;
			*mode = a->mode;
		}
		file_put(f);
		return 0;
	default:
		return -ENOLINK;
	}
}

/* ---- open files ---- */

struct pfile {
	struct sbuf b;
};

static ssize_t pf_read(struct file *f, void *buf, size_t len, int64_t off)
{
	struct pfile *pf = f->priv;
	int64_t at;
	size_t n;

	if (!pf)
		return -EINVAL;
	if (off >= 0) {
		at = off;
	} else {
		pthread_mutex_lock(&f->pos_lock);
		at = f->pos;
	}
	n = (uint64_t)at < pf->b.len ? pf->b.len - (size_t)at : 0;
	if (n > len)
		n = len;
	if (n)
		memcpy(buf, pf->b.s + at, n);
	if (off < 0) {
		f->pos += (int64_t)n;
		pthread_mutex_unlock(&f->pos_lock);
	}
	return (ssize_t)n;
}

static ssize_t pf_write(struct file *f, const void *buf, size_t len,
			int64_t off)
{
	struct pnode *n = (struct pnode *)f->path.d->node;
	struct pctx c = { .k = kern, .cur = current_task, .n = n };
	ssize_t r;

	if (!n->e->write)
		return -EINVAL;
	if (!kern)
		return -ENOENT;
	pthread_mutex_lock(&kern->lock);
	r = resolve(kern, n, &c.p, &c.t);
	if (!r)
		r = n->e->write(&c, buf, len);
	pthread_mutex_unlock(&kern->lock);
	return r ? r : (ssize_t)len;
}

/* seq_lseek's rules: SEEK_SET and SEEK_CUR, never negative */
static int64_t pf_llseek(struct file *f, int64_t off, int whence)
{
	int64_t r;

	pthread_mutex_lock(&f->pos_lock);
	if (whence == SEEK_CUR)
		off += f->pos;
	else if (whence != SEEK_SET)
		off = -1;
	r = off < 0 ? -EINVAL : (f->pos = off);
	pthread_mutex_unlock(&f->pos_lock);
	return r;
}

static int pf_stat(struct file *f, struct k_stat *st)
{
	return vfs_stat(&f->path, st);
}

static void pf_release(struct file *f)
{
	struct pfile *pf = f->priv;

	if (pf) {
		free(pf->b.s);
		free(pf);
	}
}

static const struct file_ops proc_file_ops = {
	.read = pf_read,
	.write = pf_write,
	.llseek = pf_llseek,
	.stat = pf_stat,
	.release = pf_release,
};

/* reopen - open(/proc/PID/fd/N) of a file without a path: the same open
 * file (pipes, ttys); sockets and anonymous inodes cannot be reopened */
static int reopen(struct pnode *n, int flags, struct file **out)
{
	int acc = flags & O_ACCMODE, facc;
	struct k_stat st;
	struct file *f;
	int r = pin_file(n, &f, NULL);

	if (r)
		return r;
	facc = f->flags & O_ACCMODE;
	if (f->ops->anon_name || !f->ops->stat || f->ops->stat(f, &st) ||
	    S_ISSOCK(st.st_mode))
		r = -ENXIO;
	else if (facc != O_RDWR && acc != facc)
		r = -EACCES; /* no second end to give: the host owns the pipe */
	if (r) {
		file_put(f);
		return r;
	}
	*out = f;
	return 0;
}

int procfs_open(const struct vfs_path *p, int flags, struct file **out)
{
	struct pnode *n = (struct pnode *)p->d->node;
	int acc = flags & O_ACCMODE;
	struct pfile *pf;
	struct file *f;
	int r;

	if (n->e == &ent_fdref)
		return reopen(n, flags, out);
	if (S_ISLNK(n->mode))
		return -ELOOP;
	if ((acc != O_RDONLY || (flags & O_TRUNC)) && !(n->mode & 0222) &&
	    caller_uid() != 0)
		return -EACCES;
	pf = calloc(1, sizeof(*pf));
	if (!pf)
		return -ENOMEM;
	if (acc != O_WRONLY) {
		r = generate(n, &pf->b);
		if (!r && pf->b.oom)
			r = -ENOMEM;
		if (r) {
			free(pf->b.s);
			free(pf);
			return r;
		}
	}
	flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC);
	f = file_new(&proc_file_ops, flags | O_LARGEFILE, -1, p);
	if (!f) {
		free(pf->b.s);
		free(pf);
		return -ENOMEM;
	}
	f->priv = pf;
	*out = f;
	return 0;
}
