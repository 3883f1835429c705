/*
 * FIFOs (named pipes), compared native vs sandbox, in a fresh directory
 * under /var/tmp: mkfifo/mknod and stat, the open rendezvous between a
 * forked reader and writer (both orders), O_NONBLOCK opens (ENXIO for a
 * writer without a reader), O_RDWR, end of file after the writers close
 * and a new writer continuing the stream, EPIPE with SIGPIPE ignored and
 * death by SIGPIPE otherwise, splice and sendfile with a FIFO at one
 * end, poll/select/epoll, PIPE_BUF-atomic writes
 * from two writers through a full pipe, a blocked open interrupted by a
 * signal (EINTR) and restarted (SA_RESTART), and that a FIFO outlives its
 * opens while its data does not.  Sequencing is by the rendezvous itself
 * and by pipes; nothing depends on timing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errname.h"

#define SHOW(expr)                                                    \
	do {                                                          \
		errno = 0;                                            \
		long r_ = (long)(expr);                               \
		printf("%-50s = %ld %s\n", #expr, r_ < 0 ? -1L : r_,  \
		       r_ < 0 ? errname(errno) : "");                 \
	} while (0)

static const char *F = "f"; /* the FIFO, relative to the test directory */

static short revents(int fd, short events)
{
	struct pollfd p = { fd, events, 0 };

	return poll(&p, 1, 0) < 0 ? -1 : p.revents;
}

