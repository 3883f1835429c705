/*
 * ptrace platform plugin: application code runs in stub processes traced
 * with PTRACE_SYSEMU; every system call stops the stub and comes back to
 * the core; address-space changes are system calls injected into the stub.
 *
 * One address space is one stub process, forked from the core without
 * CLONE_VM, that keeps only its stub pages (stub.S: code, and a scratch
 * page for recvmsg), the memory file (fd PTRACE_STUB_MEMFD), the read end
 * of the death pipe (fd PTRACE_STUB_DEATHFD) and its end of a socket over
 * which the core sends donated files (fd PTRACE_STUB_SOCK): as_map of a
 * host file sends the fd with SCM_RIGHTS, then injects recvmsg, mmap and
 * close, so the stub never keeps a donated fd.  Each context is a stub *thread* of its own,
 * traced by the core thread that drives the context: ptrace lets only a
 * tracee's tracer thread act on it, and the ABI has every context driven
 * by the thread that called ctx_create.  The process's leader thread is
 * never a context; it is the address space's handle:
 *
 *  - as_create's thread forks the stub (PTRACE_TRACEME) and keeps the
 *    leader attached for the address-space ops made before any context
 *    exists (exec and fork replay many);
 *  - ctx_create injects clone(CLONE_THREAD | CLONE_PTRACE | ...) into the
 *    leader: the new stub thread is born traced by the calling thread
 *    (CLONE_PTRACE attaches it to the leader's tracer, which the caller
 *    is), so it never runs untraced;
 *  - once contexts exist, the leader is detached and parked (stub.S) and a
 *    thread that needs it (ctx_create, or an address-space op from a
 *    thread without a context here) takes leader_lock, seizes and
 *    interrupts it, injects, and parks and detaches it again;
 *  - address-space ops otherwise run on the calling thread's own stub
 *    thread, stopped while its core thread handles the call;
 *  - ctx_destroy injects exit(0) into the context's stub thread and reaps
 *    it; the leader lives until as_destroy kills the whole process, so the
 *    address space never depends on which thread goes first (a zombie
 *    leader would hide the process's liveness and delay every reap).
 *
 * Stubs never outlive the core: every stub thread in use is traced with
 * PTRACE_O_EXITKILL (its tracer's death SIGKILLs the whole stub process);
 * the parked leader sleeps on the death pipe, whose write end only the
 * core holds.  PR_SET_PDEATHSIG covers start-up and is then cleared: its
 * "parent" is the forking *thread*, which may end before the address
 * space (the application's main thread may exit first).  Stubs are forked
 * from the core, so they inherit its seccomp filter: the rules from
 * seccomp_rules() cover the stub's own calls too.
 *
 * interrupt() sends SIGSTOP, which no one can block, to the context's own
 * stub thread with tgkill; its tracer suppresses it (so there is never a
 * group stop) and reports SBX_EXIT_INTERRUPT.
 *
 * Options (platform.options): pin (true|false, default true): pin each
 * tracer thread and its stub thread to the CPU the tracer runs on at
 * as_create or ctx_create, so that every switch is a same-CPU wake-up.
 *
 * The file is divided into: constants and types; small helpers (logging,
 * waiting, injection, the leader); init/fini/describe/seccomp_rules;
 * address spaces; contexts and switch_to; fpstate; the ops table and entry
 * point.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <elf.h>
#include <linux/ptrace.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/rseq.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>

#include <sbx/platform.h>
#include <sbx/plugin.h>

/* <sys/ptrace.h> clashes with <linux/ptrace.h>; use the raw call. */
#define ptrace_call(req, pid, addr, data)                                   \
	syscall(SYS_ptrace, (long)(req), (long)(pid), (long)(addr),         \
		(long)(data))

/*
 * Address layout.  The application gets [PTRACE_USER_MIN, PTRACE_USER_MAX);
 * the stub region above it holds the stub pages (code, scratch), in one of
 * PTRACE_STUB_SLOTS slots of PTRACE_STUB_SIZE (a slot may be taken by the
 * core's stack or vDSO, or by a second platform instance in the same
 * process).
 */
#define PTRACE_USER_MIN	  0x10000ULL
#define PTRACE_USER_MAX	  0x7fffff000000ULL
#define PTRACE_USER_TOP	  0x7ffffffff000ULL /* end of the x86-64 user half */
#define PTRACE_STUB_PAGE  4096UL
#define PTRACE_STUB_SIZE  (2 * PTRACE_STUB_PAGE) /* code, scratch (stub.S) */
#define PTRACE_STUB_SLOTS 64

/* The fd numbers at which a stub holds the memory file, the read end of
 * the death pipe and its socket for donated files (its only fds). */
#define PTRACE_STUB_MEMFD   0
#define PTRACE_STUB_DEATHFD 1
#define PTRACE_STUB_SOCK    2

/*
 * The scratch page (the second stub page, read-write, shared by the stub's
 * threads): the msghdr of the injected recvmsg, its iovec, the payload (a
 * sequence number) and the control buffer for one fd.  The core fills it
 * before any stub is forked, so every stub starts with it; only the
 * control length, which recvmsg rewrites, is poked again each time.  One
 * page and one socket per stub: as->file_lock serialises donations.
 */
#define PTRACE_MSG	 0
#define PTRACE_MSG_IOV	 64
#define PTRACE_MSG_DATA	 80
#define PTRACE_MSG_CTL	 96

/* The signal interrupt() sends: it cannot be blocked by anyone. */
#define PTRACE_INTR_SIG SIGSTOP

#define PTRACE_EFLAGS_TF 0x100ULL

/*
 * The clone injected into the leader to make a context's stub thread.
 * CLONE_PTRACE: the thread is born traced by the leader's tracer (the
 * caller), with its options (EXITKILL), and stops before its first
 * instruction; no stack: stub threads never touch one.
 */
#define PTRACE_THREAD_FLAGS                                                 \
	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | \
	 CLONE_SYSVSEM | CLONE_PTRACE)

/*
 * Exit codes of a stub that failed before its first stop: below
 * PTRACE_START_PARENT, the errno of PTRACE_TRACEME; then one per step.
 */
enum {
	PTRACE_START_PARENT = 200,
	PTRACE_START_DUP,
	PTRACE_START_CLOSE,
	PTRACE_START_RSEQ,
	PTRACE_START_MUNMAP = 250, /* stub.S */
};

extern const char ptrace_stub_code[], ptrace_stub_syscall[],
	ptrace_stub_park[], ptrace_stub_code_end[];

struct sbx_platform {
	const struct sbx_services *svc;
	uintptr_t stub;	 /* this instance's stub pages (code, scratch) */
	bool pin;	 /* option pin: keep tracer and stub on one CPU */
	/* several contexts per address space: needs PTRACE_SEIZE of the
	 * parked leader, which Yama's ptrace_scope >= 2 forbids */
	bool multi;
	int death[2];	 /* the death pipe; stubs hold death[0] */
};

/*
 * struct ptrace_thread - one stub thread.  Only its tracer makes ptrace
 * requests of it or waits for it, so the fields need no lock: a context's
 * thread belongs to the context's core thread, the leader's to whoever
 * holds leader_lock.
 * @tracer: the core thread tracing it; 0 for a parked (detached) leader.
 * @reaped: its exit was collected: never wait for the tid again (it may
 *          be reused by another of our stubs).
 */
struct ptrace_thread {
	pid_t tid;
	pid_t tracer;
	bool reaped;
};

struct sbx_ctx {
	struct sbx_as *as;
	struct sbx_ctx *next; /* as->ctxs, under as->lock */
	struct ptrace_thread th;
	/* set by interrupt() until the tracer sees the signal it sent */
	atomic_int pending;
	/* the interrupt signal was consumed while not in switch_to */
	bool kicked;
	/* regs holds the tracee's registers as the kernel has them */
	bool regs_valid;
	struct user_regs_struct regs;
};

