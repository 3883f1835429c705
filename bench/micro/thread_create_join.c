/*
 * thread_create_join: pthread_create of a thread that returns at once,
 * then pthread_join.  One figure: us per create+join.
 */
#include <pthread.h>

#include "micro.h"

#define ITERS 50

static void *nothing(void *arg)
{
	return arg;
}

int main(void)
{
	double v[MICRO_ROUNDS];

	for (int r = 0; r < MICRO_ROUNDS; r++) {
		double t0 = micro_now_ns();

		for (int i = 0; i < ITERS; i++) {
			pthread_t th;
			int e = pthread_create(&th, NULL, nothing, NULL);

			if (e) {
				errno = e;
				micro_fail("thread_create_join", "pthread_create");
			}
			pthread_join(th, NULL);
		}
		v[r] = (micro_now_ns() - t0) / ITERS / 1000;
	}
	micro_report("thread_create_join", micro_median(v, MICRO_ROUNDS), "us");
	return 0;
}
