/*
 * /dev: a tmpfs holding character-device nodes whose opens come here
 * (chrdev_open, dispatched on the node's rdev, as Linux's chrdev table):
 * null, zero, full, random, urandom, tty; plus the symlinks stdin, stdout,
 * stderr and fd into /proc/self/fd, and the shm directory (a tmpfs is
 * mounted there by vfs_init).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "vfs.h"

static ssize_t null_read(struct file *f, void *buf, size_t len, int64_t off)
{
	return 0;
}

static ssize_t zero_read(struct file *f, void *buf, size_t len, int64_t off)
{
	memset(buf, 0, len);
	return (ssize_t)len;
}

static ssize_t random_read(struct file *f, void *buf, size_t len, int64_t off)
{
	ssize_t n = getrandom(buf, len, 0);

	return n < 0 ? -errno : n;
}

static ssize_t sink_write(struct file *f, const void *buf, size_t len,
			  int64_t off)
{
	return (ssize_t)len;
}

static ssize_t full_write(struct file *f, const void *buf, size_t len,
			  int64_t off)
{
	return -ENOSPC;
}

static int64_t dev_llseek(struct file *f, int64_t off, int whence)
{
	return 0;
}

static int dev_stat(struct file *f, struct k_stat *st)
{
	return vfs_stat(&f->path, st);
}

static const struct file_ops null_ops = {
	.read = null_read, .write = sink_write, .llseek = dev_llseek,
	.stat = dev_stat,
};
static const struct file_ops zero_ops = {
	.read = zero_read, .write = sink_write, .llseek = dev_llseek,
	.stat = dev_stat,
};
static const struct file_ops full_ops = {
	.read = zero_read, .write = full_write, .llseek = dev_llseek,
	.stat = dev_stat,
};
static const struct file_ops random_ops = {
	.read = random_read, .write = sink_write, .llseek = dev_llseek,
	.stat = dev_stat,
};

int chrdev_open(uint32_t rdev, int flags, const struct vfs_path *p,
		struct file **out)
{
	const struct file_ops *ops;

	if (major(rdev) != 1)
		return -ENXIO; /* tty (5,0): no controlling terminal yet */
	switch (minor(rdev)) {
	case 3: ops = &null_ops; break;
	case 5: ops = &zero_ops; break;
	case 7: ops = &full_ops; break;
	case 8:
	case 9: ops = &random_ops; break;
	default: return -ENXIO;
	}
	flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC);
	*out = file_new(ops, flags | K_O_LARGEFILE, -1, p);
	return *out ? 0 : -ENOMEM;
}

int dev_populate(struct sbx_fs_node *root)
{
	static const struct {
		const char *name;
		unsigned major, minor;
	} nodes[] = {
		{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
		{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
	};
	static const struct {
		const char *name, *target;
	} links[] = {
		{ "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" },
		{ "stderr", "/proc/self/fd/2" }, { "fd", "/proc/self/fd" },
	};
	int r;

	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		r = tmpfs_mknod(root, nodes[i].name, S_IFCHR | 0666,
				makedev(nodes[i].major, nodes[i].minor));
		if (r)
			return r;
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		r = tmpfs_ops.symlink(root, links[i].name, links[i].target);
		if (r)
			return r;
	}
	r = tmpfs_ops.mkdir(root, "shm", 01777);
	if (r)
		return r;
	return tmpfs_ops.mkdir(root, "pts", 0755);
}
