/*
 * System V IPC: shared memory between a parent and forked children
 * (data both ways, shm_nattch through fork and exit, IPC_RMID while
 * attached, shmdt, SHM_RDONLY, SHM_RND/SHM_REMAP), semaphores (a
 * cross-process mutex whose SEM_UNDO is released at a child's exit,
 * IPC_NOWAIT, semtimedop's timeout, GETNCNT/GETZCNT with blocked
 * children, EINTR, EIDRM) and message queues (ping-pong with types,
 * negative types, MSG_EXCEPT, E2BIG/MSG_NOERROR, a full queue blocking a
 * sender, EIDRM to a blocked receiver).  Output must equal native; ids,
 * keys, pids and times are printed only as relations.
 *
 * Natively the objects live in the host's IPC namespace: everything
 * created is removed at exit (atexit, and from the watchdog alarm).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "errname.h"

#ifndef SHM_DEST
#define SHM_DEST 01000
#endif
#ifndef SHM_REMAP
#define SHM_REMAP 040000
#endif
#ifndef MSG_EXCEPT
#define MSG_EXCEPT 020000
#endif
#ifndef MSG_COPY
#define MSG_COPY 040000
#endif

/* field names differ between glibc and musl */
#ifdef __GLIBC__
#define PERM_KEY(p) ((p).__key)
#define MSG_CBYTES(d) ((d).__msg_cbytes)
#else
#define PERM_KEY(p) ((p).__ipc_perm_key)
#define MSG_CBYTES(d) ((d).msg_cbytes)
#endif

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *__buf;
};

/* what to remove at exit: kind 0 shm, 1 sem, 2 msg */
static struct {
	int kind, id;
} made[64];
static int nmade;

static int track(int kind, int id)
{
	if (id >= 0 && nmade < 64) {
		made[nmade].kind = kind;
		made[nmade].id = id;
		nmade++;
	}
	return id;
}

/* untrack - the object is gone (or no longer ours to remove): natively
 * its id may soon belong to someone else */
static void untrack(int id)
{
	for (int i = 0; i < nmade; i++)
		if (made[i].id == id)
			made[i].id = -1;
}

static int shm_rm(int id)
{
	int r = shmctl(id, IPC_RMID, NULL);

	if (!r)
		untrack(id);
	return r;
}

static pid_t owner;

static void cleanup(void)
{
	if (getpid() != owner)
		return;
	for (int i = 0; i < nmade; i++) {
		if (made[i].id < 0)
			continue;
		if (made[i].kind == 0)
			shmctl(made[i].id, IPC_RMID, NULL);
		else if (made[i].kind == 1)
			semctl(made[i].id, 0, IPC_RMID);
		else
			msgctl(made[i].id, IPC_RMID, NULL);
	}
	nmade = 0;
}

static void watchdog(int sig)
{
	static const char msg[] = "watchdog: test stuck\n";

	cleanup();
	write(2, msg, sizeof(msg) - 1);
	_exit(99);
}

static const char *res(long r)
{
	return r < 0 ? errname(errno) : "ok";
}

