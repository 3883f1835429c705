/*
 * VFS unit tests: path walking ("..", symlinks, ELOOP, trailing slashes,
 * mount crossing), the dentry cache (unlink/rename invalidation), tmpfs
 * (files, directories, ENOSPC, getdents cookies) and the gofer protocol
 * codec fed malformed messages, and the tree of /proc without a kernel
 * (global files, cookies, seek rules, errors).  The VFS runs on a tmpfs
 * root; no gofer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/mm/memfile.h"
#include "core/vfs/procfs.h"
#include "core/vfs/vfs.h"
#include "plugins/fs-gofer/proto.h"
#include "runner.h"

static struct fs_context *fs;

static void setup(void)
{
	struct sbx_fs_mount_args args = { sizeof(args), "none", false, 0 };
	struct sbx_fs_mount_args small = { sizeof(small), "none", false, 64 << 10 };

	ck_assert_int_eq(memfile_init(1ULL << 32), 0); /* tmpfs file data */
	ck_assert_int_eq(vfs_init_root(&tmpfs_ops, NULL, &args, "tmpfs"), 0);
	ck_assert_int_eq(vfs_mount("/small", &tmpfs_ops, NULL, &small, "tmpfs"), 0);
	fs = fs_context_new();
	ck_assert_ptr_nonnull(fs);
}

static int put(const char *path, const char *data)
{
	struct file *f;
	int r = vfs_open(fs, NULL, path, O_CREAT | O_WRONLY | O_TRUNC, 0644, 0, &f);

	if (r)
		return r;
	r = (int)f->ops->write(f, data, strlen(data), -1);
	file_put(f);
	return r < 0 ? r : 0;
}

static int get(const char *path, char *buf, size_t len)
{
	struct file *f;
	int r = vfs_open(fs, NULL, path, O_RDONLY, 0, 0, &f);
	ssize_t n;

	if (r)
		return r;
	n = f->ops->read(f, buf, len - 1, -1);
	file_put(f);
	if (n < 0)
		return (int)n;
	buf[n] = 0;
	return 0;
}

static int walk(const char *path, unsigned flags, char *abs)
{
	struct vfs_path p;
	int r = vfs_walk(fs, NULL, path, flags, &p);

	if (r)
		return r;
	if (abs)
		r = vfs_getpath(fs, &p, abs, PATH_MAX) < 0 ? -1 : 0;
	vfs_path_put(&p);
	return r;
}

START_TEST(test_vfs_walk_dotdot_clamped)
{
	char abs[PATH_MAX];

	ck_assert_int_eq(vfs_mkdir(fs, NULL, "/a", 0755), 0);
	ck_assert_int_eq(vfs_mkdir(fs, NULL, "/a/b", 0755), 0);
	ck_assert_int_eq(walk("/a/b/../../../../..", WALK_FOLLOW, abs), 0);
	ck_assert_str_eq(abs, "/");
	ck_assert_int_eq(walk("/a/./b/..//b/", WALK_FOLLOW, abs), 0);
	ck_assert_str_eq(abs, "/a/b");
	ck_assert_int_eq(walk("/small/..", WALK_FOLLOW, abs), 0);
	ck_assert_str_eq(abs, "/");
	ck_assert_int_eq(walk("/nope/x", WALK_FOLLOW, NULL), -ENOENT);
	ck_assert_int_eq(walk("", 0, NULL), -ENOENT);
}
END_TEST

