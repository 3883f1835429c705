/*
 * The virtual file system: the sandbox's mount table, dentry cache and
 * path walk, and the open-file layer (struct file and its ops) that every
 * fd refers to.
 *
 * Providers (tmpfs, dev, the gofer plugin) implement struct sbx_fs_ops of
 * <sbx/fs.h>; the VFS owns every application-visible rule: "." and "..",
 * symlinks (ELOOP after 40), mount crossings, the sandbox root ("..", never
 * leaves it), access modes and read-only mounts.
 *
 * Locking: one mutex (vfs_lock) guards the mount table and the dentry
 * cache, including provider calls made during a walk.  File data moves
 * outside it (host fds, or a per-file lock for provider-served files).
 * Simple and correct first; finer locking when the process model makes
 * many tasks run at once.
 */
#ifndef SBX_VFS_VFS_H
#define SBX_VFS_VFS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <sbx/fs.h>

#include "../arch/x86_64/abi.h"
#include "../util/error.h"

struct sbx_config;
struct plugin_search_path;
struct sbx_services;
struct file;
struct task;
struct pollfd;
struct lock_inode;

#define VFS_MAXSYMLINKS 40
/* the kernel's O_LARGEFILE, which every open file of a 64-bit process has
 * in F_GETFL (glibc's x86-64 headers define O_LARGEFILE as 0) */
#define K_O_LARGEFILE 0100000

/* One mounted provider instance. */
struct vfs_mount {
	const struct sbx_fs_ops *ops;
	struct sbx_fs *fs;
	struct sbx_fs_mnt *m;
	struct dentry *root;	  /* the mount's root dentry */
	struct vfs_mount *parent; /* NULL for the sandbox root */
	struct dentry *mountpoint;/* in parent */
	bool readonly;
	uint64_t dev;		  /* st_dev reported for provider nodes */
	int id;			  /* mount id (mountinfo, fdinfo's mnt_id) */
	char *target;		  /* absolute sandbox path, for messages */
	char *type;		  /* "tmpfs", "gofer" ... (statfs, mounts) */
};

/* A cached name -> node binding.  Negative entries are not cached. */
struct dentry {
	int refs;		  /* under vfs_lock */
	char *name;
	struct dentry *parent;	  /* NULL for a mount root */
	struct vfs_mount *mnt;
	struct sbx_fs_node *node; /* NULL: a synthetic mount point */
	uint32_t mode;		  /* S_IFMT bits of node, cached */
	struct dentry *child, *next; /* children list, siblings */
	struct vfs_mount *mounted;	  /* a mount on top of this dentry */
	bool dead;		  /* unlinked or renamed away */
	bool linkable;		  /* an O_TMPFILE file (not O_EXCL): linkat may
				     give it a name although it is dead */
};

struct vfs_path {
	struct vfs_mount *mnt;
	struct dentry *d;
};

/* Per-process file-system context: root, cwd, umask (fork clones it). */
struct fs_context {
	int refs; /* atomic */
	pthread_mutex_t lock;
	struct vfs_path root, cwd;
	uint32_t umask;
};

/* ---- open files ---- */

struct file_ops {
	/* read/write at @off, or at (and advancing) the file position when
	 * @off < 0.  Return: bytes or -errno. */
	ssize_t (*read)(struct file *f, void *buf, size_t len, int64_t off);
	ssize_t (*write)(struct file *f, const void *buf, size_t len, int64_t off);
	int64_t (*llseek)(struct file *f, int64_t off, int whence);
	/* getdents - linux_dirent64 records into @buf.  Return: bytes, 0 at
	 * the end, -EINVAL when the first entry does not fit. */
	ssize_t (*getdents)(struct file *f, void *buf, size_t len);
	int (*stat)(struct file *f, struct k_stat *st);
	int (*truncate)(struct file *f, uint64_t len);
	int (*fsync)(struct file *f);
	void (*release)(struct file *f);
	/* files without a path or host fd: the name /proc/PID/fd/N shows
	 * after "anon_inode:" ("[eventpoll]") */
	const char *anon_name;
	/*
	 * Files whose blocking the core implements itself (FIFOs): read and
	 * write at the stream position for task @t, sleeping with task_sleep
	 * so that signals interrupt them (-ERESTARTSYS).  When set, the
	 * read(2)/write(2) family calls these instead of read/write.
	 */
	ssize_t (*read_task)(struct task *t, struct file *f, void *buf,
			     size_t len);
	ssize_t (*write_task)(struct task *t, struct file *f, const void *buf,
			      size_t len);
	/*
	 * poll - readiness for poll/select/epoll: returns the events that
	 * hold now without asking the host (POLLHUP, POLLERR ...) and fills
	 * @host[0..1] with host fds to wait on (fd -1: none).  Called again
	 * before every wait slice, as the answer changes over time.
	 */
	short (*poll)(struct file *f, short events, struct pollfd *host);
};

