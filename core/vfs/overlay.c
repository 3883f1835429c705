/*
 * overlay: the writable sandbox root of `filesystem.root.overlay: memory`.
 * An in-memory upper layer (a private instance of the built-in tmpfs)
 * stacked over a read-only lower provider (the gofer-served host root),
 * with Linux overlayfs semantics where an application can see them.
 *
 * Divided into: the metadata side table, nodes and lookup, copy-up,
 * creating in the upper layer (temporary names, whiteouts), merged
 * listings, the provider ops, and the open-directory file ops.
 *
 * Representation (decisions, with why):
 * - A whiteout is a character device 0/0 in the upper tmpfs, as in Linux.
 *   The application cannot forge one: mknod of character devices is EPERM
 *   in the sandbox (no CAP_MKNOD).
 * - tmpfs has no xattrs, so what Linux keeps in trusted.overlay.* lives in
 *   a side table keyed by upper inode number (tmpfs never reuses one):
 *   "opaque" for directories made over a whiteout (rmdir + mkdir) and
 *   "origin", the lower inode a node was copied up from.  st_ino and d_ino
 *   are the origin for copied-up nodes (stable across copy-up, as overlayfs
 *   with an origin), the lower inode for lower-only nodes, and upper inode
 *   | OVL_UPPER_INO for nodes born in the upper layer (no clash with host
 *   inode numbers; Linux's xino puts its layer tag in high bits too).
 * - Each lookup makes a new node holding the upper and/or lower provider
 *   node.  The VFS keeps one live dentry per name, so in practice one node
 *   per name; copy-up still checks what the upper directory holds and
 *   adopts only its own copy (same origin), so a stale node (its name was
 *   unlinked or renamed away meanwhile) gets ENOENT instead of resurrecting
 *   the lower file.
 * - Every change that replaces an upper entry (a whiteout by a new file, a
 *   file by a whiteout) first builds the new entry under a temporary name,
 *   then moves the old one aside and renames the new one in, so a failure
 *   (ENOSPC) leaves the old state and a lower name never reappears.  All
 *   of it runs under the overlay's lock, so nobody sees the temporary
 *   names: the upper tmpfs is reachable only through this file.
 * - Directories with a lower part are not renamed (EXDEV), as overlayfs
 *   without redirect_dir; mv falls back to copying.
 * - Listings of an open directory are built at its first getdents and kept
 *   in the struct file (overlay_dir_file_ops), so cookies are indexes into
 *   a stable list and copy-ups or unlinks during a listing neither skip
 *   nor repeat entries; seeking to 0 rebuilds it (rewinddir sees changes).
 *
 * Locking: one mutex per overlay (o->lock) for every metadata operation,
 * copy-up included; it nests inside vfs_lock and outside the tmpfs and
 * lower providers' locks.  File data moves outside it: an upper node, once
 * set, never changes, and reads of unmodified lower files go straight to
 * the host fd the lower provider donates.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "vfs.h"

#define OVL_MAGIC 0x794c7630 /* OVERLAYFS_SUPER_MAGIC */
#define OVL_UPPER_INO (1ULL << 62)
#define COPY_CHUNK (256u << 10)

/* what overlay_fs_new hands to mount: the already mounted lower layer */
struct ovl_conf {
	const struct sbx_fs_ops *lops;
	struct sbx_fs_mnt *lmnt;
	struct sbx_fs_node *lroot;
};

struct meta {
	uint64_t ino;	 /* upper inode; 0 = free slot */
	uint64_t origin; /* lower inode copied up from, 0 = none */
	bool opaque;	 /* directory hides the lower directory of its name */
};

struct ovl {
	pthread_mutex_t lock;
	const struct sbx_fs_ops *lops;
	struct sbx_fs_mnt *lmnt, *umnt;
	struct meta *meta;
	size_t meta_cap, meta_n;
	unsigned tmp_seq;
};

struct onode {
	struct ovl *o;
	int refs;		  /* under o->lock */
	struct onode *parent;	  /* referenced; NULL for the root */
	char *name;		  /* in parent, for copy-up */
	struct sbx_fs_node *upper;/* set once (copy-up); atomic loads */
	struct sbx_fs_node *lower;/* NULL: upper only (or opaque) */
	uint32_t mode;		  /* S_IFMT, 0 until known */
};

/* ---- the side table ---- */

static size_t meta_slot(uint64_t ino, size_t cap)
{
	return (size_t)((ino * 0x9e3779b97f4a7c15ULL) >> 20) & (cap - 1);
}

static struct meta *meta_find(struct ovl *o, uint64_t ino)
{
	if (!o->meta_cap)
		return NULL;
	for (size_t i = meta_slot(ino, o->meta_cap); o->meta[i].ino;
	     i = (i + 1) & (o->meta_cap - 1))
		if (o->meta[i].ino == ino)
			return &o->meta[i];
	return NULL;
}

/* meta_get - the entry for @ino, created empty.  NULL on ENOMEM. */
static struct meta *meta_get(struct ovl *o, uint64_t ino)
{
	struct meta *m = meta_find(o, ino);
	size_t i;

	if (m)
		return m;
	if ((o->meta_n + 1) * 2 > o->meta_cap) {
		size_t cap = o->meta_cap ? o->meta_cap * 2 : 64;
		struct meta *v = calloc(cap, sizeof(*v));

		if (!v)
			return NULL;
		for (size_t j = 0; j < o->meta_cap; j++) {
			if (!o->meta[j].ino)
				continue;
			for (i = meta_slot(o->meta[j].ino, cap); v[i].ino;
			     i = (i + 1) & (cap - 1))
				;
			v[i] = o->meta[j];
		}
		free(o->meta);
		o->meta = v;
		o->meta_cap = cap;
	}
	for (i = meta_slot(ino, o->meta_cap); o->meta[i].ino;
	     i = (i + 1) & (o->meta_cap - 1))
		;
	o->meta[i].ino = ino;
	o->meta_n++;
	return &o->meta[i];
}

static uint64_t map_ino(struct ovl *o, uint64_t uino)
{
	struct meta *m = meta_find(o, uino);

	return m && m->origin ? m->origin : uino | OVL_UPPER_INO;
}

/* ---- nodes and lookup ---- */

static struct sbx_fs_node *upper_of(struct onode *n)
{
	return __atomic_load_n(&n->upper, __ATOMIC_ACQUIRE);
}

