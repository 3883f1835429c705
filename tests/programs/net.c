/*
 * net: sockets compared natively and in the sandbox (network: host).
 * TCP over 127.0.0.1 and ::1 between two processes, UDP, non-blocking
 * connect and poll, accept4 flags, names, options, shutdown, errors;
 * unix stream, seqpacket and datagram sockets bound to paths under
 * /var/tmp and to abstract names.  Only what both runs agree on is
 * printed: no ports, no pids (names carry the pid, so parallel native
 * runs do not collide, but are printed without it).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "errname.h"

static int fails;

/* res - "0" or the errno name of a -1 result */
static const char *res(long r)
{
	return r < 0 ? errname(errno) : "0";
}

#define SHOW(what, call)                                                \
	do {                                                            \
		long r_ = (long)(call);                                 \
		printf("%s: %s\n", what, res(r_));                      \
	} while (0)

static void check(const char *what, int ok)
{
	printf("%s: %s\n", what, ok ? "ok" : "FAILED");
	if (!ok)
		fails++;
}

static int readall(int fd, char *b, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, b + got, n - got);

		if (r <= 0)
			return (int)got;
		got += (size_t)r;
	}
	return (int)got;
}

static int wait_child(pid_t c)
{
	int st;

	if (waitpid(c, &st, 0) != c)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- TCP ---- */

static socklen_t loopback(int family, struct sockaddr_storage *ss, int port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a->sin_port = htons((uint16_t)port);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

	a->sin6_family = AF_INET6;
	a->sin6_addr = in6addr_loopback;
	a->sin6_port = htons((uint16_t)port);
	return sizeof(*a);
}

static int port_of(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET ? ((struct sockaddr_in *)ss)->sin_port
					      : ((struct sockaddr_in6 *)ss)->sin6_port);
}

/* listener - a listening socket on loopback port 0; *ss gets its name */
static int listener(int family, int type, struct sockaddr_storage *ss,
		    socklen_t *len)
{
	int fd = socket(family, type, 0);

	*len = loopback(family, ss, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)ss, *len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 8) < 0))
		return -1;
	*len = sizeof(*ss);
	if (getsockname(fd, (struct sockaddr *)ss, len) < 0)
		return -1;
	return fd;
}

/* client of tcp_echo: send, read the upper-cased echo, report it back */
static int tcp_client(int family, const struct sockaddr_storage *ss,
		      socklen_t len)
{
	char b[64] = { 0 };
	int fd = socket(family, SOCK_STREAM, 0), one = 1;

	if (fd < 0 || connect(fd, (const struct sockaddr *)ss, len) < 0)
		return 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (write(fd, "hello", 5) != 5 || readall(fd, b, 5) != 5)
		return 2;
	if (dprintf(fd, "client got %s", b) < 0)
		return 3;
	shutdown(fd, SHUT_WR);
	/* the server's goodbye, then EOF */
	if (readall(fd, b, 3) != 3 || memcmp(b, "bye", 3) || read(fd, b, 1) != 0)
		return 4;
	close(fd);
	return 0;
}

