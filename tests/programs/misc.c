/*
 * misc: identity, system information and process attributes, printed
 * only where native and sandboxed runs agree (names, relations, success).
 * "misc big N" instead writes N bytes to stdout in one write (the runner
 * pipes it into wc -c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

static int big(size_t n)
{
	char *b = malloc(n);
	size_t done = 0;

	if (!b)
		return 1;
	memset(b, 'x', n);
	while (done < n) {
		ssize_t w = write(1, b + done, n - done);

		if (w <= 0)
			return 1;
		done += (size_t)w;
	}
	free(b);
	return 0;
}

int main(int argc, char **argv)
{
	struct utsname u;
	cpu_set_t set;
	struct rlimit rl, rl2;
	char name[32], buf[256];
	long pid, tid;
	int r;

	if (argc == 3 && strcmp(argv[1], "big") == 0)
		return big((size_t)atol(argv[2]));

	uname(&u);
	printf("sysname %s machine %s\n", u.sysname, u.machine);
	printf("release nonempty: %d\n", u.release[0] != 0);

	pid = syscall(SYS_getpid);
	tid = syscall(SYS_gettid);
	printf("getpid == gettid: %d\n", pid == tid);
	printf("getpid > 0: %d getppid >= 0: %d\n", pid > 0,
	       syscall(SYS_getppid) >= 0);
	printf("getpgrp/getsid succeed: %d %d\n", syscall(SYS_getpgrp) > 0,
	       syscall(SYS_getsid, 0) > 0);
	printf("getpgid(0) == getpgrp: %d\n",
	       syscall(SYS_getpgid, 0) == syscall(SYS_getpgrp));
	printf("uid == euid: %d gid == egid: %d\n", getuid() == geteuid(),
	       getgid() == getegid());

	CPU_ZERO(&set);
	r = sched_getaffinity(0, sizeof(set), &set);
	printf("sched_getaffinity: %d count >= 1: %d\n", r,
	       CPU_COUNT(&set) >= 1);
	printf("sched_yield: %d\n", sched_yield());

	printf("getrandom 100: %zd\n", getrandom(buf, 100, 0));
	printf("getrandom 256 nonblock: %zd\n",
	       getrandom(buf, 256, GRND_NONBLOCK));

	getrlimit(RLIMIT_NOFILE, &rl);
	rl2 = rl;
	rl2.rlim_cur = rl.rlim_cur > 64 ? 64 : rl.rlim_cur;
	printf("setrlimit nofile: %d\n", setrlimit(RLIMIT_NOFILE, &rl2));
	getrlimit(RLIMIT_NOFILE, &rl2);
	printf("round trip: %d\n", rl2.rlim_cur == (rl.rlim_cur > 64 ? 64 : rl.rlim_cur) &&
	       rl2.rlim_max == rl.rlim_max);
	errno = 0;
	r = dup2(1, 100);
	printf("dup2 above the new limit: %d %s\n", r,
	       errno == EBADF ? "EBADF" : "?");
	printf("restore: %d\n", setrlimit(RLIMIT_NOFILE, &rl));
	getrlimit(RLIMIT_STACK, &rl2);
	printf("stack limit nonzero: %d\n", rl2.rlim_cur > 0);
	if (rl.rlim_max != RLIM_INFINITY) {
		rl2.rlim_cur = rl2.rlim_max = rl.rlim_max + 1;
		errno = 0;
		r = setrlimit(RLIMIT_NOFILE, &rl2);
		/* EPERM without CAP_SYS_RESOURCE, else allowed up to nr_open */
		printf("raise nofile hard limit: fails or succeeds as root: %d\n",
		       r == 0 ? getuid() == 0 : errno == EPERM);
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	printf("PR_SET_NAME: %d\n", prctl(PR_SET_NAME, "sbx-test-name-long-truncated"));
	memset(name, 0, sizeof(name));
	printf("PR_GET_NAME: %d %s\n", prctl(PR_GET_NAME, name), name);
	printf("PR_GET_DUMPABLE: %d\n", prctl(PR_GET_DUMPABLE));
	printf("PR_GET_NO_NEW_PRIVS before: %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));

	printf("isatty 0 1 2: %d %d %d\n", isatty(0), isatty(1), isatty(2));
	printf("getcwd: %s\n", getcwd(buf, sizeof(buf)) ? buf : "(null)");
	r = umask(022);
	printf("umask: old %03o", (unsigned)r);
	printf(" then %03o\n", (unsigned)umask(077));
	return 0;
}
