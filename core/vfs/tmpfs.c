/*
 * tmpfs: a file system in core memory behind the provider ABI of
 * <sbx/fs.h>.  Also the base of /dev and /dev/shm.
 *
 * Nodes carry two counts: refs (references held by the VFS: lookups,
 * create, mount) and nlink (directory entries).  A node is freed when both
 * reach zero, so an unlinked file stays readable while open.  Directory
 * entries keep a per-directory sequence number as their getdents cookie,
 * so unlinking during a listing (rm -r) neither skips nor repeats entries.
 * The size limit counts file data and symlink targets in pages (ENOSPC).
 * One mutex per mounted instance guards everything in it.
 *
 * Regular files keep their data in the core's memory file (one extent per
 * file, grown in place when the next pages are free, else moved), so a
 * MAP_SHARED mapping of a tmpfs file is the file's own pages: the mapping
 * takes a reference on them (tmpfs_map_pages) and sees every write(), as
 * /dev/shm, sem_open and shm_open users expect.  A file that grows while
 * mapped and must move leaves old mappings on the old pages (they stay
 * valid memory, just no longer the file's): rare, documented.
 *
 * Seals (F_ADD_SEALS) are kept on every regular file, F_SEAL_SEAL from
 * birth as Linux's shmem files (tmpfs_memfd_init lifts it for
 * memfd_create's MFD_ALLOW_SEALING), and enforced by write and truncate.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

#include "../mm/memfile.h"
#include "vfs.h"

#define TMPFS_MAGIC 0x01021994
#define TMPFS_DEFAULT_LIMIT (256ULL << 20)
#define PG(x) (((x) + 4095) & ~4095ULL)
#define K_F_SEAL_SEAL 0x0001
#define K_F_SEAL_SHRINK 0x0002
#define K_F_SEAL_GROW 0x0004
#define K_F_SEAL_WRITE 0x0008
#define K_F_SEAL_FUTURE_WRITE 0x0010

struct tmpfs;

struct tdirent {
	char *name;
	struct tnode *node;
	uint64_t seq;
};

struct tnode {
	struct tmpfs *fs;
	int refs;
	uint64_t nlink;
	uint64_t ino;
	uint32_t mode, uid, gid, rdev;
	int64_t atime, mtime, ctime;
	char *data;	/* symlink target */
	uint64_t moff;	/* regular files: memory-file offset of the data */
	uint64_t size, cap; /* cap: bytes reserved (pages for files) */
	struct tdirent *ents;
	size_t nents, capents;
	uint64_t next_seq;
	struct tnode *parent; /* directories: for ".." in getdents */
	uint32_t seals;	/* F_SEAL_* of a regular file */
};

