/*
 * sbx network provider ABI (provisional: major 0 until the networking issue
 * lands; no stability promise before 1.0).
 *
 * A provider creates sockets for the families it serves (AF_INET,
 * AF_INET6, ...); unix sockets always live in the core.  `none`, built in,
 * serves nothing, so socket(AF_INET, ...) fails with EAFNOSUPPORT as
 * Linux does for an unsupported family.  Each socket exposes a host fd for
 * readiness (poll/epoll) or an event callback.
 *
 * Threads: every op may be called from any core thread concurrently.
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
#define SBX_NET_ABI_MINOR 1

struct sbx_net;	 /* one loaded provider instance */
struct sbx_sock; /* one socket */

struct sbx_net_ops {
	size_t size;
	int (*init)(const struct sbx_services *svc,
		    const struct sbx_options *opts, struct sbx_net **out);
	void (*fini)(struct sbx_net *net);
	/* socket - -EAFNOSUPPORT for families the provider does not serve */
	int (*socket)(struct sbx_net *net, int family, int type, int protocol,
		      struct sbx_sock **out);
	void (*close)(struct sbx_sock *s);
	int (*bind)(struct sbx_sock *s, const struct sockaddr *a, socklen_t l);
	int (*listen)(struct sbx_sock *s, int backlog);
	int (*accept)(struct sbx_sock *s, struct sockaddr *a, socklen_t *l,
		      int flags, struct sbx_sock **out);
	int (*connect)(struct sbx_sock *s, const struct sockaddr *a,
		       socklen_t l);
	ssize_t (*sendmsg)(struct sbx_sock *s, const struct msghdr *m,
			   int flags);
	ssize_t (*recvmsg)(struct sbx_sock *s, struct msghdr *m, int flags);
	int (*shutdown)(struct sbx_sock *s, int how);
	int (*getsockname)(struct sbx_sock *s, struct sockaddr *a,
			   socklen_t *l);
	int (*getpeername)(struct sbx_sock *s, struct sockaddr *a,
			   socklen_t *l);
	int (*getsockopt)(struct sbx_sock *s, int level, int name, void *val,
			  socklen_t *len);
	int (*setsockopt)(struct sbx_sock *s, int level, int name,
			  const void *val, socklen_t len);
	int (*ioctl)(struct sbx_sock *s, unsigned long cmd, void *arg);
	/* poll_fd - a host fd whose readiness mirrors the socket's */
	int (*poll_fd)(struct sbx_sock *s);
	int (*ctl)(struct sbx_net *net, int op, void *arg);
};

#ifdef __cplusplus
}
#endif
#endif