START_TEST(test_vfs_walk_symlinks)
{
	char abs[PATH_MAX], buf[64];

	ck_assert_int_eq(vfs_mkdir(fs, NULL, "/d", 0755), 0);
	ck_assert_int_eq(put("/d/f", "x"), 0);
	ck_assert_int_eq(vfs_symlink(fs, "d", NULL, "/rel"), 0);
	ck_assert_int_eq(vfs_symlink(fs, "/d/f", NULL, "/abs"), 0);
	ck_assert_int_eq(vfs_symlink(fs, "../../../../d", NULL, "/d/up"), 0);
	ck_assert_int_eq(vfs_symlink(fs, "loop", NULL, "/loop"), 0);
	ck_assert_int_eq(walk("/rel/f", 0, abs), 0);
	ck_assert_str_eq(abs, "/d/f");
	ck_assert_int_eq(walk("/d/up/f", 0, abs), 0); /* ".." clamped */
	ck_assert_str_eq(abs, "/d/f");
	ck_assert_int_eq(get("/abs", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "x");
	ck_assert_int_eq(walk("/loop", WALK_FOLLOW, NULL), -ELOOP);
	ck_assert_int_eq(walk("/loop", 0, NULL), 0); /* lstat */
	ck_assert_int_eq(walk("/abs/", 0, NULL), -ENOTDIR);
	ck_assert_int_eq(walk("/d/f/x", 0, NULL), -ENOTDIR);
	{
		struct file *f;

		ck_assert_int_eq(vfs_open(fs, NULL, "/abs", O_RDONLY | O_NOFOLLOW,
					  0, 0, &f), -ELOOP);
		ck_assert_int_eq(vfs_open(fs, NULL, "/rel", O_RDONLY | O_DIRECTORY,
					  0, 0, &f), 0);
		file_put(f);
		ck_assert_int_eq(vfs_open(fs, NULL, "/d/f", O_RDONLY | O_DIRECTORY,
					  0, 0, &f), -ENOTDIR);
	}
}
END_TEST

START_TEST(test_vfs_walk_forty_links)
{
	char name[32], target[32];

	/* l0 -> l1 -> ... -> l40 -> file: 41 links is one too many */
	ck_assert_int_eq(put("/file", "y"), 0);
	for (int i = 0; i <= 40; i++) {
		snprintf(name, sizeof(name), "/l%d", i);
		if (i == 40)
			snprintf(target, sizeof(target), "file");
		else
			snprintf(target, sizeof(target), "l%d", i + 1);
		ck_assert_int_eq(vfs_symlink(fs, target, NULL, name), 0);
	}
	ck_assert_int_eq(walk("/l1", WALK_FOLLOW, NULL), 0);  /* 40 links */
	ck_assert_int_eq(walk("/l0", WALK_FOLLOW, NULL), -ELOOP);
}
END_TEST

START_TEST(test_vfs_dcache_unlink_rename)
{
	char buf[64];
	struct file *f;

	ck_assert_int_eq(put("/x", "one"), 0);
	ck_assert_int_eq(walk("/x", 0, NULL), 0); /* cached now */
	ck_assert_int_eq(vfs_open(fs, NULL, "/x", O_RDONLY, 0, 0, &f), 0);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/x", 0), 0);
	ck_assert_int_eq(walk("/x", 0, NULL), -ENOENT);
	/* the open file still reads */
	ck_assert_int_eq(f->ops->read(f, buf, sizeof(buf), 0), 3);
	file_put(f);
	ck_assert_int_eq(put("/y", "two"), 0);
	ck_assert_int_eq(put("/z", "three"), 0);
	ck_assert_int_eq(vfs_rename(fs, NULL, "/y", NULL, "/z", 0), 0);
	ck_assert_int_eq(get("/z", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "two");
	ck_assert_int_eq(walk("/y", 0, NULL), -ENOENT);
	ck_assert_int_eq(put("/y", "y"), 0);
	ck_assert_int_eq(vfs_rename(fs, NULL, "/y", NULL, "/z", RENAME_NOREPLACE),
			 -EEXIST);
	ck_assert_int_eq(vfs_rename(fs, NULL, "/y", NULL, "/z", RENAME_EXCHANGE), 0);
	ck_assert_int_eq(get("/y", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "two");
	ck_assert_int_eq(vfs_rename(fs, NULL, "/y", NULL, "/small/y", 0), -EXDEV);
	ck_assert_int_eq(vfs_link(fs, NULL, "/y", NULL, "/y2", 0), 0);
	ck_assert_int_eq(get("/y2", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "two");
	ck_assert_int_eq(vfs_mkdir(fs, NULL, "/e", 0755), 0);
	ck_assert_int_eq(put("/e/f", "f"), 0);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/e", AT_REMOVEDIR), -ENOTEMPTY);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/e", 0), -EISDIR);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/e/f", AT_REMOVEDIR), -ENOTDIR);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/e/f", 0), 0);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/e", AT_REMOVEDIR), 0);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/small", AT_REMOVEDIR), -EBUSY);
}
END_TEST

START_TEST(test_vfs_tmpfs_enospc_and_excl)
{
	static char big[128 << 10];
	struct file *f;

	memset(big, 'a', sizeof(big));
	ck_assert_int_eq(vfs_open(fs, NULL, "/small/f", O_CREAT | O_EXCL | O_RDWR,
				  0600, 0, &f), 0);
	ck_assert_int_eq(f->ops->write(f, big, sizeof(big), -1), -ENOSPC);
	ck_assert_int_eq(f->ops->write(f, big, 4096, -1), 4096);
	file_put(f);
	ck_assert_int_eq(vfs_open(fs, NULL, "/small/f", O_CREAT | O_EXCL | O_RDWR,
				  0600, 0, &f), -EEXIST);
	ck_assert_int_eq(vfs_open(fs, NULL, "/small", O_WRONLY, 0, 0, &f), -EISDIR);
}
END_TEST