static int status_of(pid_t pid)
{
	int st = 0;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* a key of our own: natively the host namespace may hold others */
static key_t free_key(int kind)
{
	for (key_t k = 0x5b000000 | ((getpid() & 0xfff) << 8); ; k++) {
		int r = kind == 0 ? shmget(k, 0, 0) : kind == 1 ? semget(k, 0, 0)
							   : msgget(k, 0);
		if (r < 0 && errno == ENOENT)
			return k;
	}
}

static long nattch(int id)
{
	struct shmid_ds ds;

	return shmctl(id, IPC_STAT, &ds) < 0 ? -1 : (long)ds.shm_nattch;
}

static void test_shm(void)
{
	struct shmid_ds ds;
	struct shminfo info;
	int id, id2, pfd[2];
	char *p, *q;
	key_t key;
	pid_t pid;

	printf("-- shm\n");
	id = track(0, shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600));
	printf("shmget private: %s\n", res(id));
	if (id < 0)
		return;
	shmctl(id, IPC_STAT, &ds);
	printf("stat: segsz %zu mode %o nattch %lu key %d cpid-is-me %d lpid %d"
	       " atime %d uid-is-me %d\n",
	       (size_t)ds.shm_segsz, ds.shm_perm.mode & 0777,
	       (unsigned long)ds.shm_nattch, (int)PERM_KEY(ds.shm_perm),
	       ds.shm_cpid == getpid(), ds.shm_lpid, ds.shm_atime != 0,
	       ds.shm_perm.uid == geteuid());
	p = shmat(id, NULL, 0);
	printf("shmat: %s page-aligned %d\n", p == (void *)-1 ? errname(errno) : "ok",
	       ((unsigned long)p & 4095) == 0);
	if (p == (void *)-1)
		return;
	printf("fresh segment reads zero: %d\n", p[0] == 0 && p[9999] == 0);
	strcpy(p, "from the parent");
	shmctl(id, IPC_STAT, &ds);
	printf("after shmat: nattch %lu lpid-is-me %d atime-set %d\n",
	       (unsigned long)ds.shm_nattch, ds.shm_lpid == getpid(),
	       ds.shm_atime != 0);

	/* fork: the child shares the attachment and writes back */
	pid = fork();
	if (pid == 0) {
		char *again;
		int ok = strcmp(p, "from the parent") == 0;

		ok &= nattch(id) == 2;
		again = shmat(id, NULL, SHM_RDONLY);
		ok &= again != (void *)-1 && nattch(id) == 3;
		ok &= again != (void *)-1 && strcmp(again, "from the parent") == 0;
		ok &= shmdt(again) == 0 && nattch(id) == 2;
		strcpy(p + 5000, "from the child");
		_exit(ok ? 0 : 1);
	}
	printf("child (sees data, nattch 2, attaches again): %d\n", status_of(pid));
	shmctl(id, IPC_STAT, &ds);
	printf("after the child's exit: nattch %lu lpid-is-child %d dtime-set %d"
	       " data \"%s\"\n",
	       (unsigned long)ds.shm_nattch, ds.shm_lpid == pid,
	       ds.shm_dtime != 0, p + 5000);

	/* read-only attachment: writes fault */
	pid = fork();
	if (pid == 0) {
		char *ro = shmat(id, NULL, SHM_RDONLY);

		if (ro == (void *)-1 || ro[0] != 'f')
			_exit(1);
		ro[0] = 'X';
		_exit(2);
	}
	printf("write through SHM_RDONLY: status %d\n", status_of(pid));
	printf("data unchanged: %c\n", p[0]);

	/* addresses */
	errno = 0;
	printf("shmat unaligned: %s\n",
	       res((long)shmat(id, p + 1, 0) == -1 ? -1 : 0));
	printf("shmat SHM_RND onto itself: %s\n",
	       res((long)shmat(id, p + 1, SHM_RND) == -1 ? -1 : 0));
	q = shmat(id, p + 1, SHM_RND | SHM_REMAP);
	printf("shmat SHM_RND|SHM_REMAP: %s", q == (void *)-1 ? errname(errno) : "ok");
	printf(" same-address %d nattch %ld data %.4s\n", q == p, nattch(id), p);
	printf("shmat NULL with SHM_REMAP: %s\n",
	       res((long)shmat(id, NULL, SHM_REMAP) == -1 ? -1 : 0));
	printf("shmat bad id: %s\n", res((long)shmat(-1, NULL, 0) == -1 ? -1 : 0));
	printf("shmdt unaligned: %s\n", res(shmdt(p + 1)));
	printf("shmdt inside: %s\n", res(shmdt(p + 4096)));

	/* detach, attach again: the data stayed */
	printf("shmdt: %s", res(shmdt(p)));
	printf(" nattch %ld\n", nattch(id));
	printf("shmdt again: %s\n", res(shmdt(p)));
	p = shmat(id, NULL, 0);
	printf("reattached: %s data \"%s\"\n", p == (void *)-1 ? errname(errno) : "ok",
	       p == (void *)-1 ? "" : p + 5000);
	if (p == (void *)-1)
		return;
	/* munmap instead of shmdt also detaches */
	q = shmat(id, NULL, 0);
	printf("second attach: nattch %ld\n", nattch(id));
	if (q != (void *)-1)
		munmap(q, 12288);
	printf("after munmap of it: nattch %ld\n", nattch(id));

	/* keys */
	key = free_key(0);
	id2 = track(0, shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0640));
	printf("shmget key: %s\n", res(id2));
	printf("again IPC_EXCL: %s\n",
	       res(shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0640)));
	printf("again: same id %d\n", shmget(key, 0, 0) == id2);
	printf("bigger: %s\n", res(shmget(key, 8192, 0)));
	printf("size 0 new: %s\n", res(shmget(IPC_PRIVATE, 0, 0600)));
	shmctl(id2, IPC_STAT, &ds);
	printf("key shown: %d mode %o\n", PERM_KEY(ds.shm_perm) == key,
	       ds.shm_perm.mode);

	/* IPC_RMID while attached: still there for its users, key gone */
	q = shmat(id2, NULL, 0);
	strcpy(q, "survives");
	printf("rmid attached: %s\n", res(shm_rm(id2)));
	printf("by key after rmid: %s\n", res(shmget(key, 0, 0)));
	printf("stat after rmid: %s", res(shmctl(id2, IPC_STAT, &ds)));
	printf(" key %d dest %d nattch %lu\n", (int)PERM_KEY(ds.shm_perm),
	       !!(ds.shm_perm.mode & SHM_DEST), (unsigned long)ds.shm_nattch);
	pid = fork();
	if (pid == 0)
		_exit(strcmp(q, "survives") == 0 && nattch(id2) == 2 ? 0 : 1);
	printf("child of a removed segment: %d\n", status_of(pid));
	printf("still readable: %s\n", q);
	printf("shmdt last: %s\n", res(shmdt(q)));
	printf("stat after the last detach: %s\n", res(shmctl(id2, IPC_STAT, &ds)));

	/* a removed id is not handed out again at once */
	id2 = track(0, shmget(IPC_PRIVATE, 4096, 0600));
	shm_rm(id2);
	{
		int id3 = track(0, shmget(IPC_PRIVATE, 4096, 0600));

		printf("new id differs from the removed one: %d\n", id3 != id2);
		shm_rm(id3);
	}

	/* permissions: another user */
	if (pipe(pfd) == 0) {
		pid = fork();
		if (pid == 0) {
			struct shmid_ds d2;
			char line[200];
			int n;

			const char *at, *st, *any, *rm;

			if (geteuid() == 0 && setuid(65534))
				_exit(3);
			at = (long)shmat(id, NULL, 0) == -1 ? errname(errno) : "ok";
			st = res(shmctl(id, IPC_STAT, &d2));
			any = shmctl(id & 0x7fff, SHM_STAT_ANY, &d2) == id ? "ok"
									   : errname(errno);
			rm = res(shmctl(id, IPC_RMID, NULL));
			n = snprintf(line, sizeof(line),
				     "other user: shmat %s stat %s stat_any %s rmid %s\n",
				     at, st, any, rm);
			write(pfd[1], line, (size_t)n);
			_exit(0);
		}
		close(pfd[1]);
		{
			char line[200] = "";
			ssize_t n = read(pfd[0], line, sizeof(line) - 1);

			printf("%s", n > 0 ? line : "other user: no report\n");
		}
		close(pfd[0]);
		status_of(pid);
	}

	/* IPC_SET */
	shmctl(id, IPC_STAT, &ds);
	ds.shm_perm.mode = 0644;
	printf("IPC_SET: %s", res(shmctl(id, IPC_SET, &ds)));
	shmctl(id, IPC_STAT, &ds);
	printf(" mode %o\n", ds.shm_perm.mode & 0777);
	printf("bad cmd: %s\n", res(shmctl(id, 99, &ds)));
	printf("negative id: %s\n", res(shmctl(-1, IPC_STAT, &ds)));
	printf("stat EFAULT: %s\n", res(shmctl(id, IPC_STAT, (void *)8)));
	printf("SHM_STAT by index: same id %d\n",
	       shmctl(id & 0x7fff, SHM_STAT, &ds) == id);
	printf("IPC_INFO: %s", res(shmctl(0, IPC_INFO, (void *)&info)));
	printf(" shmmni %lu shmmin %lu\n", (unsigned long)info.shmmni,
	       (unsigned long)info.shmmin);
	printf("rmid: %s\n", res(shm_rm(id)));
	printf("stat while attached: %s\n", res(shmctl(id, IPC_STAT, &ds)));
	shmdt(p);
	printf("stat after shmdt: %s\n", res(shmctl(id, IPC_STAT, &ds)));
}

