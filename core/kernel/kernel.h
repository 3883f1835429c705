/*
 * The sbx kernel's central objects: the kernel (one per sandbox), processes
 * (thread groups sharing an address space, fds and signal actions) and
 * tasks (application threads, each driven by one host thread running the
 * task loop in task.c).
 */
#ifndef SBX_KERNEL_KERNEL_H
#define SBX_KERNEL_KERNEL_H

#include <stdbool.h>
#include <stdint.h>

#include <sbx/platform.h>

#include "../arch/x86_64/abi.h"
#include "../mm/mm.h"

struct fdtable;
struct sbx_config;

struct kernel {
	const struct sbx_platform_ops *pops;
	struct sbx_platform *plat;
	struct sbx_platform_info pinfo;
	const struct sbx_config *cfg;
	bool strace;
	int strace_fd;
	int next_pid;
	struct process *init;
	/* CPUs the sandbox reports: the host's at start-up, before a
	 * platform pinned its threads (a raw cpu_set_t) */
	uint64_t cpus[16];
};

struct process {
	struct kernel *k;
	int pid, ppid, pgid, sid;
	uint32_t uid, gid;
	struct mm mm;
	struct sbx_as *as;
	struct fdtable *files;
	struct k_sigaction sigact[K_NSIG];
	uint32_t umask;
	struct k_rlimit rlim[16]; /* RLIMIT_* */
	char *exe;	 /* path of the executable inside the sandbox */
	uint64_t auxv[64]; /* the initial auxiliary vector (pairs, 0-ended) */
	int exit_status; /* wait status once the group is exiting */
	bool exiting;
	bool no_new_privs;
	int dumpable;
};

struct task {
	struct process *proc;
	int tid;
	struct sbx_ctx *ctx;
	struct sbx_regs regs;
	uint64_t sigmask;
	uint64_t clear_child_tid;
	uint64_t robust_list, robust_len;
	char comm[16];	 /* PR_SET_NAME */
	int pdeathsig;
	bool exited;
};

struct sbx_syscall_args {
	uint64_t nr;
	uint64_t a[6];
};

typedef long (*syscall_fn)(struct task *t, const struct sbx_syscall_args *a);

/* The handlers: declared from the one list. */
#define SYSCALL(nr, name, fn, sig)                                        \
	long sys_##name(struct task *t, const struct sbx_syscall_args *a);
#include "syscalls.def"
#undef SYSCALL

/* syscall_dispatch - run the call in t->regs and put the result in rax. */
void syscall_dispatch(struct task *t);

/* syscall_name - "read", or NULL for numbers Linux does not have. */
const char *syscall_name(uint64_t nr);

/* task_run - the task loop: run @t until its thread group exits. */
int task_run(struct task *t);

/* process_exit - end the whole thread group with wait status @status. */
void process_exit(struct process *p, int status);

/* Limits and identities the sandbox reports. */
#define SBX_UTS_RELEASE "6.1.0-sbx"
#define SBX_UTS_VERSION "#1 SMP PREEMPT_DYNAMIC sbx"

#endif
