/*
 * Less common file and memory calls, compared with native: preadv,
 * pwritev, preadv2/pwritev2 (offset -1), utime/utimes/futimesat,
 * fallocate (extend, KEEP_SIZE, PUNCH_HOLE), sendfile, copy_file_range,
 * splice, readahead, msync/mlock argument checks, personality, capget's
 * version handshake, ioprio, get_robust_list.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>
#include <utime.h>

#include "errname.h"

static char path[64], path2[64];

/* musl lacks preadv2/pwritev2; x86-64 passes the offset whole */
#define preadv2_(fd, iov, n, off, fl) syscall(SYS_preadv2, fd, iov, n, (long)(off), 0L, fl)
#define pwritev2_(fd, iov, n, off, fl) syscall(SYS_pwritev2, fd, iov, n, (long)(off), 0L, fl)
#ifndef RWF_HIPRI
#define RWF_HIPRI 1
#endif

/* <linux/capability.h> is not always installed */
struct cap_header {
	unsigned version;
	int pid;
};

struct cap_data {
	unsigned effective, permitted, inheritable;
};

#define SHOW(what, expr)                                                  \
	do {                                                              \
		long r_ = (long)(expr);                                   \
		printf("%s: %ld %s\n", what, r_, r_ < 0 ? errname(errno) : ""); \
	} while (0)

static long long size_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? -1 : (long long)st.st_size;
}

static void vectors(int fd)
{
	char a[4] = "abc", b[5] = "defg", x[4] = "", y[5] = "";
	struct iovec w[2] = { { a, 3 }, { b, 4 } }, r[2] = { { x, 3 }, { y, 4 } };

	SHOW("pwritev at 10", pwritev(fd, w, 2, 10));
	SHOW("preadv at 10", preadv(fd, r, 2, 10));
	printf("read back: %.3s %.4s\n", x, y);
	SHOW("preadv negative offset", preadv(fd, r, 2, -5));
	lseek(fd, 12, SEEK_SET);
	memset(x, 0, sizeof(x));
	SHOW("preadv2 at the file position", preadv2_(fd, r, 1, -1, 0));
	printf("read: %.3s, position now %lld\n", x, (long long)lseek(fd, 0, SEEK_CUR));
	SHOW("pwritev2 bad flag", pwritev2_(fd, w, 1, 0, 0x4000));
	SHOW("preadv2 RWF_HIPRI", preadv2_(fd, r, 1, 0, RWF_HIPRI));
}

static void times_(void)
{
	struct timeval tv[2] = { { 1000000, 5 }, { 2000000, 7 } };
	struct utimbuf ub = { 3000000, 4000000 };
	struct stat st;

	SHOW("utimes", utimes(path, tv));
	stat(path, &st);
	printf("mtime %lld.%09ld atime %lld\n", (long long)st.st_mtim.tv_sec,
	       st.st_mtim.tv_nsec, (long long)st.st_atim.tv_sec);
	tv[0].tv_usec = 1000000;
	SHOW("utimes bad usec", utimes(path, tv));
	SHOW("utime", utime(path, &ub));
	stat(path, &st);
	printf("mtime %lld atime %lld\n", (long long)st.st_mtim.tv_sec,
	       (long long)st.st_atim.tv_sec);
	tv[0].tv_usec = 0;
	SHOW("futimesat", futimesat(AT_FDCWD, path, tv));
	stat(path, &st);
	printf("mtime %lld\n", (long long)st.st_mtim.tv_sec);
	SHOW("utimes of a missing file", utimes("/var/tmp/no/such", NULL));
}

static void allocation(int fd)
{
	char buf[8];

	SHOW("fallocate extend", fallocate(fd, 0, 0, 8192));
	printf("size %lld\n", size_of(fd));
	SHOW("fallocate KEEP_SIZE", fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 65536));
	printf("size %lld\n", size_of(fd));
	SHOW("fallocate PUNCH without KEEP_SIZE", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4));
	SHOW("fallocate punch", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 10, 3));
	pread(fd, buf, 7, 10);
	printf("after punch: %d %d %d %c\n", buf[0], buf[1], buf[2], buf[3]);
	SHOW("fallocate len 0", fallocate(fd, 0, 0, 0));
	SHOW("fallocate bad mode", fallocate(fd, 0x100, 0, 10));
	int p[2];

	if (pipe(p) == 0) {
		/* zero bytes never wait, even on an empty pipe */
		SHOW("read of 0 bytes from an empty pipe", read(p[0], buf, 0));
		SHOW("write of 0 bytes to a pipe", write(p[1], buf, 0));
		SHOW("fallocate on a pipe", fallocate(p[1], 0, 0, 10));
		close(p[0]);
		close(p[1]);
	}
	SHOW("readahead", readahead(fd, 0, 4096));
}

