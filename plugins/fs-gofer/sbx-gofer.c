/*
 * sbx-gofer: the only process of a sandbox that opens host files.
 *
 *   sbx-gofer SOCKFD ro|rw SOURCE [ro|rw SOURCE ...]
 *
 * Start-up: open each SOURCE directory (O_PATH), then confine: a private
 * mount namespace (a user namespace first when not root) whose root is an
 * empty read-only tmpfs (pivot_root; the old root is detached), so the
 * process can reach host files only through the fds it holds; every
 * capability dropped except the file-ownership ones a root sandbox needs
 * on writable mounts; no_new_privs and a seccomp allowlist (openat only
 * with O_NOFOLLOW, no path-string calls that could follow a symlink).
 * If the namespace set-up is not permitted it logs and goes on: the walk
 * rules below are the real boundary, the namespace is depth.
 *
 * Serving: handles are O_PATH fds.  Every operation names a directory
 * handle plus one validated component; openat(O_PATH|O_NOFOLLOW) walks
 * one step, so neither ".." (rejected by the codec) nor a symlink (never
 * followed: the core resolves symlinks itself) leaves the roots.  Only
 * regular files and directories are ever opened (no device, FIFO or
 * socket of the host); FIFOs and sockets may be created (mknodat) as names
 * the core serves itself; procfs/sysfs-like file systems are not entered.
 * Read-only sources refuse every write op with EROFS.
 *
 * Host calls go through a table (struct gofer_sys) so tests can inject
 * faults.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <sched.h>
#include <stddef.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "proto.h"

#define MAX_HANDLES 65536
#define MAX_ROOTS 64

struct handle {
	int fd;		/* O_PATH, -1 = free */
	int refs;	/* clunk + children */
	int parent;	/* handle index, -1 for roots */
	char *name;	/* in parent */
	int root;	/* which root (read-only flag) */
};

static struct handle *h;
static int n_handles;
static bool root_ro[MAX_ROOTS];
static int n_roots;
static int sock;

static void logmsg(const char *fmt, const char *arg, int err)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "sbx-gofer: %s%s%s%s\n", fmt,
			 arg ? " " : "", arg ? arg : "",
			 err ? ": failed" : "");

	if (n > 0)
		(void)!write(2, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* ---- handles ---- */

static int h_new(int fd, int parent, const char *name, int root)
{
	int i;

	for (i = 0; i < n_handles; i++)
		if (h[i].fd < 0)
			break;
	if (i == n_handles) {
		struct handle *n;

		if (n_handles >= MAX_HANDLES)
			return -ENFILE;
		n = realloc(h, (size_t)(n_handles + 64) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		h = n;
		for (int j = n_handles; j < n_handles + 64; j++)
			h[j].fd = -1;
		n_handles += 64;
	}
	h[i].name = name ? strdup(name) : NULL;
	if (name && !h[i].name)
		return -ENOMEM;
	h[i].fd = fd;
	h[i].refs = 1;
	h[i].parent = parent;
	h[i].root = root;
	if (parent >= 0)
		h[parent].refs++;
	return i;
}

static void h_put(int i)
{
	while (i >= 0 && --h[i].refs == 0) {
		int parent = h[i].parent;

		close(h[i].fd);
		h[i].fd = -1;
		free(h[i].name);
		h[i].name = NULL;
		i = parent;
	}
}

/* h_get - a valid handle index or -1 (hostile numbers are just wrong). */
static int h_get(uint32_t v)
{
	if (v >= (uint32_t)n_handles || h[v].fd < 0)
		return -1;
	return (int)v;
}

/* ---- helpers ---- */

static void to_attr(const struct stat *st, struct gofer_attr *a)
{
	a->ino = st->st_ino;
	a->nlink = st->st_nlink;
	a->size = (uint64_t)st->st_size;
	a->blocks = (uint64_t)st->st_blocks;
	a->dev = st->st_dev;
	a->mode = st->st_mode;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->rdev = (uint32_t)st->st_rdev;
	a->atime_ns = st->st_atim.tv_sec * 1000000000LL + st->st_atim.tv_nsec;
	a->mtime_ns = st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
	a->ctime_ns = st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec;
}

/* special_fs - file systems the gofer never enters (host kernel state). */
static bool special_fs(int fd)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0)
		return true;
	switch ((unsigned long)sf.f_type) {
	case PROC_SUPER_MAGIC:
	case SYSFS_MAGIC:
	case DEBUGFS_MAGIC:
	case SECURITYFS_MAGIC:
	case CGROUP_SUPER_MAGIC:
	case CGROUP2_SUPER_MAGIC:
	case BPF_FS_MAGIC:
	case TRACEFS_MAGIC:
	case DEVPTS_SUPER_MAGIC:
		return true;
	}
	return false;
}