START_TEST(test_vfs_tmpfs_getdents_while_unlinking)
{
	char name[32], buf[4096];
	struct file *f;
	int seen = 0;
	ssize_t n;

	ck_assert_int_eq(vfs_mkdir(fs, NULL, "/many", 0755), 0);
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "/many/f%03d", i);
		ck_assert_int_eq(put(name, "z"), 0);
	}
	ck_assert_int_eq(vfs_open(fs, NULL, "/many", O_RDONLY | O_DIRECTORY, 0, 0,
				  &f), 0);
	/* small reads, unlinking what was listed: nothing skipped or repeated */
	while ((n = f->ops->getdents(f, buf, 200)) > 0) {
		for (ssize_t at = 0; at < n;) {
			char *d = buf + at;
			uint16_t reclen;

			memcpy(&reclen, d + 16, 2);
			if (strcmp(d + 19, ".") && strcmp(d + 19, "..")) {
				snprintf(name, sizeof(name), "/many/%s", d + 19);
				ck_assert_int_eq(vfs_unlink(fs, NULL, name, 0), 0);
				seen++;
			}
			at += reclen;
		}
	}
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(seen, 100);
	file_put(f);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/many", AT_REMOVEDIR), 0);
}
END_TEST

/* ---- the gofer codec ---- */

static int parse(const void *msg, size_t len)
{
	struct gofer_buf b;
	struct gofer_hdr h;

	return gofer_parse(&b, msg, len, &h);
}