struct file {
	int refs;	/* atomic */
	int host_fd;	/* owned, -1 if none: closed with the last reference */
	int flags;	/* O_ACCMODE and status flags (O_APPEND, O_NONBLOCK, O_PATH) */
	const struct file_ops *ops;
	struct vfs_path path;	/* NULL mnt for pipes, inherited stdio */
	pthread_mutex_t pos_lock;
	int64_t pos;		/* provider-served files */
	uint64_t dir_cookie;	/* provider getdents position */
	void *priv;
	/* the record locks of this file's inode (core/kernel/locks.c), set
	 * on the first lock call through this file; NULL otherwise */
	struct lock_inode *lock_ino;
	/* the last mapping object mmap made of host_fd (core/mm/mfile.h),
	 * shared by later mmaps of this open file; under pos_lock */
	struct mfile *mapped;
};

/* file_host - a file owning @host_fd (stdio, pipes).  NULL on ENOMEM. */
struct file *file_host(int host_fd, int flags);
/* file_new - a file with @ops; takes its own reference on @path. */
struct file *file_new(const struct file_ops *ops, int flags, int host_fd,
		      const struct vfs_path *path);
void file_get(struct file *f);
void file_put(struct file *f);
extern const struct file_ops host_file_ops, node_file_ops, path_file_ops;
/* FIFOs (core/kernel/fifo.c): vfs_open_path gives a file with these ops
 * and no pipe yet; the open syscall attaches it with fifo_open(), which
 * may block (the reader/writer rendezvous). */
extern const struct file_ops fifo_file_ops;
/* locks_file_release - the last reference to @f is gone: drop the OFD and
 * flock locks it owns (core/kernel/locks.c; file_put calls it). */
void locks_file_release(struct file *f);
struct stat;
/* vfs_stat_from_host - a host struct stat in the application's layout. */
void vfs_stat_from_host(const struct stat *st, struct k_stat *ks);

/* vfs_read_full - pread @len bytes at @off (short file: -ENOEXEC). */
int vfs_read_full(struct file *f, void *buf, size_t len, uint64_t off);

/* ---- set-up ---- */

/*
 * vfs_init - build the mount table from @cfg: the root (gofer plugin,
 * started now, before the core confines itself), then each mount in
 * order, plus /dev (dev) and /dev/shm (tmpfs) unless the config has them.
 * Return: 0 or -errno with @err set.
 */
int vfs_init(const struct sbx_config *cfg, const struct plugin_search_path *sp,
	     const struct sbx_services *svc, struct sbx_error *err);
/* vfs_init_root - a bare mount table over provider @ops (unit tests). */
int vfs_init_root(const struct sbx_fs_ops *ops, struct sbx_fs *fs,
		  const struct sbx_fs_mount_args *args, const char *type);
/* vfs_mount - mount @ops at absolute @target (created in tmpfs parents). */
int vfs_mount(const char *target, const struct sbx_fs_ops *ops,
	      struct sbx_fs *fs, const struct sbx_fs_mount_args *args,
	      const char *type);
void vfs_fini(void);

struct fs_context *fs_context_new(void);
/* fs_context_new_cwd - a root context with its cwd at @cwd (or "/" when
 * @cwd cannot be entered, as a login would). */
struct fs_context *fs_context_new_cwd(const char *cwd);
struct fs_context *fs_context_clone(struct fs_context *fs);
/* fs_context_get - another reference (takes no lock: callable under any). */
void fs_context_get(struct fs_context *fs);
void fs_context_put(struct fs_context *fs);

void vfs_path_get(const struct vfs_path *p);
void vfs_path_put(struct vfs_path *p);

