#!/bin/sh
# Networking with real programs (TAP): servers and clients in one isolated
# sandbox (busybox httpd with busybox wget and python3 urllib, python3's
# threaded http.server), a sandboxed server reached from the host when not
# isolated, a host server that an isolated sandbox cannot reach, unix
# socket names that never reach the host, `--net none`, and getaddrinfo
# without netlink.  Usage: net.sh SBXRUN CONFIG (CONFIG: the programs
# sandbox, network host isolated); SBX_TEST_PLATFORM picks the platform.
set -u
sbxrun=$1 config=$2
plat_opt=${SBX_TEST_PLATFORM:+--platform $SBX_TEST_PLATFORM}
n=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sbx-net.XXXXXX")
hostpid=
trap 'test -n "$hostpid" && kill "$hostpid" 2>/dev/null; rm -rf "$tmp"' EXIT
echo "1..9"

docs=/usr/share/doc/coreutils
want=$(sha256sum <"$docs/copyright")

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1))
	echo "not ok $n - $1"
	sed 's/^/#   /' "$tmp/out" | head -20
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
# sbx CONFIG ARGS...: run in the sandbox, output in $tmp/out
sbx() {
	c=$1
	shift
	# shellcheck disable=SC2086
	timeout 120 "$sbxrun" --config "$c" $plat_opt -- "$@" >"$tmp/out" 2>&1
}
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# 1, 2: busybox httpd with two clients, all inside one sandbox
sbx "$config" /bin/sh -c "busybox httpd -f -p 127.0.0.1:8765 -h $docs & p=\$!
	i=0; until busybox wget -q -O /var/tmp/c http://127.0.0.1:8765/copyright 2>/dev/null; do
		i=\$((i + 1)); [ \$i -gt 50 ] && break; sleep 0.1; done
	sha256sum </var/tmp/c
	python3 -c 'import urllib.request as u; print(len(u.urlopen(\"http://127.0.0.1:8765/copyright\").read()))'
	kill \$p; wait"
if [ "$(head -1 "$tmp/out")" = "$want" ]; then
	ok "busybox httpd and busybox wget in one sandbox"
else
	not_ok "busybox httpd and busybox wget in one sandbox"
fi
if [ "$(sed -n 2p "$tmp/out")" = "$(wc -c <"$docs/copyright")" ]; then
	ok "python3 urllib fetches from busybox httpd in the sandbox"
else
	not_ok "python3 urllib fetches from busybox httpd in the sandbox"
fi

# 3: python3 -m http.server (a thread per request; threads run everywhere)
sbx "$config" /bin/sh -c "python3 -m http.server 8766 --bind 127.0.0.1 --directory $docs >/dev/null 2>&1 & p=\$!
	python3 -c '
