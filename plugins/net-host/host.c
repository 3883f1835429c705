/*
 * The `host` net provider: AF_INET and AF_INET6 stream and datagram
 * sockets that are host sockets, every operation filtered.
 *
 * What is filtered, and why: socket() takes only TCP and UDP (raw and
 * packet sockets give EPERM as Linux without CAP_NET_RAW, ping sockets
 * EACCES as outside ping_group_range); addresses must be of an inet family
 * (AF_UNSPEC where Linux allows it: bind of INADDR_ANY, connect to
 * disconnect), so no other kind of address ever reaches the host; socket
 * options and ioctls go through allowlists (others ENOPROTOOPT / ENOTTY):
 * nothing that binds to devices, sets marks, joins multicast groups, or
 * needs capabilities.  Every host socket is non-blocking and close-on-exec:
 * blocking, timeouts and fd flags are the core's (see sbx/net.h).
 *
 * Options (network.options): isolated (true|false, default false): the
 * sockets live in a fresh network namespace with only loopback up,
 * created at init by a helper process (netns.c) that makes every socket;
 * otherwise they are created in the host's namespace (so sandboxed
 * servers are reachable from the host and clients reach the host's
 * network).
 *
 * Divided into: options and init; socket creation; addresses; the
 * per-socket ops; options and ioctls; seccomp rules; the ops table.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sbx/net.h>
#include <sbx/plugin.h>

#include "netns.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#define K_IPPROTO_MAX 263

struct sbx_net {
	const struct sbx_services *svc;
	bool isolated;
	struct nethost_ns *ns;
};

struct sbx_sock {
	struct sbx_net *net;
	int fd;
	int family;
	int type;
};

#define LOG(net, lvl, ...) ((net)->svc->log((lvl), "host", __VA_ARGS__))

/* ---- options and init ---- */

