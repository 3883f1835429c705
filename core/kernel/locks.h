/*
 * Advisory file locks among the sandbox's processes (locks.c): fcntl
 * record locks (POSIX and OFD) and flock(2).
 */
#ifndef SBX_KERNEL_LOCKS_H
#define SBX_KERNEL_LOCKS_H

#include <stdint.h>

struct file;
struct fdtable;
struct task;

/*
 * locks_fcntl - F_SETLK, F_SETLKW, F_GETLK and the F_OFD_ forms on @f
 * with the struct flock at @uaddr.  F_SETLKW and F_OFD_SETLKW sleep,
 * interruptibly, until the lock is free.
 * Return: 0, -EFAULT, -EINVAL, -EOVERFLOW, -EBADF (mode does not allow the
 * lock type), -EAGAIN (conflict), -EDEADLK, -ERESTARTSYS, -ENOMEM.
 */
long locks_fcntl(struct task *t, struct file *f, int cmd, uint64_t uaddr);

/*
 * locks_flock - flock(2) with a valid @cmd (LOCK_SH/LOCK_EX/LOCK_UN, maybe
 * LOCK_NB).  Return: 0, -EWOULDBLOCK, -ERESTARTSYS, -ENOMEM.
 */
long locks_flock(struct task *t, struct file *f, int cmd);

/*
 * locks_remove_posix - @owner (a process's fd table) closed an fd of @f:
 * its POSIX locks on @f's file go, as Linux's close(2) does.  Cheap when
 * the table holds no lock.
 */
void locks_remove_posix(struct fdtable *owner, struct file *f);

/* locks_remove_owner - the fd table is going away (exit): drop all of its
 * POSIX locks. */
void locks_remove_owner(struct fdtable *owner);

#endif
