/*
 * System V IPC (ipc.c): shared memory segments, semaphore sets and
 * message queues in one namespace per sandbox (struct kernel's ipc).
 * The syscalls are sys_shm*, sys_sem*, sys_msg* (kernel.h); these are the
 * hooks the process life cycle calls.  Each takes the kernel lock itself.
 */
#ifndef SBX_KERNEL_IPC_H
#define SBX_KERNEL_IPC_H

#include <stdint.h>

struct kernel;
struct process;

/*
 * ipc_fork - @child (created by fork, not yet running) inherits @parent's
 * shm attachments (its VMAs already map the same pages: mm_fork).
 * Return: 0, or -ENOMEM with nothing inherited.
 */
int ipc_fork(struct process *parent, struct process *child);

/* ipc_exec - @p's old image is gone (execve): so are its attachments.
 * SEM_UNDO adjustments stay, as Linux keeps them across exec. */
void ipc_exec(struct process *p);

/* ipc_exit - @p exits: its SEM_UNDO adjustments are applied (waking
 * waiters) and its attachments dropped (a removed segment whose last
 * attachment this was is freed).  Call before its mm is destroyed. */
void ipc_exit(struct process *p);

/*
 * ipc_unmapped - @p unmapped or replaced [@addr, @addr+@len) (munmap,
 * mmap MAP_FIXED): attachments there that no longer map their segment
 * stop counting in shm_nattch, as Linux's shm_close would do.  Called on
 * @p's own thread; cheap when @p has no attachments.
 */
void ipc_unmapped(struct process *p, uint64_t addr, uint64_t len);

/* ipc_release - the sandbox is over (no process left): free everything. */
void ipc_release(struct kernel *k);

#endif
