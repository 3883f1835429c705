/*
 * CLOCK_MONOTONIC from the vDSO across 8 threads: every value a thread
 * reads must be at least the largest value any thread had published
 * before the read.  Runs argv[1] seconds; prints one result line; exits 1
 * on a backwards step (or when threads cannot be created: "no threads").
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define THREADS 8

static _Atomic long long last;
static _Atomic long backwards, reads;
static long long end;

static long long mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *run(void *arg)
{
	long n = 0;

	while (1) {
		long long seen = atomic_load(&last), now = mono(), cur;

		if (now < seen)
			atomic_fetch_add(&backwards, 1);
		cur = seen;
		while (now > cur && !atomic_compare_exchange_weak(&last, &cur, now))
			;
		if (++n % 1024 == 0 && now > end)
			break;
	}
	atomic_fetch_add(&reads, n);
	return arg;
}

int main(int argc, char **argv)
{
	pthread_t t[THREADS];

	end = mono() + (argc > 1 ? atoll(argv[1]) : 2) * 1000000000LL;
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, run, NULL)) {
			printf("no threads\n");
			return 1;
		}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	printf("8 threads, %ld reads, %ld backwards\n", (long)reads, (long)backwards);
	return backwards ? 1 : 0;
}
