/*
 * getppid_seccomp: the getppid round trip under a typical 30-instruction
 * seccomp allowlist (arch check, x32 check, 22 allowed calls with getppid
 * last, EPERM for the rest), as systemd or a container runtime installs.
 * Compare with `getppid` for the cost of evaluating the filter.  One
 * figure: ns per call.
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "micro.h"

#define ITERS 2000
#define AUDIT_ARCH_X86_64 0xc000003eU

static const int allowed[] = {
	SYS_read, SYS_write, SYS_close, SYS_fstat, SYS_mmap, SYS_mprotect,
	SYS_munmap, SYS_brk, SYS_rt_sigaction, SYS_rt_sigprocmask,
	SYS_rt_sigreturn, SYS_ioctl, SYS_pread64, SYS_writev, SYS_exit,
	SYS_exit_group, SYS_futex, SYS_clock_gettime, SYS_clock_nanosleep,
	SYS_openat, SYS_newfstatat, SYS_getppid,
};
#define NALLOWED (int)(sizeof(allowed) / sizeof(allowed[0]))

int main(void)
{
	struct sock_filter f[8 + NALLOWED];
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
	double v[MICRO_ROUNDS];
	int n = 0;

	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
					      AUDIT_ARCH_X86_64, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K,
					      0x40000000, 0, 1);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	for (int i = 0; i < NALLOWED; i++, n++)
		f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						    (unsigned)allowed[i],
						    (unsigned char)(NALLOWED - i), 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		micro_fail("getppid_seccomp", "PR_SET_NO_NEW_PRIVS");
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		micro_fail("getppid_seccomp", "seccomp");
	if (syscall(SYS_getppid) < 0)
		micro_fail("getppid_seccomp", "getppid under the filter");
	for (int r = 0; r < MICRO_ROUNDS; r++) {
		double t0 = micro_now_ns();

		for (int i = 0; i < ITERS; i++)
			syscall(SYS_getppid);
		v[r] = (micro_now_ns() - t0) / ITERS;
	}
	micro_report("getppid_seccomp", micro_median(v, MICRO_ROUNDS), "ns");
	return 0;
}
