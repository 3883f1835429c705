/*
 * The gofer fs plugin: serves host directories to the core's VFS through
 * one sbx-gofer process per mount (started by mount(), which runs before
 * the core confines itself), speaking proto.h over a SEQPACKET
 * socketpair.  Files are opened by the gofer and donated (SCM_RIGHTS), so
 * reads and writes go straight to the host fd in the core.
 *
 * Why one gofer per mount rather than per sandbox: each gofer then holds
 * only its own source, and mounts need no shared root-handle numbering;
 * the cost is a small process per host mount (usually one or two).
 *
 * Every reply is checked (op, tag, length, field ranges); anything odd is
 * treated as a dead gofer: -EIO from then on.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sbx/fs.h>
#include <sbx/plugin.h>

#include "proto.h"

struct sbx_fs {
	const struct sbx_services *svc;
};

struct gofer {
	struct sbx_fs *fs;
	int sock;
	pid_t pid;
	pthread_mutex_t lock;
	uint32_t tag;
	bool dead;
	bool readonly;
};

struct gnode {
	struct gofer *g;
	uint32_t h;
	bool root;
	bool fresh; /* attr just came with the walk */
	struct gofer_attr attr;
};

#define LOG(g, lvl, ...) ((g)->fs->svc->log((lvl), "gofer", __VA_ARGS__))

/* ---- transport ---- */

/*
 * call - send the request in @req, wait for its reply into @rep (parsed
 * into @b).  *@fd gets a donated fd when @fd is non-NULL.  Return: 0,
 * the gofer's -errno, or -EIO (gofer dead or misbehaving).
 */
static int call(struct gofer *g, struct gofer_buf *req, unsigned char *rep,
		struct gofer_buf *b, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov;
	struct msghdr m;
	struct gofer_hdr h, rh;
	ssize_t n;
	int len = gofer_end(req), got_fd = -1;

	if (fd)
		*fd = -1;
	if (len < 0)
		return -ENAMETOOLONG;
	memcpy(&h, req->p, sizeof(h));
	pthread_mutex_lock(&g->lock);
	if (g->dead)
		goto dead;
	h.tag = ++g->tag;
	memcpy(req->p + offsetof(struct gofer_hdr, tag), &h.tag, 4);
	if (send(g->sock, req->p, (size_t)len, MSG_NOSIGNAL) != len)
		goto dead;
	if (h.op == GOFER_CLUNK) {
		pthread_mutex_unlock(&g->lock);
		return 0;
	}
	iov = (struct iovec){ rep, GOFER_MAX_MSG };
	memset(&m, 0, sizeof(m));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cbuf;
	m.msg_controllen = sizeof(cbuf);
	do
		n = recvmsg(g->sock, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	for (struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&m) : NULL; c;
	     c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int fds[4];

			memcpy(fds, CMSG_DATA(c), k * sizeof(int));
			for (size_t i = 0; i < k; i++) {
				if (got_fd < 0 && fd)
					got_fd = fds[i];
				else
					close(fds[i]);
			}
		}
	}
	if (n <= 0 || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    gofer_parse(b, rep, (size_t)n, &rh) || rh.op != h.op ||
	    rh.tag != h.tag)
		goto dead_fd;
	pthread_mutex_unlock(&g->lock);
	if (rh.err) {
		if (got_fd >= 0)
			close(got_fd);
		return -rh.err;
	}
	if (fd)
		*fd = got_fd;
	return 0;
dead_fd:
	if (got_fd >= 0)
		close(got_fd);
dead:
	if (!g->dead)
		LOG(g, SBX_LOG_ERROR, "sbx-gofer is gone or misbehaved; host "
		    "files are unavailable from now on");
	g->dead = true;
	pthread_mutex_unlock(&g->lock);
	return -EIO;
}