static void tcp_echo(int family, const char *name)
{
	struct sockaddr_storage ss, peer, self;
	socklen_t len, plen = sizeof(peer), slen = sizeof(self);
	char b[64] = { 0 }, host[64];
	int lfd = listener(family, SOCK_STREAM, &ss, &len), fd, n, v;
	pid_t c;

	printf("== tcp %s\n", name);
	if (lfd < 0) {
		printf("listener: %s\n", errname(errno));
		fails++;
		return;
	}
	check("bound to a port", port_of(&ss) != 0);
	c = fork();
	if (c == 0)
		_exit(tcp_client(family, &ss, len));
	fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
	check("accept4", fd >= 0);
	check("peer family", peer.ss_family == family);
	inet_ntop(family, family == AF_INET
		  ? (void *)&((struct sockaddr_in *)&peer)->sin_addr
		  : (void *)&((struct sockaddr_in6 *)&peer)->sin6_addr,
		  host, sizeof(host));
	printf("peer address %s\n", host);
	getsockname(fd, (struct sockaddr *)&self, &slen);
	check("accepted socket's port is the listener's",
	      port_of(&self) == port_of(&ss));
	check("accept4 SOCK_CLOEXEC", fcntl(fd, F_GETFD) == FD_CLOEXEC);
	check("accepted is blocking", !(fcntl(fd, F_GETFL) & O_NONBLOCK));
	n = readall(fd, b, 5);
	printf("server read %d: %.*s\n", n, n, b);
	for (int i = 0; i < n; i++)
		b[i] = (char)(b[i] - 32);
	write(fd, b, (size_t)n);
	memset(b, 0, sizeof(b));
	n = readall(fd, b, sizeof(b) - 1); /* until the client's SHUT_WR */
	printf("server read %d: %s\n", n, b);
	SHOW("read at EOF", read(fd, b, 1));
	write(fd, "bye", 3);
	len = sizeof(v);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &len);
	printf("SO_ERROR %d\n", v);
	close(fd);
	printf("client status %d\n", wait_child(c));
	close(lfd);
}

static void tcp_nonblocking(void)
{
	struct sockaddr_storage ss, dead;
	socklen_t len, dlen;
	struct pollfd p;
	int lfd = listener(AF_INET, SOCK_STREAM, &ss, &len), fd, r, v, afd;
	int dfd = listener(AF_INET, SOCK_STREAM, &dead, &dlen);

	printf("== tcp non-blocking\n");
	close(dfd); /* nothing listens there now */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	check("SOCK_NONBLOCK", fcntl(fd, F_GETFL) & O_NONBLOCK);
	fcntl(lfd, F_SETFL, O_NONBLOCK);
	SHOW("accept on an empty queue", accept(lfd, NULL, NULL));
	fcntl(lfd, F_SETFL, 0);
	r = connect(fd, (struct sockaddr *)&ss, len);
	printf("connect: %s\n", r == 0 || errno == EINPROGRESS ? "started" : errname(errno));
	p = (struct pollfd){ fd, POLLOUT, 0 };
	r = poll(&p, 1, 5000);
	printf("poll %d revents POLLOUT %d\n", r, !!(p.revents & POLLOUT));
	len = sizeof(v);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &len);
	printf("SO_ERROR %s\n", errname(v));
	SHOW("connect again", connect(fd, (struct sockaddr *)&ss, sizeof(struct sockaddr_in)));
	SHOW("and again", connect(fd, (struct sockaddr *)&ss, sizeof(struct sockaddr_in)));
	afd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
	check("accept4 SOCK_NONBLOCK", afd >= 0 && (fcntl(afd, F_GETFL) & O_NONBLOCK));
	SHOW("read with nothing there", read(afd, &v, 1));
	SHOW("recv MSG_DONTWAIT", recv(fd, &v, 1, MSG_DONTWAIT));
	write(fd, "abc", 3);
	p = (struct pollfd){ afd, POLLIN, 0 };
	poll(&p, 1, 5000);
	ioctl(afd, FIONREAD, &v);
	printf("FIONREAD %d\n", v);
	SHOW("MSG_PEEK", recv(afd, &v, 1, MSG_PEEK));
	close(afd);
	close(fd);

	/* refused, blocking and not */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	SHOW("connect to a closed port", connect(fd, (struct sockaddr *)&dead, dlen));
	close(fd);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	r = connect(fd, (struct sockaddr *)&dead, dlen);
	printf("non-blocking: %s\n", r == 0 || errno == EINPROGRESS ? "started"
		: errname(errno));
	p = (struct pollfd){ fd, POLLOUT, 0 };
	poll(&p, 1, 5000);
	printf("POLLERR %d\n", !!(p.revents & POLLERR));
	len = sizeof(v);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &len);
	printf("SO_ERROR %s\n", errname(v));
	close(fd);

	/* EADDRINUSE */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	SHOW("bind to a listening port", bind(fd, (struct sockaddr *)&ss, sizeof(struct sockaddr_in)));
	close(fd);
	close(lfd);
}

