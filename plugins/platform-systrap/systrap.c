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
 * keeps only the memory file (fd SYSTRAP_STUB_MEMFD), the stub code page
 * and its own shared slot (systrap_abi.h), then installs its filter.
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
 * Threads: any thread may call any op on an address space (the core
 * serialises them per address space); no global lock on the syscall path.
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
#define SYSTRAP_NSLOTS	 1024	/* address spaces at once per instance */
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
	systrap_stub_code_end[];

struct sbx_platform {
	const struct sbx_services *svc;
	uintptr_t stub;	     /* stub region base, same in every stub */
	int shmfd;	     /* the shared slots (memfd) */
	uint8_t *shm;	     /* ... mapped here in the core */
	int zsock;	     /* core end of the zygote's socket */
	pthread_mutex_t lock; /* slots and zygote requests (not hot) */
	bool slot_used[SYSTRAP_NSLOTS];
	uint64_t spin_us;
	uint64_t spin_iters; /* pause iterations in spin_us */
	int pin;	     /* SYSTRAP_PIN_* */
	cpu_set_t cpus;	     /* the CPUs allowed at init, before any pinning */
	bool fsgsbase;
	unsigned nfilter;
	struct sock_filter filter[SH_FILTER_MAX];
};

struct sbx_ctx {
	struct sbx_as *as;
	/* set by interrupt() until switch_to sees the signal it sent */
	atomic_int pending;
	bool fs_known;	  /* the stub's fs base is fs_base */
	uint64_t fs_base;
};

struct sbx_as {
	struct sbx_platform *p;
	uint8_t *sh;	/* this stub's shared slot, core view */
	int slot;
	pid_t pid;
	int pidfd;
	bool dead;
	bool has_ctx;
	struct sbx_ctx ctx;
};

#define systrap_log(p, level, ...) \
	((p)->svc->log((level), "systrap", __VA_ARGS__))

/* ---- hand-off helpers ---------------------------------------------------- */

static inline uint32_t *systrap_word(struct sbx_as *as, size_t off)
{
	return (uint32_t *)(as->sh + off);
}

static inline uint64_t *systrap_u64(struct sbx_as *as, size_t off)
{
	return (uint64_t *)(as->sh + off);
}

/*
 * systrap_core_ptr - the core's view of @len bytes at stub address @addr,
 * or NULL unless they lie inside the alternate stack of the slot.  The
 * addresses come from the shared slot: untrusted (DESIGN.md invariant 5).
 */
static void *systrap_core_ptr(struct sbx_as *as, uint64_t addr, size_t len)
{
	uint64_t lo = as->p->stub + SYSTRAP_SH_OFF + SH_ALT;
	uint64_t hi = as->p->stub + SYSTRAP_SH_OFF + SYSTRAP_SLOT;

	if (addr < lo || addr > hi || len > hi - addr)
		return NULL;
	return as->sh + (addr - (as->p->stub + SYSTRAP_SH_OFF));
}

static long systrap_futex(uint32_t *w, int op, uint32_t val,
			  const struct timespec *ts)
{
	return syscall(SYS_futex, w, op, val, ts, NULL, 0);
}

/* systrap_alive - 0 if the stub lives, -ESRCH (and dead set) if not. */
static int systrap_alive(struct sbx_as *as)
{
	if (as->dead)
		return -ESRCH;
	if (syscall(SYS_pidfd_send_signal, as->pidfd, 0, NULL, 0) &&
	    errno == ESRCH) {
		as->dead = true;
		systrap_log(as->p, SBX_LOG_WARN, "stub %d died",
			    (int)as->pid);
		return -ESRCH;
	}
	return 0;
}

/*
 * systrap_post - hand the stub @state.  The locked xchg orders the store
 * before the load of SH_STUB_WAIT (the stub sets that before its last look
 * at SH_STATE), so a sleeping stub is never missed.
 */
static void systrap_post(struct sbx_as *as, uint32_t state)
{
	__atomic_exchange_n(systrap_word(as, SH_STATE), state,
			    __ATOMIC_SEQ_CST);
	if (__atomic_load_n(systrap_word(as, SH_STUB_WAIT), __ATOMIC_SEQ_CST))
		systrap_futex(systrap_word(as, SH_STATE), FUTEX_WAKE, 1, NULL);
}

/*
 * systrap_wait - wait for the stub to post an event: spin for spin_us,
 * then sleep, waking every SYSTRAP_LIVENESS_NS to check that it lives
 * (the core is not the stub's parent, so nothing else tells us).
 * @limit_ms: give up with -ETIMEDOUT after this long, 0 for never.
 */