static int wait_child(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void read_all(int fd, const char *who)
{
	char buf[256];
	size_t got = 0;
	ssize_t n;

	while ((n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = 0;
	printf("%s read \"%s\", then %s\n", who, buf,
	       n == 0 ? "EOF" : errname(errno));
}

/* rendezvous - a forked writer and the parent reading (or the reverse);
 * both opens block until the other side arrives. */
static void rendezvous(int parent_reads)
{
	pid_t pid = fork();
	int fd;

	if (pid == 0) {
		fd = open(F, parent_reads ? O_WRONLY : O_RDONLY);
		if (fd < 0)
			_exit(1);
		if (parent_reads) {
			(void)!write(fd, "hello ", 6);
			(void)!write(fd, "world", 5);
		} else {
			read_all(fd, "child");
			fflush(stdout);
		}
		_exit(0);
	}
	fd = open(F, parent_reads ? O_RDONLY : O_WRONLY);
	if (parent_reads) {
		read_all(fd, "parent");
	} else {
		(void)!write(fd, "from the parent", 15);
		fflush(stdout);
	}
	close(fd);
	printf("rendezvous (parent %s): child status %d\n",
	       parent_reads ? "reads" : "writes", wait_child(pid));
}

static void nonblocking(void)
{
	int r, w, rw;
	char c;

	printf("-- O_NONBLOCK\n");
	SHOW(open(F, O_WRONLY | O_NONBLOCK));
	r = open(F, O_RDONLY | O_NONBLOCK);
	printf("nonblocking reader without writer: %s\n", r >= 0 ? "ok" : errname(errno));
	SHOW(read(r, &c, 1));	/* no writer: end of file */
	/* no writer has ever come: no POLLHUP yet (Linux) */
	printf("reader revents, no writer yet: %#x\n", revents(r, POLLIN));
	w = open(F, O_WRONLY | O_NONBLOCK);
	printf("nonblocking writer with a reader: %s\n", w >= 0 ? "ok" : errname(errno));
	SHOW(read(r, &c, 1));	/* writer, no data */
	printf("reader revents, writer, no data: %#x\n", revents(r, POLLIN));
	printf("writer revents: %#x\n", revents(w, POLLOUT));
	SHOW(write(w, "xy", 2));
	printf("reader revents, data: %#x\n", revents(r, POLLIN));
	SHOW(ioctl(r, FIONREAD, &rw) == 0 ? rw : -1);
	SHOW(fcntl(r, F_GETPIPE_SZ));
	SHOW(lseek(r, 0, SEEK_SET));
	SHOW(pread(r, &c, 1, 0));
	close(w);
	printf("reader revents, data, writer gone: %#x\n", revents(r, POLLIN));
	SHOW(read(r, &c, 1));
	SHOW(read(r, &c, 1));
	SHOW(read(r, &c, 1));	/* drained, no writer: EOF */
	printf("reader revents, writer gone: %#x\n", revents(r, POLLIN));
	/* a new writer continues the stream for the same reader */
	w = open(F, O_WRONLY | O_NONBLOCK);
	SHOW(write(w, "z", 1));
	SHOW(read(r, &c, 1));
	printf("read '%c'\n", c);
	SHOW(write(w, "", 0));
	close(r);
	printf("writer revents, reader gone: %#x\n", revents(w, POLLOUT));
	SHOW(write(w, "z", 1));	/* EPIPE; SIGPIPE is ignored */
	SHOW(write(w, "", 0));	/* empty writes succeed even so */
	close(w);
	SHOW(open(F, O_WRONLY | O_NONBLOCK));
	/* O_RDWR never waits; one process is both ends */
	rw = open(F, O_RDWR);
	printf("O_RDWR: %s\n", rw >= 0 ? "ok" : errname(errno));
	printf("O_RDWR revents: %#x\n", revents(rw, POLLIN | POLLOUT));
	SHOW(write(rw, "ab", 2));
	printf("O_RDWR revents with data: %#x\n", revents(rw, POLLIN | POLLOUT));
	SHOW(read(rw, &c, 1));
	SHOW(fcntl(rw, F_SETFL, O_NONBLOCK));
	SHOW(read(rw, &c, 1));
	SHOW(read(rw, &c, 1));	/* empty, a writer (itself): EAGAIN */
	/* fill it: a non-blocking write takes what fits */
	{
		static char big[100000];

		SHOW(write(rw, big, sizeof(big)));
		SHOW(write(rw, big, 1));
		printf("full O_RDWR revents: %#x\n", revents(rw, POLLIN | POLLOUT));
	}
	close(rw);
	/* the FIFO outlives its opens; its data does not */
	rw = open(F, O_RDWR | O_NONBLOCK);
	SHOW(read(rw, &c, 1));
	close(rw);
}

/* splice and sendfile with a FIFO at one end */
static void splicing(void)
{
	int rw = open(F, O_RDWR), file = open("file", O_RDWR | O_CREAT, 0600);
	char buf[32] = { 0 };
	off_t off = 0;

	printf("-- splice, sendfile\n");
	SHOW(write(rw, "spliced", 7));
	SHOW(splice(rw, NULL, file, NULL, 100, SPLICE_F_NONBLOCK));
	SHOW(pread(file, buf, sizeof(buf) - 1, 0));
	printf("file has \"%s\"\n", buf);
	SHOW(sendfile(rw, file, &off, 4));
	SHOW(read(rw, buf, sizeof(buf) - 1));
	buf[4] = 0;
	printf("FIFO had \"%s\", offset now %lld\n", buf, (long long)off);
	SHOW(splice(rw, &off, file, NULL, 1, 0));
	close(rw);
	close(file);
	unlink("file");
}

static void sigpipe_default(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		int r = open(F, O_RDONLY | O_NONBLOCK);
		int w = open(F, O_WRONLY | O_NONBLOCK);

		signal(SIGPIPE, SIG_DFL);
		close(r);
		(void)!write(w, "x", 1);
		_exit(0);
	}
	printf("writer without reader, SIGPIPE default: status %d\n",
	       wait_child(pid));
}

static void waits(void)
{
	int r, w, ep, n;
	struct epoll_event ev = { .events = EPOLLIN }, out[2];
	fd_set rs;
	struct timeval tv = { 0, 0 };
	struct pollfd p;
	pid_t pid;
	int go[2];

	printf("-- poll, select, epoll\n");
	r = open(F, O_RDONLY | O_NONBLOCK);
	w = open(F, O_WRONLY);
	ep = epoll_create1(0);
	ev.data.fd = r;
	epoll_ctl(ep, EPOLL_CTL_ADD, r, &ev);
	SHOW(epoll_wait(ep, out, 2, 0));
	FD_ZERO(&rs);
	FD_SET(r, &rs);
	SHOW(select(r + 1, &rs, NULL, NULL, &tv));
	/* a child writes once the parent waits (it may also write before:
	 * the result is the same) */
	if (pipe(go) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		char c;

		(void)!read(go[0], &c, 1);
		(void)!write(w, "ping", 4);
		_exit(0);
	}
	(void)!write(go[1], "g", 1);
	p = (struct pollfd){ r, POLLIN, 0 };
	SHOW(poll(&p, 1, -1));
	printf("poll revents: %#x\n", p.revents);
	n = epoll_wait(ep, out, 2, -1);
	printf("epoll_wait: %d, events %#x\n", n, n > 0 ? out[0].events : 0);
	FD_ZERO(&rs);
	FD_SET(r, &rs);
	SHOW(select(r + 1, &rs, NULL, NULL, NULL));
	printf("child status %d\n", wait_child(pid));
	read_all(r, "poller"); /* EAGAIN: a writer is still open */
	close(w);
	n = epoll_wait(ep, out, 2, -1);
	printf("writer closed: epoll_wait %d, events %#x\n", n,
	       n > 0 ? out[0].events : 0);
	FD_ZERO(&rs);
	FD_SET(r, &rs);
	SHOW(select(r + 1, &rs, NULL, NULL, NULL));
	close(ep);
	close(r);
	close(go[0]);
	close(go[1]);
}

/* atomic - two writers each write 100 PIPE_BUF-sized blocks of their own
 * letter through the (64 KiB) pipe, blocking when it is full; every block
 * must arrive whole. */
static void atomic(void)
{
	static char block[PIPE_BUF], buf[PIPE_BUF];
	int blocks = 0, mixed = 0, count[2] = { 0, 0 }, r, opened[2];
	size_t at = 0;
	pid_t pid[2];
	ssize_t n;

	printf("-- PIPE_BUF atomicity\n");
	/* the reader is there first and waits until both writers have
	 * opened: else one writer could finish before the other opens, and
	 * the reader would see end of file in between */
	r = open(F, O_RDONLY | O_NONBLOCK);
	if (pipe(opened) < 0)
		return;
	for (int i = 0; i < 2; i++) {
		pid[i] = fork();
		if (pid[i] == 0) {
			int w = open(F, O_WRONLY);

			(void)!write(opened[1], "o", 1);
			memset(block, 'a' + i, sizeof(block));
			for (int k = 0; k < 100; k++)
				if (write(w, block, sizeof(block)) != sizeof(block))
					_exit(1);
			_exit(0);
		}
	}
	(void)!read(opened[0], buf, 1);
	(void)!read(opened[0], buf, 1);
	close(opened[0]);
	close(opened[1]);
	fcntl(r, F_SETFL, 0);
	/* odd-sized reads, so block boundaries fall inside reads */
	while ((n = read(r, buf + at, at + 1000 > sizeof(buf) ? sizeof(buf) - at
								  : 1000)) > 0) {
		at += (size_t)n;
		if (at < sizeof(buf))
			continue;
		blocks++;
		if (memchr(buf, buf[0] == 'a' ? 'b' : 'a', sizeof(buf)))
			mixed++;
		count[buf[0] == 'b']++;
		at = 0;
	}
	printf("blocks %d (a %d, b %d), mixed %d, tail %zu, end %s\n", blocks,
	       count[0], count[1], mixed, at, n == 0 ? "EOF" : errname(errno));
	close(r);
	printf("writers: %d %d\n", wait_child(pid[0]), wait_child(pid[1]));
}

static volatile sig_atomic_t ticks;
static volatile int handler_fd = -1;

static void tick(int sig)
{
	if (++ticks == 3)
		handler_fd = open(F, O_RDWR); /* gives the blocked open a writer */
}

/* interrupted - a blocked O_RDONLY open under a repeating timer: EINTR
 * without SA_RESTART; with it, the open restarts after each tick until
 * the third tick's handler opens a writer. */
static void interrupted(int restart)
{
	struct sigaction sa = { .sa_handler = tick };
	struct itimerval it = { { 0, 20000 }, { 0, 20000 } };
	pid_t pid = fork();

	if (pid == 0) {
		int fd;

		sa.sa_flags = restart ? SA_RESTART : 0;
		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
		fd = open(F, O_RDONLY);
		it = (struct itimerval){ { 0, 0 }, { 0, 0 } };
		setitimer(ITIMER_REAL, &it, NULL);
		printf("blocked open, %s: %s%s\n",
		       restart ? "SA_RESTART" : "no SA_RESTART",
		       fd >= 0 ? "opened" : errname(errno),
		       restart ? (ticks >= 3 ? " after 3 ticks" : " early") : "");
		fflush(stdout);
		_exit(0);
	}
	printf("child status %d\n", wait_child(pid));
}

int main(void)
{
	char dir[] = "/var/tmp/sbx-fifo.XXXXXX";
	struct stat st;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(dir) || chdir(dir) < 0) {
		perror("mkdtemp");
		return 1;
	}
	SHOW(mkfifo(F, 0640));
	SHOW(mkfifo(F, 0640));
	SHOW(mknod("g", S_IFIFO | 0600, 0));
	SHOW(stat(F, &st) == 0 && S_ISFIFO(st.st_mode) ? (long)(st.st_mode & 07777) : -1);
	SHOW(stat("g", &st) == 0 && S_ISFIFO(st.st_mode) ? (long)st.st_size : -1);
	SHOW(open(F, O_RDONLY | O_NONBLOCK | O_DIRECTORY));
	rendezvous(1);
	rendezvous(0);
	nonblocking();
	splicing();
	sigpipe_default();
	waits();
	atomic();
	interrupted(0);
	interrupted(1);
	SHOW(stat(F, &st) == 0 && S_ISFIFO(st.st_mode));
	SHOW(unlink(F));
	SHOW(unlink("g"));
	SHOW(chdir("/"));
	SHOW(rmdir(dir));
	return 0;
}
