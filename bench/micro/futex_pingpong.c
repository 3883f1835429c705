/*
 * futex_pingpong: two threads hand a turn back and forth with FUTEX_WAIT /
 * FUTEX_WAKE on one private futex word (needs threads and futexes, #3).
 * One figure: ns per round trip.
 */
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "micro.h"

#define ITERS 500

static _Atomic int turn;	/* 0: main's turn, 1: the other thread's */
static _Atomic int stop;

static void wait_for(int want)
{
	int cur;

	while ((cur = atomic_load(&turn)) != want)
		syscall(SYS_futex, &turn, FUTEX_WAIT_PRIVATE, cur, NULL, NULL, 0);
}

static void pass_to(int who)
{
	atomic_store(&turn, who);
	syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *partner(void *arg)
{
	for (;;) {
		wait_for(1);
		if (atomic_load(&stop))
			return NULL;
		pass_to(0);
	}
}

int main(void)
{
	double v[MICRO_ROUNDS];
	pthread_t th;
	int err = pthread_create(&th, NULL, partner, NULL);

	if (err) {
		errno = err;
		micro_fail("futex_pingpong", "pthread_create");
	}
	for (int r = 0; r < MICRO_ROUNDS; r++) {
		double t0 = micro_now_ns();

		for (int i = 0; i < ITERS; i++) {
			pass_to(1);
			wait_for(0);
		}
		v[r] = (micro_now_ns() - t0) / ITERS;
	}
	atomic_store(&stop, 1);
	pass_to(1);
	pthread_join(th, NULL);
	micro_report("futex_pingpong", micro_median(v, MICRO_ROUNDS), "ns");
	return 0;
}