static void copies(int fd)
{
	int out = open(path2, O_CREAT | O_RDWR | O_TRUNC, 0600), p[2];
	off_t off = 10, o2 = 100;
	char buf[16] = "";

	SHOW("sendfile from offset 10", sendfile(out, fd, &off, 7));
	printf("offset now %lld, out position %lld\n", (long long)off,
	       (long long)lseek(out, 0, SEEK_CUR));
	off = 10;
	SHOW("copy_file_range", copy_file_range(fd, &off, out, &o2, 7, 0));
	pread(out, buf, 7, 100);
	printf("copied: %.7s offsets %lld %lld\n", buf + 3, (long long)off, (long long)o2);
	SHOW("copy_file_range flags", copy_file_range(fd, &off, out, &o2, 7, 1));
	if (pipe(p))
		return;
	off = 13;
	SHOW("sendfile to a pipe", sendfile(p[1], fd, &off, 4));
	SHOW("splice pipe to file", splice(p[0], NULL, out, &o2, 4, 0));
	pread(out, buf, 4, 107);
	printf("spliced: %.4s\n", buf);
	SHOW("splice file to file", splice(fd, NULL, out, NULL, 4, 0));
	SHOW("splice offset on a pipe", splice(p[0], &o2, out, NULL, 4, 0));
	close(p[0]);
	close(p[1]);
	close(out);
	unlink(path2);
}

static void memory(void)
{
	char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	SHOW("msync", msync(m, 8192, MS_SYNC));
	SHOW("msync misaligned", msync(m + 1, 10, MS_SYNC));
	SHOW("msync both flags", msync(m, 8192, MS_SYNC | MS_ASYNC));
	munmap(m + 4096, 4096);
	SHOW("msync over a hole", msync(m, 8192, MS_ASYNC));
	SHOW("mlock", mlock(m + 10, 100));
	SHOW("munlock", munlock(m, 4096));
	SHOW("mlockall 0", mlockall(0));
	SHOW("munlockall", munlockall());
	munmap(m, 4096);
}

static void tmpfile_(void)
{
	char name[64], proc[64], buf[8] = "";
	struct stat st;
	int fd;

	snprintf(name, sizeof(name), "/dev/shm/sbx-tmpfile-%d", getpid());
	SHOW("O_TMPFILE read-only", open("/dev/shm", O_TMPFILE | O_RDONLY, 0600));
	SHOW("O_TMPFILE on a file", open("/proc/self/exe", O_TMPFILE | O_RDWR, 0600));
	fd = open("/dev/shm", O_TMPFILE | O_RDWR, 0640);
	printf("O_TMPFILE: %d\n", fd >= 0);
	if (fd < 0)
		return;
	SHOW("write", write(fd, "data", 4));
	fstat(fd, &st);
	printf("nlink %lu mode %o size %lld\n", (unsigned long)st.st_nlink,
	       st.st_mode & 07777, (long long)st.st_size);
	SHOW("linkat AT_EMPTY_PATH", linkat(fd, "", AT_FDCWD, name, AT_EMPTY_PATH));
	stat(name, &st);
	printf("named: nlink %lu size %lld\n", (unsigned long)st.st_nlink,
	       (long long)st.st_size);
	int rfd = open(name, O_RDONLY);

	SHOW("read through the name", read(rfd, buf, 4));
	printf("%.4s\n", buf);
	close(rfd);
	unlink(name);
	SHOW("linkat of it again after unlink",
	     linkat(fd, "", AT_FDCWD, name, AT_EMPTY_PATH));
	unlink(name);
	close(fd);
	fd = open("/dev/shm", O_TMPFILE | O_RDWR | O_EXCL, 0600);
	SHOW("linkat of an O_EXCL tmpfile", linkat(fd, "", AT_FDCWD, name, AT_EMPTY_PATH));
	close(fd);
	fd = open("/dev/shm", O_TMPFILE | O_WRONLY, 0600);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	SHOW("linkat through /proc/self/fd", linkat(AT_FDCWD, proc, AT_FDCWD, name,
						     AT_SYMLINK_FOLLOW));
	unlink(name);
	close(fd);
	/* an ordinary file, once unlinked, cannot be linked back */
	fd = open(name, O_CREAT | O_RDWR, 0600);
	unlink(name);
	SHOW("linkat of an unlinked file", linkat(fd, "", AT_FDCWD, name, AT_EMPTY_PATH));
	close(fd);
}

static void process(void)
{
	struct cap_header h = { 0x12345678, 0 };
	struct cap_data d[2];
	void *head;
	size_t len;

	SHOW("personality query", personality(0xffffffff));
	SHOW("capget with a bad version", syscall(SYS_capget, &h, d));
	printf("kernel's version: %#x\n", h.version);
	SHOW("capget v3", syscall(SYS_capget, &h, d));
	SHOW("ioprio_get", syscall(SYS_ioprio_get, 1, 0));
	SHOW("ioprio_set idle", syscall(SYS_ioprio_set, 1, 0, 3 << 13));
	SHOW("ioprio_get", syscall(SYS_ioprio_get, 1, 0));
	SHOW("ioprio_set bad class", syscall(SYS_ioprio_set, 1, 0, 5 << 13));
	SHOW("get_robust_list", syscall(SYS_get_robust_list, 0, &head, &len));
	printf("robust list length %zu, head set %d\n", len, head != NULL);
}

int main(void)
{
	int fd;

	setvbuf(stdout, NULL, _IONBF, 0);
	snprintf(path, sizeof(path), "/var/tmp/sbx-fileops-%d", getpid());
	snprintf(path2, sizeof(path2), "/var/tmp/sbx-fileops2-%d", getpid());
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	if (fd < 0) {
		perror("open");
		return 1;
	}
	vectors(fd);
	times_();
	allocation(fd);
	pwrite(fd, "0123456789abcdefghij", 20, 0);
	copies(fd);
	memory();
	tmpfile_();
	process();
	close(fd);
	unlink(path);
	return 0;
}