struct tmpfs {
	pthread_mutex_t lock;
	uint64_t limit, used;
	uint64_t next_ino;
	struct tnode *root;
	bool readonly;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct tnode *tnode_new(struct tmpfs *fs, uint32_t mode)
{
	struct tnode *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->fs = fs;
	n->ino = fs->next_ino++;
	n->mode = mode;
	n->atime = n->mtime = n->ctime = now_ns();
	n->next_seq = 2;
	return n;
}

static void tnode_maybe_free(struct tnode *n)
{
	if (n->refs > 0 || n->nlink > 0)
		return;
	n->fs->used -= PG(n->cap);
	if (S_ISREG(n->mode) && n->cap)
		memfile_unref(n->moff, n->cap);
	free(n->data);
	for (size_t i = 0; i < n->nents; i++)
		free(n->ents[i].name);
	free(n->ents);
	free(n);
}

static struct tdirent *find(struct tnode *dir, const char *name)
{
	for (size_t i = 0; i < dir->nents; i++)
		if (strcmp(dir->ents[i].name, name) == 0)
			return &dir->ents[i];
	return NULL;
}

static int add_ent(struct tnode *dir, const char *name, struct tnode *n)
{
	char *s;

	if (dir->nents == dir->capents) {
		size_t c = dir->capents ? dir->capents * 2 : 8;
		struct tdirent *e = realloc(dir->ents, c * sizeof(*e));

		if (!e)
			return -ENOMEM;
		dir->ents = e;
		dir->capents = c;
	}
	s = strdup(name);
	if (!s)
		return -ENOMEM;
	dir->ents[dir->nents++] = (struct tdirent){ s, n, dir->next_seq++ };
	n->nlink++;
	if (S_ISDIR(n->mode)) {
		n->parent = dir;
		dir->nlink++;
	}
	dir->mtime = dir->ctime = now_ns();
	return 0;
}

/* del_ent - remove entry @e (keeps the order: cookies stay sorted). */
static void del_ent(struct tnode *dir, struct tdirent *e)
{
	struct tnode *n = e->node;

	free(e->name);
	memmove(e, e + 1, (size_t)(dir->ents + dir->nents - (e + 1)) * sizeof(*e));
	dir->nents--;
	n->nlink--;
	if (S_ISDIR(n->mode)) {
		n->nlink--; /* its own "." */
		dir->nlink--;
	}
	n->ctime = dir->mtime = dir->ctime = now_ns();
	tnode_maybe_free(n);
}

/* fdata - the core's view of regular file @n's bytes. */
static char *fdata(struct tnode *n)
{
	return memfile_ptr(n->moff);
}

/* reserve - grow regular file @n's extent to hold @size bytes, charging
 * the limit; new pages read as zero. */
static int reserve(struct tnode *n, uint64_t size)
{
	uint64_t cap, moff;

	if (size <= n->cap)
		return 0;
	cap = n->cap ? n->cap : 4096;
	while (cap < size)
		cap *= 2;
	if (n->fs->used - n->cap + cap > n->fs->limit) {
		cap = PG(size); /* try exactly what is needed */
		if (n->fs->used - n->cap + cap > n->fs->limit)
			return -ENOSPC;
	}
	if (n->cap && memfile_try_extend(n->moff + n->cap, cap - n->cap) == 0) {
		moff = n->moff;
	} else {
		if (memfile_alloc(cap, &moff))
			return -ENOSPC;
		if (n->cap) {
			memfile_copy(moff, n->moff, n->cap);
			memfile_unref(n->moff, n->cap);
		}
	}
	n->fs->used = n->fs->used - n->cap + cap;
	n->moff = moff;
	n->cap = cap;
	return 0;
}

int tmpfs_map_pages(struct sbx_fs_node *nn, uint64_t off, uint64_t len,
		    uint64_t *moff)
{
	struct tnode *n = (struct tnode *)nn;
	int r;

	pthread_mutex_lock(&n->fs->lock);
	r = S_ISREG(n->mode) ? reserve(n, off + len) : -ENODEV;
	if (!r) {
		memfile_share(n->moff + off, len);
		*moff = n->moff + off;
	}
	pthread_mutex_unlock(&n->fs->lock);
	return r;
}

/* ---- ops ---- */

static int t_mount(struct sbx_fs *unused, const struct sbx_fs_mount_args *args,
		   struct sbx_fs_mnt **mnt, struct sbx_fs_node **root)
{
	struct tmpfs *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return -ENOMEM;
	pthread_mutex_init(&fs->lock, NULL);
	fs->limit = args->size_limit ? args->size_limit : TMPFS_DEFAULT_LIMIT;
	fs->readonly = args->readonly;
	fs->next_ino = 1;
	fs->root = tnode_new(fs, S_IFDIR | 01777);
	if (!fs->root) {
		free(fs);
		return -ENOMEM;
	}
	fs->root->nlink = 2;
	fs->root->parent = fs->root;
	fs->root->refs = 1;
	*mnt = (struct sbx_fs_mnt *)fs;
	*root = (struct sbx_fs_node *)fs->root;
	return 0;
}

static void t_umount(struct sbx_fs_mnt *m)
{
	/* nodes still referenced are leaked on purpose: files may outlive
	 * the mount table only at sandbox teardown */
	(void)m;
}

static int t_lookup(struct sbx_fs_node *dn, const char *name,
		    struct sbx_fs_node **out)
{
	struct tnode *dir = (struct tnode *)dn;
	struct tdirent *e;
	int r = -ENOENT;