static int uattr(struct sbx_fs_node *u, struct sbx_fs_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	return tmpfs_ops.getattr(u, a);
}

static int lattr(struct ovl *o, struct sbx_fs_node *l, struct sbx_fs_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	return o->lops->getattr(l, a);
}

static bool is_whiteout(const struct sbx_fs_attr *a)
{
	return S_ISCHR(a->mode) && a->rdev == 0;
}

/* up_find - @name in upper directory @ud, whiteouts included: 0 with a
 * referenced *@out and its attributes, or -ENOENT ... */
static int up_find(struct sbx_fs_node *ud, const char *name,
		   struct sbx_fs_node **out, struct sbx_fs_attr *a)
{
	int r = tmpfs_ops.lookup(ud, name, out);

	if (r)
		return r;
	r = uattr(*out, a);
	if (r)
		tmpfs_ops.release(*out);
	return r;
}

static struct onode *onode_new(struct onode *parent, const char *name,
			       struct sbx_fs_node *u, struct sbx_fs_node *l,
			       uint32_t mode)
{
	struct onode *n = calloc(1, sizeof(*n));

	if (!n || !(n->name = strdup(name))) {
		free(n);
		return NULL;
	}
	n->o = parent->o;
	n->refs = 1;
	n->parent = parent;
	parent->refs++;
	n->upper = u;
	n->lower = l;
	n->mode = mode & S_IFMT;
	return n;
}

/* put - drop a reference (lock held). */
static void put(struct onode *n)
{
	while (n && --n->refs == 0) {
		struct onode *p = n->parent;

		if (n->upper)
			tmpfs_ops.release(n->upper);
		if (n->lower)
			n->o->lops->release(n->lower);
		free(n->name);
		free(n);
		n = p;
	}
}

/*
 * lookup_locked - @name in merged directory @dir: upper first (a whiteout
 * ends the search; a non-directory or an opaque directory hides the lower
 * name), then lower when @dir has a lower part.  A lower node is kept only
 * where it shows through: alone, or as the lower half of a merged
 * directory.
 */
static int lookup_locked(struct onode *dir, const char *name,
			 struct onode **out)
{
	struct ovl *o = dir->o;
	struct sbx_fs_node *u = NULL, *l = NULL;
	struct sbx_fs_attr ua, la;
	bool look_lower = dir->lower != NULL;
	uint32_t mode = 0;
	struct meta *m;
	int r;

	if (dir->upper) {
		r = up_find(dir->upper, name, &u, &ua);
		if (r && r != -ENOENT)
			return r;
		if (!r) {
			if (is_whiteout(&ua)) {
				tmpfs_ops.release(u);
				return -ENOENT;
			}
			mode = ua.mode;
			m = meta_find(o, ua.ino);
			if (!S_ISDIR(ua.mode) || (m && m->opaque))
				look_lower = false;
		}
	}
	if (look_lower) {
		r = o->lops->lookup(dir->lower, name, &l);
		if (r && r != -ENOENT)
			goto out_release;
		if (!r && u) {
			/* only a lower directory merges with an upper one */
			r = lattr(o, l, &la);
			if (r || !S_ISDIR(la.mode)) {
				o->lops->release(l);
				l = NULL;
				if (r)
					goto out_release;
			}
		}
	}
	if (!u && !l)
		return -ENOENT;
	*out = onode_new(dir, name, u, l, mode);
	if (*out)
		return 0;
	r = -ENOMEM;
	if (l)
		o->lops->release(l);
out_release:
	if (u)
		tmpfs_ops.release(u);
	return r;
}

/* getattr_locked - the merged attributes of @n (st_dev left to the VFS). */
static int getattr_locked(struct onode *n, struct sbx_fs_attr *a)
{
	struct ovl *o = n->o;
	int r;

	if (n->upper) {
		r = uattr(n->upper, a);
		if (r)
			return r;
		a->ino = map_ino(o, a->ino);
		/* as overlayfs: counting subdirectories of both layers is
		 * not worth it; nlink 1 tells find not to rely on it */
		if (S_ISDIR(a->mode) && n->lower)
			a->nlink = 1;
	} else {
		r = lattr(o, n->lower, a);
		if (r)
			return r;
	}
	a->dev = 0;
	n->mode = a->mode & S_IFMT;
	return 0;
}

static int mode_of(struct onode *n, uint32_t *mode)
{
	struct sbx_fs_attr a;
	int r = 0;

	if (!n->mode)
		r = getattr_locked(n, &a);
	*mode = n->mode;
	return r;
}

/* lower_has - whether lower has @name under @dir: then removing or moving
 * the upper entry of that name needs a whiteout.  1, 0 or -errno. */
static int lower_has(struct onode *dir, const char *name)
{
	struct ovl *o = dir->o;
	struct sbx_fs_node *l;
	int r;

	if (!dir->lower)
		return 0;
	r = o->lops->lookup(dir->lower, name, &l);
	if (r == -ENOENT)
		return 0;
	if (r)
		return r;
	o->lops->release(l);
	return 1;
}

/* ---- creating in the upper layer ---- */

enum mk_kind { MK_REG, MK_DIR, MK_LNK, MK_NOD, MK_LINK, MK_WHITEOUT };

struct mk {
	enum mk_kind kind;
	uint32_t mode, rdev;
	int flags;
	const char *target;	  /* MK_LNK */
	struct sbx_fs_node *node; /* MK_LINK: the upper node to link */
};

/* upper_make - create @a at @name in upper directory @ud; *@out (may be
 * NULL) gets the new node, referenced. */
static int upper_make(struct sbx_fs_node *ud, const char *name,
		      const struct mk *a, struct sbx_fs_node **out)
{
	struct sbx_fs_node *u = NULL;
	int fd = -1, r;

	switch (a->kind) {
	case MK_REG:
		r = tmpfs_ops.create(ud, name, a->mode, a->flags, &u, &fd);
		if (!r && !out)
			tmpfs_ops.release(u);
		if (!r && out)
			*out = u;
		return r;
	case MK_DIR:
		r = tmpfs_ops.mkdir(ud, name, a->mode);
		break;
	case MK_LNK:
		r = tmpfs_ops.symlink(ud, name, a->target);
		break;
	case MK_NOD:
		r = tmpfs_mknod(ud, name, a->mode, a->rdev);
		break;
	case MK_LINK:
		r = tmpfs_ops.link(a->node, ud, name);
		break;
	case MK_WHITEOUT:
		r = tmpfs_mknod(ud, name, S_IFCHR, 0);
		break;
	default:
		r = -EINVAL;
	}
	if (!r && out)
		r = tmpfs_ops.lookup(ud, name, out);
	return r;
}

