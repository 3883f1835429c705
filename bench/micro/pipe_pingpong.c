/*
 * pipe_pingpong: one byte sent back and forth between two processes over a
 * pair of pipes (needs fork, #3, and pipes, #4).  One figure: ns per round
 * trip.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "micro.h"

#define ITERS 500

static void echo(int in, int out)
{
	char c;

	while (read(in, &c, 1) == 1)
		if (write(out, &c, 1) != 1)
			_exit(1);
	_exit(0);
}

int main(void)
{
	double v[MICRO_ROUNDS];
	int to[2], from[2], status;
	pid_t pid;
	char c = 'x';

	if (pipe(to) < 0 || pipe(from) < 0)
		micro_fail("pipe_pingpong", "pipe");
	pid = fork();
	if (pid < 0)
		micro_fail("pipe_pingpong", "fork");
	if (pid == 0) {
		close(to[1]);
		close(from[0]);
		echo(to[0], from[1]);
	}
	close(to[0]);
	close(from[1]);
	for (int r = 0; r < MICRO_ROUNDS; r++) {
		double t0 = micro_now_ns();

		for (int i = 0; i < ITERS; i++)
			if (write(to[1], &c, 1) != 1 || read(from[0], &c, 1) != 1)
				micro_fail("pipe_pingpong", "ping-pong");
		v[r] = (micro_now_ns() - t0) / ITERS;
	}
	close(to[1]);
	if (waitpid(pid, &status, 0) < 0)
		micro_fail("pipe_pingpong", "waitpid");
	micro_report("pipe_pingpong", micro_median(v, MICRO_ROUNDS), "ns");
	return 0;
}