/*
 * Attachments in pieces: two segments attached side by side (the sandbox
 * may merge their mappings), a piece unmapped or reprotected, and an exec
 * that drops a child's attachment.
 */
static void test_shm_pieces(const char *self)
{
	int a = track(0, shmget(IPC_PRIVATE, 3 * 4096, 0600));
	int b = track(0, shmget(IPC_PRIVATE, 2 * 4096, 0600));
	int pfd[2], qfd[2];
	char *pa, *pb, fd1[16], fd2[16];
	pid_t pid;

	printf("-- shm pieces\n");
	if (a < 0 || b < 0)
		return;
	/* find room for both, then place them next to each other */
	pa = mmap(NULL, 5 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(pa, 5 * 4096);
	pa = shmat(a, pa, 0);
	pb = shmat(b, pa + 3 * 4096, 0);
	printf("side by side: %d %d\n", pa != (void *)-1, pb == pa + 3 * 4096);
	if (pa == (void *)-1 || pb == (void *)-1)
		return;
	strcpy(pa, "segment a");
	strcpy(pb, "segment b");
	printf("shmdt a: %s", res(shmdt(pa)));
	printf(" nattch a %ld b %ld b reads \"%s\"\n", nattch(a), nattch(b), pb);
	printf("shmdt b: %s\n", res(shmdt(pb)));
	printf("nattch b after: %ld\n", nattch(b));

	/* munmap the first page, mprotect the last: shmdt takes the rest */
	pa = shmat(a, NULL, 0);
	munmap(pa, 4096);
	mprotect(pa + 2 * 4096, 4096, PROT_READ);
	/* (no nattch here: Linux counts each VMA piece, sbx attachments) */
	printf("shmdt at the start: %s", res(shmdt(pa)));
	printf(" nattch %ld\n", nattch(a));
	printf("middle gone: %s\n", res(mprotect(pa + 4096, 4096, PROT_READ)));

	/* exec drops the attachment the child inherited */
	pa = shmat(a, NULL, 0);
	if (pipe(pfd) || pipe(qfd))
		return;
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		close(qfd[1]);
		snprintf(fd1, sizeof(fd1), "%d", pfd[1]);
		snprintf(fd2, sizeof(fd2), "%d", qfd[0]);
		execl(self, self, "exec-probe", fd1, fd2, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	close(qfd[0]);
	{
		char c = 0;

		read(pfd[0], &c, 1);
		printf("exec'd child: %c nattch %ld\n", c, nattch(a));
	}
	close(qfd[1]);
	close(pfd[0]);
	printf("child: %d\n", status_of(pid));
	shmdt(pa);
	shm_rm(a);
	shm_rm(b);
}

/* exec-probe WFD RFD: tell the parent we run, wait for its word */
static int exec_probe(char **argv)
{
	char c;

	write(atoi(argv[2]), "E", 1);
	read(atoi(argv[3]), &c, 1);
	return 0;
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	alarms++;
}

/* wait_count - poll GETNCNT/GETZCNT until @want (the children block). */
static int wait_count(int id, int num, int cmd, int want)
{
	long long end = now_ms() + 10000;
	int n;

	while ((n = semctl(id, num, cmd)) != want && now_ms() < end)
		sleep_ms(5);
	return n;
}

static void test_sem(void)
{
	unsigned short vals[3] = { 1, 5, 0 }, got[3] = { 0 };
	struct sembuf op = { 0 }, big[501];
	struct semid_ds ds;
	struct seminfo info;
	struct timespec ts;
	struct sigaction sa = { 0 };
	union semun arg;
	int id, pfd[2], gfd[2];
	long long t0;
	key_t key;
	pid_t pid, pid2;
	char c;

	printf("-- sem\n");
	id = track(1, semget(IPC_PRIVATE, 3, 0600));
	printf("semget: %s\n", res(id));
	if (id < 0)
		return;
	arg.buf = &ds;
	semctl(id, 0, IPC_STAT, arg);
	printf("stat: nsems %lu mode %o otime %d ctime-set %d\n",
	       (unsigned long)ds.sem_nsems, ds.sem_perm.mode & 0777,
	       ds.sem_otime != 0, ds.sem_ctime != 0);
	printf("GETVAL: %d\n", semctl(id, 1, GETVAL));
	arg.array = vals;
	printf("SETALL: %s\n", res(semctl(id, 0, SETALL, arg)));
	arg.array = got;
	semctl(id, 0, GETALL, arg);
	printf("GETALL: %u %u %u GETPID-is-me %d\n", got[0], got[1], got[2],
	       semctl(id, 2, GETPID) == getpid());
	arg.val = -1;
	printf("SETVAL -1: %s\n", res(semctl(id, 0, SETVAL, arg)));
	arg.val = 32768;
	printf("SETVAL 32768: %s\n", res(semctl(id, 0, SETVAL, arg)));
	arg.val = 1;
	printf("SETVAL semnum 3: %s\n", res(semctl(id, 3, SETVAL, arg)));
	printf("GETVAL semnum -1: %s\n", res(semctl(id, -1, GETVAL)));
	printf("bad cmd: %s\n", res(semctl(id, 0, 99)));
	printf("semget 0 sems: %s\n", res(semget(IPC_PRIVATE, 0, 0600)));
	printf("semget 32001 sems: %s\n", res(semget(IPC_PRIVATE, 32001, 0600)));
	key = free_key(1);
	track(1, semget(key, 2, IPC_CREAT | 0600));
	printf("semget key, more sems: %s\n", res(semget(key, 3, 0)));
	printf("semget key, fewer sems: same %d\n", semget(key, 1, 0) == semget(key, 2, 0));

	/* semop errors */
	printf("semop 0 ops: %s\n", res(semop(id, &op, 0)));
	for (int i = 0; i < 501; i++)
		big[i] = (struct sembuf){ 0, 0, IPC_NOWAIT };
	printf("semop 501 ops: %s\n", res(semop(id, big, 501)));
	op = (struct sembuf){ 3, 1, 0 };
	printf("semop semnum 3: %s\n", res(semop(id, &op, 1)));
	op = (struct sembuf){ 1, 32767, 0 };
	printf("semop past SEMVMX: %s\n", res(semop(id, &op, 1)));
	printf("semop EFAULT: %s\n", res(semop(id, (void *)8, 1)));
	op = (struct sembuf){ 2, -1, IPC_NOWAIT };
	printf("IPC_NOWAIT on 0: %s\n", res(semop(id, &op, 1)));
	/* atomic: the second op fails, the first is rolled back */
	{
		struct sembuf two[2] = { { 1, -1, 0 }, { 2, -1, IPC_NOWAIT } };

		printf("atomic pair: %s", res(semop(id, two, 2)));
		printf(" sem1 %d\n", semctl(id, 1, GETVAL));
	}
	ts = (struct timespec){ 0, 100000000 };
	op = (struct sembuf){ 2, -1, 0 };
	t0 = now_ms();
	printf("semtimedop 100 ms: %s", res(semtimedop(id, &op, 1, &ts)));
	printf(" waited >= 90 ms: %d\n", now_ms() - t0 >= 90);
	ts.tv_nsec = 1000000000;
	printf("semtimedop bad timeout: %s\n", res(semtimedop(id, &op, 1, &ts)));
	ts = (struct timespec){ 0, 0 };
	printf("semtimedop zero timeout: %s\n", res(semtimedop(id, &op, 1, &ts)));

	/* a signal ends a blocked semop with EINTR, SA_RESTART or not */
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	{
		/* every 50 ms: one may come before semop sleeps */
		struct itimerval it = { { 0, 50000 }, { 0, 50000 } }, off = { 0 };

		setitimer(ITIMER_REAL, &it, NULL);
		printf("semop interrupted: %s", res(semop(id, &op, 1)));
		setitimer(ITIMER_REAL, &off, NULL);
		printf(" alarms %d\n", alarms > 0);
	}
	sa.sa_handler = watchdog;
	sa.sa_flags = 0;
	sigaction(SIGALRM, &sa, NULL);
	alarm(60);

	/* sem 0 as a mutex across processes; the child dies holding it and
	 * SEM_UNDO gives it back */
	if (pipe(pfd) || pipe(gfd))
		return;
	pid = fork();
	if (pid == 0) {
		struct sembuf lock = { 0, -1, SEM_UNDO };

		close(gfd[1]);
		if (semop(id, &lock, 1))
			_exit(1);
		write(pfd[1], "L", 1);
		read(gfd[0], &c, 1); /* until the parent lets go */
		_exit(0);	     /* still holding it */
	}
	close(pfd[1]);
	close(gfd[0]);
	read(pfd[0], &c, 1);
	close(pfd[0]);
	printf("child holds the mutex: value %d\n", semctl(id, 0, GETVAL));
	op = (struct sembuf){ 0, -1, 0 };
	close(gfd[1]); /* the child exits; we block until its undo (or not) */
	printf("parent blocks, then locks: %s", res(semop(id, &op, 1)));
	printf(" child status %d value %d pid-is-me %d\n", status_of(pid),
	       semctl(id, 0, GETVAL), semctl(id, 0, GETPID) == getpid());
	op.sem_op = 1;
	semop(id, &op, 1);

	/* GETNCNT and GETZCNT with blocked children; one SETVAL wakes both
	 * in turn (the decrement brings the value to zero) */
	pid = fork();
	if (pid == 0) {
		struct sembuf dec = { 1, -10, 0 };

		_exit(semop(id, &dec, 1) ? 1 : 0);
	}
	printf("GETNCNT: %d\n", wait_count(id, 1, GETNCNT, 1));
	pid2 = fork();
	if (pid2 == 0) {
		struct sembuf zero = { 1, 0, 0 };

		_exit(semop(id, &zero, 1) ? 1 : 0);
	}
	printf("GETZCNT: %d GETNCNT of sem 2: %d\n", wait_count(id, 1, GETZCNT, 1),
	       semctl(id, 2, GETNCNT));
	arg.val = 10;
	semctl(id, 1, SETVAL, arg);
	printf("children: %d %d value %d\n", status_of(pid), status_of(pid2),
	       semctl(id, 1, GETVAL));
	printf("counts after: %d %d\n", semctl(id, 1, GETNCNT),
	       semctl(id, 1, GETZCNT));

	/* removal wakes a sleeper with EIDRM */
	pid = fork();
	if (pid == 0) {
		struct sembuf dec = { 2, -1, 0 };

		if (semop(id, &dec, 1) == 0)
			_exit(1);
		_exit(errno == EIDRM ? 0 : 2);
	}
	wait_count(id, 2, GETNCNT, 1);
	arg.buf = &ds;
	semctl(id, 0, IPC_STAT, arg);
	printf("otime set: %d\n", ds.sem_otime != 0);
	ds.sem_perm.mode = 0660;
	printf("IPC_SET: %s", res(semctl(id, 0, IPC_SET, arg)));
	semctl(id, 0, IPC_STAT, arg);
	printf(" mode %o\n", ds.sem_perm.mode & 0777);
	arg.__buf = &info;
	printf("IPC_INFO: %s", res(semctl(0, 0, IPC_INFO, arg)));
	printf(" semmsl %d semopm %d semvmx %d semmni %d\n", info.semmsl,
	       info.semopm, info.semvmx, info.semmni);
	printf("rmid: %s", res(semctl(id, 0, IPC_RMID)));
	untrack(id);
	printf(" sleeper got EIDRM: %d\n", status_of(pid) == 0);
	printf("GETVAL after rmid: %s\n", res(semctl(id, 0, GETVAL)));
}

/* a mutex under contention: children count in shared memory */
static void test_sem_stress(void)
{
	int sem = track(1, semget(IPC_PRIVATE, 1, 0600));
	int shm = track(0, shmget(IPC_PRIVATE, 4096, 0600));
	volatile long *counter;
	union semun arg = { .val = 1 };
	pid_t pids[4];
	int ok = 0;

	printf("-- sem stress\n");
	counter = shmat(shm, NULL, 0);
	if (sem < 0 || counter == (void *)-1)
		return;
	semctl(sem, 0, SETVAL, arg);
	for (int i = 0; i < 4; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct sembuf lock = { 0, -1, SEM_UNDO };
			struct sembuf unlock = { 0, 1, SEM_UNDO };

			for (int n = 0; n < 200; n++) {
				long v;

				if (semop(sem, &lock, 1))
					_exit(1);
				v = *counter;
				if (n % 16 == 0)
					sched_yield();
				*counter = v + 1;
				if (semop(sem, &unlock, 1))
					_exit(2);
			}
			_exit(0);
		}
	}
	for (int i = 0; i < 4; i++)
		ok += status_of(pids[i]) == 0;
	printf("children ok %d counter %ld value %d\n", ok, *counter,
	       semctl(sem, 0, GETVAL));
	shmdt((void *)counter);
	shm_rm(shm);
	semctl(sem, 0, IPC_RMID);
	untrack(sem);
}

struct pkt {
	long mtype;
	char mtext[200];
};

static void test_msg(void)
{
	struct msqid_ds ds;
	struct msginfo info;
	struct pkt m;
	int id, pfd[2];
	pid_t pid;
	ssize_t n;

	printf("-- msg\n");
	id = track(2, msgget(IPC_PRIVATE, 0600));
	printf("msgget: %s\n", res(id));
	if (id < 0)
		return;
	msgctl(id, IPC_STAT, &ds);
	printf("stat: qnum %lu cbytes %lu mode %o\n", (unsigned long)ds.msg_qnum,
	       (unsigned long)MSG_CBYTES(ds), ds.msg_perm.mode & 0777);

	/* ping-pong: type 1 down, type 2 back */
	pid = fork();
	if (pid == 0) {
		struct pkt in;

		for (int i = 0; i < 3; i++) {
			if (msgrcv(id, &in, sizeof(in.mtext), 1, 0) < 0)
				_exit(1);
			in.mtype = 2;
			in.mtext[0] = 'o';
			if (msgsnd(id, &in, strlen(in.mtext) + 1, 0))
				_exit(2);
		}
		_exit(0);
	}
	for (int i = 0; i < 3; i++) {
		m.mtype = 1;
		snprintf(m.mtext, sizeof(m.mtext), "ping %d", i);
		msgsnd(id, &m, strlen(m.mtext) + 1, 0);
		n = msgrcv(id, &m, sizeof(m.mtext), 2, 0);
		printf("reply %zd type %ld \"%s\"\n", n, m.mtype, m.mtext);
	}
	printf("child: %d\n", status_of(pid));
	msgctl(id, IPC_STAT, &ds);
	printf("lrpid-is-me %d lspid-is-child %d stime-set %d\n",
	       ds.msg_lrpid == getpid(), ds.msg_lspid == pid, ds.msg_stime != 0);

	/* selection by type */
	for (long t = 3; t; t = t == 3 ? 1 : t == 1 ? 2 : t == 2 ? 5 : 0) {
		m.mtype = t;
		snprintf(m.mtext, sizeof(m.mtext), "type %ld", t);
		msgsnd(id, &m, strlen(m.mtext) + 1, 0);
	}
	msgctl(id, IPC_STAT, &ds);
	printf("queued: %lu messages %lu bytes\n", (unsigned long)ds.msg_qnum,
	       (unsigned long)MSG_CBYTES(ds));
	n = msgrcv(id, &m, sizeof(m.mtext), 0, 0);
	printf("type 0: %s\n", n < 0 ? errname(errno) : m.mtext);
	n = msgrcv(id, &m, sizeof(m.mtext), -4, 0);
	printf("type -4: %s\n", n < 0 ? errname(errno) : m.mtext);
	n = msgrcv(id, &m, sizeof(m.mtext), 2, MSG_EXCEPT);
	printf("except 2: %s\n", n < 0 ? errname(errno) : m.mtext);
	n = msgrcv(id, &m, sizeof(m.mtext), 2, MSG_EXCEPT | IPC_NOWAIT);
	printf("except 2 again: %s\n", n < 0 ? errname(errno) : m.mtext);
	n = msgrcv(id, &m, sizeof(m.mtext), 2, 0);
	printf("type 2: %s\n", n < 0 ? errname(errno) : m.mtext);
	n = msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT);
	printf("empty, IPC_NOWAIT: %s\n", n < 0 ? errname(errno) : m.mtext);

	/* sizes */
	m.mtype = 7;
	memset(m.mtext, 'x', 100);
	printf("send 100: %s\n", res(msgsnd(id, &m, 100, 0)));
	printf("recv into 10: %s\n", res(msgrcv(id, &m, 10, 0, IPC_NOWAIT)));
	printf("recv into 10, MSG_NOERROR: %zd\n",
	       msgrcv(id, &m, 10, 0, IPC_NOWAIT | MSG_NOERROR));
	msgctl(id, IPC_STAT, &ds);
	printf("rest dropped: qnum %lu\n", (unsigned long)ds.msg_qnum);
	m.mtype = 0;
	printf("send type 0: %s\n", res(msgsnd(id, &m, 1, 0)));
	m.mtype = 1;
	printf("send 8193: %s\n", res(msgsnd(id, &m, 8193, 0)));
	printf("send EFAULT: %s\n", res(msgsnd(id, (void *)8, 1, 0)));
	printf("send bad id: %s\n", res(msgsnd(-1, &m, 1, 0)));
	printf("MSG_COPY without IPC_NOWAIT: %s\n",
	       res(msgrcv(id, &m, 10, 0, MSG_COPY)));

	/* a full queue blocks the sender until a receive makes room */
	msgctl(id, IPC_STAT, &ds);
	ds.msg_qbytes = 100;
	printf("IPC_SET qbytes 100: %s\n", res(msgctl(id, IPC_SET, &ds)));
	m.mtype = 1;
	printf("send 60: %s\n", res(msgsnd(id, &m, 60, 0)));
	printf("send 60 more, IPC_NOWAIT: %s\n", res(msgsnd(id, &m, 60, IPC_NOWAIT)));
	if (pipe(pfd))
		return;
	pid = fork();
	if (pid == 0) {
		write(pfd[1], "S", 1);
		_exit(msgsnd(id, &m, 60, 0) ? 1 : 0);
	}
	close(pfd[1]);
	read(pfd[0], &n, 1);
	close(pfd[0]);
	sleep_ms(200);
	msgctl(id, IPC_STAT, &ds);
	printf("sender blocked: qnum %lu\n", (unsigned long)ds.msg_qnum);
	n = msgrcv(id, &m, sizeof(m.mtext), 0, 0);
	printf("received %zd; sender: %d", n, status_of(pid));
	msgctl(id, IPC_STAT, &ds);
	printf(" qnum %lu\n", (unsigned long)ds.msg_qnum);
	msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT);

	/* a signal ends a blocked msgrcv with EINTR (a handler ran) */
	{
		struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
		struct itimerval it = { { 0, 50000 }, { 0, 50000 } }, off = { 0 };

		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
		printf("msgrcv interrupted: %s\n",
		       res(msgrcv(id, &m, sizeof(m.mtext), 0, 0)));
		setitimer(ITIMER_REAL, &off, NULL);
		sa.sa_handler = watchdog;
		sa.sa_flags = 0;
		sigaction(SIGALRM, &sa, NULL);
		alarm(60);
	}

	/* removal wakes a blocked receiver with EIDRM */
	if (pipe(pfd))
		return;
	pid = fork();
	if (pid == 0) {
		write(pfd[1], "R", 1);
		if (msgrcv(id, &m, sizeof(m.mtext), 99, 0) >= 0)
			_exit(1);
		_exit(errno == EIDRM ? 0 : errno == EINVAL ? 2 : 3);
	}
	close(pfd[1]);
	read(pfd[0], &n, 1);
	close(pfd[0]);
	sleep_ms(500); /* time to block (there is no way to tell) */
	printf("IPC_INFO: %s", res(msgctl(0, IPC_INFO, (void *)&info)));
	printf(" msgmax %d msgmnb %d msgmni %d\n", info.msgmax, info.msgmnb,
	       info.msgmni);
	printf("rmid: %s", res(msgctl(id, IPC_RMID, NULL)));
	untrack(id);
	printf(" receiver: %d\n", status_of(pid));
	printf("send after rmid: %s\n", res(msgsnd(id, &m, 1, 0)));
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = watchdog };

	if (argc == 4 && strcmp(argv[1], "exec-probe") == 0)
		return exec_probe(argv);
	owner = getpid();
	atexit(cleanup);
	sigaction(SIGALRM, &sa, NULL);
	alarm(60);
	setvbuf(stdout, NULL, _IONBF, 0);
	test_shm_pieces(argv[0]);
	test_shm();
	test_sem();
	test_sem_stress();
	test_msg();
	cleanup();
	return 0;
}