static void tmp_name(struct ovl *o, char *buf, size_t len)
{
	snprintf(buf, len, "#sbx-ovl-%u", o->tmp_seq++);
}

/* tmp_make - upper_make under a fresh temporary name (into @tmp). */
static int tmp_make(struct ovl *o, struct sbx_fs_node *ud, char *tmp,
		    size_t len, const struct mk *a, struct sbx_fs_node **out)
{
	int r;

	for (int tries = 0; tries < 64; tries++) {
		tmp_name(o, tmp, len);
		r = upper_make(ud, tmp, a, out);
		if (r != -EEXIST)
			return r;
	}
	return -EEXIST;
}

struct names {
	char **v;
	size_t n, cap;
	int err;
};

static int name_emit(void *arg, const char *name, uint64_t ino,
		     unsigned type, uint64_t next)
{
	struct names *s = arg;
	char **v;

	(void)ino, (void)type, (void)next;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;

		v = realloc(s->v, cap * sizeof(*v));
		if (!v) {
			s->err = -ENOMEM;
			return 1;
		}
		s->v = v;
		s->cap = cap;
	}
	if (!(s->v[s->n] = strdup(name))) {
		s->err = -ENOMEM;
		return 1;
	}
	s->n++;
	return 0;
}

static void names_free(struct names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

/* rm_whiteouts - empty upper directory @ud of a merged-empty directory:
 * all it holds are whiteouts. */
static int rm_whiteouts(struct sbx_fs_node *ud)
{
	struct names s = { 0 };
	int64_t r = tmpfs_ops.getdents(ud, 0, name_emit, &s);

	if (!r && s.err)
		r = s.err;
	for (size_t i = 0; r >= 0 && i < s.n; i++)
		r = tmpfs_ops.unlink(ud, s.v[i], 0);
	names_free(&s);
	return r < 0 ? (int)r : 0;
}

/* rm_upper - remove upper entry @name of @ud (a directory with only
 * whiteouts in it, or anything else). */
static int rm_upper(struct sbx_fs_node *ud, const char *name)
{
	struct sbx_fs_node *u;
	struct sbx_fs_attr a;
	int r = up_find(ud, name, &u, &a);

	if (r)
		return r;
	if (S_ISDIR(a.mode))
		r = rm_whiteouts(u);
	tmpfs_ops.release(u);
	return r ? r : tmpfs_ops.unlink(ud, name, S_ISDIR(a.mode) ?
					AT_REMOVEDIR : 0);
}

/*
 * install - make the entry at @tmp (in @ud) the entry @name, replacing
 * whatever upper entry @name has (a whiteout, a file, a directory of
 * whiteouts).  The old entry is moved aside first and put back if the
 * rename fails, so @name always names the old or the new entry.
 */
static int install(struct ovl *o, struct sbx_fs_node *ud, const char *tmp,
		   const char *name)
{
	char aside[32];
	int r, tries = 0;

	do {
		tmp_name(o, aside, sizeof(aside));
		r = tmpfs_ops.rename(ud, name, ud, aside, RENAME_NOREPLACE);
	} while (r == -EEXIST && ++tries < 64);
	if (r == -ENOENT)
		return tmpfs_ops.rename(ud, tmp, ud, name, RENAME_NOREPLACE);
	if (r)
		return r;
	r = tmpfs_ops.rename(ud, tmp, ud, name, RENAME_NOREPLACE);
	if (r) {
		tmpfs_ops.rename(ud, aside, ud, name, RENAME_NOREPLACE);
		return r;
	}
	rm_upper(ud, aside);
	return 0;
}

static int set_opaque(struct ovl *o, struct sbx_fs_node *u)
{
	struct sbx_fs_attr a;
	struct meta *m;
	int r = uattr(u, &a);

	if (r)
		return r;
	m = meta_get(o, a.ino);
	if (!m)
		return -ENOMEM;
	m->opaque = true;
	return 0;
}

/* ---- copy-up ---- */

static int copy_data(struct ovl *o, struct sbx_fs_node *l,
		     struct sbx_fs_node *u, uint64_t size)
{
	struct sbx_fs_attr a = { .size = sizeof(a), .size_bytes = size };
	uint64_t off = 0;
	int fd = -1, r;
	char *buf;

	/* one allocation up front, and ENOSPC before copying anything */
	r = tmpfs_ops.setattr(u, &a, SBX_FS_ATTR_SIZE);
	if (r)
		return r;
	r = SBX_OPS_HAS(o->lops, open) ? o->lops->open(l, O_RDONLY, &fd)
				       : -EOPNOTSUPP;
	if (r == -EOPNOTSUPP && !SBX_OPS_HAS(o->lops, read))
		return -EIO;
	if (r && r != -EOPNOTSUPP)
		return r;
	buf = malloc(COPY_CHUNK);
	r = -ENOMEM;
	if (!buf)
		goto out_close;
	for (;;) {
		ssize_t n = fd >= 0 ? pread(fd, buf, COPY_CHUNK, (off_t)off)
				    : o->lops->read(l, buf, COPY_CHUNK, off);

		if (n < 0 && fd >= 0)
			n = -errno;
		if (n == -EINTR)
			continue;
		if (n < 0) {
			r = (int)n;
			goto out_free;
		}
		if (n == 0)
			break;
		n = tmpfs_ops.write(u, buf, (size_t)n, off);
		if (n < 0) {
			r = (int)n;
			goto out_free;
		}
		off += (uint64_t)n;
	}
	/* the lower file may have changed size on the host meanwhile */
	a.size_bytes = off;
	r = off == size ? 0 : tmpfs_ops.setattr(u, &a, SBX_FS_ATTR_SIZE);
out_free:
	free(buf);
out_close:
	if (fd >= 0)
		close(fd);
	return r;
}

/* make_copy - the upper copy of lower node @l (attributes @la) at @name
 * in @ud: contents (for files only with @data), mode, owner, times. */
static int make_copy(struct ovl *o, struct sbx_fs_node *ud, const char *name,
		     struct sbx_fs_node *l, const struct sbx_fs_attr *la,
		     bool data, struct sbx_fs_node **out)
{
	struct sbx_fs_attr set = { .size = sizeof(set), .mode = la->mode,
		.uid = la->uid, .gid = la->gid, .atime_ns = la->atime_ns,
		.mtime_ns = la->mtime_ns };
	struct mk a = { .mode = la->mode & 07777, .flags = O_RDWR };
	char *target = NULL;
	struct sbx_fs_node *u = NULL;
	struct sbx_fs_attr ua;
	struct meta *m;
	int r;

	switch (la->mode & S_IFMT) {
	case S_IFREG:
		a.kind = MK_REG;
		break;
	case S_IFDIR:
		a.kind = MK_DIR;
		break;
	case S_IFLNK: {
		ssize_t n;

		a.kind = MK_LNK;
		target = malloc(PATH_MAX);
		if (!target)
			return -ENOMEM;
		n = SBX_OPS_HAS(o->lops, readlink)
			? o->lops->readlink(l, target, PATH_MAX - 1) : -EIO;
		if (n <= 0) {
			free(target);
			return n ? (int)n : -EIO;
		}
		target[n] = 0;
		a.target = target;
		break;
	}
	default:
		if (is_whiteout(la))
			return -EPERM; /* a 0/0 device cannot be represented */
		a.kind = MK_NOD;
		a.mode = la->mode;
		a.rdev = la->rdev;
	}
	r = upper_make(ud, name, &a, &u);
	free(target);
	if (r)
		return r;
	if (a.kind == MK_REG && data)
		r = copy_data(o, l, u, la->size_bytes);
	if (!r)
		r = tmpfs_ops.setattr(u, &set, SBX_FS_ATTR_MODE | SBX_FS_ATTR_UID |
				      SBX_FS_ATTR_GID | SBX_FS_ATTR_ATIME |
				      SBX_FS_ATTR_MTIME);
	if (!r)
		r = uattr(u, &ua);
	if (!r) {
		m = meta_get(o, ua.ino);
		if (m)
			m->origin = la->ino;
		else
			r = -ENOMEM;
	}
	if (r) {
		tmpfs_ops.release(u);
		tmpfs_ops.unlink(ud, name, a.kind == MK_DIR ? AT_REMOVEDIR : 0);
		return r;
	}
	*out = u;
	return 0;
}

/*
 * copy_up - give @n an upper node, copying up its parents first (as empty
 * directories).  @data: copy a file's contents (not for O_TRUNC).
 */
static int copy_up(struct onode *n, bool data)
{
	struct ovl *o = n->o;
	struct sbx_fs_attr la, ua;
	struct sbx_fs_node *ud, *u;
	struct meta *m;
	int r;

	if (n->upper)
		return 0;
	if (!n->parent || !n->lower)
		return -EIO; /* the root always has both */
	r = copy_up(n->parent, false);
	if (r)
		return r;
	ud = n->parent->upper;
	r = lattr(o, n->lower, &la);
	if (r)
		return r;
	r = up_find(ud, n->name, &u, &ua);
	if (r == 0) {
		/* our own copy, made through another node of this name, or
		 * the name was unlinked or reused since we were looked up */
		m = meta_find(o, ua.ino);
		if (is_whiteout(&ua) || ((ua.mode ^ la.mode) & S_IFMT) ||
		    !m || m->origin != la.ino) {
			tmpfs_ops.release(u);
			return -ENOENT;
		}
	} else if (r == -ENOENT) {
		r = make_copy(o, ud, n->name, n->lower, &la, data, &u);
		if (r)
			return r;
	} else {
		return r;
	}
	__atomic_store_n(&n->upper, u, __ATOMIC_RELEASE);
	return 0;
}

/* ---- merged listings ---- */

struct ent {
	char *name;
	uint64_t ino;
	unsigned char type;
	bool whiteout;
};

struct listing {
	struct ent *v;
	size_t n, cap;
	int err;
	size_t seen;	 /* entries emitted by the last getdents call */
	bool skip_dots;
};

static int list_add(struct listing *l, const char *name, uint64_t ino,
		    unsigned type)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct ent *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].name = strdup(name);
	if (!l->v[l->n].name)
		return -ENOMEM;
	l->v[l->n].ino = ino;
	l->v[l->n].type = (unsigned char)type;
	l->v[l->n].whiteout = false;
	l->n++;
	return 0;
}

