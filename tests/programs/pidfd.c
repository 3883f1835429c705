/*
 * pidfds: pidfd_open, clone3(CLONE_PIDFD), poll turning readable at exit,
 * pidfd_send_signal, waitid(P_PIDFD), pidfd_getfd, and Linux's errors.
 * Output must equal native.  (Flags of pidfd_send_signal and CLONE_PIDFD
 * with CLONE_THREAD are left out: Linux 6.9 gave them meanings.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errname.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x1000
#endif

#define SHOW(what, expr)                                                  \
	do {                                                              \
		long r_ = (long)(expr);                                   \
		printf("%s: %s\n", what, r_ < 0 ? errname(errno) : "ok"); \
	} while (0)

static int p_open(pid_t pid, unsigned flags)
{
	return (int)syscall(SYS_pidfd_open, pid, flags);
}

static int p_signal(int fd, int sig, siginfo_t *info, unsigned flags)
{
	return (int)syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}

static int readable(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

int main(void)
{
	int sync[2], fd, st;
	siginfo_t si;
	pid_t pid;
	char c;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (pipe(sync))
		return 1;
	pid = fork();
	if (pid == 0) {
		close(sync[1]);
		if (read(sync[0], &c, 1) < 0)
			_exit(2);
		pause();
		_exit(0);
	}
	close(sync[0]);
	fd = p_open(pid, 0);
	printf("pidfd_open: %d, close-on-exec %d\n", fd >= 0,
	       (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	printf("readable while running: %d\n", readable(fd, 50));
	SHOW("read on a pidfd", read(fd, &c, 1));
	/* pidfd_getfd: the child's copy of our pipe's write end */
	int dup = (int)syscall(SYS_pidfd_getfd, fd, sync[1], 0);

	printf("pidfd_getfd: %d\n", dup >= 0);
	SHOW("pidfd_getfd of a closed fd", syscall(SYS_pidfd_getfd, fd, 999, 0));
	SHOW("pidfd_getfd flags", syscall(SYS_pidfd_getfd, fd, sync[1], 1));
	memset(&si, 0, sizeof(si));
	si.si_signo = SIGTERM;
	si.si_code = SI_USER;
	SHOW("pidfd_send_signal forged SI_USER", p_signal(fd, SIGTERM, &si, 0));
	SHOW("pidfd_send_signal 0", p_signal(fd, 0, NULL, 0));
	SHOW("pidfd_send_signal SIGTERM", p_signal(fd, SIGTERM, NULL, 0));
	printf("readable after the kill: %d\n", readable(fd, 5000));
	memset(&si, 0, sizeof(si));
	SHOW("waitid(P_PIDFD)", waitid(P_PIDFD, fd, &si, WEXITED));
	printf("child: code %s status %d pid ok %d\n",
	       si.si_code == CLD_KILLED ? "CLD_KILLED" : "other", si.si_status,
	       si.si_pid == pid);
	SHOW("pidfd_send_signal after reaping", p_signal(fd, SIGTERM, NULL, 0));
	SHOW("waitid(P_PIDFD) again", waitid(P_PIDFD, fd, &si, WEXITED));
	close(fd);
	if (dup >= 0)
		close(dup);

	/* clone3 with CLONE_PIDFD */
	struct {
		uint64_t flags, pidfd, child_tid, parent_tid, exit_signal;
		uint64_t stack, stack_size, tls;
	} ca;
	int32_t pfd = -1;

	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_PIDFD;
	ca.pidfd = (uint64_t)(uintptr_t)&pfd;
	ca.exit_signal = SIGCHLD;
	pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0)
		_exit(7);
	printf("clone3 CLONE_PIDFD: %d\n", pid > 0 && pfd >= 0);
	printf("readable once it exits: %d\n", readable(pfd, 5000));
	SHOW("waitid(P_PIDFD)", waitid(P_PIDFD, pfd, &si, WEXITED));
	printf("exit status %d\n", si.si_status);
	close(pfd);

	SHOW("pidfd_open(-1)", p_open(-1, 0));
	SHOW("pidfd_open of no process", p_open(4000000, 0));
	SHOW("pidfd_open bad flags", p_open(getpid(), 1));
	fd = p_open(getpid(), O_NONBLOCK);
	printf("pidfd_open(self, PIDFD_NONBLOCK): %d nonblock %d\n", fd >= 0,
	       (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
	SHOW("waitid(P_PIDFD) on ourselves", waitid(P_PIDFD, fd, &si, WEXITED));
	SHOW("waitid(P_PIDFD) on a non-pidfd", waitid(P_PIDFD, 0, &si, WEXITED));
	SHOW("pidfd_send_signal on a non-pidfd", p_signal(0, SIGTERM, NULL, 0));
	waitpid(-1, &st, WNOHANG);
	return 0;
}