static int nethost_bool(const char *v, bool *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int nethost_init(const struct sbx_services *svc,
			const struct sbx_options *opts, struct sbx_net **out)
{
	struct sbx_net *net = calloc(1, sizeof(*net));
	const char *key, *value, *why = "";
	size_t iter = 0;
	int r;

	if (!net)
		return -ENOMEM;
	net->svc = svc;
	while (opts && svc->option_next(opts, &iter, &key, &value) == 1) {
		if (!strcmp(key, "isolated")) {
			if (nethost_bool(value, &net->isolated)) {
				r = svc->option_error(opts, key, "expected true "
						      "or false, not '%s'", value);
				goto out_free;
			}
		} else {
			r = svc->option_error(opts, key, "unknown option of the "
					      "host network (known: isolated)");
			goto out_free;
		}
	}
	if (net->isolated) {
		r = nethost_ns_start(&net->ns, &why);
		if (r) {
			LOG(net, SBX_LOG_ERROR, "isolated network: %s: %s", why,
			    strerror(-r));
			goto out_free;
		}
	}
	*out = net;
	return 0;

out_free:
	free(net);
	return r;
}

static void nethost_fini(struct sbx_net *net)
{
	if (!net)
		return;
	nethost_ns_stop(net->ns);
	free(net);
}

/* ---- socket creation ---- */

/* nethost_check - socket()'s family, type and protocol, as inet_create. */
static int nethost_check(int family, int type, int protocol)
{
	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	if (protocol < 0 || protocol >= K_IPPROTO_MAX)
		return -EINVAL;
	switch (type) {
	case SOCK_STREAM:
		return protocol == 0 || protocol == IPPROTO_TCP ? 0
								: -EPROTONOSUPPORT;
	case SOCK_DGRAM:
		if (protocol == 0 || protocol == IPPROTO_UDP)
			return 0;
		/* ping sockets: as outside net.ipv4.ping_group_range */
		if ((family == AF_INET && protocol == IPPROTO_ICMP) ||
		    (family == AF_INET6 && protocol == IPPROTO_ICMPV6))
			return -EACCES;
		return -EPROTONOSUPPORT;
	case SOCK_RAW:
	case SOCK_PACKET:
		return -EPERM; /* no CAP_NET_RAW in the sandbox */
	default:
		return -ESOCKTNOSUPPORT;
	}
}

static int nethost_socket(struct sbx_net *net, int family, int type,
			  int protocol, struct sbx_sock **out)
{
	struct sbx_sock *s;
	int r = nethost_check(family, type, protocol), fd;

	if (r)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (net->ns)
		fd = nethost_ns_socket(net->ns, family, type, protocol);
	else
		fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
	if (fd < 0) {
		r = net->ns ? fd : -errno;
		free(s);
		return r;
	}
	s->net = net;
	s->fd = fd;
	s->family = family;
	s->type = type;
	*out = s;
	return 0;
}

static void nethost_close(struct sbx_sock *s)
{
	close(s->fd);
	free(s);
}

/* ---- addresses ---- */

/*
 * nethost_addr - may @a (@l bytes) go to the host for socket @s?  The
 * family must be inet (or AF_UNSPEC, which the host treats as Linux does
 * for each call); otherwise the errno Linux gives: EINVAL for a length
 * below the family's sockaddr, else EAFNOSUPPORT.
 */
static int nethost_addr(const struct sbx_sock *s, const struct sockaddr *a,
			socklen_t l)
{
	socklen_t min = s->family == AF_INET ? sizeof(struct sockaddr_in)
					     : 24 /* SIN6_LEN_RFC2133 */;

	if (l < (socklen_t)sizeof(sa_family_t))
		return -EINVAL;
	if (a->sa_family == AF_INET || a->sa_family == AF_INET6 ||
	    a->sa_family == AF_UNSPEC)
		return 0;
	return l < min ? -EINVAL : -EAFNOSUPPORT;
}

static int nethost_bind(struct sbx_sock *s, const struct sockaddr *a,
			socklen_t l)
{
	int r = nethost_addr(s, a, l);

	if (r)
		return r;
	return bind(s->fd, a, l) < 0 ? -errno : 0;
}

static int nethost_listen(struct sbx_sock *s, int backlog)
{
	return listen(s->fd, backlog) < 0 ? -errno : 0;
}

static int nethost_accept(struct sbx_sock *s, struct sockaddr *a, socklen_t *l,
			  int flags, struct sbx_sock **out)
{
	struct sbx_sock *n = calloc(1, sizeof(*n));
	int fd;

	if (!n)
		return -ENOMEM;
	fd = accept4(s->fd, a, l, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		int r = -errno;

		free(n);
		return r;
	}
	*n = *s;
	n->fd = fd;
	*out = n;
	return 0;
}

static int nethost_connect(struct sbx_sock *s, const struct sockaddr *a,
			   socklen_t l)
{
	int r = nethost_addr(s, a, l);

	if (r)
		return r;
	return connect(s->fd, a, l) < 0 ? -errno : 0;
}

/* flags the host may see; the core keeps DONTWAIT, WAITALL, NOSIGNAL */
#define NETHOST_MSG_FLAGS                                                   \
	(MSG_OOB | MSG_PEEK | MSG_DONTROUTE | MSG_TRUNC | MSG_EOR |          \
	 MSG_MORE | MSG_CONFIRM)

static ssize_t nethost_sendmsg(struct sbx_sock *s, const struct msghdr *m,
			       int flags)
{
	struct msghdr h = *m;
	ssize_t n;
	int r;

	if (h.msg_name && h.msg_namelen) {
		r = nethost_addr(s, h.msg_name, h.msg_namelen);
		if (r)
			return r;
	} else {
		h.msg_name = NULL;
		h.msg_namelen = 0;
	}
	h.msg_control = NULL;
	h.msg_controllen = 0;
	n = sendmsg(s->fd, &h, (flags & NETHOST_MSG_FLAGS) | MSG_DONTWAIT |
			       MSG_NOSIGNAL);
	return n < 0 ? -errno : n;
}

static ssize_t nethost_recvmsg(struct sbx_sock *s, struct msghdr *m, int flags)
{
	ssize_t n;

	m->msg_control = NULL;
	m->msg_controllen = 0;
	n = recvmsg(s->fd, m, (flags & NETHOST_MSG_FLAGS) | MSG_DONTWAIT);
	return n < 0 ? -errno : n;
}

static int nethost_shutdown(struct sbx_sock *s, int how)
{
	return shutdown(s->fd, how) < 0 ? -errno : 0;
}

static int nethost_getsockname(struct sbx_sock *s, struct sockaddr *a,
			       socklen_t *l)
{
	return getsockname(s->fd, a, l) < 0 ? -errno : 0;
}

static int nethost_getpeername(struct sbx_sock *s, struct sockaddr *a,
			       socklen_t *l)
{
	return getpeername(s->fd, a, l) < 0 ? -errno : 0;
}

/* ---- options and ioctls ---- */

enum { OPT_GET = 1, OPT_SET = 2, OPT_BOTH = 3 };

static const struct {
	int level, name, how;
} nethost_opts[] = {
	{ SOL_SOCKET, SO_REUSEADDR, OPT_BOTH },
	{ SOL_SOCKET, SO_REUSEPORT, OPT_BOTH },
	{ SOL_SOCKET, SO_KEEPALIVE, OPT_BOTH },
	{ SOL_SOCKET, SO_RCVBUF, OPT_BOTH },
	{ SOL_SOCKET, SO_SNDBUF, OPT_BOTH },
	{ SOL_SOCKET, SO_LINGER, OPT_BOTH },
	{ SOL_SOCKET, SO_BROADCAST, OPT_BOTH },
	{ SOL_SOCKET, SO_OOBINLINE, OPT_BOTH },
	{ SOL_SOCKET, SO_RCVLOWAT, OPT_BOTH },
	{ SOL_SOCKET, SO_SNDLOWAT, OPT_GET },
	{ SOL_SOCKET, SO_ERROR, OPT_GET },
	{ SOL_SOCKET, SO_TYPE, OPT_GET },
	{ SOL_SOCKET, SO_DOMAIN, OPT_GET },
	{ SOL_SOCKET, SO_PROTOCOL, OPT_GET },
	{ SOL_SOCKET, SO_ACCEPTCONN, OPT_GET },
	{ IPPROTO_TCP, TCP_NODELAY, OPT_BOTH },
	{ IPPROTO_TCP, TCP_KEEPIDLE, OPT_BOTH },
	{ IPPROTO_TCP, TCP_KEEPINTVL, OPT_BOTH },
	{ IPPROTO_TCP, TCP_KEEPCNT, OPT_BOTH },
	{ IPPROTO_TCP, TCP_MAXSEG, OPT_BOTH },
	{ IPPROTO_TCP, TCP_CORK, OPT_BOTH },
	{ IPPROTO_TCP, TCP_QUICKACK, OPT_BOTH },
	{ IPPROTO_TCP, TCP_DEFER_ACCEPT, OPT_BOTH },
	{ IPPROTO_TCP, TCP_USER_TIMEOUT, OPT_BOTH },
	{ IPPROTO_TCP, TCP_NOTSENT_LOWAT, OPT_BOTH },
	{ IPPROTO_TCP, TCP_INFO, OPT_GET },
	{ IPPROTO_TCP, TCP_CONGESTION, OPT_GET },
	{ IPPROTO_UDP, UDP_CORK, OPT_BOTH },
	{ IPPROTO_IP, IP_TOS, OPT_BOTH },
	{ IPPROTO_IP, IP_TTL, OPT_BOTH },
	{ IPPROTO_IP, IP_MTU_DISCOVER, OPT_BOTH },
	{ IPPROTO_IP, IP_MTU, OPT_GET },
	{ IPPROTO_IP, IP_MULTICAST_TTL, OPT_BOTH },
	{ IPPROTO_IP, IP_MULTICAST_LOOP, OPT_BOTH },
	{ IPPROTO_IPV6, IPV6_V6ONLY, OPT_BOTH },
	{ IPPROTO_IPV6, IPV6_TCLASS, OPT_BOTH },
	{ IPPROTO_IPV6, IPV6_UNICAST_HOPS, OPT_BOTH },
	{ IPPROTO_IPV6, IPV6_MULTICAST_HOPS, OPT_BOTH },
	{ IPPROTO_IPV6, IPV6_MULTICAST_LOOP, OPT_BOTH },
	{ IPPROTO_IPV6, IPV6_MTU_DISCOVER, OPT_BOTH },
	{ IPPROTO_IPV6, IPV6_MTU, OPT_GET },
};

/* nethost_level - a level the allowlist speaks for */
static bool nethost_level(int level)
{
	return level == SOL_SOCKET || level == IPPROTO_IP ||
	       level == IPPROTO_IPV6 || level == IPPROTO_TCP ||
	       level == IPPROTO_UDP;
}

static bool nethost_opt_ok(int level, int name, int how)
{
	for (size_t i = 0; i < sizeof(nethost_opts) / sizeof(nethost_opts[0]); i++)
		if (nethost_opts[i].level == level && nethost_opts[i].name == name)
			return (nethost_opts[i].how & how) != 0;
	return false;
}

static int nethost_getsockopt(struct sbx_sock *s, int level, int name,
			      void *val, socklen_t *len)
{
	/* an unknown level: what ip_getsockopt / ipv6_getsockopt say */
	if (!nethost_level(level))
		return s->family == AF_INET ? -EOPNOTSUPP : -ENOPROTOOPT;
	if (!nethost_opt_ok(level, name, OPT_GET))
		return -ENOPROTOOPT;
	return getsockopt(s->fd, level, name, val, len) < 0 ? -errno : 0;
}

static int nethost_setsockopt(struct sbx_sock *s, int level, int name,
			      const void *val, socklen_t len)
{
	if (!nethost_opt_ok(level, name, OPT_SET))
		return -ENOPROTOOPT;
	return setsockopt(s->fd, level, name, val, len) < 0 ? -errno : 0;
}

static int nethost_ioctl(struct sbx_sock *s, unsigned long cmd, void *arg)
{
	switch (cmd) {
	case SIOCINQ:
	case SIOCOUTQ:
	case SIOCOUTQNSD:
	case SIOCATMARK:
		return ioctl(s->fd, cmd, arg) < 0 ? -errno : 0;
	default:
		return -ENOTTY;
	}
}

static int nethost_poll_fd(struct sbx_sock *s)
{
	return s->fd;
}

static int nethost_ctl(struct sbx_net *net, int op, void *arg)
{
	return -ENOTTY;
}

/* ---- seccomp rules ---- */

/*
 * What the ops above call after start-up.  socket() only when the sockets
 * are made here (the isolated helper makes them otherwise; its fds come
 * by recvmsg), and only for the families and types nethost_check lets
 * through.
 */
static int nethost_seccomp_rules(struct sbx_net *net, void *ctx)
{
	static const int calls[] = {
		SCMP_SYS(bind), SCMP_SYS(listen), SCMP_SYS(accept4),
		SCMP_SYS(connect), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg),
		SCMP_SYS(shutdown), SCMP_SYS(getsockname),
		SCMP_SYS(getpeername), SCMP_SYS(getsockopt),
		SCMP_SYS(setsockopt), SCMP_SYS(ioctl), SCMP_SYS(close),
	};
	static const int families[] = { AF_INET, AF_INET6 };
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM };
	static const int protos[2][2] = { { 0, IPPROTO_TCP }, { 0, IPPROTO_UDP } };
	int r;

	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);
		if (r)
			return r;
	}
	if (net->ns)
		return 0;
	for (size_t f = 0; f < 2; f++)
		for (size_t t = 0; t < 2; t++)
			for (size_t p = 0; p < 2; p++) {
				r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 3,
						     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)families[f]),
						     SCMP_A1(SCMP_CMP_EQ,
							     (scmp_datum_t)(types[t] | SOCK_NONBLOCK |
									    SOCK_CLOEXEC)),
						     SCMP_A2(SCMP_CMP_EQ, (scmp_datum_t)protos[t][p]));
				if (r)
					return r;
			}
	return 0;
}

