/*
 * badargs: call implemented syscalls (raw, through syscall(2)) with bad
 * pointers, lengths, flags and fds, and print "name: result errno" for
 * each.  Every case has one well-defined Linux answer, so the output must
 * be the same natively and in the sandbox: the sandbox gives the errno
 * Linux gives and never crashes.  Run with stdin from /dev/null, stdout a
 * file or pipe, and cwd /.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "errname.h"

#define KADDR ((void *)0xffff800000000000UL) /* kernel half */
#define ONE ((void *)1)
#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004

static void *unmapped; /* a page that was mapped and then unmapped */

/* show - print one result; the result itself only when it is -1 or small */
static void show(const char *name, long r)
{
	int e = errno;

	if (r == -1)
		printf("%s: -1 %s\n", name, errname(e));
	else
		printf("%s: %ld\n", name, r);
	fflush(stdout);
}

#define T(name, ...) (errno = 0, show(name, syscall(__VA_ARGS__)))

static void io(void)
{
	char buf[16];
	struct iovec iov[2] = { { buf, 4 }, { NULL, 5 } };
	struct iovec neg = { buf, (size_t)-1 };
	struct iovec zero = { NULL, 0 };

	T("read fd -1", SYS_read, -1, buf, 1);
	T("read fd 9999", SYS_read, 9999, buf, 1);
	T("read NULL len 0", SYS_read, 0, NULL, 0);
	T("read (void*)1 len 0", SYS_read, 0, ONE, 0);
	T("read NULL at EOF", SYS_read, 0, NULL, 5);
	T("read write-only fd", SYS_read, 1, buf, 1);
	T("write NULL", SYS_write, 1, NULL, 5);
	T("write (void*)1", SYS_write, 1, ONE, 5);
	T("write kernel address", SYS_write, 1, KADDR, 5);
	T("write unmapped", SYS_write, 1, unmapped, 5);
	T("write NULL len 0", SYS_write, 1, NULL, 0);
	T("write huge len NULL", SYS_write, 1, NULL, (size_t)-1);
	T("write fd -1", SYS_write, -1, "x", 1);
	T("write fd 9999", SYS_write, 9999, "x", 1);
	T("write read-only fd", SYS_write, 0, "x", 1);
	T("pread64 fd -1", SYS_pread64, -1, buf, 1, 0);
	T("pread64 negative offset", SYS_pread64, 0, buf, 1, -1L);
	T("pread64 /dev/null", SYS_pread64, 0, buf, 1, 0);
	T("pwrite64 fd 9999", SYS_pwrite64, 9999, buf, 1, 0);
	T("pwrite64 negative offset", SYS_pwrite64, 1, buf, 1, -1L);
	T("writev NULL iov", SYS_writev, 1, NULL, 1);
	T("writev NULL iov count 0", SYS_writev, 1, NULL, 0);
	T("writev count -1", SYS_writev, 1, iov, -1);
	T("writev count 1025", SYS_writev, 1, iov, 1025);
	T("writev NULL base", SYS_writev, 1, &iov[1], 1);
	T("writev negative len", SYS_writev, 1, &neg, 1);
	T("writev NULL base len 0", SYS_writev, 1, &zero, 1);
	T("writev kernel iov", SYS_writev, 1, KADDR, 1);
	T("writev fd -1", SYS_writev, -1, iov, 1);
	T("readv NULL iov", SYS_readv, 0, NULL, 1);
	T("readv count 1025", SYS_readv, 0, iov, 1025);
	T("readv fd 9999", SYS_readv, 9999, iov, 1);
	T("readv EOF bad base", SYS_readv, 0, &iov[1], 1);
	T("lseek fd -1", SYS_lseek, -1, 0, SEEK_SET);
	T("lseek bad whence", SYS_lseek, 0, 0, 99);
	T("lseek /dev/null", SYS_lseek, 0, 0, SEEK_SET);
}

