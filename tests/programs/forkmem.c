/*
 * Memory across fork (copy-on-write in the sandbox) and a fork tree:
 * private pages diverge after fork in both directions, MAP_SHARED
 * anonymous memory stays shared, a read() into a shared-since-fork buffer
 * lands only in the reader, MADV_DONTNEED/mprotect/mremap after fork, a
 * chain of nested forks, and a tree of 50 processes reporting through
 * pipes and exit codes.  Output must equal native.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define MB (1024 * 1024)

static int status_of(pid_t pid)
{
	int st = 0;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static unsigned sum(const unsigned char *p, size_t n)
{
	unsigned s = 0;

	for (size_t i = 0; i < n; i++)
		s = s * 31 + p[i];
	return s;
}

static void private_diverges(void)
{
	size_t n = 8 * MB;
	unsigned char *p = malloc(n);
	pid_t pid;

	memset(p, 0xa5, n);
	unsigned before = sum(p, n);
	pid = fork();
	if (pid == 0) {
		int ok = sum(p, n) == before;

		memset(p, 0x11, n / 2); /* child writes half */
		_exit(ok && p[0] == 0x11 && p[n - 1] == 0xa5 ? 7 : 1);
	}
	p[n - 1] = 0x22; /* parent writes while the child runs */
	printf("child saw the fork-time copy: %d\n", status_of(pid) == 7);
	printf("parent unaffected by the child: %d\n",
	       p[0] == 0xa5 && p[n - 1] == 0x22);
	free(p);
}

static void shared_stays_shared(void)
{
	volatile int *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid;

	sh[0] = 1;
	pid = fork();
	if (pid == 0) {
		sh[1] = sh[0] + 41;
		_exit(0);
	}
	status_of(pid);
	printf("MAP_SHARED anonymous across fork: %d\n", sh[1]);
	munmap((void *)sh, 4096);
}

static void read_into_cow(void)
{
	static char buf[8192] = "old";
	int fds[2];
	pid_t pid;

	if (pipe(fds))
		return;
	pid = fork();
	if (pid == 0) {
		close(fds[1]);
		ssize_t r = read(fds[0], buf, sizeof(buf));

		_exit(r == 3 && !memcmp(buf, "new", 3) ? 5 : 1);
	}
	close(fds[0]);
	if (write(fds[1], "new", 3) != 3)
		return;
	close(fds[1]);
	printf("read() into a COW page in the child: %d\n", status_of(pid));
	printf("parent's buffer still: %s\n", buf);
}

static void madvise_mprotect_mremap(void)
{
	size_t n = 16 * 4096;
	unsigned char *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pid_t pid;

	memset(p, 7, n);
	pid = fork();
	if (pid == 0) {
		int ok = 1;

		madvise(p, 4096, MADV_DONTNEED);
		ok &= p[0] == 0 && p[4096] == 7;
		mprotect(p, n, PROT_READ);
		mprotect(p, n, PROT_READ | PROT_WRITE);
		p[8192] = 9;
		unsigned char *q = mremap(p, n, 2 * n, MREMAP_MAYMOVE);
		ok &= q != MAP_FAILED && q[8192] == 9 && q[4096] == 7;
		if (ok)
			q[n + 1] = 3;
		_exit(ok ? 0 : 1);
	}
	printf("child madvise/mprotect/mremap: %d\n", status_of(pid));
	printf("parent pages intact: %d %d %d\n", p[0], p[4096], p[8192]);
	munmap(p, n);
}

static int chain(int depth)
{
	static int counter;
	pid_t pid;

	counter++;
	if (depth == 0)
		return counter;
	pid = fork();
	if (pid == 0)
		_exit(chain(depth - 1));
	return status_of(pid);
}

/* tree - fork @n descendants below this process, @fanout per level;
 * each writes its depth to @fd; exit code = processes in this subtree */
static int tree(int n, int fanout, int depth, int fd)
{
	int total = 1, left = n;
	pid_t kids[8];
	int k = 0;

	if (write(fd, &depth, sizeof(depth)) != sizeof(depth))
		return 0;
	while (left > 0 && k < fanout) {
		int share = (left + (fanout - k) - 1) / (fanout - k);
		pid_t pid = fork();

		if (pid == 0)
			_exit(tree(share - 1, fanout, depth + 1, fd));
		kids[k++] = pid;
		left -= share;
	}
	for (int i = 0; i < k; i++)
		total += status_of(kids[i]);
	return total;
}

int main(void)
{
	int fds[2], d, count = 0, maxd = 0;
	pid_t pid;

	setvbuf(stdout, NULL, _IONBF, 0);
	private_diverges();
	shared_stays_shared();
	read_into_cow();
	madvise_mprotect_mremap();
	printf("nested fork chain of 10: %d\n", chain(10));

	if (pipe(fds))
		return 1;
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		_exit(tree(49, 3, 0, fds[1]));
	}
	close(fds[1]);
	while (read(fds[0], &d, sizeof(d)) == sizeof(d)) {
		count++;
		if (d > maxd)
			maxd = d;
	}
	printf("fork tree: %d processes counted by exit codes, %d reported "
	       "through the pipe, depth %d\n", status_of(pid), count, maxd);
	return 0;
}
