#!/bin/sh
# Install sbx's build dependencies (Debian 12, as root) and build it into
# BUILD_DIR (default: build).  Safe to run again: it reuses what exists.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
pkgs="meson ninja-build pkg-config gcc libc6-dev libseccomp-dev libyaml-dev \
libinih-dev check busybox-static musl-tools binutils python3"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "setup: installing$missing"
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: run as root (or install:$missing)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" >/dev/null
fi
ninja -C "$build" >/dev/null
echo "setup: built sbx in $build"
