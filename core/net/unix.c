/*
 * AF_UNIX sockets, all in the core: names never reach the host.
 *
 * Names: a path name is an S_IFSOCK node the core creates in the sandbox
 * VFS (vfs_mknod: tmpfs mounts and the in-memory overlay; a read-only
 * mount gives EROFS and a host-backed gofer mount EPERM, as Linux on a
 * file system without mknod), so nothing appears on the host; abstract names ("\0...") and
 * autobind names live only in the registry below.  The registry maps a
 * bound name (the node, or the abstract bytes) to its socket; connect and
 * sendto walk the path and look the node up, so an unlinked and recreated
 * file is a different name, as on Linux.
 *
 * Data: every socket has a host fd (sock->fd, constant) made by the
 * core with socketpair(), never bound, never named:
 *  - stream and seqpacket: unconnected, a placeholder (one end of a pair
 *    whose other end is closed); connect() makes a fresh host pair, swaps
 *    one end in with dup3 and hands the other to the listener, whose fd
 *    has become the receiving end of a SEQPACKET "accept queue": each
 *    pending connection is one message carrying the server end
 *    (SCM_RIGHTS), the client's name and credentials.  So the host kernel
 *    queues connections and data, and poll readiness is exact.
 *  - datagram: a host pair (rx = sock->fd, tx); anyone sending to this
 *    socket writes to its tx, so datagrams land in rx, each prefixed with
 *    a fixed header holding the sender's name (recvfrom returns it, and a
 *    server can answer a bound client).  shutdown(SHUT_RD) is the host
 *    rx's: senders get EPIPE and poll sees the hang-up, as Linux.
 *
 * Not yet: SCM_RIGHTS and SCM_CREDENTIALS (sys_socket.c refuses control
 * messages), permission checks on the socket file at connect (sandbox
 * uid 0 passes them anyway), SO_PASSCRED autobind.
 *
 * Locking: reg_lock (the registry) before a socket's lock; of two
 * sockets, the listener's (or the destination's) before the
 * connector's.  Divided into: names and the registry; creation;
 * bind/listen/connect/accept; data; the rest.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../kernel/kernel.h"
#include "../vfs/vfs.h"
#include "socket.h"

#define SUN_MAX ((uint32_t)sizeof(struct sockaddr_un)) /* 110 */
#define SUN_OFF ((uint32_t)offsetof(struct sockaddr_un, sun_path))
#define SOMAXCONN_ 4096

/* an address as the application sees it; len 2 (family only): unnamed */
struct uaddr {
	uint32_t len;
	char b[SUN_MAX + 2];
};

enum ustate { U_FREE, U_LISTEN, U_CONNECTED };

struct usock {
	struct sock s;
	pthread_mutex_t lock;
	enum ustate state;
	bool bound;		/* addr is ours (bind or accept's listener name) */
	struct uaddr addr;
	struct uaddr peer_addr;	/* stream: the peer's name at connect */
	struct vfs_path node;	/* path-bound: the socket file */
	struct usock *next;	/* in the registry */
	bool registered;
	int qtx;		/* listener: sending end of the accept queue */
	int backlog, pending;
	int tx;			/* datagram: what senders write to */
	struct usock *peer;	/* datagram: connected peer (a reference) */
	bool wr_shut, rd_shut;
	bool dead;		/* the last fd is gone */
	bool passcred, reuseaddr;
	struct ucred cred, peercred;
};

/* one datagram's prefix: the sender's name (len 0: unnamed) */
struct udg_hdr {
	uint32_t len;
	char b[SUN_MAX + 2];
};

/* one pending connection in an accept queue */
struct uconn {
	struct uaddr addr;
	struct ucred cred;
};

static const struct sock_ops unix_ops;

static struct usock *us(struct sock *s)
{
	return (struct usock *)s;
}

static void unnamed(struct uaddr *a)
{
	memset(a, 0, sizeof(*a));
	a->len = SUN_OFF;
	a->b[0] = AF_UNIX;
}

/* ---- names and the registry ---- */

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct usock *reg_head;
static unsigned autobind_next;

static void reg_add(struct usock *u)
{
	u->next = reg_head;
	reg_head = u;
	u->registered = true;
}

