/*
 * File locks, compared native vs sandbox, on a file in a fresh directory
 * under /var/tmp, between the parent and forked children sequenced by
 * pipes (never by sleeping): fcntl record locks (conflicts, F_GETLK with
 * the holder's pid, range splitting and merging, l_whence and negative
 * l_len, release on close of another fd of the file, F_SETLKW waiting for
 * a release at exit, EDEADLK, EINTR), OFD locks (per open file, l_pid -1),
 * flock (shared/exclusive, LOCK_NB, conversion, per open file, blocking,
 * independent of fcntl locks) and argument errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errname.h"

#define SHOW(expr)                                                    \
	do {                                                          \
		errno = 0;                                            \
		long r_ = (long)(expr);                               \
		printf("%-56s = %ld %s\n", #expr, r_ < 0 ? -1L : r_,  \
		       r_ < 0 ? errname(errno) : "");                 \
	} while (0)

static const char *FILE_NAME = "data";
static int to_child[2], to_parent[2];

/* send/expect - one byte of sequencing over the pipes */
static void send_to(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		_exit(90);
}

static char expect(int fd)
{
	char c = 0;

	if (read(fd, &c, 1) != 1)
		_exit(91);
	return c;
}

static int lk(int fd, int cmd, short type, short whence, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = whence,
			    .l_start = start, .l_len = len };

	return fcntl(fd, cmd, &fl);
}

/* getlk - F_GETLK/F_OFD_GETLK of @type over [start, start+len): prints the
 * answer, with the holder's pid as "child"/"parent"/-1/other */
static void getlk(const char *what, int fd, int cmd, short type, off_t start,
		  off_t len, pid_t child)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET,
			    .l_start = start, .l_len = len };

	if (fcntl(fd, cmd, &fl) < 0) {
		printf("%s: %s\n", what, errname(errno));
		return;
	}
	if (fl.l_type == F_UNLCK) {
		printf("%s: unlocked\n", what);
		return;
	}
	printf("%s: %s start %lld len %lld pid %s\n", what,
	       fl.l_type == F_WRLCK ? "WR" : "RD", (long long)fl.l_start,
	       (long long)fl.l_len,
	       fl.l_pid == child ? "child" : fl.l_pid == getpid() ? "parent"
	       : fl.l_pid == -1 ? "-1" : "other");
}

static int wait_child(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- record locks held by a child, examined by the parent ---- */

static void child_ranges(void)
{
	int fd = open(FILE_NAME, O_RDWR), fd2;

	/* 'a' .. 'h': one step per byte from the parent */
	expect(to_child[0]);
	lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 100);
	send_to(to_parent[1], 'a');
	expect(to_child[0]);
	lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 40, 20);	/* split */
	send_to(to_parent[1], 'b');
	expect(to_child[0]);
	lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 20, 10);	/* downgrade a middle */
	send_to(to_parent[1], 'c');
	expect(to_child[0]);
	lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 40, 20);	/* merge back */
	send_to(to_parent[1], 'd');
	expect(to_child[0]);
	lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);	/* all of it */
	lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 100, -10);	/* [90, 100) */
	lseek(fd, 50, SEEK_SET);
	lk(fd, F_SETLK, F_RDLCK, SEEK_CUR, -5, 2);	/* [45, 47) */
	lk(fd, F_SETLK, F_WRLCK, SEEK_END, 10, 0);	/* [110, EOF) */
	send_to(to_parent[1], 'e');
	expect(to_child[0]);
	/* closing another fd of the file drops the process's locks */
	fd2 = open(FILE_NAME, O_RDONLY);
	close(fd2);
	send_to(to_parent[1], 'f');
	expect(to_child[0]);
	lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10);
	send_to(to_parent[1], 'g');
	expect(to_child[0]);	/* exit with the lock held */
	_exit(0);
}

