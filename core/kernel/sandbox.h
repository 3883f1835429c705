/* Starting a sandbox: the first process, its address space and stdio. */
#ifndef SBX_KERNEL_SANDBOX_H
#define SBX_KERNEL_SANDBOX_H

#include "../util/error.h"
#include "../vfs/vfs.h"
#include "kernel.h"

/*
 * sandbox_run - create pid 1 from @cfg, load the program open as @prog
 * (run as @execfn; @argv replaces process.argv), run it on the platform of
 * @k until it exits.  Return: 0 and the wait status in *@status, or
 * -errno with @err filled when the sandbox could not start (-ENOEXEC for
 * a program that cannot be executed).
 */
int sandbox_run(struct kernel *k, struct file *prog, const char *execfn,
		char *const argv[], int *status, struct sbx_error *err);

#endif