static void reg_del(struct usock *u)
{
	for (struct usock **p = &reg_head; *p; p = &(*p)->next)
		if (*p == u) {
			*p = u->next;
			break;
		}
	u->registered = false;
}

/* reg_abstract - the live socket bound to abstract @a (reg_lock held) */
static struct usock *reg_abstract(const struct uaddr *a)
{
	for (struct usock *u = reg_head; u; u = u->next)
		if (!u->node.d && u->addr.len == a->len &&
		    !memcmp(u->addr.b, a->b, a->len))
			return u;
	return NULL;
}

static struct usock *reg_node(const struct vfs_path *p)
{
	for (struct usock *u = reg_head; u; u = u->next)
		if (u->node.d && u->node.d->node == p->d->node &&
		    u->node.mnt == p->mnt)
			return u;
	return NULL;
}

/*
 * parse - check an application sockaddr_un (unix_validate_addr) and make
 * the name: @path gets a path name ("" for an abstract one, whose bytes
 * go to @abs).  Return: 0 or -EINVAL.
 */
static int parse(const void *a, uint32_t l, char *path, struct uaddr *abs)
{
	const struct sockaddr_un *sun = a;

	if (l <= SUN_OFF || l > SUN_MAX || sun->sun_family != AF_UNIX)
		return -EINVAL;
	memset(abs, 0, sizeof(*abs));
	if (sun->sun_path[0]) {
		size_t n = strnlen(sun->sun_path, l - SUN_OFF);

		memcpy(path, sun->sun_path, n);
		path[n] = '\0';
		abs->len = SUN_OFF + (uint32_t)n + 1;
		memcpy(abs->b, a, SUN_OFF + n);
		return 0;
	}
	path[0] = '\0';
	abs->len = l;
	memcpy(abs->b, a, l);
	return 0;
}

/*
 * lookup - the socket bound to @a (a referenced usock), for connect and
 * sendto.  Return: 0, or -EINVAL (bad address), -ENOENT, -ENOTDIR ...
 * (the walk), -ECONNREFUSED (not a socket, or no one bound there),
 * -EPROTOTYPE (another type than @type).
 */
static int lookup(struct task *t, const void *a, uint32_t l, int type,
		  struct usock **out)
{
	char path[SUN_MAX];
	struct uaddr name;
	struct vfs_path p = { 0 };
	struct usock *u;
	int r = parse(a, l, path, &name);

	if (r)
		return r;
	if (path[0]) {
		r = vfs_walk(t->proc->fs, NULL, path, WALK_FOLLOW, &p);
		if (r)
			return r;
		if (!S_ISSOCK(p.d->mode)) {
			vfs_path_put(&p);
			return -ECONNREFUSED;
		}
	}
	pthread_mutex_lock(&reg_lock);
	u = path[0] ? reg_node(&p) : reg_abstract(&name);
	if (u)
		sock_get(&u->s);
	pthread_mutex_unlock(&reg_lock);
	vfs_path_put(&p);
	if (!u)
		return -ECONNREFUSED;
	if (u->s.type != type) {
		sock_put(&u->s);
		return -EPROTOTYPE;
	}
	*out = u;
	return 0;
}

