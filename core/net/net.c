/*
 * The network provider (see net.h): loading and starting the plugin
 * network.plugin names, `none` built in, and the inet sockets it makes,
 * adapted to the core's struct sock (socket.h).  The provider's ops never
 * block (sbx/net.h); socket.c waits on their poll_fd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sbx/net.h>

#include "../config/config.h"
#include "../plugin/loader.h"
#include "../util/log.h"
#include "net.h"
#include "socket.h"

static struct plugin net_plugin;
static const struct sbx_net_ops *nops;
static struct sbx_net *ninst;

int net_init(const struct sbx_config *cfg, const char *override,
	     const struct plugin_search_path *sp,
	     const struct sbx_services *svc, struct sbx_error *err)
{
	const char *name = override ? override : cfg->network.plugin;
	uint32_t major, minor;
	int r;

	if (!strcmp(name, "none")) {
		if (cfg->network.options.n && !override)
			return options_error(&cfg->network.options,
					     cfg->network.options.items[0].key, err,
					     "the built-in network 'none' takes "
					     "no options");
		return 0;
	}
	plugin_core_abi(SBX_PLUGIN_NET, &major, &minor);
	r = plugin_load(sp, name, SBX_PLUGIN_NET, major, minor, &net_plugin, err);
	if (r)
		return r;
	nops = net_plugin.desc->ops;
	if (!SBX_OPS_HAS(nops, init) || !SBX_OPS_HAS(nops, socket) ||
	    !SBX_OPS_HAS(nops, close) || !SBX_OPS_HAS(nops, poll_fd) ||
	    !SBX_OPS_HAS(nops, bind) || !SBX_OPS_HAS(nops, listen) ||
	    !SBX_OPS_HAS(nops, accept) || !SBX_OPS_HAS(nops, connect) ||
	    !SBX_OPS_HAS(nops, sendmsg) || !SBX_OPS_HAS(nops, recvmsg) ||
	    !SBX_OPS_HAS(nops, shutdown) || !SBX_OPS_HAS(nops, getsockname) ||
	    !SBX_OPS_HAS(nops, getpeername) || !SBX_OPS_HAS(nops, getsockopt) ||
	    !SBX_OPS_HAS(nops, setsockopt)) {
		r = sbx_error_set(err, EINVAL, "plugin '%s' (%s): net ops table "
				  "lacks required operations", net_plugin.name,
				  net_plugin.path);
		goto out_unload;
	}
	r = nops->init(svc, &cfg->network.options, &ninst);
	if (r) {
		sbx_error_set(err, -r, "network '%s' failed to start: %s",
			      net_plugin.name, strerror(-r));
		goto out_unload;
	}
	return 0;

out_unload:
	nops = NULL;
	plugin_unload(&net_plugin);
	return r;
}

int net_seccomp_rules(void *scmp_ctx)
{
	if (!nops || !SBX_OPS_HAS(nops, seccomp_rules))
		return 0;
	return nops->seccomp_rules(ninst, scmp_ctx);
}

void net_fini(void)
{
	if (nops && SBX_OPS_HAS(nops, fini))
		nops->fini(ninst);
	nops = NULL;
	ninst = NULL;
	plugin_unload(&net_plugin);
}

/* ---- inet sockets: struct sock over a provider socket ---- */

struct inet_sock {
	struct sock s;
	struct sbx_sock *ps;
};

static struct sbx_sock *ps_of(struct sock *s)
{
	return ((struct inet_sock *)s)->ps;
}

static int inet_wrap(struct sbx_sock *ps, int family, int type, int protocol,
		     struct sock **out);

static int inet_bind(struct task *t, struct sock *s, const void *a, uint32_t l)
{
	return nops->bind(ps_of(s), a, l);
}

static int inet_listen(struct task *t, struct sock *s, int backlog)
{
	return nops->listen(ps_of(s), backlog);
}