struct sbx_as {
	struct sbx_platform *p;
	pid_t pid;			/* the stub process (its leader's tid) */
	int sock;			/* core end of the stub's socket */
	/* held across one donation (send, recvmsg, mmap, close): the socket
	 * and the scratch page are the whole stub's; taken before
	 * leader_lock, never while holding it */
	pthread_mutex_t file_lock;
	uint64_t seq;			/* donations sent, under file_lock */
	pthread_mutex_t leader_lock;	/* held while a thread uses the leader */
	struct ptrace_thread leader;
	/* as_create's thread keeps the leader until the first context */
	bool creator_holds;
	pthread_mutex_t lock;		/* guards ctxs */
	struct sbx_ctx *ctxs;
	atomic_bool dead;		/* the stub process was killed */
	atomic_size_t xstate_size;	/* NT_X86_XSTATE size; 0 unknown, 1 absent */
	struct user_regs_struct inject; /* registers for injected calls */
};

_Static_assert(sizeof(struct sbx_regs) == sizeof(struct user_regs_struct),
	       "struct sbx_regs must match struct user_regs_struct");
_Static_assert(offsetof(struct sbx_regs, fs_base) ==
		       offsetof(struct user_regs_struct, fs_base),
	       "struct sbx_regs must match struct user_regs_struct");

#define ptrace_log(p, level, ...) ((p)->svc->log((level), "ptrace", __VA_ARGS__))

/* ---- helpers ---------------------------------------------------------- */

/*
 * ptrace_check_tracer - ptrace requests only work from the tracer thread;
 * say so clearly instead of failing with a puzzling ESRCH.
 */
static int ptrace_check_tracer(struct sbx_as *as, struct ptrace_thread *th,
			       const char *op)
{
	pid_t tid = gettid();

	if (tid == th->tracer)
		return 0;
	ptrace_log(as->p, SBX_LOG_ERROR,
		   "%s: called from thread %d, but stub thread %d is traced by thread %d (ptrace allows only the tracer)",
		   op, (int)tid, (int)th->tid, (int)th->tracer);
	return -EPERM;
}

/* ptrace_died - record and log a stub thread's death from a wait status. */
static int ptrace_died(struct sbx_as *as, struct ptrace_thread *th,
		       int status)
{
	th->reaped = true;
	atomic_store(&as->dead, true);
	if (WIFSIGNALED(status))
		ptrace_log(as->p, SBX_LOG_WARN,
			   "stub %d thread %d killed by signal %d",
			   (int)as->pid, (int)th->tid, WTERMSIG(status));
	else
		ptrace_log(as->p, SBX_LOG_WARN,
			   "stub %d thread %d exited with status %d",
			   (int)as->pid, (int)th->tid, WEXITSTATUS(status));
	return -ESRCH;
}

/*
 * ptrace_wait - wait for the next stop of stub thread @th.
 * Return: 0 with *@status a stop, -ESRCH if it died (it is reaped).
 */
static int ptrace_wait(struct sbx_as *as, struct ptrace_thread *th,
		       int *status)
{
	for (;;) {
		pid_t r = waitpid(th->tid, status, __WALL);

		if (r == th->tid)
			break;
		if (r < 0 && errno == EINTR)
			continue;
		/* ECHILD: someone else reaped it */
		ptrace_log(as->p, SBX_LOG_ERROR, "waitpid stub thread %d: %s",
			   (int)th->tid, strerror(errno));
		th->reaped = true;
		atomic_store(&as->dead, true);
		return -ESRCH;
	}
	if (!WIFSTOPPED(*status))
		return ptrace_died(as, th, *status);
	return 0;
}

/*
 * ptrace_kill - kill the whole stub process through one of its threads.
 * tgkill, not kill(pid): while @th is not reaped its group, and so the
 * stub's pid, still exist, so the signal cannot reach a recycled pid.
 */
static void ptrace_kill(struct sbx_as *as, struct ptrace_thread *th)
{
	atomic_store(&as->dead, true);
	if (!th->reaped)
		syscall(SYS_tgkill, as->pid, th->tid, SIGKILL);
}

/*
 * ptrace_kill_reap - kill the stub process and collect @th's exit (only
 * its tracer, or anyone for an untraced leader, may do this).  A leader is
 * reaped only after every other thread is (the kernel delays it), so this
 * is for context threads and for as_destroy.
 */
static void ptrace_kill_reap(struct sbx_as *as, struct ptrace_thread *th)
{
	int status;
	pid_t r;

	if (th->reaped)
		return;
	ptrace_kill(as, th);
	for (;;) {
		r = waitpid(th->tid, &status, __WALL);
		if (r == th->tid && WIFSTOPPED(status))
			continue; /* a stop from before the kill */
		if (r < 0 && errno == EINTR)
			continue;
		break; /* reaped, or ECHILD: gone */
	}
	th->reaped = true;
}

/*
 * ptrace_failed - turn a failed ptrace request on @th into -errno, with a
 * log.  ESRCH means a caller on the wrong thread, or a stub that is gone.
 */
static int ptrace_failed(struct sbx_as *as, struct ptrace_thread *th,
			 const char *what)
{
	int err = errno;

	if (err == ESRCH) {
		if (ptrace_check_tracer(as, th, what))
			return -EPERM;
		/*
		 * We only make requests of a stopped thread, so from the
		 * tracer ESRCH means it was killed and is on its way out:
		 * the whole stub goes.  A context's thread is reaped now; the
		 * leader in as_destroy (its reap waits for the others').
		 */
		if (th == &as->leader)
			ptrace_kill(as, th);
		else
			ptrace_kill_reap(as, th);
	}
	ptrace_log(as->p, SBX_LOG_ERROR, "%s stub %d thread %d: %s", what,
		   (int)as->pid, (int)th->tid, strerror(err));
	return -err;
}

/*
 * ptrace_interrupt_seen - the stub stopped for the interrupt signal.
 * Clearing pending re-arms interrupt(): from now on it sends a new signal.
 */
static void ptrace_interrupt_seen(struct sbx_ctx *ctx)
{
	atomic_store(&ctx->pending, 0);
}

/*
 * ptrace_inject - run system call @nr in stopped stub thread @th (the
 * thread of @ctx, or the leader when @ctx is NULL) and return its result
 * (or -errno from ptrace itself, which the caller cannot tell from the
 * call's own errors; both are failures).
 *
 * The application's registers are not saved: the cache is marked invalid,
 * so the next switch_to() sets them all again.
 */
static long ptrace_inject(struct sbx_as *as, struct ptrace_thread *th,
			  struct sbx_ctx *ctx, long nr, long a0, long a1,
			  long a2, long a3, long a4, long a5)
{
	struct user_regs_struct r = as->inject;
	int status, sig, err;
	long ret;

	if (th->reaped || atomic_load(&as->dead))
		return -ESRCH;
	r.rax = nr;
	r.rdi = a0;
	r.rsi = a1;
	r.rdx = a2;
	r.r10 = a3;
	r.r8 = a4;
	r.r9 = a5;
	/* orig_rax -1: no syscall-restart processing on the way out */
	r.orig_rax = -1;
	if (ptrace_call(PTRACE_SETREGS, th->tid, 0, &r))
		return ptrace_failed(as, th, "PTRACE_SETREGS");
	if (ctx)
		ctx->regs_valid = false;

	/*
	 * PTRACE_CONT (not SYSEMU) so the call really runs; from a SYSEMU
	 * stop the application's own call is still skipped.  Signal 0
	 * suppresses whatever signal the stub was stopped for.
	 */
	for (;;) {
		if (ptrace_call(PTRACE_CONT, th->tid, 0, 0))
			return ptrace_failed(as, th, "PTRACE_CONT");
		err = ptrace_wait(as, th, &status);
		if (err)
			return err;
		sig = WSTOPSIG(status);
		if (sig == SIGTRAP && !(status >> 16))
			break; /* the int3 after the syscall */
		if (sig == PTRACE_INTR_SIG && ctx) {
			/* an interrupt for the context: report it next time */
			ptrace_interrupt_seen(ctx);
			ctx->kicked = true;
			continue;
		}
		if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
		    sig == SIGFPE) {
			/* the stub itself is broken: retrying would spin */
			ptrace_log(as->p, SBX_LOG_ERROR,
				   "stub %d thread %d: signal %d in injected syscall %ld, killing it",
				   (int)as->pid, (int)th->tid, sig, nr);
			if (ctx)
				ptrace_kill_reap(as, th);
			else
				ptrace_kill(as, th);
			return -EFAULT;
		}
		ptrace_log(as->p, SBX_LOG_DEBUG,
			   "stub %d thread %d: stop %#x during injection, suppressed",
			   (int)as->pid, (int)th->tid, status >> 8);
	}

	/* the raw request stores the word at *data (glibc hides this) */
	if (ptrace_call(PTRACE_PEEKUSR, th->tid,
			offsetof(struct user_regs_struct, rax), &ret))
		return ptrace_failed(as, th, "PTRACE_PEEKUSR");
	return ret;
}