/* autobind - an abstract name "\0xxxxx" (u->lock held) */
static int autobind(struct usock *u)
{
	struct uaddr a;

	if (u->bound)
		return 0;
	pthread_mutex_lock(&reg_lock);
	for (unsigned i = 0; i < 0x100000; i++) {
		memset(&a, 0, sizeof(a));
		a.b[0] = AF_UNIX;
		snprintf(a.b + SUN_OFF + 1, 6, "%05x", autobind_next++ & 0xfffff);
		a.len = SUN_OFF + 6;
		if (!reg_abstract(&a)) {
			u->addr = a;
			u->bound = true;
			reg_add(u);
			pthread_mutex_unlock(&reg_lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	return -ENOSPC;
}

/* ---- creation ---- */

static struct usock *unew(struct task *t, int type, int protocol)
{
	struct usock *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	sock_init(&u->s, AF_UNIX, type, protocol, &unix_ops);
	pthread_mutex_init(&u->lock, NULL);
	u->qtx = u->tx = -1;
	unnamed(&u->addr);
	unnamed(&u->peer_addr);
	u->cred = (struct ucred){ t->proc->pid, t->proc->uid, t->proc->gid };
	u->peercred = (struct ucred){ 0, 65534, 65534 }; /* overflow ids */
	return u;
}

static int check_type(int *type, int protocol)
{
	if (protocol && protocol != PF_UNIX)
		return -EPROTONOSUPPORT;
	if (*type == SOCK_RAW)
		*type = SOCK_DGRAM; /* as Linux's unix_create */
	if (*type != SOCK_STREAM && *type != SOCK_DGRAM &&
	    *type != SOCK_SEQPACKET)
		return -ESOCKTNOSUPPORT;
	return 0;
}

int unix_create(struct task *t, int type, int protocol, struct sock **out)
{
	int r = check_type(&type, protocol), p[2];
	struct usock *u;

	if (r)
		return r;
	u = unew(t, type, protocol);
	if (!u)
		return -ENOMEM;
	if (socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, p) < 0) {
		r = -errno;
		free(u);
		return r;
	}
	u->s.fd = p[0];
	if (type == SOCK_DGRAM)
		u->tx = p[1];
	else
		close(p[1]); /* the placeholder: reads as hung up */
	*out = &u->s;
	return 0;
}

int unix_pair(struct task *t, int type, int protocol, struct sock *out[2])
{
	int r = check_type(&type, protocol), sv[2];
	struct usock *a, *b;

	if (r)
		return r;
	if (type == SOCK_DGRAM) {
		r = unix_create(t, type, protocol, &out[0]);
		if (r)
			return r;
		r = unix_create(t, type, protocol, &out[1]);
		if (r) {
			sock_put(out[0]);
			return r;
		}
		a = us(out[0]);
		b = us(out[1]);
		sock_get(&b->s);
		a->peer = b;
		sock_get(&a->s);
		b->peer = a;
		return 0;
	}
	a = unew(t, type, protocol);
	b = unew(t, type, protocol);
	if (!a || !b)
		goto out_nomem;
	if (socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		r = -errno;
		free(a);
		free(b);
		return r;
	}
	a->s.fd = sv[0];
	b->s.fd = sv[1];
	a->state = b->state = U_CONNECTED;
	a->peercred = b->peercred = a->cred;
	out[0] = &a->s;
	out[1] = &b->s;
	return 0;
out_nomem:
	free(a);
	free(b);
	return -ENOMEM;
}

/* ---- bind, listen, connect, accept ---- */

static int unix_bind(struct task *t, struct sock *s, const void *a, uint32_t l)
{
	struct usock *u = us(s);
	const struct sockaddr_un *sun = a;
	char path[SUN_MAX];
	struct uaddr name;
	int r;

	if (l == SUN_OFF && sun->sun_family == AF_UNIX) {
		pthread_mutex_lock(&u->lock);
		r = autobind(u);
		pthread_mutex_unlock(&u->lock);
		return r;
	}
	r = parse(a, l, path, &name);
	if (r)
		return r;
	pthread_mutex_lock(&u->lock);
	if (u->bound && !path[0]) {
		r = -EINVAL;
		goto out;
	}
	if (!path[0]) {
		pthread_mutex_lock(&reg_lock);
		r = reg_abstract(&name) ? -EADDRINUSE : 0;
		if (!r) {
			u->addr = name;
			u->bound = true;
			reg_add(u);
		}
		pthread_mutex_unlock(&reg_lock);
		goto out;
	}
	/* the socket file: 0777 less the umask, as Linux's unix_bind_bsd */
	r = vfs_mknod(t->proc->fs, NULL, path, S_IFSOCK | 0777, 0);
	if (r == -EEXIST)
		r = -EADDRINUSE;
	if (!r && u->bound) {
		/* as Linux: the name is made first, then found redundant */
		vfs_unlink(t->proc->fs, NULL, path, 0);
		r = -EINVAL;
	}
	if (!r)
		r = vfs_walk(t->proc->fs, NULL, path, 0, &u->node);
	if (!r) {
		pthread_mutex_lock(&reg_lock);
		u->addr = name;
		u->bound = true;
		reg_add(u);
		pthread_mutex_unlock(&reg_lock);
	}
out:
	pthread_mutex_unlock(&u->lock);
	return r;
}

static int unix_listen(struct task *t, struct sock *s, int backlog)
{
	struct usock *u = us(s);
	int r = 0, q[2];

	if (s->type == SOCK_DGRAM)
		return -EOPNOTSUPP;
	if ((unsigned)backlog > SOMAXCONN_)
		backlog = SOMAXCONN_;
	pthread_mutex_lock(&u->lock);
	if (!u->bound || u->state == U_CONNECTED) {
		r = -EINVAL;
		goto out;
	}
	u->backlog = backlog;
	if (u->state == U_LISTEN)
		goto out;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		       q) < 0) {
		r = -errno;
		goto out;
	}
	/* the socket's fd becomes the queue's receiving end: readable when
	 * a connection is pending, as a listening socket is */
	if (dup3(q[0], s->fd, O_CLOEXEC) < 0) {
		r = -errno;
		close(q[1]);
	} else {
		u->qtx = q[1];
		u->state = U_LISTEN;
		u->cred = (struct ucred){ t->proc->pid, t->proc->uid, t->proc->gid };
	}
	close(q[0]);
out:
	pthread_mutex_unlock(&u->lock);
	return r;
}