static void stat_calls(void)
{
	struct stat st;

	T("fstat NULL", SYS_fstat, 1, NULL);
	T("fstat (void*)1", SYS_fstat, 1, ONE);
	T("fstat kernel address", SYS_fstat, 1, KADDR);
	T("fstat fd -1", SYS_fstat, -1, &st);
	T("fstat fd 9999", SYS_fstat, 9999, &st);
	T("fstat ok", SYS_fstat, 1, &st);
	T("newfstatat NULL path", SYS_newfstatat, AT_FDCWD, NULL, &st, 0);
	T("newfstatat kernel path", SYS_newfstatat, AT_FDCWD, KADDR, &st, 0);
	T("newfstatat empty path", SYS_newfstatat, 1, "", &st, 0);
	T("newfstatat empty path ok", SYS_newfstatat, 1, "", &st,
	  AT_EMPTY_PATH);
	T("newfstatat empty path NULL buf", SYS_newfstatat, 1, "", NULL,
	  AT_EMPTY_PATH);
	T("newfstatat bad flags", SYS_newfstatat, AT_FDCWD, "/", &st,
	  0x12345);
	T("newfstatat bad dirfd", SYS_newfstatat, 9999, "x", &st, 0);
	T("newfstatat missing", SYS_newfstatat, AT_FDCWD,
	  "/nonexistent-sbx-test", &st, 0);
}

static void time_calls(void)
{
	struct timespec ts = { 0, 1 }, bad1 = { 0, -1 }, bad2 = { 0, 1000000000 },
			bad3 = { -1, 0 };

	T("clock_gettime NULL", SYS_clock_gettime, CLOCK_MONOTONIC, NULL);
	T("clock_gettime (void*)1", SYS_clock_gettime, CLOCK_MONOTONIC, ONE);
	T("clock_gettime kernel", SYS_clock_gettime, CLOCK_REALTIME, KADDR);
	T("clock_gettime bad clock", SYS_clock_gettime, 999, &ts);
	T("clock_getres bad clock", SYS_clock_getres, 999, &ts);
	T("clock_getres NULL", SYS_clock_getres, CLOCK_MONOTONIC, NULL);
	T("gettimeofday NULL NULL", SYS_gettimeofday, NULL, NULL);
	T("gettimeofday (void*)1", SYS_gettimeofday, ONE, NULL);
	T("time (void*)1", SYS_time, ONE);
	T("nanosleep NULL", SYS_nanosleep, NULL, NULL);
	T("nanosleep kernel", SYS_nanosleep, KADDR, NULL);
	T("nanosleep nsec -1", SYS_nanosleep, &bad1, NULL);
	T("nanosleep nsec 1e9", SYS_nanosleep, &bad2, NULL);
	T("nanosleep sec -1", SYS_nanosleep, &bad3, NULL);
	T("nanosleep bad rem unused", SYS_nanosleep, &ts, ONE);
	T("clock_nanosleep NULL", SYS_clock_nanosleep, CLOCK_MONOTONIC, 0,
	  NULL, NULL);
	T("clock_nanosleep bad clock", SYS_clock_nanosleep, 999, 0, &ts,
	  NULL);
	T("clock_nanosleep nsec -1", SYS_clock_nanosleep, CLOCK_MONOTONIC, 0,
	  &bad1, NULL);
}