/* ---- walking ---- */

#define WALK_FOLLOW	(1u << 0) /* follow a final symlink */
#define WALK_DIRECTORY	(1u << 1) /* the result must be a directory */
#define WALK_EMPTY	(1u << 2) /* "" means @start itself (AT_EMPTY_PATH) */
#define WALK_BENEATH	(1u << 3) /* RESOLVE_BENEATH: never above @start */
#define WALK_NO_SYMLINKS (1u << 4)/* RESOLVE_NO_SYMLINKS */
#define WALK_NO_XDEV	(1u << 5) /* RESOLVE_NO_XDEV */

/*
 * vfs_walk - resolve @path from @start (a directory; ignored for absolute
 * paths) within @fs's root.  Return: 0 with a referenced *@out, or
 * -ENOENT, -ENOTDIR, -ELOOP, -ENAMETOOLONG, -EACCES, -EXDEV, -EIO ...
 */
int vfs_walk(struct fs_context *fs, const struct vfs_path *start,
	     const char *path, unsigned flags, struct vfs_path *out);
/*
 * vfs_walk_parent - resolve all but the last component: *@dir gets the
 * directory (referenced) and @last its final name (NAME_MAX+1 bytes; may
 * be "." or ".." which callers reject as Linux does).
 */
int vfs_walk_parent(struct fs_context *fs, const struct vfs_path *start,
		    const char *path, unsigned flags, struct vfs_path *dir,
		    char *last);

/* ---- operations on paths ---- */

/* vfs_open - open(2)'s semantics (O_CREAT, O_EXCL, O_TRUNC, O_DIRECTORY,
 * O_NOFOLLOW, O_PATH, O_APPEND); @mode before the umask. */
int vfs_open(struct fs_context *fs, const struct vfs_path *start,
	     const char *path, int flags, uint32_t mode, unsigned wflags,
	     struct file **out);
/* vfs_open_tmpfile - open(O_TMPFILE): an unnamed regular file in the
 * directory @path (tmpfs-backed mounts only: EOPNOTSUPP elsewhere). */
int vfs_open_tmpfile(struct fs_context *fs, const struct vfs_path *start,
		     const char *path, int flags, uint32_t mode,
		     struct file **out);
/* vfs_open_path - open the already-resolved @p (execve, the ELF loader). */
int vfs_open_path(const struct vfs_path *p, int flags, struct file **out);
int vfs_stat(const struct vfs_path *p, struct k_stat *st);
ssize_t vfs_readlink(const struct vfs_path *p, char *buf, size_t len);
int vfs_mkdir(struct fs_context *fs, const struct vfs_path *start,
	      const char *path, uint32_t mode);
int vfs_mknod(struct fs_context *fs, const struct vfs_path *start,
	      const char *path, uint32_t mode, uint32_t dev);
int vfs_unlink(struct fs_context *fs, const struct vfs_path *start,
	       const char *path, int flags);
int vfs_rename(struct fs_context *fs, const struct vfs_path *ostart,
	       const char *opath, const struct vfs_path *nstart,
	       const char *npath, unsigned flags);
int vfs_link(struct fs_context *fs, const struct vfs_path *ostart,
	     const char *opath, const struct vfs_path *nstart,
	     const char *npath, unsigned wflags);
int vfs_symlink(struct fs_context *fs, const char *target,
		const struct vfs_path *start, const char *path);
int vfs_setattr(const struct vfs_path *p, const struct sbx_fs_attr *a,
		uint32_t mask);
int vfs_statfs(const struct vfs_path *p, struct statfs *out);
/* vfs_access - faccessat's check of @mode (R_OK|W_OK|X_OK) for @uid. */
int vfs_access(const struct vfs_path *p, int mode, uint32_t uid);
/* vfs_getpath - the absolute path of @p as seen from @fs's root. */
int vfs_getpath(struct fs_context *fs, const struct vfs_path *p, char *buf,
		size_t len);
/* vfs_d_path - vfs_getpath, but an unlinked @p still gets its last path
 * with *@deleted set (Linux's " (deleted)" in /proc links). */
int vfs_d_path(struct fs_context *fs, const struct vfs_path *p, char *buf,
	       size_t len, bool *deleted);