/*
 * ptrace_leader_get - make the calling thread the leader's tracer, with
 * the leader stopped (leader_lock held).  A parked leader is seized and
 * interrupted out of its read() of the death pipe; the registers it has
 * there do not matter, the next injection or park sets them all.
 */
static int ptrace_leader_get(struct sbx_as *as)
{
	struct ptrace_thread *l = &as->leader;
	pid_t me = gettid();
	int status, err;

	if (l->tracer == me)
		return 0;
	if (l->tracer) {
		/* only before the first context, and the ABI rules it out */
		ptrace_log(as->p, SBX_LOG_ERROR,
			   "stub %d: its creator thread %d still holds it, thread %d cannot use it before a context exists",
			   (int)as->pid, (int)l->tracer, (int)me);
		return -EPERM;
	}
	if (l->reaped || atomic_load(&as->dead))
		return -ESRCH;
	if (ptrace_call(PTRACE_SEIZE, l->tid, 0,
			PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD)) {
		err = -errno;
		ptrace_log(as->p, SBX_LOG_ERROR,
			   "PTRACE_SEIZE stub %d: %s%s", (int)l->tid,
			   strerror(-err),
			   err == -EPERM ?
				   " (ptrace attach is restricted on this host: kernel.yama.ptrace_scope, an LSM, or a non-dumpable core)" :
				   "");
		return err;
	}
	l->tracer = me;
	if (ptrace_call(PTRACE_INTERRUPT, l->tid, 0, 0))
		return ptrace_failed(as, l, "PTRACE_INTERRUPT");
	for (;;) {
		err = ptrace_wait(as, l, &status);
		if (err)
			return err;
		if (status >> 16 == PTRACE_EVENT_STOP)
			return 0;
		/* a signal stop first: suppress it, the trap stays pending */
		if (ptrace_call(PTRACE_CONT, l->tid, 0, 0))
			return ptrace_failed(as, l, "PTRACE_CONT");
	}
}

/*
 * ptrace_leader_put - done with the leader (leader_lock held): unless its
 * creator keeps it until the first context, point it at the park loop and
 * detach.  A dead leader stays as it is for as_destroy to reap.
 */
static void ptrace_leader_put(struct sbx_as *as)
{
	struct ptrace_thread *l = &as->leader;
	struct user_regs_struct r = as->inject;

	if (as->creator_holds || l->tracer != gettid())
		return;
	if (!l->reaped && !atomic_load(&as->dead)) {
		r.rip = as->p->stub + (ptrace_stub_park - ptrace_stub_code);
		r.orig_rax = -1;
		if (ptrace_call(PTRACE_SETREGS, l->tid, 0, &r)) {
			ptrace_failed(as, l, "PTRACE_SETREGS");
			return; /* still ours: killed, reaped in as_destroy */
		}
		/* data 0: the int3's SIGTRAP is not delivered */
		if (ptrace_call(PTRACE_DETACH, l->tid, 0, 0)) {
			ptrace_failed(as, l, "PTRACE_DETACH");
			return;
		}
	}
	l->tracer = 0;
}

/* ptrace_pin_self - pin the calling thread to the CPU it runs on. */
static int ptrace_pin_self(struct sbx_platform *p)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	if (cpu < 0)
		return -1;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		ptrace_log(p, SBX_LOG_WARN, "sched_setaffinity cpu %d: %s",
			   cpu, strerror(errno));
		return -1;
	}
	return cpu;
}

/* ptrace_pin - pin stub thread @tid to @cpu (its tracer's). */
static void ptrace_pin(struct sbx_platform *p, pid_t tid, int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(tid, sizeof(set), &set))
		ptrace_log(p, SBX_LOG_WARN,
			   "sched_setaffinity stub thread %d cpu %d: %s",
			   (int)tid, cpu, strerror(errno));
}

/* ---- platform --------------------------------------------------------- */

static int ptrace_parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int ptrace_parse_options(struct sbx_platform *p,
				const struct sbx_options *opts)
{
	const struct sbx_services *svc = p->svc;
	const char *key, *value;
	size_t iter = 0;

	p->pin = true;
	if (!opts || !svc->option_next)
		return 0;
	while (svc->option_next(opts, &iter, &key, &value) == 1) {
		if (!strcmp(key, "pin")) {
			if (ptrace_parse_bool(value, &p->pin))
				return svc->option_error(opts, key,
							 "expected true or false, not '%s'",
							 value);
		} else {
			return svc->option_error(opts, key,
						 "unknown option of the ptrace platform (known: pin)");
		}
	}
	return 0;
}

/* ptrace_scratch_init - the recvmsg template in the scratch page at @at */
static void ptrace_scratch_init(uintptr_t at)
{
	struct msghdr *m = (struct msghdr *)(at + PTRACE_MSG);
	struct iovec *iov = (struct iovec *)(at + PTRACE_MSG_IOV);

	_Static_assert(PTRACE_MSG + sizeof(struct msghdr) <= PTRACE_MSG_IOV &&
			       PTRACE_MSG_CTL + CMSG_SPACE(sizeof(int)) <=
				       PTRACE_STUB_PAGE,
		       "scratch layout");
	iov->iov_base = (void *)(at + PTRACE_MSG_DATA);
	iov->iov_len = sizeof(uint64_t);
	m->msg_iov = iov;
	m->msg_iovlen = 1;
	m->msg_control = (void *)(at + PTRACE_MSG_CTL);
	m->msg_controllen = CMSG_SPACE(sizeof(int));
}

/*
 * ptrace_map_stub - copy the stub code to a free slot of the stub region.
 * MAP_FIXED_NOREPLACE never clobbers a mapping of the core; a taken slot
 * (EEXIST) just moves us to the next one.
 */
static int ptrace_map_stub(struct sbx_platform *p)
{
	size_t len = ptrace_stub_code_end - ptrace_stub_code;
	int i;

	for (i = 0; i < PTRACE_STUB_SLOTS; i++) {
		uintptr_t want = PTRACE_USER_MAX + i * PTRACE_STUB_SIZE;
		void *m = mmap((void *)want, PTRACE_STUB_SIZE,
			       PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			       -1, 0);

		if (m == MAP_FAILED && errno == EEXIST)
			continue;
		if (m == MAP_FAILED) {
			ptrace_log(p, SBX_LOG_ERROR, "mmap stub page %#lx: %s",
				   (unsigned long)want, strerror(errno));
			return -errno;
		}
		if ((uintptr_t)m != want) {
			/* kernels before 4.17 take the flag as a hint */
			munmap(m, PTRACE_STUB_SIZE);
			ptrace_log(p, SBX_LOG_ERROR,
				   "mmap stub page %#lx: MAP_FIXED_NOREPLACE unsupported (Linux >= 4.17 needed)",
				   (unsigned long)want);
			return -ENODEV;
		}
		memcpy(m, ptrace_stub_code, len);
		ptrace_scratch_init(want + PTRACE_STUB_PAGE);
		if (mprotect(m, PTRACE_STUB_PAGE, PROT_READ | PROT_EXEC)) {
			int err = errno;

			munmap(m, PTRACE_STUB_SIZE);
			ptrace_log(p, SBX_LOG_ERROR, "mprotect stub page: %s",
				   strerror(err));
			return -err;
		}
		p->stub = want;
		return 0;
	}
	ptrace_log(p, SBX_LOG_ERROR,
		   "no free stub page in [%#llx, %#llx): the core's own mappings (stack, vDSO) occupy the stub region",
		   PTRACE_USER_MAX,
		   PTRACE_USER_MAX + PTRACE_STUB_SLOTS * PTRACE_STUB_SIZE);
	return -EEXIST;
}