/* queue_conn - put the server end @fd and @c on listener @l's queue */
static int queue_conn(struct usock *l, int fd, const struct uconn *c)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { (void *)c, sizeof(*c) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;

	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(l->qtx, &m, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int dgram_connect(struct task *t, struct usock *u, const void *a,
			 uint32_t l)
{
	struct usock *peer = NULL, *old;
	int r;

	if (l < sizeof(sa_family_t))
		return -EINVAL;
	if (((const struct sockaddr *)a)->sa_family != AF_UNSPEC) {
		r = lookup(t, a, l, SOCK_DGRAM, &peer);
		if (r)
			return r;
		pthread_mutex_lock(&peer->lock);
		r = peer->dead ? -ECONNREFUSED
		    : peer->peer && peer->peer != u ? -EPERM : 0;
		pthread_mutex_unlock(&peer->lock);
		if (r) {
			sock_put(&peer->s);
			return r;
		}
	}
	pthread_mutex_lock(&u->lock);
	old = u->peer;
	u->peer = peer;
	pthread_mutex_unlock(&u->lock);
	if (old)
		sock_put(&old->s);
	return 0;
}

static int unix_connect(struct task *t, struct sock *s, const void *a,
			uint32_t l)
{
	struct usock *u = us(s), *lis;
	struct uconn c;
	int r, sv[2];

	if (s->type == SOCK_DGRAM)
		return dgram_connect(t, u, a, l);
	r = lookup(t, a, l, s->type, &lis);
	if (r)
		return r;
	if (lis == u) {
		sock_put(&lis->s);
		return -EINVAL; /* a listener connecting to itself */
	}
	/* the listener's lock first; ours only by trylock, since two bound
	 * sockets may connect to each other while one turns listener */
	for (;;) {
		pthread_mutex_lock(&lis->lock);
		if (!pthread_mutex_trylock(&u->lock))
			break;
		pthread_mutex_unlock(&lis->lock);
		sched_yield();
	}
	if (u->state != U_FREE) {
		r = u->state == U_CONNECTED ? -EISCONN : -EINVAL;
		goto out;
	}
	if (lis->state != U_LISTEN || lis->dead) {
		r = -ECONNREFUSED;
		goto out;
	}
	if (lis->pending > lis->backlog) {
		r = -EAGAIN; /* sys_socket.c waits when the socket blocks */
		goto out;
	}
	if (socketpair(AF_UNIX, s->type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		r = -errno;
		goto out;
	}
	memset(&c, 0, sizeof(c));
	c.addr = u->addr;
	c.cred = u->cred;
	r = queue_conn(lis, sv[1], &c);
	if (!r && dup3(sv[0], s->fd, O_CLOEXEC) < 0)
		r = -errno; /* cannot happen: both fds are ours */
	close(sv[0]);
	close(sv[1]);
	if (r)
		goto out;
	lis->pending++;
	u->state = U_CONNECTED;
	u->peer_addr = lis->addr;
	u->peercred = lis->cred;
out:
	pthread_mutex_unlock(&u->lock);
	pthread_mutex_unlock(&lis->lock);
	sock_put(&lis->s);
	return r;
}

static int unix_accept(struct task *t, struct sock *s, struct sock **out,
		       void *a, uint32_t *l)
{
	struct usock *u = us(s), *n;
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct uconn c;
	struct iovec iov = { &c, sizeof(c) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fd = -1;
	ssize_t got;

	if (s->type == SOCK_DGRAM)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&u->lock);
	if (u->state != U_LISTEN) {
		pthread_mutex_unlock(&u->lock);
		return -EINVAL;
	}
	got = recvmsg(s->fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (got < 0) {
		int r = -errno;

		pthread_mutex_unlock(&u->lock);
		return r;
	}
	u->pending--;
	pthread_mutex_unlock(&u->lock);
	for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(int)) && fd < 0)
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	if (fd < 0 || got != sizeof(c)) {
		if (fd >= 0)
			close(fd);
		return -ECONNABORTED;
	}
	n = unew(t, s->type, s->protocol);
	if (!n) {
		close(fd);
		return -ENOMEM;
	}
	n->s.fd = fd;
	n->state = U_CONNECTED;
	n->addr = u->addr; /* an accepted socket reports the listener's name */
	n->bound = true;
	if (c.addr.len < SUN_OFF || c.addr.len > SUN_MAX)
		unnamed(&c.addr);
	n->peer_addr = c.addr;
	n->peercred = c.cred;
	memcpy(a, c.addr.b, c.addr.len);
	*l = c.addr.len;
	*out = &n->s;
	return 0;
}

/* ---- data ---- */

static ssize_t dgram_send(struct task *t, struct usock *u, const void *buf,
			  size_t len, const void *a, uint32_t l, int flags,
			  struct sock_wait *w)
{
	struct usock *d = NULL;
	struct udg_hdr h;
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)buf, len } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t r;

	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (a && l) {
		r = lookup(t, a, l, SOCK_DGRAM, &d);
		if (r)
			return r;
	}
	pthread_mutex_lock(&u->lock);
	if (!d) {
		d = u->peer;
		if (d)
			sock_get(&d->s);
	}
	r = u->wr_shut ? -EPIPE : d ? 0 : -ENOTCONN;
	memset(&h, 0, sizeof(h));
	if (u->bound) {
		h.len = u->addr.len;
		memcpy(h.b, u->addr.b, u->addr.len);
	}
	pthread_mutex_unlock(&u->lock);
	if (r)
		goto out;
	pthread_mutex_lock(&d->lock);
	if (d->dead)
		r = -ECONNREFUSED;
	else if (d->peer && d->peer != u)
		r = -EPERM; /* connected to someone else */
	else if (d->rd_shut)
		r = -EPIPE;
	else
		r = sendmsg(d->tx, &m, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? -errno
									: (ssize_t)len;
	pthread_mutex_unlock(&d->lock);
	if (r == -ECONNREFUSED && !(a && l)) {
		/* the connected peer is gone: forget it, as Linux */
		pthread_mutex_lock(&u->lock);
		if (u->peer == d) {
			u->peer = NULL;
			sock_put(&d->s);
		}
		pthread_mutex_unlock(&u->lock);
	}
	if (r == -EAGAIN) {
		w->fd = d->tx; /* held open by the reference handed over */
		w->hold = &d->s;
		return r;
	}
out:
	if (d)
		sock_put(&d->s);
	return r;
}

static ssize_t unix_send(struct task *t, struct sock *s, const void *buf,
			 size_t len, const void *a, uint32_t l, int flags,
			 struct sock_wait *w)
{
	struct usock *u = us(s);
	enum ustate st;
	ssize_t n;

	if (s->type == SOCK_DGRAM)
		return dgram_send(t, u, buf, len, a, l, flags, w);
	pthread_mutex_lock(&u->lock);
	st = u->state;
	pthread_mutex_unlock(&u->lock);
	if (s->type == SOCK_STREAM && a && l)
		return st == U_CONNECTED ? -EISCONN : -EOPNOTSUPP;
	if (st != U_CONNECTED)
		return -ENOTCONN;
	n = send(s->fd, buf, len, flags | MSG_DONTWAIT | MSG_NOSIGNAL);
	return n < 0 ? -errno : n;
}

static ssize_t unix_recv(struct task *t, struct sock *s, void *buf, size_t len,
			 void *a, uint32_t *l, int flags, int *oflags)
{
	struct usock *u = us(s);
	struct udg_hdr h;
	struct iovec iov[2] = { { &h, sizeof(h) }, { buf, len } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
	enum ustate st;
	ssize_t n;

	pthread_mutex_lock(&u->lock);
	st = u->state;
	if (l)
		*l = 0;
	if (a && l && s->type != SOCK_DGRAM && u->peer_addr.len > SUN_OFF) {
		memcpy(a, u->peer_addr.b, u->peer_addr.len);
		*l = u->peer_addr.len;
	}
	pthread_mutex_unlock(&u->lock);
	if (s->type != SOCK_DGRAM) {
		if (st != U_CONNECTED)
			return s->type == SOCK_STREAM ? -EINVAL : -ENOTCONN;
		m.msg_iov = &iov[1];
		m.msg_iovlen = 1;
		n = recvmsg(s->fd, &m, flags | MSG_DONTWAIT);
		if (n >= 0)
			*oflags = m.msg_flags;
		return n < 0 ? -errno : n;
	}
	n = recvmsg(s->fd, &m, flags | MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN && u->rd_shut && !(flags & MSG_DONTWAIT))
		return 0; /* as a blocking recv after SHUT_RD on Linux */
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(h))
		return 0; /* only the core writes there: cannot happen */
	if (a && l && h.len > SUN_OFF && h.len <= SUN_MAX) {
		memcpy(a, h.b, h.len);
		*l = h.len;
	}
	*oflags = m.msg_flags;
	return n - (ssize_t)sizeof(h);
}

/* ---- the rest ---- */

static int unix_shutdown(struct sock *s, int how)
{
	struct usock *u = us(s);
	int r = 0;

	if (how < SHUT_RD || how > SHUT_RDWR)
		return -EINVAL;
	pthread_mutex_lock(&u->lock);
	if (how != SHUT_WR)
		u->rd_shut = true;
	if (how != SHUT_RD)
		u->wr_shut = true;
	if (s->type == SOCK_DGRAM) {
		/* the host's rx does what Linux does: senders get EPIPE, we
		 * read EOF once it is empty, poll says POLLRDHUP */
		if (u->rd_shut)
			shutdown(s->fd, SHUT_RD);
	} else if (u->state == U_CONNECTED) {
		r = shutdown(s->fd, how) < 0 ? -errno : 0;
	}
	pthread_mutex_unlock(&u->lock);
	return r;
}

static int unix_name(struct sock *s, void *a, uint32_t *l, bool peer)
{
	struct usock *u = us(s);
	int r = 0;

	pthread_mutex_lock(&u->lock);
	if (!peer) {
		memcpy(a, u->addr.b, u->addr.len);
		*l = u->addr.len;
	} else if (s->type == SOCK_DGRAM) {
		if (!u->peer) {
			r = -ENOTCONN;
		} else {
			/* lock order: never the peer's while holding ours */
			struct usock *p = u->peer;
			struct uaddr pa;

			sock_get(&p->s);
			pthread_mutex_unlock(&u->lock);
			pthread_mutex_lock(&p->lock);
			pa = p->addr;
			pthread_mutex_unlock(&p->lock);
			sock_put(&p->s);
			memcpy(a, pa.b, pa.len);
			*l = pa.len;
			return 0;
		}
	} else if (u->state != U_CONNECTED) {
		r = -ENOTCONN;
	} else {
		memcpy(a, u->peer_addr.b, u->peer_addr.len);
		*l = u->peer_addr.len;
	}
	pthread_mutex_unlock(&u->lock);
	return r;
}

static int host_int_opt(int fd, int name, void *v, uint32_t *l)
{
	socklen_t sl = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, name, v, &sl) < 0)
		return -errno;
	*l = sl;
	return 0;
}

