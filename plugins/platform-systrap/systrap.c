/*
 * systrap platform plugin: application code runs in stub processes under a
 * seccomp filter that turns every system call into SIGSYS; the stub's
 * signal handler hands the call to the core through shared memory (spin,
 * then futex) and returns to the application with rt_sigreturn.
 *
 * Processes.  Stubs must not inherit the core's own seccomp allowlist (its
 * KILL_PROCESS default would win over our TRAP), so init() forks a zygote
 * before the core confines itself; every stub is forked by the zygote on
 * request over a socketpair.  The zygote is double-forked (not our child,
 * it never shows up in the core's waits), exits when the core's end of the
 * socket closes, and its stubs die with it (PR_SET_PDEATHSIG).  A stub
 * keeps only the memory file (fd SYSTRAP_STUB_MEMFD), its end of a socket
 * for donated files (SYSTRAP_STUB_SOCK; the zygote hands the core the
 * other end), the stub code page and its own shared slot (systrap_abi.h),
 * then installs its filter.
 *
 * Donated files (as_map of a host file the gofer gave the core): the core
 * sends the fd with SCM_RIGHTS, the parked stub thread receives it
 * (recvmsg, at SYSTRAP_STUB_FILEFD), maps it and closes it, each a
 * trampoline call the filter pins to those fds.  The stub never holds a
 * donated fd between ops.
 *
 * The filter (systrap_build_filter) traps every system call except a few
 * made from the one trampoline instruction of stub.S, with their arguments
 * checked; anything else from the trampoline kills the stub.
 *
 * Hand-off.  The stub is always either running the application or parked
 * in its handler with a signal frame on the alternate stack in the shared
 * slot; the core reads and edits registers and FPU state in that frame, and
 * asks the parked stub to run mmap/munmap/mprotect for it (as_* ops, also
 * before the first switch_to: a new stub parks itself by trapping once).
 * Both sides spin a bounded time on the state word, then sleep in futex.
 * Everything in the shared slot is writable by the application, so the
 * core copies it once and checks every pointer it finds there.
 *
 * Contexts (SBX_PLATFORM_MULTI_CTX).  Each context is a stub thread with
 * its own slot of the stub process's slot group; the first is the stub's
 * leader, the others are cloned by a parked thread on the core's request
 * (systrap_clone_thread).  interrupt() is a tgkill to that thread.  Ops
 * that need a parked thread (as_map/unmap/protect, the clone, a thread's
 * exit) are serialised per address space by op_lock and run on the
 * calling context's thread when it is parked, else on any parked one,
 * else on a running one borrowed with an interrupt (systrap_park_get).
 * No global lock on the syscall path: switch_to takes only its thread's
 * uncontended run lock.
 *
 * Options (platform.options): spin_us (default 20, at most 10000): how
 * long each side spins on the state word before it sleeps in futex; pin
 * (default cross): cross pins the core thread to its CPU and the stub to
 * another, so both can spin while the other works (a cross-CPU futex
 * wake-up costs ~50 us on our VMs, a spin hand-off ~1 us); same pins both
 * to one CPU (then spinning is useless: use spin_us 0); none leaves them
 * to the scheduler.  The spin is bounded per hand-off, so a sandbox whose
 * program sleeps or blocks in the core costs no CPU.
 *
 * The file is divided into: types; hand-off helpers; the seccomp filter;
 * the zygote and stub start-up; init/fini/describe/seccomp_rules; address
 * spaces; contexts and switch_to; FPU state; the ops table and entry.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/rseq.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <asm/prctl.h>

#include <sbx/platform.h>
#include <sbx/plugin.h>

#include "systrap_abi.h"

#define SYSTRAP_PAGE	 4096UL
#define SYSTRAP_NAS	 1024	/* address spaces at once per instance */
/* the shared memfd: one group of SYSTRAP_MAX_CTX slots per address space */
#define SYSTRAP_GROUP	 ((size_t)SYSTRAP_MAX_CTX * SYSTRAP_SLOT)
#define SYSTRAP_SHM_LEN	 ((size_t)SYSTRAP_NAS * SYSTRAP_GROUP)
/* clone flags of the clone op, exactly (the filter allows nothing else) */
#define SYSTRAP_CLONE_FLAGS                                              \
	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | \
	 CLONE_SYSVSEM)
#define SYSTRAP_PROBES	 8192	/* stub region positions tried at init */
#define SYSTRAP_INTR_SIG SIGUSR2
/* the core's futex sleeps end this often to see whether the stub died */
#define SYSTRAP_LIVENESS_NS 100000000L
/* the longest a new stub may take to report for duty */
#define SYSTRAP_START_MS 5000

/* option pin: where the core thread and its stub run */
enum {
	SYSTRAP_PIN_NONE,  /* wherever the scheduler puts them */
	SYSTRAP_PIN_SAME,  /* both on the core thread's CPU */
	SYSTRAP_PIN_CROSS, /* core thread on its CPU, the stub on another */
};

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)
#endif

extern const char systrap_stub_code[], systrap_stub_start[],
	systrap_stub_handler[], systrap_stub_trampoline[],
	systrap_stub_restorer[], systrap_stub_first_trap[],
	systrap_stub_thread_entry[], systrap_stub_code_end[];

struct sbx_platform {
	const struct sbx_services *svc;
	uintptr_t stub;	     /* stub region base, same in every stub */
	int shmfd;	     /* the shared slots (memfd) */
	uint8_t *shm;	     /* ... mapped here in the core */
	int zsock;	     /* core end of the zygote's socket */
	pthread_mutex_t lock; /* slot groups and zygote requests (not hot) */
	bool group_used[SYSTRAP_NAS];
	uint64_t spin_us;
	uint64_t spin_iters; /* pause iterations in spin_us */
	int pin;	     /* SYSTRAP_PIN_* */
	cpu_set_t cpus;	     /* the CPUs allowed at init, before any pinning */
	bool fsgsbase;
	unsigned nfilter;
	struct sock_filter filter[SH_FILTER_MAX];
};

/* systrap_thread.state */
enum {
	SYSTRAP_T_FREE, /* no thread on this slot */
	SYSTRAP_T_LIVE, /* a stub thread owns the slot */
	SYSTRAP_T_LOST, /* its thread did not exit in time: never reused */
};

/*
 * struct systrap_thread - one stub thread and its slot.  It is parked in
 * its handler unless its context is inside switch_to; @run is held for
 * exactly that time, or while an op uses the parked thread, so whoever
 * holds @run may hand it commands.
 */
struct systrap_thread {
	struct sbx_as *as;
	uint8_t *sh;	       /* its shared slot, core view */
	uint64_t sh_addr;      /* ... and the stub's view */
	int idx;	       /* slot in the group; 0 is the leader */
	int state;	       /* SYSTRAP_T_*, under as->op_lock */
	pid_t tid;
	struct sbx_ctx *owner; /* NULL: a spare, always parked */
	pthread_mutex_t run;
	atomic_int claim;      /* an op waits for @run: see switch_to */
	atomic_bool dead;
};

struct sbx_ctx {
	struct sbx_as *as;
	struct systrap_thread *t;
	/* set by interrupt() until switch_to sees the signal it sent */
	atomic_int pending;
	bool fs_known;	  /* the stub's fs base is fs_base */
	uint64_t fs_base;
};

/*
 * struct sbx_as - one stub process.  @op_lock serialises what needs a
 * parked thread besides switch_to (as ops, ctx_create's clone, ctx_destroy's
 * exit) and guards the thread table's state and owners.
 */
struct sbx_as {
	struct sbx_platform *p;
	int group;
	pid_t pid;
	int pidfd;
	int sock;	/* core end of the stub's socket for donated files */
	uint64_t seq;	/* donations sent (op_lock) */
	atomic_bool dead;
	pthread_mutex_t op_lock;
	struct systrap_thread t[SYSTRAP_MAX_CTX];
};

/*
 * The context this host thread drives (the ABI: the thread that created a
 * context is the only one to run it), so that an as op made during one of
 * its system calls uses its parked stub thread.  Only ever compared, never
 * dereferenced: it may be stale.
 */
static _Thread_local struct sbx_ctx *systrap_self;

#define systrap_log(p, level, ...) \
	((p)->svc->log((level), "systrap", __VA_ARGS__))

/* ---- hand-off helpers ---------------------------------------------------- */

static inline uint32_t *systrap_word(struct systrap_thread *t, size_t off)
{
	return (uint32_t *)(t->sh + off);
}

static inline uint64_t *systrap_u64(struct systrap_thread *t, size_t off)
{
	return (uint64_t *)(t->sh + off);
}

/*
 * systrap_core_ptr - the core's view of @len bytes at stub address @addr,
 * or NULL unless they lie inside the alternate stack of the slot.  The
 * addresses come from the shared slot: untrusted (DESIGN.md invariant 5).
 */
static void *systrap_core_ptr(struct systrap_thread *t, uint64_t addr,
			     size_t len)
{
	uint64_t lo = t->sh_addr + SH_ALT;
	uint64_t hi = t->sh_addr + SYSTRAP_SLOT;

	if (addr < lo || addr > hi || len > hi - addr)
		return NULL;
	return t->sh + (addr - t->sh_addr);
}

static long systrap_futex(uint32_t *w, int op, uint32_t val,
			  const struct timespec *ts)
{
	return syscall(SYS_futex, w, op, val, ts, NULL, 0);
}

/*
 * systrap_alive - 0 if the stub thread lives, -ESRCH (and dead set) if
 * not.  A thread other than the leader is reaped as soon as it exits, so
 * tgkill(0) sees it gone; the leader never exits alone (ctx_destroy keeps
 * it as a spare), and the pidfd covers the whole process.
 */
static int systrap_alive(struct systrap_thread *t)
{
	struct sbx_as *as = t->as;

	if (atomic_load(&as->dead) || atomic_load(&t->dead))
		return -ESRCH;
	if (syscall(SYS_pidfd_send_signal, as->pidfd, 0, NULL, 0) &&
	    errno == ESRCH) {
		atomic_store(&as->dead, true);
		systrap_log(as->p, SBX_LOG_WARN, "stub %d died",
			    (int)as->pid);
		return -ESRCH;
	}
	if (syscall(SYS_tgkill, as->pid, t->tid, 0) && errno == ESRCH) {
		atomic_store(&t->dead, true);
		systrap_log(as->p, SBX_LOG_WARN, "stub thread %d/%d died",
			    (int)as->pid, (int)t->tid);
		return -ESRCH;
	}
	return 0;
}