/*
 * ptrace_attach_allowed - may a core thread PTRACE_SEIZE a stub it did not
 * fork?  Yama's ptrace_scope 2 (admin only) and 3 (none) forbid it; then
 * each address space keeps one context, traced by its creator.
 */
static bool ptrace_attach_allowed(struct sbx_platform *p)
{
	FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	int scope = 0;

	if (!f)
		return true; /* no Yama */
	if (fscanf(f, "%d", &scope) != 1)
		scope = 0;
	fclose(f);
	if (scope < 2)
		return true;
	ptrace_log(p, SBX_LOG_INFO,
		   "kernel.yama.ptrace_scope is %d: one context per address space (multi-threaded programs need ptrace_scope <= 1 or another platform)",
		   scope);
	return false;
}

/*
 * ptrace_death_pipe - the pipe parked leaders read until the core is gone.
 * Close-on-exec, so helpers the core execs (the gofer) do not keep it
 * open; both ends above fd 2: the read end so that the stub's dup3 to fds
 * 0 to 2 never overwrites it, the write end so that no stdio of the core
 * (closed when sbxrun started) ever writes into it.
 */
static int ptrace_death_pipe(struct sbx_platform *p)
{
	int fds[2], i, err;

	if (pipe2(fds, O_CLOEXEC)) {
		err = -errno;
		ptrace_log(p, SBX_LOG_ERROR, "pipe2: %s", strerror(-err));
		return err;
	}
	for (i = 0; i < 2; i++) {
		p->death[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
		if (p->death[i] < 0) {
			err = -errno;
			ptrace_log(p, SBX_LOG_ERROR,
				   "fcntl F_DUPFD_CLOEXEC: %s", strerror(-err));
			if (i)
				close(p->death[0]);
			close(fds[0]);
			close(fds[1]);
			return err;
		}
	}
	close(fds[0]);
	close(fds[1]);
	return 0;
}

static int ptrace_init(const struct sbx_services *svc,
		       const struct sbx_options *opts,
		       struct sbx_platform **out)
{
	struct sbx_platform *p;
	int err;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->svc = svc;
	err = ptrace_parse_options(p, opts);
	if (err)
		goto out_free;
	err = ptrace_death_pipe(p);
	if (err)
		goto out_free;
	err = ptrace_map_stub(p);
	if (err)
		goto out_close;
	p->multi = ptrace_attach_allowed(p);
	ptrace_log(p, SBX_LOG_DEBUG, "stub code at %#lx, pin %s",
		   (unsigned long)p->stub, p->pin ? "true" : "false");
	*out = p;
	return 0;

out_close:
	close(p->death[0]);
	close(p->death[1]);
out_free:
	free(p);
	return err;
}

static void ptrace_fini(struct sbx_platform *p)
{
	if (!p)
		return;
	munmap((void *)p->stub, PTRACE_STUB_SIZE);
	close(p->death[0]);
	close(p->death[1]);
	free(p);
}

static int ptrace_describe(struct sbx_platform *p,
			   struct sbx_platform_info *info)
{
	if (info->size < sizeof(*info))
		return -EINVAL;
	info->flags = SBX_PLATFORM_MULTI_AS;
	if (p->multi)
		info->flags |= SBX_PLATFORM_MULTI_CTX;
	info->max_threads = 0;
	info->user_min = PTRACE_USER_MIN;
	info->user_max = PTRACE_USER_MAX;
	return 0;
}

/*
 * The host calls of the plugin.  Stubs are forked from the core and inherit
 * its filter, so this list also covers what a stub does on its own (prctl
 * to close_range, munmap, exit_group, the parked leader's read) and the
 * injected calls (mmap/munmap/mprotect, prctl, clone, exit, and for
 * donated files the socket's recvmsg and close).
 */
static int ptrace_seccomp_rules(struct sbx_platform *p, void *scmp_ctx)
{
	static const int calls[] = {
		SCMP_SYS(ptrace),	    SCMP_SYS(wait4),
		SCMP_SYS(clone),	    SCMP_SYS(prctl),
		SCMP_SYS(getppid),	    SCMP_SYS(getpid),
		SCMP_SYS(gettid),	    SCMP_SYS(dup3),
		SCMP_SYS(close_range),	    SCMP_SYS(mmap),
		SCMP_SYS(munmap),	    SCMP_SYS(mprotect),
		SCMP_SYS(kill),		    SCMP_SYS(tgkill),
		SCMP_SYS(exit_group),	    SCMP_SYS(getcpu),
		SCMP_SYS(sched_setaffinity), SCMP_SYS(rseq),
		SCMP_SYS(read),		    SCMP_SYS(exit),
		/* donated files: the stub's socket, and its injected calls */
		SCMP_SYS(socketpair),	    SCMP_SYS(sendmsg),
		SCMP_SYS(recvmsg),	    SCMP_SYS(fcntl),
		SCMP_SYS(close),
	};
	size_t i;
	int err;

	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		err = seccomp_rule_add(scmp_ctx, SCMP_ACT_ALLOW, calls[i], 0);
		if (err) {
			ptrace_log(p, SBX_LOG_ERROR, "seccomp_rule_add %d: %s",
				   calls[i], strerror(-err));
			return err;
		}
	}
	return 0;
}

/* ---- address spaces --------------------------------------------------- */

/*
 * ptrace_stub_rseq_off - a fork child inherits the thread's rseq area
 * registration; once the stub unmaps that memory the kernel would raise
 * SIGSEGV at the next return to user mode that updates it.  glibc
 * registers sizeof(struct rseq) (32) bytes; __rseq_size may be smaller
 * (the feature size), so try both.
 */
static void ptrace_stub_rseq_off(void)
{
	char *area = (char *)__builtin_thread_pointer() + __rseq_offset;

	if (__rseq_size == 0)
		return; /* not registered (glibc.pthread.rseq=0) */
	if (syscall(SYS_rseq, area, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) &&
	    syscall(SYS_rseq, area, __rseq_size, RSEQ_FLAG_UNREGISTER,
		    RSEQ_SIG))
		syscall(SYS_exit_group, PTRACE_START_RSEQ);
}

/*
 * ptrace_stub_child - the new stub, between clone and the stub code.
 * It shares nothing with the core but a copy of its memory, so it makes
 * only raw system calls (no locks, no stdio) and never returns.
 */
static __attribute__((noreturn)) void
ptrace_stub_child(const struct sbx_platform *p, pid_t core, int sock)
{
	int memfd = p->svc->memfd;
	long r;

	/*
	 * Order matters: ask for SIGKILL on the parent's death first, then
	 * check the parent is still the core; if the core died before the
	 * prctl, we were already reparented and must go.
	 */
	r = syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (r || syscall(SYS_getppid) != core)
		syscall(SYS_exit_group, PTRACE_START_PARENT);
	/* TRACEME before the first stop: the parent never races an attach */
	if (syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0))
		syscall(SYS_exit_group, errno);
	/* the death pipe's read end is above all three targets (init); the
	 * socket is moved above them first, out of the way */
	sock = (int)syscall(SYS_fcntl, sock, F_DUPFD, PTRACE_STUB_SOCK + 1);
	if (sock < 0 ||
	    (memfd != PTRACE_STUB_MEMFD &&
	     syscall(SYS_dup3, memfd, PTRACE_STUB_MEMFD, 0) < 0) ||
	    syscall(SYS_dup3, p->death[0], PTRACE_STUB_DEATHFD, 0) < 0 ||
	    syscall(SYS_dup3, sock, PTRACE_STUB_SOCK, 0) < 0)
		syscall(SYS_exit_group, PTRACE_START_DUP);
	if (syscall(SYS_close_range, PTRACE_STUB_SOCK + 1, ~0U, 0))
		syscall(SYS_exit_group, PTRACE_START_CLOSE);
	ptrace_stub_rseq_off();
	((void (*)(void))p->stub)();
	__builtin_unreachable();
}

