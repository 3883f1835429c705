/*
 * Overlay unit tests: the VFS on an overlay root whose lower layer is a
 * tmpfs filled here (standing in for the gofer), driven through the
 * vfs_* calls the syscalls use.  Lookup through both layers, whiteouts,
 * opaque directories, copy-up (data, mode, owner, times, inode number),
 * merged listings with stable cookies, rename, unlink, link, ENOSPC of a
 * small upper layer.  Every test ends by checking that the lower tree is
 * exactly as it was built (names, types, modes, owners, sizes, times,
 * contents).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "core/mm/memfile.h"
#include "core/vfs/vfs.h"
#include "runner.h"

#define MTIME_OWNED (1000LL * 1000000000LL)
#define BIG_SIZE (300u << 10)

static struct fs_context *fs;
static struct sbx_fs_mnt *lmnt;
static struct sbx_fs_node *lroot;
static char *lower_before;

/* ---- the lower tmpfs, used directly through its ops ---- */

/* lnode - @path (absolute, no symlinks) in the lower tmpfs, referenced */
static int lnode(const char *path, struct sbx_fs_node **out)
{
	char buf[PATH_MAX], *save = NULL;
	struct sbx_fs_node *cur = NULL, *next;
	int r = 0;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *n = strtok_r(buf, "/", &save); n; n = strtok_r(NULL, "/", &save)) {
		r = tmpfs_ops.lookup(cur ? cur : lroot, n, &next);
		if (cur)
			tmpfs_ops.release(cur);
		if (r)
			return r;
		cur = next;
	}
	if (!cur)
		return -EINVAL; /* the root has no spare reference to give */
	*out = cur;
	return 0;
}

/* lparent - the lower directory of @path and its last name */
static struct sbx_fs_node *lparent(const char *path, const char **last,
				   struct sbx_fs_node **held)
{
	char dir[PATH_MAX];
	const char *s = strrchr(path, '/');

	*last = s + 1;
	*held = NULL;
	if (s == path)
		return lroot;
	snprintf(dir, sizeof(dir), "%.*s", (int)(s - path), path);
	ck_assert_int_eq(lnode(dir, held), 0);
	return *held;
}

static void lmkdir(const char *path)
{
	const char *last;
	struct sbx_fs_node *held, *d = lparent(path, &last, &held);

	ck_assert_int_eq(tmpfs_ops.mkdir(d, last, 0755), 0);
	if (held)
		tmpfs_ops.release(held);
}

static void lput(const char *path, const void *data, size_t len)
{
	const char *last;
	struct sbx_fs_node *held, *d = lparent(path, &last, &held), *n;
	int fd;

	ck_assert_int_eq(tmpfs_ops.create(d, last, 0644, O_RDWR, &n, &fd), 0);
	ck_assert_int_eq(tmpfs_ops.write(n, data, len, 0), (ssize_t)len);
	tmpfs_ops.release(n);
	if (held)
		tmpfs_ops.release(held);
}

static void lsymlink(const char *path, const char *target)
{
	const char *last;
	struct sbx_fs_node *held, *d = lparent(path, &last, &held);

	ck_assert_int_eq(tmpfs_ops.symlink(d, last, target), 0);
	if (held)
		tmpfs_ops.release(held);
}

struct dumpbuf {
	char *s;
	size_t len;
};

