/*
 * The VFS core (see vfs.h): mounts, the dentry cache, the path walk and
 * the operations on paths.
 *
 * Divided into: dentries, mounts and fs contexts, the walk, open, and the
 * other path operations.  Everything here runs under vfs_lock except
 * where a function says otherwise.
 *
 * Dentries: each cached dentry holds one reference for being in its
 * parent's child list, and a reference on its parent.  Walks, files and fs
 * contexts hold more.  Unlink and rename drop a dentry from the cache
 * (dead); it lives on while referenced.  Past VFS_MAX_DENTRIES, unused
 * leaves are pruned (the gofer holds a host fd per cached node).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../util/log.h"
#include "procfs.h"
#include "vfs.h"

#define VFS_MAX_DENTRIES 4096

static pthread_mutex_t vfs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vfs_mount *root_mnt;
static struct vfs_mount **mounts;
static size_t n_mounts;
static size_t n_dentries;

/* ---- dentries ---- */

static struct dentry *d_alloc(struct dentry *parent, struct vfs_mount *mnt,
			      const char *name, struct sbx_fs_node *node,
			      uint32_t mode)
{
	struct dentry *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->name = strdup(name);
	if (!d->name) {
		free(d);
		return NULL;
	}
	d->refs = 1; /* the cache's */
	d->mnt = mnt;
	d->node = node;
	d->mode = mode;
	if (parent) {
		d->parent = parent;
		parent->refs++;
		d->next = parent->child;
		parent->child = d;
	}
	n_dentries++;
	return d;
}

static void d_put_locked(struct dentry *d)
{
	while (d && --d->refs == 0) {
		struct dentry *parent = d->parent;

		if (d->node && SBX_OPS_HAS(d->mnt->ops, release))
			d->mnt->ops->release(d->node);
		free(d->name);
		free(d);
		n_dentries--;
		d = parent;
	}
}

/* d_drop - take @d out of the cache (unlinked, renamed, pruned). */
static void d_drop(struct dentry *d)
{
	struct dentry **pp;

	if (d->dead || !d->parent)
		return;
	for (pp = &d->parent->child; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	d->dead = true;
	d->next = NULL;
	d_put_locked(d);
}

static void prune(struct dentry *d)
{
	struct dentry *c = d->child, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->child)
			prune(c);
		if (c->refs == 1 && !c->child && !c->mounted)
			d_drop(c);
	}
}

