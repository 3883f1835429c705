/*
 * mmap of files: a host file of the read-only root (this program itself,
 * which the sandbox reaches through the gofer) mapped privately and shared
 * read-only and compared with read(); a file in /var/tmp (tmpfs in the
 * sandbox) and, when given a writable host directory as argv[1] (mounted
 * at the same path in the sandbox by run-programs.sh), a host file there:
 * MAP_SHARED writes visible to read(), to a second mapping and to a forked
 * child, write() visible in the mapping, MAP_PRIVATE writes invisible to
 * the file and to a forked child, the kernel's own copies from and into
 * mappings (write() from, read() into), EACCES for writable shared
 * mappings of read-only opens (mmap and mprotect), SIGBUS past the end of
 * the file (also after ftruncate), EFAULT for a write() from there, mremap
 * of a file mapping, msync, and /proc/self/maps naming the file.
 * Output must equal native.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errname.h"

#define PAGE 4096

static sigjmp_buf jb;
static volatile void *bus_addr;
static volatile int bus_code;

static void on_bus(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	bus_addr = si->si_addr;
	bus_code = si->si_code;
	siglongjmp(jb, 1);
}

/* touch - read one byte at @p: "ok" or the signal it raised */
static const char *touch(volatile char *p)
{
	static char out[64];

	bus_addr = NULL;
	if (sigsetjmp(jb, 1)) {
		snprintf(out, sizeof(out), "SIGBUS code %s addr %s",
			 bus_code == BUS_ADRERR ? "BUS_ADRERR" : "other",
			 bus_addr == p ? "exact" : "wrong");
		return out;
	}
	(void)*p;
	return "ok";
}

static int status_of(pid_t pid)
{
	int st = 0;

	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static const char *err_of(void *m)
{
	return m == MAP_FAILED ? errname(errno) : "ok";
}

/* maps_has - does /proc/self/maps name @path with permissions @perm? */
static int maps_has(const char *path, const char *perm)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	int found = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *name = strchr(line, '/');

		line[strcspn(line, "\n")] = 0;
		if (name && !strcmp(name, path) && strstr(line, perm))
			found = 1;
	}
	fclose(f);
	return found;
}

