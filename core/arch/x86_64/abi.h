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

/* System V IPC (the kernel's ipc64_perm, shmid64_ds, semid64_ds,
 * msqid64_ds and the *info structs; x86-64 uses the generic layouts). */
struct k_ipc64_perm {
	int32_t key;
	uint32_t uid, gid, cuid, cgid;
	uint32_t mode;
	uint16_t seq, pad2;
	uint32_t pad3;
	uint64_t unused1, unused2;
};
_Static_assert(sizeof(struct k_ipc64_perm) == 48, "ipc64_perm");
_Static_assert(offsetof(struct k_ipc64_perm, seq) == 24, "ipc64_perm.seq");

struct k_shmid64_ds {
	struct k_ipc64_perm shm_perm;
	uint64_t shm_segsz;
	int64_t shm_atime, shm_dtime, shm_ctime;
	int32_t shm_cpid, shm_lpid;
	uint64_t shm_nattch;
	uint64_t unused4, unused5;
};
_Static_assert(sizeof(struct k_shmid64_ds) == 112, "shmid64_ds");
_Static_assert(offsetof(struct k_shmid64_ds, shm_nattch) == 88, "shm_nattch");

struct k_shminfo64 {
	uint64_t shmmax, shmmin, shmmni, shmseg, shmall;
	uint64_t unused1, unused2, unused3, unused4;
};
_Static_assert(sizeof(struct k_shminfo64) == 72, "shminfo64");

struct k_shm_info {
	int32_t used_ids;
	uint32_t pad;
	uint64_t shm_tot, shm_rss, shm_swp;
	uint64_t swap_attempts, swap_successes;
};
_Static_assert(sizeof(struct k_shm_info) == 48, "shm_info");

struct k_semid64_ds {
	struct k_ipc64_perm sem_perm;
	int64_t sem_otime;
	uint64_t unused1;
	int64_t sem_ctime;
	uint64_t unused2;
	uint64_t sem_nsems;
	uint64_t unused3, unused4;
};
_Static_assert(sizeof(struct k_semid64_ds) == 104, "semid64_ds");

struct k_seminfo {
	int32_t semmap, semmni, semmns, semmnu, semmsl;
	int32_t semopm, semume, semusz, semvmx, semaem;
};
_Static_assert(sizeof(struct k_seminfo) == 40, "seminfo");

struct k_sembuf {
	uint16_t sem_num;
	int16_t sem_op;
	int16_t sem_flg;
};
_Static_assert(sizeof(struct k_sembuf) == 6, "sembuf");

struct k_msqid64_ds {
	struct k_ipc64_perm msg_perm;
	int64_t msg_stime, msg_rtime, msg_ctime;
	uint64_t msg_cbytes, msg_qnum, msg_qbytes;
	int32_t msg_lspid, msg_lrpid;
	uint64_t unused4, unused5;
};
_Static_assert(sizeof(struct k_msqid64_ds) == 120, "msqid64_ds");
_Static_assert(offsetof(struct k_msqid64_ds, msg_lspid) == 96, "msg_lspid");

struct k_msginfo {
	int32_t msgpool, msgmap, msgmax, msgmnb, msgmni, msgssz, msgtql;
	uint16_t msgseg;
};
_Static_assert(sizeof(struct k_msginfo) == 32, "msginfo");

#endif