static void list_free(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int list_emit(void *arg, const char *name, uint64_t ino,
		     unsigned type, uint64_t next)
{
	struct listing *l = arg;

	(void)next;
	l->seen++;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	l->err = list_add(l, name, ino, type);
	return l->err != 0;
}

/* read_all - every entry of provider directory @dir but "." and "..". */
static int read_all(const struct sbx_fs_ops *ops, struct sbx_fs_node *dir,
		    struct listing *l)
{
	uint64_t cookie = 0;

	if (!SBX_OPS_HAS(ops, getdents))
		return -ENOTDIR;
	for (;;) {
		int64_t next;

		l->seen = 0;
		next = ops->getdents(dir, cookie, list_emit, l);
		if (l->err)
			return l->err;
		if (next < 0)
			return (int)next;
		if (!l->seen || (uint64_t)next == cookie)
			return 0;
		cookie = (uint64_t)next;
	}
}

static int ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ent *)a)->name,
		      ((const struct ent *)b)->name);
}

static int ino_of(struct onode *n, uint64_t *ino)
{
	struct sbx_fs_attr a;
	int r = getattr_locked(n, &a);

	*ino = a.ino;
	return r;
}

/*
 * build - the merged listing of directory @dir into @out: ".", "..", the
 * upper entries but whiteouts, then the lower entries the upper layer does
 * not name (lower is not consulted for opaque or upper-only directories).
 */