static struct dentry *d_find(struct dentry *dir, const char *name)
{
	for (struct dentry *c = dir->child; c; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static int node_mode(struct vfs_mount *mnt, struct sbx_fs_node *node,
		     uint32_t *mode)
{
	struct sbx_fs_attr a = { .size = sizeof(a) };
	int r = mnt->ops->getattr(node, &a);

	if (r == 0)
		*mode = a.mode;
	return r;
}

/* d_lookup - the child @name of @dir, referenced; asks the provider on a
 * cache miss. */
static int d_lookup(struct dentry *dir, const char *name, struct dentry **out)
{
	struct dentry *d = d_find(dir, name);
	struct sbx_fs_node *node;
	uint32_t mode;
	int r;

	/* /proc entries come and go with processes and fds: a cached one is
	 * checked again, and dropped with what is cached below it */
	if (d && d->mnt->ops == &procfs_ops && d->node &&
	    !procfs_revalidate(d->node)) {
		prune(d);
		d_drop(d);
		d = NULL;
	}
	if (d) {
		d->refs++;
		*out = d;
		return 0;
	}
	if (!dir->node)
		return -ENOENT;
	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	r = dir->mnt->ops->lookup(dir->node, name, &node);
	if (r)
		return r;
	r = node_mode(dir->mnt, node, &mode);
	if (r) {
		dir->mnt->ops->release(node);
		return r;
	}
	if (n_dentries > VFS_MAX_DENTRIES)
		for (size_t i = 0; i < n_mounts; i++)
			prune(mounts[i]->root);
	d = d_alloc(dir, dir->mnt, name, node, mode);
	if (!d) {
		dir->mnt->ops->release(node);
		return -ENOMEM;
	}
	d->refs++;
	*out = d;
	return 0;
}

void vfs_path_get(const struct vfs_path *p)
{
	if (!p->d)
		return;
	pthread_mutex_lock(&vfs_lock);
	p->d->refs++;
	pthread_mutex_unlock(&vfs_lock);
}

void vfs_path_put(struct vfs_path *p)
{
	if (!p->d)
		return;
	pthread_mutex_lock(&vfs_lock);
	d_put_locked(p->d);
	pthread_mutex_unlock(&vfs_lock);
	p->d = NULL;
	p->mnt = NULL;
}

/* set - replace *@cur with (@mnt, @d) taking a reference (lock held). */
static void set(struct vfs_path *cur, struct vfs_mount *mnt, struct dentry *d)
{
	d->refs++;
	d_put_locked(cur->d);
	cur->mnt = mnt;
	cur->d = d;
}

bool vfs_is_dir(const struct vfs_path *p)
{
	return p->d && S_ISDIR(p->d->mode);
}

/* ---- mounts and fs contexts ---- */

static int add_mount(struct dentry *mp, struct vfs_mount *parent,
		     const struct sbx_fs_ops *ops, struct sbx_fs *fs,
		     const struct sbx_fs_mount_args *args, const char *target,
		     const char *type)
{
	struct vfs_mount *m = calloc(1, sizeof(*m)), **nm;
	struct sbx_fs_node *root;
	uint32_t mode;
	int r;

	if (!m)
		return -ENOMEM;
	nm = realloc(mounts, (n_mounts + 1) * sizeof(*nm));
	if (!nm) {
		free(m);
		return -ENOMEM;
	}
	mounts = nm;
	m->ops = ops;
	m->fs = fs;
	m->readonly = args->readonly;
	m->dev = makedev(0, 0x20 + (unsigned)n_mounts);
	m->id = 21 + (int)n_mounts;
	m->target = strdup(target);
	m->type = strdup(type);
	r = ops->mount(fs, args, &m->m, &root);
	if (r)
		goto out_free;
	r = node_mode(m, root, &mode);
	if (r)
		goto out_release;
	r = -ENOMEM;
	m->root = d_alloc(NULL, m, "/", root, mode);
	if (!m->root)
		goto out_release;
	m->parent = parent;
	m->mountpoint = mp;
	if (mp) {
		mp->refs++;
		mp->mounted = m;
	}
	mounts[n_mounts++] = m;
	if (!parent)
		root_mnt = m;
	return 0;
out_release:
	ops->release(root);
	if (SBX_OPS_HAS(ops, umount))
		ops->umount(m->m);
out_free:
	free(m->target);
	free(m->type);
	free(m);
	return r;
}

int vfs_init_root(const struct sbx_fs_ops *ops, struct sbx_fs *fs,
		  const struct sbx_fs_mount_args *args, const char *type)
{
	int r;

	pthread_mutex_lock(&vfs_lock);
	r = root_mnt ? -EBUSY : add_mount(NULL, NULL, ops, fs, args, "/", type);
	pthread_mutex_unlock(&vfs_lock);
	return r;
}

/* top - follow the mount stack on @cur (lock held). */
static void top(struct vfs_path *cur)
{
	while (cur->d->mounted)
		set(cur, cur->d->mounted, cur->d->mounted->root);
}

int vfs_mount(const char *target, const struct sbx_fs_ops *ops,
	      struct sbx_fs *fs, const struct sbx_fs_mount_args *args,
	      const char *type)
{
	struct vfs_path cur = { 0 };
	char *copy = strdup(target), *save = NULL, *name;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	pthread_mutex_lock(&vfs_lock);
	if (!root_mnt) {
		r = -EINVAL;
		goto out;
	}
	set(&cur, root_mnt, root_mnt->root);
	/* each component must exist; missing ones become synthetic mount
	 * points (a read-only host root may lack /proc or /dev) */
	for (name = strtok_r(copy, "/", &save); name;
	     name = strtok_r(NULL, "/", &save)) {
		struct dentry *d;

		if (!strcmp(name, ".") || !strcmp(name, "..")) {
			r = -EINVAL;
			goto out;
		}
		r = d_lookup(cur.d, name, &d);
		if (r == -ENOENT && (cur.d->mnt->ops == &tmpfs_ops ||
				     cur.d->mnt->ops == &overlay_ops) &&
		    !cur.d->mnt->readonly) {
			r = cur.d->mnt->ops->mkdir(cur.d->node, name, 0755);
			if (!r)
				r = d_lookup(cur.d, name, &d);
		}
		if (r == -ENOENT) {
			d = d_alloc(cur.d, cur.mnt, name, NULL, S_IFDIR | 0755);
			r = d ? 0 : -ENOMEM;
			if (d)
				d->refs++;
		}
		if (r)
			goto out;
		set(&cur, cur.mnt, d);
		d_put_locked(d);
		top(&cur);
	}
	r = add_mount(cur.d, cur.mnt, ops, fs, args, target, type);
out:
	if (cur.d)
		d_put_locked(cur.d);
	pthread_mutex_unlock(&vfs_lock);
	free(copy);
	return r;
}

void vfs_fini(void)
{
	/* mounts live as long as the core: providers are finished by their
	 * owners (the gofer plugin's fini) */
}

struct fs_context *fs_context_new(void)
{
	struct fs_context *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return NULL;
	fs->refs = 1;
	pthread_mutex_init(&fs->lock, NULL);
	fs->umask = 022;
	pthread_mutex_lock(&vfs_lock);
	if (root_mnt) {
		set(&fs->root, root_mnt, root_mnt->root);
		top(&fs->root);
		set(&fs->cwd, fs->root.mnt, fs->root.d);
	}
	pthread_mutex_unlock(&vfs_lock);
	return fs;
}

struct fs_context *fs_context_new_cwd(const char *cwd)
{
	struct fs_context *fs = fs_context_new();
	struct vfs_path p;

	if (fs && cwd && vfs_walk(fs, NULL, cwd, WALK_FOLLOW | WALK_DIRECTORY,
				  &p) == 0) {
		vfs_path_put(&fs->cwd);
		fs->cwd = p;
	}
	return fs;
}

void fs_context_get(struct fs_context *fs)
{
	__atomic_add_fetch(&fs->refs, 1, __ATOMIC_RELAXED);
}

struct fs_context *fs_context_clone(struct fs_context *o)
{
	struct fs_context *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return NULL;
	fs->refs = 1;
	pthread_mutex_init(&fs->lock, NULL);
	pthread_mutex_lock(&o->lock);
	fs->umask = o->umask;
	fs->root = o->root;
	fs->cwd = o->cwd;
	vfs_path_get(&fs->root);
	vfs_path_get(&fs->cwd);
	pthread_mutex_unlock(&o->lock);
	return fs;
}

void fs_context_put(struct fs_context *fs)
{
	if (!fs || __atomic_sub_fetch(&fs->refs, 1, __ATOMIC_ACQ_REL))
		return;
	vfs_path_put(&fs->root);
	vfs_path_put(&fs->cwd);
	pthread_mutex_destroy(&fs->lock);
	free(fs);
}

/* ---- the walk ---- */

struct walk {
	struct vfs_path root;	/* the process's root (no reference) */
	struct vfs_path start;	/* for WALK_BENEATH */
	unsigned flags;
	int links;
};

static bool same(const struct vfs_path *a, const struct vfs_path *b)
{
	return a->d == b->d && a->mnt == b->mnt;
}

/* dotdot - "..": never above the root (nor @start with WALK_BENEATH). */
static int dotdot(struct walk *w, struct vfs_path *cur)
{
	for (;;) {
		if (same(cur, &w->root))
			return 0;
		if (w->flags & WALK_BENEATH && same(cur, &w->start))
			return -EXDEV;
		if (cur->d == cur->mnt->root) {
			if (!cur->mnt->parent)
				return 0;
			if (w->flags & WALK_NO_XDEV)
				return -EXDEV;
			set(cur, cur->mnt->parent, cur->mnt->mountpoint);
			continue;
		}
		set(cur, cur->mnt, cur->d->parent);
		return 0;
	}
}

static int walk_path(struct walk *w, struct vfs_path *cur, const char *path,
		     bool parent_only, char *last, bool *trail);
/*
 * follow_magic - a /proc link.  cwd, root and fd/N are "magic": they jump
 * to the object itself (the process's cwd dentry, the open file's path),
 * not to a text, as Linux's nd_jump_link; a file without a path (pipe,
 * socket) becomes an unnamed dentry for the open file itself.  Other proc
 * links (self, exe) are texts.  procfs_follow takes the kernel's locks,
 * which rank below vfs_lock but the fs context's lock ranks above it: so
 * the VFS lock is dropped around it (@cur and @link stay referenced).
 */
static int follow_magic(struct walk *w, struct vfs_path *cur,
			struct dentry *link)
{
	struct vfs_path to = { 0 };
	struct sbx_fs_node *anon = NULL;
	uint32_t mode = 0;
	struct dentry *d;
	int r;

	pthread_mutex_unlock(&vfs_lock);
	r = procfs_follow(link->node, &to, &anon, &mode);
	pthread_mutex_lock(&vfs_lock);
	if (r == 0 && (w->flags & WALK_BENEATH))
		r = -EXDEV; /* openat2: magic links are never beneath */
	if (r) {
		if (to.d)
			d_put_locked(to.d);
		if (anon)
			procfs_ops.release(anon);
		return r;
	}
	if (anon) {
		/* a dentry outside the cache, named like the link */
		d = d_alloc(link->parent, link->mnt, link->name, anon, mode);
		if (!d) {
			procfs_ops.release(anon);
			return -ENOMEM;
		}
		d->refs++;
		d_drop(d);
		set(cur, link->mnt, d);
		d_put_locked(d);
		return 0;
	}
	set(cur, to.mnt, to.d);
	d_put_locked(to.d);
	top(cur);
	return 0;
}

/* follow - replace the symlink at @link (a child of @cur) by its target. */
static int follow(struct walk *w, struct vfs_path *cur, struct dentry *link)
{
	char *target;
	ssize_t n;
	int r;

	if (w->flags & WALK_NO_SYMLINKS)
		return -ELOOP;
	if (++w->links > VFS_MAXSYMLINKS)
		return -ELOOP;
	if (link->mnt->ops == &procfs_ops && procfs_is_magic(link->node))
		return follow_magic(w, cur, link);
	target = malloc(PATH_MAX);
	if (!target)
		return -ENOMEM;
	n = link->mnt->ops->readlink(link->node, target, PATH_MAX - 1);
	if (n < 0) {
		free(target);
		return (int)n;
	}
	target[n] = 0;
	if (n == 0) {
		free(target);
		return -ENOENT;
	}
	r = walk_path(w, cur, target, false, NULL, NULL);
	free(target);
	return r;
}

/*
 * walk_path - resolve @path from *@cur (referenced; replaced by the
 * result).  With @parent_only, stop before the last component and copy
 * it to @last (*@trail: it had a trailing slash).
 */
static int walk_path(struct walk *w, struct vfs_path *cur, const char *path,
		     bool parent_only, char *last, bool *trail)
{
	const char *p = path;
	int r;

	if (*p == '/') {
		if (w->flags & WALK_BENEATH)
			return -EXDEV;
		set(cur, w->root.mnt, w->root.d);
		while (*p == '/')
			p++;
	}
	if (!*p && parent_only) {
		strcpy(last, ".");
		return 0;
	}
	while (*p) {
		const char *e = strchrnul(p, '/');
		size_t len = (size_t)(e - p);
		const char *next = e;
		bool final;
		char name[NAME_MAX + 1];
		struct dentry *d;

		while (*next == '/')
			next++;
		final = !*next;
		if (len > NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(name, p, len);
		name[len] = 0;
		if (!S_ISDIR(cur->d->mode))
			return -ENOTDIR;
		if (final && parent_only) {
			strcpy(last, name);
			if (trail)
				*trail = *e == '/';
			return 0;
		}
		p = next;
		if (!strcmp(name, "."))
			continue;
		if (!strcmp(name, "..")) {
			r = dotdot(w, cur);
			if (r)
				return r;
			continue;
		}
		r = d_lookup(cur->d, name, &d);
		if (r)
			return r;
		if (d->mounted && (w->flags & WALK_NO_XDEV)) {
			d_put_locked(d);
			return -EXDEV;
		}
		if (S_ISLNK(d->mode) && !d->mounted &&
		    (!final || (w->flags & WALK_FOLLOW) || *e == '/')) {
			r = follow(w, cur, d);
			d_put_locked(d);
			if (r)
				return r;
			continue;
		}
		set(cur, cur->mnt, d);
		d_put_locked(d);
		top(cur);
	}
	return 0;
}

static int walk_common(struct fs_context *fs, const struct vfs_path *start,
		       const char *path, unsigned flags, struct vfs_path *out,
		       char *last, bool *trail)
{
	struct walk w = { .flags = flags };
	struct vfs_path cur = { 0 };
	int r;

	if (!*path && !(flags & WALK_EMPTY))
		return -ENOENT;
	pthread_mutex_lock(&fs->lock);
	w.root = fs->root;
	set(&cur, fs->root.mnt, fs->root.d); /* also pins the root */
	if (start && start->d && path[0] != '/')
		set(&cur, start->mnt, start->d);
	else if (path[0] != '/')
		set(&cur, fs->cwd.mnt, fs->cwd.d);
	pthread_mutex_unlock(&fs->lock);
	w.start = cur;
	pthread_mutex_lock(&vfs_lock);
	r = walk_path(&w, &cur, path, last != NULL, last, trail);
	if (!r && (flags & WALK_DIRECTORY) && !S_ISDIR(cur.d->mode))
		r = -ENOTDIR;
	if (!r && last && !S_ISDIR(cur.d->mode))
		r = -ENOTDIR;
	pthread_mutex_unlock(&vfs_lock);
	if (r) {
		vfs_path_put(&cur);
		return r;
	}
	*out = cur;
	return 0;
}

int vfs_walk(struct fs_context *fs, const struct vfs_path *start,
	     const char *path, unsigned flags, struct vfs_path *out)
{
	size_t n = strlen(path);

	/* "dir/" names a directory and follows a final symlink */
	if (n && path[n - 1] == '/')
		flags |= WALK_DIRECTORY | WALK_FOLLOW;
	return walk_common(fs, start, path, flags, out, NULL, NULL);
}

int vfs_walk_parent(struct fs_context *fs, const struct vfs_path *start,
		    const char *path, unsigned flags, struct vfs_path *dir,
		    char *last)
{
	return walk_common(fs, start, path, flags, dir, last, NULL);
}

/* child - look up @name in @dir, crossing mounts (lock held). */
static int child(const struct vfs_path *dir, const char *name,
		 struct vfs_path *out)
{
	struct dentry *d;
	int r = d_lookup(dir->d, name, &d);

	if (r)
		return r;
	out->mnt = dir->mnt;
	out->d = d;
	top(out);
	return 0;
}

/* ---- open ---- */

static bool is_dot(const char *n)
{
	return !strcmp(n, ".") || !strcmp(n, "..");
}

extern const struct file_ops node_file_ops, path_file_ops;

int vfs_open_path(const struct vfs_path *p, int flags, struct file **out)
{
	const struct sbx_fs_ops *ops = p->mnt->ops;
	int acc = flags & O_ACCMODE, host_fd = -1, r;
	struct sbx_fs_attr a = { .size = sizeof(a) };
	struct file *f;

	if (flags & O_PATH) {
		f = file_new(&path_file_ops, flags & (O_PATH | O_DIRECTORY |
			     O_NOFOLLOW | O_CLOEXEC), -1, p);
		if (!f)
			return -ENOMEM;
		*out = f;
		return 0;
	}
	if (!p->d->node)
		return -ENOENT;
	if ((flags & O_DIRECTORY) && !S_ISDIR(p->d->mode))
		return -ENOTDIR;
	if (S_ISLNK(p->d->mode))
		return -ELOOP;
	if (S_ISDIR(p->d->mode) && (acc != O_RDONLY || (flags & O_TRUNC) ||
				    (flags & O_CREAT)))
		return -EISDIR;
	if (acc == 3)
		return -EINVAL;
	if ((acc != O_RDONLY || (flags & O_TRUNC)) && p->mnt->readonly &&
	    !S_ISCHR(p->d->mode) && !S_ISFIFO(p->d->mode))
		return -EROFS;
	/* /proc files: content made now, held by the open file (and fd/N
	 * of a pipe or tty: that open file itself) */
	if (ops == &procfs_ops && !S_ISDIR(p->d->mode))
		return procfs_open(p, flags, out);
	if (S_ISCHR(p->d->mode)) {
		r = ops->getattr(p->d->node, &a);
		if (r)
			return r;
		return chrdev_open(a.rdev, flags, p, out);
	}
	if (S_ISFIFO(p->d->mode)) {
		/* served by the core (kernel/fifo.c), never by the provider:
		 * a host FIFO would be a channel out of the sandbox */
		f = file_new(&fifo_file_ops, (flags & ~(O_CREAT | O_EXCL |
			     O_NOCTTY | O_TRUNC | O_CLOEXEC)) | K_O_LARGEFILE,
			     -1, p);
		if (!f)
			return -ENOMEM;
		*out = f;
		return 0;
	}
	if (S_ISSOCK(p->d->mode) || S_ISBLK(p->d->mode))
		return -ENXIO;
	r = SBX_OPS_HAS(ops, open) ? ops->open(p->d->node, flags & (O_ACCMODE |
			O_APPEND | O_TRUNC | O_DIRECTORY | O_NONBLOCK), &host_fd)
				   : -EOPNOTSUPP;
	if (r && r != -EOPNOTSUPP)
		return r;
	if (r == -EOPNOTSUPP) {
		host_fd = -1;
		if ((flags & O_TRUNC) && S_ISREG(p->d->mode) && acc != O_RDONLY) {
			a.size_bytes = 0;
			r = vfs_setattr(p, &a, SBX_FS_ATTR_SIZE);
			if (r)
				return r;
		}
	}
	flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC);
	f = file_new(host_fd >= 0 ? &host_file_ops
		     : S_ISDIR(p->d->mode) && ops == &overlay_ops
		     ? &overlay_dir_file_ops : &node_file_ops,
		     flags | K_O_LARGEFILE, host_fd, p);
	if (!f) {
		if (host_fd >= 0)
			close(host_fd);
		return -ENOMEM;
	}
	*out = f;
	return 0;
}

int vfs_open(struct fs_context *fs, const struct vfs_path *start,
	     const char *path, int flags, uint32_t mode, unsigned wflags,
	     struct file **out)
{
	struct vfs_path dir = { 0 }, p = { 0 };
	char last[NAME_MAX + 1];
	bool trail = false;
	int r;

	if (!(flags & O_NOFOLLOW))
		wflags |= WALK_FOLLOW;
	if (flags & O_DIRECTORY)
		wflags |= WALK_DIRECTORY;
	if (!(flags & O_CREAT) || (flags & O_PATH)) {
		r = vfs_walk(fs, start, path, wflags, &p);
		if (r)
			return r;
		if (S_ISLNK(p.d->mode) && !(flags & O_PATH)) {
			vfs_path_put(&p);
			return -ELOOP;
		}
		goto open;
	}
	if (!*path)
		return -ENOENT;
	r = walk_common(fs, start, path, wflags, &dir, last, &trail);
	if (r)
		return r;
	if (is_dot(last) || trail) {
		r = -EISDIR;
		goto out_dir;
	}
	pthread_mutex_lock(&vfs_lock);
	r = child(&dir, last, &p);
	if (r == 0 && (flags & O_EXCL))
		r = -EEXIST;
	if (r == 0 && S_ISLNK(p.d->mode)) {
		/* follow it: open the whole path again without O_CREAT's
		 * creation (a dangling link creates in Linux; rare) */
		pthread_mutex_unlock(&vfs_lock);
		vfs_path_put(&p);
		vfs_path_put(&dir);
		if (flags & O_NOFOLLOW)
			return -ELOOP;
		r = vfs_walk(fs, start, path, wflags, &p);
		if (r)
			return r;
		goto open;
	}
	if (r == -ENOENT) {
		const struct sbx_fs_ops *ops = dir.mnt->ops;
		struct sbx_fs_node *node;
		int host_fd = -1;

		if (!dir.d->node)
			r = -ENOENT;
		else if (dir.mnt->readonly)
			r = -EROFS;
		else if (!SBX_OPS_HAS(ops, create))
			r = -EPERM;
		else
			r = ops->create(dir.d->node, last, mode & ~fs->umask & 07777,
					flags & (O_ACCMODE | O_APPEND | O_NONBLOCK),
					&node, &host_fd);
		if (r == 0) {
			struct dentry *d = d_alloc(dir.d, dir.mnt, last, node,
						   S_IFREG);

			if (!d) {
				ops->release(node);
				if (host_fd >= 0)
					close(host_fd);
				r = -ENOMEM;
			} else {
				struct file *f;

				d->refs++;
				p.mnt = dir.mnt;
				p.d = d;
				pthread_mutex_unlock(&vfs_lock);
				vfs_path_put(&dir);
				flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC |
					   O_CLOEXEC);
				f = file_new(host_fd >= 0 ? &host_file_ops
							  : &node_file_ops,
					     flags | K_O_LARGEFILE, host_fd, &p);
				vfs_path_put(&p);
				if (!f) {
					if (host_fd >= 0)
						close(host_fd);
					return -ENOMEM;
				}
				*out = f;
				return 0;
			}
		}
	}
	pthread_mutex_unlock(&vfs_lock);
	vfs_path_put(&dir);
	if (r)
		goto out_p;
open:
	r = vfs_open_path(&p, flags, out);
out_p:
	vfs_path_put(&p);
	return r;
out_dir:
	vfs_path_put(&dir);
	return r;
}

/*
 * O_TMPFILE: the file is created under a unique hidden name and unlinked
 * at once, so it is a provider's ordinary unlinked-but-open file; its
 * dentry is dead but marked linkable, which is all linkat needs.  Only
 * mounts whose files live in core memory (tmpfs, the overlay's upper
 * layer) support it, as Linux's O_TMPFILE needs file-system support.
 */
int vfs_open_tmpfile(struct fs_context *fs, const struct vfs_path *start,
		     const char *path, int flags, uint32_t mode,
		     struct file **out)
{
	static unsigned long seq;
	struct vfs_path dir;
	char name[48];
	struct file *f;
	int r;

