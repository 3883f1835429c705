/*
 * syscall_fuzz: random system calls with hostile arguments, run only
 * inside the sandbox (never natively: it would damage the host).  Each
 * batch runs in a forked child with an alarm, so hangs and self-inflicted
 * deaths end the child, not the run; the parent (the sandbox's init)
 * counts batches.  The test is that the sbx core survives every call:
 * sbxrun must exit with this program's own status 0 and the line
 * "survived", never a crash of the runtime or a host side effect.
 *
 * Usage: syscall_fuzz SEED BATCHES CALLS_PER_BATCH
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t rng;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* calls that would only stop the batch early or fork without bound */
static int skipped(long nr)
{
	switch (nr) {
	case SYS_exit: case SYS_exit_group: case SYS_rt_sigreturn:
	case SYS_fork: case SYS_vfork: case SYS_clone: case SYS_clone3:
	case SYS_pause: case SYS_execve: case SYS_execveat:
	case 335: /* uretprobe: hosts >= 6.11 run it despite seccomp and
		     raise SIGILL (as natively); nothing to learn here */
		return 1;
	default:
		return 0;
	}
}

static uint64_t arg(char *buf, size_t buflen)
{
	static const uint64_t pool[] = {
		0, 1, 2, 3, 4, 8, 16, 64, 255, 256, 4095, 4096, 65536,
		0x7fffffff, 0x80000000ULL, 0xffffffffULL, ~0ULL, ~0ULL - 4095,
		(uint64_t)-100 /* AT_FDCWD */, 0x7fffffffe000ULL,
		0xffff800000000000ULL, 0x1000, 0x10000,
	};

	switch (next() % 6) {
	case 0:
		return (uint64_t)(uintptr_t)buf; /* a valid buffer */
	case 1:
		return (uint64_t)(uintptr_t)buf + next() % buflen;
	case 2:
		return next(); /* anything */
	case 3:
		return next() % 64; /* small: fds, flags, signal numbers */
	default:
		return pool[next() % (sizeof(pool) / sizeof(pool[0]))];
	}
}

static void batch(int calls)
{
	size_t len = 1 << 16;
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (buf == MAP_FAILED)
		_exit(1);
	alarm(1);
	for (int i = 0; i < calls; i++) {
		long nr = (long)(next() % 460);

		if (skipped(nr))
			continue;
		/* keep a scratch string in the buffer for path arguments */
		memcpy(buf, "/tmp/fz", 8);
		syscall(nr, arg(buf, len), arg(buf, len), arg(buf, len),
			arg(buf, len), arg(buf, len), arg(buf, len));
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	int batches, calls, died = 0, by[65] = { 0 };

	if (argc != 4)
		return 2;
	rng = strtoull(argv[1], NULL, 0) | 1;
	batches = atoi(argv[2]);
	calls = atoi(argv[3]);
	signal(SIGPIPE, SIG_IGN);
	for (int b = 0; b < batches; b++) {
		pid_t pid;
		int st;

		next();
		pid = fork();
		if (pid == 0)
			batch(calls);
		if (pid < 0)
			continue;
		while (waitpid(pid, &st, 0) < 0)
			;
		if (!WIFEXITED(st)) {
			died++;
			by[WTERMSIG(st) & 63]++;
		}
		/* reap whatever a batch forked or left behind */
		while (waitpid(-1, &st, WNOHANG) > 0)
			;
	}
	printf("survived %d batches (%d ended by a signal", batches, died);
	for (int i = 1; i < 65; i++)
		if (by[i])
			printf(", %d by %d", by[i], i);
	printf(")\n");
	return 0;
}
