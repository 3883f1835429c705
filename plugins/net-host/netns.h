/*
 * The isolated network namespace of the host net plugin: a helper process
 * in a fresh network namespace (only loopback, up) that creates sockets on
 * request and passes them back with SCM_RIGHTS.  A socket stays in the
 * namespace it was created in, so the core uses it as any other host
 * socket; only socket() itself needs the helper.
 */
#ifndef SBX_NET_HOST_NETNS_H
#define SBX_NET_HOST_NETNS_H

struct nethost_ns;

/*
 * nethost_ns_start - fork the helper (twice: it is not our child), which
 * unshares a network namespace (a user namespace first when that is
 * refused: unprivileged sbx) and brings `lo` up before it serves.
 * Call before the core confines itself.  Return: 0 and *@out, or -errno
 * with *@why set to a static description of the step that failed.
 */
int nethost_ns_start(struct nethost_ns **out, const char **why);

/*
 * nethost_ns_socket - socket(@family, @type | SOCK_NONBLOCK | SOCK_CLOEXEC,
 * @protocol) in the namespace (arguments already validated).  Any thread.
 * Return: the new host fd (non-blocking, close-on-exec) or -errno.
 */
int nethost_ns_socket(struct nethost_ns *ns, int family, int type,
		      int protocol);

/* nethost_ns_stop - close our end: the helper exits on EOF. */
void nethost_ns_stop(struct nethost_ns *ns);

#endif
