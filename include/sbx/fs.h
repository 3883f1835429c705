/*
 * sbx file-system provider ABI (provisional: major 0 until the VFS issue
 * lands; no stability promise before 1.0).
 *
 * A provider mounts a source and serves nodes.  The core's VFS owns path
 * walking, the fd table and all application-visible semantics; a provider
 * answers per-node operations.  Providers that can, donate a host fd for a
 * node (open), so reads, writes and mmaps go straight to the host without a
 * round trip; tmpfs, proc and dev are built into the core behind this same
 * ABI, and the gofer plugin serves host files through the sbx-gofer process.
 *
 * Threads: every op may be called from any core thread concurrently.
 * Compatibility: see plugin.h.  Members are only appended.
 */
#ifndef SBX_SBX_FS_H
#define SBX_SBX_FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sbx/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SBX_FS_ABI_MAJOR 0
#define SBX_FS_ABI_MINOR 2

struct sbx_fs;	    /* one loaded provider instance */
struct sbx_fs_mnt;  /* one mounted source */
struct sbx_fs_node; /* one file, directory or other node (refcounted) */

/* struct sbx_fs_mount_args - what to mount. */
struct sbx_fs_mount_args {
	size_t size;
	const char *source;  /* host path, provider-defined meaning */
	int readonly;
	uint64_t size_limit; /* tmpfs-like providers: bytes, 0 = none */
};

/* struct sbx_fs_attr - node attributes (a subset of struct stat). */
struct sbx_fs_attr {
	size_t size;
	uint64_t ino, nlink, size_bytes, blocks;
	uint32_t mode, uid, gid, rdev;
	int64_t atime_ns, mtime_ns, ctime_ns;
	uint64_t dev; /* host st_dev for host-backed providers, else 0 */
};

/* setattr mask bits: which members of struct sbx_fs_attr to apply */
#define SBX_FS_ATTR_MODE  (1u << 0)
#define SBX_FS_ATTR_UID   (1u << 1)
#define SBX_FS_ATTR_GID   (1u << 2)
#define SBX_FS_ATTR_SIZE  (1u << 3) /* truncate to size_bytes */
#define SBX_FS_ATTR_ATIME (1u << 4)
#define SBX_FS_ATTR_MTIME (1u << 5)

/*
 * struct sbx_fs_ops - a provider.  Nodes returned by lookup, create and
 * mount carry one reference each, dropped with release.  Errors are
 * -errno as Linux would give them for the operation (-ENOENT, -EEXIST,
 * -ENOTDIR, -ENOTEMPTY, -EROFS, -ENOSPC ...).  unlink takes AT_REMOVEDIR
 * in @flags for rmdir.  The core's VFS has already resolved "." and "..",
 * symlinks and mount crossings: a provider only ever sees single names
 * that are neither "", ".", ".." nor contain '/'.
 */
struct sbx_fs_ops {
	size_t size;
	int (*init)(const struct sbx_services *svc,
		    const struct sbx_options *opts, struct sbx_fs **out);
	void (*fini)(struct sbx_fs *fs);
	int (*mount)(struct sbx_fs *fs, const struct sbx_fs_mount_args *args,
		     struct sbx_fs_mnt **mnt, struct sbx_fs_node **root);
	void (*umount)(struct sbx_fs_mnt *mnt);
	int (*lookup)(struct sbx_fs_node *dir, const char *name,
		      struct sbx_fs_node **out);
	void (*release)(struct sbx_fs_node *node);
	/* open - a host fd for @node with O_* @flags, or -EOPNOTSUPP when
	 * the provider serves read/write itself. */
	int (*open)(struct sbx_fs_node *node, int flags, int *host_fd);
	ssize_t (*read)(struct sbx_fs_node *node, void *buf, size_t len,
			uint64_t off);
	ssize_t (*write)(struct sbx_fs_node *node, const void *buf, size_t len,
			 uint64_t off);
	int (*getattr)(struct sbx_fs_node *node, struct sbx_fs_attr *attr);
	int (*setattr)(struct sbx_fs_node *node, const struct sbx_fs_attr *attr,
		       uint32_t mask);
	/* getdents - call @emit for entries from @cookie on; stop when it
	 * returns nonzero.  Return: next cookie or -errno. */
	int64_t (*getdents)(struct sbx_fs_node *dir, uint64_t cookie,
			    int (*emit)(void *arg, const char *name,
					uint64_t ino, unsigned type,
					uint64_t next),
			    void *arg);
	int (*create)(struct sbx_fs_node *dir, const char *name, uint32_t mode,
		      int flags, struct sbx_fs_node **out, int *host_fd);
	int (*mkdir)(struct sbx_fs_node *dir, const char *name, uint32_t mode);
	int (*unlink)(struct sbx_fs_node *dir, const char *name, int flags);
	int (*rename)(struct sbx_fs_node *odir, const char *oname,
		      struct sbx_fs_node *ndir, const char *nname,
		      unsigned flags);
	int (*link)(struct sbx_fs_node *node, struct sbx_fs_node *dir,
		    const char *name);
	int (*symlink)(struct sbx_fs_node *dir, const char *name,
		       const char *target);
	ssize_t (*readlink)(struct sbx_fs_node *node, char *buf, size_t len);
	int (*statfs)(struct sbx_fs_mnt *mnt, struct statfs *out);
	/* map - a host fd suitable for mmap of @node (may equal open's). */
	int (*map)(struct sbx_fs_node *node, int prot, int *host_fd);
	int (*ctl)(struct sbx_fs *fs, int op, void *arg);
	/* added in 0.2 */
	/* mknod - create a node of type @mode & S_IFMT (S_IFIFO, S_IFSOCK,
	 * S_IFREG; device nodes are never asked for) named @name in @dir.
	 * The node is only a name with a type: the core serves FIFO data
	 * itself and never opens such a node through the provider. */
	int (*mknod)(struct sbx_fs_node *dir, const char *name, uint32_t mode,
		     uint32_t rdev);
};

#ifdef __cplusplus
}
#endif
#endif
