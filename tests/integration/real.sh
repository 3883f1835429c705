#!/bin/sh
# Real programs in the sandbox (TAP): Debian's dynamically linked shell,
# coreutils, bash, python3, gcc and man-db (whose helpers run under its own
# libseccomp filter, evaluated by the core), each compared with the same
# command run natively.  Usage: real.sh SBXRUN CONFIG; SBX_TEST_PLATFORM picks the
# platform.  A program the machine lacks is skipped visibly.
set -u
sbxrun=$1 config=$2
plat_opt=${SBX_TEST_PLATFORM:+--platform $SBX_TEST_PLATFORM}
n=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "1..16"

# same NAME CMD...: run CMD natively and in the sandbox (cwd /), compare
same() {
	name=$1
	shift
	n=$((n + 1))
	if ! command -v "$1" >/dev/null 2>&1; then
		echo "ok $n - $name # SKIP $1 not installed"
		return
	fi
	(cd / && "$@") >"$tmp/native" 2>&1
	a=$?
	# shellcheck disable=SC2086
	"$sbxrun" --config "$config" $plat_opt -- "$@" >"$tmp/sbx" 2>&1
	b=$?
	if [ $a -eq $b ] && cmp -s "$tmp/native" "$tmp/sbx"; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name # status native $a, sbx $b"
		diff "$tmp/native" "$tmp/sbx" | head -20 | sed 's/^/#   /'
	fi
}

same "sh: pipeline, arithmetic, subshell, loop" \
	/bin/sh -c 'echo hello | tr a-z A-Z; echo $((6*7)); (exit 3); echo $?; for i in 1 2 3; do echo $i; done | wc -l'
same "sh: script with a function and a here-document" /bin/sh -c '
f() { echo "f got $1"; }
f one
cat <<EOT
here $(echo doc)
EOT'
same "bash: arrays, [[ ]], process substitution-free pipeline" \
	/bin/bash -c 'a=(x y z); echo ${#a[@]} ${a[1]}; [[ abc == a* ]] && echo match; seq 1 200 | sort -n | tail -1'
same "coreutils: ls -l of /usr/bin/env, cat, sha256sum, wc" \
	/bin/sh -c 'ls -l /usr/bin/env | cut -c1-10; cat /etc/debian_version; sha256sum /bin/true | cut -c1-16; wc -l < /etc/passwd'
same "find and xargs in /usr/share/doc/coreutils" \
	/bin/sh -c 'find /usr/share/doc/coreutils -type f | sort | xargs ls -1 | wc -l'
same "python3: computation, json, subprocess" \
	python3 -c 'import json, subprocess; print(sum(range(10**5))); print(json.dumps({"a": [1, 2]})); print(subprocess.run(["echo", "sub"], capture_output=True, text=True).stdout.strip())'
same "python3: os.listdir(/proc/self/fd) after closing inherited fds" \
	python3 -c 'import os; os.closerange(3, 65536); print(sorted(os.listdir("/proc/self/fd")))'
same "python3: /proc/self/stat and status agree with os" \
	python3 -c 'import os; s = open("/proc/self/stat").read(); f = s[s.rindex(")") + 2:].split(); print(len(f) + 2, f[0], int(f[1]) == os.getppid()); st = dict(l.split(":\t", 1) for l in open("/proc/self/status").read().splitlines()); print(st["Name"], st["State"], int(st["Pid"]) == os.getpid(), st["Uid"].split()[0] == str(os.getuid()))'
same "grep fields of /proc/self/status" \
	/bin/sh -c 'grep -E "^(Name|State|Umask|Threads|NoNewPrivs|SigBlk):" /proc/self/status'
same "python3 asyncio: event loop (epoll, socketpair), streams" \
	python3 -c 'import asyncio, socket
async def main():
    a, b = socket.socketpair()
    r, w = await asyncio.open_connection(sock=a)
    b.send(b"ping\n")
    line = await r.readline()
    await asyncio.sleep(0.01)
    print(line.decode().strip())
    w.close()
    b.close()
asyncio.run(main())'
same "python3 multiprocessing: a Pool (sem_open in /dev/shm, shared futexes)" \
	python3 -c 'import multiprocessing as m
with m.Pool(2) as p:
    print(p.map(abs, [-1, -2, 3]))'
same "python3 mmap MAP_SHARED of a file in the (overlay) root, coherent with I/O" \
	python3 -c 'import mmap, os, tempfile
with tempfile.TemporaryDirectory(dir="/tmp") as d:
    p = os.path.join(d, "f")
    with open(p, "wb") as f:
        f.write(b"0" * 8192)
    with open(p, "r+b") as f:
        m = mmap.mmap(f.fileno(), 8192)
        m[0:5] = b"hello"
        print(os.pread(f.fileno(), 5, 0))
        os.pwrite(f.fileno(), b"world", 4096)
        print(m[4096:4101])
        m.close()'
same "shell exit status and signals" \
	/bin/sh -c 'sh -c "kill -TERM \$\$"; echo $?; false; echo $?'
n=$((n + 1))
if command -v gcc >/dev/null 2>&1; then
	out=$("$sbxrun" --config "$config" $plat_opt -- /bin/sh -c \
		'printf "#include <stdio.h>\nint main(){puts(\"compiled\");return 7;}\n" > /var/tmp/t.c && gcc -o /var/tmp/t /var/tmp/t.c && /var/tmp/t; echo status $?' 2>&1)
	if [ "$out" = "$(printf 'compiled\nstatus 7')" ]; then
		echo "ok $n - gcc compiles and runs a program in the sandbox"
	else
		echo "not ok $n - gcc compiles and runs a program in the sandbox"
		echo "$out" | head -10 | sed 's/^/#   /'
	fi
else
	echo "ok $n - gcc # SKIP gcc not installed"
fi

# man-db runs its helpers (zcat, groff, ...) under a libseccomp filter of
# several hundred instructions: the sandbox must accept and evaluate it
same "man-db: man -P cat ls (helpers under man-db's seccomp filter)" \
	env -i PATH=/usr/bin:/bin MANWIDTH=80 man -P cat ls
n=$((n + 1))
if command -v man >/dev/null 2>&1 && [ -e /usr/share/man/man1/ls.1.gz ]; then
	# shellcheck disable=SC2086
	if "$sbxrun" --strace --config "$config" $plat_opt -- env -i \
		PATH=/usr/bin:/bin MANWIDTH=80 man -P cat ls 2>&1 >/dev/null |
		grep -q 'seccomp(SECCOMP_SET_MODE_FILTER, .*len=.*) = 0'; then
		echo "ok $n - man-db installed its seccomp filter in the sandbox"
	else
		echo "not ok $n - man-db installed its seccomp filter in the sandbox"
	fi
else
	echo "ok $n - man-db filter # SKIP man or the ls man page not installed"
fi
