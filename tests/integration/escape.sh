#!/bin/sh
# escape.sh SBXRUN - file-system escape attempts from inside a sandbox
# whose root is a scratch directory holding only a static busybox, with a
# secret file next to it on the host (outside the root).  Each attempt
# must fail the way Linux would for the sandbox's view, and the secret's
# content must never appear in the output.  Prints TAP.
set -u
sbxrun=$1
plat_opt=${SBX_TEST_PLATFORM:+--platform $SBX_TEST_PLATFORM}
bb=/bin/busybox
n=0
failed=0
ok() { n=$((n + 1)); printf "ok %s - %s\n" "$n" "$1"; }
not_ok() { n=$((n + 1)); failed=1; printf "not ok %s - %s\n" "$n" "$1"; }

if [ ! -x "$sbxrun" ] || ! file -L "$bb" 2>/dev/null | grep -q static; then
	echo "1..0 # SKIP needs sbxrun and a static $bb"
	exit 0
fi
top=$(mktemp -d "${TMPDIR:-/tmp}/sbx-escape.XXXXXX")
trap 'rm -rf "$top"' EXIT
mkdir -p "$top/root/bin" "$top/root/data"
echo busybox-ok >"$top/root/data/file"
cp "$bb" "$top/root/bin/busybox"
secret="sbx-secret-$$-$(date +%s)"
echo "$secret" >"$top/secret"
echo "$secret" >"$top/outside-data"
ln -s ../../secret "$top/root/rel-out"
ln -s "$top/secret" "$top/root/abs-out"
ln -s ../outside-data "$top/root/data/up"
cat >"$top/sandbox.yaml" <<EOC
platform: { plugin: systrap }
filesystem:
  root: { source: $top/root, readonly: true, overlay: none }
process:
  argv: [/bin/busybox, true]
  env: [PATH=/bin]
  cwd: /
log: { level: error }
EOC

"$sbxrun" --config "$top/sandbox.yaml" $plat_opt -- /bin/busybox true \
	>"$top/probe" 2>&1
if [ $? -eq 125 ]; then
	echo "1..0 # SKIP the platform does not start here: $(head -n 1 "$top/probe")"
	exit 0
fi

# try DESC EXPECT ARGS...: run busybox ARGS; stderr must contain EXPECT
try() {
	desc=$1
	expect=$2
	shift 2
	out=$("$sbxrun" --config "$top/sandbox.yaml" $plat_opt -- /bin/busybox "$@" 2>&1)
	if printf '%s' "$out" | grep -q "$secret"; then
		not_ok "$desc: the secret was read"
	elif printf '%s' "$out" | grep -q "$expect"; then
		ok "$desc"
	else
		not_ok "$desc: expected '$expect', got: $(printf '%s' "$out" | head -n 3)"
	fi
}

# try_exact DESC OUT ARGS...: busybox ARGS must print exactly OUT
try_exact() {
	desc=$1
	want=$2
	shift 2
	out=$("$sbxrun" --config "$top/sandbox.yaml" $plat_opt -- /bin/busybox "$@" 2>&1)
	if [ "$out" = "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc: expected '$want', got: $(printf '%s' "$out" | head -n 3)"
	fi
}
# try_hidden DESC ARGS...: the output names nothing of the host's paths
try_hidden() {
	desc=$1
	shift
	out=$("$sbxrun" --config "$top/sandbox.yaml" $plat_opt -- /bin/busybox "$@" 2>&1)
	if printf '%s' "$out" | grep -q "$top"; then
		not_ok "$desc: a host path was shown: $(printf '%s' "$out" | grep "$top" | head -n 1)"
	else
		ok "$desc"
	fi
}

try "dotdot past the root" "No such file" cat /../../../../secret
try "dotdot from a subdirectory" "No such file" cat /data/../../secret
try "relative symlink out of the root" "No such file" cat /rel-out
try "absolute symlink to a host path" "No such file" cat /abs-out
try "symlink out of a directory" "No such file" cat /data/up
try "host path by name" "No such file" cat "$top/secret"
try "/proc/self/root is not the host's" "No such file" cat /proc/self/root/secret
# /proc: magic links jump to sandbox objects and ".." past them stays in
# the root; no link or file shows a host path
try "/proc/self/root/.. stays at the root" "No such file" cat /proc/self/root/../secret
try "/proc/self/cwd/../.. from a subdirectory" "No such file" \
	sh -c 'cd /data && cat /proc/self/cwd/../../secret'
try "/proc/self/fd/N/../.. of a gofer directory fd" "No such file" \
	sh -c 'exec 3</data; cat /proc/self/fd/3/../../secret'
try "/proc/self/fd/N of a gofer file is not a directory" "Not a directory" \
	sh -c 'exec 3</bin/busybox; cat /proc/self/fd/3/../secret'
try "/proc/1/root from a child" "No such file" sh -c 'cat /proc/1/root/../../secret'
try_exact "readlink of a gofer directory fd" "/data" \
	sh -c 'exec 3</data; readlink /proc/self/fd/3'
try_exact "readlink /proc/self/root" "/" readlink /proc/self/root
try_exact "readlink /proc/self/exe" "/bin/busybox" readlink /proc/self/exe
try_exact "/proc/self is a sandbox pid" "1" readlink /proc/self
try_exact "a gofer file reopened through /proc/self/fd" "busybox-ok" \
	sh -c 'exec 3</data/file; cat /proc/self/fd/3'
try_hidden "mounts and mountinfo name no host path" \
	cat /proc/self/mounts /proc/self/mountinfo /proc/self/maps
try_hidden "fd links name no host path" sh -c 'ls -l /proc/self/fd/'
try "write to a read-only root" "Read-only file system" touch /newfile
try "mkdir on a read-only root" "Read-only file system" mkdir /newdir
try "host /etc is not visible" "No such file" cat /etc/hostname
if [ -e "$top/root/newfile" ] || [ -e "$top/root/newdir" ]; then
	not_ok "the host root was changed"
else
	ok "the host root was not changed"
fi
echo "1..$n"
exit $failed