/* ---- the ops table ---- */

static const struct sbx_net_ops nethost_ops = {
	.size = sizeof(struct sbx_net_ops),
	.init = nethost_init,
	.fini = nethost_fini,
	.socket = nethost_socket,
	.close = nethost_close,
	.bind = nethost_bind,
	.listen = nethost_listen,
	.accept = nethost_accept,
	.connect = nethost_connect,
	.sendmsg = nethost_sendmsg,
	.recvmsg = nethost_recvmsg,
	.shutdown = nethost_shutdown,
	.getsockname = nethost_getsockname,
	.getpeername = nethost_getpeername,
	.getsockopt = nethost_getsockopt,
	.setsockopt = nethost_setsockopt,
	.ioctl = nethost_ioctl,
	.poll_fd = nethost_poll_fd,
	.ctl = nethost_ctl,
	.seccomp_rules = nethost_seccomp_rules,
};

static const struct sbx_plugin_desc nethost_desc = {
	.size = sizeof(struct sbx_plugin_desc),
	.kind = SBX_PLUGIN_NET,
	.abi_major = SBX_NET_ABI_MAJOR,
	.abi_minor = SBX_NET_ABI_MINOR,
	.name = "host",
	.description = "Host TCP/UDP sockets, filtered; isolated: a fresh "
		       "network namespace with only loopback",
	.ops = &nethost_ops,
};

SBX_EXPORT const struct sbx_plugin_desc *sbx_plugin_entry(void)
{
	return &nethost_desc;
}
