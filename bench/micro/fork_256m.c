/*
 * fork_256m: fork+exit+wait of a process with 256 MiB of touched memory
 * (issue #3: fork must be copy-on-write, not a copy).  One figure: us per
 * fork+exit+wait; the parent writes one byte per page afterwards, so the
 * cost of taking its pages back is measured too (fork_256m_rewrite).
 */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "micro.h"

#define SIZE (256UL << 20)
#define ITERS 4

int main(void)
{
	double v[MICRO_ROUNDS], w[MICRO_ROUNDS];
	char *mem = malloc(SIZE);
	int status;

	if (!mem)
		micro_fail("fork_256m", "malloc");
	memset(mem, 1, SIZE);
	for (int r = 0; r < MICRO_ROUNDS; r++) {
		double t0 = micro_now_ns();

		for (int i = 0; i < ITERS; i++) {
			pid_t pid = fork();

			if (pid < 0)
				micro_fail("fork_256m", "fork");
			if (pid == 0)
				_exit(0);
			if (waitpid(pid, &status, 0) != pid || status != 0)
				micro_fail("fork_256m", "waitpid");
		}
		v[r] = (micro_now_ns() - t0) / ITERS / 1000;
		t0 = micro_now_ns();
		for (size_t off = 0; off < SIZE; off += 4096)
			mem[off]++;
		w[r] = (micro_now_ns() - t0) / 1000;
	}
	micro_report("fork_256m", micro_median(v, MICRO_ROUNDS), "us");
	micro_report("fork_256m_rewrite", micro_median(w, MICRO_ROUNDS), "us");
	free(mem);
	return 0;
}