	r = vfs_walk(fs, start, path, WALK_FOLLOW | WALK_DIRECTORY, &dir);
	if (r)
		return r;
	if (dir.mnt->readonly)
		r = -EROFS;
	else if (strcmp(dir.mnt->type, "tmpfs") && strcmp(dir.mnt->type, "overlay"))
		r = -EOPNOTSUPP;
	vfs_path_put(&dir);
	if (r)
		return r;
	snprintf(name, sizeof(name), ".sbx-tmpfile-%lu-%d",
		 __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED), getpid());
	/* the directory itself is the start of the two relative walks */
	r = vfs_walk(fs, start, path, WALK_FOLLOW | WALK_DIRECTORY, &dir);
	if (r)
		return r;
	r = vfs_open(fs, &dir, name, (flags & ~(O_TMPFILE | O_DIRECTORY)) |
		     O_CREAT | O_EXCL | O_NOFOLLOW, mode, 0, &f);
	if (!r) {
		pthread_mutex_lock(&vfs_lock);
		f->path.d->linkable = !(flags & O_EXCL);
		pthread_mutex_unlock(&vfs_lock);
		r = vfs_unlink(fs, &dir, name, 0);
		if (r)
			file_put(f);
	}
	vfs_path_put(&dir);
	if (!r)
		*out = f;
	return r;
}