/*
 * systrap_post - hand the stub @state.  The locked xchg orders the store
 * before the load of SH_STUB_WAIT (the stub sets that before its last look
 * at SH_STATE), so a sleeping stub is never missed.
 */
static void systrap_post(struct systrap_thread *t, uint32_t state)
{
	__atomic_exchange_n(systrap_word(t, SH_STATE), state,
			    __ATOMIC_SEQ_CST);
	if (__atomic_load_n(systrap_word(t, SH_STUB_WAIT), __ATOMIC_SEQ_CST))
		systrap_futex(systrap_word(t, SH_STATE), FUTEX_WAKE, 1, NULL);
}

/*
 * systrap_wait - wait for the stub to post an event: spin for spin_us,
 * then sleep, waking every SYSTRAP_LIVENESS_NS to check that it lives
 * (the core is not the stub's parent, so nothing else tells us).
 * @limit_ms: give up with -ETIMEDOUT after this long, 0 for never.
 */
static int systrap_wait(struct systrap_thread *t, long limit_ms)
{
	uint32_t *state = systrap_word(t, SH_STATE);
	uint32_t *waiting = systrap_word(t, SH_CORE_WAIT);
	struct timespec ts = { 0, SYSTRAP_LIVENESS_NS };
	uint64_t i;
	long waited = 0;
	uint32_t v;

	for (i = 0; i < t->as->p->spin_iters; i++) {
		if (__atomic_load_n(state, __ATOMIC_ACQUIRE) ==
		    SYSTRAP_ST_EVENT)
			return 0;
		__builtin_ia32_pause();
	}
	for (;;) {
		__atomic_exchange_n(waiting, 1, __ATOMIC_SEQ_CST);
		v = __atomic_load_n(state, __ATOMIC_SEQ_CST);
		if (v == SYSTRAP_ST_EVENT)
			break;
		if (systrap_futex(state, FUTEX_WAIT, v, &ts) && errno == ETIMEDOUT) {
			int err = systrap_alive(t);

			waited += SYSTRAP_LIVENESS_NS / 1000000;
			if (!err && limit_ms && waited >= limit_ms)
				err = -ETIMEDOUT;
			if (err) {
				__atomic_store_n(waiting, 0, __ATOMIC_RELAXED);
				return err;
			}
		}
	}
	__atomic_store_n(waiting, 0, __ATOMIC_RELAXED);
	return 0;
}

/*
 * systrap_op - have the parked stub thread @t (its @run held) run system
 * call @nr (mmap, munmap, mprotect or the clone of a new stub thread: the
 * filter allows nothing else) and return its result.
 */
static long systrap_op(struct systrap_thread *t, long nr, uint64_t a0,
		       uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
		       uint64_t a5)
{
	uint64_t *args = systrap_u64(t, SH_ARGS);
	int err;

	if (atomic_load(&t->as->dead) || atomic_load(&t->dead))
		return -ESRCH;
	*systrap_u64(t, SH_NR) = nr;
	args[0] = a0;
	args[1] = a1;
	args[2] = a2;
	args[3] = a3;
	args[4] = a4;
	args[5] = a5;
	systrap_post(t, SYSTRAP_ST_OP);
	err = systrap_wait(t, 0);
	if (err)
		return err;
	return (long)__atomic_load_n(systrap_u64(t, SH_RET), __ATOMIC_ACQUIRE);
}

/* systrap_calibrate - pause iterations per microsecond on this CPU. */
static uint64_t systrap_calibrate(void)
{
	struct timespec a, b;
	uint64_t i, n = 20000;
	double us;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++)
		__builtin_ia32_pause();
	clock_gettime(CLOCK_MONOTONIC, &b);
	us = (b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3;
	if (us < 1)
		us = 1;
	return n / us + 1;
}

/* ---- the seccomp filter --------------------------------------------------- */

/* struct seccomp_data offsets (little endian: low word first) */
#define SD_NR	      0
#define SD_ARCH	      4
#define SD_IP_LO      8
#define SD_IP_HI      12
#define SD_ARG_LO(i)  (16 + 8 * (i))
#define SD_ARG_HI(i)  (20 + 8 * (i))

struct systrap_bpf {
	struct sock_filter *f;
	unsigned n;
	bool overflow;
};

