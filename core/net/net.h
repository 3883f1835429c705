/*
 * The network provider (sbx/net.h) the config selects: `none` (built in:
 * no inet sockets) or a plugin such as `host`, loaded and started before
 * the core confines itself; and the inet sockets it makes, as core
 * sockets (socket.h).
 */
#ifndef SBX_NET_NET_H
#define SBX_NET_NET_H

#include "../util/error.h"

struct sbx_config;
struct plugin_search_path;
struct sbx_services;
struct sock;

/*
 * net_init - load and start the provider named by network.plugin (or
 * @override, the --net option, when non-NULL).  Return: 0 or -errno
 * with @err set.
 */
int net_init(const struct sbx_config *cfg, const char *override,
	     const struct plugin_search_path *sp,
	     const struct sbx_services *svc, struct sbx_error *err);
/* net_seccomp_rules - the provider's additions to the core's filter. */
int net_seccomp_rules(void *scmp_ctx);
void net_fini(void);

/* net_socket - an inet socket from the provider (-EAFNOSUPPORT: none). */
int net_socket(int family, int type, int protocol, struct sock **out);

#endif
