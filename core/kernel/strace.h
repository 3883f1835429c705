/* --strace: every application syscall, decoded as strace(1) prints it. */
#ifndef SBX_KERNEL_STRACE_H
#define SBX_KERNEL_STRACE_H

#include "kernel.h"

/*
 * strace_enter / strace_exit - called around a handler.  Calls that do not
 * return (exit, exit_group) print at entry; others print one line at exit
 * so output buffers are decoded with the result.
 */
void strace_enter(struct task *t, const struct sbx_syscall_args *a,
		  const char *name, const char *sig);
void strace_exit(struct task *t, const struct sbx_syscall_args *a,
		 const char *name, const char *sig, long ret);
/* strace_skip - a call that did not run and does not return a value
 * (a seccomp filter trapped or killed): "name(args) = ? <@why>". */
void strace_skip(struct task *t, const struct sbx_syscall_args *a,
		 const char *name, const char *sig, const char *why);

#endif