/* ---- files no path reaches ---- */

/* the internal tmpfs of memfd_create's files: in no mount table (never
 * in /proc/mounts, never reachable by a walk), made on first use */
static struct vfs_mount *anon_mnt;
static uint64_t anon_seq;

static int anon_mount(void)
{
	struct sbx_fs_mount_args args = { .size = sizeof(args),
					  .size_limit = 32ULL << 30 };
	struct vfs_mount *m;
	struct sbx_fs_node *root;
	int r;

	if (anon_mnt)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->ops = &tmpfs_ops;
	m->dev = makedev(0, 0x1f); /* below the numbers add_mount hands out */
	m->target = strdup("/");
	m->type = strdup("tmpfs");
	r = tmpfs_ops.mount(NULL, &args, &m->m, &root);
	if (r)
		goto out_free;
	m->root = d_alloc(NULL, m, "/", root, S_IFDIR | 01777);
	if (!m->root || !m->target || !m->type) {
		r = -ENOMEM;
		goto out_free; /* the tmpfs instance leaks: start-up OOM only */
	}
	anon_mnt = m;
	return 0;
out_free:
	free(m->target);
	free(m->type);
	free(m);
	return r;
}

int vfs_anon_file(const char *name, uint32_t mode, struct file **out)
{
	struct sbx_fs_node *dir, *node;
	struct vfs_path p = { 0 };
	char tmp[32];
	int r;

	pthread_mutex_lock(&vfs_lock);
	r = anon_mount();
	if (r)
		goto out_unlock;
	dir = anon_mnt->root->node;
	/* created under a unique name and unlinked at once: nlink 0, kept
	 * alive by the dentry's reference alone */
	snprintf(tmp, sizeof(tmp), "anon.%llu", (unsigned long long)anon_seq++);
	r = tmpfs_ops.create(dir, tmp, mode & 07777, O_RDWR, &node, NULL);
	if (r)
		goto out_unlock;
	tmpfs_ops.unlink(dir, tmp, 0);
	/* a child of the internal root, dropped from the cache at once:
	 * dead (unlinked), and its path is "/" + name */
	p.mnt = anon_mnt;
	p.d = d_alloc(anon_mnt->root, anon_mnt, name, node, S_IFREG);
	if (!p.d) {
		tmpfs_ops.release(node);
		r = -ENOMEM;
		goto out_unlock;
	}
	p.d->refs++;
	d_drop(p.d);
	pthread_mutex_unlock(&vfs_lock);
	r = vfs_open_path(&p, O_RDWR, out);
	vfs_path_put(&p);
	return r;
out_unlock:
	pthread_mutex_unlock(&vfs_lock);
	return r;
}