import time, urllib.request as u
for i in range(100):
    try:
        print(len(u.urlopen(\"http://127.0.0.1:8766/copyright\").read())); break
    except OSError:
        time.sleep(0.1)'
	kill \$p; wait"
if [ "$(cat "$tmp/out")" = "$(wc -c <"$docs/copyright")" ]; then
	ok "python3 -m http.server and a python3 client in the sandbox"
else
	not_ok "python3 -m http.server and a python3 client in the sandbox"
fi

# 4: not isolated: a sandboxed server reached from the host
port=$(free_port)
cat >"$tmp/host.yaml" <<EOF
network: { plugin: host, options: { isolated: false } }
EOF
# shellcheck disable=SC2086
timeout 60 "$sbxrun" --config "$tmp/host.yaml" $plat_opt -- \
	busybox httpd -f -p "127.0.0.1:$port" -h "$docs" >"$tmp/srv" 2>&1 &
hostpid=$!
got=
for _ in $(seq 50); do
	got=$(python3 -c "import urllib.request as u; print(len(u.urlopen('http://127.0.0.1:$port/copyright').read()))" 2>/dev/null) && break
	sleep 0.1
done
kill "$hostpid" 2>/dev/null
wait "$hostpid" 2>/dev/null
hostpid=
if [ "$got" = "$(wc -c <"$docs/copyright")" ]; then
	ok "isolated: false: the host fetches from a sandboxed busybox httpd"
else
	cp "$tmp/srv" "$tmp/out"
	not_ok "isolated: false: the host fetches from a sandboxed busybox httpd"
fi

# 5: isolated: a server on the host's loopback is out of reach
port=$(free_port)
python3 -c "import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $port)); s.listen(); time.sleep(30)" &
hostpid=$!
sleep 0.3
sbx "$config" python3 -c "import socket
try:
    socket.create_connection(('127.0.0.1', $port), timeout=5); print('connected')
except OSError as e:
    print(type(e).__name__)"
kill "$hostpid" 2>/dev/null
wait "$hostpid" 2>/dev/null
hostpid=
if [ "$(cat "$tmp/out")" = "ConnectionRefusedError" ]; then
	ok "isolated: true: the host's loopback servers are unreachable"
else
	not_ok "isolated: true: the host's loopback servers are unreachable"
fi

# 6: unix socket names: only a name (a socket node) reaches a writable
# host mount, as Linux would leave one; it is served by the core, so a
# host process connecting to it is refused; nothing on read-only mounts
mkdir "$tmp/rw"
cat >"$tmp/rw.yaml" <<EOF
filesystem:
  root: { source: /, readonly: true, overlay: none }
  mounts:
    - { target: /var/tmp, type: tmpfs }
    - { target: /rw, source: $tmp/rw, readonly: false }
EOF
sbx "$tmp/rw.yaml" python3 -c "import socket, os, errno
for p in ('/sbx-net-sock', '/rw/sock', '/var/tmp/sock'):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(p); s.listen(1); print(p, 'bound', os.path.exists(p))
        c = socket.socket(socket.AF_UNIX); c.connect(p); c.send(b'x')
        print(p, 'connected', s.accept()[0].recv(1))
    except OSError as e:
        print(p, errno.errorcode[e.errno])"
printf '%s\n' "/sbx-net-sock EROFS" "/rw/sock bound True" "/rw/sock connected b'x'" \
	"/var/tmp/sock bound True" "/var/tmp/sock connected b'x'" >"$tmp/want"
mv "$tmp/out" "$tmp/out1"
host_refused=$(python3 -c "import socket
try:
    socket.socket(socket.AF_UNIX).connect('$tmp/rw/sock'); print('connected')
except OSError as e:
    print('refused')")
# the in-memory overlay root (the programs config's default) takes the name
sbx "$config" python3 -c "import socket, os
s = socket.socket(socket.AF_UNIX); s.bind('/sbx-net-sock'); print(os.path.exists('/sbx-net-sock'))"
if cmp -s "$tmp/want" "$tmp/out1" && [ "$(cat "$tmp/out")" = True ] &&
   [ "$(ls -A "$tmp/rw")" = sock ] && [ -S "$tmp/rw/sock" ] &&
   [ "$host_refused" = refused ] && [ ! -e /sbx-net-sock ]; then
	ok "unix bind: EROFS read-only; a host mount gets only the name (the host cannot connect); tmpfs and overlay work"
else
	cat "$tmp/out1" >>"$tmp/out"
	echo "host connect: $host_refused; host dir: $(ls -lA "$tmp/rw")" >>"$tmp/out"
	not_ok "unix bind: EROFS read-only; a host mount gets only the name (the host cannot connect); tmpfs and overlay work"
fi

# 7: --net none
sbx "$config" python3 -c "import socket, errno
try:
    socket.socket(); print('made')
except OSError as e:
    print(errno.errorcode[e.errno])
a, b = socket.socketpair(); a.send(b'x'); print(b.recv(1))"
mv "$tmp/out" "$tmp/out1"
# shellcheck disable=SC2086
timeout 60 "$sbxrun" --config "$config" --net none $plat_opt -- python3 -c "import socket, errno
try:
    socket.socket(); print('made')
except OSError as e:
    print(errno.errorcode[e.errno])
a, b = socket.socketpair(); a.send(b'x'); print(b.recv(1))" >"$tmp/out" 2>&1
if [ "$(cat "$tmp/out1")" = "$(printf "made\nb'x'")" ] &&
   [ "$(cat "$tmp/out")" = "$(printf "EAFNOSUPPORT\nb'x'")" ]; then
	ok "--net none: no inet sockets (EAFNOSUPPORT), unix pairs still work"
else
	cat "$tmp/out1" >>"$tmp/out"
	not_ok "--net none: no inet sockets (EAFNOSUPPORT), unix pairs still work"
fi

# 8: getaddrinfo with AI_ADDRCONFIG (netlink refused: both families assumed)
gai='import socket
print(sorted(set(a[4][0] for a in socket.getaddrinfo("localhost", 80, flags=socket.AI_ADDRCONFIG))))'
python3 -c "$gai" >"$tmp/native" 2>&1
sbx "$config" python3 -c "$gai"
if cmp -s "$tmp/native" "$tmp/out"; then
	ok "getaddrinfo(localhost, AI_ADDRCONFIG) as native"
else
	not_ok "getaddrinfo(localhost, AI_ADDRCONFIG) as native"
fi

# 9: the isolated namespace has loopback only, and it is up
sbx "$config" python3 -c "import socket
s = socket.socket(socket.AF_INET6); s.bind(('::1', 0)); s.listen()
c = socket.create_connection(s.getsockname()[:2]); print('v6 ok')
try:
    socket.create_connection(('192.0.2.1', 80), timeout=2)
except OSError as e:
    print(type(e).__name__)"
if [ "$(cat "$tmp/out")" = "$(printf 'v6 ok\nOSError')" ]; then
	ok "isolated: ::1 works, no route beyond loopback"
else
	not_ok "isolated: ::1 works, no route beyond loopback"
fi
