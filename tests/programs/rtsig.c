/*
 * Real-time signals and synchronous waits: every instance of a queued
 * real-time signal is kept (in order, with its value), standard signals
 * coalesce, sigwaitinfo/sigtimedwait/rt_tgsigqueueinfo, EPERM for a forged
 * si_code to another process, SIG_IGN discarding a pending signal, EINTR
 * from a handled signal.  Output must equal native.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int got[8], ngot;

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	if (ngot < 8)
		got[ngot++] = si->si_value.sival_int;
}

static void on_usr2(int sig)
{
}

static void block(int sig)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_BLOCK, &s, NULL);
}

static void unblock(int sig)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
}

int main(void)
{
	struct sigaction sa;
	struct timespec zero = { 0, 0 }, short_wait = { 0, 50 * 1000000 };
	sigset_t set;
	siginfo_t si;
	union sigval v;
	int i, r;

	setvbuf(stdout, NULL, _IONBF, 0);
	block(SIGRTMIN);
	block(SIGUSR1);
	for (i = 0; i < 5; i++) {
		v.sival_int = 100 + i;
		sigqueue(getpid(), SIGRTMIN, v);
	}
	for (i = 0; i < 3; i++)
		kill(getpid(), SIGUSR1);
	sigpending(&set);
	printf("pending: RTMIN %d USR1 %d\n", sigismember(&set, SIGRTMIN),
	       sigismember(&set, SIGUSR1));
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	sigaddset(&set, SIGUSR1);
	/* the lower number first: SIGUSR1 once, then every SIGRTMIN */
	while ((r = sigtimedwait(&set, &si, &zero)) > 0)
		printf("sigtimedwait: %s code %s value %d pid ok %d\n",
		       r == SIGUSR1 ? "USR1" : r == SIGRTMIN ? "RTMIN" : "?",
		       si.si_code == SI_QUEUE ? "SI_QUEUE" :
		       si.si_code == SI_USER ? "SI_USER" : "other",
		       si.si_code == SI_QUEUE ? si.si_value.sival_int : 0,
		       si.si_pid == getpid());
	printf("then EAGAIN: %d\n", r == -1 && errno == EAGAIN);
	r = sigtimedwait(&set, &si, &short_wait);
	printf("timed out: %d\n", r == -1 && errno == EAGAIN);

	/* queued instances reach a SA_SIGINFO handler one by one, in order */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_rt;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGRTMIN + 1, &sa, NULL);
	block(SIGRTMIN + 1);
	for (i = 0; i < 4; i++) {
		v.sival_int = i;
		sigqueue(getpid(), SIGRTMIN + 1, v);
	}
	unblock(SIGRTMIN + 1);
	printf("handler ran %d times:", ngot);
	for (i = 0; i < ngot; i++)
		printf(" %d", got[i]);
	printf("\n");

	/* rt_tgsigqueueinfo to our own thread */
	memset(&si, 0, sizeof(si));
	si.si_code = SI_QUEUE;
	si.si_value.sival_int = 77;
	r = syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGRTMIN, &si);
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	r = r == 0 ? sigwaitinfo(&set, &si) : -1;
	printf("rt_tgsigqueueinfo: %d value %d\n", r == SIGRTMIN,
	       si.si_value.sival_int);

	/* SIG_IGN discards a pending, blocked signal */
	block(SIGUSR2);
	kill(getpid(), SIGUSR2);
	signal(SIGUSR2, SIG_IGN);
	sigpending(&set);
	printf("SIG_IGN discarded the pending signal: %d\n",
	       !sigismember(&set, SIGUSR2));

	/* a child: forged si_code is EPERM; its RT signal carries its pid;
	 * a handled signal interrupts sigtimedwait with EINTR */
	signal(SIGUSR2, on_usr2);
	unblock(SIGUSR2);
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid == 0) {
		struct timespec d = { 0, 100 * 1000000 };

		sigqueue(parent, SIGRTMIN, (union sigval){ .sival_int = 5 });
		nanosleep(&d, NULL);
		kill(parent, SIGUSR2);
		pause();
		_exit(0);
	}
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	r = sigwaitinfo(&set, &si);
	printf("from the child: %d pid ok %d value %d\n", r == SIGRTMIN,
	       si.si_pid == pid, si.si_value.sival_int);
	struct timespec five = { 5, 0 };

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 2);
	r = sigtimedwait(&set, &si, &five);
	printf("interrupted by a handled signal: %d\n", r == -1 && errno == EINTR);
	memset(&si, 0, sizeof(si));
	si.si_code = SI_USER;
	r = syscall(SYS_rt_sigqueueinfo, pid, SIGUSR1, &si);
	printf("forged SI_USER to another process: %s\n",
	       r == -1 && errno == EPERM ? "EPERM" : "allowed");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return 0;
}