static void misc_calls(void)
{
	char buf[64];
	struct rlimit rl, big = { 10, 5 };
	sigset_t set;
	struct sigaction sa;
	uint64_t fs;
	struct termios tio;

	sigemptyset(&set);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	T("uname NULL", SYS_uname, NULL);
	T("uname (void*)1", SYS_uname, ONE);
	T("sysinfo NULL", SYS_sysinfo, NULL);
	T("getrandom NULL len 0", SYS_getrandom, NULL, 0, 0);
	T("getrandom NULL", SYS_getrandom, NULL, 16, 0);
	T("getrandom kernel", SYS_getrandom, KADDR, 16, 0);
	T("getrandom bad flags", SYS_getrandom, buf, 16, 0x100);
	T("getrandom random|insecure", SYS_getrandom, buf, 16, 0x2 | 0x4);
	T("getrandom ok", SYS_getrandom, buf, 16, 0);
	T("rt_sigaction sig 0", SYS_rt_sigaction, 0, &sa, NULL, 8);
	T("rt_sigaction sig 65", SYS_rt_sigaction, 65, &sa, NULL, 8);
	T("rt_sigaction SIGKILL", SYS_rt_sigaction, SIGKILL, &sa, NULL, 8);
	T("rt_sigaction SIGSTOP", SYS_rt_sigaction, SIGSTOP, &sa, NULL, 8);
	T("rt_sigaction SIGKILL query", SYS_rt_sigaction, SIGKILL, NULL,
	  &sa, 8);
	T("rt_sigaction sigsetsize 4", SYS_rt_sigaction, SIGUSR1, &sa, NULL,
	  4);
	T("rt_sigaction bad act", SYS_rt_sigaction, SIGUSR1, ONE, NULL, 8);
	T("rt_sigaction bad oldact", SYS_rt_sigaction, SIGUSR1, NULL, ONE, 8);
	T("rt_sigaction NULL NULL", SYS_rt_sigaction, SIGUSR1, NULL, NULL, 8);
	T("rt_sigprocmask bad how", SYS_rt_sigprocmask, 99, &set, NULL, 8);
	T("rt_sigprocmask bad how no set", SYS_rt_sigprocmask, 99, NULL, NULL,
	  8);
	T("rt_sigprocmask sigsetsize 4", SYS_rt_sigprocmask, SIG_BLOCK, &set,
	  NULL, 4);
	T("rt_sigprocmask bad set", SYS_rt_sigprocmask, SIG_BLOCK, ONE, NULL,
	  8);
	T("rt_sigprocmask bad oldset", SYS_rt_sigprocmask, SIG_BLOCK, NULL,
	  KADDR, 8);
	T("rt_sigprocmask NULL NULL", SYS_rt_sigprocmask, SIG_BLOCK, NULL,
	  NULL, 8);
	T("getrlimit bad resource", SYS_getrlimit, 99, &rl);
	T("getrlimit NULL", SYS_getrlimit, RLIMIT_NOFILE, NULL);
	T("setrlimit NULL", SYS_setrlimit, RLIMIT_NOFILE, NULL);
	T("setrlimit cur > max", SYS_setrlimit, RLIMIT_NOFILE, &big);
	T("prlimit64 NULL NULL", SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, NULL);
	T("prlimit64 bad resource", SYS_prlimit64, 0, 99, NULL, &rl);
	T("prlimit64 bad old", SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, ONE);
	T("prlimit64 bad new", SYS_prlimit64, 0, RLIMIT_NOFILE, ONE, NULL);
	T("prlimit64 cur > max", SYS_prlimit64, 0, RLIMIT_NOFILE, &big, NULL);
	T("prlimit64 no such pid", SYS_prlimit64, 99999999, RLIMIT_NOFILE,
	  NULL, &rl);
	T("sched_getaffinity len 0", SYS_sched_getaffinity, 0, 0, buf);
	T("sched_getaffinity len 7", SYS_sched_getaffinity, 0, 7, buf);
	T("sched_getaffinity NULL", SYS_sched_getaffinity, 0, 64, NULL);
	T("sched_getaffinity no such pid", SYS_sched_getaffinity, 99999999,
	  64, buf);
	T("arch_prctl bad code", SYS_arch_prctl, 0x9999, 0);
	T("arch_prctl GET_FS NULL", SYS_arch_prctl, ARCH_GET_FS, NULL);
	T("arch_prctl GET_GS (void*)1", SYS_arch_prctl, ARCH_GET_GS, ONE);
	T("arch_prctl SET_FS kernel", SYS_arch_prctl, ARCH_SET_FS, KADDR);
	T("arch_prctl SET_GS kernel", SYS_arch_prctl, ARCH_SET_GS, KADDR);
	T("arch_prctl GET_FS ok", SYS_arch_prctl, ARCH_GET_FS, &fs);
	T("prctl bad option", SYS_prctl, 9999, 0, 0, 0, 0);
	T("prctl SET_NAME NULL", SYS_prctl, 15 /* PR_SET_NAME */, NULL, 0, 0,
	  0);
	T("prctl GET_NAME NULL", SYS_prctl, 16 /* PR_GET_NAME */, NULL, 0, 0,
	  0);
	T("getcwd NULL", SYS_getcwd, NULL, 64);
	T("getcwd size 0", SYS_getcwd, buf, 0);
	T("getcwd size 1", SYS_getcwd, buf, 1);
	T("getcwd ok", SYS_getcwd, buf, sizeof(buf));
	T("getresuid NULL", SYS_getresuid, NULL, NULL, NULL);
	T("getresgid (void*)1", SYS_getresgid, ONE, ONE, ONE);
	T("set_robust_list bad len", SYS_set_robust_list, NULL, 1);
	T("ioctl fd -1", SYS_ioctl, -1, TCGETS, &tio);
	T("ioctl /dev/null TCGETS", SYS_ioctl, 0, TCGETS, &tio);
}