static void on_alarm(int sig)
{
}

static void tcp_errors(void)
{
	struct sockaddr_storage ss;
	struct sockaddr_un un = { AF_UNIX, "x" };
	struct sigaction sa = { 0 };
	struct itimerval it = { { 0, 0 }, { 0, 100000 } };
	struct timeval tv = { 0, 200000 }, tv2;
	socklen_t len;
	int fd = socket(AF_INET, SOCK_STREAM, 0), v = 1, lfd, u;

	printf("== tcp errors and options\n");
	SHOW("bind short address", bind(fd, (struct sockaddr *)&ss, 4));
	SHOW("bind AF_UNIX address", bind(fd, (struct sockaddr *)&un, sizeof(un)));
	SHOW("bind NULL 0", bind(fd, NULL, 0));
	SHOW("connect short address", connect(fd, (struct sockaddr *)&un, 1));
	SHOW("shutdown unconnected", shutdown(fd, SHUT_RDWR));
	SHOW("shutdown how 7", shutdown(fd, 7));
	SHOW("getpeername unconnected", getpeername(fd, (struct sockaddr *)&ss, &(socklen_t){ sizeof(ss) }));
	SHOW("send unconnected", send(fd, "x", 1, MSG_NOSIGNAL));
	SHOW("accept unlistened", accept(fd, NULL, NULL));
	SHOW("accept4 bad flags", accept4(fd, NULL, NULL, 0x40000000));
	SHOW("SO_REUSEADDR", setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)));
	v = 0;
	len = sizeof(v);
	getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, &len);
	printf("SO_REUSEADDR %d len %u\n", v, len);
	SHOW("TCP_NODELAY", setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int)));
	len = sizeof(v);
	getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len);
	printf("TCP_NODELAY %d\n", v);
	SHOW("SO_KEEPALIVE", setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &(int){ 1 }, sizeof(int)));
	SHOW("TCP_KEEPIDLE", setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &(int){ 30 }, sizeof(int)));
	SHOW("IP_TOS", setsockopt(fd, IPPROTO_IP, IP_TOS, &(int){ 0x10 }, sizeof(int)));
	len = sizeof(v);
	getsockopt(fd, IPPROTO_IP, IP_TOS, &v, &len);
	printf("IP_TOS 0x%x\n", v);
	SHOW("setsockopt int short", setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, 2));
	SHOW("setsockopt negative len", setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, -1));
	SHOW("getsockopt unknown level", getsockopt(fd, 9999, 1, &v, &len));
	len = 2;
	v = 0;
	getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len);
	printf("SO_TYPE in 2 bytes: %d len %u\n", v, len);
	len = sizeof(v);
	getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len);
	printf("SO_PROTOCOL %d\n", v);
	getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len);
	printf("SO_DOMAIN %d\n", v);
	getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len);
	printf("SO_ACCEPTCONN %d\n", v);
	SHOW("SO_RCVTIMEO bad usec", setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO,
		&(struct timeval){ 0, 1000000 }, sizeof(struct timeval)));
	SHOW("SO_RCVTIMEO short", setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, 8));
	close(fd);

	/* a receive timeout, then a signal interrupting accept */
	u = socket(AF_INET, SOCK_DGRAM, 0);
	len = loopback(AF_INET, &ss, 0);
	bind(u, (struct sockaddr *)&ss, len);
	SHOW("SO_RCVTIMEO", setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	len = sizeof(tv2);
	getsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv2, &len);
	printf("SO_RCVTIMEO %ld.%06ld len %u\n", (long)tv2.tv_sec, (long)tv2.tv_usec, len);
	SHOW("recv times out", recv(u, &v, sizeof(v), 0));
	close(u);
	lfd = listener(AF_INET, SOCK_STREAM, &ss, &len);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	SHOW("accept interrupted (no SA_RESTART)", accept(lfd, NULL, NULL));
	close(lfd);
	signal(SIGALRM, SIG_DFL);
}