static void ranges(void)
{
	int fd = open(FILE_NAME, O_RDWR);
	pid_t pid;

	printf("-- record locks: ranges\n");
	pid = fork();
	if (pid == 0)
		child_ranges();
	send_to(to_child[1], 'a');
	expect(to_parent[0]);
	getlk("whole file", fd, F_GETLK, F_RDLCK, 0, 0, pid);
	SHOW(lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 99, 1));
	SHOW(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 100, 5));	/* beyond: free */
	SHOW(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 100, 5));
	send_to(to_child[1], 'b');
	expect(to_parent[0]);
	getlk("after unlocking [40,60): from 0", fd, F_GETLK, F_WRLCK, 0, 0, pid);
	getlk("[40,60)", fd, F_GETLK, F_WRLCK, 40, 20, pid);
	getlk("from 50", fd, F_GETLK, F_WRLCK, 50, 0, pid);
	send_to(to_child[1], 'c');
	expect(to_parent[0]);
	getlk("read over the read part", fd, F_GETLK, F_RDLCK, 20, 10, pid);
	getlk("write over the read part", fd, F_GETLK, F_WRLCK, 20, 10, pid);
	getlk("read at 35", fd, F_GETLK, F_RDLCK, 35, 1, pid);
	SHOW(lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 25, 1));
	SHOW(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 25, 1));
	send_to(to_child[1], 'd');
	expect(to_parent[0]);
	getlk("merged: at 35", fd, F_GETLK, F_WRLCK, 35, 1, pid);
	getlk("merged: at 5", fd, F_GETLK, F_WRLCK, 5, 1, pid);
	send_to(to_child[1], 'e');
	expect(to_parent[0]);
	getlk("negative l_len", fd, F_GETLK, F_WRLCK, 80, 15, pid);
	getlk("SEEK_CUR", fd, F_GETLK, F_WRLCK, 0, 50, pid);
	getlk("SEEK_END", fd, F_GETLK, F_RDLCK, 100, 0, pid);
	getlk("far beyond", fd, F_GETLK, F_RDLCK, 1 << 30, 1, pid);
	send_to(to_child[1], 'f');
	expect(to_parent[0]);
	getlk("after the child closed another fd", fd, F_GETLK, F_WRLCK, 0, 0, pid);
	send_to(to_child[1], 'g');
	expect(to_parent[0]);
	SHOW(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 5, 1));
	/* the child exits holding [0,10): F_SETLKW waits for that */
	send_to(to_child[1], 'h');
	SHOW(lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 10));
	printf("child status %d\n", wait_child(pid));
	getlk("own lock (self never conflicts)", fd, F_GETLK, F_WRLCK, 0, 10, pid);
	close(fd);
}

/* ---- a parent's lock examined by a child ---- */

static void parent_lock(void)
{
	int fd = open(FILE_NAME, O_RDWR);
	pid_t parent = getpid(), pid;

	printf("-- record locks: the parent holds\n");
	SHOW(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
	pid = fork();
	if (pid == 0) {
		struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
		int cfd = open(FILE_NAME, O_RDWR);

		/* fork did not give the child the parent's locks */
		printf("child F_SETLK: %s\n",
		       lk(cfd, F_SETLK, F_RDLCK, SEEK_SET, 0, 1) < 0
		       ? errname(errno) : "granted");
		printf("child F_SETLK on the inherited fd: %s\n",
		       lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 5, 1) < 0
		       ? errname(errno) : "granted");
		fcntl(cfd, F_GETLK, &fl);
		printf("child F_GETLK: type %s pid is parent %d\n",
		       fl.l_type == F_WRLCK ? "WR" : "?", fl.l_pid == parent);
		fflush(stdout);
		_exit(0);
	}
	printf("child status %d\n", wait_child(pid));
	close(fd);
}

/* ---- EDEADLK ---- */

static void deadlock(void)
{
	int fd = open(FILE_NAME, O_RDWR), r, res[2], dead = 0, ok = 0;
	pid_t pid;

	printf("-- EDEADLK\n");
	lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1);
	pid = fork();
	if (pid == 0) {
		int cfd = open(FILE_NAME, O_RDWR);

		lk(cfd, F_SETLK, F_WRLCK, SEEK_SET, 1, 1);
		send_to(to_parent[1], 'l');
		r = lk(cfd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
		/* whoever closes the cycle gets EDEADLK and gives up its
		 * lock, so the other one goes on */
		r = r < 0 ? errno : 0;
		lk(cfd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);
		_exit(r == EDEADLK ? 1 : r == 0 ? 0 : 2);
	}
	expect(to_parent[0]);
	r = lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 1, 1);
	res[0] = r < 0 ? (errno == EDEADLK ? 1 : 2) : 0;
	lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);
	res[1] = wait_child(pid);
	for (int i = 0; i < 2; i++) {
		dead += res[i] == 1;
		ok += res[i] == 0;
	}
	printf("one EDEADLK, one granted: %d\n", dead == 1 && ok == 1);
	close(fd);
}

/* ---- interrupted waits ---- */

static void on_alarm(int sig)
{
}