/* ptrace_start_failed - explain why a new stub did not reach its stop. */
static int ptrace_start_failed(struct sbx_as *as, int status)
{
	struct sbx_platform *p = as->p;
	int err;

	if (WIFSTOPPED(status)) {
		siginfo_t si = { 0 };

		ptrace_call(PTRACE_GETSIGINFO, as->pid, 0, &si);
		ptrace_log(p, SBX_LOG_ERROR,
			   "stub %d: unexpected first stop, signal %d at %p",
			   (int)as->pid, WSTOPSIG(status), si.si_addr);
		return -EPROTO;
	}
	if (WIFSIGNALED(status)) {
		ptrace_log(p, SBX_LOG_ERROR, "stub %d killed by signal %d%s",
			   (int)as->pid, WTERMSIG(status),
			   WTERMSIG(status) == SIGSYS ?
				   " (the seccomp filter lacks the platform's rules?)" :
				   "");
		return -ECHILD;
	}
	err = WEXITSTATUS(status);
	if (err >= PTRACE_START_PARENT) {
		static const char *const step[] = {
			"parent died or prctl(PR_SET_PDEATHSIG) failed",
			"dup3 of the memory file, the death pipe or the socket failed",
			"close_range failed", "rseq unregistration failed",
		};
		const char *what = err < PTRACE_START_MUNMAP ?
					   step[err - PTRACE_START_PARENT] :
					   "munmap of the user range failed";

		ptrace_log(p, SBX_LOG_ERROR,
			   "stub %d failed to start: %s (a seccomp filter without the platform's seccomp_rules?)",
			   (int)as->pid, what);
		return -ECHILD;
	}
	if (err == EPERM || err == EACCES) {
		ptrace_log(p, SBX_LOG_ERROR,
			   "stub %d: ptrace(PTRACE_TRACEME): %s; ptrace is restricted on this host (check kernel.yama.ptrace_scope, seccomp or an LSM), use another platform",
			   (int)as->pid, strerror(err));
		return -EPERM;
	}
	ptrace_log(p, SBX_LOG_ERROR, "stub %d failed to start: %s",
		   (int)as->pid, strerror(err));
	return err ? -err : -ECHILD;
}

static int ptrace_as_create(struct sbx_platform *p, struct sbx_as **out)
{
	struct sbx_as *as;
	pid_t core = getpid();
	long pid, r;
	int status = 0, err, sv[2];

	as = calloc(1, sizeof(*as));
	if (!as)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		err = -errno;
		free(as);
		return err;
	}
	as->sock = sv[0];
	as->p = p;
	pthread_mutex_init(&as->file_lock, NULL);
	pthread_mutex_init(&as->leader_lock, NULL);
	pthread_mutex_init(&as->lock, NULL);
	as->leader.tracer = gettid();
	as->creator_holds = true;
	/* before the clone, so the stub inherits the same single CPU */
	if (p->pin)
		ptrace_pin_self(p);

	/*
	 * A fork-like clone with no exit signal: the stub stays out of the
	 * core's plain waitpid(-1) and sends no SIGCHLD when it dies (we
	 * wait with __WALL).
	 */
	pid = syscall(SYS_clone, 0L, 0L, 0L, 0L, 0L);
	if (pid < 0) {
		err = -errno;
		ptrace_log(p, SBX_LOG_ERROR, "clone stub: %s", strerror(-err));
		close(sv[1]);
		goto out_free;
	}
	if (pid == 0)
		ptrace_stub_child(p, core, sv[1]);
	close(sv[1]);
	as->pid = as->leader.tid = pid;

	err = ptrace_wait(as, &as->leader, &status);
	if (err) {
		err = ptrace_start_failed(as, status);
		goto out_free;
	}
	if (WSTOPSIG(status) != SIGTRAP) {
		err = ptrace_start_failed(as, status);
		goto out_kill;
	}
	/* EXITKILL: stubs die with their tracer, even on SIGKILL */
	if (ptrace_call(PTRACE_SETOPTIONS, pid, 0,
			PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD)) {
		err = ptrace_failed(as, &as->leader, "PTRACE_SETOPTIONS");
		goto out_kill;
	}
	if (ptrace_call(PTRACE_GETREGS, pid, 0, &as->inject)) {
		err = ptrace_failed(as, &as->leader, "PTRACE_GETREGS");
		goto out_kill;
	}
	as->inject.rip = p->stub + (ptrace_stub_syscall - ptrace_stub_code);
	as->inject.eflags &= ~PTRACE_EFLAGS_TF;
	/*
	 * Only now, with EXITKILL on, may the stub outlive the thread that
	 * forked it (PDEATHSIG follows that thread, not the core).
	 */
	r = ptrace_inject(as, &as->leader, NULL, SYS_prctl, PR_SET_PDEATHSIG,
			  0, 0, 0, 0, 0);
	if (r) {
		err = r < 0 ? (int)r : -EPROTO;
		goto out_kill;
	}
	ptrace_log(p, SBX_LOG_DEBUG, "stub %d traced by thread %d", (int)pid,
		   (int)as->leader.tracer);
	*out = as;
	return 0;

out_kill:
	ptrace_kill_reap(as, &as->leader);
out_free:
	pthread_mutex_destroy(&as->lock);
	pthread_mutex_destroy(&as->leader_lock);
	pthread_mutex_destroy(&as->file_lock);
	close(as->sock);
	free(as);
	return err;
}

/* ptrace_check_range - defence in depth: stay below the stub region. */
static int ptrace_check_range(struct sbx_as *as, uint64_t addr, uint64_t len)
{
	if ((addr | len) & (PTRACE_STUB_PAGE - 1) || len == 0 ||
	    addr < PTRACE_USER_MIN || addr > PTRACE_USER_MAX ||
	    len > PTRACE_USER_MAX - addr) {
		ptrace_log(as->p, SBX_LOG_ERROR,
			   "range [%#llx, +%#llx) outside the user range",
			   (unsigned long long)addr, (unsigned long long)len);
		return -EINVAL;
	}
	return 0;
}

/* ptrace_own_ctx - a live context of @as driven by the calling thread. */
static struct sbx_ctx *ptrace_own_ctx(struct sbx_as *as)
{
	pid_t me = gettid();
	struct sbx_ctx *c;

	pthread_mutex_lock(&as->lock);
	for (c = as->ctxs; c; c = c->next)
		if (c->th.tracer == me && !c->th.reaped)
			break;
	pthread_mutex_unlock(&as->lock);
	return c;
}

/*
 * struct ptrace_target - the stub thread an address-space op runs on: the
 * caller's own stub thread (stopped: its core thread is here), else the
 * leader (before the first context, or from a thread without a context in
 * the address space), with leader_lock held from ptrace_target_get to
 * ptrace_target_put.
 */
struct ptrace_target {
	struct ptrace_thread *th;
	struct sbx_ctx *ctx; /* NULL: the leader */
};

static int ptrace_target_get(struct sbx_as *as, struct ptrace_target *t)
{
	int r;

	t->ctx = ptrace_own_ctx(as);
	if (t->ctx) {
		t->th = &t->ctx->th;
		return 0;
	}
	t->th = &as->leader;
	pthread_mutex_lock(&as->leader_lock);
	r = ptrace_leader_get(as);
	if (r) {
		ptrace_leader_put(as);
		pthread_mutex_unlock(&as->leader_lock);
	}
	return r;
}

static void ptrace_target_put(struct sbx_as *as, struct ptrace_target *t)
{
	if (t->ctx)
		return;
	ptrace_leader_put(as);
	pthread_mutex_unlock(&as->leader_lock);
}

static long ptrace_target_call(struct sbx_as *as, struct ptrace_target *t,
			       long nr, long a0, long a1, long a2, long a3,
			       long a4, long a5)
{
	return ptrace_inject(as, t->th, t->ctx, nr, a0, a1, a2, a3, a4, a5);
}

/* ptrace_as_call - run one address-space system call in the stub. */
static long ptrace_as_call(struct sbx_as *as, long nr, long a0, long a1,
			   long a2, long a3, long a4, long a5)
{
	struct ptrace_target t;
	long r = ptrace_target_get(as, &t);

	if (r)
		return r;
	r = ptrace_target_call(as, &t, nr, a0, a1, a2, a3, a4, a5);
	ptrace_target_put(as, &t);
	return r;
}