/* ---- other operations ---- */

int vfs_stat(const struct vfs_path *p, struct k_stat *st)
{
	struct sbx_fs_attr a = { .size = sizeof(a) };
	int r;

	memset(st, 0, sizeof(*st));
	if (!p->d->node) {
		/* a synthetic mount point with nothing mounted (cannot
		 * happen after top()): an empty directory */
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	r = p->mnt->ops->getattr(p->d->node, &a);
	if (r)
		return r;
	/* providers serving host files report the host's device */
	st->st_dev = a.size >= offsetof(struct sbx_fs_attr, dev) + 8 && a.dev
		     ? a.dev : p->mnt->dev;
	st->st_ino = a.ino;
	st->st_nlink = a.nlink;
	st->st_mode = a.mode;
	st->st_uid = a.uid;
	st->st_gid = a.gid;
	st->st_rdev = a.rdev;
	st->st_size = (int64_t)a.size_bytes;
	st->st_blksize = 4096;
	st->st_blocks = (int64_t)a.blocks;
	st->st_atim = (struct k_timespec){ a.atime_ns / 1000000000,
					   a.atime_ns % 1000000000 };
	st->st_mtim = (struct k_timespec){ a.mtime_ns / 1000000000,
					   a.mtime_ns % 1000000000 };
	st->st_ctim = (struct k_timespec){ a.ctime_ns / 1000000000,
					   a.ctime_ns % 1000000000 };
	return 0;
}

ssize_t vfs_readlink(const struct vfs_path *p, char *buf, size_t len)
{
	if (!S_ISLNK(p->d->mode) || !SBX_OPS_HAS(p->mnt->ops, readlink))
		return -EINVAL;
	return p->mnt->ops->readlink(p->d->node, buf, len);
}

/* parent_op - walk to the parent of @path and check it is writable. */
static int parent_op(struct fs_context *fs, const struct vfs_path *start,
		     const char *path, struct vfs_path *dir, char *last,
		     bool *trail)
{
	int r;

	if (!*path)
		return -ENOENT;
	r = walk_common(fs, start, path, 0, dir, last, trail);
	if (r)
		return r;
	if (!dir->d->node) {
		vfs_path_put(dir);
		return -ENOENT;
	}
	return 0;
}

int vfs_mknod(struct fs_context *fs, const struct vfs_path *start,
	      const char *path, uint32_t mode, uint32_t dev)
{
	struct vfs_path dir;
	char last[NAME_MAX + 1];
	bool trail = false;
	struct vfs_path c = { 0 };
	int r = parent_op(fs, start, path, &dir, last, &trail);

	if (r)
		return r;
	pthread_mutex_lock(&vfs_lock);
	if (is_dot(last)) {
		r = -EEXIST;
		goto out;
	}
	r = child(&dir, last, &c);
	if (r == 0) {
		d_put_locked(c.d);
		r = -EEXIST;
	}
	if (r != -ENOENT)
		goto out;
	if (dir.mnt->readonly)
		r = -EROFS;
	else if (trail && !S_ISDIR(mode))
		r = -ENOENT;
	else if (S_ISDIR(mode))
		r = SBX_OPS_HAS(dir.mnt->ops, mkdir)
			? dir.mnt->ops->mkdir(dir.d->node, last,
					      mode & ~fs->umask & 07777)
			: -EPERM;
	else if (SBX_OPS_HAS(dir.mnt->ops, mknod))
		r = dir.mnt->ops->mknod(dir.d->node, last,
					(mode & S_IFMT) | (mode & ~fs->umask & 07777),
					dev);
	else
		r = -EPERM;
out:
	pthread_mutex_unlock(&vfs_lock);
	vfs_path_put(&dir);
	return r;
}

int vfs_mkdir(struct fs_context *fs, const struct vfs_path *start,
	      const char *path, uint32_t mode)
{
	return vfs_mknod(fs, start, path, S_IFDIR | (mode & 07777), 0);
}

int vfs_unlink(struct fs_context *fs, const struct vfs_path *start,
	       const char *path, int flags)
{
	struct vfs_path dir, p = { 0 };
	char last[NAME_MAX + 1];
	bool trail = false;
	int r = parent_op(fs, start, path, &dir, last, &trail);

	if (r)
		return r;
	pthread_mutex_lock(&vfs_lock);
	if (!strcmp(last, "."))
		r = flags & AT_REMOVEDIR ? -EINVAL : -EISDIR;
	else if (!strcmp(last, ".."))
		r = flags & AT_REMOVEDIR ? -ENOTEMPTY : -EISDIR;
	else
		r = child(&dir, last, &p);
	if (r)
		goto out;
	if (p.mnt != dir.mnt || p.d->mounted) {
		r = -EBUSY;
	} else if (trail && !S_ISDIR(p.d->mode)) {
		r = -ENOTDIR;
	} else if (dir.mnt->readonly) {
		r = -EROFS;
	} else if (!SBX_OPS_HAS(dir.mnt->ops, unlink)) {
		r = -EPERM;
	} else {
		r = dir.mnt->ops->unlink(dir.d->node, last, flags & AT_REMOVEDIR);
		if (!r)
			d_drop(p.d);
	}
	d_put_locked(p.d);
out:
	pthread_mutex_unlock(&vfs_lock);
	vfs_path_put(&dir);
	return r;
}

int vfs_rename(struct fs_context *fs, const struct vfs_path *ostart,
	       const char *opath, const struct vfs_path *nstart,
	       const char *npath, unsigned flags)
{
	struct vfs_path od, nd, op = { 0 }, np = { 0 };
	char olast[NAME_MAX + 1], nlast[NAME_MAX + 1];
	bool ot = false, nt = false;
	int r;

	if ((flags & RENAME_EXCHANGE) && (flags & RENAME_NOREPLACE))
		return -EINVAL;
	if (flags & ~(RENAME_EXCHANGE | RENAME_NOREPLACE))
		return -EINVAL;
	r = parent_op(fs, ostart, opath, &od, olast, &ot);
	if (r)
		return r;
	r = parent_op(fs, nstart, npath, &nd, nlast, &nt);
	if (r)
		goto out_od;
	pthread_mutex_lock(&vfs_lock);
	if (is_dot(olast) || is_dot(nlast)) {
		r = -EBUSY;
		goto out;
	}
	r = child(&od, olast, &op);
	if (r)
		goto out;
	r = child(&nd, nlast, &np);
	if (r && r != -ENOENT)
		goto out;
	if (od.mnt != nd.mnt || op.mnt != od.mnt || (np.d && np.mnt != nd.mnt)) {
		r = -EXDEV;
	} else if (op.d->mounted || (np.d && np.d->mounted)) {
		r = -EBUSY;
	} else if ((ot || nt) && !S_ISDIR(op.d->mode)) {
		r = -ENOTDIR;
	} else if (od.mnt->readonly) {
		r = -EROFS;
	} else if (!SBX_OPS_HAS(od.mnt->ops, rename)) {
		r = -EPERM;
	} else {
		r = od.mnt->ops->rename(od.d->node, olast, nd.d->node, nlast,
					flags);
		if (!r) {
			d_drop(op.d);
			if (np.d)
				d_drop(np.d);
		}
	}
out:
	if (op.d)
		d_put_locked(op.d);
	if (np.d)
		d_put_locked(np.d);
	pthread_mutex_unlock(&vfs_lock);
	vfs_path_put(&nd);
out_od:
	vfs_path_put(&od);
	return r;
}

/* no_names - the file at @p has no directory entry left (vfs_lock). */
static bool no_names(const struct vfs_path *p)
{
	struct sbx_fs_attr a = { .size = sizeof(a) };

	return !p->d->node || p->mnt->ops->getattr(p->d->node, &a) ||
	       a.nlink == 0;
}

int vfs_link(struct fs_context *fs, const struct vfs_path *ostart,
	     const char *opath, const struct vfs_path *nstart,
	     const char *npath, unsigned wflags)
{
	struct vfs_path op, nd, np = { 0 };
	char nlast[NAME_MAX + 1];
	bool nt = false;
	int r = vfs_walk(fs, ostart, opath, wflags, &op);

	if (r)
		return r;
	r = parent_op(fs, nstart, npath, &nd, nlast, &nt);
	if (r)
		goto out_op;
	pthread_mutex_lock(&vfs_lock);
	if (is_dot(nlast)) {
		r = -EEXIST;
	} else if ((r = child(&nd, nlast, &np)) != -ENOENT) {
		r = r ? r : -EEXIST;
	} else if (S_ISDIR(op.d->mode)) {
		r = -EPERM;
	} else if (op.d->dead && !op.d->linkable && no_names(&op)) {
		r = -ENOENT; /* an unlinked file cannot come back */
	} else if (op.mnt != nd.mnt) {
		r = -EXDEV;
	} else if (nd.mnt->readonly) {
		r = -EROFS;
	} else if (!SBX_OPS_HAS(nd.mnt->ops, link)) {
		r = -EPERM;
	} else {
		r = nd.mnt->ops->link(op.d->node, nd.d->node, nlast);
		if (!r)
			op.d->linkable = false; /* as Linux clears I_LINKABLE */
	}
	if (np.d)
		d_put_locked(np.d);
	pthread_mutex_unlock(&vfs_lock);
	vfs_path_put(&nd);
out_op:
	vfs_path_put(&op);
	return r;
}

int vfs_symlink(struct fs_context *fs, const char *target,
		const struct vfs_path *start, const char *path)
{
	struct vfs_path dir, p = { 0 };
	char last[NAME_MAX + 1];
	bool trail = false;
	int r;

	if (!*target)
		return -ENOENT;
	r = parent_op(fs, start, path, &dir, last, &trail);
	if (r)
		return r;
	pthread_mutex_lock(&vfs_lock);
	if (is_dot(last))
		r = -EEXIST;
	else if ((r = child(&dir, last, &p)) != -ENOENT)
		r = r ? r : -EEXIST;
	else if (dir.mnt->readonly)
		r = -EROFS;
	else if (!SBX_OPS_HAS(dir.mnt->ops, symlink))
		r = -EPERM;
	else
		r = dir.mnt->ops->symlink(dir.d->node, last, target);
	if (p.d)
		d_put_locked(p.d);
	pthread_mutex_unlock(&vfs_lock);
	vfs_path_put(&dir);
	return r;
}

int vfs_setattr(const struct vfs_path *p, const struct sbx_fs_attr *a,
		uint32_t mask)
{
	if (!p->d->node)
		return -EPERM;
	if (p->mnt->readonly)
		return -EROFS;
	if (!SBX_OPS_HAS(p->mnt->ops, setattr))
		return -EPERM;
	return p->mnt->ops->setattr(p->d->node, a, mask);
}

int vfs_statfs(const struct vfs_path *p, struct statfs *out)
{
	int r;

	if (!SBX_OPS_HAS(p->mnt->ops, statfs)) {
		memset(out, 0, sizeof(*out));
		out->f_bsize = 4096;
		out->f_namelen = 255;
		return 0;
	}
	r = p->mnt->ops->statfs(p->mnt->m, out);
	if (!r && p->mnt->readonly)
		out->f_flags |= ST_RDONLY;
	return r;
}

int vfs_access(const struct vfs_path *p, int mode, uint32_t uid)
{
	struct k_stat st;
	int r;

	if ((mode & W_OK) && p->mnt->readonly && !S_ISCHR(p->d->mode))
		return -EROFS;
	if (!(mode & X_OK) && uid == 0)
		return 0;
	r = vfs_stat(p, &st);
	if (r)
		return r;
	if (uid == 0) /* root: X needs some x bit, except on directories */
		return S_ISDIR(st.st_mode) || (st.st_mode & 0111) ? 0 : -EACCES;
	{
		unsigned bits = st.st_uid == uid ? (st.st_mode >> 6) & 7
						 : st.st_mode & 7;
		if ((mode & R_OK && !(bits & 4)) || (mode & W_OK && !(bits & 2)) ||
		    (mode & X_OK && !(bits & 1)))
			return -EACCES;
	}
	return 0;
}

int vfs_getpath(struct fs_context *fs, const struct vfs_path *p, char *buf,
		size_t len)
{
	bool deleted = false;
	int r = vfs_d_path(fs, p, buf, len, &deleted);

	return r >= 0 && deleted ? -ENOENT : r;
}

/*
 * path_locked - the path of (@mnt, @d) as seen from @root, built backwards
 * into @tmp (PATH_MAX bytes) ending at tmp[PATH_MAX-1]; *@at gets its start.
 * Lock held.
 */
static int path_locked(const struct vfs_path *root, struct vfs_mount *mnt,
		       struct dentry *d, char *tmp, size_t *at)
{
	size_t a = PATH_MAX - 1;

	tmp[a] = 0;
	while (!(d == root->d && mnt == root->mnt)) {
		size_t n;

		if (d == mnt->root) {
			if (!mnt->parent)
				break; /* outside the root (cannot happen) */
			d = mnt->mountpoint;
			mnt = mnt->parent;
			continue;
		}
		n = strlen(d->name);
		if (a < n + 2)
			return -ENAMETOOLONG;
		a -= n;
		memcpy(tmp + a, d->name, n);
		tmp[--a] = '/';
		d = d->parent;
	}
	if (a == PATH_MAX - 1)
		tmp[--a] = '/';
	*at = a;
	return 0;
}

int vfs_d_path(struct fs_context *fs, const struct vfs_path *p, char *buf,
	       size_t len, bool *deleted)
{
	struct vfs_path root;
	char *tmp = malloc(PATH_MAX);
	size_t at = 0;
	int r;

	if (!tmp)
		return -ENOMEM;
	pthread_mutex_lock(&fs->lock);
	root = fs->root;
	pthread_mutex_unlock(&fs->lock);
	pthread_mutex_lock(&vfs_lock);
	r = path_locked(&root, p->mnt, p->d, tmp, &at);
	*deleted = p->d->dead;
	pthread_mutex_unlock(&vfs_lock);
	if (!r && PATH_MAX - at > len)
		r = -ERANGE;
	if (!r) {
		memcpy(buf, tmp + at, PATH_MAX - at);
		r = (int)(PATH_MAX - 1 - at);
	}
	free(tmp);
	return r;
}

/* under_root - @m is @root's mount or mounted below it (lock held). */
static bool under_root(const struct vfs_path *root, struct vfs_mount *m)
{
	for (; m; m = m->parent) {
		if (m == root->mnt)
			return true;
	}
	return false;
}

int vfs_mounts_foreach(struct fs_context *fs,
		       void (*fn)(void *arg, const struct vfs_mount_info *mi),
		       void *arg)
{
	struct vfs_path root;
	char *tmp = malloc(PATH_MAX);
	int r = 0;

	if (!tmp)
		return -ENOMEM;
	pthread_mutex_lock(&fs->lock);
	root = fs->root;
	pthread_mutex_unlock(&fs->lock);
	pthread_mutex_lock(&vfs_lock);
	for (size_t i = 0; i < n_mounts; i++) {
		struct vfs_mount *m = mounts[i];
		struct vfs_mount_info mi = {
			.id = m->id, .parent_id = m->parent ? m->parent->id : 1,
			.dev = m->dev, .type = m->type, .readonly = m->readonly,
		};
		size_t at;

		if (!under_root(&root, m) ||
		    path_locked(&root, m, m->root, tmp, &at))
			continue;
		mi.path = tmp + at;
		fn(arg, &mi);
	}
	pthread_mutex_unlock(&vfs_lock);
	free(tmp);
	return r;
}

int vfs_mount_id(const struct vfs_path *p)
{
	return p->mnt ? p->mnt->id : 0;
}
