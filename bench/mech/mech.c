/*
 * mech: raw mechanism benchmarks for the systrap platform, without sbx.
 *
 *   native_getppid       a plain getppid
 *   sigsys_inproc        getppid trapped by seccomp (SECCOMP_RET_TRAP) to
 *                        a SIGSYS handler in the same process, which sets
 *                        the result and returns
 *   handoff_*            the same trap, but the handler hands the call to
 *                        a second process through a shared word and waits
 *                        for its answer: "futex" sleeps at once on both
 *                        sides, "spin" spins SPIN_US first; "same" pins
 *                        both processes to one CPU, "cross" to two
 *
 * Output: `name value unit` lines, medians of RUNS runs of ITERS calls.
 * Divided into: the shared word and hand-off; the measured child; main.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define RUNS	11
#define SPIN_US 20

enum { ST_RUN, ST_EVENT, ST_RESUME, ST_STOP };

struct shared {
	uint32_t state;
	uint32_t waiting[2]; /* 0: the trapping side, 1: the server */
	uint64_t spin;	     /* pause iterations before sleeping */
	double result_ns;
};

static struct shared *S;

/* ---- the shared word and hand-off ------------------------------------------ */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void post(uint32_t v, int other)
{
	__atomic_exchange_n(&S->state, v, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&S->waiting[other], __ATOMIC_SEQ_CST))
		syscall(SYS_futex, &S->state, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* wait until state is not @cur: spin, then announce and sleep */
static uint32_t wait_change(uint32_t cur, int self)
{
	uint64_t i;
	uint32_t v;

	for (i = 0; i < S->spin; i++) {
		v = __atomic_load_n(&S->state, __ATOMIC_ACQUIRE);
		if (v != cur)
			return v;
		__builtin_ia32_pause();
	}
	for (;;) {
		__atomic_exchange_n(&S->waiting[self], 1, __ATOMIC_SEQ_CST);
		v = __atomic_load_n(&S->state, __ATOMIC_SEQ_CST);
		if (v != cur)
			break;
		syscall(SYS_futex, &S->state, FUTEX_WAIT, cur, NULL, NULL, 0);
	}
	__atomic_store_n(&S->waiting[self], 0, __ATOMIC_RELAXED);
	return v;
}

static void handler_local(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)si;
	((ucontext_t *)ctx)->uc_mcontext.gregs[REG_RAX] = 1;
}

static void handler_handoff(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)si;
	post(ST_EVENT, 1);
	while (wait_change(ST_EVENT, 0) != ST_RESUME)
		;
	__atomic_store_n(&S->state, ST_RUN, __ATOMIC_RELAXED);
	((ucontext_t *)ctx)->uc_mcontext.gregs[REG_RAX] = 1;
}

/* ---- the measured child -------------------------------------------------------- */

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* trap getppid only; everything else (futex, clock_gettime) runs */
static void trap_getppid(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) {
		perror("seccomp");
		_exit(1);
	}
}

static void loop(int iters)
{
	double t0 = 0;
	int i;

	for (i = -iters / 10; i < iters; i++) {
		if (i == 0)
			t0 = now_ns();
		syscall(SYS_getppid);
	}
	S->result_ns = (now_ns() - t0) / iters;
}

/*
 * one run: kind 0 native, 1 in-process SIGSYS, 2 hand-off; for a hand-off
 * the child traps and this process serves.
 */
static double run(int kind, int iters, int cpu_child, int cpu_server,
		  uint64_t spin)
{
	struct sigaction sa = { .sa_flags = SA_SIGINFO };
	pid_t pid;
	int status;

	memset(S, 0, sizeof(*S));
	S->spin = spin;
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		pin(cpu_child);
		if (kind > 0) {
			sa.sa_sigaction = kind == 1 ? handler_local :
						      handler_handoff;
			sigemptyset(&sa.sa_mask);
			sigaction(SIGSYS, &sa, NULL);
			trap_getppid();
		}
		loop(iters);
		if (kind == 2)
			post(ST_STOP, 1);
		_exit(0);
	}
	if (kind == 2) {
		pin(cpu_server);
		for (;;) {
			uint32_t v = wait_change(ST_RUN, 1);

			if (v == ST_STOP)
				break;
			if (v == ST_EVENT)
				post(ST_RESUME, 0);
			else
				/* the child has moved on; wait for the next */
				while (__atomic_load_n(&S->state,
						       __ATOMIC_ACQUIRE) ==
				       ST_RESUME)
					__builtin_ia32_pause();
		}
		pin(-1);
	}
	waitpid(pid, &status, 0);
	return S->result_ns;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* pause iterations per microsecond */
static uint64_t calibrate(void)
{
	double t0 = now_ns();
	int i;

	for (i = 0; i < 100000; i++)
		__builtin_ia32_pause();
	return 100000 / ((now_ns() - t0) / 1000) + 1;
}

static void report(const char *name, int kind, int iters, int cc, int cs,
		   uint64_t spin)
{
	double v[RUNS];
	int i;

	for (i = 0; i < RUNS; i++)
		v[i] = run(kind, iters, cc, cs, spin);
	qsort(v, RUNS, sizeof(v[0]), cmp);
	printf("%s %.0f ns\n", name, v[RUNS / 2]);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int iters = argc > 1 ? atoi(argv[1]) : 20000;
	uint64_t spin = SPIN_US * calibrate();
	cpu_set_t set;
	int ncpu;

	sched_getaffinity(0, sizeof(set), &set);
	ncpu = CPU_COUNT(&set);
	S = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		 -1, 0);
	if (S == MAP_FAILED)
		return 1;
	report("mech_native_getppid_ns", 0, iters * 10, -1, -1, 0);
	report("mech_sigsys_inproc_ns", 1, iters, -1, -1, 0);
	report("mech_handoff_futex_same_cpu_ns", 2, iters / 4, 0, 0, 0);
	report("mech_handoff_spin_same_cpu_ns", 2, iters / 4, 0, 0, spin);
	if (ncpu < 2) {
		fprintf(stderr, "one CPU: no cross-CPU figures\n");
		return 0;
	}
	report("mech_handoff_futex_cross_cpu_ns", 2, iters / 20, 0, 1, 0);
	report("mech_handoff_spin_cross_cpu_ns", 2, iters / 4, 0, 1, spin);
	return 0;
}
