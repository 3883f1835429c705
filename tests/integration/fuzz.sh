#!/bin/sh
# Syscall fuzzing (TAP): tests/fuzz/syscall_fuzz.c makes random system
# calls with hostile arguments inside the sandbox (never natively), in
# forked batches; the sbx core must survive every one of them: sbxrun
# exits 0 with the program's "survived" line, whatever the batches did
# to themselves.  Usage: fuzz.sh SBXRUN CONFIG PROG; SBX_TEST_PLATFORM
# picks the platform.
set -u
sbxrun=$(realpath "$1") config=$(realpath "$2") prog=$(realpath "$3")
plat_opt=${SBX_TEST_PLATFORM:+--platform $SBX_TEST_PLATFORM}
seeds="1 2 3 4"
echo "1..4"
n=0
for seed in $seeds; do
	n=$((n + 1))
	# shellcheck disable=SC2086
	out=$(cd / && timeout 120 "$sbxrun" --config "$config" $plat_opt -- \
		"$prog" "$seed" 12 400 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && echo "$out" | grep -q '^survived'; then
		echo "ok $n - seed $seed: $(echo "$out" | grep '^survived')"
	else
		echo "not ok $n - seed $seed: sbxrun exit $rc"
		echo "$out" | tail -5 | sed 's/^/#   /'
	fi
done