static void dump_add(struct dumpbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void dump_add(struct dumpbuf *b, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	b->s = realloc(b->s, b->len + (size_t)n + 1);
	ck_assert_ptr_nonnull(b->s);
	memcpy(b->s + b->len, line, (size_t)n + 1);
	b->len += (size_t)n;
}

struct names {
	char name[64][64];
	int n;
};

static int collect(void *arg, const char *name, uint64_t ino, unsigned type,
		   uint64_t next)
{
	struct names *s = arg;

	(void)ino, (void)type, (void)next;
	if (strcmp(name, ".") && strcmp(name, "..") && s->n < 64)
		snprintf(s->name[s->n++], 64, "%s", name);
	return 0;
}

/* dump - everything about the lower tree under @dir, in a string */
static void dump(struct sbx_fs_node *dir, const char *path, struct dumpbuf *b)
{
	struct names s = { .n = 0 };

	/* names first: tmpfs ops must not be called from inside getdents */
	ck_assert_int_ge(tmpfs_ops.getdents(dir, 0, collect, &s), 0);
	for (int i = 0; i < s.n; i++) {
		struct sbx_fs_node *n;
		struct sbx_fs_attr a = { .size = sizeof(a) };
		char sub[PATH_MAX], *data;
		uint64_t sum = 0;

		ck_assert_int_eq(tmpfs_ops.lookup(dir, s.name[i], &n), 0);
		ck_assert_int_eq(tmpfs_ops.getattr(n, &a), 0);
		snprintf(sub, sizeof(sub), "%s/%s", path, s.name[i]);
		if (S_ISREG(a.mode) || S_ISLNK(a.mode)) {
			data = malloc(a.size_bytes + 1);
			ck_assert_ptr_nonnull(data);
			ck_assert_int_eq(S_ISLNK(a.mode)
				? tmpfs_ops.readlink(n, data, a.size_bytes)
				: tmpfs_ops.read(n, data, a.size_bytes, 0),
				(ssize_t)a.size_bytes);
			for (uint64_t j = 0; j < a.size_bytes; j++)
				sum = sum * 131 + (unsigned char)data[j];
			free(data);
		}
		dump_add(b, "%s ino=%llu mode=%o uid=%u gid=%u nlink=%llu "
			 "size=%llu mtime=%lld ctime=%lld sum=%llx\n", sub,
			 (unsigned long long)a.ino, a.mode, a.uid, a.gid,
			 (unsigned long long)a.nlink,
			 (unsigned long long)a.size_bytes, (long long)a.mtime_ns,
			 (long long)a.ctime_ns, (unsigned long long)sum);
		if (S_ISDIR(a.mode))
			dump(n, sub, b);
		tmpfs_ops.release(n);
	}
}

static char *lower_dump(void)
{
	struct dumpbuf b = { NULL, 0 };

	dump_add(&b, "/\n");
	dump(lroot, "", &b);
	return b.s;
}

static void assert_lower_unchanged(void)
{
	char *now = lower_dump();

	ck_assert_str_eq(now, lower_before);
	free(now);
}

/* ---- fixture ---- */

static void setup_size(uint64_t size)
{
	struct sbx_fs_mount_args la = { sizeof(la), "lower", false, 0 };
	struct sbx_fs_mount_args oa = { sizeof(oa), "lower", false, size };
	struct sbx_fs_attr own = { .size = sizeof(own), .mode = 0640, .uid = 7,
				   .gid = 8, .atime_ns = MTIME_OWNED,
				   .mtime_ns = MTIME_OWNED };
	static char big[BIG_SIZE];
	struct sbx_fs_node *n;
	struct sbx_fs *ofs;

	ck_assert_int_eq(memfile_init(1ULL << 32), 0); /* tmpfs file data */
	ck_assert_int_eq(tmpfs_ops.mount(NULL, &la, &lmnt, &lroot), 0);
	lmkdir("/etc");
	lput("/etc/passwd", "root:x:0:0\n", 11);
	lput("/etc/owned", "owned", 5);
	ck_assert_int_eq(lnode("/etc/owned", &n), 0);
	ck_assert_int_eq(tmpfs_ops.setattr(n, &own, SBX_FS_ATTR_MODE |
		SBX_FS_ATTR_UID | SBX_FS_ATTR_GID | SBX_FS_ATTR_ATIME |
		SBX_FS_ATTR_MTIME), 0);
	tmpfs_ops.release(n);
	lmkdir("/d");
	lput("/d/a", "a", 1);
	lput("/d/b", "b", 1);
	lput("/d/c", "c", 1);
	lmkdir("/d/sub");
	lput("/d/sub/x", "x", 1);
	lmkdir("/d/sub/deeper");
	lmkdir("/empty");
	lsymlink("/link", "etc/passwd");
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + i / 4096);
	lput("/big", big, sizeof(big));
	lower_before = lower_dump();

	ck_assert_int_eq(overlay_fs_new(&tmpfs_ops, lmnt, lroot, &ofs), 0);
	ck_assert_int_eq(vfs_init_root(&overlay_ops, ofs, &oa, "overlay"), 0);
	fs = fs_context_new();
	ck_assert_ptr_nonnull(fs);
}

static void setup(void)
{
	setup_size(0);
}

static void setup_small(void)
{
	setup_size(128 << 10);
}

/* ---- helpers on the overlay ---- */

static int put(const char *path, const char *data, int flags)
{
	struct file *f;
	int r = vfs_open(fs, NULL, path, O_CREAT | O_WRONLY | flags, 0644, 0, &f);
	ssize_t n;

	if (r)
		return r;
	n = f->ops->write(f, data, strlen(data), -1);
	file_put(f);
	return n < 0 ? (int)n : 0;
}