/*
 * ptrace_receive - make the stub hold donated file @fd (file_lock held,
 * @t got): send it over the stub's socket with a sequence number and
 * inject recvmsg into the scratch page's msghdr on @t.  A message with an
 * older number (whose receive failed) is closed and the next one taken.
 * Return: the fd number in the stub, or -errno.
 */
static long ptrace_receive(struct sbx_as *as, struct ptrace_target *t, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	uint64_t seq = ++as->seq, scratch = as->p->stub + PTRACE_STUB_PAGE;
	struct iovec iov = { &seq, sizeof(seq) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	pid_t tid = t->th->tid;
	struct cmsghdr *c;
	int tries;
	long r;

	memset(&u, 0, sizeof(u));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(as->sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) != sizeof(seq))
		return -EIO;
	for (tries = 0; tries < 4; tries++) {
		uint64_t got, hdr[2], nfd;

		/* recvmsg rewrites the control length: give it back */
		if (ptrace_call(PTRACE_POKEDATA, tid,
				scratch + PTRACE_MSG +
					offsetof(struct msghdr, msg_controllen),
				CMSG_SPACE(sizeof(int))))
			return ptrace_failed(as, t->th, "PTRACE_POKEDATA");
		r = ptrace_target_call(as, t, SYS_recvmsg, PTRACE_STUB_SOCK,
				       scratch + PTRACE_MSG,
				       MSG_DONTWAIT | MSG_CMSG_CLOEXEC, 0, 0, 0);
		if (r < 0)
			return r;
		/* cmsghdr: len (8), level (4), type (4), then the fd */
		if (ptrace_call(PTRACE_PEEKDATA, tid,
				scratch + PTRACE_MSG_DATA, &got) ||
		    ptrace_call(PTRACE_PEEKDATA, tid,
				scratch + PTRACE_MSG_CTL, &hdr[0]) ||
		    ptrace_call(PTRACE_PEEKDATA, tid,
				scratch + PTRACE_MSG_CTL + 8, &hdr[1]) ||
		    ptrace_call(PTRACE_PEEKDATA, tid,
				scratch + PTRACE_MSG_CTL + 16, &nfd))
			return ptrace_failed(as, t->th, "PTRACE_PEEKDATA");
		nfd &= 0xffffffff;
		if (hdr[0] != CMSG_LEN(sizeof(int)) ||
		    hdr[1] != ((uint64_t)SCM_RIGHTS << 32 | SOL_SOCKET) ||
		    nfd <= PTRACE_STUB_SOCK || nfd > 1024) {
			ptrace_log(as->p, SBX_LOG_WARN,
				   "stub %d: no donated file received",
				   (int)as->pid);
			return -EIO;
		}
		if (r == sizeof(seq) && got == seq)
			return (long)nfd;
		ptrace_target_call(as, t, SYS_close, (long)nfd, 0, 0, 0, 0, 0);
	}
	return -EIO;
}

/*
 * ptrace_map_donated - as_map of a donated file: receive it, mmap it, close
 * it, all on the one stub thread the op runs on, under file_lock (the
 * socket and the scratch page are shared by the stub's threads).
 */
static long ptrace_map_donated(struct sbx_as *as, uint64_t addr,
			       uint64_t len, int prot, int mflags, int fd,
			       uint64_t offset)
{
	struct ptrace_target t;
	long r, sfd;

	pthread_mutex_lock(&as->file_lock);
	r = ptrace_target_get(as, &t);
	if (r)
		goto out;
	sfd = ptrace_receive(as, &t, fd);
	if (sfd < 0) {
		r = sfd;
	} else {
		r = ptrace_target_call(as, &t, SYS_mmap, addr, len, prot,
				       mflags, sfd, offset);
		ptrace_target_call(as, &t, SYS_close, sfd, 0, 0, 0, 0, 0);
	}
	ptrace_target_put(as, &t);
out:
	pthread_mutex_unlock(&as->file_lock);
	return r;
}

/* as_map - the memory file, or a donated file (see ptrace_receive). */
static int ptrace_as_map(struct sbx_as *as, uint64_t addr, uint64_t len,
			 int prot, int fd, uint64_t offset, uint32_t flags)
{
	int mflags = MAP_FIXED;
	long r;
	int err;

	err = ptrace_check_range(as, addr, len);
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
	if (fd != as->p->svc->memfd)
		r = ptrace_map_donated(as, addr, len, prot, mflags, fd, offset);
	else
		r = ptrace_as_call(as, SYS_mmap, addr, len, prot, mflags,
				   PTRACE_STUB_MEMFD, offset);
	if (r < 0 && r > -4096)
		return r;
	if ((uint64_t)r != addr) {
		ptrace_log(as->p, SBX_LOG_ERROR,
			   "as_map: stub mapped %#lx instead of %#llx", r,
			   (unsigned long long)addr);
		return -EFAULT;
	}
	return 0;
}

static int ptrace_as_unmap(struct sbx_as *as, uint64_t addr, uint64_t len)
{
	int err = ptrace_check_range(as, addr, len);

	if (err)
		return err;
	return ptrace_as_call(as, SYS_munmap, addr, len, 0, 0, 0, 0);
}

static int ptrace_as_protect(struct sbx_as *as, uint64_t addr, uint64_t len,
			     int prot)
{
	int err = ptrace_check_range(as, addr, len);

	if (err)
		return err;
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	return ptrace_as_call(as, SYS_mprotect, addr, len, prot, 0, 0, 0);
}

/*
 * as_destroy - may run on any thread: kill needs no tracer, and any core
 * thread may wait for the leader (the kernel lets threads of one group
 * wait for each other's children and tracees).  Every context is gone, so
 * the leader is the last thread and its reap does not block.
 */
static void ptrace_as_destroy(struct sbx_as *as)
{
	if (!as)
		return;
	if (as->ctxs) {
		/* a caller bug; a blocking reap would wait for them forever */
		ptrace_log(as->p, SBX_LOG_ERROR,
			   "as_destroy: stub %d still has contexts; leaving it killed but unreaped",
			   (int)as->pid);
		ptrace_kill(as, &as->leader);
	} else {
		ptrace_kill_reap(as, &as->leader);
	}
	pthread_mutex_destroy(&as->lock);
	pthread_mutex_destroy(&as->leader_lock);
	pthread_mutex_destroy(&as->file_lock);
	close(as->sock);
	free(as);
}

/* ---- contexts ----------------------------------------------------------- */

/*
 * ptrace_thread_started - wait for a new stub thread's first stop, before
 * it ran any instruction: PTRACE_EVENT_STOP when the leader was seized,
 * else the SIGSTOP that CLONE_PTRACE queues (suppressed by the next
 * resume).  Anything else means it ran: the caller makes it exit.
 */
static int ptrace_thread_started(struct sbx_as *as, struct ptrace_thread *th)
{
	int status, err = ptrace_wait(as, th, &status);

	if (err)
		return err;
	if (status >> 16 == PTRACE_EVENT_STOP ||
	    (!(status >> 16) && WSTOPSIG(status) == SIGSTOP))
		return 0;
	ptrace_log(as->p, SBX_LOG_ERROR,
		   "stub %d: new thread %d stopped with %#x first",
		   (int)as->pid, (int)th->tid, status >> 8);
	return -EPROTO;
}

/*
 * ptrace_thread_exit - end a context's stub thread (its tracer only):
 * inject exit(0) and reap it.  If that cannot be done, the whole stub is
 * killed: a stub thread must never be left running untraced.
 */
static void ptrace_thread_exit(struct sbx_as *as, struct ptrace_thread *th)
{
	struct user_regs_struct r = as->inject;
	int status;
	pid_t w;

	if (th->reaped)
		return;
	if (ptrace_check_tracer(as, th, "ctx_destroy"))
		return; /* cannot touch it; as_destroy reports it */
	if (atomic_load(&as->dead))
		goto out_kill;
	r.rax = SYS_exit;
	r.rdi = 0;
	r.orig_rax = -1;
	if (ptrace_call(PTRACE_SETREGS, th->tid, 0, &r) ||
	    ptrace_call(PTRACE_CONT, th->tid, 0, 0))
		goto out_kill;
	for (;;) {
		w = waitpid(th->tid, &status, __WALL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w != th->tid || !WIFSTOPPED(status))
			break; /* exited (or ECHILD: gone) */
		/* a pending interrupt signal: suppress it, exit goes on */
		if (ptrace_call(PTRACE_CONT, th->tid, 0, 0))
			goto out_kill;
	}
	th->reaped = true;
	return;

out_kill:
	ptrace_kill_reap(as, th);
}