static int unix_getsockopt(struct sock *s, int level, int name, void *v,
			   uint32_t *l)
{
	struct usock *u = us(s);
	int i = 0;

	if (level != SOL_SOCKET)
		return -EOPNOTSUPP;
	switch (name) {
	case SO_SNDBUF:
	case SO_RCVBUF:
	case SO_RCVLOWAT:
	case SO_SNDLOWAT:
		return host_int_opt(s->fd, name, v, l);
	case SO_PEERCRED:
		pthread_mutex_lock(&u->lock);
		memcpy(v, &u->peercred, sizeof(u->peercred));
		pthread_mutex_unlock(&u->lock);
		*l = sizeof(struct ucred);
		return 0;
	case SO_ERROR:
		i = 0;
		break;
	case SO_ACCEPTCONN:
		i = u->state == U_LISTEN;
		break;
	case SO_PASSCRED:
		i = u->passcred;
		break;
	case SO_REUSEADDR:
		i = u->reuseaddr;
		break;
	case SO_KEEPALIVE:
	case SO_BROADCAST:
	case SO_OOBINLINE:
		i = 0;
		break;
	case SO_LINGER: {
		struct linger lg = { 0, 0 };

		memcpy(v, &lg, sizeof(lg));
		*l = sizeof(lg);
		return 0;
	}
	default:
		return -ENOPROTOOPT;
	}
	memcpy(v, &i, sizeof(i));
	*l = sizeof(i);
	return 0;
}