static int build(struct onode *dir, struct listing *out)
{
	struct ovl *o = dir->o;
	struct listing up = { 0 }, lo = { 0 };
	uint64_t ino;
	int r;

	memset(out, 0, sizeof(*out));
	r = ino_of(dir, &ino);
	if (!r)
		r = list_add(out, ".", ino, DT_DIR);
	if (!r)
		r = ino_of(dir->parent ? dir->parent : dir, &ino);
	if (!r)
		r = list_add(out, "..", ino, DT_DIR);
	if (!r && dir->upper)
		r = read_all(&tmpfs_ops, dir->upper, &up);
	for (size_t i = 0; !r && i < up.n; i++) {
		struct ent *e = &up.v[i];

		if (e->type == DT_CHR) {
			struct sbx_fs_node *u;
			struct sbx_fs_attr a;

			r = up_find(dir->upper, e->name, &u, &a);
			if (r)
				break;
			tmpfs_ops.release(u);
			e->whiteout = is_whiteout(&a);
		}
		e->ino = map_ino(o, e->ino);
		if (!e->whiteout)
			r = list_add(out, e->name, e->ino, e->type);
	}
	if (!r && dir->lower) {
		qsort(up.v, up.n, sizeof(*up.v), ent_cmp);
		r = read_all(o->lops, dir->lower, &lo);
		for (size_t i = 0; !r && i < lo.n; i++) {
			struct ent key = { .name = lo.v[i].name };

			if (up.n && bsearch(&key, up.v, up.n, sizeof(*up.v),
					    ent_cmp))
				continue;
			r = list_add(out, lo.v[i].name, lo.v[i].ino,
				     lo.v[i].type);
		}
	}
	list_free(&up);
	list_free(&lo);
	if (r)
		list_free(out);
	return r;
}

static int dir_empty(struct onode *dir)
{
	struct listing l;
	int r = build(dir, &l);

	if (r)
		return r;
	r = l.n > 2 ? -ENOTEMPTY : 0;
	list_free(&l);
	return r;
}

/* ---- provider ops ---- */

int overlay_fs_new(const struct sbx_fs_ops *lops, struct sbx_fs_mnt *lmnt,
		   struct sbx_fs_node *lroot, struct sbx_fs **out)
{
	struct ovl_conf *c;

	if (!SBX_OPS_HAS(lops, lookup) || !SBX_OPS_HAS(lops, getattr) ||
	    !SBX_OPS_HAS(lops, release))
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->lops = lops;
	c->lmnt = lmnt;
	c->lroot = lroot;
	*out = (struct sbx_fs *)c;
	return 0;
}

static int o_mount(struct sbx_fs *fs, const struct sbx_fs_mount_args *args,
		   struct sbx_fs_mnt **mnt, struct sbx_fs_node **root)
{
	struct ovl_conf *c = (struct ovl_conf *)fs;
	struct sbx_fs_mount_args ua = { sizeof(ua), "overlay", false,
					args->size_limit };
	struct sbx_fs_attr la, set;
	struct sbx_fs_node *uroot;
	struct ovl *o;
	struct onode *n;
	struct meta *m;
	int r;

	if (!c || !c->lroot)
		return -EINVAL;
	o = calloc(1, sizeof(*o));
	n = calloc(1, sizeof(*n));
	r = -ENOMEM;
	if (!o || !n || !(n->name = strdup("/")))
		goto out_free;
	pthread_mutex_init(&o->lock, NULL);
	o->lops = c->lops;
	o->lmnt = c->lmnt;
	r = tmpfs_ops.mount(NULL, &ua, &o->umnt, &uroot);
	if (r)
		goto out_free;
	/* the upper root takes the lower root's attributes and identity */
	r = lattr(o, c->lroot, &la);
	if (r)
		goto out_free;
	set = la;
	set.size = sizeof(set);
	r = tmpfs_ops.setattr(uroot, &set, SBX_FS_ATTR_MODE | SBX_FS_ATTR_UID |
			      SBX_FS_ATTR_GID | SBX_FS_ATTR_ATIME |
			      SBX_FS_ATTR_MTIME);
	if (!r)
		r = uattr(uroot, &set);
	if (r)
		goto out_free;
	m = meta_get(o, set.ino);
	r = -ENOMEM;
	if (!m)
		goto out_free;
	m->origin = la.ino;
	n->o = o;
	n->refs = 1;
	n->upper = uroot;
	n->lower = c->lroot;
	n->mode = S_IFDIR;
	c->lroot = NULL; /* the root node owns it now */
	*mnt = (struct sbx_fs_mnt *)o;
	*root = (struct sbx_fs_node *)n;
	return 0;
out_free:
	/* the upper tmpfs is leaked like any unmounted tmpfs (t_umount) */
	if (n)
		free(n->name);
	free(n);
	free(o);
	return r;
}

static void o_umount(struct sbx_fs_mnt *mnt)
{
	struct ovl *o = (struct ovl *)mnt;

	if (SBX_OPS_HAS(o->lops, umount))
		o->lops->umount(o->lmnt);
	tmpfs_ops.umount(o->umnt);
}

static int o_lookup(struct sbx_fs_node *dn, const char *name,
		    struct sbx_fs_node **out)
{
	struct onode *dir = (struct onode *)dn;
	int r;

	pthread_mutex_lock(&dir->o->lock);
	r = lookup_locked(dir, name, (struct onode **)out);
	pthread_mutex_unlock(&dir->o->lock);
	return r;
}

static void o_release(struct sbx_fs_node *nn)
{
	struct onode *n = (struct onode *)nn;
	struct ovl *o = n->o;

	pthread_mutex_lock(&o->lock);
	put(n);
	pthread_mutex_unlock(&o->lock);
}

static int o_open(struct sbx_fs_node *nn, int flags, int *host_fd)
{
	struct onode *n = (struct onode *)nn;
	struct ovl *o = n->o;
	int acc = flags & O_ACCMODE, r;
	uint32_t mode;

	if (acc != O_RDONLY || (flags & O_TRUNC)) {
		/* the VFS truncates after open; then the data is not needed */
		pthread_mutex_lock(&o->lock);
		r = copy_up(n, !((flags & O_TRUNC) && acc != O_RDONLY));
		pthread_mutex_unlock(&o->lock);
		return r ? r : -EOPNOTSUPP;
	}
	if (upper_of(n) || !SBX_OPS_HAS(o->lops, open))
		return -EOPNOTSUPP;
	pthread_mutex_lock(&o->lock);
	r = mode_of(n, &mode);
	pthread_mutex_unlock(&o->lock);
	if (r)
		return r;
	if (S_ISDIR(mode))
		return -EOPNOTSUPP; /* merged listings: overlay_dir_file_ops */
	/* unmodified lower files: reads go straight to the host fd */
	return o->lops->open(n->lower, flags, host_fd);
}

