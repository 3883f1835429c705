/*
 * Shared memory between processes: POSIX shm_open and sem_open (files in
 * /dev/shm, a tmpfs), MAP_SHARED file mappings coherent with write() and
 * with each other, ftruncate growth, and process-shared mutexes and
 * semaphores whose futexes live in shared memory (woken across
 * processes).  Output must equal native.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct shared {
	pthread_mutex_t lock;
	long counter;
	sem_t ready;
};

static int status_of(pid_t pid)
{
	int st = 0;

	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void shm_file(void)
{
	char name[64];
	int fd;
	char *a, *b, buf[16] = "";

	snprintf(name, sizeof(name), "/sbx-test-shm-%d", getpid());
	fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
	if (fd < 0) {
		perror("shm_open");
		return;
	}
	if (ftruncate(fd, 4096))
		return;
	a = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	b = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	strcpy(a, "through a");
	printf("second mapping sees the first: %s\n", b);
	if (pwrite(fd, "written", 7, 100) != 7)
		return;
	printf("mapping sees write(): %.7s\n", a + 100);
	b[200] = 'Z';
	if (pread(fd, buf, 1, 200) != 1)
		return;
	printf("read() sees the mapping: %c\n", buf[0]);
	pid_t pid = fork();

	if (pid == 0) {
		strcpy(a + 300, "from the child");
		_exit(0);
	}
	status_of(pid);
	printf("parent sees the child's store: %s\n", b + 300);
	/* growing the file: new pages read as zero through a new mapping */
	if (ftruncate(fd, 3 * 4096))
		return;
	char *c = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	printf("grown: %d %s\n", c[2 * 4096], c + 300);
	struct stat st;

	fstat(fd, &st);
	printf("size %lld\n", (long long)st.st_size);
	munmap(a, 4096);
	munmap(b, 4096);
	munmap(c, 3 * 4096);
	close(fd);
	printf("shm_unlink: %d\n", shm_unlink(name));
}

static void named_semaphore(void)
{
	char name[64];
	sem_t *s;

	snprintf(name, sizeof(name), "/sbx-test-sem-%d", getpid());
	s = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
	if (s == SEM_FAILED) {
		perror("sem_open");
		return;
	}
	pid_t pid = fork();

	if (pid == 0) {
		usleep(20000);
		sem_post(s); /* wakes the parent blocked below */
		_exit(0);
	}
	sem_wait(s);
	printf("named semaphore posted by the child: %d\n", status_of(pid));
	sem_close(s);
	sem_unlink(name);
}

static void process_shared_sync(void)
{
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pthread_mutexattr_t ma;
	pid_t kids[4];

	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&sh->lock, &ma);
	sem_init(&sh->ready, 1, 0);
	for (int i = 0; i < 4; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			sem_wait(&sh->ready);
			for (int j = 0; j < 20000; j++) {
				pthread_mutex_lock(&sh->lock);
				sh->counter++;
				pthread_mutex_unlock(&sh->lock);
			}
			_exit(0);
		}
	}
	for (int i = 0; i < 4; i++)
		sem_post(&sh->ready);
	for (int i = 0; i < 4; i++)
		status_of(kids[i]);
	printf("4 processes x 20000 locked increments: %ld\n", sh->counter);
	munmap(sh, sizeof(*sh));
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	shm_file();
	named_semaphore();
	process_shared_sync();
	return 0;
}