static void systrap_emit(struct systrap_bpf *b, uint16_t code, uint8_t jt,
			 uint8_t jf, uint32_t k)
{
	if (b->n >= SH_FILTER_MAX) {
		b->overflow = true;
		return;
	}
	b->f[b->n++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
}

static void systrap_ld(struct systrap_bpf *b, uint32_t off)
{
	systrap_emit(b, BPF_LD | BPF_W | BPF_ABS, 0, 0, off);
}

static void systrap_ret(struct systrap_bpf *b, uint32_t action)
{
	systrap_emit(b, BPF_RET | BPF_K, 0, 0, action);
}

/* kill unless the 32-bit word at @off equals @k */
static void systrap_need_eq(struct systrap_bpf *b, uint32_t off, uint32_t k)
{
	systrap_ld(b, off);
	systrap_emit(b, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, k);
	systrap_ret(b, SECCOMP_RET_KILL_PROCESS);
}

/* kill unless the 32-bit word at @off is below @k */
static void systrap_need_lt(struct systrap_bpf *b, uint32_t off, uint32_t k)
{
	systrap_ld(b, off);
	systrap_emit(b, BPF_JMP | BPF_JGE | BPF_K, 0, 1, k);
	systrap_ret(b, SECCOMP_RET_KILL_PROCESS);
}

/* kill unless the 32-bit word at @off is at least @k */
static void systrap_need_ge(struct systrap_bpf *b, uint32_t off, uint32_t k)
{
	systrap_ld(b, off);
	systrap_emit(b, BPF_JMP | BPF_JGE | BPF_K, 1, 0, k);
	systrap_ret(b, SECCOMP_RET_KILL_PROCESS);
}

/* kill if the 32-bit word at @off has any bit of @mask */
static void systrap_need_clear(struct systrap_bpf *b, uint32_t off,
			       uint32_t mask)
{
	systrap_ld(b, off);
	systrap_emit(b, BPF_JMP | BPF_JSET | BPF_K, 0, 1, mask);
	systrap_ret(b, SECCOMP_RET_KILL_PROCESS);
}

/* an address range argument pair (@a address, @a+1 length) */
static void systrap_need_user_range(struct systrap_bpf *b, int a)
{
	/*
	 * address < SYSTRAP_USER_MAX and length < 4 GiB, so the range ends
	 * below SYSTRAP_REGION: the stub's own pages are out of reach.
	 */
	systrap_need_lt(b, SD_ARG_HI(a), SYSTRAP_USER_MAX_HI);
	systrap_need_eq(b, SD_ARG_HI(a + 1), 0);
}

static void systrap_need_prot(struct systrap_bpf *b, int a)
{
	systrap_need_eq(b, SD_ARG_HI(a), 0);
	systrap_need_clear(b, SD_ARG_LO(a),
			   ~(uint32_t)(PROT_READ | PROT_WRITE | PROT_EXEC));
}

/*
 * A rule block: "if nr == @nr, run the checks that follow, then allow";
 * systrap_rule_end() patches the jump over the block.  The checks end in
 * RET (allow or kill), so the accumulator still holds nr after a block.
 */
static unsigned systrap_rule(struct systrap_bpf *b, int nr)
{
	systrap_emit(b, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, nr);
	return b->n - 1;
}

static void systrap_rule_end(struct systrap_bpf *b, unsigned at)
{
	systrap_ret(b, SECCOMP_RET_ALLOW);
	if (!b->overflow)
		b->f[at].jf = b->n - at - 1;
}

/*
 * systrap_build_filter - the stub's filter.  Order matters:
 *  1. another ABI (int 0x80, x32 is checked below) kills: the core speaks
 *     only x86-64, and no trampoline call is made that way;
 *  2. any call whose instruction pointer is not just after the trampoline's
 *     `syscall` traps (SIGSYS): that is every application system call;
 *  3. from the trampoline only these, with their arguments pinned down:
 *     rt_sigreturn (the handler's way back; it only loads registers the
 *       application could load anyway), exit_group (the stub gives up),
 *     futex WAIT/WAKE (the hand-off; any word, no other op),
 *     arch_prctl(ARCH_SET_FS) (when the CPU lacks FSGSBASE),
 *     mmap(user range, < 4 GiB, prot rwx, MAP_FIXED with MAP_SHARED or
 *       MAP_PRIVATE and nothing else, fd SYSTRAP_STUB_MEMFD or
 *       SYSTRAP_STUB_FILEFD), and munmap and mprotect of the user range;
 *     recvmsg(SYSTRAP_STUB_SOCK, any msghdr, MSG_DONTWAIT|MSG_CMSG_CLOEXEC)
 *       and close(SYSTRAP_STUB_FILEFD): receiving a donated file.  The
 *       application can make these calls too, through the trampoline: it
 *       could take a file the core is sending (only ever one it asked to
 *       map, so nothing it could not map anyway) or close the one being
 *       mapped; either makes that as_map fail, nothing more;
 *     clone with exactly SYSTRAP_CLONE_FLAGS (a thread of this stub: no
 *       new process, no tid or TLS pointers, ptid/ctid/tls zero), its new
 *       stack at SYSTRAP_BOOT_OFF of one of our slots: how the core gets a
 *       new stub thread (ctx_create); the thread inherits this filter, so
 *       it is as trapped as any other, whoever asks for it;
 *     exit(0) (ctx_destroy: this thread only; the application could as
 *       well stop its own thread with a futex wait);
 *     everything else, including x32 numbers, kills the stub.
 */
static int systrap_build_filter(struct sbx_platform *p)
{
	uint64_t ip = p->stub + (systrap_stub_trampoline - systrap_stub_code) + 2;
	uint64_t slots = p->stub + SYSTRAP_SH_OFF;
	uint64_t slots_end = p->stub + SYSTRAP_STUB_SIZE;
	struct systrap_bpf b = { .f = p->filter };
	unsigned at;
	int i;

	/* so that the clone rule can bound the stack with 32-bit compares */
	if (slots >> 32 != (slots_end - 1) >> 32 ||
	    (uint32_t)slots_end <= (uint32_t)slots) {
		systrap_log(p, SBX_LOG_ERROR,
			    "stub region %#lx crosses a 4 GiB boundary",
			    (unsigned long)p->stub);
		return -EINVAL;
	}

	systrap_need_eq(&b, SD_ARCH, AUDIT_ARCH_X86_64);

	systrap_ld(&b, SD_IP_HI);
	systrap_emit(&b, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, ip >> 32);
	systrap_ret(&b, SECCOMP_RET_TRAP);
	systrap_ld(&b, SD_IP_LO);
	systrap_emit(&b, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, (uint32_t)ip);
	systrap_ret(&b, SECCOMP_RET_TRAP);

	systrap_ld(&b, SD_NR);
	at = systrap_rule(&b, SYS_rt_sigreturn);
	systrap_rule_end(&b, at);
	at = systrap_rule(&b, SYS_exit_group);
	systrap_rule_end(&b, at);

	at = systrap_rule(&b, SYS_futex);
	systrap_ld(&b, SD_ARG_LO(1));
	systrap_emit(&b, BPF_JMP | BPF_JEQ | BPF_K, 2, 0, FUTEX_WAIT);
	systrap_emit(&b, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, FUTEX_WAKE);
	systrap_ret(&b, SECCOMP_RET_KILL_PROCESS);
	systrap_rule_end(&b, at);

	at = systrap_rule(&b, SYS_arch_prctl);
	systrap_need_eq(&b, SD_ARG_HI(0), 0);
	systrap_need_eq(&b, SD_ARG_LO(0), ARCH_SET_FS);
	systrap_rule_end(&b, at);

	at = systrap_rule(&b, SYS_mmap);
	systrap_need_user_range(&b, 0);
	systrap_need_prot(&b, 2);
	systrap_need_eq(&b, SD_ARG_HI(3), 0);
	systrap_ld(&b, SD_ARG_LO(3));
	systrap_emit(&b, BPF_JMP | BPF_JEQ | BPF_K, 2, 0, MAP_SHARED | MAP_FIXED);
	systrap_emit(&b, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, MAP_PRIVATE | MAP_FIXED);
	systrap_ret(&b, SECCOMP_RET_KILL_PROCESS);
	systrap_need_eq(&b, SD_ARG_HI(4), 0);
	systrap_ld(&b, SD_ARG_LO(4));
	systrap_emit(&b, BPF_JMP | BPF_JEQ | BPF_K, 2, 0, SYSTRAP_STUB_MEMFD);
	systrap_emit(&b, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, SYSTRAP_STUB_FILEFD);
	systrap_ret(&b, SECCOMP_RET_KILL_PROCESS);
	systrap_rule_end(&b, at);

	at = systrap_rule(&b, SYS_recvmsg);
	systrap_need_eq(&b, SD_ARG_HI(0), 0);
	systrap_need_eq(&b, SD_ARG_LO(0), SYSTRAP_STUB_SOCK);
	systrap_need_eq(&b, SD_ARG_HI(2), 0);
	systrap_need_eq(&b, SD_ARG_LO(2), MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	systrap_rule_end(&b, at);

	at = systrap_rule(&b, SYS_close);
	systrap_need_eq(&b, SD_ARG_HI(0), 0);
	systrap_need_eq(&b, SD_ARG_LO(0), SYSTRAP_STUB_FILEFD);
	systrap_rule_end(&b, at);

	at = systrap_rule(&b, SYS_munmap);
	systrap_need_user_range(&b, 0);
	systrap_rule_end(&b, at);

	at = systrap_rule(&b, SYS_clone);
	systrap_need_eq(&b, SD_ARG_HI(0), 0);
	systrap_need_eq(&b, SD_ARG_LO(0), SYSTRAP_CLONE_FLAGS);
	/* the stacks: [slot 0, slot end) share the high word (init checks) */
	systrap_need_eq(&b, SD_ARG_HI(1), slots >> 32);
	systrap_need_ge(&b, SD_ARG_LO(1), (uint32_t)slots);
	systrap_need_lt(&b, SD_ARG_LO(1), (uint32_t)slots_end);
	systrap_ld(&b, SD_ARG_LO(1));
	systrap_emit(&b, BPF_ALU | BPF_AND | BPF_K, 0, 0, SYSTRAP_SLOT - 1);
	systrap_emit(&b, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, SYSTRAP_BOOT_OFF);
	systrap_ret(&b, SECCOMP_RET_KILL_PROCESS);
	for (i = 2; i <= 4; i++) {
		systrap_need_eq(&b, SD_ARG_HI(i), 0);
		systrap_need_eq(&b, SD_ARG_LO(i), 0);
	}
	systrap_rule_end(&b, at);

	at = systrap_rule(&b, SYS_exit);
	systrap_need_eq(&b, SD_ARG_HI(0), 0);
	systrap_need_eq(&b, SD_ARG_LO(0), 0);
	systrap_rule_end(&b, at);

	at = systrap_rule(&b, SYS_mprotect);
	systrap_need_user_range(&b, 0);
	systrap_need_prot(&b, 2);
	systrap_rule_end(&b, at);

	systrap_ret(&b, SECCOMP_RET_KILL_PROCESS);
	if (b.overflow) {
		systrap_log(p, SBX_LOG_ERROR, "seccomp filter too long");
		return -E2BIG;
	}
	p->nfilter = b.n;
	return 0;
}

/* ---- the zygote and stub start-up ------------------------------------------ */

/* kernel struct sigaction (rt_sigaction), not glibc's */
struct systrap_ksigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

#define SYSTRAP_SA_RESTORER 0x04000000

/* what the zygote forks a stub with: fds and the stub's slot group */
struct systrap_zygote_fds {
	int sock, memfd, shmfd;
	pid_t self;
};

/*
 * systrap_stub_rseq_off - a fork child inherits the thread's rseq
 * registration; once the stub unmaps that memory the kernel would fault
 * the stub at its next return to user mode.  glibc registers 32 bytes;
 * __rseq_size may be the smaller feature size, so try both.
 */
static void systrap_stub_rseq_off(void)
{
	char *area = (char *)__builtin_thread_pointer() + __rseq_offset;

	if (__rseq_size == 0)
		return;
	if (syscall(SYS_rseq, area, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) &&
	    syscall(SYS_rseq, area, __rseq_size, RSEQ_FLAG_UNREGISTER,
		    RSEQ_SIG))
		syscall(SYS_exit_group, SYSTRAP_EXIT_RSEQ);
}

/*
 * systrap_stub_child - a new stub, between the zygote's fork and the stub
 * code.  Raw system calls only (a fork of a fork of a threaded process),
 * never returns.  Slot 0 of the group was filled in by the core beforehand.
 */
static __attribute__((noreturn)) void
systrap_stub_child(const struct sbx_platform *p,
		   const struct systrap_zygote_fds *z, int group, int sock)
{
	static const int sigs[] = { SIGSYS, SIGSEGV, SIGBUS, SIGFPE,
				    SIGILL, SIGTRAP, SYSTRAP_INTR_SIG };
	uintptr_t sh = p->stub + SYSTRAP_SH_OFF;
	struct systrap_ksigaction sa = {
		.handler = p->stub + (systrap_stub_handler - systrap_stub_code),
		.flags = SA_SIGINFO | SA_ONSTACK | SYSTRAP_SA_RESTORER,
		.restorer = p->stub + (systrap_stub_restorer -
				       systrap_stub_code),
		/* nothing nests: a fault in the handler kills the stub */
		.mask = ~0ULL,
	};
	struct systrap_ksigaction dfl = { .handler = (uint64_t)SIG_DFL };
	stack_t ss = {
		.ss_sp = (void *)(sh + SH_ALT),
		.ss_size = SYSTRAP_SLOT - SH_ALT,
	};
	uint64_t none = 0;
	unsigned i;

	/*
	 * Order matters: ask for SIGKILL on the zygote's death first, then
	 * check it is still our parent (else we were already reparented).
	 */
	if (syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) ||
	    syscall(SYS_getppid) != z->self)
		syscall(SYS_exit_group, SYSTRAP_EXIT_PARENT);
	/* out of the way of the numbers it must end at, then into place */
	sock = (int)syscall(SYS_fcntl, sock, F_DUPFD, SYSTRAP_STUB_FILEFD + 1);
	if (sock < 0 ||
	    syscall(SYS_dup3, z->memfd, SYSTRAP_STUB_MEMFD, 0) < 0 ||
	    syscall(SYS_dup3, sock, SYSTRAP_STUB_SOCK, 0) < 0)
		syscall(SYS_exit_group, SYSTRAP_EXIT_FDS);
	/*
	 * The group replaces the PROT_NONE reservation inherited from the
	 * core: all the slots this stub's threads will ever use, mapped now
	 * because the stub keeps no fd to map more later.
	 */
	if (syscall(SYS_mmap, sh, SYSTRAP_GROUP, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_FIXED, z->shmfd,
		    (long)group * SYSTRAP_GROUP) != (long)sh)
		syscall(SYS_exit_group, SYSTRAP_EXIT_MAP);
	/* only the memory file and our socket stay: not the zygote's
	 * socket or slots */
	if (syscall(SYS_close_range, SYSTRAP_STUB_SOCK + 1, ~0U, 0))
		syscall(SYS_exit_group, SYSTRAP_EXIT_FDS);
	systrap_stub_rseq_off();

	/* the core's handlers point at code the stub is about to unmap */
	for (i = 1; i <= 64; i++)
		if (i != SIGKILL && i != SIGSTOP)
			syscall(SYS_rt_sigaction, i, &dfl, NULL, 8);
	if (syscall(SYS_sigaltstack, &ss, NULL))
		syscall(SYS_exit_group, SYSTRAP_EXIT_SIG);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (syscall(SYS_rt_sigaction, sigs[i], &sa, NULL, 8))
			syscall(SYS_exit_group, SYSTRAP_EXIT_SIG);
	if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, 8))
		syscall(SYS_exit_group, SYSTRAP_EXIT_SIG);
	/* seccomp without CAP_SYS_ADMIN needs no_new_privs */
	if (syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		syscall(SYS_exit_group, SYSTRAP_EXIT_SECCOMP);
	((void (*)(void))(p->stub + (systrap_stub_start - systrap_stub_code)))();
	__builtin_unreachable();
}

/*
 * systrap_zygote_reply - send the core a new stub's pid (or -errno) and,
 * with it, the core's end of the stub's socket (@fd, unless -1).
 */