static void udp(int family, const char *name)
{
	struct sockaddr_storage a, b, from;
	socklen_t al, bl, fl = sizeof(from);
	char buf[64];
	struct iovec iov = { buf, 4 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	int x = listener(family, SOCK_DGRAM, &a, &al);
	int y = listener(family, SOCK_DGRAM, &b, &bl);
	ssize_t n;

	printf("== udp %s\n", name);
	n = sendto(x, "ping", 4, 0, (struct sockaddr *)&b, bl);
	printf("sendto %zd\n", n);
	n = recvfrom(y, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	printf("recvfrom %zd %.4s from the sender's port: %d\n", n, buf,
	       port_of(&from) == port_of(&a));
	sendto(y, "0123456789", 10, 0, (struct sockaddr *)&from, fl);
	n = recvmsg(x, &m, 0);
	printf("recvmsg %zd truncated %d\n", n, !!(m.msg_flags & MSG_TRUNC));
	sendto(y, "0123456789", 10, 0, (struct sockaddr *)&a, al);
	n = recv(x, buf, 2, MSG_TRUNC);
	printf("recv MSG_TRUNC %zd\n", n);
	SHOW("recv empty MSG_DONTWAIT", recv(x, buf, 1, MSG_DONTWAIT));
	SHOW("connect", connect(x, (struct sockaddr *)&b, bl));
	n = send(x, "conn", 4, 0);
	printf("send %zd\n", n);
	n = recv(y, buf, sizeof(buf), 0);
	printf("recv %zd %.4s\n", n, buf);
	SHOW("send on unconnected", send(y, "x", 1, 0));
	SHOW("listen on udp", listen(y, 1));
	SHOW("accept on udp", accept(y, NULL, NULL));
	close(x);
	close(y);
}

static void epoll_test(void)
{
	struct sockaddr_storage ss;
	struct epoll_event ev = { .events = EPOLLIN }, out[4];
	socklen_t len;
	int lfd = listener(AF_INET, SOCK_STREAM, &ss, &len);
	int ep = epoll_create1(0), fd, afd, n;

	printf("== epoll\n");
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	printf("nothing pending: %d\n", epoll_wait(ep, out, 4, 0));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	connect(fd, (struct sockaddr *)&ss, len);
	n = epoll_wait(ep, out, 4, 5000);
	printf("pending: %d listener %d\n", n, n == 1 && out[0].data.fd == lfd);
	afd = accept(lfd, NULL, NULL);
	ev.data.fd = afd;
	epoll_ctl(ep, EPOLL_CTL_ADD, afd, &ev);
	write(fd, "x", 1);
	n = epoll_wait(ep, out, 4, 5000);
	printf("data: %d accepted %d\n", n, n == 1 && out[0].data.fd == afd);
	close(fd);
	close(afd);
	close(lfd);
	close(ep);
}

static void sock_basics(void)
{
	int fd;

	printf("== socket()\n");
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	check("flags", fd >= 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK) &&
		       fcntl(fd, F_GETFD) == FD_CLOEXEC);
	close(fd);
	SHOW("family 1000", socket(1000, SOCK_STREAM, 0));
	SHOW("family -1", socket(-1, SOCK_STREAM, 0));
	SHOW("bad type flag", socket(AF_INET, SOCK_STREAM | 0x100, 0));
	SHOW("type 12", socket(AF_INET, 12, 0));
	SHOW("stream + udp", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
	SHOW("seqpacket inet", socket(AF_INET, SOCK_SEQPACKET, 0));
	SHOW("protocol -1", socket(AF_INET, SOCK_DGRAM, -1));
	SHOW("unix protocol 5", socket(AF_UNIX, SOCK_STREAM, 5));
	SHOW("unix type 6", socket(AF_UNIX, 6, 0));
	SHOW("socketpair inet", socketpair(AF_INET, SOCK_STREAM, 0, (int[2]){ 0 }));
	SHOW("bind on a pipe", bind(0, NULL, 0));
	SHOW("bind on fd 999", bind(999, NULL, 0));
}

/* ---- unix ---- */

static socklen_t un_path(struct sockaddr_un *a, const char *tag)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path, sizeof(a->sun_path), "/var/tmp/sbx-net-%d-%s",
		 (int)getpid(), tag);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
			   strlen(a->sun_path) + 1);
}