	pthread_mutex_lock(&dir->fs->lock);
	if (!S_ISDIR(dir->mode)) {
		r = -ENOTDIR;
	} else if ((e = find(dir, name))) {
		e->node->refs++;
		*out = (struct sbx_fs_node *)e->node;
		r = 0;
	}
	pthread_mutex_unlock(&dir->fs->lock);
	return r;
}

static void t_release(struct sbx_fs_node *nn)
{
	struct tnode *n = (struct tnode *)nn;
	struct tmpfs *fs = n->fs;

	pthread_mutex_lock(&fs->lock);
	n->refs--;
	tnode_maybe_free(n);
	pthread_mutex_unlock(&fs->lock);
}

static int t_open(struct sbx_fs_node *n, int flags, int *host_fd)
{
	return -EOPNOTSUPP; /* served by read/write */
}

static ssize_t t_read(struct sbx_fs_node *nn, void *buf, size_t len,
		      uint64_t off)
{
	struct tnode *n = (struct tnode *)nn;
	ssize_t r = 0;

	pthread_mutex_lock(&n->fs->lock);
	if (S_ISDIR(n->mode)) {
		r = -EISDIR;
	} else if (off < n->size) {
		r = (ssize_t)(n->size - off < len ? n->size - off : len);
		memcpy(buf, fdata(n) + off, (size_t)r);
	}
	n->atime = now_ns();
	pthread_mutex_unlock(&n->fs->lock);
	return r;
}

static ssize_t t_write(struct sbx_fs_node *nn, const void *buf, size_t len,
		       uint64_t off)
{
	struct tnode *n = (struct tnode *)nn;
	ssize_t r;

	if (off + len < off || off + len > (1ULL << 40))
		return -EFBIG;
	pthread_mutex_lock(&n->fs->lock);
	if (n->seals & (K_F_SEAL_WRITE | K_F_SEAL_FUTURE_WRITE))
		r = -EPERM;
	else if ((n->seals & K_F_SEAL_GROW) && off + len > n->size)
		r = -EPERM;
	else
		r = reserve(n, off + len);
	if (r == 0) {
		memcpy(fdata(n) + off, buf, len);
		if (off + len > n->size)
			n->size = off + len;
		n->mtime = n->ctime = now_ns();
		r = (ssize_t)len;
	}
	pthread_mutex_unlock(&n->fs->lock);
	return r;
}

static void fill_attr(struct tnode *n, struct sbx_fs_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->ino = n->ino;
	a->nlink = n->nlink;
	a->mode = n->mode;
	a->uid = n->uid;
	a->gid = n->gid;
	a->rdev = n->rdev;
	a->size_bytes = S_ISDIR(n->mode) ? 40 + 20 * n->nents : n->size;
	a->blocks = PG(n->cap) / 512;
	a->atime_ns = n->atime;
	a->mtime_ns = n->mtime;
	a->ctime_ns = n->ctime;
}

static int t_getattr(struct sbx_fs_node *nn, struct sbx_fs_attr *a)
{
	struct tnode *n = (struct tnode *)nn;

	pthread_mutex_lock(&n->fs->lock);
	fill_attr(n, a);
	pthread_mutex_unlock(&n->fs->lock);
	return 0;
}

static int t_setattr(struct sbx_fs_node *nn, const struct sbx_fs_attr *a,
		     uint32_t mask)
{
	struct tnode *n = (struct tnode *)nn;
	int r = 0;

	pthread_mutex_lock(&n->fs->lock);
	if (mask & SBX_FS_ATTR_SIZE) {
		if (S_ISDIR(n->mode))
			r = -EISDIR;
		else if (!S_ISREG(n->mode))
			r = -EINVAL;
		else if ((a->size_bytes < n->size && (n->seals & K_F_SEAL_SHRINK)) ||
			 (a->size_bytes > n->size && (n->seals & K_F_SEAL_GROW)))
			r = -EPERM;
		else if (a->size_bytes > n->size)
			r = reserve(n, a->size_bytes);
		if (r)
			goto out;
		if (a->size_bytes < n->size) {
			/* the tail reads as zero if the file grows again */
			uint64_t keep = PG(a->size_bytes);

			memset(fdata(n) + a->size_bytes, 0,
			       keep - a->size_bytes);
			memfile_zero(n->moff + keep, n->cap - keep);
		}
		n->size = a->size_bytes;
		n->mtime = now_ns();
	}
	if (mask & SBX_FS_ATTR_MODE)
		n->mode = (n->mode & S_IFMT) | (a->mode & 07777);
	if (mask & SBX_FS_ATTR_UID)
		n->uid = a->uid;
	if (mask & SBX_FS_ATTR_GID)
		n->gid = a->gid;
	if (mask & SBX_FS_ATTR_ATIME)
		n->atime = a->atime_ns;
	if (mask & SBX_FS_ATTR_MTIME)
		n->mtime = a->mtime_ns;
	n->ctime = now_ns();
out:
	pthread_mutex_unlock(&n->fs->lock);
	return r;
}

static int dtype(uint32_t mode)
{
	return (mode & S_IFMT) >> 12; /* DT_* == S_IFMT >> 12 */
}

static int64_t t_getdents(struct sbx_fs_node *dn, uint64_t cookie,
			  int (*emit)(void *, const char *, uint64_t, unsigned,
				      uint64_t),
			  void *arg)
{
	struct tnode *dir = (struct tnode *)dn;
	int64_t r;

	pthread_mutex_lock(&dir->fs->lock);
	if (!S_ISDIR(dir->mode)) {
		r = -ENOTDIR;
		goto out;
	}
	if (cookie == 0) {
		if (emit(arg, ".", dir->ino, 4, 1))
			goto done;
		cookie = 1;
	}
	if (cookie == 1) {
		if (emit(arg, "..", dir->parent ? dir->parent->ino : dir->ino, 4, 2))
			goto done;
		cookie = 2;
	}
	for (size_t i = 0; i < dir->nents; i++) {
		struct tdirent *e = &dir->ents[i];

		if (e->seq < cookie)
			continue;
		if (emit(arg, e->name, e->node->ino, dtype(e->node->mode),
			 e->seq + 1))
			break;
		cookie = e->seq + 1;
	}
	if (cookie < dir->next_seq && (!dir->nents ||
	    dir->ents[dir->nents - 1].seq < cookie))
		cookie = dir->next_seq;
done:
	r = (int64_t)cookie;
out:
	pthread_mutex_unlock(&dir->fs->lock);
	return r;
}

/* mk - a new node named @name in @dir (lock held). */
static int mk(struct tnode *dir, const char *name, uint32_t mode,
	      struct tnode **out)
{
	struct tnode *n;
	int r;

	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	if (dir->nlink == 0)
		return -ENOENT; /* removed directory */
	if (find(dir, name))
		return -EEXIST;
	if (dir->fs->used + 4096 > dir->fs->limit)
		return -ENOSPC;
	n = tnode_new(dir->fs, mode);
	if (!n)
		return -ENOMEM;
	if (S_ISDIR(mode))
		n->nlink = 1; /* "." */
	r = add_ent(dir, name, n);
	if (r) {
		free(n);
		return r;
	}
	*out = n;
	return 0;
}

static int t_create(struct sbx_fs_node *dn, const char *name, uint32_t mode,
		    int flags, struct sbx_fs_node **out, int *host_fd)
{
	struct tnode *dir = (struct tnode *)dn, *n;
	int r;

	pthread_mutex_lock(&dir->fs->lock);
	r = mk(dir, name, S_IFREG | (mode & 07777), &n);
	if (!r) {
		n->seals = K_F_SEAL_SEAL; /* as Linux's tmpfs: only memfds seal */
		n->refs++;
		*out = (struct sbx_fs_node *)n;
	}
	pthread_mutex_unlock(&dir->fs->lock);
	if (host_fd)
		*host_fd = -1;
	return r;
}

int tmpfs_mknod(struct sbx_fs_node *dn, const char *name, uint32_t mode,
		uint32_t rdev)
{
	struct tnode *dir = (struct tnode *)dn, *n;
	int r;

	pthread_mutex_lock(&dir->fs->lock);
	r = mk(dir, name, mode, &n);
	if (!r)
		n->rdev = rdev;
	pthread_mutex_unlock(&dir->fs->lock);
	return r;
}

static int t_mknod(struct sbx_fs_node *dn, const char *name, uint32_t mode,
		   uint32_t rdev)
{
	return tmpfs_mknod(dn, name, mode, rdev);
}

static int t_mkdir(struct sbx_fs_node *dn, const char *name, uint32_t mode)
{
	return tmpfs_mknod(dn, name, S_IFDIR | (mode & 07777), 0);
}

static int t_symlink(struct sbx_fs_node *dn, const char *name,
		     const char *target)
{
	struct tnode *dir = (struct tnode *)dn, *n;
	size_t len = strlen(target);
	int r;

	pthread_mutex_lock(&dir->fs->lock);
	r = mk(dir, name, S_IFLNK | 0777, &n);
	if (!r) {
		/* targets live on the heap, charged a page like Linux's */
		if (dir->fs->used + PG(len + 1) > dir->fs->limit ||
		    !(n->data = malloc(len + 1))) {
			del_ent(dir, find(dir, name));
			r = -ENOSPC;
		} else {
			memcpy(n->data, target, len + 1);
			n->size = len;
			n->cap = PG(len + 1);
			dir->fs->used += n->cap;
		}
	}
	pthread_mutex_unlock(&dir->fs->lock);
	return r;
}

static ssize_t t_readlink(struct sbx_fs_node *nn, char *buf, size_t len)
{
	struct tnode *n = (struct tnode *)nn;
	ssize_t r;

	pthread_mutex_lock(&n->fs->lock);
	if (!S_ISLNK(n->mode)) {
		r = -EINVAL;
	} else {
		r = (ssize_t)(n->size < len ? n->size : len);
		memcpy(buf, n->data, (size_t)r);
	}
	pthread_mutex_unlock(&n->fs->lock);
	return r;
}

static int t_unlink(struct sbx_fs_node *dn, const char *name, int flags)
{
	struct tnode *dir = (struct tnode *)dn;
	struct tdirent *e;
	int r = 0;

	pthread_mutex_lock(&dir->fs->lock);
	e = find(dir, name);
	if (!e)
		r = -ENOENT;
	else if ((flags & AT_REMOVEDIR) && !S_ISDIR(e->node->mode))
		r = -ENOTDIR;
	else if (!(flags & AT_REMOVEDIR) && S_ISDIR(e->node->mode))
		r = -EISDIR;
	else if (S_ISDIR(e->node->mode) && e->node->nents)
		r = -ENOTEMPTY;
	else
		del_ent(dir, e);
	pthread_mutex_unlock(&dir->fs->lock);
	return r;
}

static bool is_ancestor(struct tnode *a, struct tnode *d)
{
	for (; d && d != d->parent; d = d->parent)
		if (d == a)
			return true;
	return d == a;
}

static int t_rename(struct sbx_fs_node *odn, const char *oname,
		    struct sbx_fs_node *ndn, const char *nname, unsigned flags)
{
	struct tnode *od = (struct tnode *)odn, *nd = (struct tnode *)ndn;
	struct tdirent *oe, *ne;
	struct tnode *n;
	int r = 0;