static void systrap_zygote_reply(int sock, long pid, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { &pid, sizeof(pid) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	syscall(SYS_sendmsg, sock, &msg, MSG_NOSIGNAL);
}

/*
 * systrap_zygote - serve stub requests until the core's end closes.
 * A request is a slot group number; the answer the new stub's pid or
 * -errno, with the core's end of the new stub's socket.
 */
static __attribute__((noreturn)) void
systrap_zygote(const struct sbx_platform *p, struct systrap_zygote_fds *z)
{
	struct systrap_ksigaction ign = { .handler = (uint64_t)SIG_IGN };
	int group;
	long pid;

	/* no terminal signals for stubs: they belong to the core */
	syscall(SYS_setsid);
	/* dead stubs are reaped by the kernel, never left as zombies */
	syscall(SYS_rt_sigaction, SIGCHLD, &ign, NULL, 8);
	z->self = syscall(SYS_getpid);
	for (;;) {
		long n = syscall(SYS_read, z->sock, &group, sizeof(group));

		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(group))
			syscall(SYS_exit_group, 0);
		int sv[2] = { -1, -1 };

		pid = -EINVAL;
		if (group >= 0 && group < SYSTRAP_NAS &&
		    syscall(SYS_socketpair, AF_UNIX, SOCK_SEQPACKET, 0, sv)) {
			pid = -errno;
		} else if (group >= 0 && group < SYSTRAP_NAS) {
			pid = syscall(SYS_clone, SIGCHLD, 0L, 0L, 0L, 0L);
			if (pid == 0)
				systrap_stub_child(p, z, group, sv[1]);
			if (pid < 0)
				pid = -errno;
		}
		systrap_zygote_reply(z->sock, pid, pid > 0 ? sv[0] : -1);
		if (sv[0] >= 0) {
			syscall(SYS_close, sv[0]);
			syscall(SYS_close, sv[1]);
		}
	}
}

/* systrap_keep_fds - in the zygote: move our three fds up, close the rest */
static void systrap_keep_fds(struct systrap_zygote_fds *z)
{
	int hi = z->sock;
	int a, b, c;

	if (z->memfd > hi)
		hi = z->memfd;
	if (z->shmfd > hi)
		hi = z->shmfd;
	a = fcntl(z->sock, F_DUPFD, hi + 1);
	b = a < 0 ? -1 : fcntl(z->memfd, F_DUPFD, a + 1);
	c = b < 0 ? -1 : fcntl(z->shmfd, F_DUPFD, b + 1);
	if (c < 0)
		syscall(SYS_exit_group, 1);
	syscall(SYS_close_range, 0, a - 1, 0);
	if (b > a + 1)
		syscall(SYS_close_range, a + 1, b - 1, 0);
	if (c > b + 1)
		syscall(SYS_close_range, b + 1, c - 1, 0);
	syscall(SYS_close_range, c + 1, ~0U, 0);
	z->sock = a;
	z->memfd = b;
	z->shmfd = c;
}

/*
 * systrap_zygote_start - fork the zygote, twice so that it is not our
 * child (the core's waits and its tests never see it).  Called from init,
 * before the core installs its own seccomp filter, which stubs must not
 * inherit.
 */
static int systrap_zygote_start(struct sbx_platform *p)
{
	struct systrap_zygote_fds z;
	int sv[2], status, err;
	long pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		err = -errno;
		systrap_log(p, SBX_LOG_ERROR, "socketpair: %s", strerror(-err));
		return err;
	}
	pid = syscall(SYS_clone, SIGCHLD, 0L, 0L, 0L, 0L);
	if (pid < 0) {
		err = -errno;
		systrap_log(p, SBX_LOG_ERROR, "fork zygote: %s", strerror(-err));
		goto out_close;
	}
	if (pid == 0) {
		long z2 = syscall(SYS_clone, SIGCHLD, 0L, 0L, 0L, 0L);

		if (z2 == 0) {
			z.sock = sv[1];
			z.memfd = p->svc->memfd;
			z.shmfd = p->shmfd;
			systrap_keep_fds(&z);
			systrap_zygote(p, &z);
		}
		syscall(SYS_exit_group, z2 < 0 ? 1 : 0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		systrap_log(p, SBX_LOG_ERROR, "fork zygote: failed");
		err = -ECHILD;
		goto out_close;
	}
	close(sv[1]);
	p->zsock = sv[0];
	return 0;

out_close:
	close(sv[0]);
	close(sv[1]);
	return err;
}

/* ---- platform --------------------------------------------------------------- */

static int systrap_parse_pin(const char *v, int *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "same"))
		*out = SYSTRAP_PIN_SAME;
	else if (!strcmp(v, "false") || !strcmp(v, "none"))
		*out = SYSTRAP_PIN_NONE;
	else if (!strcmp(v, "cross"))
		*out = SYSTRAP_PIN_CROSS;
	else
		return -EINVAL;
	return 0;
}

static int systrap_parse_options(struct sbx_platform *p,
				 const struct sbx_options *opts)
{
	const struct sbx_services *svc = p->svc;
	const char *key, *value;
	size_t iter = 0;
	int err;

	p->pin = SYSTRAP_PIN_CROSS;
	p->spin_us = 20;
	if (!opts || !svc->option_next)
		return 0;
	while (svc->option_next(opts, &iter, &key, &value) == 1) {
		if (!strcmp(key, "pin")) {
			if (systrap_parse_pin(value, &p->pin))
				return svc->option_error(opts, key,
							 "expected none, same, cross, true (same) or false (none), not '%s'",
							 value);
		} else if (!strcmp(key, "spin_us")) {
			err = svc->option_u64(opts, key, &p->spin_us);
			if (err)
				return err;
			if (p->spin_us > 10000)
				return svc->option_error(opts, key,
							 "at most 10000 (10 ms), not %llu",
							 (unsigned long long)p->spin_us);
		} else {
			return svc->option_error(opts, key,
						 "unknown option of the systrap platform (known: pin, spin_us)");
		}
	}
	return 0;
}

/*
 * systrap_map_stub - reserve the stub region (code page + slot) at a free
 * place above SYSTRAP_USER_MAX and put the stub code there.
 * MAP_FIXED_NOREPLACE never clobbers the core's own mappings (its stack and
 * vDSO may sit up there): a taken place moves us to the next one.
 */
static int systrap_map_stub(struct sbx_platform *p)
{
	size_t len = systrap_stub_code_end - systrap_stub_code;
	int i;

	for (i = 0; i < SYSTRAP_PROBES; i++) {
		uintptr_t want = SYSTRAP_REGION + (uintptr_t)i * SYSTRAP_STUB_SIZE;
		void *m;

		if (want + SYSTRAP_STUB_SIZE > SYSTRAP_USER_TOP)
			break;
		m = mmap((void *)want, SYSTRAP_STUB_SIZE, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE |
				 MAP_NORESERVE,
			 -1, 0);
		if (m == MAP_FAILED && errno == EEXIST)
			continue;
		if (m == MAP_FAILED || (uintptr_t)m != want) {
			if (m != MAP_FAILED)
				munmap(m, SYSTRAP_STUB_SIZE);
			systrap_log(p, SBX_LOG_ERROR,
				    "mmap stub region %#lx: %s (Linux >= 4.17 needed)",
				    (unsigned long)want, strerror(errno));
			return -ENODEV;
		}
		if (mprotect(m, SYSTRAP_PAGE, PROT_READ | PROT_WRITE))
			goto out_unmap;
		memcpy(m, systrap_stub_code, len);
		if (mprotect(m, SYSTRAP_PAGE, PROT_READ | PROT_EXEC))
			goto out_unmap;
		p->stub = want;
		return 0;
out_unmap:
		i = -errno;
		munmap(m, SYSTRAP_STUB_SIZE);
		systrap_log(p, SBX_LOG_ERROR, "mprotect stub page: %s",
			    strerror(-i));
		return i;
	}
	systrap_log(p, SBX_LOG_ERROR, "no free stub region above %#llx",
		    (unsigned long long)SYSTRAP_REGION);
	return -EEXIST;
}

static int systrap_init(const struct sbx_services *svc,
			const struct sbx_options *opts,
			struct sbx_platform **out)
{
	size_t shm_len = SYSTRAP_SHM_LEN;
	struct sbx_platform *p;
	int err;

	_Static_assert(SYSTRAP_STUB_SIZE >= SYSTRAP_SH_OFF + SYSTRAP_SLOT,
		       "the slot must fit the stub region");
	_Static_assert(SH_FILTER + SH_FILTER_MAX * 8 <= SH_ALT,
		       "the filter must fit before the alt stack");
	if (svc->size < offsetof(struct sbx_services, memfd) + sizeof(int))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->svc = svc;
	p->shmfd = -1;
	p->zsock = -1;
	pthread_mutex_init(&p->lock, NULL);
	err = systrap_parse_options(p, opts);
	if (err)
		goto out_free;
	p->fsgsbase = !!(getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE);
	if (sched_getaffinity(0, sizeof(p->cpus), &p->cpus))
		CPU_ZERO(&p->cpus);
	p->spin_iters = p->spin_us * systrap_calibrate();

	err = systrap_map_stub(p);
	if (err)
		goto out_free;
	err = systrap_build_filter(p);
	if (err)
		goto out_unmap_stub;
	p->shmfd = memfd_create("sbx-systrap", MFD_CLOEXEC);
	if (p->shmfd < 0 || ftruncate(p->shmfd, shm_len)) {
		err = -errno;
		systrap_log(p, SBX_LOG_ERROR, "shared memfd: %s",
			    strerror(-err));
		goto out_close_shm;
	}
	p->shm = mmap(NULL, shm_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		      p->shmfd, 0);
	if (p->shm == MAP_FAILED) {
		err = -errno;
		goto out_close_shm;
	}
	/* last: the zygote is a snapshot of everything above */
	err = systrap_zygote_start(p);
	if (err)
		goto out_unmap_shm;
	systrap_log(p, SBX_LOG_DEBUG,
		    "stub region %#lx, spin %llu us (%llu iterations), pin %s, fsgsbase %s",
		    (unsigned long)p->stub, (unsigned long long)p->spin_us,
		    (unsigned long long)p->spin_iters, p->pin == SYSTRAP_PIN_SAME ? "same" :
		    p->pin == SYSTRAP_PIN_CROSS ? "cross" : "none",
		    p->fsgsbase ? "yes" : "no");
	*out = p;
	return 0;

out_unmap_shm:
	munmap(p->shm, shm_len);
out_close_shm:
	if (p->shmfd >= 0)
		close(p->shmfd);
out_unmap_stub:
	munmap((void *)p->stub, SYSTRAP_STUB_SIZE);
out_free:
	free(p);
	return err;
}