static socklen_t un_abstract(struct sockaddr_un *a, const char *tag)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "sbx-net-%d-%s",
		 (int)getpid(), tag);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			   strlen(a->sun_path + 1));
}

static void unix_stream(int type, int abstract, const char *name)
{
	struct sockaddr_un a, got, b;
	socklen_t al = abstract ? un_abstract(&a, name) : un_path(&a, name);
	socklen_t gl = sizeof(got), bl;
	char buf[64] = { 0 };
	int lfd = socket(AF_UNIX, type, 0), fd, afd, n;
	struct stat st;
	pid_t c;

	printf("== unix %s\n", name);
	if (!abstract)
		unlink(a.sun_path);
	SHOW("bind", bind(lfd, (struct sockaddr *)&a, al));
	SHOW("bind again", bind(lfd, (struct sockaddr *)&a, al));
	if (!abstract) {
		check("socket file", stat(a.sun_path, &st) == 0 && S_ISSOCK(st.st_mode));
		printf("mode %o\n", st.st_mode & 0777);
		SHOW("open the socket file", open(a.sun_path, O_RDONLY));
	}
	getsockname(lfd, (struct sockaddr *)&got, &gl);
	check("getsockname", gl == al && !memcmp(&got, &a, al));
	fd = socket(AF_UNIX, type, 0);
	SHOW("connect before listen", connect(fd, (struct sockaddr *)&a, al));
	SHOW("listen", listen(lfd, 4));
	fd = socket(AF_UNIX, type, 0);
	b = a;
	bl = al;
	if (bind(fd, (struct sockaddr *)&b, bl) < 0)
		printf("second bind: %s\n", errname(errno));
	close(fd);
	c = fork();
	if (c == 0) {
		fd = socket(AF_UNIX, type, 0);
		if (connect(fd, (struct sockaddr *)&a, al) < 0)
			_exit(1);
		gl = sizeof(got);
		if (getpeername(fd, (struct sockaddr *)&got, &gl) < 0 ||
		    gl != al || memcmp(&got, &a, al))
			_exit(2);
		if (write(fd, "one", 3) != 3 || write(fd, "two", 3) != 3)
			_exit(3);
		if (read(fd, buf, 2) != 2)
			_exit(4);
		_exit(0);
	}
	gl = sizeof(got);
	afd = accept(lfd, (struct sockaddr *)&got, &gl);
	check("accept", afd >= 0);
	printf("client address length %u family %d\n", gl, got.sun_family);
	gl = sizeof(got);
	getsockname(afd, (struct sockaddr *)&got, &gl);
	check("accepted socket's name is the listener's", gl == al && !memcmp(&got, &a, al));
	SHOW("getpeername", getpeername(afd, (struct sockaddr *)&got, &(socklen_t){ sizeof(got) }));
	if (type == SOCK_STREAM) {
		n = readall(afd, buf, 6);
		printf("read %d: %.6s\n", n, buf);
	} else {
		n = (int)read(afd, buf, sizeof(buf));
		printf("record %d: %.*s\n", n, n, buf);
		n = (int)read(afd, buf, sizeof(buf));
		printf("record %d: %.*s\n", n, n, buf);
	}
	{
		struct ucred cr;
		socklen_t cl = sizeof(cr);

		getsockopt(afd, SOL_SOCKET, SO_PEERCRED, &cr, &cl);
		printf("SO_PEERCRED pid is the child's %d uid %u len %u\n",
		       cr.pid == c, cr.uid, cl);
	}
	write(afd, "ok", 2);
	printf("client status %d\n", wait_child(c));
	SHOW("read after the peer closed", read(afd, buf, 1));
	SHOW("send after the peer closed", send(afd, "x", 1, MSG_NOSIGNAL));
	close(afd);
	close(lfd);
	fd = socket(AF_UNIX, type, 0);
	SHOW("connect after close", connect(fd, (struct sockaddr *)&a, al));
	SHOW("read unconnected", read(fd, buf, 1));
	SHOW("write unconnected", send(fd, buf, 1, MSG_NOSIGNAL));
	close(fd);
	if (!abstract)
		SHOW("unlink", unlink(a.sun_path));
}

