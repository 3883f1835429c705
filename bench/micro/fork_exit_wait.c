/*
 * fork_exit_wait: fork a child that exits at once and wait for it (needs
 * fork, #3).  One figure: us per fork+exit+wait.
 */
#include <sys/wait.h>
#include <unistd.h>

#include "micro.h"

#define ITERS 50

int main(void)
{
	double v[MICRO_ROUNDS];
	int status;

	for (int r = 0; r < MICRO_ROUNDS; r++) {
		double t0 = micro_now_ns();

		for (int i = 0; i < ITERS; i++) {
			pid_t pid = fork();

			if (pid < 0)
				micro_fail("fork_exit_wait", "fork");
			if (pid == 0)
				_exit(0);
			if (waitpid(pid, &status, 0) != pid || status != 0)
				micro_fail("fork_exit_wait", "waitpid");
		}
		v[r] = (micro_now_ns() - t0) / ITERS / 1000;
	}
	micro_report("fork_exit_wait", micro_median(v, MICRO_ROUNDS), "us");
	return 0;
}