static void systrap_fini(struct sbx_platform *p)
{
	if (!p)
		return;
	/* EOF on its socket ends the zygote, and PDEATHSIG any stub left */
	close(p->zsock);
	munmap(p->shm, SYSTRAP_SHM_LEN);
	close(p->shmfd);
	munmap((void *)p->stub, SYSTRAP_STUB_SIZE);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static int systrap_describe(struct sbx_platform *p,
			    struct sbx_platform_info *info)
{
	(void)p;
	if (info->size < sizeof(*info))
		return -EINVAL;
	info->flags = SBX_PLATFORM_MULTI_AS | SBX_PLATFORM_MULTI_CTX;
	info->max_threads = 0;
	info->user_min = SYSTRAP_USER_MIN;
	info->user_max = SYSTRAP_USER_MAX;
	return 0;
}

/*
 * The core's host calls on behalf of this plugin after start-up.  Stubs
 * come from the zygote, forked before the core's filter, so nothing here
 * is for them: their own filter is systrap_build_filter's.
 */
static int systrap_seccomp_rules(struct sbx_platform *p, void *scmp_ctx)
{
	static const int calls[] = {
		SCMP_SYS(futex),	     SCMP_SYS(read),
		SCMP_SYS(write),	     SCMP_SYS(close),
		SCMP_SYS(pidfd_open),	     SCMP_SYS(pidfd_send_signal),
		SCMP_SYS(ppoll),	     SCMP_SYS(fallocate),
		SCMP_SYS(munmap),	     SCMP_SYS(sched_setaffinity),
		SCMP_SYS(getcpu),	     SCMP_SYS(getpid),
		SCMP_SYS(gettid),	     SCMP_SYS(clock_gettime),
		/* donated files to stubs (SCM_RIGHTS), stub sockets */
		SCMP_SYS(sendmsg),	     SCMP_SYS(recvmsg),
		/* interrupt() and liveness checks of one stub thread */
		SCMP_SYS(tgkill),
	};
	size_t i;
	int err;

	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		err = seccomp_rule_add(scmp_ctx, SCMP_ACT_ALLOW, calls[i], 0);
		if (err) {
			systrap_log(p, SBX_LOG_ERROR, "seccomp_rule_add %d: %s",
				    calls[i], strerror(-err));
			return err;
		}
	}
	return 0;
}

/* ---- address spaces ----------------------------------------------------------- */

/*
 * systrap_pin - pin the calling thread to the CPU it runs on, and the stub
 * @pid to the same CPU (SYSTRAP_PIN_SAME) or to the next allowed one
 * (SYSTRAP_PIN_CROSS: both sides can then spin while the other works).
 */