static int ptrace_ctx_create(struct sbx_as *as, struct sbx_ctx **out)
{
	struct sbx_platform *p = as->p;
	struct sbx_ctx *ctx;
	int cpu = -1, err;
	long tid;

	if (atomic_load(&as->dead))
		return -ESRCH;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->as = as;
	if (p->pin)
		cpu = ptrace_pin_self(p);

	pthread_mutex_lock(&as->leader_lock);
	tid = ptrace_leader_get(as);
	if (!tid) {
		tid = ptrace_inject(as, &as->leader, NULL, SYS_clone,
				    PTRACE_THREAD_FLAGS, 0, 0, 0, 0, 0);
		/* from now on the leader is shared: park it after each use */
		if (tid > 0 && p->multi)
			as->creator_holds = false;
	}
	ptrace_leader_put(as);
	pthread_mutex_unlock(&as->leader_lock);
	if (tid <= 0) {
		err = tid < 0 ? (int)tid : -EPROTO;
		ptrace_log(p, SBX_LOG_ERROR, "ctx_create: clone in stub %d: %s",
			   (int)as->pid, strerror(-err));
		goto out_free;
	}
	ctx->th.tid = tid;
	ctx->th.tracer = gettid();
	err = ptrace_thread_started(as, &ctx->th);
	if (err)
		goto out_exit;
	ptrace_pin(p, ctx->th.tid, cpu);

	pthread_mutex_lock(&as->lock);
	ctx->next = as->ctxs;
	as->ctxs = ctx;
	pthread_mutex_unlock(&as->lock);
	ptrace_log(p, SBX_LOG_DEBUG, "stub %d: thread %d traced by thread %d",
		   (int)as->pid, (int)ctx->th.tid, (int)ctx->th.tracer);
	*out = ctx;
	return 0;

out_exit:
	ptrace_thread_exit(as, &ctx->th);
out_free:
	free(ctx);
	return err;
}

/*
 * ctx_destroy - the context's stub thread exits; the leader stays.  A
 * thread that could not be reaped (wrong caller) stays listed, so that
 * as_destroy does not wait for a leader whose reap it would hold up.
 */
static void ptrace_ctx_destroy(struct sbx_ctx *ctx)
{
	struct sbx_as *as;
	struct sbx_ctx **pp;

	if (!ctx)
		return;
	as = ctx->as;
	ptrace_thread_exit(as, &ctx->th);
	if (!ctx->th.reaped)
		return;
	pthread_mutex_lock(&as->lock);
	for (pp = &as->ctxs; *pp; pp = &(*pp)->next) {
		if (*pp == ctx) {
			*pp = ctx->next;
			break;
		}
	}
	pthread_mutex_unlock(&as->lock);
	free(ctx);
}

static int ptrace_interrupt(struct sbx_ctx *ctx)
{
	struct sbx_as *as = ctx->as;

	/*
	 * Only the 0 -> 1 transition sends a signal, and the tracer clears
	 * the flag only when it sees that signal's stop: at most one of our
	 * signals is ever in flight, so none is left over to be taken later
	 * for a new interrupt.  SIGSTOP cannot be blocked and, to a tracee,
	 * always gives a signal-delivery-stop (suppressed by the tracer, so
	 * no group stop); if the stub thread is already stopped it stays
	 * pending and stops it before it runs any instruction.  tgkill to
	 * the context's own thread: no other context sees it.
	 */
	if (atomic_exchange(&ctx->pending, 1))
		return 0;
	if (syscall(SYS_tgkill, as->pid, ctx->th.tid, PTRACE_INTR_SIG)) {
		int err = errno;

		atomic_store(&ctx->pending, 0);
		return -err;
	}
	return 0;
}

static void ptrace_set_exit(struct sbx_exit *exit, uint32_t kind)
{
	exit->kind = kind;
	exit->signo = 0;
	exit->code = 0;
	exit->access = 0;
	exit->trapno = -1;
	exit->addr = 0;
}

/*
 * ptrace_fault - fill @exit for a fault signal stop, or return 1 when the
 * signal was not a fault after all (sent by someone, si_code <= 0).
 */
static int ptrace_fault(struct sbx_ctx *ctx, int sig, struct sbx_exit *exit)
{
	struct sbx_as *as = ctx->as;
	siginfo_t si;

	if (ptrace_call(PTRACE_GETSIGINFO, ctx->th.tid, 0, &si))
		return ptrace_failed(as, &ctx->th, "PTRACE_GETSIGINFO");
	if (si.si_code <= 0)
		return 1;
	ptrace_set_exit(exit, SBX_EXIT_FAULT);
	exit->signo = sig;
	exit->code = si.si_code;
	exit->addr = (uintptr_t)si.si_addr;
	return 0;
}

/*
 * ptrace_put_regs - give the stub the core's registers, cheaply.  Each
 * ptrace request costs 1-2 us here, SETREGS the most; after a system call
 * the core has usually changed only rax, which one POKEUSER sets.
 */
static int ptrace_put_regs(struct sbx_ctx *ctx, const struct sbx_regs *regs)
{
	const uint64_t *want = (const uint64_t *)regs;
	const uint64_t *have = (const uint64_t *)&ctx->regs;
	struct sbx_as *as = ctx->as;
	struct user_regs_struct r;
	size_t i, n = sizeof(*regs) / 8, diff = n, ndiff = 0;

	if (ctx->regs_valid) {
		for (i = 0; i < n && ndiff < 2; i++) {
			if (want[i] != have[i]) {
				diff = i;
				ndiff++;
			}
		}
		if (ndiff == 0)
			return 0;
	}
	/*
	 * One general register or rip changed: POKEUSER it.  Not a -ERESTART*
	 * value in rax while orig_rax says "in a syscall" (see below).
	 */
	if (ndiff == 1 &&
	    (diff * 8 <= offsetof(struct user_regs_struct, rdi) ||
	     diff * 8 == offsetof(struct user_regs_struct, rip)) &&
	    !(diff * 8 == offsetof(struct user_regs_struct, rax) &&
	      (int64_t)regs->orig_rax >= 0 && (int64_t)regs->rax >= -516 &&
	      (int64_t)regs->rax <= -512)) {
		if (ptrace_call(PTRACE_POKEUSR, ctx->th.tid, diff * 8, want[diff]))
			return ptrace_failed(as, &ctx->th, "PTRACE_POKEUSR");
		return 0;
	}

	memcpy(&r, regs, sizeof(r));
	/*
	 * orig_rax -1: the kernel must not take a result the core put in
	 * rax for a syscall to restart if a signal (our interrupt) stops the
	 * stub on its way out.
	 */
	r.orig_rax = -1;
	/* the kernel refuses null code/stack selectors */
	if (!r.cs)
		r.cs = as->inject.cs;
	if (!r.ss)
		r.ss = as->inject.ss;
	if (ptrace_call(PTRACE_SETREGS, ctx->th.tid, 0, &r))
		return ptrace_failed(as, &ctx->th, "PTRACE_SETREGS");
	return 0;
}

static int ptrace_switch_to(struct sbx_ctx *ctx, struct sbx_regs *regs,
			    struct sbx_exit *exit)
{
	struct sbx_as *as = ctx->as;
	int status, sig, err;

	if (exit->size < sizeof(*exit))
		return -EINVAL;
	if (ctx->th.reaped || atomic_load(&as->dead))
		return -ESRCH;
	if (ctx->kicked) {
		/* the interrupt signal was already taken during an as_* op */
		ctx->kicked = false;
		ptrace_set_exit(exit, SBX_EXIT_INTERRUPT);
		return 0;
	}

	err = ptrace_put_regs(ctx, regs);
	if (err)
		return err;
	ctx->regs_valid = false;