static int get(const char *path, char *buf, size_t len)
{
	struct file *f;
	int r = vfs_open(fs, NULL, path, O_RDONLY, 0, 0, &f);
	ssize_t n;

	if (r)
		return r;
	n = f->ops->read(f, buf, len - 1, 0);
	file_put(f);
	if (n < 0)
		return (int)n;
	buf[n] = 0;
	return 0;
}

static int lstat_(const char *path, struct k_stat *st)
{
	struct vfs_path p;
	int r = vfs_walk(fs, NULL, path, 0, &p);

	if (r)
		return r;
	r = vfs_stat(&p, st);
	vfs_path_put(&p);
	return r;
}

static int setattr(const char *path, struct sbx_fs_attr *a, uint32_t mask)
{
	struct vfs_path p;
	int r = vfs_walk(fs, NULL, path, 0, &p);

	if (r)
		return r;
	a->size = sizeof(*a);
	r = vfs_setattr(&p, a, mask);
	vfs_path_put(&p);
	return r;
}

/* ls - the names of directory @path, sorted, space separated, with
 * "." and ".." left out; dups stay visible (they would be a bug). */
static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ls(const char *path, char *out, size_t len)
{
	char buf[4096], *names[256];
	struct file *f;
	ssize_t n;
	int r = vfs_open(fs, NULL, path, O_RDONLY | O_DIRECTORY, 0, 0, &f), k = 0;

	if (r)
		return r;
	while ((n = f->ops->getdents(f, buf, sizeof(buf))) > 0)
		for (ssize_t at = 0; at < n;) {
			uint16_t reclen;

			memcpy(&reclen, buf + at + 16, 2);
			if (strcmp(buf + at + 19, ".") && strcmp(buf + at + 19, "..")
			    && k < 256)
				names[k++] = strdup(buf + at + 19);
			at += reclen;
		}
	file_put(f);
	if (n < 0)
		return (int)n;
	qsort(names, (size_t)k, sizeof(*names), name_cmp);
	out[0] = 0;
	for (int i = 0; i < k; i++) {
		snprintf(out + strlen(out), len - strlen(out), "%s%s",
			 i ? " " : "", names[i]);
		free(names[i]);
	}
	return 0;
}

/* ---- tests ---- */