static ssize_t o_read(struct sbx_fs_node *nn, void *buf, size_t len,
		      uint64_t off)
{
	struct onode *n = (struct onode *)nn;
	struct sbx_fs_node *u = upper_of(n);

	if (u)
		return tmpfs_ops.read(u, buf, len, off);
	if (!SBX_OPS_HAS(n->o->lops, read))
		return -EIO;
	return n->o->lops->read(n->lower, buf, len, off);
}

static ssize_t o_write(struct sbx_fs_node *nn, const void *buf, size_t len,
		       uint64_t off)
{
	struct sbx_fs_node *u = upper_of((struct onode *)nn);

	/* opening for writing copied it up */
	return u ? tmpfs_ops.write(u, buf, len, off) : -EBADF;
}

static int o_getattr(struct sbx_fs_node *nn, struct sbx_fs_attr *a)
{
	struct onode *n = (struct onode *)nn;
	struct sbx_fs_attr t;
	size_t size = a->size;
	int r;

	if (!upper_of(n)) {
		/* lower only: no side table to consult, and no reason to
		 * hold every other overlay operation during a gofer call */
		r = lattr(n->o, n->lower, &t);
		if (!r) {
			t.dev = 0;
			n->mode = t.mode & S_IFMT;
		}
	} else {
		pthread_mutex_lock(&n->o->lock);
		r = getattr_locked(n, &t);
		pthread_mutex_unlock(&n->o->lock);
	}
	if (r)
		return r;
	memcpy(a, &t, size < sizeof(t) ? size : sizeof(t));
	a->size = size;
	return 0;
}

static int o_setattr(struct sbx_fs_node *nn, const struct sbx_fs_attr *a,
		     uint32_t mask)
{
	struct onode *n = (struct onode *)nn;
	bool data = !((mask & SBX_FS_ATTR_SIZE) && a->size_bytes == 0);
	int r;

	pthread_mutex_lock(&n->o->lock);
	r = copy_up(n, data);
	if (!r)
		r = tmpfs_ops.setattr(n->upper, a, mask);
	pthread_mutex_unlock(&n->o->lock);
	return r;
}

static int64_t o_getdents(struct sbx_fs_node *dn, uint64_t cookie,
			  int (*emit)(void *, const char *, uint64_t, unsigned,
				      uint64_t),
			  void *arg)
{
	struct onode *dir = (struct onode *)dn;
	struct listing l;
	int r;

	/* stateless form (the VFS uses overlay_dir_file_ops instead):
	 * cookies are indexes, stable while the directory is unchanged */
	pthread_mutex_lock(&dir->o->lock);
	r = build(dir, &l);
	pthread_mutex_unlock(&dir->o->lock);
	if (r)
		return r;
	for (; cookie < l.n; cookie++)
		if (emit(arg, l.v[cookie].name, l.v[cookie].ino,
			 l.v[cookie].type, cookie + 1))
			break;
	list_free(&l);
	return (int64_t)cookie;
}

/*
 * make_over - create @a as @name in merged directory @dir (lock held):
 * EEXIST if the merged view has the name; over a whiteout, through a
 * temporary name, and a directory made there is opaque (it must not merge
 * with the lower directory that was removed).
 */
static int make_over(struct onode *dir, const char *name, const struct mk *a,
		     struct onode **out)
{
	struct ovl *o = dir->o;
	struct sbx_fs_node *u = NULL, *w;
	struct sbx_fs_attr wa;
	struct onode *c;
	char tmp[32];
	int r;

	r = lookup_locked(dir, name, &c);
	if (r == 0) {
		put(c);
		return -EEXIST;
	}
	if (r != -ENOENT)
		return r;
	r = copy_up(dir, false);
	if (r)
		return r;
	r = up_find(dir->upper, name, &w, &wa);
	if (r == -ENOENT) {
		r = upper_make(dir->upper, name, a, &u);
	} else if (r == 0) {
		tmpfs_ops.release(w); /* a whiteout: lookup said ENOENT */
		r = tmp_make(o, dir->upper, tmp, sizeof(tmp), a, &u);
		if (!r && a->kind == MK_DIR)
			r = set_opaque(o, u);
		if (!r)
			r = install(o, dir->upper, tmp, name);
		if (r && u) {
			tmpfs_ops.release(u);
			u = NULL;
			tmpfs_ops.unlink(dir->upper, tmp, a->kind == MK_DIR ?
					 AT_REMOVEDIR : 0);
		}
	}
	if (r)
		return r;
	if (!out) {
		tmpfs_ops.release(u);
		return 0;
	}
	*out = onode_new(dir, name, u, NULL, 0);
	if (!*out) {
		tmpfs_ops.release(u);
		return -ENOMEM;
	}
	return 0;
}

static int o_create(struct sbx_fs_node *dn, const char *name, uint32_t mode,
		    int flags, struct sbx_fs_node **out, int *host_fd)
{
	struct onode *dir = (struct onode *)dn;
	struct mk a = { .kind = MK_REG, .mode = mode & 07777, .flags = flags };
	int r;

	if (host_fd)
		*host_fd = -1;
	pthread_mutex_lock(&dir->o->lock);
	r = make_over(dir, name, &a, (struct onode **)out);
	if (!r)
		((struct onode *)*out)->mode = S_IFREG;
	pthread_mutex_unlock(&dir->o->lock);
	return r;
}

static int make_simple(struct onode *dir, const char *name, const struct mk *a)
{
	int r;

	pthread_mutex_lock(&dir->o->lock);
	r = make_over(dir, name, a, NULL);
	pthread_mutex_unlock(&dir->o->lock);
	return r;
}

static int o_mkdir(struct sbx_fs_node *dn, const char *name, uint32_t mode)
{
	struct mk a = { .kind = MK_DIR, .mode = mode & 07777 };

	return make_simple((struct onode *)dn, name, &a);
}

static int o_symlink(struct sbx_fs_node *dn, const char *name,
		     const char *target)
{
	struct mk a = { .kind = MK_LNK, .target = target };

	return make_simple((struct onode *)dn, name, &a);
}

struct sbx_fs_node *overlay_upper(struct sbx_fs_node *node)
{
	return upper_of((struct onode *)node);
}

int overlay_mknod(struct sbx_fs_node *dn, const char *name, uint32_t mode,
		  uint32_t rdev)
{
	struct mk a = { .kind = MK_NOD, .mode = mode, .rdev = rdev };

	if (S_ISCHR(mode) && rdev == 0)
		return -EPERM; /* that is a whiteout */
	return make_simple((struct onode *)dn, name, &a);
}

