/*
 * sbx network provider ABI (provisional: major 0, no stability promise
 * before 1.0; 0.2 is the first version a provider implements).
 *
 * A provider creates sockets for the families it serves (AF_INET,
 * AF_INET6); unix sockets always live in the core.  `none`, built into the
 * core, serves nothing, so socket(AF_INET, ...) fails with EAFNOSUPPORT as
 * Linux does for a family it lacks.
 *
 * Lifecycle:
 *   init -> seccomp_rules -> { socket -> (bind, connect, ... )* -> close }*
 *   -> fini
 * init and seccomp_rules run on the core's main thread before the core
 * confines itself (so init may fork helpers, create namespaces, open
 * what it needs); after that the provider may only make the host calls
 * it added in seccomp_rules (plus the core's own list, see
 * core/host/confine.c).
 *
 * Blocking belongs to the core: every per-socket op must return at once.
 * An op that would block returns -EAGAIN (accept, sendmsg, recvmsg) or
 * -EINPROGRESS / -EALREADY (connect); the core then waits for readiness of
 * poll_fd() in signal-interruptible slices and calls the op again (for
 * connect it reads SO_ERROR through getsockopt).  Timeouts (SO_RCVTIMEO,
 * SO_SNDTIMEO), O_NONBLOCK, MSG_DONTWAIT and MSG_WAITALL, SIGPIPE and fd
 * flags are the core's too: those never reach a provider.
 *
 * Addresses and buffers passed to ops are core memory, already copied in
 * from the application (lengths are at most sizeof(struct
 * sockaddr_storage) for addresses and within the buffer for options);
 * providers still validate what they hand to the host: family and
 * length, with the errno Linux gives (-EINVAL, -EAFNOSUPPORT).
 *
 * Errors: ops return >= 0 on success and a negative errno, as Linux would
 * return it for the call, on failure.  Unknown or refused socket options
 * give -ENOPROTOOPT, unknown ioctls -ENOTTY.
 *
 * Threads: every per-socket op may be called from any core thread, also
 * concurrently on one socket (as the application may do).
 * Compatibility: see plugin.h.  Members are only appended.
 */
#ifndef SBX_SBX_NET_H
#define SBX_SBX_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sbx/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SBX_NET_ABI_MAJOR 0
#define SBX_NET_ABI_MINOR 2

struct sbx_net;	 /* one loaded provider instance */
struct sbx_sock; /* one socket */

struct sbx_net_ops {
	size_t size;
	/*
	 * init - start the provider with its `network.options`.  Runs before
	 * the core confines itself.  Return: 0 and *@out, or -errno after
	 * logging why (bad options through svc->option_error).
	 */
	int (*init)(const struct sbx_services *svc,
		    const struct sbx_options *opts, struct sbx_net **out);
	void (*fini)(struct sbx_net *net);
	/*
	 * socket - a new socket.  @type carries no SOCK_NONBLOCK/SOCK_CLOEXEC
	 * (the core owns fd flags).  Return: 0 and *@out, or -EAFNOSUPPORT for
	 * a family the provider does not serve, -EINVAL, -EPROTONOSUPPORT,
	 * -ESOCKTNOSUPPORT, -EPERM (raw sockets), -EMFILE ... as Linux.
	 */
	int (*socket)(struct sbx_net *net, int family, int type, int protocol,
		      struct sbx_sock **out);
	/* close - the last application reference went away; free @s. */
	void (*close)(struct sbx_sock *s);
	int (*bind)(struct sbx_sock *s, const struct sockaddr *a, socklen_t l);
	int (*listen)(struct sbx_sock *s, int backlog);
	/*
	 * accept - take one pending connection (-EAGAIN when none).  @a and
	 * @l may be NULL; otherwise *@l is the size of @a on entry and the
	 * address's full length on return (it may exceed the size: the
	 * address was truncated, as accept(2) does).  @flags is 0 (reserved).
	 */
	int (*accept)(struct sbx_sock *s, struct sockaddr *a, socklen_t *l,
		      int flags, struct sbx_sock **out);
	int (*connect)(struct sbx_sock *s, const struct sockaddr *a,
		       socklen_t l);
	/*
	 * sendmsg, recvmsg - one host call.  msg_control is NULL and
	 * msg_controllen 0 in 0.2 (no ancillary data); recvmsg sets
	 * msg_namelen (the full length, as above) and msg_flags.  @flags
	 * never holds MSG_DONTWAIT, MSG_WAITALL or MSG_NOSIGNAL (the core's).
	 */
	ssize_t (*sendmsg)(struct sbx_sock *s, const struct msghdr *m,
			   int flags);
	ssize_t (*recvmsg)(struct sbx_sock *s, struct msghdr *m, int flags);
	int (*shutdown)(struct sbx_sock *s, int how);
	int (*getsockname)(struct sbx_sock *s, struct sockaddr *a,
			   socklen_t *l);
	int (*getpeername)(struct sbx_sock *s, struct sockaddr *a,
			   socklen_t *l);
	/* getsockopt - *@len in: size of @val; out: bytes written. */
	int (*getsockopt)(struct sbx_sock *s, int level, int name, void *val,
			  socklen_t *len);
	int (*setsockopt)(struct sbx_sock *s, int level, int name,
			  const void *val, socklen_t len);
	/* ioctl - @arg points to core memory of the command's size (an int
	 * for FIONREAD, SIOCOUTQ, SIOCATMARK). */
	int (*ioctl)(struct sbx_sock *s, unsigned long cmd, void *arg);
	/*
	 * poll_fd - a host fd, owned by the provider and valid until close,
	 * whose poll() readiness mirrors the socket's (POLLIN, POLLOUT,
	 * POLLHUP, POLLERR, POLLRDHUP).  It must be the same fd for the
	 * socket's whole life, and non-blocking.
	 */
	int (*poll_fd)(struct sbx_sock *s);
	int (*ctl)(struct sbx_net *net, int op, void *arg);

	/* added in 0.2 */
	/*
	 * seccomp_rules - add the host calls the provider makes after
	 * start-up to the core's filter (as the platform's hook).
	 * @scmp_ctx: a libseccomp scmp_filter_ctx.  Return: 0 or -errno.
	 */
	int (*seccomp_rules)(struct sbx_net *net, void *scmp_ctx);
};

#ifdef __cplusplus
}
#endif
#endif
