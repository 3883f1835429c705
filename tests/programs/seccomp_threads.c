/*
 * seccomp_threads: the application's seccomp filters in multi-threaded
 * processes, compared natively and in the sandbox (by
 * tests/integration/threads.sh, which skips platforms without threads):
 * KILL_THREAD ends one thread, KILL_PROCESS from a thread ends all,
 * filters are per thread unless SECCOMP_FILTER_FLAG_TSYNC, new threads
 * inherit them, TSYNC fails with the tid of a thread whose filters
 * diverged or that is in strict mode (ESRCH with TSYNC_ESRCH).
 * Every case runs in a forked child; prints relations only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct insn {
	uint16_t code;
	uint8_t jt, jf;
	uint32_t k;
};
struct fprog {
	unsigned short len;
	struct insn *filter;
};
#define R_KILL_PROCESS 0x80000000U
#define R_KILL_THREAD 0x00000000U
#define R_ERRNO 0x00050000U
#define R_ALLOW 0x7fff0000U
#define F_TSYNC 1
#define F_TSYNC_ESRCH 16

static long block(int nr, uint32_t action, unsigned flags)
{
	struct insn f[] = {
		{ 0x20, 0, 0, 0 },		/* A = nr */
		{ 0x15, 0, 1, (uint32_t)nr },	/* if A == nr */
		{ 0x06, 0, 0, action },
		{ 0x06, 0, 0, R_ALLOW },
	};
	struct fprog p = { 4, f };

	return syscall(317, 1, flags, &p);
}

static const char *result(long r)
{
	static __thread char buf[64];

	if (r == -1)
		snprintf(buf, sizeof(buf), "-1 errno %d", errno);
	else
		snprintf(buf, sizeof(buf), "%ld", r);
	return buf;
}