static int o_link(struct sbx_fs_node *nn, struct sbx_fs_node *dn,
		  const char *name)
{
	struct onode *n = (struct onode *)nn, *dir = (struct onode *)dn;
	struct mk a = { .kind = MK_LINK };
	int r;

	pthread_mutex_lock(&dir->o->lock);
	r = copy_up(n, true);
	if (!r) {
		a.node = n->upper;
		r = make_over(dir, name, &a, NULL);
	}
	pthread_mutex_unlock(&dir->o->lock);
	return r;
}

static ssize_t o_readlink(struct sbx_fs_node *nn, char *buf, size_t len)
{
	struct onode *n = (struct onode *)nn;
	struct sbx_fs_node *u = upper_of(n);

	if (u)
		return tmpfs_ops.readlink(u, buf, len);
	if (!SBX_OPS_HAS(n->o->lops, readlink))
		return -EINVAL;
	return n->o->lops->readlink(n->lower, buf, len);
}

/*
 * o_unlink - unlink and rmdir.  An upper entry goes; where lower has the
 * name, a whiteout takes its place (built aside first, so ENOSPC leaves
 * the name as it was).  rmdir needs the merged view empty.
 */
static int o_unlink(struct sbx_fs_node *dn, const char *name, int flags)
{
	struct onode *dir = (struct onode *)dn, *c;
	struct ovl *o = dir->o;
	struct mk wh = { .kind = MK_WHITEOUT };
	char tmp[32];
	uint32_t mode;
	int r, lp;

	pthread_mutex_lock(&o->lock);
	r = lookup_locked(dir, name, &c);
	if (r)
		goto out;
	r = mode_of(c, &mode);
	if (r)
		goto out_put;
	if ((flags & AT_REMOVEDIR) && !S_ISDIR(mode))
		r = -ENOTDIR;
	else if (!(flags & AT_REMOVEDIR) && S_ISDIR(mode))
		r = -EISDIR;
	else if (S_ISDIR(mode))
		r = dir_empty(c);
	if (r)
		goto out_put;
	lp = c->lower ? 1 : lower_has(dir, name);
	r = lp < 0 ? lp : copy_up(dir, false);
	if (r)
		goto out_put;
	if (!c->upper) {
		r = upper_make(dir->upper, name, &wh, NULL);
	} else if (!lp) {
		r = S_ISDIR(mode) ? rm_whiteouts(c->upper) : 0;
		if (!r)
			r = tmpfs_ops.unlink(dir->upper, name,
					     flags & AT_REMOVEDIR);
	} else {
		r = tmp_make(o, dir->upper, tmp, sizeof(tmp), &wh, NULL);
		if (!r) {
			r = install(o, dir->upper, tmp, name);
			if (r)
				tmpfs_ops.unlink(dir->upper, tmp, 0);
		}
	}
out_put:
	put(c);
out:
	pthread_mutex_unlock(&o->lock);
	return r;
}

/* is_under - whether upper directory @u is @dir or one of its parents. */
static bool is_under(struct sbx_fs_node *u, struct onode *dir)
{
	for (; dir; dir = dir->parent)
		if (dir->upper == u)
			return true;
	return false;
}

static int do_rename(struct onode *od, const char *oname, struct onode *nd,
		     const char *nname, unsigned flags)
{
	struct ovl *o = od->o;
	struct onode *s, *t = NULL;
	uint32_t smode, tmode = 0;
	struct mk wh = { .kind = MK_WHITEOUT };
	char wtmp[32], aside[32] = "";
	struct sbx_fs_node *w;
	struct sbx_fs_attr wa;
	int r, lp_old, lp_new, tries = 0;

	r = lookup_locked(od, oname, &s);
	if (r)
		return r;
	r = lookup_locked(nd, nname, &t);
	if (r == -ENOENT)
		t = NULL;
	else if (r)
		goto out;
	r = mode_of(s, &smode);
	if (!r && t)
		r = mode_of(t, &tmode);
	if (r)
		goto out;
	if ((flags & RENAME_EXCHANGE) && !t) {
		r = -ENOENT;
		goto out;
	}
	if ((flags & RENAME_NOREPLACE) && t) {
		r = -EEXIST;
		goto out;
	}
	/* one name, or two names of one file: nothing to do (Linux) */
	if ((od == nd && !strcmp(oname, nname)) ||
	    (t && s->upper && s->upper == t->upper))
		goto out;
	if ((S_ISDIR(smode) && s->upper && is_under(s->upper, nd)) ||
	    ((flags & RENAME_EXCHANGE) && S_ISDIR(tmode) && t->upper &&
	     is_under(t->upper, od))) {
		r = -EINVAL;
		goto out;
	}
	if (t && !(flags & RENAME_EXCHANGE)) {
		if (S_ISDIR(smode) && !S_ISDIR(tmode))
			r = -ENOTDIR;
		else if (!S_ISDIR(smode) && S_ISDIR(tmode))
			r = -EISDIR;
		else if (S_ISDIR(tmode))
			r = dir_empty(t);
		if (r)
			goto out;
	}
	/* without redirect_dir, overlayfs cannot move a lower directory */
	if ((S_ISDIR(smode) && s->lower) ||
	    ((flags & RENAME_EXCHANGE) && S_ISDIR(tmode) && t->lower)) {
		r = -EXDEV;
		goto out;
	}
	lp_old = s->lower ? 1 : lower_has(od, oname);
	lp_new = t && t->lower ? 1 : lower_has(nd, nname);
	r = lp_old < 0 ? lp_old : lp_new < 0 ? lp_new : 0;
	if (!r)
		r = copy_up(s, true);
	if (!r && (flags & RENAME_EXCHANGE))
		r = copy_up(t, true);
	if (!r)
		r = copy_up(od, false);
	if (!r)
		r = copy_up(nd, false);
	if (r)
		goto out;
	if (flags & RENAME_EXCHANGE) {
		r = tmpfs_ops.rename(od->upper, oname, nd->upper, nname,
				     RENAME_EXCHANGE);
		/* a directory landing where lower has the name hides it */
		if (!r && S_ISDIR(smode) && lp_new)
			r = set_opaque(o, s->upper);
		if (!r && S_ISDIR(tmode) && lp_old)
			r = set_opaque(o, t->upper);
		goto out;
	}
	if (lp_old) {
		r = tmp_make(o, od->upper, wtmp, sizeof(wtmp), &wh, NULL);
		if (r)
			goto out;
	}
	/* tmpfs replaces a non-directory by a non-directory in one step;
	 * a directory (or a directory's whiteout) is moved aside first */
	r = up_find(nd->upper, nname, &w, &wa);
	if (r == 0) {
		tmpfs_ops.release(w);
		if (S_ISDIR(smode) || S_ISDIR(wa.mode)) {
			do {
				tmp_name(o, aside, sizeof(aside));
				r = tmpfs_ops.rename(nd->upper, nname, nd->upper,
						     aside, RENAME_NOREPLACE);
			} while (r == -EEXIST && ++tries < 64);
			if (r)
				goto out_wtmp;
		}
	} else if (r != -ENOENT) {
		goto out_wtmp;
	}
	r = tmpfs_ops.rename(od->upper, oname, nd->upper, nname, 0);
	if (r) {
		if (aside[0])
			tmpfs_ops.rename(nd->upper, aside, nd->upper, nname,
					 RENAME_NOREPLACE);
		goto out_wtmp;
	}
	if (aside[0])
		rm_upper(nd->upper, aside);
	if (lp_old)
		tmpfs_ops.rename(od->upper, wtmp, od->upper, oname,
				 RENAME_NOREPLACE);
	if (S_ISDIR(smode) && lp_new)
		r = set_opaque(o, s->upper);
	goto out;
out_wtmp:
	if (lp_old)
		tmpfs_ops.unlink(od->upper, wtmp, 0);
out:
	if (t)
		put(t);
	put(s);
	return r;
}

