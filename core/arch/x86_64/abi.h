/*
 * Application-visible x86-64 Linux structures, defined here with size and
 * offset checks rather than borrowed from host headers (whose libc view
 * can differ from the kernel's, e.g. struct termios or sigaction).
 */
#ifndef SBX_ARCH_X86_64_ABI_H
#define SBX_ARCH_X86_64_ABI_H

#include <stddef.h>
#include <stdint.h>

typedef uint64_t sbx_uaddr_t; /* an address in the application */

struct k_timespec {
	int64_t tv_sec;
	int64_t tv_nsec;
};

struct k_timeval {
	int64_t tv_sec;
	int64_t tv_usec;
};

struct k_stat {
	uint64_t st_dev;
	uint64_t st_ino;
	uint64_t st_nlink;
	uint32_t st_mode;
	uint32_t st_uid;
	uint32_t st_gid;
	uint32_t pad0;
	uint64_t st_rdev;
	int64_t st_size;
	int64_t st_blksize;
	int64_t st_blocks;
	struct k_timespec st_atim, st_mtim, st_ctim;
	int64_t unused[3];
};
_Static_assert(sizeof(struct k_stat) == 144, "struct stat");
_Static_assert(offsetof(struct k_stat, st_size) == 48, "st_size");

/* fcntl's struct flock (= flock64 on x86-64) */
struct k_flock {
	int16_t l_type;
	int16_t l_whence;
	int32_t pad0;
	int64_t l_start;
	int64_t l_len;
	int32_t l_pid;
	int32_t pad1;
};
_Static_assert(sizeof(struct k_flock) == 32, "struct flock");
_Static_assert(offsetof(struct k_flock, l_pid) == 24, "l_pid");

struct k_utsname {
	char sysname[65], nodename[65], release[65], version[65], machine[65],
		domainname[65];
};
_Static_assert(sizeof(struct k_utsname) == 390, "utsname");

/* rt_sigaction's struct, as the kernel sees it (not glibc's). */
struct k_sigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};
_Static_assert(sizeof(struct k_sigaction) == 32, "sigaction");

struct k_rlimit {
	uint64_t cur, max;
};

/* TCGETS uses the kernel's struct termios: 36 bytes, not glibc's 60. */
#define K_TERMIOS_SIZE 36
struct k_winsize {
	uint16_t row, col, xpixel, ypixel;
};

/* Linux's x86-64 user/kernel split and the stack top it implies. */
#define K_TASK_SIZE 0x7ffffffff000ULL
#define K_NSIG 64
#define K_SIGSET_SIZE 8

#endif
