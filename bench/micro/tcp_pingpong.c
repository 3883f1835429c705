/*
 * tcp_pingpong: one byte sent back and forth over a TCP loopback connection
 * between two processes, TCP_NODELAY (needs a network plugin: the built-in
 * config's `network: host, isolated` serves it).  One figure: ns per round
 * trip.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "micro.h"

#define ITERS 500

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void echo(int lfd)
{
	int fd = accept(lfd, NULL, NULL);
	char c;

	if (fd < 0)
		_exit(1);
	nodelay(fd);
	while (read(fd, &c, 1) == 1)
		if (write(fd, &c, 1) != 1)
			_exit(1);
	_exit(0);
}

int main(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	double v[MICRO_ROUNDS];
	int lfd, fd, status;
	pid_t pid;
	char c = 'x';

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		micro_fail("tcp_pingpong", "socket");
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(lfd, 1) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) < 0)
		micro_fail("tcp_pingpong", "bind/listen");
	pid = fork();
	if (pid < 0)
		micro_fail("tcp_pingpong", "fork");
	if (pid == 0)
		echo(lfd);
	close(lfd);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		micro_fail("tcp_pingpong", "connect");
	nodelay(fd);
	for (int r = 0; r < MICRO_ROUNDS; r++) {
		double t0 = micro_now_ns();

		for (int i = 0; i < ITERS; i++)
			if (write(fd, &c, 1) != 1 || read(fd, &c, 1) != 1)
				micro_fail("tcp_pingpong", "ping-pong");
		v[r] = (micro_now_ns() - t0) / ITERS;
	}
	close(fd);
	if (waitpid(pid, &status, 0) < 0)
		micro_fail("tcp_pingpong", "waitpid");
	micro_report("tcp_pingpong", micro_median(v, MICRO_ROUNDS), "ns");
	return 0;
}
