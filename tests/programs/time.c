/*
 * time: the clocks behave: CLOCK_MONOTONIC never goes back, CLOCK_REALTIME
 * agrees with time() and gettimeofday(), nanosleep and clock_nanosleep
 * sleep at least as long as asked.  Uses raw syscalls so the vDSO (which
 * the sandbox may not offer) does not hide the clock calls.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int64_t ns(clockid_t c)
{
	struct timespec ts;

	syscall(SYS_clock_gettime, c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(void)
{
	int64_t prev = ns(CLOCK_MONOTONIC), t0, t1, rt;
	int mono_ok = 1, i;
	struct timespec req = { 0, 10 * 1000 * 1000 }, res;
	struct timeval tv;
	time_t now;

	for (i = 0; i < 10000; i++) {
		int64_t t = ns(CLOCK_MONOTONIC);

		if (t < prev)
			mono_ok = 0;
		prev = t;
	}
	printf("monotonic non-decreasing: %d\n", mono_ok);
	printf("boottime >= monotonic: %d\n",
	       ns(CLOCK_BOOTTIME) >= ns(CLOCK_MONOTONIC));

	rt = ns(CLOCK_REALTIME);
	now = (time_t)syscall(SYS_time, NULL);
	/* time() may read a coarse clock a tick behind: allow one second */
	printf("realtime within 1 s of time(): %d\n",
	       now - rt / 1000000000 <= 1 && now - rt / 1000000000 >= -1);
	syscall(SYS_gettimeofday, &tv, NULL);
	rt = ns(CLOCK_REALTIME) / 1000;
	printf("gettimeofday within 1 s of realtime: %d\n",
	       rt - ((int64_t)tv.tv_sec * 1000000 + tv.tv_usec) < 1000000 &&
	       rt >= (int64_t)tv.tv_sec * 1000000 + tv.tv_usec);
	printf("gettimeofday usec in range: %d\n",
	       tv.tv_usec >= 0 && tv.tv_usec < 1000000);

	t0 = ns(CLOCK_MONOTONIC);
	printf("nanosleep 10 ms: %ld\n", syscall(SYS_nanosleep, &req, NULL));
	t1 = ns(CLOCK_MONOTONIC);
	printf("slept >= 10 ms: %d\n", t1 - t0 >= 10 * 1000 * 1000);
	printf("slept < 2 s: %d\n", t1 - t0 < 2000LL * 1000 * 1000);

	t0 = ns(CLOCK_MONOTONIC);
	printf("clock_nanosleep 10 ms: %ld\n",
	       syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &req, NULL));
	t1 = ns(CLOCK_MONOTONIC);
	printf("slept >= 10 ms: %d\n", t1 - t0 >= 10 * 1000 * 1000);

	t0 = ns(CLOCK_MONOTONIC);
	res.tv_sec = (t0 + 10 * 1000 * 1000) / 1000000000;
	res.tv_nsec = (t0 + 10 * 1000 * 1000) % 1000000000;
	printf("clock_nanosleep absolute: %ld\n",
	       syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME,
		       &res, NULL));
	printf("woke after deadline: %d\n",
	       ns(CLOCK_MONOTONIC) >= t0 + 10 * 1000 * 1000);

	syscall(SYS_clock_getres, CLOCK_MONOTONIC, &res);
	printf("monotonic resolution <= 1 ms: %d\n",
	       res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 1000000);
	/* the libc path (vDSO natively) agrees too */
	clock_gettime(CLOCK_REALTIME, &res);
	printf("libc realtime within 1 s of time(): %d\n",
	       res.tv_sec - time(NULL) <= 1 && time(NULL) - res.tv_sec <= 1);
	return 0;
}
