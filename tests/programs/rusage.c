/*
 * CPU time accounting: getrusage (SELF, CHILDREN, THREAD), times(),
 * wait4's rusage and the CPU-time clocks see the program's own work (not
 * zeros, not the sandbox runtime's), and a reaped child's time moves to
 * RUSAGE_CHILDREN.  Printed as comparisons so native and sandbox agree.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/resource.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double tv(struct timeval t)
{
	return t.tv_sec + t.tv_usec / 1e6;
}

/* burn - spin until this process has used @s more seconds of CPU (by its
 * own clock, checked every few ms so that the system calls stay a small
 * part; bounded by 20 s of wall time in case that clock is broken) */
static void burn(double s)
{
	double start = cpu_now();
	time_t give_up = time(NULL) + 20;
	volatile unsigned long x = 0;

	while (cpu_now() - start < s && time(NULL) < give_up)
		for (int i = 0; i < 5000000; i++)
			x += i;
}

int main(void)
{
	struct rusage self, kids, thr, w4;
	struct tms tm;
	double c0 = cpu_now();
	int st;

	setvbuf(stdout, NULL, _IONBF, 0);
	burn(0.3);
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_THREAD, &thr);
	printf("process clock advanced >= 0.3 s: %d\n", cpu_now() - c0 >= 0.3);
	printf("RUSAGE_SELF user >= 0.15 s: %d\n", tv(self.ru_utime) >= 0.15);
	printf("RUSAGE_SELF user+sys <= clock + slack: %d\n",
	       tv(self.ru_utime) + tv(self.ru_stime) <= cpu_now() + 0.05);
	printf("RUSAGE_THREAD user >= 0.15 s: %d\n", tv(thr.ru_utime) >= 0.15);
	printf("maxrss > 0: %d\n", self.ru_maxrss > 0);
	times(&tm);
	printf("times() user ticks >= 15: %d\n", tm.tms_utime >= 15);
	getrusage(RUSAGE_CHILDREN, &kids);
	printf("no children yet: %d\n", tv(kids.ru_utime) < 0.05);

	pid_t pid = fork();

	if (pid == 0) {
		burn(0.3);
		_exit(0);
	}
	wait4(pid, &st, 0, &w4);
	printf("wait4 rusage user >= 0.15 s: %d\n", tv(w4.ru_utime) >= 0.15);
	getrusage(RUSAGE_CHILDREN, &kids);
	printf("RUSAGE_CHILDREN user >= 0.15 s: %d\n", tv(kids.ru_utime) >= 0.15);
	times(&tm);
	printf("times() children ticks >= 15: %d\n", tm.tms_cutime >= 15);
	getrusage(RUSAGE_SELF, &self);
	printf("the child's time is not ours: %d\n", tv(self.ru_utime) < 0.5);
	printf("getrusage(99): %d\n", getrusage(99, &self));
	return 0;
}