/* a read-only host file: this program */
static void readonly_file(const char *self)
{
	int fd = open(self, O_RDONLY);
	struct stat st;
	char *buf, *priv, *shr, *m;
	int p[2];

	if (fd < 0 || fstat(fd, &st)) {
		perror(self);
		return;
	}
	buf = malloc(st.st_size);
	if (!buf || pread(fd, buf, st.st_size, 0) != st.st_size)
		return;
	priv = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	shr = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	printf("ro: private map %s, equals read(): %d\n", err_of(priv),
	       priv != MAP_FAILED && !memcmp(priv, buf, st.st_size));
	printf("ro: shared map %s, equals read(): %d\n", err_of(shr),
	       shr != MAP_FAILED && !memcmp(shr, buf, st.st_size));
	printf("ro: maps names the file: %d\n", maps_has(self, " r--s "));

	/* the kernel reads from a file mapping (write() of it) */
	if (pipe(p) == 0) {
		char back[64] = "";

		printf("ro: write() from the mapping: %zd\n",
		       write(p[1], priv + 1000, 64));
		printf("ro: pipe got the file's bytes: %d\n",
		       read(p[0], back, 64) == 64 && !memcmp(back, buf + 1000, 64));
		close(p[0]);
		close(p[1]);
	}

	/* writable shared mappings need a file opened for writing */
	m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	printf("ro: shared rw map: %s\n", err_of(m));
	printf("ro: mprotect(shared, rw): %s\n",
	       mprotect(shr, PAGE, PROT_READ | PROT_WRITE) ? errname(errno) : "0");
	printf("ro: mprotect(private, rw): %s\n",
	       mprotect(priv, PAGE, PROT_READ | PROT_WRITE) ? errname(errno) : "0");
	/* private writes stay private */
	memcpy(priv, "PRIVATE", 7);
	{
		char head[8] = "";

		pread(fd, head, 7, 0);
		printf("ro: private write: mapping %.7s, file unchanged %d, shared unchanged %d\n",
		       priv, !memcmp(head, buf, 7), !memcmp(shr, buf, 7));
	}
	/* a writable private mapping: read() into it goes to the copy */
	m = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (m != MAP_FAILED) {
		char head[16] = "";

		if (pipe(p) == 0) {
			write(p[1], "from a pipe", 11);
			printf("ro: read() into a private mapping: %zd\n",
			       read(p[0], m + PAGE + 5, 11));
			close(p[0]);
			close(p[1]);
		}
		pread(fd, head, 11, PAGE + 5);
		printf("ro: mapping %.11s, file unchanged %d, rest of page %d\n",
		       m + PAGE + 5, !memcmp(head, buf + PAGE + 5, 11),
		       !memcmp(m + PAGE, buf + PAGE, 5) &&
			       !memcmp(m + PAGE + 16, buf + PAGE + 16, PAGE - 16));
		pid_t pid = fork();

		if (pid == 0) {
			m[2 * PAGE] = 'c';
			_exit(m[PAGE + 5] == 'f' ? 0 : 1);
		}
		printf("ro: child sees the private copy: %d\n", status_of(pid));
		printf("ro: child's private write invisible: %d\n",
		       m[2 * PAGE] == buf[2 * PAGE]);
		munmap(m, 3 * PAGE);
	}

	/* past the end of the file: SIGBUS, as Linux; the kernel's copy
	 * from there: EFAULT */
	{
		size_t len = (st.st_size + PAGE - 1) / PAGE * PAGE;

		m = mmap(NULL, len + 2 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
		printf("ro: map past EOF: %s\n", err_of(m));
		if (m != MAP_FAILED) {
			printf("ro: last page tail reads zero: %d\n",
			       st.st_size % PAGE == 0 || m[len - 1] == 0);
			printf("ro: page past EOF: %s\n", touch(m + len));
			printf("ro: page after that: %s\n",
			       touch(m + len + PAGE + 17));
			if (pipe(p) == 0) {
				ssize_t n = write(p[1], m + len, 16);

				printf("ro: write() from past EOF: %s\n",
				       n < 0 ? errname(errno) : "written");
				close(p[0]);
				close(p[1]);
			}
			munmap(m, len + 2 * PAGE);
		}
	}
	munmap(priv, st.st_size);
	munmap(shr, st.st_size);
	free(buf);
	close(fd);
}

/* a writable file in @dir (tmpfs or a host directory) */
static void rw_file(const char *dir, const char *tag, int check_bus)
{
	char path[4096], buf[64] = "";
	char *a, *b, *c, *d;
	int fd, rd;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/sbx-filemap-%d", dir, (int)getpid());
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	if (fd < 0) {
		perror(path);
		return;
	}
	if (ftruncate(fd, 4 * PAGE))
		return;
	a = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	b = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (a == MAP_FAILED || b == MAP_FAILED) {
		printf("%s: map %s\n", tag, errname(errno));
		return;
	}
	strcpy(a + 10, "through a");
	printf("%s: second mapping sees the first: %s\n", tag, b + 10);
	pread(fd, buf, 9, 10);
	printf("%s: read() sees the mapping: %s\n", tag, buf);
	pwrite(fd, "written", 7, PAGE + 3);
	printf("%s: mapping sees write(): %.7s\n", tag, a + PAGE + 3);
	/* (tmpfs mappings have no name in sbx's maps yet) */
	if (check_bus)
		printf("%s: maps names the file: %d\n", tag,
		       maps_has(path, " rw-s "));
	printf("%s: msync MS_SYNC: %s\n", tag,
	       msync(a, 4 * PAGE, MS_SYNC) ? errname(errno) : "0");
	printf("%s: msync MS_ASYNC|MS_SYNC: %s\n", tag,
	       msync(a, PAGE, MS_ASYNC | MS_SYNC) ? errname(errno) : "0");

	/* the kernel writes into a shared mapping: read() into it */
	{
		int p[2];

		if (pipe(p) == 0) {
			write(p[1], "piped", 5);
			printf("%s: read() into the mapping: %zd\n", tag,
			       read(p[0], a + 2 * PAGE, 5));
			close(p[0]);
			close(p[1]);
		}
		memset(buf, 0, sizeof(buf));
		pread(fd, buf, 5, 2 * PAGE);
		printf("%s: file has it: %s, other mapping: %.5s\n", tag, buf,
		       b + 2 * PAGE);
	}

	/* a forked child shares the mapping */
	pid = fork();
	if (pid == 0) {
		strcpy(a + 3 * PAGE, "from the child");
		_exit(0);
	}
	status_of(pid);
	printf("%s: child's write seen: %s\n", tag, b + 3 * PAGE);

	/* a private mapping of the same file */
	c = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	printf("%s: private sees the file: %s\n", tag, c + 10);
	c[10] = 'T';
	printf("%s: private write: file %c, shared %c, private %c\n", tag,
	       (pread(fd, buf, 1, 10), buf[0]), a[10], c[10]);
	d = mmap(NULL, 4 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
	/* a file opened read-only: no writable shared mapping */
	rd = open(path, O_RDONLY);
	printf("%s: rdonly shared rw map: %s\n", tag,
	       err_of(mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, rd,
			   0)));
	{
		char *r = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, rd, 0);

		printf("%s: rdonly shared ro map: %s, sees %s\n", tag,
		       err_of(r), r == MAP_FAILED ? "-" : r + 10);
		printf("%s: mprotect(rdonly shared, rw): %s\n", tag,
		       mprotect(r, PAGE, PROT_READ | PROT_WRITE) ?
			       errname(errno) : "0");
		munmap(r, PAGE);
	}
	close(rd);

	/* mremap: grow a shared mapping over more of the file, and move it
	 * (tmpfs grows with fresh memory instead: a known gap of sbx) */
	if (check_bus) {
		char *g = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
			       fd, 0);
		char *n = mremap(g, PAGE, 4 * PAGE, MREMAP_MAYMOVE);

		printf("%s: mremap grow: %s, sees page 3: %s\n", tag,
		       err_of(n), n == MAP_FAILED ? "-" : n + 3 * PAGE);
		if (n != MAP_FAILED) {
			n[3 * PAGE] = 'F';
			printf("%s: write through the moved mapping: %c\n", tag,
			       a[3 * PAGE]);
			munmap(n, 4 * PAGE);
		}
	}

	if (check_bus) {
		/* shrink the file under the mappings: SIGBUS, as Linux */
		if (ftruncate(fd, PAGE + 100))
			perror("ftruncate");
		printf("%s: after ftruncate, page 1: %s\n", tag, touch(a + PAGE));
		printf("%s: page 1 past EOF reads zero: %d\n", tag,
		       a[PAGE + 200] == 0);
		printf("%s: page 2: %s\n", tag, touch(a + 2 * PAGE + 8));
		/* (pages of a private mapping never written: Linux drops
		 * written copies too, sbx keeps them) */
		printf("%s: private mapping page 3: %s\n", tag,
		       touch(d + 3 * PAGE));
		{
			int p[2];

			if (pipe(p) == 0) {
				ssize_t n = write(p[1], a + 2 * PAGE, 16);

				printf("%s: write() from past EOF: %s\n", tag,
				       n < 0 ? errname(errno) : "written");
				close(p[0]);
				close(p[1]);
			}
		}
		/* growing it again brings the pages back */
		if (ftruncate(fd, 4 * PAGE))
			perror("ftruncate");
		printf("%s: grown again, page 2: %s, reads %d\n", tag,
		       touch(a + 2 * PAGE), a[2 * PAGE]);
	}
	munmap(a, 4 * PAGE);
	munmap(b, 4 * PAGE);
	munmap(c, 4 * PAGE);
	munmap(d, 4 * PAGE);
	close(fd);
	unlink(path);
}

int main(int argc, char **argv)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_bus;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGBUS, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	readonly_file(argv[0]);
	/* tmpfs reads zeros past the end where Linux sends SIGBUS (a known
	 * gap of sbx's tmpfs), so no SIGBUS checks there */
	rw_file("/var/tmp", "tmpfs", 0);
	if (argc > 1)
		rw_file(argv[1], "host", 1);
	return 0;
}