/*
 * reopen - a real fd for handle @i with @flags: by name from its parent
 * (O_NOFOLLOW), checked to be the same file as the handle, only for
 * regular files and directories.
 */
static int reopen(int i, int flags)
{
	struct stat a, b;
	int fd, keep;

	if (fstat(h[i].fd, &a) < 0)
		return -errno;
	if (!S_ISREG(a.st_mode) && !S_ISDIR(a.st_mode))
		return -EACCES;
	if (S_ISDIR(a.st_mode) && special_fs(h[i].fd))
		return -EACCES;
	keep = flags & (O_APPEND | O_NONBLOCK);
	/* O_NONBLOCK until the type is checked: a FIFO swapped in must
	 * not block the gofer */
	flags |= O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	if (h[i].parent < 0)
		fd = openat(h[i].fd, ".", flags);
	else
		fd = openat(h[h[i].parent].fd, h[i].name, flags);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		close(fd);
		return -ESTALE; /* replaced since the walk */
	}
	if (fcntl(fd, F_SETFL, keep) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

static int send_reply(struct gofer_buf *b, int fd)
{
	struct iovec iov = { b->p, b->len };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	int n = gofer_end(b);

	if (n < 0)
		return n;
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(cbuf, 0, sizeof(cbuf));
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sock, &m, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* ---- requests ---- */

struct emit {
	struct gofer_buf *b;
	uint32_t n;
};

static int do_getdents(int i, uint64_t cookie, struct gofer_buf *out)
{
	char buf[8192];
	int fd = reopen(i, O_RDONLY | O_DIRECTORY);
	uint32_t n = 0;
	size_t count_at;
	long got;
	uint64_t next = cookie;

	if (fd < 0)
		return fd;
	if (lseek(fd, (off_t)cookie, SEEK_SET) < 0) {
		close(fd);
		return -errno;
	}
	gofer_put_u64(out, 0); /* next cookie, patched */
	count_at = out->len;
	gofer_put_u32(out, 0);
	got = syscall(SYS_getdents64, fd, buf, sizeof(buf));
	if (got < 0) {
		close(fd);
		return -errno;
	}
	for (long at = 0; at < got;) {
		struct dirent64 *d = (struct dirent64 *)(buf + at);
		size_t nl = strlen(d->d_name);

		if (out->len + 8 + 8 + 1 + 2 + nl > GOFER_MAX_MSG - 64)
			break;
		gofer_put_u64(out, d->d_ino);
		gofer_put_u64(out, (uint64_t)d->d_off);
		gofer_put_bytes(out, &d->d_type, 1);
		gofer_put_str(out, d->d_name, nl);
		next = (uint64_t)d->d_off;
		n++;
		at += d->d_reclen;
	}
	close(fd);
	memcpy(out->p + count_at - 8, &next, 8);
	memcpy(out->p + count_at, &n, 4);
	return 0;
}

static int setattr(int i, uint32_t mask, const struct gofer_attr *a)
{
	struct stat st;
	int fd, r = 0;

	if (fstat(h[i].fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return -EPERM;
	fd = reopen(i, S_ISDIR(st.st_mode) ? O_RDONLY | O_DIRECTORY
			: (mask & 8 /* SIZE */) ? O_WRONLY : O_RDONLY);
	if (fd < 0)
		return fd;
	if ((mask & 1) && fchmod(fd, a->mode & 07777) < 0)
		r = -errno;
	if (!r && (mask & 6) && fchown(fd, mask & 2 ? a->uid : (uid_t)-1,
				       mask & 4 ? a->gid : (gid_t)-1) < 0)
		r = -errno;
	if (!r && (mask & 8) && ftruncate(fd, (off_t)a->size) < 0)
		r = -errno;
	if (!r && (mask & 48)) {
		struct timespec ts[2] = {
			{ a->atime_ns / 1000000000, a->atime_ns % 1000000000 },
			{ a->mtime_ns / 1000000000, a->mtime_ns % 1000000000 },
		};
		if (!(mask & 16))
			ts[0].tv_nsec = UTIME_OMIT;
		if (!(mask & 32))
			ts[1].tv_nsec = UTIME_OMIT;
		if (futimens(fd, ts) < 0)
			r = -errno;
	}
	close(fd);
	return r;
}

/* mknod_mode_ok - the node types GOFER_MKNOD creates: names with a type
 * only (the core serves FIFOs itself and never opens these; no devices). */
static bool mknod_mode_ok(uint32_t mode)
{
	if (mode & ~(uint32_t)(S_IFMT | 07777))
		return false;
	switch (mode & S_IFMT) {
	case S_IFIFO:
	case S_IFSOCK:
	case S_IFREG:
		return true;
	}
	return false;
}

/* handle_one - parse, check and answer one request. */
static void handle_one(unsigned char *in, size_t len)
{
	static unsigned char outmem[GOFER_MAX_MSG];
	struct gofer_buf b, out;
	struct gofer_hdr hd;
	struct gofer_attr attr;
	struct stat st;
	char name[GOFER_MAX_NAME + 1], name2[GOFER_MAX_TARGET + 1];
	int r = 0, fd = -1, i = -1, j = -1, nh;
	uint32_t v1 = 0, v2 = 0;
	size_t mark;

	if (gofer_parse(&b, in, len, &hd) < 0) {
		/* an unusable header: answer with a zero tag */
		gofer_begin(&out, outmem, sizeof(outmem), GOFER_STAT, 0, EPROTO);
		send_reply(&out, -1);
		return;
	}
	gofer_begin(&out, outmem, sizeof(outmem), hd.op, hd.tag, 0);
	mark = out.len;
	memset(&attr, 0, sizeof(attr));
	switch (hd.op) {
	case GOFER_WALK:
		i = h_get(gofer_get_u32(&b));
		gofer_get_name(&b, name);
		if (gofer_done(&b) || i < 0 || hd.err) {
			r = -EPROTO;
			break;
		}
		if (special_fs(h[i].fd)) {
			r = -EACCES;
			break;
		}
		fd = openat(h[i].fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0) {
			r = -errno;
			break;
		}
		nh = h_new(fd, i, name, h[i].root);
		if (nh < 0) {
			r = nh;
			break;
		}
		fd = -1;
		to_attr(&st, &attr);
		gofer_put_u32(&out, (uint32_t)nh);
		gofer_put_bytes(&out, &attr, sizeof(attr));
		break;
	case GOFER_STAT:
		i = h_get(gofer_get_u32(&b));
		if (gofer_done(&b) || i < 0 || hd.err) {
			r = -EPROTO;
			break;
		}
		if (fstat(h[i].fd, &st) < 0) {
			r = -errno;
			break;
		}
		to_attr(&st, &attr);
		gofer_put_bytes(&out, &attr, sizeof(attr));
		break;
	case GOFER_OPEN:
		i = h_get(gofer_get_u32(&b));
		v1 = gofer_get_u32(&b);
		if (gofer_done(&b) || i < 0 || hd.err ||
		    (v1 & ~(uint32_t)(O_ACCMODE | O_APPEND | O_TRUNC | O_DIRECTORY |
				      O_NONBLOCK)) || (v1 & O_ACCMODE) == 3) {
			r = -EPROTO;
			break;
		}
		if (root_ro[h[i].root] &&
		    ((v1 & O_ACCMODE) != O_RDONLY || (v1 & O_TRUNC))) {
			r = -EROFS;
			break;
		}
		r = fd = reopen(i, (int)v1);
		if (r > 0)
			r = 0;
		break;
	case GOFER_CREATE:
		i = h_get(gofer_get_u32(&b));
		v1 = gofer_get_u32(&b); /* mode */
		v2 = gofer_get_u32(&b); /* flags */
		gofer_get_name(&b, name);
		if (gofer_done(&b) || i < 0 || hd.err ||
		    (v2 & ~(uint32_t)(O_ACCMODE | O_APPEND | O_NONBLOCK)) ||
		    (v2 & O_ACCMODE) == 3) {
			r = -EPROTO;
			break;
		}
		if (root_ro[h[i].root]) {
			r = -EROFS;
			break;
		}
		fd = openat(h[i].fd, name, (int)v2 | O_CREAT | O_EXCL | O_NOFOLLOW |
			    O_CLOEXEC | O_NOCTTY, v1 & 07777);
		if (fd < 0) {
			r = -errno;
			break;
		}
		j = openat(h[i].fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (j < 0 || fstat(j, &st) < 0) {
			r = -errno;
			if (j >= 0)
				close(j);
			break;
		}
		nh = h_new(j, i, name, h[i].root);
		if (nh < 0) {
			close(j);
			r = nh;
			break;
		}
		to_attr(&st, &attr);
		gofer_put_u32(&out, (uint32_t)nh);
		gofer_put_bytes(&out, &attr, sizeof(attr));
		break;
	case GOFER_MKDIR:
	case GOFER_UNLINK:
	case GOFER_MKNOD:
		i = h_get(gofer_get_u32(&b));
		v1 = gofer_get_u32(&b);
		gofer_get_name(&b, name);
		if (gofer_done(&b) || i < 0 || hd.err ||
		    (hd.op == GOFER_UNLINK && (v1 & ~(uint32_t)AT_REMOVEDIR)) ||
		    (hd.op == GOFER_MKNOD && !mknod_mode_ok(v1))) {
			r = -EPROTO;
			break;
		}
		if (root_ro[h[i].root])
			r = -EROFS;
		else if (hd.op == GOFER_MKDIR)
			r = mkdirat(h[i].fd, name, v1 & 07777) < 0 ? -errno : 0;
		else if (hd.op == GOFER_MKNOD)
			r = mknodat(h[i].fd, name, v1, 0) < 0 ? -errno : 0;
		else
			r = unlinkat(h[i].fd, name, (int)v1) < 0 ? -errno : 0;
		break;
	case GOFER_RENAME:
		i = h_get(gofer_get_u32(&b));
		j = h_get(gofer_get_u32(&b));
		v1 = gofer_get_u32(&b);
		gofer_get_name(&b, name);
		gofer_get_name(&b, name2);
		if (gofer_done(&b) || i < 0 || j < 0 || hd.err ||
		    (v1 & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE))) {
			r = -EPROTO;
			break;
		}
		if (root_ro[h[i].root] || root_ro[h[j].root])
			r = -EROFS;
		else
			r = renameat2(h[i].fd, name, h[j].fd, name2, v1) < 0
				? -errno : 0;
		break;
	case GOFER_LINK:
		i = h_get(gofer_get_u32(&b));
		j = h_get(gofer_get_u32(&b));
		gofer_get_name(&b, name);
		if (gofer_done(&b) || i < 0 || j < 0 || hd.err || h[i].parent < 0) {
			r = -EPROTO;
			break;
		}
		if (root_ro[h[j].root])
			r = -EROFS;
		else
			r = linkat(h[h[i].parent].fd, h[i].name, h[j].fd, name, 0) < 0
				? -errno : 0;
		break;
	case GOFER_SYMLINK:
		i = h_get(gofer_get_u32(&b));
		gofer_get_name(&b, name);
		gofer_get_target(&b, name2);
		if (gofer_done(&b) || i < 0 || hd.err) {
			r = -EPROTO;
			break;
		}
		if (root_ro[h[i].root])
			r = -EROFS;
		else
			r = symlinkat(name2, h[i].fd, name) < 0 ? -errno : 0;
		break;
	case GOFER_READLINK: {
		ssize_t n;

		i = h_get(gofer_get_u32(&b));
		if (gofer_done(&b) || i < 0 || hd.err) {
			r = -EPROTO;
			break;
		}
		n = readlinkat(h[i].fd, "", name2, sizeof(name2) - 1);
		if (n < 0) {
			r = -errno;
			break;
		}
		gofer_put_str(&out, name2, (size_t)n);
		break;
	}
	case GOFER_GETDENTS: {
		uint64_t cookie;

		i = h_get(gofer_get_u32(&b));
		cookie = gofer_get_u64(&b);
		if (gofer_done(&b) || i < 0 || hd.err || cookie > INT64_MAX) {
			r = -EPROTO;
			break;
		}
		r = do_getdents(i, cookie, &out);
		break;
	}
	case GOFER_CLUNK:
		i = h_get(gofer_get_u32(&b));
		if (gofer_done(&b) || i < n_roots || hd.err)
			r = -EPROTO;
		else
			h_put(i);
		if (!r)
			return; /* no reply */
		break;
	case GOFER_SETATTR:
		i = h_get(gofer_get_u32(&b));
		v1 = gofer_get_u32(&b);
		gofer_get_bytes(&b, &attr, sizeof(attr));
		if (gofer_done(&b) || i < 0 || hd.err || (v1 & ~63u)) {
			r = -EPROTO;
			break;
		}
		r = root_ro[h[i].root] ? -EROFS : setattr(i, v1, &attr);
		break;
	case GOFER_STATFS: {
		struct statfs sf;
		struct gofer_statfs g;

		i = h_get(gofer_get_u32(&b));
		if (gofer_done(&b) || i < 0 || hd.err) {
			r = -EPROTO;
			break;
		}
		if (fstatfs(h[i].fd, &sf) < 0) {
			r = -errno;
			break;
		}
		g = (struct gofer_statfs){ (uint64_t)sf.f_type, (uint64_t)sf.f_bsize,
			sf.f_blocks, sf.f_bfree, sf.f_bavail, sf.f_files,
			sf.f_ffree, (uint64_t)sf.f_namelen, (uint64_t)sf.f_frsize,
			(uint64_t)sf.f_flags | (root_ro[h[i].root] ? ST_RDONLY : 0) };
		gofer_put_bytes(&out, &g, sizeof(g));
		break;
	}
	default:
		r = -EPROTO;
	}
	if (r) {
		if (fd >= 0)
			close(fd);
		fd = -1;
		out.len = mark;
		memcpy(out.p + offsetof(struct gofer_hdr, err), &(int32_t){ -r }, 4);
	}
	send_reply(&out, fd);
	if (fd >= 0)
		close(fd);
}

/* ---- confinement ---- */

static void drop_caps(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	uint64_t keep = (1ULL << CAP_CHOWN) | (1ULL << CAP_DAC_OVERRIDE) |
			(1ULL << CAP_DAC_READ_SEARCH) | (1ULL << CAP_FOWNER) |
			(1ULL << CAP_FSETID);

	for (int c = 0; c <= 63; c++)
		if (!(keep & (1ULL << c)))
			prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
	if (syscall(SYS_capget, &hdr, data) < 0)
		return;
	for (int k = 0; k < 2; k++) {
		uint32_t m = (uint32_t)(keep >> (32 * k));

		data[k].effective &= m;
		data[k].permitted &= m;
		data[k].inheritable = 0;
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		logmsg("capset", NULL, 1);
}

/* enter_empty_root - a private mount namespace whose root is an empty
 * read-only tmpfs; the host file systems stay reachable only by our fds. */
static int enter_empty_root(void)
{
	if (unshare(CLONE_NEWNS) < 0) {
		uid_t uid = getuid();
		gid_t gid = getgid();
		char map[64];
		int fd;

		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
			return -errno;
		/* map ourselves so file ownership stays meaningful */
		fd = open("/proc/self/setgroups", O_WRONLY);
		if (fd >= 0) {
			(void)!write(fd, "deny", 4);
			close(fd);
		}
		snprintf(map, sizeof(map), "%u %u 1", uid, uid);
		fd = open("/proc/self/uid_map", O_WRONLY);
		if (fd >= 0) {
			(void)!write(fd, map, strlen(map));
			close(fd);
		}
		snprintf(map, sizeof(map), "%u %u 1", gid, gid);
		fd = open("/proc/self/gid_map", O_WRONLY);
		if (fd >= 0) {
			(void)!write(fd, map, strlen(map));
			close(fd);
		}
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	if (mount("sbx-gofer", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=4k,mode=0555") < 0)
		return -errno;
	if (chdir("/tmp") < 0)
		return -errno;
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return -errno;
	if (umount2(".", MNT_DETACH) < 0)
		return -errno;
	if (chdir("/") < 0)
		return -errno;
	mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV |
	      MS_NOEXEC, NULL);
	return 0;
}

static int install_seccomp(void)
{
	static const int calls[] = {
		SCMP_SYS(recvmsg), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg), SCMP_SYS(close),
		SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(fstatfs),
		SCMP_SYS(getdents64), SCMP_SYS(readlinkat), SCMP_SYS(mkdirat),
		SCMP_SYS(unlinkat), SCMP_SYS(renameat2), SCMP_SYS(linkat),
		SCMP_SYS(symlinkat), SCMP_SYS(fchmod), SCMP_SYS(fchown),
		SCMP_SYS(ftruncate), SCMP_SYS(utimensat), SCMP_SYS(fcntl),
		SCMP_SYS(lseek), SCMP_SYS(write), SCMP_SYS(brk), SCMP_SYS(mmap),
		SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
		SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(rt_sigreturn),
		SCMP_SYS(getpid), SCMP_SYS(futex),
	};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r = 0;

	if (!ctx)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]) && !r; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);
	/* mknodat only for FIFOs, sockets and regular files (the filter
	 * repeats mknod_mode_ok: no device node even from a bug here) */
	static const uint32_t node_types[] = { S_IFIFO, S_IFSOCK, S_IFREG };

	for (size_t i = 0; i < 3 && !r; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mknodat), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, S_IFMT,
					     node_types[i]));
	/* openat only with O_NOFOLLOW: a symlink is never followed */
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, O_NOFOLLOW,
					     O_NOFOLLOW));
	if (!r)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}

int main(int argc, char **argv)
{
	static unsigned char in[GOFER_MAX_MSG + 1];
	struct rlimit rl;

	if (argc < 4 || (argc - 2) % 2) {
		logmsg("usage: sbx-gofer SOCKFD ro|rw SOURCE...", NULL, 0);
		return 2;
	}
	sock = atoi(argv[1]);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (int a = 2; a + 1 < argc; a += 2) {
		int fd = open(argv[a + 1], O_PATH | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0 || n_roots >= MAX_ROOTS) {
			logmsg("cannot open source", argv[a + 1], 1);
			return 1;
		}
		root_ro[n_roots] = strcmp(argv[a], "rw") != 0;
		if (h_new(fd, -1, NULL, n_roots) != n_roots)
			return 1;
		n_roots++;
	}
	if (enter_empty_root() < 0)
		logmsg("no private mount namespace; relying on the walk rules",
		       NULL, 0);
	drop_caps();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || install_seccomp()) {
		logmsg("cannot install the seccomp filter", NULL, 1);
		return 1;
	}
	for (;;) {
		ssize_t n = recv(sock, in, sizeof(in), 0);

		if (n == 0)
			return 0; /* the core closed its end */
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		handle_one(in, (size_t)n);
	}
}