static void systrap_pin(struct sbx_platform *p, pid_t pid)
{
	cpu_set_t set;
	int cpu = sched_getcpu(), other, i, n = CPU_SETSIZE;

	if (cpu < 0)
		return;
	other = cpu;
	if (p->pin == SYSTRAP_PIN_CROSS) {
		/* from the set at init: ours may be one CPU by now */
		for (i = 1; i < n; i++) {
			if (CPU_ISSET((cpu + i) % n, &p->cpus)) {
				other = (cpu + i) % n;
				break;
			}
		}
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		goto out_warn;
	CPU_ZERO(&set);
	CPU_SET(other, &set);
	if (sched_setaffinity(pid, sizeof(set), &set))
		goto out_warn;
	return;
out_warn:
	systrap_log(p, SBX_LOG_WARN, "sched_setaffinity cpu %d/%d: %s", cpu,
		    other, strerror(errno));
}

static int systrap_group_get(struct sbx_platform *p)
{
	int i;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i < SYSTRAP_NAS; i++) {
		if (!p->group_used[i]) {
			p->group_used[i] = true;
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return i < SYSTRAP_NAS ? i : -EAGAIN;
}

/* systrap_zero - give memfd pages back (they read as zeros) */
static void systrap_zero(struct sbx_platform *p, size_t off, size_t len)
{
	if (fallocate(p->shmfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len))
		memset(p->shm + off, 0, len);
}

/* systrap_group_put - free a group of slots */
static void systrap_group_put(struct sbx_platform *p, int group)
{
	systrap_zero(p, (size_t)group * SYSTRAP_GROUP, SYSTRAP_GROUP);
	pthread_mutex_lock(&p->lock);
	p->group_used[group] = false;
	pthread_mutex_unlock(&p->lock);
}

/*
 * systrap_spawn - ask the zygote for a stub on @group: its pid (and in
 * *@sock the core's end of its socket) or -errno.
 */
static long systrap_spawn(struct sbx_platform *p, int group, int *sock)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	long pid = -EPIPE;
	struct iovec iov = { &pid, sizeof(pid) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c;

	*sock = -1;
	/* one request at a time, so answers are not crossed */
	pthread_mutex_lock(&p->lock);
	if (write(p->zsock, &group, sizeof(group)) != sizeof(group) ||
	    recvmsg(p->zsock, &msg, MSG_CMSG_CLOEXEC) != sizeof(pid))
		pid = -EPIPE;
	pthread_mutex_unlock(&p->lock);
	c = pid > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(sock, CMSG_DATA(c), sizeof(int));
	if (pid > 0 && *sock < 0) {
		systrap_log(p, SBX_LOG_ERROR, "the zygote sent no socket");
		kill(pid, SIGKILL);
		pid = -EPROTO;
	}
	if (pid == -EPIPE)
		systrap_log(p, SBX_LOG_ERROR, "the stub zygote is gone");
	return pid;
}

/* systrap_reap - kill the stub and wait (up to 1 s) until it is gone */
static bool systrap_reap(struct sbx_as *as)
{
	struct pollfd pfd = { .fd = as->pidfd, .events = POLLIN };
	struct timespec ts = { 1, 0 };
	int r;

	if (as->pidfd < 0)
		return true;
	syscall(SYS_pidfd_send_signal, as->pidfd, SIGKILL, NULL, 0);
	do
		r = ppoll(&pfd, 1, &ts, NULL);
	while (r < 0 && errno == EINTR);
	atomic_store(&as->dead, true);
	return r == 1;
}

/*
 * systrap_slot_init - the control words of slot @t->idx for a new stub
 * thread.  The slot may have served an earlier thread of this address
 * space (the application could write it then, and still can: nothing in
 * it is trusted).
 */
static void systrap_slot_init(struct sbx_platform *p, struct systrap_thread *t)
{
	memset(t->sh, 0, SH_ALT);
	*systrap_u64(t, SH_SPIN) = p->spin_iters;
	*systrap_word(t, SH_FLAGS) = p->fsgsbase ? SYSTRAP_F_FSGSBASE : 0;
	atomic_store(&t->dead, false);
	atomic_store(&t->claim, 0);
	t->owner = NULL;
	t->tid = 0;
	__atomic_store_n(systrap_word(t, SH_STATE), SYSTRAP_ST_STUB,
			 __ATOMIC_SEQ_CST);
}

/*
 * systrap_first_event - wait for a new stub thread to report: it traps
 * once (ud2 at systrap_stub_first_trap) and parks in its handler.
 */
static int systrap_first_event(struct systrap_thread *t)
{
	struct sbx_platform *p = t->as->p;
	ucontext_t *uc;
	int err;

	err = systrap_wait(t, SYSTRAP_START_MS);
	if (err) {
		systrap_log(p, SBX_LOG_ERROR,
			    "stub %d/%d did not start (%s)%s", t->as->pid,
			    t->tid, strerror(-err),
			    err == -ESRCH ? ": it died during start-up" : "");
		return err;
	}
	uc = systrap_core_ptr(t, *systrap_u64(t, SH_UCTX), sizeof(*uc));
	if (*systrap_u64(t, SH_SIGNO) != SIGILL || !uc ||
	    uc->uc_mcontext.gregs[REG_RIP] !=
		    (greg_t)(p->stub + (systrap_stub_first_trap -
					systrap_stub_code))) {
		systrap_log(p, SBX_LOG_ERROR,
			    "stub %d/%d: unexpected first event", t->as->pid,
			    t->tid);
		return -EPROTO;
	}
	return 0;
}

static int systrap_as_create(struct sbx_platform *p, struct sbx_as **out)
{
	struct systrap_thread *t;
	struct sock_fprog *prog;
	struct sbx_as *as;
	long pid;
	int err, i;

	as = calloc(1, sizeof(*as));
	if (!as)
		return -ENOMEM;
	as->p = p;
	as->pidfd = -1;
	as->sock = -1;
	pthread_mutex_init(&as->op_lock, NULL);
	as->group = systrap_group_get(p);
	if (as->group < 0) {
		err = as->group;
		systrap_log(p, SBX_LOG_ERROR, "all %d stub slot groups in use",
			    SYSTRAP_NAS);
		goto out_free;
	}
	for (i = 0; i < SYSTRAP_MAX_CTX; i++) {
		t = &as->t[i];
		t->as = as;
		t->idx = i;
		t->sh = p->shm + (size_t)as->group * SYSTRAP_GROUP +
			(size_t)i * SYSTRAP_SLOT;
		t->sh_addr = p->stub + SYSTRAP_SH_OFF + (uint64_t)i * SYSTRAP_SLOT;
		t->state = SYSTRAP_T_FREE;
		pthread_mutex_init(&t->run, NULL);
	}

	/* the leader: slot 0, which also holds the filter the stub installs */
	t = &as->t[0];
	systrap_slot_init(p, t);
	memcpy(t->sh + SH_FILTER, p->filter,
	       p->nfilter * sizeof(p->filter[0]));
	prog = (struct sock_fprog *)(t->sh + SH_PROG);
	prog->len = p->nfilter;
	prog->filter = (struct sock_filter *)(t->sh_addr + SH_FILTER);

	pid = systrap_spawn(p, as->group, &as->sock);
	if (pid < 0) {
		err = pid;
		systrap_log(p, SBX_LOG_ERROR, "fork stub: %s", strerror(-err));
		goto out_group;
	}
	as->pid = pid;
	t->tid = pid;
	t->state = SYSTRAP_T_LIVE;
	as->pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (as->pidfd < 0) {
		err = -errno;
		systrap_log(p, SBX_LOG_ERROR, "pidfd_open stub %ld: %s", pid,
			    strerror(-err));
		kill(pid, SIGKILL);
		goto out_group;
	}
	if (p->pin != SYSTRAP_PIN_NONE)
		systrap_pin(p, pid);

	/* a ready stub parks in its handler with a SIGILL from the start code */
	err = systrap_first_event(t);
	if (err)
		goto out_reap;
	systrap_log(p, SBX_LOG_DEBUG, "stub %d on slot group %d", as->pid,
		    as->group);
	*out = as;
	return 0;

out_reap:
	if (!systrap_reap(as)) {
		/* still alive: it may write the slots, so never reuse them */
		close(as->pidfd);
		close(as->sock);
		free(as);
		return err;
	}
	close(as->pidfd);
out_group:
	systrap_group_put(p, as->group);
out_free:
	if (as->sock >= 0)
		close(as->sock);
	for (i = 0; i < SYSTRAP_MAX_CTX; i++)
		pthread_mutex_destroy(&as->t[i].run);
	pthread_mutex_destroy(&as->op_lock);
	free(as);
	return err;
}

static int systrap_interrupt(struct sbx_ctx *ctx);

/*
 * systrap_park_get - a parked stub thread of @as for an op, its @run
 * held; as->op_lock held.  The caller's own context first (the core makes
 * as ops from the thread of the context whose system call needs them, and
 * that context is parked meanwhile), then a spare, then any context not
 * running.  If every thread runs application code, borrow one: claim it,
 * interrupt it, and take @run when its switch_to returns (the claim keeps
 * its next switch_to waiting until we are done; see systrap_switch_to).
 * The core sees a spurious SBX_EXIT_INTERRUPT there, which the ABI allows.
 */
static struct systrap_thread *systrap_park_get(struct sbx_as *as)
{
	struct sbx_ctx *self = systrap_self;
	struct systrap_thread *t, *any = NULL;
	int i, pass;

	for (pass = 0; pass < 3; pass++) {
		for (i = 0; i < SYSTRAP_MAX_CTX; i++) {
			t = &as->t[i];
			if (t->state != SYSTRAP_T_LIVE || atomic_load(&t->dead))
				continue;
			if (pass == 0 && (!self || t->owner != self))
				continue;
			if (pass == 1 && t->owner)
				continue;
			if (!pthread_mutex_trylock(&t->run))
				return t;
			if (!any)
				any = t;
		}
	}
	if (!any)
		return NULL;
	atomic_store(&any->claim, 1);
	if (any->owner)
		systrap_interrupt(any->owner);
	pthread_mutex_lock(&any->run);
	return any;
}

static void systrap_park_put(struct systrap_thread *t)
{
	atomic_store(&t->claim, 0);
	pthread_mutex_unlock(&t->run);
}

/* systrap_check_range - defence in depth: the core checks this too */
static int systrap_check_range(struct sbx_as *as, uint64_t addr, uint64_t len)
{
	if ((addr | len) & (SYSTRAP_PAGE - 1) || len == 0 ||
	    addr < SYSTRAP_USER_MIN || addr >= SYSTRAP_USER_MAX ||
	    len > SYSTRAP_USER_MAX - addr) {
		systrap_log(as->p, SBX_LOG_ERROR,
			    "range [%#llx, +%#llx) outside the user range",
			    (unsigned long long)addr, (unsigned long long)len);
		return -EINVAL;
	}
	return 0;
}

/* The filter allows ranges under 4 GiB per call: bigger ones are split. */
#define SYSTRAP_CHUNK (1ULL << 30)

/*
 * systrap_receive - make parked stub thread @t hold donated file @fd at
 * SYSTRAP_STUB_FILEFD: send it over the stub's socket with a sequence
 * number, and have @t recvmsg it into the msghdr of its slot.  A message
 * with an older number (one whose receive failed earlier) is closed and
 * the next one taken.  The slot and the fd number are the application's
 * to tamper with: the worst it can do is make this fail, or make the stub
 * map a file the core once sent it to map.  as->op_lock held.
 */
static int systrap_receive(struct sbx_as *as, struct systrap_thread *t, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	uint64_t seq = ++as->seq;
	struct iovec iov = { &seq, sizeof(seq) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c;
	int tries;
	long r;

	_Static_assert(SH_FILTER + SH_FILTER_MAX * sizeof(struct sock_filter) <=
			       SH_MSG &&
		       SH_MSG + sizeof(struct msghdr) <= SH_MSG_IOV &&
		       SH_MSG_CTL_LEN == CMSG_SPACE(sizeof(int)) &&
		       SH_MSG_CTL + SH_MSG_CTL_LEN <= SH_ALT,
		       "slot layout");
	memset(&u, 0, sizeof(u));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(as->sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) != sizeof(seq))
		return -errno ? -errno : -EIO;
	for (tries = 0; tries < 4; tries++) {
		struct msghdr *sm = (struct msghdr *)(t->sh + SH_MSG);
		struct iovec *si = (struct iovec *)(t->sh + SH_MSG_IOV);
		uint64_t got;
		int nfd = -1;

		memset(t->sh + SH_MSG, 0, SH_MSG_CTL + SH_MSG_CTL_LEN - SH_MSG);
		si->iov_base = (void *)(t->sh_addr + SH_MSG_DATA);
		si->iov_len = sizeof(uint64_t);
		sm->msg_iov = (struct iovec *)(t->sh_addr + SH_MSG_IOV);
		sm->msg_iovlen = 1;
		sm->msg_control = (void *)(t->sh_addr + SH_MSG_CTL);
		sm->msg_controllen = SH_MSG_CTL_LEN;
		r = systrap_op(t, SYS_recvmsg, SYSTRAP_STUB_SOCK,
			       t->sh_addr + SH_MSG,
			       MSG_DONTWAIT | MSG_CMSG_CLOEXEC, 0, 0, 0);
		if (r < 0)
			return (int)r;
		memcpy(&got, t->sh + SH_MSG_DATA, sizeof(got));
		c = (struct cmsghdr *)(t->sh + SH_MSG_CTL);
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&nfd, CMSG_DATA(c), sizeof(int));
		if (nfd != SYSTRAP_STUB_FILEFD) {
			/* another file already sits at FILEFD: only the
			 * application's own calls can have put it there */
			systrap_log(as->p, SBX_LOG_WARN,
				    "stub %d: donated file received at fd %d",
				    as->pid, nfd);
			return -EIO;
		}
		if (r == sizeof(seq) && got == seq)
			return 0;
		systrap_op(t, SYS_close, SYSTRAP_STUB_FILEFD, 0, 0, 0, 0, 0);
	}
	return -EIO;
}

/*
 * systrap_as_ops - run @nr over [@addr, +@len) in chunks, on one parked
 * stub thread, serialised with every other op of @as.  mmap returns the
 * address, munmap and mprotect 0.  An mmap of @fd >= 0 (a donated file)
 * first hands the stub the file and closes it there afterwards.
 */
static int systrap_as_ops(struct sbx_as *as, long nr, uint64_t addr,
			  uint64_t len, int prot, int mflags, uint64_t offset,
			  int fd)
{
	struct systrap_thread *t;
	uint64_t done, n;
	long r = 0;
	int err = 0, sfd = SYSTRAP_STUB_MEMFD;

	if (atomic_load(&as->dead))
		return -ESRCH;
	pthread_mutex_lock(&as->op_lock);
	t = systrap_park_get(as);
	if (!t) {
		pthread_mutex_unlock(&as->op_lock);
		return -ESRCH;
	}
	if (fd >= 0) {
		err = systrap_receive(as, t, fd);
		sfd = SYSTRAP_STUB_FILEFD;
	}
	for (done = 0; done < len && !err; done += n) {
		n = len - done < SYSTRAP_CHUNK ? len - done : SYSTRAP_CHUNK;
		if (nr == SYS_mmap)
			r = systrap_op(t, nr, addr + done, n, prot, mflags,
				       sfd, offset + done);
		else
			r = systrap_op(t, nr, addr + done, n, prot, 0, 0, 0);
		if (r < 0 && r > -4096) {
			err = r;
		} else if (nr == SYS_mmap && (uint64_t)r != addr + done) {
			systrap_log(as->p, SBX_LOG_ERROR,
				    "as_map: stub mapped %#lx instead of %#llx",
				    r, (unsigned long long)(addr + done));
			err = -EFAULT;
		} else if (nr != SYS_mmap && r) {
			err = -EFAULT;
		}
	}
	if (fd >= 0)
		systrap_op(t, SYS_close, SYSTRAP_STUB_FILEFD, 0, 0, 0, 0, 0);
	systrap_park_put(t);
	pthread_mutex_unlock(&as->op_lock);
	return err;
}

static int systrap_as_map(struct sbx_as *as, uint64_t addr, uint64_t len,
			  int prot, int fd, uint64_t offset, uint32_t flags)
{
	int mflags = MAP_FIXED;
	int err;

	err = systrap_check_range(as, addr, len);
	if (err)
		return err;
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	if (flags == SBX_MAP_SHARED)
		mflags |= MAP_SHARED;
	else if (flags == SBX_MAP_PRIVATE)
		mflags |= MAP_PRIVATE;
	else
		return -EINVAL;
	return systrap_as_ops(as, SYS_mmap, addr, len, prot, mflags, offset,
			      fd == as->p->svc->memfd ? -1 : fd);
}

static int systrap_as_unmap(struct sbx_as *as, uint64_t addr, uint64_t len)
{
	int err = systrap_check_range(as, addr, len);

	if (err)
		return err;
	return systrap_as_ops(as, SYS_munmap, addr, len, 0, 0, 0, -1);
}

static int systrap_as_protect(struct sbx_as *as, uint64_t addr, uint64_t len,
			      int prot)
{
	int err = systrap_check_range(as, addr, len);

	if (err)
		return err;
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	return systrap_as_ops(as, SYS_mprotect, addr, len, prot, 0, 0, -1);
}

static void systrap_as_destroy(struct sbx_as *as)
{
	int i;

	if (!as)
		return;
	if (systrap_reap(as))
		systrap_group_put(as->p, as->group);
	else
		systrap_log(as->p, SBX_LOG_WARN,
			    "stub %d outlived SIGKILL; slot group %d not reused",
			    as->pid, as->group);
	close(as->pidfd);
	close(as->sock);
	for (i = 0; i < SYSTRAP_MAX_CTX; i++)
		pthread_mutex_destroy(&as->t[i].run);
	pthread_mutex_destroy(&as->op_lock);
	free(as);
}

/* ---- contexts ----------------------------------------------------------------- */

/*
 * systrap_clone_thread - a new stub thread on a free slot: a parked thread
 * runs clone() for us (the stub process has no other way to grow one, and
 * the filter pins the flags and the stack), and the child starts at
 * systrap_stub_thread_entry with the frame prepared here: its rt_sigreturn
 * sets its alternate stack to its slot, unblocks signals and "returns" to
 * the first trap, so it parks in its handler like a new stub does.
 * as->op_lock held.
 */
static struct systrap_thread *systrap_clone_thread(struct sbx_as *as,
						   int *errp)
{
	struct sbx_platform *p = as->p;
	struct systrap_thread *t = NULL, *src;
	ucontext_t *uc;
	uint64_t *sp;
	long tid;
	int i, err;

	for (i = 1; i < SYSTRAP_MAX_CTX && !t; i++)
		if (as->t[i].state == SYSTRAP_T_FREE)
			t = &as->t[i];
	if (!t) {
		systrap_log(p, SBX_LOG_ERROR,
			    "stub %d: all %d contexts in use", as->pid,
			    SYSTRAP_MAX_CTX);
		*errp = -EAGAIN;
		return NULL;
	}
	systrap_slot_init(p, t);
	sp = (uint64_t *)(t->sh + SYSTRAP_BOOT_OFF);
	sp[0] = p->stub + (systrap_stub_thread_entry - systrap_stub_code);
	/* rt_sigreturn reads the frame at rsp - 8: the ucontext follows */
	uc = (ucontext_t *)(sp + 1);
	memset(uc, 0, offsetof(ucontext_t, uc_sigmask) + 8);
	uc->uc_stack.ss_sp = (void *)(t->sh_addr + SH_ALT);
	uc->uc_stack.ss_size = SYSTRAP_SLOT - SH_ALT;
	uc->uc_mcontext.gregs[REG_RIP] =
		p->stub + (systrap_stub_first_trap - systrap_stub_code);
	/* user code and stack selectors (__USER_CS, __USER_DS) */
	uc->uc_mcontext.gregs[REG_CSGSFS] = 0x33 | (0x2bULL << 48);
	uc->uc_mcontext.gregs[REG_EFL] = 0x202;
	/* fpregs NULL: the new thread starts with the initial FPU state */

	src = systrap_park_get(as);
	if (!src) {
		*errp = -ESRCH;
		return NULL;
	}
	tid = systrap_op(src, SYS_clone, SYSTRAP_CLONE_FLAGS,
			 t->sh_addr + SYSTRAP_BOOT_OFF, 0, 0, 0, 0);
	systrap_park_put(src);
	if (tid <= 0 || tid > INT32_MAX) {
		err = tid < 0 && tid > -4096 ? (int)tid : -EPROTO;
		systrap_log(p, SBX_LOG_ERROR, "stub %d: clone thread: %s",
			    as->pid, strerror(-err));
		*errp = err;
		return NULL;
	}
	t->tid = tid;
	t->state = SYSTRAP_T_LIVE;
	err = systrap_first_event(t);
	if (err) {
		/* whatever it is doing, it may still use the slot */
		t->state = SYSTRAP_T_LOST;
		*errp = err;
		return NULL;
	}
	if (p->pin != SYSTRAP_PIN_NONE)
		systrap_pin(p, t->tid);
	systrap_log(p, SBX_LOG_DEBUG, "stub %d: thread %d on slot %d",
		    as->pid, t->tid, t->idx);
	return t;
}

/*
 * ctx_create - a spare stub thread if there is one (the leader before the
 * first context, or after its context went), else a new one.  Callable
 * while other contexts of @as run.
 */
static int systrap_ctx_create(struct sbx_as *as, struct sbx_ctx **out)
{
	struct systrap_thread *t = NULL;
	struct sbx_ctx *ctx;
	int i, err = 0;

	if (atomic_load(&as->dead))
		return -ESRCH;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	pthread_mutex_lock(&as->op_lock);
	for (i = 0; i < SYSTRAP_MAX_CTX && !t; i++)
		if (as->t[i].state == SYSTRAP_T_LIVE && !as->t[i].owner &&
		    !atomic_load(&as->t[i].dead))
			t = &as->t[i];
	if (!t)
		t = systrap_clone_thread(as, &err);
	if (t) {
		ctx->as = as;
		ctx->t = t;
		t->owner = ctx;
	}
	pthread_mutex_unlock(&as->op_lock);
	if (!t) {
		free(ctx);
		return err;
	}
	systrap_self = ctx;
	*out = ctx;
	return 0;
}

/*
 * ctx_destroy - a thread other than the leader exits (SYSTRAP_ST_EXIT) and
 * its slot is free once the kernel has reaped it.  The leader stays,
 * parked, as the spare that runs ops and the next ctx_create: a zombie
 * leader would hide the liveness of the process from tgkill and the
 * pidfd.  as_destroy kills them all.
 */
static void systrap_ctx_destroy(struct sbx_ctx *ctx)
{
	struct sbx_as *as;
	struct systrap_thread *t;
	struct timespec ts = { 0, 10000 };
	int i;

	if (!ctx)
		return;
	as = ctx->as;
	t = ctx->t;
	pthread_mutex_lock(&as->op_lock);
	t->owner = NULL;
	if (t->idx != 0 && t->state == SYSTRAP_T_LIVE) {
		pthread_mutex_lock(&t->run);
		if (!atomic_load(&t->dead) && !atomic_load(&as->dead))
			systrap_post(t, SYSTRAP_ST_EXIT);
		/* the slot may be reused only when the thread is gone; it
		 * usually is within tens of microseconds, and this holds
		 * op_lock (ctx_create waits): back off from 10 us to 1 ms,
		 * giving up after about a second */
		for (i = 0; i < 1000; i++) {
			if (atomic_load(&as->dead) ||
			    (syscall(SYS_tgkill, as->pid, t->tid, 0) &&
			     errno == ESRCH))
				break;
			ppoll(NULL, 0, &ts, NULL);
			if (ts.tv_nsec < 1000000)
				ts.tv_nsec *= 2;
		}
		if (i < 1000) {
			t->state = SYSTRAP_T_FREE;
		} else {
			t->state = SYSTRAP_T_LOST;
			systrap_log(as->p, SBX_LOG_WARN,
				    "stub thread %d/%d did not exit; slot %d not reused",
				    as->pid, t->tid, t->idx);
		}
		pthread_mutex_unlock(&t->run);
	}
	pthread_mutex_unlock(&as->op_lock);
	if (systrap_self == ctx)
		systrap_self = NULL;
	free(ctx);
}

/*
 * interrupt - the signal is handled by the stub thread like any event.
 * Only the 0 -> 1 transition of pending sends one, and switch_to clears
 * pending only when it sees that signal: at most one is in flight, so none
 * is left over for a later interrupt.  While the thread is parked in its
 * handler every signal is blocked, so the signal waits there and is taken
 * as soon as rt_sigreturn unblocks it, before any application
 * instruction: the next switch_to returns at once.  tgkill, not the
 * pidfd: a process-directed signal could land on any thread.
 */
static int systrap_interrupt(struct sbx_ctx *ctx)
{
	struct sbx_as *as = ctx->as;

	if (atomic_exchange(&ctx->pending, 1))
		return 0;
	if (syscall(SYS_tgkill, as->pid, ctx->t->tid, SYSTRAP_INTR_SIG)) {
		int err = errno;

		atomic_store(&ctx->pending, 0);
		return -err;
	}
	return 0;
}

static void systrap_set_exit(struct sbx_exit *exit, uint32_t kind)
{
	exit->kind = kind;
	exit->signo = 0;
	exit->code = 0;
	exit->access = 0;
	exit->trapno = -1;
	exit->addr = 0;
}

/* the frame's ucontext (the kernel's is glibc's up to an 8-byte mask) */
static ucontext_t *systrap_uctx(struct systrap_thread *t)
{
	return systrap_core_ptr(t, *systrap_u64(t, SH_UCTX),
				offsetof(ucontext_t, uc_sigmask) + 8);
}

static bool systrap_canonical(uint64_t a)
{
	return a < 0x800000000000ULL || a >= 0xffff800000000000ULL;
}

/* systrap_put_regs - the core's registers into the frame rt_sigreturn loads */
static int systrap_put_regs(struct sbx_ctx *ctx, ucontext_t *uc,
			    const struct sbx_regs *r)
{
	struct systrap_thread *t = ctx->t;
	greg_t *g = uc->uc_mcontext.gregs;

	g[REG_R8] = r->r8;
	g[REG_R9] = r->r9;
	g[REG_R10] = r->r10;
	g[REG_R11] = r->r11;
	g[REG_R12] = r->r12;
	g[REG_R13] = r->r13;
	g[REG_R14] = r->r14;
	g[REG_R15] = r->r15;
	g[REG_RDI] = r->rdi;
	g[REG_RSI] = r->rsi;
	g[REG_RBP] = r->rbp;
	g[REG_RBX] = r->rbx;
	g[REG_RDX] = r->rdx;
	g[REG_RAX] = r->rax;
	g[REG_RCX] = r->rcx;
	g[REG_RSP] = r->rsp;
	g[REG_RIP] = r->rip;
	/* the kernel keeps what the application may not set (IOPL, VM ...) */
	g[REG_EFL] = r->eflags;
	/*
	 * rt_sigreturn also loads the signal mask and the alternate stack
	 * from the frame: reset both, so that a forged sigreturn by the
	 * application cannot keep our signals blocked or move our stack.
	 */
	memset(&uc->uc_sigmask, 0, 8);
	uc->uc_stack.ss_sp = (void *)(t->sh_addr + SH_ALT);
	uc->uc_stack.ss_flags = 0;
	uc->uc_stack.ss_size = SYSTRAP_SLOT - SH_ALT;

	if (!ctx->fs_known || r->fs_base != ctx->fs_base) {
		if (!systrap_canonical(r->fs_base))
			return -EINVAL;
		*systrap_u64(t, SH_FS_WANT) = r->fs_base;
		*systrap_word(t, SH_FLAGS) |= SYSTRAP_F_SET_FS;
		ctx->fs_base = r->fs_base;
		ctx->fs_known = true;
	}
	return 0;
}

static void systrap_get_regs(struct sbx_ctx *ctx, const ucontext_t *uc,
			     struct sbx_regs *r)
{
	struct systrap_thread *t = ctx->t;
	const greg_t *g = uc->uc_mcontext.gregs;
	uint64_t sel = g[REG_CSGSFS];

	r->r8 = g[REG_R8];
	r->r9 = g[REG_R9];
	r->r10 = g[REG_R10];
	r->r11 = g[REG_R11];
	r->r12 = g[REG_R12];
	r->r13 = g[REG_R13];
	r->r14 = g[REG_R14];
	r->r15 = g[REG_R15];
	r->rdi = g[REG_RDI];
	r->rsi = g[REG_RSI];
	r->rbp = g[REG_RBP];
	r->rbx = g[REG_RBX];
	r->rdx = g[REG_RDX];
	r->rax = g[REG_RAX];
	r->rcx = g[REG_RCX];
	r->rsp = g[REG_RSP];
	r->rip = g[REG_RIP];
	r->eflags = g[REG_EFL];
	r->orig_rax = -1;
	r->cs = sel & 0xffff;
	r->ss = sel >> 48;
	r->ds = r->es = r->fs = r->gs = 0;
	if (t->as->p->fsgsbase) {
		/* the application may have used wrfsbase itself */
		ctx->fs_base = *systrap_u64(t, SH_FS_CUR);
		ctx->fs_known = true;
	}
	r->fs_base = ctx->fs_base;
}

/* systrap_event - turn the stub's event into @exit and @regs */
static int systrap_event(struct sbx_ctx *ctx, struct sbx_regs *regs,
			 struct sbx_exit *exit)
{
	struct sbx_as *as = ctx->as;
	struct systrap_thread *t = ctx->t;
	int signo = (int)*systrap_u64(t, SH_SIGNO);
	const siginfo_t *sip;
	const ucontext_t *uc;
	siginfo_t si;

	sip = systrap_core_ptr(t, *systrap_u64(t, SH_SIGINFO), sizeof(si));
	uc = systrap_uctx(t);
	if (!sip || !uc) {
		/* the handler checks this too; the slot was tampered with */
		systrap_log(as->p, SBX_LOG_ERROR,
			    "stub %d: event frame outside its stack, killing it",
			    as->pid);
		systrap_reap(as);
		return -EFAULT;
	}
	memcpy(&si, sip, sizeof(si));
	systrap_get_regs(ctx, uc, regs);

	if (signo == SIGSYS && si.si_code == 1 /* SYS_SECCOMP */) {
		systrap_set_exit(exit, SBX_EXIT_SYSCALL);
		regs->orig_rax = regs->rax;
		regs->rax = -ENOSYS;
		return 0;
	}
	if ((signo == SIGSEGV || signo == SIGBUS || signo == SIGFPE ||
	     signo == SIGILL || signo == SIGTRAP) && si.si_code > 0) {
		uint64_t err = uc->uc_mcontext.gregs[REG_ERR];

		systrap_set_exit(exit, SBX_EXIT_FAULT);
		exit->signo = signo;
		exit->code = si.si_code;
		exit->trapno = (int32_t)uc->uc_mcontext.gregs[REG_TRAPNO];
		exit->addr = (uintptr_t)si.si_addr;
		if (signo != SIGSEGV && signo != SIGBUS && !exit->addr)
			exit->addr = regs->rip;
		if (signo == SIGSEGV && exit->trapno == 14) {
			/* page-fault error code: bit 1 write, bit 4 fetch */
			if (err & 16)
				exit->access = SBX_ACCESS_EXEC;
			else if (err & 2)
				exit->access = SBX_ACCESS_WRITE;
			else
				exit->access = SBX_ACCESS_READ;
		}
		return 0;
	}
	if (signo == SYSTRAP_INTR_SIG && si.si_code == SI_TKILL &&
	    si.si_pid == getpid())
		atomic_store(&ctx->pending, 0);
	/* our interrupt, or any host signal someone sent: suppressed */
	systrap_set_exit(exit, SBX_EXIT_INTERRUPT);
	return 0;
}

static int systrap_switch_to(struct sbx_ctx *ctx, struct sbx_regs *regs,
			     struct sbx_exit *exit)
{
	struct sbx_as *as = ctx->as;
	struct systrap_thread *t = ctx->t;
	ucontext_t *uc;
	int err;

	if (exit->size < sizeof(*exit))
		return -EINVAL;
	/*
	 * An op that found every thread running borrowed ours (park_get):
	 * let it finish first, else we could take @run straight back.  It
	 * holds op_lock until it is done.  One load on the fast path.
	 */
	while (atomic_load(&t->claim)) {
		pthread_mutex_lock(&as->op_lock);
		pthread_mutex_unlock(&as->op_lock);
	}
	pthread_mutex_lock(&t->run);
	if (atomic_load(&as->dead) || atomic_load(&t->dead)) {
		err = -ESRCH;
		goto out;
	}
	uc = systrap_uctx(t);
	if (!uc) {
		err = -EFAULT;
		goto out;
	}
	err = systrap_put_regs(ctx, uc, regs);
	if (err)
		goto out;
	systrap_post(t, SYSTRAP_ST_RESUME);
	err = systrap_wait(t, 0);
	if (!err)
		err = systrap_event(ctx, regs, exit);
out:
	pthread_mutex_unlock(&t->run);
	return err;
}

/* ---- FPU state ------------------------------------------------------------------ */

#define SYSTRAP_FP_MAGIC1 0x46505853U /* FP_XSTATE_MAGIC1 */

/*
 * systrap_fpstate - the XSAVE area of the parked stub's signal frame and
 * its size (512 when the frame holds only the FXSAVE area).
 */
static uint8_t *systrap_fpstate(struct systrap_thread *t, size_t *size)
{
	ucontext_t *uc = systrap_uctx(t);
	uint64_t addr;
	uint32_t magic, xsize;
	uint8_t *fp;

	if (!uc)
		return NULL;
	addr = (uintptr_t)uc->uc_mcontext.fpregs;
	fp = systrap_core_ptr(t, addr, 512);
	if (!fp)
		return NULL;
	*size = 512;
	memcpy(&magic, fp + 464, 4);
	memcpy(&xsize, fp + 480, 4);
	if (magic == SYSTRAP_FP_MAGIC1 && xsize >= 576 &&
	    systrap_core_ptr(t, addr, xsize))
		*size = xsize;
	return fp;
}

static int systrap_ctx_get_fpstate(struct sbx_ctx *ctx, void *buf, size_t len)
{
	size_t size;
	uint8_t *fp;

	if (len < 512)
		return -ENOSPC;
	if (atomic_load(&ctx->as->dead))
		return -ESRCH;
	fp = systrap_fpstate(ctx->t, &size);
	if (!fp)
		return -EFAULT;
	if (len > size)
		len = size;
	memcpy(buf, fp, len);
	return len;
}

/*
 * ctx_set_fpstate - write into the frame; rt_sigreturn loads it with
 * XRSTOR.  A bad MXCSR or XSAVE header would make that fail (and the
 * kernel SIGSEGV the stub), so they are made valid here; the software
 * bytes the kernel keeps at 464..511 stay the kernel's.
 */
static int systrap_ctx_set_fpstate(struct sbx_ctx *ctx, const void *buf,
				   size_t len)
{
	const uint8_t *in = buf;
	uint32_t mxcsr, mask;
	uint64_t bv, features;
	size_t size;
	uint8_t *fp;

	if (len < 512)
		return -ENOSPC;
	if (atomic_load(&ctx->as->dead))
		return -ESRCH;
	fp = systrap_fpstate(ctx->t, &size);
	if (!fp)
		return -EFAULT;
	if (len > size)
		len = size;
	memcpy(&mask, fp + 28, 4);
	memcpy(fp, in, 464);
	memcpy(fp + 28, &mask, 4);
	if (!mask)
		mask = 0xffbf;
	memcpy(&mxcsr, fp + 24, 4);
	mxcsr &= mask;
	memcpy(fp + 24, &mxcsr, 4);
	if (size >= 576) {
		memcpy(&features, fp + 472, 8);
		if (len > 512)
			memcpy(fp + 512, in + 512, len - 512);
		memcpy(&bv, fp + 512, 8);
		/* a legacy-only set: make the FP/SSE part count */
		if (len < 576)
			bv |= 3;
		bv &= features;
		memcpy(fp + 512, &bv, 8);
		/* standard format: no compaction, reserved bytes zero */
		memset(fp + 520, 0, 56);
	}
	return len;
}

/* ---- entry ------------------------------------------------------------------------ */

/* as_cpu_pid - the stub process runs the application: its CPU clocks are
 * the application's time (see platform.h). */
static int systrap_as_cpu_pid(struct sbx_as *as)
{
	return as->pid;
}

static const struct sbx_platform_ops systrap_ops = {
	.size = sizeof(struct sbx_platform_ops),
	.init = systrap_init,
	.fini = systrap_fini,
	.describe = systrap_describe,
	.seccomp_rules = systrap_seccomp_rules,
	.as_create = systrap_as_create,
	.as_map = systrap_as_map,
	.as_unmap = systrap_as_unmap,
	.as_protect = systrap_as_protect,
	.as_destroy = systrap_as_destroy,
	.ctx_create = systrap_ctx_create,
	.switch_to = systrap_switch_to,
	.interrupt = systrap_interrupt,
	.ctx_destroy = systrap_ctx_destroy,
	.ctx_get_fpstate = systrap_ctx_get_fpstate,
	.ctx_set_fpstate = systrap_ctx_set_fpstate,
	.ctl = NULL,
	.as_cpu_pid = systrap_as_cpu_pid,
};

static const struct sbx_plugin_desc systrap_desc = {
	.size = sizeof(struct sbx_plugin_desc),
	.kind = SBX_PLUGIN_PLATFORM,
	.abi_major = SBX_PLATFORM_ABI_MAJOR,
	.abi_minor = SBX_PLATFORM_ABI_MINOR,
	.name = "systrap",
	.description = "seccomp-trapping stub processes with a shared-memory hand-off",
	.ops = &systrap_ops,
};

SBX_EXPORT const struct sbx_plugin_desc *sbx_plugin_entry(void)
{
	return &systrap_desc;
}