static int o_rename(struct sbx_fs_node *odn, const char *oname,
		    struct sbx_fs_node *ndn, const char *nname, unsigned flags)
{
	struct onode *od = (struct onode *)odn, *nd = (struct onode *)ndn;
	int r;

	if (od->o != nd->o)
		return -EXDEV;
	pthread_mutex_lock(&od->o->lock);
	r = do_rename(od, oname, nd, nname, flags);
	pthread_mutex_unlock(&od->o->lock);
	return r;
}

static int o_statfs(struct sbx_fs_mnt *mnt, struct statfs *st)
{
	struct ovl *o = (struct ovl *)mnt;
	int r = tmpfs_ops.statfs(o->umnt, st);

	if (!r)
		st->f_type = OVL_MAGIC;
	return r;
}

const struct sbx_fs_ops overlay_ops = {
	.size = sizeof(struct sbx_fs_ops),
	.mount = o_mount,
	.umount = o_umount,
	.lookup = o_lookup,
	.release = o_release,
	.open = o_open,
	.read = o_read,
	.write = o_write,
	.getattr = o_getattr,
	.setattr = o_setattr,
	.getdents = o_getdents,
	.create = o_create,
	.mkdir = o_mkdir,
	.unlink = o_unlink,
	.rename = o_rename,
	.link = o_link,
	.symlink = o_symlink,
	.readlink = o_readlink,
	.statfs = o_statfs,
	.mknod = overlay_mknod,
};

/* ---- open directories ---- */

static struct onode *dir_of(struct file *f)
{
	return (struct onode *)f->path.d->node;
}

/* getdents: from the listing built at the first call (or after a seek to
 * 0); f->pos is the index of the next entry, d_off the one after it. */
static ssize_t odir_getdents(struct file *f, void *buf, size_t len)
{
	struct listing *l;
	size_t at = 0;
	ssize_t r = 0;
	int64_t i;

	pthread_mutex_lock(&f->pos_lock);
	l = f->priv;
	if (!l) {
		struct onode *dir = dir_of(f);

		l = calloc(1, sizeof(*l));
		r = l ? 0 : -ENOMEM;
		if (!r) {
			pthread_mutex_lock(&dir->o->lock);
			r = build(dir, l);
			pthread_mutex_unlock(&dir->o->lock);
		}
		if (r) {
			free(l);
			goto out;
		}
		f->priv = l;
	}
	for (i = f->pos; i >= 0 && (uint64_t)i < l->n; i++) {
		const struct ent *e = &l->v[i];
		size_t nl = strlen(e->name);
		size_t reclen = (19 + nl + 1 + 7) & ~(size_t)7;
		uint64_t next = (uint64_t)i + 1;
		char *p = (char *)buf + at;

		if (at + reclen > len)
			break;
		memset(p, 0, reclen);
		memcpy(p, &e->ino, 8);
		memcpy(p + 8, &next, 8);
		memcpy(p + 16, &(uint16_t){ (uint16_t)reclen }, 2);
		p[18] = (char)e->type;
		memcpy(p + 19, e->name, nl);
		at += reclen;
	}
	if (at == 0 && i >= 0 && (uint64_t)i < l->n) {
		r = -EINVAL; /* the first entry does not fit */
		goto out;
	}
	f->pos = i;
	r = (ssize_t)at;
out:
	pthread_mutex_unlock(&f->pos_lock);
	return r;
}

static void odir_drop(struct file *f)
{
	if (f->priv) {
		list_free(f->priv);
		free(f->priv);
		f->priv = NULL;
	}
}

static int64_t odir_llseek(struct file *f, int64_t off, int whence)
{
	int64_t r;

	pthread_mutex_lock(&f->pos_lock);
	if (whence == SEEK_CUR)
		off += f->pos;
	else if (whence != SEEK_SET)
		off = -1; /* SEEK_END: EINVAL, as overlayfs */
	r = off < 0 ? -EINVAL : off;
	if (r >= 0) {
		f->pos = off;
		if (off == 0)
			odir_drop(f); /* rewinddir sees changes */
	}
	pthread_mutex_unlock(&f->pos_lock);
	return r;
}

static ssize_t odir_read(struct file *f, void *buf, size_t len, int64_t off)
{
	(void)f, (void)buf, (void)len, (void)off;
	return -EISDIR;
}

static int odir_stat(struct file *f, struct k_stat *st)
{
	return vfs_stat(&f->path, st);
}

static int odir_fsync(struct file *f)
{
	(void)f;
	return 0;
}

const struct file_ops overlay_dir_file_ops = {
	.read = odir_read,
	.llseek = odir_llseek,
	.getdents = odir_getdents,
	.stat = odir_stat,
	.fsync = odir_fsync,
	.release = odir_drop,
};
