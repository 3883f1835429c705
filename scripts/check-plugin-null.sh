#!/bin/sh
# check-plugin-null.sh BUILD_DIR - build examples/plugin-null out of tree
# against a `meson install --destdir` copy of sbx, check that it exports
# only sbx_plugin_entry, and that BUILD_DIR/core/sbxrun loads it and stops
# with the null platform's message.  Prints TAP; exit status 1 on failure.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
sbxrun=$build/core/sbxrun

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sbx-plugin-null.XXXXXX")
cleanup() {
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

n=0
failed=0
ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1))
	failed=1
	echo "not ok $n - $1"
	if [ $# -gt 1 ] && [ -f "$2" ]; then
		sed 's/^/# /' "$2"
	fi
}
skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}
# check DESCRIPTION LOG CMD...: one TAP line for CMD, LOG shown on failure.
check() {
	desc=$1
	log=$2
	shift 2
	if "$@" >"$log" 2>&1; then
		ok "$desc"
	else
		not_ok "$desc" "$log"
	fi
}

echo "1..10"

# 1: install sbx into a scratch root, as a distribution package would.
dest=$tmp/dest
check "meson install --destdir" "$tmp/install.log" \
	meson install -C "$build" --destdir "$dest"

# 2: the installed sbx-plugin.pc (its path depends on prefix and libdir).
pc=$(find "$dest" -name sbx-plugin.pc 2>/dev/null | head -n 1)
if [ -n "$pc" ]; then
	ok "sbx-plugin.pc installed (${pc#"$dest"})"
else
	not_ok "sbx-plugin.pc installed"
fi

# 3, 4: configure and build the example against the installed copy only.
ex=$tmp/plugin-null
if [ -n "$pc" ] &&
	PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$dest \
	PKG_CONFIG_LIBDIR=$(dirname "$pc") \
	meson setup "$ex" "$src/examples/plugin-null" >"$tmp/setup.log" 2>&1
then
	ok "examples/plugin-null configures against sbx-plugin.pc"
else
	not_ok "examples/plugin-null configures against sbx-plugin.pc" \
		"$tmp/setup.log"
fi
check "examples/plugin-null builds" "$tmp/build.log" ninja -C "$ex"
so=$ex/null.so

# 5: the plugin exports exactly sbx_plugin_entry.
if [ -f "$so" ]; then
	syms=$(nm -D --defined-only "$so" | awk '{ print $NF }' | sort | tr '\n' ' ')
	if [ "$syms" = "sbx_plugin_entry " ]; then
		ok "null.so exports only sbx_plugin_entry"
	else
		not_ok "null.so exports only sbx_plugin_entry"
		echo "# exported: $syms"
	fi
else
	not_ok "null.so exports only sbx_plugin_entry"
	echo "# $so was not built"
fi

# 6: the manifest names a platform plugin with the .pc's platform ABI.
abi=$(PKG_CONFIG_PATH=$(dirname "${pc:-/nonexistent}") \
	pkg-config --variable=platform_abi sbx-plugin 2>/dev/null || true)
if [ -f "$ex/null.ini" ] && [ -n "$abi" ] &&
	grep -qx "kind = platform" "$ex/null.ini" &&
	grep -qx "abi = $abi" "$ex/null.ini"; then
	ok "null.ini: kind platform, abi $abi"
else
	not_ok "null.ini: kind platform, abi ${abi:-?}" "$ex/null.ini"
fi

# 7, 8: sbxrun loads the plugin by path and stops with status 125.
if [ ! -x "$sbxrun" ]; then
	skip "sbxrun --platform null.so exits 125" "no $sbxrun"
	skip "sbxrun prints the null platform's message" "no $sbxrun"
else
	status=0
	"$sbxrun" --platform "$so" -- /bin/true \
		>"$tmp/run.out" 2>"$tmp/run.err" || status=$?
	if [ "$status" -eq 125 ]; then
		ok "sbxrun --platform null.so exits 125"
	else
		not_ok "sbxrun --platform null.so exits 125 (got $status)" \
			"$tmp/run.err"
	fi
	if grep -q "cannot run programs" "$tmp/run.err"; then
		ok "sbxrun prints the null platform's message"
	else
		not_ok "sbxrun prints the null platform's message" \
			"$tmp/run.err"
	fi
fi

# 9, 10: --list-plugins reads manifests without complaint and finds null
# through SBX_PLUGIN_PATH.
if [ ! -x "$sbxrun" ]; then
	skip "sbxrun --list-plugins lists nothing broken" "no $sbxrun"
	skip "sbxrun --list-plugins finds null via SBX_PLUGIN_PATH" "no $sbxrun"
else
	status=0
	SBX_PLUGIN_PATH=$ex "$sbxrun" --list-plugins \
		>"$tmp/list.out" 2>"$tmp/list.err" || status=$?
	if [ "$status" -eq 0 ] && ! grep -qiE "warn|error" "$tmp/list.err"
	then
		ok "sbxrun --list-plugins lists nothing broken"
	else
		cat "$tmp/list.out" >>"$tmp/list.err"
		not_ok "sbxrun --list-plugins lists nothing broken (status $status)" \
			"$tmp/list.err"
	fi
	if grep -qw "null" "$tmp/list.out"; then
		ok "sbxrun --list-plugins finds null via SBX_PLUGIN_PATH"
	else
		not_ok "sbxrun --list-plugins finds null via SBX_PLUGIN_PATH" \
			"$tmp/list.out"
	fi
fi

exit "$failed"