static void interrupted(void)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	struct itimerval it = { { 0, 20000 }, { 0, 20000 } }, off = { { 0, 0 }, { 0, 0 } };
	int fd = open(FILE_NAME, O_RDWR), r;
	pid_t pid;

	printf("-- interrupted waits\n");
	pid = fork();
	if (pid == 0) {
		int cfd = open(FILE_NAME, O_RDWR);

		lk(cfd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1);
		flock(cfd, LOCK_EX);
		send_to(to_parent[1], 'l');
		expect(to_child[0]);
		_exit(0);
	}
	expect(to_parent[0]);
	sigaction(SIGALRM, &sa, &old);	/* no SA_RESTART */
	setitimer(ITIMER_REAL, &it, NULL);
	r = lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
	printf("F_SETLKW under a timer: %s\n", r < 0 ? errname(errno) : "granted");
	r = flock(fd, LOCK_SH);
	printf("flock under a timer: %s\n", r < 0 ? errname(errno) : "granted");
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	send_to(to_child[1], 'x');
	printf("child status %d\n", wait_child(pid));
	SHOW(flock(fd, LOCK_EX | LOCK_NB));	/* released at the child's exit */
	SHOW(flock(fd, LOCK_UN));
	close(fd);
}

/* ---- OFD locks ---- */

static void ofd(void)
{
	int a = open(FILE_NAME, O_RDWR), b = open(FILE_NAME, O_RDWR), c;
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_pid = 1 };
	pid_t pid;

	printf("-- OFD locks\n");
	SHOW(lk(a, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 10));
	/* owned by the open file: a second open in the same process conflicts */
	SHOW(lk(b, F_OFD_SETLK, F_WRLCK, SEEK_SET, 5, 10));
	SHOW(lk(b, F_OFD_SETLK, F_RDLCK, SEEK_SET, 10, 10));
	SHOW(lk(b, F_SETLK, F_RDLCK, SEEK_SET, 0, 1));	/* POSIX vs OFD */
	getlk("F_OFD_GETLK via the other open", b, F_OFD_GETLK, F_WRLCK, 0, 0, -2);
	getlk("F_OFD_GETLK via the owner", a, F_OFD_GETLK, F_WRLCK, 0, 10, -2);
	getlk("F_GETLK (process) sees it", a, F_GETLK, F_WRLCK, 0, 10, -2);
	SHOW(fcntl(a, F_OFD_SETLK, &fl));	/* l_pid must be 0 */
	/* closing another fd of the file keeps OFD locks */
	c = open(FILE_NAME, O_RDONLY);
	close(c);
	SHOW(lk(b, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 1));
	/* a forked child shares the open file, and so the lock */
	pid = fork();
	if (pid == 0) {
		printf("child OFD lock via the inherited open: %s\n",
		       lk(a, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 20) < 0
		       ? errname(errno) : "granted");
		printf("child OFD lock via its own open: %s\n",
		       lk(open(FILE_NAME, O_RDWR), F_OFD_SETLK, F_RDLCK,
			  SEEK_SET, 15, 1) < 0 ? errname(errno) : "granted");
		fflush(stdout);
		_exit(0);
	}
	printf("child status %d\n", wait_child(pid));
	getlk("after the child", b, F_OFD_GETLK, F_RDLCK, 0, 0, -2);
	close(a);	/* the last reference to that open file: lock gone */
	SHOW(lk(b, F_OFD_SETLKW, F_WRLCK, SEEK_SET, 0, 0));
	close(b);
}

/* ---- flock ---- */