/* struct vfs_mount_info - one line of /proc/PID/mounts and mountinfo. */
struct vfs_mount_info {
	int id, parent_id;
	uint64_t dev;
	const char *path;	/* as seen from the caller's root */
	const char *type;	/* the VFS's type name ("gofer", "tmpfs" ...) */
	bool readonly;
};
/* vfs_mounts_foreach - call @fn for every mount visible from @fs's root,
 * in mount order, under the VFS lock (@fn must not call into the VFS).
 * Return: 0, or -ENOMEM. */
int vfs_mounts_foreach(struct fs_context *fs,
		       void (*fn)(void *arg, const struct vfs_mount_info *mi),
		       void *arg);
/* vfs_mount_id - the id of the mount @p is on (0 for files without). */
int vfs_mount_id(const struct vfs_path *p);
bool vfs_is_dir(const struct vfs_path *p);

/* The built-in providers. */
extern const struct sbx_fs_ops tmpfs_ops;
/* tmpfs_map_pages - for MAP_SHARED: the memory-file offset of bytes
 * [@off, @off+@len) of tmpfs regular file @node (reserved if beyond its
 * end), with a reference on those pages the mapping drops when unmapped.
 * Return: 0, -ENODEV (not a regular file) or -ENOSPC. */
int tmpfs_map_pages(struct sbx_fs_node *node, uint64_t off, uint64_t len,
		    uint64_t *moff);
/* tmpfs_mknod_dev - add a character device node (the dev provider). */
int tmpfs_mknod(struct sbx_fs_node *dir, const char *name, uint32_t mode,
		uint32_t rdev);
/* chrdev_open - file ops for character device @rdev (/dev/null ...). */
int chrdev_open(uint32_t rdev, int flags, const struct vfs_path *p,
		struct file **out);
/* dev_populate - fill a fresh tmpfs root with the /dev nodes. */
int dev_populate(struct sbx_fs_node *root);

/*
 * The overlay (overlay.c): a private tmpfs upper layer over a read-only
 * lower provider, for `filesystem.root.overlay: memory`.  overlay_fs_new
 * takes an already mounted lower layer (@lops, @lmnt, @lroot; the overlay
 * owns @lroot once mounted) and returns the instance to mount with
 * overlay_ops; the mount's size_limit caps the upper layer (ENOSPC).
 * Directories of an overlay mount are opened with overlay_dir_file_ops
 * (a merged listing kept per open file).
 */
extern const struct sbx_fs_ops overlay_ops;
extern const struct file_ops overlay_dir_file_ops;
int overlay_fs_new(const struct sbx_fs_ops *lops, struct sbx_fs_mnt *lmnt,
		   struct sbx_fs_node *lroot, struct sbx_fs **out);
/* overlay_upper - the upper (tmpfs) node of overlay node @node, or NULL
 * while it is lower only (for MAP_SHARED: tmpfs_map_pages). */
struct sbx_fs_node *overlay_upper(struct sbx_fs_node *node);
/* overlay_mknod - mknod(2) in an overlay directory (creates in upper). */
int overlay_mknod(struct sbx_fs_node *dir, const char *name, uint32_t mode,
		  uint32_t rdev);
/* tmpfs_memfd_init - memfd_create's file: no seals when @sealing
 * (MFD_ALLOW_SEALING), else F_SEAL_SEAL.  Return: 0 or -EINVAL. */
int tmpfs_memfd_init(struct sbx_fs_node *n, bool sealing);
/* tmpfs_seals - F_GET_SEALS (@add false: the seals) or F_ADD_SEALS of
 * tmpfs regular file @n.  Return: seals / 0, -EPERM (sealed), -EINVAL. */
int tmpfs_seals(struct sbx_fs_node *n, bool add, uint32_t seals);
/*
 * vfs_anon_file - a new empty regular file that no path reaches
 * (memfd_create): an unlinked node of an internal tmpfs instance, open
 * O_RDWR, whose dentry is named @name ("memfd:NAME"), a child of the
 * internal root dropped from the cache: /proc/PID/fd/N shows
 * "/memfd:NAME (deleted)".
 * Return: 0 with *@out, or -errno.
 */
int vfs_anon_file(const char *name, uint32_t mode, struct file **out);

#endif