static int unix_setsockopt(struct sock *s, int level, int name, const void *v,
			   uint32_t l)
{
	struct usock *u = us(s);
	int i;

	if (level != SOL_SOCKET)
		return -EOPNOTSUPP;
	if (l < sizeof(int))
		return -EINVAL;
	memcpy(&i, v, sizeof(i));
	switch (name) {
	case SO_SNDBUF:
	case SO_RCVBUF:
	case SO_RCVLOWAT:
		return setsockopt(s->fd, SOL_SOCKET, name, &i, sizeof(i)) < 0
			       ? -errno : 0;
	case SO_PASSCRED:
		u->passcred = i != 0;
		return 0;
	case SO_REUSEADDR:
		u->reuseaddr = i != 0;
		return 0;
	case SO_KEEPALIVE:
	case SO_BROADCAST:
	case SO_OOBINLINE:
	case SO_LINGER:
		return 0; /* meaningless for unix sockets; Linux accepts them */
	default:
		return -ENOPROTOOPT;
	}
}

static int unix_ioctl(struct sock *s, unsigned long cmd, int *arg)
{
	struct usock *u = us(s);
	int r;

	switch (cmd) {
	case FIONREAD:
		if (u->state == U_LISTEN)
			return -EINVAL;
		r = ioctl(s->fd, FIONREAD, arg) < 0 ? -errno : 0;
		/* a datagram's length includes our header */
		if (!r && s->type == SOCK_DGRAM)
			*arg = *arg > (int)sizeof(struct udg_hdr)
				       ? *arg - (int)sizeof(struct udg_hdr) : 0;
		return r;
	case TIOCOUTQ:
		return ioctl(s->type == SOCK_DGRAM ? u->tx : s->fd, TIOCOUTQ, arg) < 0
			       ? -errno : 0;
	default:
		return -ENOTTY;
	}
}