static void unix_dgram(void)
{
	struct sockaddr_un s, c, from, nx;
	socklen_t sl = un_path(&s, "dgs"), cl = un_path(&c, "dgc");
	socklen_t fl = sizeof(from), nl = un_path(&nx, "nothere");
	int x = socket(AF_UNIX, SOCK_DGRAM, 0), y = socket(AF_UNIX, SOCK_DGRAM, 0);
	int z = socket(AF_UNIX, SOCK_DGRAM, 0), sv[2], v;
	char buf[64];
	ssize_t n;

	printf("== unix dgram\n");
	unlink(s.sun_path);
	unlink(c.sun_path);
	SHOW("bind server", bind(x, (struct sockaddr *)&s, sl));
	SHOW("bind client", bind(y, (struct sockaddr *)&c, cl));
	n = sendto(y, "hello", 5, 0, (struct sockaddr *)&s, sl);
	printf("sendto %zd\n", n);
	ioctl(x, FIONREAD, &v);
	printf("FIONREAD %d\n", v);
	n = recvfrom(x, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	printf("recvfrom %zd %.5s from the client: %d\n", n, buf,
	       fl == cl && !memcmp(&from, &c, cl));
	n = sendto(x, "reply", 5, 0, (struct sockaddr *)&from, fl);
	n = recv(y, buf, sizeof(buf), 0);
	printf("reply %zd %.5s\n", n, buf);
	fl = sizeof(from);
	sendto(z, "anon", 4, 0, (struct sockaddr *)&s, sl);
	n = recvfrom(x, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	printf("from an unbound sender: %zd address length %u\n", n, fl);
	SHOW("send unconnected", send(z, "x", 1, 0));
	SHOW("sendto nowhere", sendto(z, "x", 1, 0, (struct sockaddr *)&nx, nl));
	SHOW("connect", connect(z, (struct sockaddr *)&s, sl));
	SHOW("send connected", send(z, "abc", 3, 0));
	n = recv(x, buf, 2, MSG_TRUNC);
	printf("recv MSG_TRUNC %zd\n", n);
	SHOW("getpeername", getpeername(z, (struct sockaddr *)&from, &(socklen_t){ sizeof(from) }));
	SHOW("recv empty MSG_DONTWAIT", recv(x, buf, 1, MSG_DONTWAIT));
	SHOW("listen on dgram", listen(x, 1));
	SHOW("connect stream to dgram", connect(socket(AF_UNIX, SOCK_STREAM, 0),
						(struct sockaddr *)&s, sl));
	close(x);
	SHOW("send to a closed peer", send(z, "x", 1, 0));
	SHOW("shutdown SHUT_RD", shutdown(y, SHUT_RD));
	SHOW("send to a shut reader", sendto(z, "x", 1, MSG_NOSIGNAL, (struct sockaddr *)&c, cl));
	SHOW("recv after SHUT_RD", recv(y, buf, 1, 0));
	close(y);
	close(z);
	unlink(s.sun_path);
	unlink(c.sun_path);

	/* autobind, socketpair */
	x = socket(AF_UNIX, SOCK_DGRAM, 0);
	fl = sizeof(from);
	SHOW("autobind", bind(x, (struct sockaddr *)&(sa_family_t){ AF_UNIX }, sizeof(sa_family_t)));
	getsockname(x, (struct sockaddr *)&from, &fl);
	printf("autobound name length %u abstract %d\n", fl, from.sun_path[0] == 0);
	close(x);
	SHOW("socketpair dgram", socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	send(sv[0], "pair", 4, 0);
	fl = sizeof(from);
	n = recvfrom(sv[1], buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	printf("pair %zd %.4s address length %u\n", n, buf, fl);
	fl = sizeof(from);
	SHOW("getsockname pair", getsockname(sv[0], (struct sockaddr *)&from, &fl));
	printf("length %u\n", fl);
	close(sv[0]);
	close(sv[1]);
}

static void unix_errors(void)
{
	struct sockaddr_un a;
	socklen_t al = un_path(&a, "file");
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), f;

	printf("== unix errors\n");
	SHOW("connect to nothing", connect(fd, (struct sockaddr *)&a, al));
	f = open(a.sun_path, O_CREAT | O_WRONLY, 0600);
	close(f);
	SHOW("connect to a regular file", connect(fd, (struct sockaddr *)&a, al));
	SHOW("bind over a file", bind(fd, (struct sockaddr *)&a, al));
	unlink(a.sun_path);
	SHOW("bind short", bind(fd, (struct sockaddr *)&a, 1));
	a.sun_family = AF_INET;
	SHOW("bind wrong family", bind(fd, (struct sockaddr *)&a, al));
	SHOW("connect family only", connect(fd, (struct sockaddr *)&(sa_family_t){ AF_UNIX }, 2));
	strcpy(a.sun_path, "/var/tmp/no/such/dir/s");
	a.sun_family = AF_UNIX;
	SHOW("bind in a missing directory", bind(fd, (struct sockaddr *)&a, sizeof(a)));
	SHOW("listen unbound", listen(fd, 1));
	close(fd);
	(void)un_abstract;
}

/* sendfile from a file into a TCP socket, read back from its peer */
static void sendfile_test(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char path[64], buf[256];
	int lfd = listener(AF_INET, SOCK_STREAM, &ss, &len), c, a, f;
	off_t off = 3;
	ssize_t n;

	printf("== sendfile to a socket\n");
	snprintf(path, sizeof(path), "/var/tmp/sbx-net-%d-file", (int)getpid());
	f = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	write(f, "0123456789abcdef", 16);
	c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (struct sockaddr *)&ss, len);
	a = accept(lfd, NULL, NULL);
	n = sendfile(a, f, &off, 100);
	printf("sendfile %zd offset now %ld\n", n, (long)off);
	close(a);
	n = readall(c, buf, sizeof(buf));
	printf("peer read %zd: %.*s\n", n, (int)n, buf);
	SHOW("splice socket to socket", splice(c, NULL, lfd, NULL, 10, 0));
	close(c);
	close(f);
	close(lfd);
	unlink(path);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	sock_basics();
	tcp_echo(AF_INET, "127.0.0.1");
	tcp_echo(AF_INET6, "::1");
	tcp_nonblocking();
	tcp_errors();
	udp(AF_INET, "127.0.0.1");
	udp(AF_INET6, "::1");
	epoll_test();
	sendfile_test();
	unix_stream(SOCK_STREAM, 0, "stream");
	unix_stream(SOCK_STREAM, 1, "abstract");
	unix_stream(SOCK_SEQPACKET, 0, "seqpacket");
	unix_dgram();
	unix_errors();
	printf("failures: %d\n", fails);
	return fails != 0;
}
