/*
 * Thread stress, compared natively and in the sandbox: 16 threads
 * hammering one mutex between condvar barrier rounds, raw futex ping-pong
 * pairs, create/join churn, concurrent mmap/munmap (anonymous and of this
 * program's file) that must never hand two threads one range, forks while threads write one page (copy-on-write
 * faults racing), detached threads that pthread_exit, and the
 * main thread leaving first (pthread_exit) while another thread carries on,
 * creates threads and forks, and execve from a thread among others.
 * Prints relations only.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* <linux/futex.h> is not in musl-gcc's include path */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

#define NT 16
#define ROUNDS 100
#define PER_ROUND 100
#define PAIRS 4
#define PINGS 1000
#define CHURN 200
#define MAPPERS 8
#define MAPS 500

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counter;
static int arrived, generation, nthreads;
static atomic_int words[PAIRS];
static atomic_int detached_done;
static pthread_t main_thread;

/* all nthreads threads meet here (a condvar barrier: futex wait/wake) */
static void barrier(void)
{
	int gen;

	pthread_mutex_lock(&m);
	gen = generation;
	if (++arrived == nthreads) {
		arrived = 0;
		generation++;
		pthread_cond_broadcast(&cv);
	} else {
		while (gen == generation)
			pthread_cond_wait(&cv, &m);
	}
	pthread_mutex_unlock(&m);
}

static void *hammer(void *arg)
{
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < PER_ROUND; i++) {
			pthread_mutex_lock(&m);
			counter++;
			pthread_mutex_unlock(&m);
		}
		barrier();
	}
	return arg;
}

static long futex(atomic_int *w, int op, int val)
{
	return syscall(SYS_futex, w, op, val, NULL, NULL, 0);
}

/* arg: pair * 2 + side; each side waits for its turn, hands over, wakes */
static void *ping(void *arg)
{
	long a = (long)arg;
	atomic_int *w = &words[a / 2];
	int side = a % 2;

	for (int i = 0; i < PINGS; i++) {
		while (atomic_load(w) != side)
			futex(w, FUTEX_WAIT_PRIVATE, !side);
		atomic_store(w, !side);
		futex(w, FUTEX_WAKE_PRIVATE, 1);
	}
	return NULL;
}

/* this program, opened read-only: its pages map the file (in the sandbox a
 * host file the gofer donated) */
static int self_fd = -1;

/*
 * Each thread maps pages, fills them with its own byte and checks them
 * after a yield: two threads must never be given the same range.  Every
 * other map is a private writable map of the program's file, which must
 * read as the file (an ELF header) before it is written.
 */
static void *mapper(void *arg)
{
	long bad = 0;
	int mark = (int)(long)arg + 1;

	for (int i = 0; i < MAPS; i++) {
		size_t len = (1 + i % 3) * 4096;
		int file = self_fd >= 0 && i % 2;
		unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
					file ? MAP_PRIVATE
					     : MAP_PRIVATE | MAP_ANONYMOUS,
					file ? self_fd : -1, 0);

		if (p == MAP_FAILED)
			return (void *)-1L;
		if (file && memcmp(p, "\177ELF", 4))
			bad++;
		memset(p, mark, len);
		sched_yield();
		for (size_t j = 0; j < len; j += 512)
			bad += p[j] != mark;
		munmap(p, len);
	}
	return (void *)bad;
}

/* writers on one page while another thread forks (copy-on-write) */
static atomic_long cow_counts[4];
static atomic_int cow_stop;

static void *cow_writer(void *arg)
{
	long i = (long)arg, n = 0;

	while (!atomic_load(&cow_stop)) {
		atomic_fetch_add(&cow_counts[i], 1);
		n++;
	}
	return (void *)(long)(atomic_load(&cow_counts[i]) == n);
}

static void *nothing(void *arg)
{
	return arg;
}

static void *detached(void *arg)
{
	atomic_fetch_add(&detached_done, 1);
	pthread_exit(arg);
}

static void run_hammer(int n)
{
	pthread_t t[NT];
	long sum = 0;
	void *r;

	counter = 0;
	nthreads = n;
	for (long i = 0; i < n; i++) {
		int rc = pthread_create(&t[i], NULL, hammer, (void *)i);

		if (rc) {
			/* the form threads.sh looks for (a platform without
			 * threads) */
			printf("pthread_create: %s\n", strerror(rc));
			exit(1);
		}
	}
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], &r);
		sum += (long)r;
	}
	printf("%d threads: counter %ld (want %d), ids sum %ld, generations %d\n",
	       n, counter, n * ROUNDS * PER_ROUND, sum, generation);
}

