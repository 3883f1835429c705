/*
 * fork_exec_wait: fork a child that execs this same static program (by the
 * absolute path in argv[0], with "--exit": it returns at once) and wait
 * for it (needs fork and execve, #3, and the file system, #4).
 * One figure: us per fork+execve+wait.
 */
#include <sys/wait.h>
#include <unistd.h>

#include "micro.h"

#define ITERS 20

int main(int argc, char **argv)
{
	double v[MICRO_ROUNDS];
	char *child[] = { argv[0], "--exit", NULL };
	int status;

	if (argc > 1 && strcmp(argv[1], "--exit") == 0)
		return 0;
	if (argv[0][0] != '/') {
		errno = EINVAL;
		micro_fail("fork_exec_wait", "argv[0] must be an absolute path");
	}
	for (int r = 0; r < MICRO_ROUNDS; r++) {
		double t0 = micro_now_ns();

		for (int i = 0; i < ITERS; i++) {
			pid_t pid = fork();

			if (pid < 0)
				micro_fail("fork_exec_wait", "fork");
			if (pid == 0) {
				execv(child[0], child);
				_exit(127);
			}
			if (waitpid(pid, &status, 0) != pid)
				micro_fail("fork_exec_wait", "waitpid");
			if (status != 0) {
				errno = ENOEXEC;
				micro_fail("fork_exec_wait", "child");
			}
		}
		v[r] = (micro_now_ns() - t0) / ITERS / 1000;
	}
	micro_report("fork_exec_wait", micro_median(v, MICRO_ROUNDS), "us");
	return 0;
}
