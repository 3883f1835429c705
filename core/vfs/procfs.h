/*
 * /proc: the built-in provider made from the core's own state (sandbox
 * pids, the sandbox's mounts and ids), never from the host's /proc.
 *
 * The tree (lookup, getattr, getdents, readlink) goes through struct
 * sbx_fs_ops like any provider; three things the ABI has no words for
 * are core-internal calls the VFS makes for this provider only: opening
 * (content is generated at open into a buffer the open file owns),
 * following magic links (cwd, root, fd/N jump to objects, not texts), and
 * revalidating cached entries (processes and fds come and go).
 *
 * Lock order (see procfs.c): fs_context lock -> vfs_lock -> kernel lock
 * -> {mm lock, fd table lock}.
 */
#ifndef SBX_VFS_PROCFS_H
#define SBX_VFS_PROCFS_H

#include <stdbool.h>
#include <stdint.h>

#include <sbx/fs.h>

struct kernel;
struct vfs_path;
struct file;

extern const struct sbx_fs_ops procfs_ops;

/* procfs_attach - the kernel whose processes /proc shows (kernel_init). */
void procfs_attach(struct kernel *k);

/*
 * procfs_open - open the non-directory proc node at @p with open(2)'s
 * @flags: generate its content (regular files), or reopen the open file a
 * /proc/PID/fd/N link leads to when it has no path (pipes, sockets: the
 * same open file, as Linux's pipe and tty reopen).  No lock held.
 * Return: 0 with *@out, -ENOENT (the process is gone), -EACCES (a write
 * open of a read-only file by a non-root user), -ENXIO (sockets,
 * anonymous inodes), -ENOMEM.
 */
int procfs_open(const struct vfs_path *p, int flags, struct file **out);

/*
 * procfs_follow - resolve the link @node for a walk.  Magic links give
 * either a referenced path *@to, or (a file without a path) a new node
 * *@anon of type *@mode that stands for the open file.  No lock held.
 * Return: 0, -ENOLINK when @node is a text link (use readlink), -ENOENT,
 * -EACCES (another user's process).
 */
int procfs_follow(struct sbx_fs_node *node, struct vfs_path *to,
		  struct sbx_fs_node **anon, uint32_t *mode);

/* procfs_is_magic - @node is a magic link (cwd, root, fd/N); no lock. */
bool procfs_is_magic(struct sbx_fs_node *node);

/* procfs_revalidate - is the cached @node still there (its process, task,
 * fd)?  Called under vfs_lock; takes the kernel lock. */
bool procfs_revalidate(struct sbx_fs_node *node);

#endif