static void flocks(void)
{
	int fd = open(FILE_NAME, O_RDONLY), fd2 = open(FILE_NAME, O_RDONLY), dup_fd;
	pid_t pid;

	printf("-- flock\n");
	SHOW(flock(fd, LOCK_SH));
	SHOW(flock(fd2, LOCK_SH | LOCK_NB));
	SHOW(flock(fd2, LOCK_EX | LOCK_NB));	/* per open file: conflicts */
	SHOW(flock(fd2, LOCK_UN));
	SHOW(flock(fd, LOCK_EX | LOCK_NB));	/* conversion */
	dup_fd = dup(fd);
	SHOW(flock(dup_fd, LOCK_EX | LOCK_NB));	/* same open file */
	SHOW(flock(fd2, LOCK_SH | LOCK_NB));
	/* independent of record locks */
	SHOW(lk(fd2, F_SETLK, F_RDLCK, SEEK_SET, 0, 0));
	SHOW(lk(fd2, F_SETLK, F_UNLCK, SEEK_SET, 0, 0));
	pid = fork();
	if (pid == 0) {
		int cfd = open(FILE_NAME, O_RDONLY);

		printf("child LOCK_SH|LOCK_NB: %s\n",
		       flock(cfd, LOCK_SH | LOCK_NB) < 0 ? errname(errno) : "granted");
		fflush(stdout);
		send_to(to_parent[1], 'w');
		/* blocks until the parent unlocks; results in the exit
		 * status, as the parent prints meanwhile */
		if (flock(cfd, LOCK_SH) < 0)
			_exit(1);
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			_exit(2);
		_exit(errno == EWOULDBLOCK ? 0 : 3);
	}
	expect(to_parent[0]);
	SHOW(close(dup_fd));	/* the open file is still referenced */
	SHOW(flock(fd2, LOCK_SH | LOCK_NB));
	SHOW(flock(fd, LOCK_UN));
	/* 0: LOCK_SH waited and was granted, then LOCK_EX|LOCK_NB on the
	 * inherited open file met the child's own shared lock */
	printf("child status %d\n", wait_child(pid));
	SHOW(flock(fd2, LOCK_EX | LOCK_NB));	/* the child's lock went with it */
	SHOW(flock(fd2, LOCK_UN));
	SHOW(flock(fd2, LOCK_UN));	/* nothing held: fine */
	close(fd);
	close(fd2);
}

/* ---- errors ---- */

static void errors(void)
{
	int rd = open(FILE_NAME, O_RDONLY), wr = open(FILE_NAME, O_WRONLY);
	int path = open(FILE_NAME, O_PATH);
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };

	printf("-- errors\n");
	SHOW(lk(rd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
	SHOW(lk(wr, F_SETLK, F_RDLCK, SEEK_SET, 0, 1));
	SHOW(lk(rd, F_SETLK, F_UNLCK, SEEK_SET, 0, 1));
	SHOW(lk(rd, F_SETLK, 7, SEEK_SET, 0, 1));
	SHOW(lk(rd, F_SETLK, F_RDLCK, 9, 0, 1));
	SHOW(lk(rd, F_SETLK, F_RDLCK, SEEK_SET, -1, 1));
	SHOW(lk(rd, F_SETLK, F_RDLCK, SEEK_SET, 5, -6));
	SHOW(lk(rd, F_SETLK, F_RDLCK, SEEK_SET, 5, -5));
	SHOW(lk(rd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0));
	SHOW(lk(rd, F_SETLK, F_RDLCK, SEEK_SET, LLONG_MAX, 2));
	SHOW(lk(rd, F_SETLK, F_RDLCK, SEEK_END, LLONG_MAX, 1));
	SHOW(lk(rd, F_SETLK, F_RDLCK, SEEK_SET, LLONG_MAX, 1));
	SHOW(lk(rd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0));
	SHOW(fcntl(rd, F_GETLK, &fl));
	SHOW(fcntl(rd, F_SETLK, (struct flock *)8));
	SHOW(lk(path, F_SETLK, F_RDLCK, SEEK_SET, 0, 1));
	SHOW(lk(-1, F_SETLK, F_RDLCK, SEEK_SET, 0, 1));
	SHOW(flock(rd, 0));
	SHOW(flock(rd, LOCK_SH | LOCK_EX));
	SHOW(flock(-1, LOCK_SH));
	SHOW(flock(-1, 99));
	SHOW(flock(path, LOCK_SH));
	SHOW(flock(wr, LOCK_EX | LOCK_NB));
	SHOW(flock(wr, LOCK_UN));
	close(rd);
	close(wr);
	close(path);
}

int main(void)
{
	char dir[] = "/var/tmp/sbx-locks.XXXXXX", buf[100];
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(dir) || chdir(dir) < 0) {
		perror("mkdtemp");
		return 1;
	}
	if (pipe(to_child) < 0 || pipe(to_parent) < 0)
		return 1;
	fd = open(FILE_NAME, O_RDWR | O_CREAT | O_EXCL, 0644);
	memset(buf, 'x', sizeof(buf));
	if (fd < 0 || write(fd, buf, sizeof(buf)) != sizeof(buf))
		return 1;
	close(fd);
	ranges();
	parent_lock();
	deadlock();
	interrupted();
	ofd();
	flocks();
	errors();
	SHOW(unlink(FILE_NAME));
	SHOW(chdir("/"));
	SHOW(rmdir(dir));
	return 0;
}
