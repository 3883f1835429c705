/*
 * Process model checks, compared natively and in the sandbox: fork and
 * wait statuses, copy semantics, signal handlers (SA_SIGINFO, masks,
 * sigsuspend, sigaltstack, siglongjmp), default actions in children,
 * EINTR vs SA_RESTART, sessions and groups, execve (ELF, #! script,
 * errors) and a pipe between processes.  Prints relations, never pids.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got, chld;
static volatile pid_t from;
static volatile int code;
static sigjmp_buf jb;
static char altstack[65536];
static volatile int on_alt;

static void h(int s)
{
	got = s;
}

static void hinfo(int s, siginfo_t *si, void *uc)
{
	got = s;
	from = si->si_pid;
	code = si->si_code;
	(void)uc;
}

static void hchld(int s)
{
	chld++;
	(void)s;
}

static void halt(int s)
{
	char here;

	on_alt = &here >= altstack && &here < altstack + sizeof(altstack);
	(void)s;
}

static void hjump(int s)
{
	siglongjmp(jb, s);
}

static int status_of(pid_t c)
{
	int st;

	if (waitpid(c, &st, 0) != c)
		return -1;
	return st;
}

static void report(const char *what, int st)
{
	if (WIFEXITED(st))
		printf("%s: exited %d\n", what, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("%s: killed by %d\n", what, WTERMSIG(st));
	else
		printf("%s: status %#x\n", what, st);
}

int main(void)
{
	struct sigaction sa;
	sigset_t set, old;
	int x = 5, st, fds[2];
	pid_t c;
	char buf[64];

	setvbuf(stdout, NULL, _IONBF, 0);

	/* fork: exit status, private copies, parent and child ids */
	c = fork();
	if (c == 0) {
		x = 7;
		_exit(getppid() > 0 && getpid() != getppid() ? 3 : 4);
	}
	report("fork child", status_of(c));
	printf("x in parent %d, fork returned a new pid %d\n", x, c > 0 && c != getpid());

	/* handlers and siginfo from kill to self */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = hinfo;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	kill(getpid(), SIGUSR1);
	printf("SIGUSR1 handled %d, si_pid is us %d, si_code SI_USER %d\n",
	       got == SIGUSR1, from == getpid(), code == SI_USER);

	/* blocked signals stay pending until sigsuspend */
	got = 0;
	signal(SIGUSR2, h);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, &old);
	raise(SIGUSR2);
	sigpending(&set);
	printf("pending while blocked %d, handled %d\n", sigismember(&set, SIGUSR2), got);
	sigemptyset(&set);
	sigsuspend(&set);
	printf("sigsuspend woke for it %d\n", got == SIGUSR2);
	sigprocmask(SIG_SETMASK, &old, NULL);

	/* default actions in children */
	c = fork();
	if (c == 0) {
		pause();
		_exit(0);
	}
	kill(c, SIGTERM);
	report("paused child sent SIGTERM", status_of(c));
	c = fork();
	if (c == 0) {
		*(volatile int *)0 = 1;
		_exit(0);
	}
	report("child writing NULL", status_of(c));
	c = fork();
	if (c == 0) {
		signal(SIGTERM, SIG_IGN);
		raise(SIGTERM);
		_exit(9);
	}
	report("child ignoring SIGTERM", status_of(c));

	/* WNOHANG, SIGCHLD, several children */
	signal(SIGCHLD, hchld);
	c = fork();
	if (c == 0) {
		usleep(100000);
		_exit(0);
	}
	printf("WNOHANG on a live child %d\n", waitpid(c, &st, WNOHANG));
	report("slow child", status_of(c));
	for (int i = 0; i < 3; i++)
		if (fork() == 0)
			_exit(i);
	int n = 0;

	while (wait(&st) > 0)
		n++;
	printf("reaped %d more, wait then fails with ECHILD %d, SIGCHLD seen %d\n",
	       n, wait(&st) < 0 && errno == ECHILD, chld > 0);
	signal(SIGCHLD, SIG_DFL);

	/* EINTR without SA_RESTART: a child signals us during a sleep */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h;
	sigaction(SIGUSR1, &sa, NULL);
	c = fork();
	if (c == 0) {
		usleep(50000);
		kill(getppid(), SIGUSR1);
		_exit(0);
	}
	struct timespec ts = { 5, 0 }, rem;

	errno = 0;
	int r = nanosleep(&ts, &rem);

	printf("nanosleep interrupted %d EINTR %d rem set %d\n", r == -1,
	       errno == EINTR, rem.tv_sec < 5);
	status_of(c);

	/* sigaltstack and SA_ONSTACK; siglongjmp out of a handler */
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };

	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = halt;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR2, &sa, NULL);
	raise(SIGUSR2);
	printf("handler ran on the alternate stack %d\n", on_alt);
	signal(SIGUSR1, hjump);
	if (sigsetjmp(jb, 1) == 0) {
		raise(SIGUSR1);
		printf("not reached\n");
	} else {
		printf("siglongjmp out of a handler\n");
	}

	/* sessions and process groups */
	c = fork();
	if (c == 0)
		_exit(setsid() == getpid() && getsid(0) == getpid() &&
		      getpgrp() == getpid() ? 0 : 1);
	report("setsid in a child", status_of(c));
	printf("setsid as group leader fails %d\n",
	       getpgrp() == getpid() ? setsid() < 0 && errno == EPERM : 1);

	/* execve: errors, an ELF through a pipe, a #! script */
	printf("execve missing ENOENT %d\n",
	       execl("/nonexistent/prog", "x", NULL) < 0 && errno == ENOENT);
	printf("execve a directory EACCES %d\n",
	       execl("/", "x", NULL) < 0 && errno == EACCES);
	if (pipe(fds) == 0) {
		c = fork();
		if (c == 0) {
			dup2(fds[1], 1);
			close(fds[0]);
			close(fds[1]);
			execl("/bin/busybox", "busybox", "echo", "from exec", NULL);
			_exit(127);
		}
		close(fds[1]);
		n = (int)read(fds[0], buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		close(fds[0]);
		printf("pipe from an exec'd child: %s", buf);
		report("exec'd child", status_of(c));
	}
	c = fork();
	if (c == 0) {
		execl("/bin/busybox", "busybox", "sh", "-c", "exit 42", NULL);
		_exit(127);
	}
	report("busybox sh -c 'exit 42'", status_of(c));

	/* a read blocked on an empty pipe: killed, and interrupted (EINTR) */
	if (pipe(fds) == 0) {
		c = fork();
		if (c == 0) {
			read(fds[0], buf, 1);
			_exit(0);
		}
		usleep(100000);
		kill(c, SIGTERM);
		report("child blocked in a pipe read, SIGTERM", status_of(c));
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = h;
		sigaction(SIGUSR2, &sa, NULL);
		c = fork();
		if (c == 0) {
			ssize_t r = read(fds[0], buf, 1);

			_exit(r < 0 && errno == EINTR ? 7 : 8);
		}
		usleep(100000);
		kill(c, SIGUSR2);
		report("pipe read interrupted by a handler (7 = EINTR)", status_of(c));
	}
	return 0;
}
