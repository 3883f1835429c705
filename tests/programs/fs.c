/*
 * File-system behaviour, compared native vs sandbox: a fresh directory
 * under /var/tmp (a tmpfs in the sandbox) with 200 files listed and sorted,
 * rename/link/unlink and their errors, O_APPEND through two descriptions,
 * O_EXCL/O_TRUNC/O_DIRECTORY, lseek, ftruncate, symlinks and readlink,
 * getcwd, pipes (pipe2 flags, EAGAIN, EPIPE with SIGPIPE ignored), and
 * /dev/null and /dev/zero.  Prints only what does not depend on the host.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errname.h"

#define SHOW(expr)                                                    \
	do {                                                          \
		errno = 0;                                            \
		long r_ = (long)(expr);                               \
		printf("%-40s = %ld %s\n", #expr, r_ < 0 ? -1L : r_,  \
		       r_ < 0 ? errname(errno) : "");                 \
	} while (0)

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void listing(void)
{
	DIR *d = opendir(".");
	char *names[512];
	int n = 0;
	struct dirent *e;

	while (d && (e = readdir(d)) && n < 512)
		names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), cmp);
	printf("listing: %d entries, first %s %s, last %s\n", n,
	       n > 0 ? names[0] : "-", n > 1 ? names[1] : "-",
	       n > 0 ? names[n - 1] : "-");
	for (int i = 0; i < n; i++)
		free(names[i]);
}

int main(void)
{
	char dir[] = "/var/tmp/sbx-fs.XXXXXX", buf[256], cwd[4096];
	struct stat st;
	int fd, fd2, p[2];

	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(dir) || chdir(dir) < 0) {
		perror("mkdtemp");
		return 1;
	}
	printf("cwd ends in dir: %d\n", getcwd(cwd, sizeof(cwd)) &&
	       !strcmp(cwd, dir));
	for (int i = 0; i < 200; i++) {
		snprintf(buf, sizeof(buf), "file%03d", i);
		fd = open(buf, O_CREAT | O_WRONLY | O_EXCL, 0644);
		if (fd < 0 || write(fd, buf, strlen(buf)) < 0)
			return 2;
		close(fd);
	}
	listing();
	/* rename, link, unlink */
	SHOW(rename("file000", "renamed"));
	SHOW(rename("file000", "x"));
	SHOW(link("renamed", "hard"));
	SHOW(stat("hard", &st) == 0 ? (long)st.st_nlink : -1);
	SHOW(link("renamed", "hard"));
	SHOW(unlink("renamed"));
	SHOW(stat("hard", &st) == 0 ? (long)st.st_nlink : -1);
	SHOW(st.st_size);
	SHOW(mkdir("sub", 0755));
	SHOW(mkdir("sub", 0755));
	SHOW(rename("hard", "sub/moved"));
	SHOW(rmdir("sub"));
	SHOW(unlink("sub"));
	SHOW(unlink("sub/moved"));
	SHOW(rmdir("sub"));
	SHOW(open("file001/x", O_RDONLY));
	SHOW(open("file001", O_RDONLY | O_DIRECTORY));
	SHOW(open(".", O_WRONLY));
	SHOW(open("file001", O_CREAT | O_EXCL | O_RDWR, 0600));
	/* O_APPEND through two descriptions */
	fd = open("app", O_CREAT | O_WRONLY | O_APPEND, 0600);
	fd2 = open("app", O_WRONLY | O_APPEND);
	SHOW(write(fd, "aaaa", 4));
	SHOW(write(fd2, "bb", 2));
	SHOW(write(fd, "c", 1));
	SHOW(lseek(fd2, 0, SEEK_CUR));
	close(fd2);
	fd2 = open("app", O_RDONLY);
	memset(buf, 0, sizeof(buf));
	SHOW(read(fd2, buf, sizeof(buf)));
	printf("content: %s\n", buf);
	SHOW(lseek(fd2, 2, SEEK_SET));
	SHOW(read(fd2, buf, 2));
	SHOW(lseek(fd2, 0, SEEK_END));
	SHOW(ftruncate(fd, 3));
	SHOW(fstat(fd2, &st) == 0 ? st.st_size : -1);
	SHOW(pread(fd2, buf, 10, 0));
	close(fd);
	close(fd2);
	SHOW(open("app", O_WRONLY | O_TRUNC));
	SHOW(stat("app", &st) == 0 ? st.st_size : -1);
	/* symlinks */
	SHOW(symlink("file002", "sl"));
	SHOW(readlink("sl", buf, sizeof(buf)));
	SHOW(lstat("sl", &st) == 0 ? S_ISLNK(st.st_mode) : -1);
	SHOW(stat("sl", &st) == 0 ? S_ISREG(st.st_mode) : -1);
	SHOW(open("sl", O_RDONLY | O_NOFOLLOW));
	SHOW(symlink("sl2", "sl2"));
	SHOW(open("sl2", O_RDONLY));
	SHOW(access("file003", R_OK | W_OK));
	SHOW(access("nope", F_OK));
	/* pipes */
	SHOW(pipe2(p, O_NONBLOCK | O_CLOEXEC));
	SHOW(fcntl(p[0], F_GETFD));
	SHOW(fcntl(p[1], F_GETFL) & ~0x8000);
	SHOW(read(p[0], buf, 10));
	SHOW(write(p[1], "pipe data", 9));
	SHOW(read(p[0], buf, sizeof(buf)));
	SHOW(lseek(p[0], 0, SEEK_SET));
	close(p[0]);
	SHOW(write(p[1], "x", 1));
	close(p[1]);
	/* devices */
	fd = open("/dev/null", O_RDWR);
	SHOW(write(fd, "gone", 4));
	SHOW(read(fd, buf, 10));
	close(fd);
	fd = open("/dev/zero", O_RDONLY);
	buf[0] = 1;
	SHOW(read(fd, buf, 16));
	SHOW(buf[0] + buf[15]);
	close(fd);
	/* clean up: everything goes, then the directory */
	for (int i = 1; i < 200; i++) {
		snprintf(buf, sizeof(buf), "file%03d", i);
		unlink(buf);
	}
	unlink("app");
	unlink("sl");
	unlink("sl2");
	listing();
	SHOW(chdir("/"));
	SHOW(rmdir(dir));
	return 0;
}
