/*
 * Timers, compared natively and in the sandbox: alarm and pause, alarm's
 * remaining seconds, a periodic ITIMER_REAL, getitimer, and a POSIX timer
 * with SIGEV_SIGNAL (si_code SI_TIMER, si_value), timer_gettime/delete.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile int ticks, code, value;

static void on_alrm(int s, siginfo_t *si, void *uc)
{
	ticks++;
	code = si->si_code;
	value = si->si_value.sival_int;
	(void)s;
	(void)uc;
}

int main(void)
{
	struct sigaction sa;
	struct itimerval it = { { 0, 20000 }, { 0, 20000 } }, cur;
	struct sigevent ev;
	struct itimerspec ts = { { 0, 0 }, { 0, 30000000 } }, left;
	timer_t id;

	setvbuf(stdout, NULL, _IONBF, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_alrm;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGALRM, &sa, NULL);

	unsigned first = alarm(5), second = alarm(1);

	printf("alarm(5) returns %u, then alarm(1) returns %u\n", first, second);
	pause();
	printf("pause woke by SIGALRM: ticks %d, si_code SI_KERNEL %d\n", ticks,
	       code == SI_KERNEL);

	ticks = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	while (ticks < 3)
		pause();
	getitimer(ITIMER_REAL, &cur);
	printf("periodic itimer: 3 ticks, still armed %d\n",
	       cur.it_value.tv_sec || cur.it_value.tv_usec);
	it = (struct itimerval){ { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &it, NULL);
	getitimer(ITIMER_REAL, &cur);
	printf("disarmed %d\n", !cur.it_value.tv_sec && !cur.it_value.tv_usec);

	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGALRM;
	ev.sigev_value.sival_int = 77;
	ticks = 0;
	if (timer_create(CLOCK_MONOTONIC, &ev, &id) == 0) {
		timer_settime(id, 0, &ts, NULL);
		timer_gettime(id, &left);
		printf("timer_gettime before expiry: pending %d\n",
		       left.it_value.tv_sec || left.it_value.tv_nsec);
		while (!ticks)
			pause();
		printf("POSIX timer fired: SI_TIMER %d, value %d\n", code == SI_TIMER,
		       value);
		int del = timer_delete(id);
		int again = timer_delete(id) < 0 && errno == EINVAL;

		printf("timer_delete %d, again EINVAL %d\n", del, again);
	}
	printf("bad itimer which EINVAL %d\n",
	       setitimer(7, &it, NULL) < 0 && errno == EINVAL);
	return 0;
}