START_TEST(test_overlay_lookup_reads_lower)
{
	struct k_stat st, st2;
	struct statfs sf;
	struct vfs_path p;
	char buf[64];

	ck_assert_int_eq(get("/etc/passwd", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "root:x:0:0\n");
	ck_assert_int_eq(get("/link", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "root:x:0:0\n");
	ck_assert_int_eq(get("/etc/nope", buf, sizeof(buf)), -ENOENT);
	ck_assert_int_eq(lstat_("/etc/owned", &st), 0);
	ck_assert_uint_eq(st.st_mode, S_IFREG | 0640);
	ck_assert_uint_eq(st.st_uid, 7);
	ck_assert_int_eq(st.st_mtim.tv_sec, MTIME_OWNED / 1000000000);
	ck_assert_int_eq(lstat_("/", &st2), 0);
	ck_assert_uint_eq(st.st_dev, st2.st_dev); /* one device: the mount */
	ck_assert_uint_eq(st2.st_mode & S_IFMT, S_IFDIR);
	ck_assert_int_eq(lstat_("/link", &st), 0);
	ck_assert_uint_eq(st.st_mode & S_IFMT, S_IFLNK);
	ck_assert_int_eq(vfs_walk(fs, NULL, "/", 0, &p), 0);
	ck_assert_int_eq(vfs_statfs(&p, &sf), 0);
	ck_assert_uint_eq((unsigned long)sf.f_type, 0x794c7630);
	vfs_path_put(&p);
	assert_lower_unchanged();
}
END_TEST

START_TEST(test_overlay_copy_up_on_write_keeps_identity)
{
	struct k_stat before, after, dir_before, dir_after;
	struct sbx_fs_attr a = { .mode = 0600 };
	char buf[64];

	ck_assert_int_eq(lstat_("/etc/owned", &before), 0);
	ck_assert_int_eq(lstat_("/etc", &dir_before), 0);
	ck_assert_int_eq(put("/etc/owned", "+more", O_APPEND), 0);
	ck_assert_int_eq(get("/etc/owned", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "owned+more");
	ck_assert_int_eq(lstat_("/etc/owned", &after), 0);
	/* owner and inode survive the copy-up; the write moved mtime */
	ck_assert_uint_eq(after.st_ino, before.st_ino);
	ck_assert_uint_eq(after.st_dev, before.st_dev);
	ck_assert_uint_eq(after.st_uid, 7);
	ck_assert_uint_eq(after.st_gid, 8);
	ck_assert_uint_eq(after.st_mode, S_IFREG | 0640);
	ck_assert_int_eq(after.st_size, 10);
	ck_assert_int_eq(lstat_("/etc", &dir_after), 0);
	ck_assert_uint_eq(dir_after.st_ino, dir_before.st_ino);
	/* chmod of a copied-up file; another lower file still unchanged */
	ck_assert_int_eq(setattr("/etc/owned", &a, SBX_FS_ATTR_MODE), 0);
	ck_assert_int_eq(lstat_("/etc/owned", &after), 0);
	ck_assert_uint_eq(after.st_mode, S_IFREG | 0600);
	ck_assert_int_eq(get("/etc/passwd", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "root:x:0:0\n");
	assert_lower_unchanged();
}
END_TEST

START_TEST(test_overlay_copy_up_on_setattr_truncate_link)
{
	struct sbx_fs_attr a = { .uid = 42, .gid = 43 };
	struct k_stat st, big;
	char buf[64];
	struct file *f;
	static char data[BIG_SIZE];

	/* chown and utimens copy up metadata and keep the data */
	ck_assert_int_eq(setattr("/d/a", &a, SBX_FS_ATTR_UID | SBX_FS_ATTR_GID), 0);
	ck_assert_int_eq(lstat_("/d/a", &st), 0);
	ck_assert_uint_eq(st.st_uid, 42);
	ck_assert_int_eq(get("/d/a", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "a");
	a.mtime_ns = 5LL * 1000000000;
	ck_assert_int_eq(setattr("/d/b", &a, SBX_FS_ATTR_MTIME), 0);
	ck_assert_int_eq(lstat_("/d/b", &st), 0);
	ck_assert_int_eq(st.st_mtim.tv_sec, 5);
	ck_assert_int_eq(get("/d/b", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "b");
	/* O_TRUNC */
	ck_assert_int_eq(put("/d/c", "new", O_TRUNC), 0);
	ck_assert_int_eq(get("/d/c", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "new");
	/* truncate to a size: the data before it is kept */
	a.size_bytes = 1000;
	ck_assert_int_eq(setattr("/big", &a, SBX_FS_ATTR_SIZE), 0);
	ck_assert_int_eq(lstat_("/big", &big), 0);
	ck_assert_int_eq(big.st_size, 1000);
	ck_assert_int_eq(vfs_open(fs, NULL, "/big", O_RDONLY, 0, 0, &f), 0);
	ck_assert_int_eq(f->ops->read(f, data, sizeof(data), 0), 1000);
	for (size_t i = 0; i < 1000; i++)
		ck_assert_int_eq(data[i], (char)(i * 7 + i / 4096));
	file_put(f);
	/* link copies up the source; both names are one file */
	ck_assert_int_eq(vfs_link(fs, NULL, "/etc/passwd", NULL, "/d/pw", 0), 0);
	ck_assert_int_eq(put("/d/pw", "x", O_APPEND), 0);
	ck_assert_int_eq(get("/etc/passwd", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "root:x:0:0\nx");
	ck_assert_int_eq(lstat_("/etc/passwd", &st), 0);
	ck_assert_uint_eq(st.st_nlink, 2);
	ck_assert_int_eq(vfs_link(fs, NULL, "/d/a", NULL, "/d/b", 0), -EEXIST);
	/* a symlink copies its target */
	ck_assert_int_eq(setattr("/link", &a, SBX_FS_ATTR_UID), 0);
	{
		struct vfs_path p;

		ck_assert_int_eq(vfs_walk(fs, NULL, "/link", 0, &p), 0);
		ck_assert_int_eq(vfs_readlink(&p, buf, sizeof(buf)), 10);
		vfs_path_put(&p);
		ck_assert_int_eq(memcmp(buf, "etc/passwd", 10), 0);
	}
	assert_lower_unchanged();
}
END_TEST

START_TEST(test_overlay_copy_up_large_file)
{
	static char data[BIG_SIZE + 10];
	struct file *f;

	ck_assert_int_eq(put("/big", "tail", O_APPEND), 0);
	ck_assert_int_eq(vfs_open(fs, NULL, "/big", O_RDONLY, 0, 0, &f), 0);
	ck_assert_int_eq(f->ops->read(f, data, sizeof(data), 0), BIG_SIZE + 4);
	file_put(f);
	for (size_t i = 0; i < BIG_SIZE; i++)
		if (data[i] != (char)(i * 7 + i / 4096))
			ck_abort_msg("byte %zu differs after copy-up", i);
	ck_assert_int_eq(memcmp(data + BIG_SIZE, "tail", 4), 0);
	assert_lower_unchanged();
}
END_TEST

START_TEST(test_overlay_unlink_whiteout)
{
	char buf[256];
	struct file *f;

	/* a file opened before the unlink still reads */
	ck_assert_int_eq(vfs_open(fs, NULL, "/d/a", O_RDONLY, 0, 0, &f), 0);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/d/a", 0), 0);
	ck_assert_int_eq(f->ops->read(f, buf, sizeof(buf), 0), 1);
	file_put(f);
	ck_assert_int_eq(get("/d/a", buf, sizeof(buf)), -ENOENT);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/d/a", 0), -ENOENT);
	ck_assert_int_eq(ls("/d", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "b c sub");
	/* a copied-up file that is removed leaves a whiteout too */
	ck_assert_int_eq(put("/d/b", "bb", O_APPEND), 0);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/d/b", 0), 0);
	ck_assert_int_eq(get("/d/b", buf, sizeof(buf)), -ENOENT);
	/* a new file of the same name has nothing of the lower one */
	ck_assert_int_eq(vfs_open(fs, NULL, "/d/a", O_CREAT | O_EXCL | O_RDWR,
				  0600, 0, &f), 0);
	file_put(f);
	ck_assert_int_eq(get("/d/a", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	/* a new upper-only file goes without a trace */
	ck_assert_int_eq(put("/d/new", "n", 0), 0);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/d/new", 0), 0);
	ck_assert_int_eq(ls("/d", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "a c sub");
	/* symlinks are unlinked, not followed */
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/link", 0), 0);
	ck_assert_int_eq(get("/etc/passwd", buf, sizeof(buf)), 0);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/d/sub", 0), -EISDIR);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/d/c", AT_REMOVEDIR), -ENOTDIR);
	assert_lower_unchanged();
}
END_TEST

START_TEST(test_overlay_rmdir_opaque)
{
	char buf[256];

	ck_assert_int_eq(vfs_unlink(fs, NULL, "/d/sub", AT_REMOVEDIR), -ENOTEMPTY);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/d/sub/x", 0), 0);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/d/sub", AT_REMOVEDIR), -ENOTEMPTY);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/d/sub/deeper", AT_REMOVEDIR), 0);
	ck_assert_int_eq(ls("/d/sub", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/d/sub", AT_REMOVEDIR), 0);
	ck_assert_int_eq(ls("/d/sub", buf, sizeof(buf)), -ENOENT);
	/* mkdir again: opaque, the lower directory does not show through */
	ck_assert_int_eq(vfs_mkdir(fs, NULL, "/d/sub", 0700), 0);
	ck_assert_int_eq(ls("/d/sub", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(get("/d/sub/x", buf, sizeof(buf)), -ENOENT);
	ck_assert_int_eq(put("/d/sub/y", "y", 0), 0);
	ck_assert_int_eq(ls("/d/sub", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "y");
	ck_assert_int_eq(vfs_mkdir(fs, NULL, "/d/sub", 0700), -EEXIST);
	ck_assert_int_eq(vfs_mkdir(fs, NULL, "/d/a", 0700), -EEXIST);
	/* an empty lower directory: rmdir at once, mkdir, rmdir */
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/empty", AT_REMOVEDIR), 0);
	ck_assert_int_eq(vfs_mkdir(fs, NULL, "/empty", 0755), 0);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/empty", AT_REMOVEDIR), 0);
	ck_assert_int_eq(ls("/", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "big d etc link");
	/* a whole lower tree, bottom-up as rm -r does */
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/d/sub/y", 0), 0);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/d/sub", AT_REMOVEDIR), 0);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/d/a", 0), 0);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/d/b", 0), 0);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/d", AT_REMOVEDIR), -ENOTEMPTY);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/d/c", 0), 0);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/d", AT_REMOVEDIR), 0);
	ck_assert_int_eq(ls("/", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "big etc link");
	assert_lower_unchanged();
}
END_TEST

START_TEST(test_overlay_readdir_merge_and_inodes)
{
	char buf[4096], out[256];
	struct k_stat st;
	struct file *f;
	ssize_t n;
	int found = 0;

	ck_assert_int_eq(put("/d/b", "b2", O_TRUNC), 0); /* copied up */
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/d/c", 0), 0);
	ck_assert_int_eq(put("/d/new", "n", 0), 0);
	ck_assert_int_eq(vfs_mkdir(fs, NULL, "/d/ndir", 0755), 0);
	ck_assert_int_eq(ls("/d", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "a b ndir new sub");
	/* d_ino and d_type agree with lstat */
	ck_assert_int_eq(vfs_open(fs, NULL, "/d", O_RDONLY | O_DIRECTORY, 0, 0,
				  &f), 0);
	while ((n = f->ops->getdents(f, buf, sizeof(buf))) > 0)
		for (ssize_t at = 0; at < n;) {
			char path[64];
			uint64_t ino;
			uint16_t reclen;

			memcpy(&ino, buf + at, 8);
			memcpy(&reclen, buf + at + 16, 2);
			snprintf(path, sizeof(path), "/d/%s", buf + at + 19);
			ck_assert_int_eq(lstat_(path, &st), 0);
			ck_assert_msg(ino == st.st_ino, "%s: d_ino %llu, st_ino %llu",
				      path, (unsigned long long)ino,
				      (unsigned long long)st.st_ino);
			ck_assert_uint_eq((unsigned char)buf[at + 18],
					  (st.st_mode & S_IFMT) >> 12);
			found++;
			at += reclen;
		}
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(found, 7); /* . .. a b ndir new sub */
	/* fstat of the directory: the merged directory's identity */
	ck_assert_int_eq(f->ops->stat(f, &st), 0);
	ck_assert_uint_eq(st.st_mode & S_IFMT, S_IFDIR);
	ck_assert_uint_eq(st.st_nlink, 1); /* merged: as overlayfs */
	file_put(f);
	ck_assert_int_eq(lstat_("/d/ndir", &st), 0);
	ck_assert_uint_eq(st.st_nlink, 2);
	ck_assert_int_eq(lstat_("/d/sub", &st), 0);
	ck_assert_uint_ge(st.st_nlink, 2);
	assert_lower_unchanged();
}
END_TEST

START_TEST(test_overlay_readdir_stable_while_changing)
{
	char name[64], buf[4096];
	struct file *f;
	int seen[60] = { 0 }, dots = 0;
	ssize_t n;

	/* an upper directory (under a lower-only one) of 30 names */
	ck_assert_int_eq(vfs_mkdir(fs, NULL, "/d/sub/deeper/m", 0755), 0);
	for (int i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "/d/sub/deeper/m/u%02d", i);
		ck_assert_int_eq(put(name, "u", 0), 0);
	}
	ck_assert_int_eq(vfs_open(fs, NULL, "/d/sub/deeper/m", O_RDONLY |
				  O_DIRECTORY, 0, 0, &f), 0);
	/* small reads; between them unlink what was listed and create new
	 * names: each original name comes exactly once */
	while ((n = f->ops->getdents(f, buf, 100)) > 0)
		for (ssize_t at = 0; at < n;) {
			char *d = buf + at;
			uint16_t reclen;
			int i;

			memcpy(&reclen, d + 16, 2);
			at += reclen;
			if (!strcmp(d + 19, ".") || !strcmp(d + 19, "..")) {
				dots++;
				continue;
			}
			ck_assert_int_eq(d[19], 'u');
			i = atoi(d + 20);
			seen[i]++;
			snprintf(name, sizeof(name), "/d/sub/deeper/m/%s", d + 19);
			ck_assert_int_eq(vfs_unlink(fs, NULL, name, 0), 0);
			snprintf(name, sizeof(name), "/d/sub/deeper/m/v%02d", i);
			ck_assert_int_eq(put(name, "v", 0), 0);
		}
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(dots, 2);
	for (int i = 0; i < 30; i++)
		ck_assert_int_eq(seen[i], 1);
	/* rewind: a new listing with the changes */
	ck_assert_int_eq(f->ops->llseek(f, 0, SEEK_SET), 0);
	n = f->ops->getdents(f, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_ptr_nonnull(memmem(buf, (size_t)n, "v29", 4));
	ck_assert_ptr_null(memmem(buf, (size_t)n, "u00", 4));
	ck_assert_int_eq(f->ops->llseek(f, 0, SEEK_END), -EINVAL);
	file_put(f);

	/* a merged directory listed while its lower names are copied up
	 * and unlinked: still each once */
	ck_assert_int_eq(vfs_open(fs, NULL, "/d", O_RDONLY | O_DIRECTORY, 0, 0,
				  &f), 0);
	memset(seen, 0, sizeof(seen));
	while ((n = f->ops->getdents(f, buf, 40)) > 0)
		for (ssize_t at = 0; at < n;) {
			char *d = buf + at;
			uint16_t reclen;

			memcpy(&reclen, d + 16, 2);
			at += reclen;
			if (strlen(d + 19) == 1 && d[19] >= 'a' && d[19] <= 'c') {
				seen[d[19] - 'a']++;
				/* copy up the next one, remove this one */
				if (d[19] < 'c') {
					snprintf(name, sizeof(name), "/d/%c",
						 d[19] + 1);
					ck_assert_int_eq(put(name, "!", O_APPEND), 0);
				}
				snprintf(name, sizeof(name), "/d/%s", d + 19);
				ck_assert_int_eq(vfs_unlink(fs, NULL, name, 0), 0);
			}
		}
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(seen[0], 1);
	ck_assert_int_eq(seen[1], 1);
	ck_assert_int_eq(seen[2], 1);
	file_put(f);
	assert_lower_unchanged();
}
END_TEST

START_TEST(test_overlay_rename)
{
	char buf[256];
	struct k_stat st, st2;

	/* a lower file: copied up, moved, the old name whited out */
	ck_assert_int_eq(lstat_("/d/a", &st), 0);
	ck_assert_int_eq(vfs_rename(fs, NULL, "/d/a", NULL, "/etc/a2", 0), 0);
	ck_assert_int_eq(get("/d/a", buf, sizeof(buf)), -ENOENT);
	ck_assert_int_eq(get("/etc/a2", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "a");
	ck_assert_int_eq(lstat_("/etc/a2", &st2), 0);
	ck_assert_uint_eq(st2.st_ino, st.st_ino);
	/* over an existing lower file */
	ck_assert_int_eq(vfs_rename(fs, NULL, "/d/b", NULL, "/d/c", 0), 0);
	ck_assert_int_eq(get("/d/c", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "b");
	ck_assert_int_eq(ls("/d", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "c sub");
	/* flags */
	ck_assert_int_eq(vfs_rename(fs, NULL, "/d/c", NULL, "/etc/passwd",
				    RENAME_NOREPLACE), -EEXIST);
	ck_assert_int_eq(vfs_rename(fs, NULL, "/d/c", NULL, "/etc/passwd",
				    RENAME_EXCHANGE), 0);
	ck_assert_int_eq(get("/d/c", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "root:x:0:0\n");
	ck_assert_int_eq(get("/etc/passwd", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "b");
	ck_assert_int_eq(vfs_rename(fs, NULL, "/d/nope", NULL, "/d/x", 0), -ENOENT);
	/* a directory with a lower part cannot move (as overlayfs without
	 * redirect_dir: mv copies instead) */
	ck_assert_int_eq(vfs_rename(fs, NULL, "/d/sub", NULL, "/d/sub2", 0), -EXDEV);
	/* an upper-only directory can, with its contents */
	ck_assert_int_eq(vfs_mkdir(fs, NULL, "/d/new", 0755), 0);
	ck_assert_int_eq(put("/d/new/f", "f", 0), 0);
	ck_assert_int_eq(vfs_rename(fs, NULL, "/d/new", NULL, "/etc/new", 0), 0);
	ck_assert_int_eq(get("/etc/new/f", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "f");
	ck_assert_int_eq(vfs_rename(fs, NULL, "/etc/new", NULL, "/etc/new/in", 0),
			 -EINVAL);
	/* onto an empty lower directory: it becomes opaque there */
	ck_assert_int_eq(vfs_rename(fs, NULL, "/etc/new", NULL, "/d/sub", 0),
			 -ENOTEMPTY);
	ck_assert_int_eq(vfs_rename(fs, NULL, "/etc/new", NULL, "/empty", 0), 0);
	ck_assert_int_eq(ls("/empty", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "f");
	ck_assert_int_eq(vfs_rename(fs, NULL, "/empty", NULL, "/etc/passwd", 0),
			 -ENOTDIR);
	ck_assert_int_eq(vfs_rename(fs, NULL, "/etc/passwd", NULL, "/empty", 0),
			 -EISDIR);
	/* onto a lower directory emptied by whiteouts */
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/d/sub/x", 0), 0);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/d/sub/deeper", AT_REMOVEDIR), 0);
	ck_assert_int_eq(vfs_rename(fs, NULL, "/empty", NULL, "/d/sub", 0), 0);
	ck_assert_int_eq(ls("/d/sub", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "f");
	ck_assert_int_eq(ls("/", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "big d etc link");
	/* a name renamed onto itself */
	ck_assert_int_eq(vfs_rename(fs, NULL, "/big", NULL, "/big", 0), 0);
	ck_assert_int_eq(ls("/", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "big d etc link");
	assert_lower_unchanged();
}
END_TEST

START_TEST(test_overlay_create_kinds)
{
	char buf[256];
	struct k_stat st;
	struct vfs_path p;

	ck_assert_int_eq(vfs_mknod(fs, NULL, "/d/fifo", S_IFIFO | 0600, 0), 0);
	ck_assert_int_eq(lstat_("/d/fifo", &st), 0);
	ck_assert_uint_eq(st.st_mode & S_IFMT, S_IFIFO);
	ck_assert_int_eq(vfs_symlink(fs, "a", NULL, "/d/sl"), 0);
	ck_assert_int_eq(get("/d/sl", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "a");
	ck_assert_int_eq(vfs_symlink(fs, "a", NULL, "/d/b"), -EEXIST);
	/* mkdir in a lower-only directory copies up its parents */
	ck_assert_int_eq(vfs_walk(fs, NULL, "/d/sub/deeper", 0, &p), 0);
	vfs_path_put(&p);
	ck_assert_int_eq(vfs_mkdir(fs, NULL, "/d/sub/deeper/x/y", 0755), -ENOENT);
	ck_assert_int_eq(vfs_mkdir(fs, NULL, "/d/sub/deeper/x", 0755), 0);
	ck_assert_int_eq(vfs_mkdir(fs, NULL, "/d/sub/deeper/x/y", 0755), 0);
	ck_assert_int_eq(ls("/d/sub/deeper", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "x");
	ck_assert_int_eq(ls("/d", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "a b c fifo sl sub");
	assert_lower_unchanged();
}
END_TEST

START_TEST(test_overlay_enospc)
{
	static char chunk[64 << 10];
	char buf[64];
	struct file *f;
	ssize_t n;
	int r;

	memset(chunk, 'z', sizeof(chunk));
	/* a copy-up that does not fit fails whole: the lower file stays */
	r = put("/big", "more", O_APPEND);
	ck_assert_int_eq(r, -ENOSPC);
	ck_assert_int_eq(vfs_open(fs, NULL, "/big", O_RDONLY, 0, 0, &f), 0);
	ck_assert_int_eq(f->ops->read(f, buf, 4, 0), 4);
	ck_assert_int_eq(memcmp(buf, (char[]){ 0, 7, 14, 21 }, 4), 0);
	file_put(f);
	/* new data fills up and stops */
	ck_assert_int_eq(vfs_open(fs, NULL, "/fill", O_CREAT | O_WRONLY, 0644,
				  0, &f), 0);
	while ((n = f->ops->write(f, chunk, sizeof(chunk), -1)) > 0)
		;
	ck_assert_int_eq(n, -ENOSPC);
	file_put(f);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/fill", 0), 0);
	ck_assert_int_eq(put("/d/a", "fits", O_TRUNC), 0);
	ck_assert_int_eq(get("/d/a", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "fits");
	assert_lower_unchanged();
}
END_TEST

Suite *sbx_test_suite(void)
{
	Suite *s = suite_create("overlay");
	TCase *tc = tcase_create("overlay");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_overlay_lookup_reads_lower);
	tcase_add_test(tc, test_overlay_copy_up_on_write_keeps_identity);
	tcase_add_test(tc, test_overlay_copy_up_on_setattr_truncate_link);
	tcase_add_test(tc, test_overlay_copy_up_large_file);
	tcase_add_test(tc, test_overlay_unlink_whiteout);
	tcase_add_test(tc, test_overlay_rmdir_opaque);
	tcase_add_test(tc, test_overlay_readdir_merge_and_inodes);
	tcase_add_test(tc, test_overlay_readdir_stable_while_changing);
	tcase_add_test(tc, test_overlay_rename);
	tcase_add_test(tc, test_overlay_create_kinds);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	tc = tcase_create("small");
	tcase_add_checked_fixture(tc, setup_small, NULL);
	tcase_add_test(tc, test_overlay_enospc);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
