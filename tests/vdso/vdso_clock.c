/*
 * vDSO clock checks, run in the sandbox for argv[1] seconds.  It asks a
 * helper outside the sandbox for the host's CLOCK_REALTIME ("?" on stdout,
 * the answer in ns on stdin) and brackets each answer with its own clock
 * reads: t0 <= host <= t1 must hold within 1 ms (the bound).
 * Meanwhile CLOCK_MONOTONIC must never go backwards, and gettimeofday and
 * time must agree with clock_gettime.  Prints one result line; exits 1 on
 * any violation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/time.h>
#include <time.h>

#define BOUND_NS 1000000LL

static long long ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long long secs = argc > 1 ? atoll(argv[1]) : 5;
	long long end = ns(CLOCK_MONOTONIC) + secs * 1000000000LL;
	long long last_mono = 0, worst = 0;
	long samples = 0, bad = 0;
	char line[64];

	if (!getauxval(AT_SYSINFO_EHDR)) {
		printf("no vDSO in the auxv\n");
		return 1;
	}
	while (ns(CLOCK_MONOTONIC) < end) {
		long long t0 = ns(CLOCK_REALTIME), host, t1;

		printf("?\n");
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			break;
		t1 = ns(CLOCK_REALTIME);
		host = atoll(line);
		if (t0 - host > worst)
			worst = t0 - host;
		if (host - t1 > worst)
			worst = host - t1;
		for (int i = 0; i < 1000; i++) {
			long long m = ns(CLOCK_MONOTONIC);

			if (m < last_mono)
				bad++;
			last_mono = m;
		}
		struct timeval tv;
		struct timespec ts;

		gettimeofday(&tv, NULL);
		clock_gettime(CLOCK_REALTIME, &ts);
		if (ts.tv_sec - tv.tv_sec > 1 || ts.tv_sec < tv.tv_sec)
			bad++;
		if (time(NULL) < tv.tv_sec)
			bad++;
		samples++;
	}
	printf("samples %ld violations %ld worst offset from host %lld ns\n",
	       samples, bad, worst);
	return samples > 0 && bad == 0 && worst <= BOUND_NS ? 0 : 1;
}