static void *child_thread(void *arg)
{
	return arg;
}

static void *sleeper(void *arg)
{
	for (;;)
		pause();
	return arg;
}

/* execve from a thread that is not the main one, others still running */
static void *execer(void *arg)
{
	char *argv[] = { "/bin/sh", "-c", "exit 4", NULL };
	char *envp[] = { NULL };

	execve(argv[0], argv, envp);
	return arg;
}

/* runs after the main thread has gone */
static void *survivor(void *arg)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	pthread_t t;
	pid_t c;
	void *r;
	int st;

	pthread_join(main_thread, NULL);
	nanosleep(&ts, NULL); /* let its exit finish everywhere */
	generation = 0;
	run_hammer(4);
	c = fork();
	if (c == 0) {
		pthread_create(&t, NULL, child_thread, (void *)3L);
		pthread_join(t, &r);
		_exit((int)(long)r);
	}
	waitpid(c, &st, 0);
	printf("after the main thread left: fork, child thread exit %d\n",
	       WEXITSTATUS(st));
	c = fork();
	if (c == 0) {
		for (int i = 0; i < 3; i++)
			pthread_create(&t, NULL, sleeper, NULL);
		pthread_create(&t, NULL, execer, NULL);
		for (;;)
			pause();
	}
	waitpid(c, &st, 0);
	printf("execve from a thread among others: exit %d\n",
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	exit(0);
	return arg;
}

int main(int argc, char **argv)
{
	pthread_t t[2 * PAIRS], s;
	pthread_attr_t attr;
	int ok = 0;

	setvbuf(stdout, NULL, _IONBF, 0);
	run_hammer(NT);

	for (long i = 0; i < 2 * PAIRS; i++)
		pthread_create(&t[i], NULL, ping, (void *)i);
	for (int i = 0; i < 2 * PAIRS; i++)
		pthread_join(t[i], NULL);
	printf("futex ping-pong: %d pairs x %d\n", PAIRS, PINGS);

	for (long i = 0; i < CHURN; i++) {
		void *r;

		if (pthread_create(&s, NULL, nothing, (void *)i) == 0 &&
		    pthread_join(s, &r) == 0 && (long)r == i)
			ok++;
	}
	printf("create/join churn: %d of %d\n", ok, CHURN);

	{
		pthread_t mt[MAPPERS];
		long bad = 0;
		void *r;

		self_fd = argc > 0 ? open(argv[0], O_RDONLY | O_CLOEXEC) : -1;
		for (long i = 0; i < MAPPERS; i++)
			pthread_create(&mt[i], NULL, mapper, (void *)i);
		for (int i = 0; i < MAPPERS; i++) {
			pthread_join(mt[i], &r);
			bad += (long)r;
		}
		printf("concurrent mmap/munmap: %d threads x %d, file maps %s, bad %ld\n",
		       MAPPERS, MAPS, self_fd >= 0 ? "yes" : "no", bad);
		if (self_fd >= 0)
			close(self_fd);
	}

	{
		pthread_t wt[4];
		long same = 0;
		int kids = 0, st;
		void *r;

		for (long i = 0; i < 4; i++)
			pthread_create(&wt[i], NULL, cow_writer, (void *)i);
		for (int i = 0; i < 50; i++) {
			pid_t c = fork();

			if (c == 0)
				_exit(cow_counts[0] >= 0 ? 7 : 1);
			if (c > 0 && waitpid(c, &st, 0) == c &&
			    WIFEXITED(st) && WEXITSTATUS(st) == 7)
				kids++;
		}
		atomic_store(&cow_stop, 1);
		for (int i = 0; i < 4; i++) {
			pthread_join(wt[i], &r);
			same += (long)r;
		}
		printf("fork while 4 threads write one page: %d children, %ld counters exact\n",
		       kids, same);
	}

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < 8; i++)
		pthread_create(&s, &attr, detached, NULL);
	while (atomic_load(&detached_done) < 8)
		sched_yield();
	printf("detached threads exited: %d\n", atomic_load(&detached_done));

	main_thread = pthread_self();
	pthread_create(&s, NULL, survivor, NULL);
	pthread_exit(NULL);
}