static void nnp(void)
{
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

static pthread_t spawn(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	int e = pthread_create(&t, NULL, fn, arg);

	if (e) {
		printf("pthread_create: %s\n", strerror(e));
		fflush(stdout);
		_exit(1);
	}
	return t;
}

/* a one-shot gate between two threads */
struct gate {
	pthread_mutex_t m;
	pthread_cond_t c;
	int open;
	long value;
};
#define GATE { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 }

static void gate_open(struct gate *g, long v)
{
	pthread_mutex_lock(&g->m);
	g->open = 1;
	g->value = v;
	pthread_cond_broadcast(&g->c);
	pthread_mutex_unlock(&g->m);
}

static long gate_wait(struct gate *g)
{
	long v;

	pthread_mutex_lock(&g->m);
	while (!g->open)
		pthread_cond_wait(&g->c, &g->m);
	v = g->value;
	pthread_mutex_unlock(&g->m);
	return v;
}

static void child(const char *name, void (*fn)(void))
{
	int st;
	pid_t pid;

	printf("== %s\n", name);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		fn();
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	if (WIFEXITED(st))
		printf("%s: exit %d\n", name, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("%s: killed by %s\n", name,
		       WTERMSIG(st) == SIGSYS ? "SIGSYS" : "another signal");
	fflush(stdout);
}

/* gone - wait (at most 5 s) until thread @tid no longer exists.  Not
 * pthread_join: musl's join waits for a word the thread itself clears on
 * its way out, which a killed (or raw exit(2)ed) thread never does. */
static int gone(long tid)
{
	for (int i = 0; i < 5000; i++) {
		if (tid && syscall(SYS_tgkill, getpid(), tid, 0) == -1 &&
		    errno == ESRCH)
			return 1;
		usleep(1000);
	}
	return 0;
}

/* ---- kill ---- */

static volatile long victim;

static void *kill_me(void *arg)
{
	victim = syscall(SYS_gettid);
	block(SYS_getppid, (uint32_t)(uintptr_t)arg, 0);
	syscall(SYS_getppid);
	printf("the thread survived\n");
	return NULL;
}

static void t_kill_thread(void)
{
	nnp();
	spawn(kill_me, (void *)(uintptr_t)R_KILL_THREAD);
	while (!victim)
		usleep(1000);
	printf("the killed thread is gone: %d", gone(victim));
	printf("; main's getppid runs: %d\n",
	       syscall(SYS_getppid) > 0);
	printf("main PR_GET_SECCOMP: %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
}

static void t_kill_process(void)
{
	nnp();
	pthread_join(spawn(kill_me, (void *)(uintptr_t)R_KILL_PROCESS), NULL);
	printf("main survived\n");
}

/* ---- per-thread filters, inheritance, TSYNC ---- */

static struct gate installed = GATE, diverged = GATE, tried = GATE;

static void *wait_then_call(void *arg)
{
	(void)arg;
	gate_wait(&installed);
	printf("older thread: getppid %s, PR_GET_SECCOMP %d\n",
	       syscall(SYS_getppid) > 0 ? "runs" : result(-1),
	       prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
	return NULL;
}

static void *call_now(void *arg)
{
	(void)arg;
	printf("newer thread: getppid %s, PR_GET_SECCOMP %d\n",
	       syscall(SYS_getppid) > 0 ? "runs" : result(-1),
	       prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
	return NULL;
}

static void t_per_thread(void)
{
	pthread_t old;

	nnp();
	old = spawn(wait_then_call, NULL);
	printf("install without TSYNC: %s\n",
	       result(block(SYS_getppid, R_ERRNO | 21, 0)));
	gate_open(&installed, 0);
	pthread_join(old, NULL);
	pthread_join(spawn(call_now, NULL), NULL);
}

static void t_tsync(void)
{
	pthread_t old;

	nnp();
	old = spawn(wait_then_call, NULL);
	printf("install with TSYNC: %s\n",
	       result(block(SYS_getppid, R_ERRNO | 22, F_TSYNC)));
	gate_open(&installed, 0);
	pthread_join(old, NULL);
}

static void t_tsync_ancestor(void)
{
	pthread_t old;

	nnp();
	block(SYS_getuid, R_ERRNO | 1, 0);
	old = spawn(wait_then_call, NULL); /* inherits the getuid filter */
	printf("TSYNC over an inherited ancestor: %s\n",
	       result(block(SYS_getppid, R_ERRNO | 23, F_TSYNC)));
	gate_open(&installed, 0);
	pthread_join(old, NULL);
}

static void *diverge(void *arg)
{
	(void)arg;
	block(SYS_getgid, R_ERRNO | 2, 0);
	gate_open(&diverged, syscall(SYS_gettid));
	gate_wait(&tried);
	return NULL;
}

static void t_tsync_fail(void)
{
	pthread_t t;
	long tid, r;

	nnp();
	t = spawn(diverge, NULL);
	tid = gate_wait(&diverged);
	r = block(SYS_getppid, R_ERRNO | 24, F_TSYNC);
	printf("TSYNC with a diverged thread returns its tid: %d\n", r == tid);
	printf("with TSYNC_ESRCH: %s\n",
	       result(block(SYS_getppid, R_ERRNO | 24, F_TSYNC | F_TSYNC_ESRCH)));
	printf("nothing installed: PR_GET_SECCOMP %d, getppid runs %d\n",
	       prctl(PR_GET_SECCOMP, 0, 0, 0, 0), syscall(SYS_getppid) > 0);
	gate_open(&tried, 0);
	pthread_join(t, NULL);
}

static int strict_pipe[2], strict_ready[2];

static void *go_strict(void *arg)
{
	char c = 0;

	(void)arg;
	victim = syscall(SYS_gettid);
	syscall(317, 0, 0, NULL);		/* SECCOMP_SET_MODE_STRICT */
	syscall(SYS_write, strict_ready[1], &c, 1);
	syscall(SYS_read, strict_pipe[0], &c, 1);
	syscall(SYS_exit, 0);			/* exit(2) is allowed */
	return NULL;
}

static void t_tsync_strict(void)
{
	char c;
	long r;

	if (pipe(strict_pipe) || pipe(strict_ready))
		return;
	nnp();
	spawn(go_strict, NULL);
	(void)!read(strict_ready[0], &c, 1);
	r = block(SYS_getppid, R_ERRNO | 25, F_TSYNC);
	printf("TSYNC with a strict thread fails with a tid: %d\n", r > 0);
	(void)!write(strict_pipe[1], "x", 1);
	printf("the strict thread exited: %d\n", gone(victim));
}

static void *noop(void *arg)
{
	return arg;
}

int main(void)
{
	struct rlimit no_core = { 0, 0 };

	/* SIGSYS deaths dump core natively where allowed: not here */
	setrlimit(RLIMIT_CORE, &no_core);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	/* threads must work (every platform runs them): fail early if not */
	pthread_join(spawn(noop, NULL), NULL);

	child("kill_thread", t_kill_thread);
	child("kill_process from a thread", t_kill_process);
	child("per-thread filters", t_per_thread);
	child("tsync", t_tsync);
	child("tsync over an ancestor", t_tsync_ancestor);
	child("tsync fails", t_tsync_fail);
	child("tsync and strict mode", t_tsync_strict);
	return 0;
}
