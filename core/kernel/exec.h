/* Loading a program into a fresh address space: ELF image and stack. */
#ifndef SBX_KERNEL_EXEC_H
#define SBX_KERNEL_EXEC_H

#include "../util/error.h"
#include "../vfs/vfs.h"
#include "kernel.h"

/*
 * exec_load - load the ELF executable open as @f (ET_EXEC or ET_DYN,
 * with its PT_INTERP loaded through @p's file system) into @p's empty
 * address space, build the initial
 * stack from @argv and @envp, and set @regs to start it.  @execfn is the
 * path the program was run as (AT_EXECFN).
 * Return: 0, -ENOEXEC (not a loadable ELF: @err says why), -ENOMEM, -E2BIG.
 */
int exec_load(struct process *p, struct file *f, const char *execfn,
	      char *const argv[], char *const envp[], struct sbx_regs *regs,
	      struct sbx_error *err);

#endif