START_TEST(test_vfs_procfs_tree)
{
	struct sbx_fs_mount_args args = { sizeof(args), "none", false, 0 };
	char buf[4096], names[512] = "";
	struct vfs_path a, b;
	struct k_stat st;
	struct file *f;
	ssize_t n;

	ck_assert_int_eq(vfs_mount("/proc", &procfs_ops, NULL, &args, "proc"), 0);
	ck_assert_int_eq(get("/proc/version", buf, sizeof(buf)), 0);
	ck_assert_int_eq(strncmp(buf, "Linux version ", 14), 0);
	ck_assert_int_eq(get("/proc/sys/kernel/ostype", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "Linux\n");
	/* no task on this thread: self leads nowhere, pids do not exist */
	ck_assert_int_eq(walk("/proc/self", WALK_FOLLOW, NULL), -ENOENT);
	ck_assert_int_eq(walk("/proc/1", WALK_FOLLOW, NULL), -ENOENT);
	ck_assert_int_eq(walk("/proc/nosuch", WALK_FOLLOW, NULL), -ENOENT);
	/* inode numbers are stable per path; sizes are 0 */
	ck_assert_int_eq(vfs_walk(fs, NULL, "/proc/uptime", 0, &a), 0);
	ck_assert_int_eq(vfs_walk(fs, NULL, "/proc/./uptime", 0, &b), 0);
	ck_assert_int_eq(vfs_stat(&a, &st), 0);
	ck_assert_uint_eq(st.st_size, 0);
	n = (ssize_t)st.st_ino;
	ck_assert_int_eq(vfs_stat(&b, &st), 0);
	ck_assert_uint_eq((uint64_t)n, st.st_ino);
	vfs_path_put(&a);
	vfs_path_put(&b);
	/* a snapshot: SEEK_SET/SEEK_CUR only, pread anywhere */
	ck_assert_int_eq(vfs_open(fs, NULL, "/proc/version", O_RDONLY, 0, 0, &f), 0);
	ck_assert_int_eq(f->ops->llseek(f, 0, SEEK_END), -EINVAL);
	ck_assert_int_eq(f->ops->llseek(f, -1, SEEK_SET), -EINVAL);
	ck_assert_int_eq(f->ops->llseek(f, 6, SEEK_SET), 6);
	n = f->ops->read(f, buf, 7, -1);
	ck_assert_int_eq(n, 7);
	ck_assert_int_eq(memcmp(buf, "version", 7), 0);
	ck_assert_int_eq(f->ops->read(f, buf, 5, 0), 5);
	ck_assert_int_eq(memcmp(buf, "Linux", 5), 0);
	ck_assert_int_eq(f->ops->read(f, buf, 5, 1 << 20), 0);
	ck_assert_int_eq(f->ops->write(f, "x", 1, -1), -EINVAL);
	file_put(f);
	/* the listing: ".", "..", then the table in order */
	ck_assert_int_eq(vfs_open(fs, NULL, "/proc", O_RDONLY | O_DIRECTORY, 0, 0, &f), 0);
	while ((n = f->ops->getdents(f, buf, sizeof(buf))) > 0)
		for (ssize_t at = 0; at < n;) {
			uint16_t reclen;

			memcpy(&reclen, buf + at + 16, 2);
			strcat(names, buf + at + 19);
			strcat(names, " ");
			at += reclen;
		}
	file_put(f);
	ck_assert_str_eq(names, ". .. cpuinfo filesystems loadavg meminfo mounts "
			 "self stat sys thread-self uptime version ");
	/* Linux's errors for changing /proc */
	ck_assert_int_eq(vfs_mkdir(fs, NULL, "/proc/x", 0755), -ENOENT);
	ck_assert_int_eq(vfs_unlink(fs, NULL, "/proc/version", 0), -EPERM);
	ck_assert_int_eq(vfs_open(fs, NULL, "/proc/new", O_CREAT | O_WRONLY, 0644,
				  0, &f), -ENOENT);
}
END_TEST

START_TEST(test_vfs_proto_malformed)
{
	unsigned char mem[512];
	struct gofer_buf b, p;
	struct gofer_hdr h;
	char name[GOFER_MAX_NAME + 1];
	int len;

	/* a good WALK round-trips */
	gofer_begin(&b, mem, sizeof(mem), GOFER_WALK, 7, 0);
	gofer_put_u32(&b, 3);
	gofer_put_str(&b, "etc", 3);
	len = gofer_end(&b);
	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(gofer_parse(&p, mem, (size_t)len, &h), 0);
	ck_assert_int_eq(gofer_get_u32(&p), 3);
	gofer_get_name(&p, name);
	ck_assert_int_eq(gofer_done(&p), 0);
	ck_assert_str_eq(name, "etc");

	/* short, lying lengths, bad version, bad op, trailing bytes */
	ck_assert_int_eq(parse(mem, 3), -EPROTO);
	ck_assert_int_eq(parse(mem, (size_t)len - 1), -EPROTO);
	mem[4] = 9; /* version */
	ck_assert_int_eq(parse(mem, (size_t)len), -EPROTO);
	mem[4] = GOFER_VERSION;
	mem[6] = 0xee; /* op */
	ck_assert_int_eq(parse(mem, (size_t)len), -EPROTO);
	mem[6] = GOFER_WALK;

	/* names: "", ".", "..", '/' inside, NUL inside, length past the end */
	{
		static const struct { const char *s; size_t n; } bad[] = {
			{ "", 0 }, { ".", 1 }, { "..", 2 }, { "a/b", 3 },
			{ "a\0b", 3 }, { "x", 1000 },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			uint16_t l = (uint16_t)bad[i].n;

			gofer_begin(&b, mem, sizeof(mem), GOFER_WALK, 1, 0);
			gofer_put_u32(&b, 0);
			gofer_put_bytes(&b, &l, 2);
			gofer_put_bytes(&b, bad[i].s, bad[i].n < 8 ? bad[i].n : 1);
			len = gofer_end(&b);
			ck_assert_int_eq(gofer_parse(&p, mem, (size_t)len, &h), 0);
			gofer_get_u32(&p);
			gofer_get_name(&p, name);
			ck_assert_int_eq(gofer_done(&p), -EPROTO);
		}
	}
	/* a 300-byte name is too long */
	{
		char longname[300];

		memset(longname, 'n', sizeof(longname));
		gofer_begin(&b, mem, sizeof(mem), GOFER_WALK, 1, 0);
		gofer_put_u32(&b, 0);
		gofer_put_str(&b, longname, sizeof(longname));
		len = gofer_end(&b);
		ck_assert_int_eq(gofer_parse(&p, mem, (size_t)len, &h), 0);
		gofer_get_u32(&p);
		gofer_get_name(&p, name);
		ck_assert_int_eq(gofer_done(&p), -EPROTO);
	}
	/* reading past the end is sticky and zero-fills */
	gofer_begin(&b, mem, sizeof(mem), GOFER_STAT, 1, 0);
	len = gofer_end(&b);
	ck_assert_int_eq(gofer_parse(&p, mem, (size_t)len, &h), 0);
	ck_assert_int_eq(gofer_get_u64(&p), 0);
	ck_assert_int_eq(gofer_done(&p), -EPROTO);
	/* building past the buffer fails instead of overflowing */
	gofer_begin(&b, mem, 20, GOFER_STAT, 1, 0);
	gofer_put_u64(&b, 1);
	ck_assert_int_eq(gofer_end(&b), -EPROTO);
}
END_TEST

Suite *sbx_test_suite(void)
{
	Suite *s = suite_create("vfs");
	TCase *tc = tcase_create("walk");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_vfs_walk_dotdot_clamped);
	tcase_add_test(tc, test_vfs_walk_symlinks);
	tcase_add_test(tc, test_vfs_walk_forty_links);
	tcase_add_test(tc, test_vfs_dcache_unlink_rename);
	tcase_add_test(tc, test_vfs_tmpfs_enospc_and_excl);
	tcase_add_test(tc, test_vfs_tmpfs_getdents_while_unlinking);
	tcase_add_test(tc, test_vfs_procfs_tree);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	tc = tcase_create("proto");
	tcase_add_test(tc, test_vfs_proto_malformed);
	suite_add_tcase(s, tc);
	return s;
}
