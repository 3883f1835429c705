/*
 * Threads, compared natively and in the sandbox: mutex contention, condvar
 * ping-pong, join values, tids, pthread_kill to one thread, fork from a
 * thread, exit() from a thread ending the process.  Prints relations only.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 4
#define ITER 100000

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counter, turn;
static volatile pthread_t hit;

static void *add(void *arg)
{
	for (int i = 0; i < ITER; i++) {
		pthread_mutex_lock(&m);
		counter++;
		pthread_mutex_unlock(&m);
	}
	return (void *)((long)arg * 10);
}

static void *pong(void *arg)
{
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&m);
		while (turn % 2 == 0)
			pthread_cond_wait(&cv, &m);
		turn++;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&m);
	}
	return arg;
}

static void on_usr1(int s)
{
	hit = pthread_self();
	(void)s;
}

static void *waiter(void *arg)
{
	while (!hit)
		usleep(1000);
	return arg;
}

static void *ids(void *arg)
{
	long same_pid = getpid() == *(pid_t *)arg;
	long own_tid = syscall(SYS_gettid) != getpid();

	return (void *)(same_pid * 2 + own_tid);
}

static void *forker(void *arg)
{
	pid_t c = fork();
	int st;

	if (c == 0)
		_exit(5);
	waitpid(c, &st, 0);
	return (void *)(long)WEXITSTATUS(st);
}

/* /proc of a thread group: task/ lists every thread, thread-self is
 * the caller's own directory, comm is per thread */
static pthread_barrier_t bar;
static long tids[N];

static void *procfs_worker(void *arg)
{
	long i = (long)arg, tid = syscall(SYS_gettid), ok = 0;
	char path[64], buf[512];
	FILE *f;

	tids[i] = tid;
	snprintf(buf, sizeof(buf), "worker%ld", i);
	pthread_setname_np(pthread_self(), buf);
	f = fopen("/proc/thread-self/stat", "r");
	if (f && fgets(buf, sizeof(buf), f))
		ok = atol(buf) == tid;
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/proc/self/task/%ld/status", tid);
	f = fopen(path, "r");
	while (f && fgets(buf, sizeof(buf), f))
		if (!strncmp(buf, "Tgid:", 5))
			ok += atol(buf + 5) == getpid();
	if (f)
		fclose(f);
	pthread_barrier_wait(&bar); /* all started */
	pthread_barrier_wait(&bar); /* main has looked */
	return (void *)ok;
}

static void procfs_threads(void)
{
	pthread_t t[N];
	long good = 0, names = 0;
	int entries = 0, threads = 0;
	char buf[256], path[64];
	struct dirent *e;
	void *r;
	DIR *d;
	FILE *f;

	pthread_barrier_init(&bar, NULL, N + 1);
	for (long i = 0; i < N; i++)
		pthread_create(&t[i], NULL, procfs_worker, (void *)i);
	pthread_barrier_wait(&bar);
	d = opendir("/proc/self/task");
	while (d && (e = readdir(d)))
		entries += e->d_name[0] != '.';
	if (d)
		closedir(d);
	f = fopen("/proc/self/status", "r");
	while (f && fgets(buf, sizeof(buf), f))
		if (!strncmp(buf, "Threads:", 8))
			threads = atoi(buf + 8);
	if (f)
		fclose(f);
	for (int i = 0; i < N; i++) {
		char want[32];

		snprintf(path, sizeof(path), "/proc/self/task/%ld/comm", tids[i]);
		snprintf(want, sizeof(want), "worker%d\n", i);
		f = fopen(path, "r");
		if (f && fgets(buf, sizeof(buf), f))
			names += !strcmp(buf, want);
		if (f)
			fclose(f);
	}
	pthread_barrier_wait(&bar);
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], &r);
		good += (long)r;
	}
	printf("/proc: task/ entries %d, Threads %d, per-thread comm %ld, "
	       "thread-self and Tgid %ld\n", entries, threads, names, good);
}

static void *exiter(void *arg)
{
	exit(9);
	return arg;
}

int main(void)
{
	pthread_t t[N], p;
	void *r;
	long sum = 0;
	pid_t me = getpid(), c;
	int st, rc;

	setvbuf(stdout, NULL, _IONBF, 0);
	rc = pthread_create(&p, NULL, add, (void *)1L);
	if (rc) {
		printf("pthread_create: %s\n", strerror(rc));
		return 1;
	}
	pthread_join(p, &r);
	sum += (long)r;
	for (long i = 0; i < N; i++)
		pthread_create(&t[i], NULL, add, (void *)i);
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], &r);
		sum += (long)r;
	}
	printf("counter %ld, join values sum %ld\n", counter, sum);

	pthread_create(&p, NULL, pong, (void *)7L);
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&m);
		while (turn % 2 == 1)
			pthread_cond_wait(&cv, &m);
		turn++;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&m);
	}
	pthread_join(p, &r);
	printf("ping-pong turns %ld, value %ld\n", turn, (long)r);

	pthread_create(&p, NULL, ids, &me);
	pthread_join(p, &r);
	printf("thread shares pid and has its own tid: %ld\n", (long)r);

	signal(SIGUSR1, on_usr1);
	pthread_create(&p, NULL, waiter, NULL);
	pthread_kill(p, SIGUSR1);
	pthread_join(p, NULL);
	printf("pthread_kill reached that thread: %d\n", pthread_equal(hit, p));

	procfs_threads();

	pthread_create(&p, NULL, forker, NULL);
	pthread_join(p, &r);
	printf("fork from a thread, child exit %ld\n", (long)r);

	c = fork();
	if (c == 0) {
		pthread_create(&p, NULL, exiter, NULL);
		pause();
		_exit(1);
	}
	waitpid(c, &st, 0);
	printf("exit() in a thread ends the process: %d\n", WEXITSTATUS(st));
	return 0;
}
