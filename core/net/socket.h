/*
 * Sockets in the core: one struct sock per socket, whatever its family,
 * behind an application fd (a struct file with sock_file_ops).
 *
 * A family (unix.c in the core, net.c for the provider's inet sockets)
 * implements struct sock_ops, whose data calls never block: they return
 * -EAGAIN (or -EINPROGRESS/-EALREADY for connect) and the generic code
 * here waits for readiness of a host fd in signal-interruptible slices,
 * with the socket's SO_RCVTIMEO/SO_SNDTIMEO, and owns O_NONBLOCK,
 * MSG_DONTWAIT, MSG_WAITALL and SIGPIPE.  So every socket has one host fd
 * (sock->fd) whose readiness mirrors it: poll, select and epoll use it as
 * any host-backed file, and it stays the same fd number for the socket's
 * whole life (unix sockets swap the object behind it with dup3 when they
 * connect or listen).
 *
 * References: the file holds one; a unix peer may hold more.  close() is
 * called when the last fd goes (the socket stops being reachable), free()
 * when the last reference goes.
 */
#ifndef SBX_NET_SOCKET_H
#define SBX_NET_SOCKET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct task;
struct file;
struct sock;

/* what to wait for when a send returned -EAGAIN (default: sock->fd) */
struct sock_wait {
	int fd;
	struct sock *hold; /* a reference that keeps @fd open; put after */
};

struct sock_ops {
	int (*bind)(struct task *t, struct sock *s, const void *a, uint32_t l);
	int (*listen)(struct task *t, struct sock *s, int backlog);
	/* accept - one pending connection or -EAGAIN; *@l is the peer's
	 * address length (up to 128 bytes written at @a) */
	int (*accept)(struct task *t, struct sock *s, struct sock **out,
		      void *a, uint32_t *l);
	/* connect - 0, -errno, or -EINPROGRESS/-EALREADY: the core waits
	 * for POLLOUT on sock->fd and calls connect again */
	int (*connect)(struct task *t, struct sock *s, const void *a,
		       uint32_t l);
	/* send, recv - one attempt; @a/@l: destination (NULL, 0 none) or
	 * source (recv: *@l the full length; 0 when there is none).  recv
	 * sees MSG_DONTWAIT when the caller will not wait. */
	ssize_t (*send)(struct task *t, struct sock *s, const void *buf,
			size_t len, const void *a, uint32_t l, int flags,
			struct sock_wait *w);
	ssize_t (*recv)(struct task *t, struct sock *s, void *buf, size_t len,
			void *a, uint32_t *l, int flags, int *oflags);
	int (*shutdown)(struct sock *s, int how);
	int (*name)(struct sock *s, void *a, uint32_t *l, bool peer);
	/* getsockopt: *@l in: room at @v (at most SOCK_OPT_MAX); out: used */
	int (*getsockopt)(struct sock *s, int level, int name, void *v,
			  uint32_t *l);
	int (*setsockopt)(struct sock *s, int level, int name, const void *v,
			  uint32_t l);
	int (*ioctl)(struct sock *s, unsigned long cmd, int *arg);
	void (*close)(struct sock *s);
	void (*free)(struct sock *s);
};

#define SOCK_OPT_MAX 256
#define SOCK_ADDR_MAX 128 /* sizeof(struct sockaddr_storage) */

struct sock {
	int refs; /* atomic */
	int family, type, protocol;
	int fd;	  /* readiness host fd, owned by the family */
	const struct sock_ops *ops;
	int64_t rcvtimeo, sndtimeo; /* ns; -1: block without limit */
	void *priv;
};

/* sock_init - fill the generic part of a new socket (one reference). */
void sock_init(struct sock *s, int family, int type, int protocol,
	       const struct sock_ops *ops);
void sock_get(struct sock *s);
void sock_put(struct sock *s);

/* sock_file - a file for @s (takes over the caller's reference); NULL on
 * ENOMEM (the reference is dropped then too).  @flags: O_NONBLOCK. */
struct file *sock_file(struct sock *s, int flags);
/* file_sock - the socket behind @f, or NULL when @f is not a socket. */
struct sock *file_sock(struct file *f);

/*
 * sock_send, sock_recv - one send/recv call with blocking, timeouts,
 * signals (-ERESTARTSYS, or -EINTR with a timeout set, as Linux), and
 * SIGPIPE on EPIPE unless MSG_NOSIGNAL.  @f's O_NONBLOCK counts as
 * MSG_DONTWAIT.  A blocking stream send sends everything unless
 * interrupted (then the count so far).  Return: bytes or -errno.
 */
ssize_t sock_send(struct task *t, struct file *f, const void *buf, size_t len,
		  const void *a, uint32_t l, int flags);
ssize_t sock_recv(struct task *t, struct file *f, void *buf, size_t len,
		  void *a, uint32_t *l, int flags, int *oflags);

/*
 * sock_wait - wait until host fd @fd (-1: none, just a slice) has
 * @events, or @deadline (CLOCK_MONOTONIC ns, 0 = none) passes, or a signal
 * is pending.  Return: 0 to try again, -EAGAIN at the deadline,
 * -ERESTARTSYS (or -EINTR when @timed: a timeout was set) on a signal.
 */
long sock_wait(struct task *t, int fd, short events, int64_t deadline,
	       bool timed);
/* sock_deadline - the deadline of a timeout in ns (-1: none -> 0). */
int64_t sock_deadline(int64_t timeo);

/* ---- for sys_fs.c (in core/kernel/sys_socket.c) ---- */

/* sock_rw - read(2)/write(2) of a socket: recv/send with no flags. */
long sock_rw(struct task *t, struct file *f, void *buf, size_t len, bool wr);
/* sock_ioctl - the socket ioctls (SIOCINQ, SIOCOUTQ, SIOCATMARK). */
long sock_ioctl(struct task *t, struct file *f, unsigned long cmd,
		uint64_t arg);

/* ---- families ---- */

/* unix_create - a new AF_UNIX socket (@type without flags). */
int unix_create(struct task *t, int type, int protocol, struct sock **out);
/* unix_pair - two connected AF_UNIX sockets (socketpair). */
int unix_pair(struct task *t, int type, int protocol, struct sock *out[2]);

#endif
