#!/bin/sh
# Threads (TAP): tests/programs/threads.c natively and in the sandbox, per
# platform (SBX_TEST_PLATFORM).  Every in-tree platform runs threads, so
# any difference from native (an ENOSYS from clone included) fails.
# Usage: threads.sh SBXRUN CONFIG PROG...
set -u
sbxrun=$1 config=$2
shift 2
plat_opt=${SBX_TEST_PLATFORM:+--platform $SBX_TEST_PLATFORM}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "1..$#"
n=0
for prog in "$@"; do
	n=$((n + 1))
	prog=$(realpath "$prog")
	name=$(basename "$prog")
	(cd / && "$prog") >"$tmp/native" 2>&1
	a=$?
	# shellcheck disable=SC2086
	"$sbxrun" --config "$config" $plat_opt -- "$prog" >"$tmp/sbx" 2>&1
	b=$?
	# every in-tree platform runs threads: no skip (a failing
	# pthread_create is a failure)
	if [ $a -eq $b ] && cmp -s "$tmp/native" "$tmp/sbx"; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name # status native $a, sbx $b"
		diff "$tmp/native" "$tmp/sbx" | head -20 | sed 's/^/#   /'
	fi
done