static int systrap_wait(struct sbx_as *as, long limit_ms)
{
	uint32_t *state = systrap_word(as, SH_STATE);
	uint32_t *waiting = systrap_word(as, SH_CORE_WAIT);
	struct timespec ts = { 0, SYSTRAP_LIVENESS_NS };
	uint64_t i;
	long waited = 0;
	uint32_t v;

	for (i = 0; i < as->p->spin_iters; i++) {
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
			int err = systrap_alive(as);

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
 * systrap_op - have the parked stub run system call @nr (mmap, munmap or
 * mprotect: the filter allows nothing else) and return its result.
 */
static long systrap_op(struct sbx_as *as, long nr, uint64_t a0, uint64_t a1,
		       uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	uint64_t *args = systrap_u64(as, SH_ARGS);
	int err;

	if (as->dead)
		return -ESRCH;
	*systrap_u64(as, SH_NR) = nr;
	args[0] = a0;
	args[1] = a1;
	args[2] = a2;
	args[3] = a3;
	args[4] = a4;
	args[5] = a5;
	systrap_post(as, SYSTRAP_ST_OP);
	err = systrap_wait(as, 0);
	if (err)
		return err;
	return (long)__atomic_load_n(systrap_u64(as, SH_RET), __ATOMIC_ACQUIRE);
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
 *       MAP_PRIVATE and nothing else, fd SYSTRAP_STUB_MEMFD: the only fd
 *       the stub has), and munmap and
 *       mprotect of the user range;
 *     everything else, including x32 numbers, kills the stub.
 */
static int systrap_build_filter(struct sbx_platform *p)
{
	uint64_t ip = p->stub + (systrap_stub_trampoline - systrap_stub_code) + 2;
	struct systrap_bpf b = { .f = p->filter };
	unsigned at;

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
	systrap_need_eq(&b, SD_ARG_LO(4), SYSTRAP_STUB_MEMFD);
	systrap_rule_end(&b, at);

	at = systrap_rule(&b, SYS_munmap);
	systrap_need_user_range(&b, 0);
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

/* what the zygote forks a stub with: fds and the stub's slot */
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
 * never returns.  The shared slot was filled in by the core beforehand.
 */
static __attribute__((noreturn)) void
systrap_stub_child(const struct sbx_platform *p,
		   const struct systrap_zygote_fds *z, int slot)
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
	if (syscall(SYS_dup3, z->memfd, SYSTRAP_STUB_MEMFD, 0) < 0)
		syscall(SYS_exit_group, SYSTRAP_EXIT_FDS);
	/* the slot replaces the PROT_NONE reservation inherited from the core */
	if (syscall(SYS_mmap, sh, SYSTRAP_SLOT, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_FIXED, z->shmfd,
		    (long)slot * SYSTRAP_SLOT) != (long)sh)
		syscall(SYS_exit_group, SYSTRAP_EXIT_MAP);
	/* only the memory file stays: not the zygote's socket or slots */
	if (syscall(SYS_close_range, SYSTRAP_STUB_MEMFD + 1, ~0U, 0))
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
 * systrap_zygote - serve stub requests until the core's end closes.
 * A request is a slot number; the answer the new stub's pid or -errno.
 */
static __attribute__((noreturn)) void
systrap_zygote(const struct sbx_platform *p, struct systrap_zygote_fds *z)
{
	struct systrap_ksigaction ign = { .handler = (uint64_t)SIG_IGN };
	int slot;
	long pid;

	/* no terminal signals for stubs: they belong to the core */
	syscall(SYS_setsid);
	/* dead stubs are reaped by the kernel, never left as zombies */
	syscall(SYS_rt_sigaction, SIGCHLD, &ign, NULL, 8);
	z->self = syscall(SYS_getpid);
	for (;;) {
		long n = syscall(SYS_read, z->sock, &slot, sizeof(slot));

		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(slot))
			syscall(SYS_exit_group, 0);
		pid = -EINVAL;
		if (slot >= 0 && slot < SYSTRAP_NSLOTS) {
			pid = syscall(SYS_clone, SIGCHLD, 0L, 0L, 0L, 0L);
			if (pid == 0)
				systrap_stub_child(p, z, slot);
			if (pid < 0)
				pid = -errno;
		}
		syscall(SYS_write, z->sock, &pid, sizeof(pid));
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
	size_t shm_len = (size_t)SYSTRAP_NSLOTS * SYSTRAP_SLOT;
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
	munmap(p->shm, (size_t)SYSTRAP_NSLOTS * SYSTRAP_SLOT);
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
	info->flags = SBX_PLATFORM_MULTI_AS;
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

static int systrap_slot_get(struct sbx_platform *p)
{
	int i;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i < SYSTRAP_NSLOTS; i++) {
		if (!p->slot_used[i]) {
			p->slot_used[i] = true;
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return i < SYSTRAP_NSLOTS ? i : -EAGAIN;
}

/* systrap_slot_put - free a slot; its pages go back, and read as zeros */
static void systrap_slot_put(struct sbx_platform *p, int slot)
{
	if (fallocate(p->shmfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)slot * SYSTRAP_SLOT, SYSTRAP_SLOT))
		memset(p->shm + (size_t)slot * SYSTRAP_SLOT, 0, SYSTRAP_SLOT);
	pthread_mutex_lock(&p->lock);
	p->slot_used[slot] = false;
	pthread_mutex_unlock(&p->lock);
}

/* systrap_spawn - ask the zygote for a stub on @slot; its pid or -errno */
static long systrap_spawn(struct sbx_platform *p, int slot)
{
	long pid = -EPIPE;

	/* one request at a time, so answers are not crossed */
	pthread_mutex_lock(&p->lock);
	if (write(p->zsock, &slot, sizeof(slot)) != sizeof(slot) ||
	    read(p->zsock, &pid, sizeof(pid)) != sizeof(pid))
		pid = -EPIPE;
	pthread_mutex_unlock(&p->lock);
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
	as->dead = true;
	return r == 1;
}

static int systrap_as_create(struct sbx_platform *p, struct sbx_as **out)
{
	struct sock_fprog *prog;
	struct sbx_as *as;
	ucontext_t *uc;
	long pid;
	int err;

	as = calloc(1, sizeof(*as));
	if (!as)
		return -ENOMEM;
	as->p = p;
	as->ctx.as = as;
	as->pidfd = -1;
	as->slot = systrap_slot_get(p);
	if (as->slot < 0) {
		err = as->slot;
		systrap_log(p, SBX_LOG_ERROR, "all %d stub slots in use",
			    SYSTRAP_NSLOTS);
		goto out_free;
	}
	as->sh = p->shm + (size_t)as->slot * SYSTRAP_SLOT;

	/* the slot is zero: freed slots are hole-punched */
	*systrap_u64(as, SH_SPIN) = p->spin_iters;
	*systrap_word(as, SH_FLAGS) = p->fsgsbase ? SYSTRAP_F_FSGSBASE : 0;
	memcpy(as->sh + SH_FILTER, p->filter,
	       p->nfilter * sizeof(p->filter[0]));
	prog = (struct sock_fprog *)(as->sh + SH_PROG);
	prog->len = p->nfilter;
	prog->filter = (struct sock_filter *)(p->stub + SYSTRAP_SH_OFF +
					      SH_FILTER);
	__atomic_store_n(systrap_word(as, SH_STATE), SYSTRAP_ST_STUB,
			 __ATOMIC_SEQ_CST);

	pid = systrap_spawn(p, as->slot);
	if (pid < 0) {
		err = pid;
		systrap_log(p, SBX_LOG_ERROR, "fork stub: %s", strerror(-err));
		goto out_slot;
	}
	as->pid = pid;
	as->pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (as->pidfd < 0) {
		err = -errno;
		systrap_log(p, SBX_LOG_ERROR, "pidfd_open stub %ld: %s", pid,
			    strerror(-err));
		kill(pid, SIGKILL);
		goto out_slot;
	}
	if (p->pin != SYSTRAP_PIN_NONE)
		systrap_pin(p, pid);

	/* a ready stub parks in its handler with a SIGILL from the start code */
	err = systrap_wait(as, SYSTRAP_START_MS);
	if (err) {
		systrap_log(p, SBX_LOG_ERROR,
			    "stub %d did not start (%s)%s", as->pid,
			    strerror(-err),
			    err == -ESRCH ? ": it died during start-up" : "");
		goto out_reap;
	}
	uc = systrap_core_ptr(as, *systrap_u64(as, SH_UCTX), sizeof(*uc));
	if (*systrap_u64(as, SH_SIGNO) != SIGILL || !uc ||
	    uc->uc_mcontext.gregs[REG_RIP] !=
		    (greg_t)(p->stub + (systrap_stub_first_trap -
					systrap_stub_code))) {
		systrap_log(p, SBX_LOG_ERROR, "stub %d: unexpected first event",
			    as->pid);
		err = -EPROTO;
		goto out_reap;
	}
	systrap_log(p, SBX_LOG_DEBUG, "stub %d on slot %d", as->pid,
		    as->slot);
	*out = as;
	return 0;

out_reap:
	if (!systrap_reap(as)) {
		/* still alive: it may write the slot, so never reuse it */
		close(as->pidfd);
		free(as);
		return err;
	}
	close(as->pidfd);
out_slot:
	systrap_slot_put(p, as->slot);
out_free:
	free(as);
	return err;
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

static int systrap_as_map(struct sbx_as *as, uint64_t addr, uint64_t len,
			  int prot, int fd, uint64_t offset, uint32_t flags)
{
	int mflags = MAP_FIXED;
	uint64_t done, n;
	long r;
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
	if (fd != as->p->svc->memfd) {
		systrap_log(as->p, SBX_LOG_ERROR,
			    "as_map: fd %d is not the memory file; donated files are not supported yet",
			    fd);
		return -EOPNOTSUPP;
	}
	for (done = 0; done < len; done += n) {
		n = len - done < SYSTRAP_CHUNK ? len - done : SYSTRAP_CHUNK;
		r = systrap_op(as, SYS_mmap, addr + done, n, prot, mflags,
			       SYSTRAP_STUB_MEMFD, offset + done);
		if (r < 0 && r > -4096)
			return r;
		if ((uint64_t)r != addr + done) {
			systrap_log(as->p, SBX_LOG_ERROR,
				    "as_map: stub mapped %#lx instead of %#llx",
				    r, (unsigned long long)(addr + done));
			return -EFAULT;
		}
	}
	return 0;
}

static int systrap_as_unmap(struct sbx_as *as, uint64_t addr, uint64_t len)
{
	uint64_t done, n;
	long r;
	int err = systrap_check_range(as, addr, len);

	if (err)
		return err;
	for (done = 0; done < len; done += n) {
		n = len - done < SYSTRAP_CHUNK ? len - done : SYSTRAP_CHUNK;
		r = systrap_op(as, SYS_munmap, addr + done, n, 0, 0, 0, 0);
		if (r)
			return r < 0 && r > -4096 ? r : -EFAULT;
	}
	return 0;
}

static int systrap_as_protect(struct sbx_as *as, uint64_t addr, uint64_t len,
			      int prot)
{
	uint64_t done, n;
	long r;
	int err = systrap_check_range(as, addr, len);

	if (err)
		return err;
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	for (done = 0; done < len; done += n) {
		n = len - done < SYSTRAP_CHUNK ? len - done : SYSTRAP_CHUNK;
		r = systrap_op(as, SYS_mprotect, addr + done, n, prot, 0, 0, 0);
		if (r)
			return r < 0 && r > -4096 ? r : -EFAULT;
	}
	return 0;
}

static void systrap_as_destroy(struct sbx_as *as)
{
	if (!as)
		return;
	if (systrap_reap(as))
		systrap_slot_put(as->p, as->slot);
	else
		systrap_log(as->p, SBX_LOG_WARN,
			    "stub %d outlived SIGKILL; slot %d not reused",
			    as->pid, as->slot);
	close(as->pidfd);
	free(as);
}

/* ---- contexts ----------------------------------------------------------------- */

static int systrap_ctx_create(struct sbx_as *as, struct sbx_ctx **out)
{
	if (as->has_ctx) {
		systrap_log(as->p, SBX_LOG_ERROR,
			    "ctx_create: stub %d already has its one context (no MULTI_CTX)",
			    (int)as->pid);
		return -EAGAIN;
	}
	if (as->dead)
		return -ESRCH;
	as->has_ctx = true;
	as->ctx.fs_known = false;
	*out = &as->ctx;
	return 0;
}

/*
 * ctx_destroy - the stub belongs to the address space and dies in
 * as_destroy; a later ctx_create reuses it.
 */
static void systrap_ctx_destroy(struct sbx_ctx *ctx)
{
	if (ctx)
		ctx->as->has_ctx = false;
}

/*
 * interrupt - the signal is handled by the stub like any event.  Only the
 * 0 -> 1 transition of pending sends one, and switch_to clears pending
 * only when it sees that signal: at most one is in flight, so none is
 * left over for a later interrupt.  While the stub is parked in its
 * handler every signal is blocked, so the signal waits there and is taken
 * as soon as rt_sigreturn unblocks it, before any application instruction:
 * the next switch_to returns at once.
 */
static int systrap_interrupt(struct sbx_ctx *ctx)
{
	struct sbx_as *as = ctx->as;

	if (atomic_exchange(&ctx->pending, 1))
		return 0;
	if (syscall(SYS_pidfd_send_signal, as->pidfd, SYSTRAP_INTR_SIG, NULL,
		    0)) {
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
static ucontext_t *systrap_uctx(struct sbx_as *as)
{
	return systrap_core_ptr(as, *systrap_u64(as, SH_UCTX),
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
	struct sbx_as *as = ctx->as;
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
	uc->uc_stack.ss_sp = (void *)(as->p->stub + SYSTRAP_SH_OFF + SH_ALT);
	uc->uc_stack.ss_flags = 0;
	uc->uc_stack.ss_size = SYSTRAP_SLOT - SH_ALT;

	if (!ctx->fs_known || r->fs_base != ctx->fs_base) {
		if (!systrap_canonical(r->fs_base))
			return -EINVAL;
		*systrap_u64(as, SH_FS_WANT) = r->fs_base;
		*systrap_word(as, SH_FLAGS) |= SYSTRAP_F_SET_FS;
		ctx->fs_base = r->fs_base;
		ctx->fs_known = true;
	}
	return 0;
}

static void systrap_get_regs(struct sbx_ctx *ctx, const ucontext_t *uc,
			     struct sbx_regs *r)
{
	struct sbx_as *as = ctx->as;
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
	if (as->p->fsgsbase) {
		/* the application may have used wrfsbase itself */
		ctx->fs_base = *systrap_u64(as, SH_FS_CUR);
		ctx->fs_known = true;
	}
	r->fs_base = ctx->fs_base;
}

/* systrap_event - turn the stub's event into @exit and @regs */
static int systrap_event(struct sbx_ctx *ctx, struct sbx_regs *regs,
			 struct sbx_exit *exit)
{
	struct sbx_as *as = ctx->as;
	int signo = (int)*systrap_u64(as, SH_SIGNO);
	const siginfo_t *sip;
	const ucontext_t *uc;
	siginfo_t si;

	sip = systrap_core_ptr(as, *systrap_u64(as, SH_SIGINFO), sizeof(si));
	uc = systrap_uctx(as);
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
	if (signo == SYSTRAP_INTR_SIG && si.si_code == SI_USER &&
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
	ucontext_t *uc;
	int err;

	if (exit->size < sizeof(*exit))
		return -EINVAL;
	if (as->dead)
		return -ESRCH;
	uc = systrap_uctx(as);
	if (!uc)
		return -EFAULT;
	err = systrap_put_regs(ctx, uc, regs);
	if (err)
		return err;
	systrap_post(as, SYSTRAP_ST_RESUME);
	err = systrap_wait(as, 0);
	if (err)
		return err;
	return systrap_event(ctx, regs, exit);
}

/* ---- FPU state ------------------------------------------------------------------ */

#define SYSTRAP_FP_MAGIC1 0x46505853U /* FP_XSTATE_MAGIC1 */

/*
 * systrap_fpstate - the XSAVE area of the parked stub's signal frame and
 * its size (512 when the frame holds only the FXSAVE area).
 */
static uint8_t *systrap_fpstate(struct sbx_as *as, size_t *size)
{
	ucontext_t *uc = systrap_uctx(as);
	uint64_t addr;
	uint32_t magic, xsize;
	uint8_t *fp;

	if (!uc)
		return NULL;
	addr = (uintptr_t)uc->uc_mcontext.fpregs;
	fp = systrap_core_ptr(as, addr, 512);
	if (!fp)
		return NULL;
	*size = 512;
	memcpy(&magic, fp + 464, 4);
	memcpy(&xsize, fp + 480, 4);
	if (magic == SYSTRAP_FP_MAGIC1 && xsize >= 576 &&
	    systrap_core_ptr(as, addr, xsize))
		*size = xsize;
	return fp;
}

static int systrap_ctx_get_fpstate(struct sbx_ctx *ctx, void *buf, size_t len)
{
	size_t size;
	uint8_t *fp;

	if (len < 512)
		return -ENOSPC;
	if (ctx->as->dead)
		return -ESRCH;
	fp = systrap_fpstate(ctx->as, &size);
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
	if (ctx->as->dead)
		return -ESRCH;
	fp = systrap_fpstate(ctx->as, &size);
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