static int inet_accept(struct task *t, struct sock *s, struct sock **out,
		       void *a, uint32_t *l)
{
	socklen_t sl = SOCK_ADDR_MAX;
	struct sbx_sock *np;
	int r = nops->accept(ps_of(s), a, &sl, 0, &np);

	if (r)
		return r;
	*l = sl;
	return inet_wrap(np, s->family, s->type, s->protocol, out);
}

static int inet_connect(struct task *t, struct sock *s, const void *a,
			uint32_t l)
{
	return nops->connect(ps_of(s), a, l);
}

static ssize_t inet_send(struct task *t, struct sock *s, const void *buf,
			 size_t len, const void *a, uint32_t l, int flags,
			 struct sock_wait *w)
{
	struct iovec iov = { (void *)buf, len };
	struct msghdr m = { .msg_name = (void *)a, .msg_namelen = a ? l : 0,
			    .msg_iov = &iov, .msg_iovlen = 1 };

	return nops->sendmsg(ps_of(s), &m, flags);
}

static ssize_t inet_recv(struct task *t, struct sock *s, void *buf, size_t len,
			 void *a, uint32_t *l, int flags, int *oflags)
{
	struct iovec iov = { buf, len };
	struct msghdr m = { .msg_name = a, .msg_namelen = a ? SOCK_ADDR_MAX : 0,
			    .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (flags & MSG_ERRQUEUE)
		return -EAGAIN; /* no error queue: as Linux with none pending */
	n = nops->recvmsg(ps_of(s), &m, flags & ~MSG_DONTWAIT);
	if (n >= 0) {
		if (l)
			*l = a ? m.msg_namelen : 0;
		*oflags = m.msg_flags;
	}
	return n;
}

static int inet_shutdown(struct sock *s, int how)
{
	return nops->shutdown(ps_of(s), how);
}

static int inet_name(struct sock *s, void *a, uint32_t *l, bool peer)
{
	socklen_t sl = *l;
	int r = peer ? nops->getpeername(ps_of(s), a, &sl)
		     : nops->getsockname(ps_of(s), a, &sl);

	*l = sl;
	return r;
}

static int inet_getsockopt(struct sock *s, int level, int name, void *v,
			   uint32_t *l)
{
	socklen_t sl = *l;
	int r = nops->getsockopt(ps_of(s), level, name, v, &sl);

	*l = sl;
	return r;
}

static int inet_setsockopt(struct sock *s, int level, int name, const void *v,
			   uint32_t l)
{
	return nops->setsockopt(ps_of(s), level, name, v, l);
}

static int inet_ioctl(struct sock *s, unsigned long cmd, int *arg)
{
	return SBX_OPS_HAS(nops, ioctl) ? nops->ioctl(ps_of(s), cmd, arg)
					: -ENOTTY;
}

static void inet_free(struct sock *s)
{
	nops->close(ps_of(s));
	free(s);
}

static const struct sock_ops inet_ops = {
	.bind = inet_bind,
	.listen = inet_listen,
	.accept = inet_accept,
	.connect = inet_connect,
	.send = inet_send,
	.recv = inet_recv,
	.shutdown = inet_shutdown,
	.name = inet_name,
	.getsockopt = inet_getsockopt,
	.setsockopt = inet_setsockopt,
	.ioctl = inet_ioctl,
	.free = inet_free,
};

static int inet_wrap(struct sbx_sock *ps, int family, int type, int protocol,
		     struct sock **out)
{
	struct inet_sock *is = calloc(1, sizeof(*is));

	if (!is) {
		nops->close(ps);
		return -ENOMEM;
	}
	sock_init(&is->s, family, type, protocol, &inet_ops);
	is->ps = ps;
	is->s.fd = nops->poll_fd(ps);
	*out = &is->s;
	return 0;
}

int net_socket(int family, int type, int protocol, struct sock **out)
{
	struct sbx_sock *ps;
	int r;

	if (!nops)
		return -EAFNOSUPPORT;
	r = nops->socket(ninst, family, type, protocol, &ps);
	if (r)
		return r;
	return inet_wrap(ps, family, type, protocol, out);
}
