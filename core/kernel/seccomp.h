/*
 * seccomp for the application: filters the sandboxed program installs with
 * seccomp(2) or prctl(PR_SET_SECCOMP) are kept and evaluated by the core,
 * never installed on the host (there they would filter the platform's
 * stub, not the program's view of the system).
 *
 * Lifecycle: sys_seccomp / kseccomp_prctl_set install (validated as
 * Linux's bpf_check_classic + seccomp_check_filter); kseccomp_fork gives a
 * new task its parent's filters; syscall_dispatch calls kseccomp_check
 * before each call when kseccomp_active; kseccomp_release drops a dead
 * task's reference.
 *
 * Names use the kseccomp_ prefix, not seccomp_: the core links libseccomp
 * (for its own confinement), whose exported seccomp_* names we must never
 * shadow.
 */
#ifndef SBX_KERNEL_SECCOMP_H
#define SBX_KERNEL_SECCOMP_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel.h"

/* task->seccomp_mode (Linux's SECCOMP_MODE_*) */
#define KSECCOMP_MODE_DISABLED 0
#define KSECCOMP_MODE_STRICT 1
#define KSECCOMP_MODE_FILTER 2

/* kseccomp_active - @t has a mode set: the one branch paid per syscall
 * when no filter is installed.  Called on @t's own thread (another thread
 * of the process may set the mode through TSYNC: hence the atomic load). */
static inline bool kseccomp_active(const struct task *t)
{
	return __builtin_expect(
		__atomic_load_n(&t->seccomp_mode, __ATOMIC_ACQUIRE) != 0, 0);
}

/*
 * kseccomp_check - run @t's mode (strict list or filters) on the call in
 * @a, on @t's own thread, and act as Linux does.
 * Return: true when the call must not run; t->regs.rax then holds what the
 * application sees (an errno, or for TRAP the syscall number with SIGSYS
 * pending), or the task/process has been killed.  *@why is NULL when the
 * call returns rax as usual (ERRNO, TRACE, USER_NOTIF), else it says what
 * happened instead, for --strace.
 */
bool kseccomp_check(struct task *t, const struct sbx_syscall_args *a,
		    const char **why);

/* kseccomp_prctl_set - prctl(PR_SET_SECCOMP, mode, filter). */
long kseccomp_prctl_set(struct task *t, uint64_t mode, uint64_t filter);

/* kseccomp_fork - @child starts with @parent's mode and filters (a new
 * reference).  Call with k->lock held, so a TSYNC in @parent's process
 * cannot slip between the copy and the child joining its thread list. */
void kseccomp_fork(struct task *child, const struct task *parent);

/* kseccomp_release - drop @t's filters (the task is being freed). */
void kseccomp_release(struct task *t);

/* kseccomp_nfilters - filters attached to @t, for /proc/PID/status
 * (k->lock held, or @t's own thread). */
int kseccomp_nfilters(const struct task *t);

#endif