	for (;;) {
		/* data 0: a fault or interrupt signal is not delivered */
		if (ptrace_call(PTRACE_SYSEMU, ctx->th.tid, 0, 0))
			return ptrace_failed(as, &ctx->th, "PTRACE_SYSEMU");
		err = ptrace_wait(as, &ctx->th, &status);
		if (err)
			return err;
		sig = WSTOPSIG(status);
		if (sig == (SIGTRAP | 0x80)) {
			ptrace_set_exit(exit, SBX_EXIT_SYSCALL);
			break;
		}
		if (status >> 16) {
			/* no PTRACE_O_TRACE* events are enabled */
			ptrace_log(as->p, SBX_LOG_WARN,
				   "stub %d thread %d: unexpected ptrace event %d",
				   (int)as->pid, (int)ctx->th.tid, status >> 16);
			continue;
		}
		if (sig == PTRACE_INTR_SIG) {
			ptrace_interrupt_seen(ctx);
			ptrace_set_exit(exit, SBX_EXIT_INTERRUPT);
			break;
		}
		if (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE ||
		    sig == SIGILL || sig == SIGTRAP) {
			err = ptrace_fault(ctx, sig, exit);
			if (err < 0)
				return err;
			if (err == 0)
				break;
		}
		/* any other host signal (sent by someone else): suppressed */
		ptrace_set_exit(exit, SBX_EXIT_INTERRUPT);
		break;
	}

	if (ptrace_call(PTRACE_GETREGS, ctx->th.tid, 0, &ctx->regs))
		return ptrace_failed(as, &ctx->th, "PTRACE_GETREGS");
	ctx->regs_valid = true;
	memcpy(regs, &ctx->regs, sizeof(*regs));
	if (exit->kind == SBX_EXIT_FAULT && sig != SIGSEGV && sig != SIGBUS &&
	    !exit->addr)
		exit->addr = regs->rip;
	/*
	 * ptrace does not give the page-fault error code.  An instruction
	 * fetch faults at rip, or at the next page start for an instruction
	 * that crosses it; anything else is a data access of unknown kind
	 * (access 0), which the core then treats as read or write.
	 */
	if (exit->kind == SBX_EXIT_FAULT && sig == SIGSEGV &&
	    (exit->addr == regs->rip ||
	     (!(exit->addr & (PTRACE_STUB_PAGE - 1)) &&
	      exit->addr > regs->rip && exit->addr - regs->rip < 15)))
		exit->access = SBX_ACCESS_EXEC;
	return 0;
}

/* ---- FPU state ---------------------------------------------------------- */

/*
 * ptrace_xstate_size - size of the NT_X86_XSTATE regset, 1 if absent.
 * The same for every thread; threads racing to learn it store one value.
 */
static size_t ptrace_xstate_size(struct sbx_ctx *ctx)
{
	struct sbx_as *as = ctx->as;
	size_t len = 64 * 1024, size = atomic_load(&as->xstate_size);
	struct iovec iov;
	void *buf;

	if (size)
		return size;
	buf = malloc(len);
	if (!buf)
		return 0;
	iov.iov_base = buf;
	iov.iov_len = len;
	if (ptrace_call(PTRACE_GETREGSET, ctx->th.tid, NT_X86_XSTATE, &iov))
		size = 1;
	else
		size = iov.iov_len;
	free(buf);
	atomic_store(&as->xstate_size, size);
	return size;
}

static int ptrace_ctx_get_fpstate(struct sbx_ctx *ctx, void *buf, size_t len)
{
	struct sbx_as *as = ctx->as;
	struct iovec iov = { buf, len & ~(size_t)7 };
	int err = ptrace_check_tracer(as, &ctx->th, "ctx_get_fpstate");

	if (err)
		return err;
	if (len < 512)
		return -ENOSPC;
	if (!ptrace_call(PTRACE_GETREGSET, ctx->th.tid, NT_X86_XSTATE, &iov))
		return iov.iov_len;
	if (errno != EINVAL && errno != ENODEV)
		return ptrace_failed(as, &ctx->th, "PTRACE_GETREGSET");
	/* no XSAVE: the 512-byte FXSAVE area alone */
	iov.iov_len = 512;
	if (ptrace_call(PTRACE_GETREGSET, ctx->th.tid, NT_PRFPREG, &iov))
		return ptrace_failed(as, &ctx->th, "PTRACE_GETREGSET");
	return iov.iov_len;
}

static int ptrace_ctx_set_fpstate(struct sbx_ctx *ctx, const void *buf,
				  size_t len)
{
	struct sbx_as *as = ctx->as;
	struct iovec iov = { (void *)buf, 512 };
	size_t size;
	void *full;
	int err = ptrace_check_tracer(as, &ctx->th, "ctx_set_fpstate");

	if (err)
		return err;
	if (len < 512)
		return -ENOSPC;
	size = ptrace_xstate_size(ctx);
	if (size == 0)
		return -ENOMEM;
	if (size == 1) {
		if (ptrace_call(PTRACE_SETREGSET, ctx->th.tid, NT_PRFPREG, &iov))
			return ptrace_failed(as, &ctx->th, "PTRACE_SETREGSET");
		return 512;
	}
	if (len >= size) {
		/* the kernel takes only a whole XSAVE area */
		iov.iov_len = size;
		if (ptrace_call(PTRACE_SETREGSET, ctx->th.tid, NT_X86_XSTATE, &iov))
			return ptrace_failed(as, &ctx->th, "PTRACE_SETREGSET");
		return size;
	}

	/* a short buffer: overlay it on the current state */
	full = malloc(size);
	if (!full)
		return -ENOMEM;
	iov.iov_base = full;
	iov.iov_len = size;
	if (ptrace_call(PTRACE_GETREGSET, ctx->th.tid, NT_X86_XSTATE, &iov)) {
		err = ptrace_failed(as, &ctx->th, "PTRACE_GETREGSET");
		goto out_free;
	}
	memcpy(full, buf, len);
	if (len < 576) {
		/* no XSAVE header given: make the legacy FP/SSE area count */
		uint64_t bv;

		memcpy(&bv, (char *)full + 512, sizeof(bv));
		bv |= 3;
		memcpy((char *)full + 512, &bv, sizeof(bv));
	}
	if (ptrace_call(PTRACE_SETREGSET, ctx->th.tid, NT_X86_XSTATE, &iov)) {
		err = ptrace_failed(as, &ctx->th, "PTRACE_SETREGSET");
		goto out_free;
	}
	err = len;
out_free:
	free(full);
	return err;
}

/* ---- entry ---------------------------------------------------------------- */

/* as_cpu_pid - the stub process runs the application: its CPU clocks are
 * the application's time (see platform.h). */
static int ptrace_as_cpu_pid(struct sbx_as *as)
{
	return as->pid;
}

static const struct sbx_platform_ops ptrace_ops = {
	.size = sizeof(struct sbx_platform_ops),
	.init = ptrace_init,
	.fini = ptrace_fini,
	.describe = ptrace_describe,
	.seccomp_rules = ptrace_seccomp_rules,
	.as_create = ptrace_as_create,
	.as_map = ptrace_as_map,
	.as_unmap = ptrace_as_unmap,
	.as_protect = ptrace_as_protect,
	.as_destroy = ptrace_as_destroy,
	.ctx_create = ptrace_ctx_create,
	.switch_to = ptrace_switch_to,
	.interrupt = ptrace_interrupt,
	.ctx_destroy = ptrace_ctx_destroy,
	.ctx_get_fpstate = ptrace_ctx_get_fpstate,
	.ctx_set_fpstate = ptrace_ctx_set_fpstate,
	.ctl = NULL,
	.as_cpu_pid = ptrace_as_cpu_pid,
};

static const struct sbx_plugin_desc ptrace_desc = {
	.size = sizeof(struct sbx_plugin_desc),
	.kind = SBX_PLUGIN_PLATFORM,
	.abi_major = SBX_PLATFORM_ABI_MAJOR,
	.abi_minor = SBX_PLATFORM_ABI_MINOR,
	.name = "ptrace",
	.description = "stub processes driven with PTRACE_SYSEMU",
	.ops = &ptrace_ops,
};

SBX_EXPORT const struct sbx_plugin_desc *sbx_plugin_entry(void)
{
	return &ptrace_desc;
}
