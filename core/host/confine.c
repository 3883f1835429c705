/*
 * The core's own seccomp allowlist (see confine.h).  The list is what the
 * core's code calls after start-up, grouped by who needs it; no call that
 * opens a host path by name is on it (invariant 2: after start-up, host
 * files only come from the gofer).
 */
#include <errno.h>
#include <malloc.h>
#include <seccomp.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "../net/net.h"
#include "confine.h"

static const int core_calls[] = {
	/* I/O on fds the core holds (stdio, log file, memory file) */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(pread64), SCMP_SYS(pwrite64),
	SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(lseek), SCMP_SYS(close),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(fcntl), SCMP_SYS(ioctl),
	SCMP_SYS(dup), SCMP_SYS(dup3), SCMP_SYS(fallocate), SCMP_SYS(ftruncate),
	/* the VFS: directories and pipes on fds it holds, the gofer socket
	 * (requests, replies, donated fds); nothing here opens a path */
	SCMP_SYS(getdents64), SCMP_SYS(pipe2), SCMP_SYS(fstatfs),
	SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg),
	SCMP_SYS(recvfrom),
	/* memory: malloc, the memory file */
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(mremap),
	SCMP_SYS(madvise), SCMP_SYS(brk),
	/* threads, time, identity */
	SCMP_SYS(futex), SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday),
	SCMP_SYS(time), SCMP_SYS(getrandom), SCMP_SYS(sched_yield),
	SCMP_SYS(sched_getaffinity), SCMP_SYS(sysinfo), SCMP_SYS(getpid),
	SCMP_SYS(gettid), SCMP_SYS(getcpu), SCMP_SYS(restart_syscall),
	SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(madvise),
	/* signals within the core */
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(rt_sigtimedwait), /* the forwarder of sbxrun's signals */
	SCMP_SYS(tgkill), SCMP_SYS(sigaltstack),
	/* unnamed unix socket pairs (no path, no address) */
	SCMP_SYS(socketpair), SCMP_SYS(shutdown), SCMP_SYS(getsockopt),
	SCMP_SYS(setsockopt),
	/* poll, select */
	SCMP_SYS(poll), SCMP_SYS(ppoll),
	/* eventfd and timerfd are host objects the core creates and owns
	 * (no path; signalfds signal readiness through a pipe) */
	SCMP_SYS(eventfd2), SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime),
	SCMP_SYS(timerfd_gettime),
	/* task threads (pthread_create) */
	SCMP_SYS(clone), SCMP_SYS(clone3),
	/* leaving */
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(munlock),
};

int confine_core(const struct sbx_platform_ops *ops, struct sbx_platform *plat,
		 struct sbx_error *err)
{
	scmp_filter_ctx ctx;
	int r = 0;

	/* glibc's malloc reads /sys/devices/system/cpu/online the first time
	 * it wants a ninth arena (many busy task threads): fix its limit now,
	 * to what it would compute, so it never opens a file under the filter */
	mallopt(M_ARENA_MAX, 8 * get_nprocs());
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return sbx_error_set(err, ENOMEM, "seccomp_init failed");
	for (size_t i = 0; i < sizeof(core_calls) / sizeof(core_calls[0]); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, core_calls[i], 0);
		if (r) {
			sbx_error_set(err, -r, "seccomp rule for syscall %d: %s",
				      core_calls[i], strerror(-r));
			goto out;
		}
	}
	if (SBX_OPS_HAS(ops, seccomp_rules)) {
		r = ops->seccomp_rules(plat, ctx);
		if (r) {
			sbx_error_set(err, -r, "the platform's seccomp rules "
				      "failed: %s", strerror(-r));
			goto out;
		}
	}
	r = net_seccomp_rules(ctx);
	if (r) {
		sbx_error_set(err, -r, "the network provider's seccomp rules "
			      "failed: %s", strerror(-r));
		goto out;
	}
	r = seccomp_load(ctx);
	if (r)
		sbx_error_set(err, -r, "cannot load the core's seccomp filter: %s",
			      strerror(-r));
out:
	seccomp_release(ctx);
	return r;
}