	if (od->fs != nd->fs)
		return -EXDEV;
	pthread_mutex_lock(&od->fs->lock);
	oe = find(od, oname);
	if (!oe) {
		r = -ENOENT;
		goto out;
	}
	n = oe->node;
	ne = find(nd, nname);
	if (ne && ne->node == n)
		goto out; /* same file: nothing to do */
	if (S_ISDIR(n->mode) && is_ancestor(n, nd)) {
		r = -EINVAL;
		goto out;
	}
	if (flags & RENAME_EXCHANGE) {
		struct tnode *m;

		if (!ne) {
			r = -ENOENT;
			goto out;
		}
		m = ne->node;
		if (S_ISDIR(m->mode) && is_ancestor(m, od)) {
			r = -EINVAL;
			goto out;
		}
		oe->node = m;
		ne->node = n;
		if (S_ISDIR(n->mode) != S_ISDIR(m->mode) && od != nd) {
			int dn = S_ISDIR(n->mode) ? 1 : -1;

			od->nlink -= dn;
			nd->nlink += dn;
		}
		if (S_ISDIR(n->mode))
			n->parent = nd;
		if (S_ISDIR(m->mode))
			m->parent = od;
		goto out;
	}
	if (ne) {
		if (flags & RENAME_NOREPLACE) {
			r = -EEXIST;
			goto out;
		}
		if (S_ISDIR(n->mode) && !S_ISDIR(ne->node->mode)) {
			r = -ENOTDIR;
			goto out;
		}
		if (!S_ISDIR(n->mode) && S_ISDIR(ne->node->mode)) {
			r = -EISDIR;
			goto out;
		}
		if (S_ISDIR(ne->node->mode) && ne->node->nents) {
			r = -ENOTEMPTY;
			goto out;
		}
	}
	n->refs++; /* keep it alive between the two steps */
	if (ne)
		del_ent(nd, ne);
	/* add before removing (entries move in memory: find again) */
	r = add_ent(nd, nname, n);
	if (r == 0) {
		del_ent(od, find(od, oname));
		if (S_ISDIR(n->mode))
			n->nlink++; /* del_ent dropped its "." too */
	}
	n->refs--;
	if (S_ISDIR(n->mode))
		n->parent = nd;
out:
	pthread_mutex_unlock(&od->fs->lock);
	return r;
}

static int t_link(struct sbx_fs_node *nn, struct sbx_fs_node *dn,
		  const char *name)
{
	struct tnode *n = (struct tnode *)nn, *dir = (struct tnode *)dn;
	int r;

	if (n->fs != dir->fs)
		return -EXDEV;
	pthread_mutex_lock(&dir->fs->lock);
	if (S_ISDIR(n->mode))
		r = -EPERM;
	else if (find(dir, name))
		r = -EEXIST;
	else /* a file with no names left: the VFS allows only O_TMPFILE's */
		r = add_ent(dir, name, n);
	if (!r)
		n->ctime = now_ns();
	pthread_mutex_unlock(&dir->fs->lock);
	return r;
}

static int t_statfs(struct sbx_fs_mnt *m, struct statfs *st)
{
	struct tmpfs *fs = (struct tmpfs *)m;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&fs->lock);
	st->f_type = TMPFS_MAGIC;
	st->f_bsize = 4096;
	st->f_frsize = 4096;
	st->f_blocks = fs->limit / 4096;
	st->f_bfree = st->f_bavail = (fs->limit - fs->used) / 4096;
	st->f_files = fs->limit / 4096;
	st->f_ffree = st->f_files - fs->next_ino;
	st->f_namelen = 255;
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

const struct sbx_fs_ops tmpfs_ops = {
	.size = sizeof(struct sbx_fs_ops),
	.mount = t_mount,
	.umount = t_umount,
	.lookup = t_lookup,
	.release = t_release,
	.open = t_open,
	.read = t_read,
	.write = t_write,
	.getattr = t_getattr,
	.setattr = t_setattr,
	.getdents = t_getdents,
	.create = t_create,
	.mkdir = t_mkdir,
	.unlink = t_unlink,
	.rename = t_rename,
	.link = t_link,
	.symlink = t_symlink,
	.readlink = t_readlink,
	.statfs = t_statfs,
	.mknod = t_mknod,
};

/* ---- seals (memfd_create) ---- */

int tmpfs_memfd_init(struct sbx_fs_node *nn, bool sealing)
{
	struct tnode *n = (struct tnode *)nn;
	int r = 0;

	pthread_mutex_lock(&n->fs->lock);
	if (!S_ISREG(n->mode))
		r = -EINVAL;
	else
		n->seals = sealing ? 0 : K_F_SEAL_SEAL;
	pthread_mutex_unlock(&n->fs->lock);
	return r;
}

int tmpfs_seals(struct sbx_fs_node *nn, bool add, uint32_t seals)
{
	struct tnode *n = (struct tnode *)nn;
	int r;

	pthread_mutex_lock(&n->fs->lock);
	if (!S_ISREG(n->mode)) {
		r = -EINVAL;
	} else if (!add) {
		r = (int)n->seals;
	} else if (n->seals & K_F_SEAL_SEAL) {
		r = -EPERM;
	} else {
		/* Linux also refuses F_SEAL_WRITE (EBUSY) while writable
		 * shared mappings exist; they are not counted here */
		n->seals |= seals;
		r = 0;
	}
	pthread_mutex_unlock(&n->fs->lock);
	return r;
}
