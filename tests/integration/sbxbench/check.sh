#!/bin/sh
# Integration test of sbxbench (TAP): a two-platform trial (ptrace and
# systrap when both are built, else ptrace twice: an A/A trial) plus
# native, --runs 2, of a small workload; checks that the table, CSV, JSON
# and SVG are well-formed (not the figures), then bad input and a short
# micro suite.  Usage: check.sh SBXBENCH (SBXRUN and SBXBENCH_MICRO_DIR in
# the environment, as meson sets them).
set -u
bench=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; sed 's/^/# /' "$tmp/err" 2>/dev/null | tail -20; }
check() { desc=$1; shift; if "$@" >>"$tmp/err" 2>&1; then ok "$desc"; else notok "$desc"; fi; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

echo "1..14"

platforms=ptrace,ptrace
if "$SBXRUN" --list-plugins | grep -q '^systrap  *platform'; then
	platforms=ptrace,systrap
fi
if [ -x /bin/busybox ]; then
	workload="/bin/busybox true"
else
	workload="$SBXBENCH_MICRO_DIR/true"
fi

# 1-2: the trial runs and prints a table with one column per platform
# shellcheck disable=SC2086
"$bench" --platforms "$platforms" --native --runs 2 --warmup 0 \
	--csv "$tmp/t.csv" --json "$tmp/t.json" --chart "$tmp/t.svg" \
	-- $workload >"$tmp/table" 2>"$tmp/err"
check "trial of $platforms + native exits 0" test $? -eq 0
check "table has a header and six rows of three cells" awk -v p="$platforms" '
	BEGIN { split(p, want, ",") }
	$1 == "benchmark" { head = ($3 == "native" && $4 == want[1]) }
	$1 ~ /^(wall|cpu_user|cpu_sys|cpu_sbx_core|cpu_app_stubs|peak_rss)$/ { rows++ }
	$1 == "wall" { cells = gsub(/\[[^]]*\]/, "&") }
	END { exit !(head && rows == 6 && cells == 3) }' "$tmp/table"

if ! command -v python3 >/dev/null 2>&1; then
	for what in CSV JSON SVG; do skip "$what well-formed" "no python3"; done
else
	# 3: CSV
	check "CSV well-formed: 18 rows of 14 fields, known statuses" python3 -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0][:6] == ["workload", "metric", "unit", "column", "kind", "status"], rows[0]
assert len(rows) == 1 + 6 * 3, len(rows)
for r in rows[1:]:
    assert len(r) == 14, r
    assert r[5] in ("ok", "n/a"), r
    if r[5] == "ok":
        float(r[7]); float(r[8]); float(r[9])
' "$tmp/t.csv"
	# 4: JSON
	check "JSON well-formed: columns, benchmarks, cells" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["tool"] == "sbxbench" and j["runs"] == 2
assert [c["kind"] for c in j["columns"]] == ["native", "platform", "platform"]
assert len(j["benchmarks"]) == 6
for b in j["benchmarks"]:
    assert len(b["cells"]) == 3
    for c in b["cells"]:
        assert c["status"] in ("ok", "n/a")
        if c["status"] == "ok":
            assert len(c["runs"]) == 2 and c["median"] is not None
' "$tmp/t.json"
	# 5: SVG
	check "SVG well-formed with bars" python3 -c '
import sys, xml.dom.minidom
d = xml.dom.minidom.parse(sys.argv[1])
assert d.documentElement.tagName == "svg"
assert len(d.getElementsByTagName("rect")) > 3
' "$tmp/t.svg"
fi

# 6-9: bad input
"$bench" --runs 0 -- /bin/true >/dev/null 2>"$tmp/err"
check "--runs 0 is refused with status 2" test $? -eq 2
"$bench" --platforms nosuch --native -- /bin/true >/dev/null 2>"$tmp/err"
st=$?
check "unknown platform: status 2, names the known ones" \
	sh -c "test $st -eq 2 && grep -q \"unknown platform 'nosuch' (known: .*ptrace\" '$tmp/err'"
"$bench" --native >/dev/null 2>"$tmp/err"
check "missing command: status 2" test $? -eq 2
"$bench" --platforms ptrace --native --runs 1 --warmup 0 --timeout 5 \
	-- "$SBXBENCH_MICRO_DIR/no-such-program" >"$tmp/table" 2>"$tmp/err"
st=$?
check "missing program: status 1, cells FAILED with exit status" \
	sh -c "test $st -eq 1 && grep -q FAILED '$tmp/table' && grep -q 'exit status 127' '$tmp/table'"

# 10: a failing workload is reported with its status and stderr, and the
# other cells still run
if [ -x /bin/busybox ]; then
	"$bench" --platforms ptrace --native --runs 1 --warmup 0 \
		-- /bin/busybox sh -c 'echo oops >&2; exit 3' >"$tmp/table" 2>"$tmp/err"
	st=$?
	check "failing workload: exit status and stderr tail reported" \
		sh -c "test $st -eq 1 && grep -q 'native: failed: exit status 3; stderr: oops' '$tmp/table'"
else
	skip "failing workload" "no /bin/busybox"
fi

# 11-14: the micro suite (one run): figures, skips with reasons, outputs.
# A config without a network plugin, so that something is missing (ptrace
# lacked threads, then networking, when this was first written).
printf 'platform:\n  plugin: ptrace\n' >"$tmp/nonet.yaml"
"$bench" --suite micro --platforms ptrace --native --runs 1 --warmup 0 \
	--config "$tmp/nonet.yaml" \
	--json "$tmp/m.json" --chart "$tmp/m.svg" >"$tmp/table" 2>"$tmp/err"
check "micro suite exits 0" test $? -eq 0
check "micro suite: getppid measured in both columns with a ratio" \
	grep -Eq '^getppid +ns +[0-9.]+ \[.*\] +[0-9.]+ \[.*\] [0-9.]+x' "$tmp/table"
# what the config lacks (networking: tcp_pingpong) shows up as a skip
# with the feature named
check "micro suite: a workload needing a missing feature is skipped with its reason" \
	grep -Eq '[a-z_0-9]+ on ptrace: skipped: needs [a-z]' "$tmp/table"
if command -v python3 >/dev/null 2>&1; then
	check "micro suite: JSON and SVG well-formed" python3 -c '
import json, sys, xml.dom.minidom
j = json.load(open(sys.argv[1]))
names = [b["metric"] for b in j["benchmarks"]]
assert "getppid" in names and "startup" in names, names
xml.dom.minidom.parse(sys.argv[2])
' "$tmp/m.json" "$tmp/m.svg"
else
	skip "micro suite: JSON and SVG well-formed" "no python3"
fi
exit $fail
