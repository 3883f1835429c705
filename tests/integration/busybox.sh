#!/bin/sh
# busybox.sh SBXRUN - sbxrun end to end: busybox applets that need neither
# files nor fork compared with native runs, --strace output, and sbxrun's
# own exit statuses (bad config 125, unknown platform 125, missing program
# 127, non-executable 126) and informational options.  Uses Debian's
# busybox-static (/bin/busybox) and skips its part when that is absent.
# Prints TAP; exit status 1 on failure.
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 SBXRUN" >&2
	exit 2
fi
case $1 in
/*) sbxrun=$1 ;;
*) sbxrun=$(pwd)/$1 ;;
esac
# SBX_TEST_PLATFORM (set by meson, one test per platform) overrides the config
plat_opt=${SBX_TEST_PLATFORM:+--platform $SBX_TEST_PLATFORM}
busybox=/bin/busybox

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sbx-busybox.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
config=$tmp/sandbox.yaml
cat >"$config" <<'YAML'
platform:
  plugin: ptrace
process:
  argv: [/bin/true]
  env: [PATH=/usr/bin:/bin, HOME=/]
  cwd: /
YAML

n=0
failed=0
ok() {
	n=$((n + 1))
	printf "ok %s - %s\n" "$n" "$1"
}
not_ok() {
	n=$((n + 1))
	failed=1
	printf "not ok %s - %s%s\n" "$n" "$1" "${2:+ # $2}"
}
skip() {
	n=$((n + 1))
	printf "ok %s - %s # SKIP %s\n" "$n" "$1" "$2"
}
show() {
	head -n 20 "$1" | sed 's/^/#   /'
}

# sbx ARGV...: run ARGV in the sandbox; status in $st, output in sbx.*
sbx() {
	"$sbxrun" --config "$config" $plat_opt -- "$@" </dev/null \
		>"$tmp/sbx.out" 2>"$tmp/sbx.err"
	st=$?
}
# native ARGV...: the same natively
native() {
	(cd / && exec env -i PATH=/usr/bin:/bin HOME=/ "$@") </dev/null \
		>"$tmp/native.out" 2>"$tmp/native.err"
	nst=$?
}

# same DESC ARGV...: stdout and status equal natively and sandboxed
same() {
	desc=$1
	shift
	native "$@"
	sbx "$@"
	if [ "$nst" -eq "$st" ] && cmp -s "$tmp/native.out" "$tmp/sbx.out"; then
		ok "$desc (status $st)"
	else
		not_ok "$desc" "status native $nst, sbx $st"
		diff -u "$tmp/native.out" "$tmp/sbx.out" >"$tmp/diff"
		show "$tmp/diff"
		show "$tmp/sbx.err"
	fi
}

# expect DESC STATUS STDOUT ARGV...: sandboxed status and exact stdout
expect() {
	desc=$1
	want_st=$2
	want_out=$3
	shift 3
	sbx "$@"
	printf '%s' "$want_out" >"$tmp/want"
	if [ "$st" -eq "$want_st" ] && cmp -s "$tmp/want" "$tmp/sbx.out"; then
		ok "$desc"
	else
		not_ok "$desc" "status $st (want $want_st)"
		show "$tmp/sbx.out"
		show "$tmp/sbx.err"
	fi
}

# needs_vfs DESC ARGV...: an applet that reads files.  Until the VFS
# lands, openat/access are unimplemented (ENOSYS): skip visibly then;
# compare with the native run otherwise.
needs_vfs() {
	desc=$1
	shift
	sbx "$@"
	if [ "$st" -ne 0 ] && grep -q "Function not implemented\|No such file\|unknown uid" \
		"$tmp/sbx.err"; then
		skip "$desc" "needs the VFS: $(head -n 1 "$tmp/sbx.err")"
	else
		same "$desc" "$@"
	fi
}

if [ ! -x "$sbxrun" ]; then
	echo "1..0 # SKIP $sbxrun not built"
	exit 0
fi

if [ -x "$busybox" ] && "$busybox" true 2>/dev/null; then
	bb=$busybox
	expect "busybox echo hello" 0 "hello
" $bb echo hello
	expect "busybox true" 0 "" $bb true
	expect "busybox false" 1 "" $bb false
	expect "busybox expr 2 + 3" 0 "5
" $bb expr 2 + 3
	expect "busybox expr 0 (status 1)" 1 "0
" $bb expr 0
	same "busybox printf" $bb printf '%s-%d|%x\n' a 5 255
	same "busybox seq 1 5" $bb seq 1 5
	same "busybox seq -s , 3" $bb seq -s , 3
	same "busybox basename /a/b" $bb basename /a/b
	same "busybox dirname /a/b" $bb dirname /a/b
	same "busybox uname -s" $bb uname -s
	same "busybox uname -m" $bb uname -m
	same "busybox arch" $bb arch
	same "busybox sleep 0.1" $bb sleep 0.1
	same "busybox usleep 1000" $bb usleep 1000
	same "busybox test 1 -eq 1" $bb test 1 -eq 1
	same "busybox test 1 -eq 2" $bb test 1 -eq 2
	same "busybox factor 12" $bb factor 12
	same "busybox kill -l" $bb kill -l
	same "busybox echo -n" $bb echo -n x
	same "busybox env" $bb env
	same "busybox pwd" $bb pwd
	same "busybox id -u" $bb id -u
	same "busybox tty (not a tty)" $bb tty
	same "busybox realpath /" $bb realpath /
	same "busybox md5sum </dev/null" $bb md5sum
	same "busybox sha256sum </dev/null" $bb sha256sum
	same "busybox wc -c </dev/null" $bb wc -c
	same "busybox od </dev/null" $bb od
	# shellcheck disable=SC2016 # expanded by busybox sh
	same "busybox sh -c (builtins only)" $bb sh -c 'echo hi; x=$((6 * 7)); echo $x; exit 3'
	same "busybox no such applet" $bb no-such-applet
	# sbxrun is the writer into the pipe: the host pipe, not a sandbox one
	a=$("$sbxrun" --config "$config" $plat_opt -- $bb seq 1 100000 </dev/null \
		2>"$tmp/sbx.err" | $bb tail -n 1)
	if [ "$a" = 100000 ]; then
		ok "busybox seq 1 100000 | tail -n 1"
	else
		not_ok "busybox seq 1 100000 | tail -n 1" "got '$a'"
	fi

	needs_vfs "busybox cat /etc/hostname" $bb cat /etc/hostname
	needs_vfs "busybox ls /" $bb ls /
	needs_vfs "busybox stat -c %n /" $bb stat -c %n /
	needs_vfs "busybox whoami (/etc/passwd)" $bb whoami

	# /proc: ps and ls see the sandbox's processes and fds only
	expect "busybox ps" 0 "PID   USER     COMMAND
    1 root     /bin/busybox ps
" $bb ps
	expect "busybox ps -o pid,ppid,stat,comm" 0 "PID   PPID  STAT COMMAND
    1     0 R    busybox
" $bb ps -o pid,ppid,stat,comm
	# shellcheck disable=SC2016 # expanded by busybox sh
	expect "busybox ps with a child in the background" 0 "PID   PPID  COMMAND
    1     0 busybox
    2     1 busybox
" $bb sh -c 'sleep 5 & ps -o pid,ppid,comm | sed -n "1,3p"; kill $!'
	expect "busybox ls /proc/self/fd" 0 "0
1
2
3
" $bb ls /proc/self/fd
	sbx $bb ls -l /proc/self/fd/0
	if [ "$st" -eq 0 ] && grep -q ' /proc/self/fd/0 -> /dev/null$' "$tmp/sbx.out"; then
		ok "busybox ls -l /proc/self/fd/0 -> /dev/null"
	else
		not_ok "busybox ls -l /proc/self/fd/0 -> /dev/null" "status $st"
		show "$tmp/sbx.out"
	fi
	sbx $bb cat /proc/self/status
	if [ "$st" -eq 0 ] && grep -q "^Name:	busybox$" "$tmp/sbx.out" &&
		grep -q '^Pid:	1$' "$tmp/sbx.out" && grep -q '^PPid:	0$' "$tmp/sbx.out"; then
		ok "busybox cat /proc/self/status: Name busybox, Pid 1, PPid 0"
	else
		not_ok "busybox cat /proc/self/status" "status $st"
		show "$tmp/sbx.out"
	fi

	"$sbxrun" --strace --config "$config" $plat_opt -- $bb echo hello </dev/null \
		>"$tmp/sbx.out" 2>"$tmp/strace"
	st=$?
	if [ "$st" -eq 0 ] && grep -qxF 'write(1, "hello\n", 6) = 6' "$tmp/strace"; then
		ok "--strace shows write(1, \"hello\\n\", 6) = 6"
	else
		not_ok "--strace shows the write" "status $st"
		show "$tmp/strace"
	fi
	if [ "$(tail -n 1 "$tmp/strace")" = 'exit_group(0) = ?' ]; then
		ok "--strace ends with exit_group(0) = ?"
	else
		not_ok "--strace ends with exit_group(0) = ?"
		tail -n 3 "$tmp/strace" | sed 's/^/#   /'
	fi
	if [ "$(cat "$tmp/sbx.out")" = hello ]; then
		ok "--strace keeps the program's stdout apart"
	else
		not_ok "--strace keeps the program's stdout apart"
	fi
	expect "busybox found through the config's PATH" 0 "via-path
" busybox echo via-path
else
	skip "busybox applets" "$busybox (busybox-static) not installed"
fi

# sbxrun's own statuses
printf 'limits: { memory: 1Q }\n' >"$tmp/bad.yaml"
"$sbxrun" --config "$tmp/bad.yaml" -- /bin/true >/dev/null 2>"$tmp/err"
st=$?
if [ "$st" -eq 125 ] && grep -q "$tmp/bad.yaml:[0-9]*:[0-9]*: limits.memory" "$tmp/err"; then
	ok "bad config: 125 and file:line:col"
else
	not_ok "bad config: 125 and file:line:col" "status $st"
	show "$tmp/err"
fi
"$sbxrun" --config "$tmp/missing.yaml" -- /bin/true >/dev/null 2>"$tmp/err"
st=$?
if [ "$st" -eq 125 ]; then
	ok "missing config file: 125"
else
	not_ok "missing config file: 125" "status $st"
	show "$tmp/err"
fi
"$sbxrun" --platform no-such-platform -- /bin/true >/dev/null 2>"$tmp/err"
st=$?
if [ "$st" -eq 125 ] && grep -q "not found" "$tmp/err"; then
	ok "unknown platform: 125, not found"
else
	not_ok "unknown platform: 125, not found" "status $st"
	show "$tmp/err"
fi
"$sbxrun" --bogus-option >/dev/null 2>"$tmp/err"
st=$?
if [ "$st" -eq 125 ]; then
	ok "unknown option: 125"
else
	not_ok "unknown option: 125" "status $st"
fi
sbx /nonexistent/program
if [ "$st" -eq 127 ]; then
	ok "missing program: 127"
else
	not_ok "missing program: 127" "status $st"
	show "$tmp/sbx.err"
fi
sbx no-such-program-in-path
if [ "$st" -eq 127 ]; then
	ok "program not in PATH: 127"
else
	not_ok "program not in PATH: 127" "status $st"
fi
printf 'not a program\n' >"$tmp/plain"
chmod 644 "$tmp/plain"
sbx "$tmp/plain"
if [ "$st" -eq 126 ]; then
	ok "non-executable file: 126"
else
	not_ok "non-executable file: 126" "status $st"
	show "$tmp/sbx.err"
fi
sbx "$tmp"
if [ "$st" -eq 126 ]; then
	ok "directory: 126"
else
	not_ok "directory: 126" "status $st"
fi
printf '\177ELF garbage' >"$tmp/badelf"
chmod 755 "$tmp/badelf"
sbx "$tmp/badelf"
if [ "$st" -eq 126 ]; then
	ok "truncated ELF: 126"
else
	not_ok "truncated ELF: 126" "status $st"
	show "$tmp/sbx.err"
fi

# signals sent to sbxrun go to the sandbox's init: a trap runs; an
# unhandled SIGINT ends the sandbox with 128+2 (not ignored, as the
# pid-namespace rule would for a signal from inside)
# bg_sbx ARGV...: start ARGV in the sandbox in the background, wait for
# "ready" on its stdout (10 s at most); the pid in $bgpid
bg_sbx() {
	: >"$tmp/bg.out"
	"$sbxrun" --config "$config" $plat_opt -- "$@" </dev/null \
		>"$tmp/bg.out" 2>&1 &
	bgpid=$!
	i=0
	while ! grep -q ready "$tmp/bg.out" && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
bg_sbx $bb sh -c 'trap "echo got TERM; exit 3" TERM; echo ready; sleep 30 & wait'
kill -TERM "$bgpid"
wait "$bgpid"
st=$?
if [ "$st" -eq 3 ] && grep -q '^got TERM' "$tmp/bg.out"; then
	ok "SIGTERM to sbxrun reaches init's trap"
else
	not_ok "SIGTERM to sbxrun reaches init's trap" "status $st"
	show "$tmp/bg.out"
fi
bg_sbx $bb sh -c 'echo ready; exec sleep 30'
kill -INT "$bgpid"
wait "$bgpid"
st=$?
if [ "$st" -eq 130 ]; then
	ok "SIGINT to sbxrun ends an init that does not handle it: 130"
else
	not_ok "SIGINT to sbxrun ends an init that does not handle it: 130" "status $st"
	show "$tmp/bg.out"
fi

"$sbxrun" --list-plugins >"$tmp/out" 2>&1
st=$?
if [ "$st" -eq 0 ] && grep -q '^ptrace  *platform' "$tmp/out"; then
	ok "--list-plugins lists ptrace"
else
	not_ok "--list-plugins lists ptrace" "status $st"
	show "$tmp/out"
fi
"$sbxrun" --version >"$tmp/out" 2>&1
st=$?
if [ "$st" -eq 0 ] && grep -q '^sbxrun ' "$tmp/out"; then
	ok "--version"
else
	not_ok "--version" "status $st"
fi
"$sbxrun" --help >"$tmp/out" 2>&1
st=$?
if [ "$st" -eq 0 ] && grep -q '^Usage: sbxrun' "$tmp/out"; then
	ok "--help"
else
	not_ok "--help" "status $st"
fi

echo "1..$n"
exit $failed