#define REQ(op)                                                       \
	unsigned char reqmem[GOFER_MAX_TARGET + 2 * GOFER_MAX_NAME + 128]; \
	struct gofer_buf rq, b;                                          \
	gofer_begin(&rq, reqmem, sizeof(reqmem), (op), 0, 0)

static unsigned char *repbuf(void)
{
	static __thread unsigned char *p;

	if (!p)
		p = malloc(GOFER_MAX_MSG);
	return p;
}

static void attr_out(const struct gofer_attr *g, struct sbx_fs_attr *a)
{
	a->ino = g->ino;
	a->nlink = g->nlink;
	a->size_bytes = g->size;
	a->blocks = g->blocks;
	a->mode = g->mode;
	a->uid = g->uid;
	a->gid = g->gid;
	a->rdev = g->rdev;
	a->atime_ns = g->atime_ns;
	a->mtime_ns = g->mtime_ns;
	a->ctime_ns = g->ctime_ns;
	if (a->size >= offsetof(struct sbx_fs_attr, dev) + sizeof(a->dev))
		a->dev = g->dev;
}

static struct gnode *gnode_new(struct gofer *g, uint32_t h)
{
	struct gnode *n = calloc(1, sizeof(*n));

	if (n) {
		n->g = g;
		n->h = h;
	}
	return n;
}

/* ---- start-up ---- */

static int gofer_path(char *out, size_t len)
{
	Dl_info info;

	if (dladdr((void *)gofer_path, &info) && info.dli_fname) {
		const char *s = strrchr(info.dli_fname, '/');

		if (s) {
			snprintf(out, len, "%.*s/sbx-gofer",
				 (int)(s - info.dli_fname), info.dli_fname);
			if (access(out, X_OK) == 0)
				return 0;
		}
	}
	snprintf(out, len, "%s/sbx-gofer", SBX_LIBEXECDIR);
	return access(out, X_OK) == 0 ? 0 : -ENOENT;
}

