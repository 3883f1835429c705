#!/bin/sh
# run-programs.sh SBXRUN CONFIG PROGRAM... - run each test program natively
# and under `SBXRUN --config CONFIG` with the same arguments, environment,
# cwd and stdin, and compare stdout and exit status; then once more under
# --strace, comparing the exit status only (strace must not change what
# happens).  PROGRAM is tests/programs/NAME.c built as NAME-glibc or
# NAME-musl; the cases for each NAME are listed below.  Prints TAP; exit
# status 1 on failure.
set -u

if [ $# -lt 3 ]; then
	echo "usage: $0 SBXRUN CONFIG PROGRAM..." >&2
	exit 2
fi
abspath() {
	case $1 in
	/*) echo "$1" ;;
	*) echo "$(pwd)/$1" ;;
	esac
}
sbxrun=$(abspath "$1")
# SBX_TEST_PLATFORM (set by meson, one test per platform) overrides the config
plat_opt=${SBX_TEST_PLATFORM:+--platform $SBX_TEST_PLATFORM}
config=$(abspath "$2")
shift 2

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sbx-programs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
# the segv cases must not leave core files (dash and bash have -c)
# shellcheck disable=SC3045
ulimit -c 0 2>/dev/null || :
umask 022   # the sandbox starts with 022 too

# the same sandbox with /var/tmp served by the gofer from a host directory
# (writable), for the programs whose files must also work on host files
mkdir "$tmp/vartmp"
sed "s|{ target: /var/tmp, type: tmpfs, size: 64M }|{ target: /var/tmp, type: gofer, source: $tmp/vartmp, readonly: false }|" \
	"$config" >"$tmp/gofer.yaml"
if ! grep -q "type: gofer" "$tmp/gofer.yaml"; then
	echo "Bail out! $config has no tmpfs /var/tmp line to replace"
	exit 1
fi

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
# show FILE: a file as TAP diagnostics, at most 40 lines
show() {
	head -n 40 "$1" | sed 's/^/#   /'
}

# native PROG ARGS...: run natively as the sandbox would; status in $st_n
native() {
	(cd / && exec env -i PATH=/usr/bin:/bin HOME=/ "$@") \
		</dev/null >"$tmp/native.out" 2>"$tmp/native.err"
	st_n=$?
}
# sandboxed [--strace] PROG ARGS...: status in $st_s
sandboxed() {
	if [ "$1" = --strace ]; then
		shift
		"$sbxrun" --strace --config "$config" $plat_opt -- "$@" \
			</dev/null >"$tmp/strace.out" 2>"$tmp/strace.err"
	else
		"$sbxrun" --config "$config" $plat_opt -- "$@" \
			</dev/null >"$tmp/sbx.out" 2>"$tmp/sbx.err"
	fi
	st_s=$?
}

# check DESC PROG ARGS...: one TAP line comparing stdout and status, and
# one for the same run under --strace
check() {
	desc=$1
	shift
	native "$@"
	sandboxed "$@"
	if [ "$st_n" -eq "$st_s" ] && cmp -s "$tmp/native.out" "$tmp/sbx.out"; then
		ok "$desc"
	else
		not_ok "$desc" "status native $st_n, sbx $st_s"
		diff -u "$tmp/native.out" "$tmp/sbx.out" >"$tmp/diff"
		show "$tmp/diff"
		echo "#   sbxrun stderr:"
		show "$tmp/sbx.err"
	fi
	sandboxed --strace "$@"
	if [ "$st_n" -eq "$st_s" ] && [ -s "$tmp/strace.err" ]; then
		ok "$desc (--strace, status $st_s)"
	else
		not_ok "$desc (--strace)" "status native $st_n, sbx --strace $st_s"
		tail -n 20 "$tmp/strace.err" | sed 's/^/#   /'
	fi
}

# check_pipe DESC BYTES PROG: PROG big BYTES | wc -c, natively and sandboxed
check_pipe() {
	desc=$1
	bytes=$2
	prog=$3
	a=$("$prog" big "$bytes" </dev/null | wc -c)
	b=$("$sbxrun" --config "$config" $plat_opt -- "$prog" big "$bytes" \
		</dev/null 2>"$tmp/sbx.err" | wc -c)
	if [ "$a" -eq "$bytes" ] && [ "$b" -eq "$bytes" ]; then
		ok "$desc"
	else
		not_ok "$desc" "native wrote $a, sbx wrote $b of $bytes bytes"
		show "$tmp/sbx.err"
	fi
}

cases() {
	p=$1
	name=$(basename "$p")
	base=${name%-glibc}
	base=${base%-musl}
	case $base in
	hello)
		check "$name" "$p"
		check "$name a b" "$p" a b
		;;
	args_env_auxv)
		check "$name" "$p" one "two words" "" "-x"
		;;
	exit_codes)
		for m in "exit 0" "exit 1" "exit 42" "exit 255" "exit 256" \
			"_exit 3" "group 7" "thread 9" "return 5"; do
			# shellcheck disable=SC2086
			check "$name $m" "$p" $m
		done
		;;
	segv)
		for m in null rodata unmapped ud2 int3 div0; do
			check "$name $m" "$p" "$m"
		done
		;;
	misc)
		check "$name" "$p"
		check_pipe "$name big 1 MiB | wc -c" 1048576 "$p"
		check_pipe "$name big 5000001 | wc -c" 5000001 "$p"
		;;
	memory | badargs | time | fs | proc | timers | ids | forkmem | \
	rtsig | shm | fileops | procfs | rusage | evfd | pidfd | net | \
	sysvipc | vfork | seccomp)
		check "$name" "$p"
		;;
	fifo | locks)
		check "$name" "$p"
		# again with /var/tmp on the gofer (FIFO nodes made by the
		# gofer, lock identities from host files)
		tmpfs_config=$config
		config=$tmp/gofer.yaml
		check "$name (gofer /var/tmp)" "$p"
		config=$tmpfs_config
		;;
	filemap)
		check "$name" "$p"
		# with host files that can be written: /var/tmp on the gofer
		tmpfs_config=$config
		config=$tmp/gofer.yaml
		check "$name (gofer /var/tmp)" "$p" /var/tmp
		config=$tmpfs_config
		;;
	*)
		not_ok "$name" "no cases for program $base"
		;;
	esac
}

if [ ! -x "$sbxrun" ]; then
	echo "1..0 # SKIP $sbxrun not built"
	exit 0
fi
for p in "$@"; do
	cases "$(abspath "$p")"
done
echo "1..$n"
exit $failed