static void mm_calls(void)
{
	void *p;

	T("mmap offset unaligned", SYS_mmap, NULL, 4096, PROT_READ,
	  MAP_PRIVATE | MAP_ANONYMOUS, -1, 1);
	T("mmap len 0", SYS_mmap, NULL, 0, PROT_READ,
	  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T("mmap no type", SYS_mmap, NULL, 4096, PROT_READ, MAP_ANONYMOUS, -1,
	  0);
	T("mmap file fd -1", SYS_mmap, NULL, 4096, PROT_READ, MAP_PRIVATE, -1,
	  0);
	T("mmap fixed kernel", SYS_mmap, KADDR, 4096, PROT_READ,
	  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	T("mmap huge", SYS_mmap, NULL, 1UL << 62, PROT_READ,
	  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T("munmap len 0", SYS_munmap, unmapped, 0);
	T("munmap unaligned", SYS_munmap, (char *)unmapped + 1, 4096);
	T("munmap kernel", SYS_munmap, KADDR, 4096);
	T("munmap huge", SYS_munmap, unmapped, (size_t)-4096);
	T("munmap unmapped", SYS_munmap, unmapped, 4096);
	T("mprotect unaligned", SYS_mprotect, (char *)unmapped + 1, 4096,
	  PROT_READ);
	T("mprotect unmapped", SYS_mprotect, unmapped, 4096, PROT_READ);
	T("mprotect kernel", SYS_mprotect, KADDR, 4096, PROT_READ);
	T("mprotect bad prot", SYS_mprotect, unmapped, 4096, 0x1000);
	T("mprotect wraps", SYS_mprotect, unmapped, (size_t)-4096, PROT_READ);
	T("mremap unmapped", SYS_mremap, unmapped, 4096, 8192, MREMAP_MAYMOVE,
	  0);
	T("mremap bad flags", SYS_mremap, unmapped, 4096, 8192, 0x100, 0);
	T("mremap fixed no maymove", SYS_mremap, unmapped, 4096, 4096,
	  MREMAP_FIXED, unmapped);
	T("mremap new len 0", SYS_mremap, unmapped, 4096, 0, 0, 0);
	T("madvise unmapped", SYS_madvise, unmapped, 4096, MADV_DONTNEED);
	T("madvise bad advice", SYS_madvise, unmapped, 4096, 12345);
	T("madvise unaligned", SYS_madvise, (char *)unmapped + 1, 4096,
	  MADV_NORMAL);
	T("madvise len 0 unmapped", SYS_madvise, unmapped, 0, MADV_DONTNEED);
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T("madvise normal", SYS_madvise, p, 4096, MADV_NORMAL);
	munmap(p, 4096);
}

static void fd_calls(void)
{
	int fd;

	T("dup fd -1", SYS_dup, -1);
	T("dup2 old -1", SYS_dup2, -1, 5);
	T("dup2 new -1", SYS_dup2, 1, -1);
	T("dup2 old 9999", SYS_dup2, 9999, 5);
	T("dup2 same fd", SYS_dup2, 1, 1);
	T("dup2 same bad fd", SYS_dup2, 9999, 9999);
	T("dup2 above limit", SYS_dup2, 1, 1 << 20);
	T("dup2 to 5", SYS_dup2, 1, 5);
	T("close 5", SYS_close, 5);
	T("close 5 again", SYS_close, 5);
	T("dup3 same fd", SYS_dup3, 1, 1, 0);
	T("dup3 bad flags", SYS_dup3, 1, 5, 0x1);
	T("dup3 old -1", SYS_dup3, -1, 5, 0);
	T("dup3 cloexec", SYS_dup3, 1, 6, O_CLOEXEC);
	T("fcntl GETFD cloexec", SYS_fcntl, 6, F_GETFD);
	T("close 6", SYS_close, 6);
	T("fcntl fd -1", SYS_fcntl, -1, F_GETFD);
	T("fcntl fd 9999", SYS_fcntl, 9999, F_GETFL);
	T("fcntl bad cmd", SYS_fcntl, 1, 9999);
	T("fcntl GETFD", SYS_fcntl, 1, F_GETFD);
	T("fcntl DUPFD -1", SYS_fcntl, 1, F_DUPFD, -1);
	T("fcntl DUPFD above limit", SYS_fcntl, 1, F_DUPFD, 1 << 20);
	/* the lowest free fd >= 10 depends on what the parent left open */
	fd = (int)syscall(SYS_fcntl, 1, F_DUPFD_CLOEXEC, 10);
	printf("fcntl DUPFD_CLOEXEC 10: >= 10: %d\n", fd >= 10);
	T("fcntl GETFD of it", SYS_fcntl, fd, F_GETFD);
	T("close it", SYS_close, fd);
	T("close -1", SYS_close, -1);
	T("close 9999", SYS_close, 9999);
}

int main(void)
{
	unmapped = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	munmap(unmapped, 4096);
	io();
	stat_calls();
	time_calls();
	misc_calls();
	mm_calls();
	fd_calls();
	return 0;
}