/* close - the last fd is gone: unreachable from now on */
static void unix_close(struct sock *s)
{
	struct usock *u = us(s), *peer;

	pthread_mutex_lock(&reg_lock);
	if (u->registered)
		reg_del(u);
	pthread_mutex_unlock(&reg_lock);
	pthread_mutex_lock(&u->lock);
	u->dead = true;
	peer = u->peer;
	u->peer = NULL;
	if (u->qtx >= 0) {
		/* pending connections die with the queue's last end */
		close(u->qtx);
		u->qtx = -1;
	}
	pthread_mutex_unlock(&u->lock);
	if (peer)
		sock_put(&peer->s);
}

static void unix_free(struct sock *s)
{
	struct usock *u = us(s);

	if (u->peer)
		sock_put(&u->peer->s);
	if (s->fd >= 0)
		close(s->fd);
	if (u->tx >= 0)
		close(u->tx);
	if (u->qtx >= 0)
		close(u->qtx);
	vfs_path_put(&u->node);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

static const struct sock_ops unix_ops = {
	.bind = unix_bind,
	.listen = unix_listen,
	.accept = unix_accept,
	.connect = unix_connect,
	.send = unix_send,
	.recv = unix_recv,
	.shutdown = unix_shutdown,
	.name = unix_name,
	.getsockopt = unix_getsockopt,
	.setsockopt = unix_setsockopt,
	.ioctl = unix_ioctl,
	.close = unix_close,
	.free = unix_free,
};