static int spawn(struct gofer *g, const char *source, bool ro)
{
	char path[PATH_MAX];
	int sv[2];
	pid_t pid;

	if (gofer_path(path, sizeof(path))) {
		LOG(g, SBX_LOG_ERROR, "cannot find the sbx-gofer helper (looked "
		    "next to the plugin and in %s)", SBX_LIBEXECDIR);
		return -ENOENT;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	if (pid == 0) {
		char *argv[] = { "sbx-gofer", "3", ro ? "ro" : "rw",
				 (char *)source, NULL };

		if (dup2(sv[1], 3) < 0)
			_exit(127);
		close_range(4, ~0U, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv(path, argv);
		_exit(127);
	}
	close(sv[1]);
	g->sock = sv[0];
	g->pid = pid;
	return 0;
}

/* ---- ops ---- */

static int g_init(const struct sbx_services *svc, const struct sbx_options *o,
		  struct sbx_fs **out)
{
	struct sbx_fs *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return -ENOMEM;
	fs->svc = svc;
	*out = fs;
	return 0;
}

static void g_fini(struct sbx_fs *fs)
{
	free(fs);
}

static int g_stat(struct gofer *g, uint32_t h, struct gofer_attr *a)
{
	REQ(GOFER_STAT);
	int r;

	gofer_put_u32(&rq, h);
	r = call(g, &rq, repbuf(), &b, NULL);
	if (r)
		return r;
	gofer_get_bytes(&b, a, sizeof(*a));
	return gofer_done(&b) ? -EIO : 0;
}

static int g_mount(struct sbx_fs *fs, const struct sbx_fs_mount_args *args,
		   struct sbx_fs_mnt **mnt, struct sbx_fs_node **root)
{
	struct gofer *g = calloc(1, sizeof(*g));
	struct gnode *n;
	int r;

	if (!g)
		return -ENOMEM;
	g->fs = fs;
	g->readonly = args->readonly;
	pthread_mutex_init(&g->lock, NULL);
	r = spawn(g, args->source, args->readonly);
	if (r)
		goto out_free;
	n = gnode_new(g, 0);
	r = -ENOMEM;
	if (!n)
		goto out_free;
	n->root = true;
	r = g_stat(g, 0, &n->attr);
	if (r) {
		LOG(g, SBX_LOG_ERROR, "sbx-gofer for '%s' did not start: %s",
		    args->source, strerror(-r));
		free(n);
		goto out_free;
	}
	n->fresh = true;
	*mnt = (struct sbx_fs_mnt *)g;
	*root = (struct sbx_fs_node *)n;
	return 0;
out_free:
	if (g->sock > 0)
		close(g->sock);
	free(g);
	return r;
}

static void g_umount(struct sbx_fs_mnt *m)
{
	struct gofer *g = (struct gofer *)m;

	close(g->sock); /* the gofer exits on EOF */
}

static int g_lookup(struct sbx_fs_node *dn, const char *name,
		    struct sbx_fs_node **out)
{
	struct gnode *d = (struct gnode *)dn, *n;
	size_t len = strlen(name);
	uint32_t h;
	int r;
	REQ(GOFER_WALK);

	if (len > GOFER_MAX_NAME)
		return -ENAMETOOLONG;
	gofer_put_u32(&rq, d->h);
	gofer_put_str(&rq, name, len);
	r = call(d->g, &rq, repbuf(), &b, NULL);
	if (r)
		return r;
	h = gofer_get_u32(&b);
	n = gnode_new(d->g, h);
	if (!n)
		return -ENOMEM;
	gofer_get_bytes(&b, &n->attr, sizeof(n->attr));
	if (gofer_done(&b) || h == 0) {
		free(n);
		return -EIO;
	}
	n->fresh = true;
	*out = (struct sbx_fs_node *)n;
	return 0;
}

static void g_release(struct sbx_fs_node *nn)
{
	struct gnode *n = (struct gnode *)nn;

	if (!n->root) {
		REQ(GOFER_CLUNK);
		(void)b;
		gofer_put_u32(&rq, n->h);
		call(n->g, &rq, NULL, NULL, NULL);
	}
	free(n);
}

static int g_open(struct sbx_fs_node *nn, int flags, int *host_fd)
{
	struct gnode *n = (struct gnode *)nn;
	int r;
	REQ(GOFER_OPEN);

	gofer_put_u32(&rq, n->h);
	gofer_put_u32(&rq, (uint32_t)flags);
	r = call(n->g, &rq, repbuf(), &b, host_fd);
	if (!r && *host_fd < 0)
		r = -EIO;
	n->fresh = false;
	return r;
}

static int g_getattr(struct sbx_fs_node *nn, struct sbx_fs_attr *a)
{
	struct gnode *n = (struct gnode *)nn;
	int r = 0;

	if (n->fresh)
		n->fresh = false; /* one free stat right after the walk */
	else
		r = g_stat(n->g, n->h, &n->attr);
	if (!r)
		attr_out(&n->attr, a);
	return r;
}

static int g_setattr(struct sbx_fs_node *nn, const struct sbx_fs_attr *a,
		     uint32_t mask)
{
	struct gnode *n = (struct gnode *)nn;
	struct gofer_attr ga = { .mode = a->mode, .uid = a->uid, .gid = a->gid,
				 .size = a->size_bytes, .atime_ns = a->atime_ns,
				 .mtime_ns = a->mtime_ns };
	REQ(GOFER_SETATTR);

	gofer_put_u32(&rq, n->h);
	gofer_put_u32(&rq, mask);
	gofer_put_bytes(&rq, &ga, sizeof(ga));
	n->fresh = false;
	return call(n->g, &rq, repbuf(), &b, NULL);
}

static int64_t g_getdents(struct sbx_fs_node *dn, uint64_t cookie,
			  int (*emit)(void *, const char *, uint64_t, unsigned,
				      uint64_t),
			  void *arg)
{
	struct gnode *d = (struct gnode *)dn;
	uint64_t next;
	uint32_t cnt;
	int r;
	REQ(GOFER_GETDENTS);

	gofer_put_u32(&rq, d->h);
	gofer_put_u64(&rq, cookie);
	r = call(d->g, &rq, repbuf(), &b, NULL);
	if (r)
		return r;
	next = gofer_get_u64(&b);
	cnt = gofer_get_u32(&b);
	for (uint32_t i = 0; i < cnt && !b.err; i++) {
		char name[GOFER_MAX_NAME + 1];
		uint64_t ino = gofer_get_u64(&b), off = gofer_get_u64(&b);
		unsigned char type;
		uint16_t l;

		gofer_get_bytes(&b, &type, 1);
		gofer_get_bytes(&b, &l, 2);
		if (b.err || l == 0 || l > GOFER_MAX_NAME || l > b.len - b.at)
			return -EIO;
		gofer_get_bytes(&b, name, l);
		name[l] = 0;
		if (emit(arg, name, ino, type, off))
			return (int64_t)cookie;
		cookie = off;
	}
	if (gofer_done(&b))
		return -EIO;
	return cnt ? (int64_t)next : (int64_t)cookie;
}

static int g_create(struct sbx_fs_node *dn, const char *name, uint32_t mode,
		    int flags, struct sbx_fs_node **out, int *host_fd)
{
	struct gnode *d = (struct gnode *)dn, *n;
	uint32_t h;
	int r;
	REQ(GOFER_CREATE);

	gofer_put_u32(&rq, d->h);
	gofer_put_u32(&rq, mode);
	gofer_put_u32(&rq, (uint32_t)flags);
	gofer_put_str(&rq, name, strlen(name));
	r = call(d->g, &rq, repbuf(), &b, host_fd);
	if (r)
		return r;
	h = gofer_get_u32(&b);
	n = gnode_new(d->g, h);
	if (!n || *host_fd < 0) {
		free(n);
		return -EIO;
	}
	gofer_get_bytes(&b, &n->attr, sizeof(n->attr));
	if (gofer_done(&b)) {
		free(n);
		return -EIO;
	}
	n->fresh = true;
	*out = (struct sbx_fs_node *)n;
	return 0;
}

static int name_op(uint16_t op, struct gnode *d, uint32_t v, const char *name)
{
	REQ(op);

	gofer_put_u32(&rq, d->h);
	gofer_put_u32(&rq, v);
	gofer_put_str(&rq, name, strlen(name));
	return call(d->g, &rq, repbuf(), &b, NULL);
}

static int g_mkdir(struct sbx_fs_node *dn, const char *name, uint32_t mode)
{
	return name_op(GOFER_MKDIR, (struct gnode *)dn, mode, name);
}

static int g_mknod(struct sbx_fs_node *dn, const char *name, uint32_t mode,
		   uint32_t rdev)
{
	switch (mode & S_IFMT) {
	case S_IFIFO:
	case S_IFSOCK:
	case S_IFREG:
		break;
	default:
		return -EPERM; /* no device nodes on host file systems */
	}
	return name_op(GOFER_MKNOD, (struct gnode *)dn, mode & (S_IFMT | 07777),
		       name);
}

static int g_unlink(struct sbx_fs_node *dn, const char *name, int flags)
{
	return name_op(GOFER_UNLINK, (struct gnode *)dn, (uint32_t)flags, name);
}

static int g_rename(struct sbx_fs_node *odn, const char *oname,
		    struct sbx_fs_node *ndn, const char *nname, unsigned flags)
{
	struct gnode *od = (struct gnode *)odn, *nd = (struct gnode *)ndn;
	REQ(GOFER_RENAME);

	if (od->g != nd->g)
		return -EXDEV;
	gofer_put_u32(&rq, od->h);
	gofer_put_u32(&rq, nd->h);
	gofer_put_u32(&rq, flags);
	gofer_put_str(&rq, oname, strlen(oname));
	gofer_put_str(&rq, nname, strlen(nname));
	return call(od->g, &rq, repbuf(), &b, NULL);
}

static int g_link(struct sbx_fs_node *nn, struct sbx_fs_node *dn,
		  const char *name)
{
	struct gnode *n = (struct gnode *)nn, *d = (struct gnode *)dn;
	REQ(GOFER_LINK);

	if (n->g != d->g)
		return -EXDEV;
	gofer_put_u32(&rq, n->h);
	gofer_put_u32(&rq, d->h);
	gofer_put_str(&rq, name, strlen(name));
	return call(d->g, &rq, repbuf(), &b, NULL);
}

static int g_symlink(struct sbx_fs_node *dn, const char *name,
		     const char *target)
{
	struct gnode *d = (struct gnode *)dn;
	size_t tl = strlen(target);
	REQ(GOFER_SYMLINK);

	if (tl > GOFER_MAX_TARGET)
		return -ENAMETOOLONG;
	gofer_put_u32(&rq, d->h);
	gofer_put_str(&rq, name, strlen(name));
	gofer_put_str(&rq, target, tl);
	return call(d->g, &rq, repbuf(), &b, NULL);
}

static ssize_t g_readlink(struct sbx_fs_node *nn, char *buf, size_t len)
{
	struct gnode *n = (struct gnode *)nn;
	uint16_t l;
	int r;
	REQ(GOFER_READLINK);

	gofer_put_u32(&rq, n->h);
	r = call(n->g, &rq, repbuf(), &b, NULL);
	if (r)
		return r;
	gofer_get_bytes(&b, &l, 2);
	if (b.err || l > b.len - b.at || l == 0)
		return -EIO;
	if (l > len)
		l = (uint16_t)len;
	memcpy(buf, b.p + b.at, l);
	return l;
}

static int g_statfs(struct sbx_fs_mnt *m, struct statfs *st)
{
	struct gofer *g = (struct gofer *)m;
	struct gofer_statfs s;
	int r;
	REQ(GOFER_STATFS);

	gofer_put_u32(&rq, 0);
	r = call(g, &rq, repbuf(), &b, NULL);
	if (r)
		return r;
	gofer_get_bytes(&b, &s, sizeof(s));
	if (gofer_done(&b))
		return -EIO;
	memset(st, 0, sizeof(*st));
	st->f_type = (long)s.type;
	st->f_bsize = (long)s.bsize;
	st->f_blocks = s.blocks;
	st->f_bfree = s.bfree;
	st->f_bavail = s.bavail;
	st->f_files = s.files;
	st->f_ffree = s.ffree;
	st->f_namelen = (long)s.namelen;
	st->f_frsize = (long)s.frsize;
	st->f_flags = (long)s.flags;
	return 0;
}

static const struct sbx_fs_ops gofer_ops = {
	.size = sizeof(struct sbx_fs_ops),
	.init = g_init,
	.fini = g_fini,
	.mount = g_mount,
	.umount = g_umount,
	.lookup = g_lookup,
	.release = g_release,
	.open = g_open,
	.getattr = g_getattr,
	.setattr = g_setattr,
	.getdents = g_getdents,
	.create = g_create,
	.mkdir = g_mkdir,
	.unlink = g_unlink,
	.rename = g_rename,
	.link = g_link,
	.symlink = g_symlink,
	.readlink = g_readlink,
	.statfs = g_statfs,
	.mknod = g_mknod,
};

static const struct sbx_plugin_desc desc = {
	.size = sizeof(struct sbx_plugin_desc),
	.kind = SBX_PLUGIN_FS,
	.abi_major = SBX_FS_ABI_MAJOR,
	.abi_minor = SBX_FS_ABI_MINOR,
	.name = "gofer",
	.ops = &gofer_ops,
};

SBX_EXPORT const struct sbx_plugin_desc *sbx_plugin_entry(void)
{
	return &desc;
}
