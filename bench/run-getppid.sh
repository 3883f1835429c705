#!/bin/sh
# run-getppid.sh BUILD_DIR [N [R]] - run bench/getppid natively and under
# sbxrun (ptrace platform), interleaved, 5 runs each, and print the median
# ns per getppid of each side and their ratio.  N and R go to the program
# (calls per round, rounds per run).
set -eu

if [ $# -lt 1 ]; then
	echo "usage: $0 BUILD_DIR [N [R]]" >&2
	exit 2
fi
build=$(cd "$1" && pwd)
shift
prog=$build/bench/getppid
sbxrun=$build/core/sbxrun
runs=5

for f in "$prog" "$sbxrun"; do
	if [ ! -x "$f" ]; then
		echo "$0: $f not built (ninja -C $build)" >&2
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sbx-getppid.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# value CMD...: the figure of one run
value() {
	"$@" | awk '$1 == "getppid_ns" { print $2 }'
}

i=0
while [ $i -lt $runs ]; do
	value "$prog" "$@" >>"$tmp/native"
	value "$sbxrun" --platform ptrace -- "$prog" "$@" >>"$tmp/ptrace"
	i=$((i + 1))
done

median() {
	sort -g "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
n=$(median "$tmp/native")
p=$(median "$tmp/ptrace")
printf '%-10s %12s %s\n' "platform" "getppid ns" "runs (ns)"
printf '%-10s %12s %s\n' "native" "$n" "$(tr '\n' ' ' <"$tmp/native")"
printf '%-10s %12s %s\n' "ptrace" "$p" "$(tr '\n' ' ' <"$tmp/ptrace")"
awk -v n="$n" -v p="$p" 'BEGIN { printf "ratio      %12.1fx (ptrace / native)\n", p / n }'
