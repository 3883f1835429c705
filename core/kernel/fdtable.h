/*
 * The per-process fd table.  A struct file (core/vfs/vfs.h) is shared by
 * every fd that dup()s it (one open file description).
 */
#ifndef SBX_KERNEL_FDTABLE_H
#define SBX_KERNEL_FDTABLE_H

#include <pthread.h>
#include <stdbool.h>

#include "../vfs/vfs.h" /* struct file */

struct fd_entry {
	struct file *file;
	bool cloexec;
};

struct fdtable {
	pthread_mutex_t lock;
	struct fd_entry *fds;
	int size;	/* slots allocated */
	int max;	/* RLIMIT_NOFILE */
	int nlocks;	/* POSIX record locks this table owns (locks.c; atomic) */
};

struct fdtable *fdtable_new(int max);
void fdtable_free(struct fdtable *t);
/* fdtable_clone - a copy for fork: the same files, each referenced again. */
struct fdtable *fdtable_clone(struct fdtable *t);
/* fdtable_close_on_exec - close every fd marked close-on-exec (execve). */
void fdtable_close_on_exec(struct fdtable *t);

/* fd_install - lowest free fd >= @min for @f (takes a reference).
 * Return: the fd, -EMFILE or -EINVAL (@min out of range). */
int fd_install(struct fdtable *t, struct file *f, int min, bool cloexec);
/* fd_install_at - put @f at @fd, closing what was there (dup2). */
int fd_install_at(struct fdtable *t, int fd, struct file *f, bool cloexec);
/* fd_get - the file at @fd with a reference, or NULL. */
struct file *fd_get(struct fdtable *t, int fd);
int fd_close(struct fdtable *t, int fd);
/* fd_cloexec - get (@set < 0) or set the close-on-exec flag. */
int fd_cloexec(struct fdtable *t, int fd, int set);
/* fd_close_range - close_range(2) on [@lo, @hi]; @cloexec only marks. */
int fd_close_range(struct fdtable *t, unsigned lo, unsigned hi, bool cloexec);

#endif
