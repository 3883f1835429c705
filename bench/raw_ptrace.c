/*
 * raw_ptrace: the cost of the bare mechanism the ptrace platform is built
 * on, as the reference for its target (within 1.3x).  A forked child loops
 * on getppid; the parent catches each call with PTRACE_SYSEMU + waitpid,
 * once bare and once with the GETREGS/SETREGS a real core needs, with
 * parent and child on the same CPU and on different CPUs.
 *
 * Output: `name value unit` lines, medians of RUNS runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>

#define RUNS 11

static void pin(pid_t pid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(pid, sizeof(set), &set)) {
		perror("sched_setaffinity");
		exit(1);
	}
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* one run: @iters round trips, ns per round trip */
static double run(int child_cpu, int iters, int regs)
{
	struct user_regs_struct r;
	double t0, t;
	pid_t pid;
	int st, i;

	pin(0, 0);
	pid = fork();
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		for (;;)
			syscall(SYS_getppid);
	}
	waitpid(pid, &st, __WALL);
	ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_EXITKILL);
	pin(pid, child_cpu);
	/* warm up, then measure */
	for (i = -iters / 10; i < iters; i++) {
		if (i == 0)
			t0 = now_ns();
		if (regs) {
			ptrace(PTRACE_GETREGS, pid, 0, &r);
			r.rax = 1;
			ptrace(PTRACE_SETREGS, pid, 0, &r);
		}
		ptrace(PTRACE_SYSEMU, pid, 0, 0);
		waitpid(pid, &st, __WALL);
	}
	t = (now_ns() - t0) / iters;
	kill(pid, SIGKILL);
	waitpid(pid, &st, __WALL);
	return t;
}

static void bench(const char *name, int child_cpu, int iters, int regs)
{
	double v[RUNS];
	int i;

	for (i = 0; i < RUNS; i++)
		v[i] = run(child_cpu, iters, regs);
	qsort(v, RUNS, sizeof(v[0]), cmp);
	printf("%s %.0f ns\n", name, v[RUNS / 2]);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int iters = argc > 1 ? atoi(argv[1]) : 20000;
	int cpus = sysconf(_SC_NPROCESSORS_ONLN);

	bench("raw_sysemu_same_cpu_ns", 0, iters, 0);
	bench("raw_sysemu_regs_same_cpu_ns", 0, iters, 1);
	if (cpus > 1) {
		/* cross-CPU wake-ups are ~50 us: fewer rounds */
		bench("raw_sysemu_cross_cpu_ns", 1, iters / 10, 0);
		bench("raw_sysemu_regs_cross_cpu_ns", 1, iters / 10, 1);
	}
	return 0;
}
