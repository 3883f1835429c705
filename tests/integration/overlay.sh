#!/bin/sh
# overlay.sh SBXRUN - the overlay root (filesystem.root.overlay: memory)
# over a scratch host directory made here: a static busybox plus a small
# tree.  A shell script creates, modifies, deletes and renames files of
# the lower tree, makes and removes directories (mv of a lower directory
# falls back to copying: EXDEV), lists and hashes; its output must equal
# the same script run natively on a copy of the tree.  Then: a second
# sandbox sees the original tree again, a small overlay_size gives ENOSPC
# without damaging the view, and the host tree is byte-for-byte and
# metadata-for-metadata what it was before (names, types, modes, owners,
# sizes, mtimes, ctimes, link targets, SHA-256 of every file).  The config
# says readonly: false on purpose: with overlay: memory that must still
# never reach the host.  Prints TAP.
set -u
sbxrun=$1
plat_opt=${SBX_TEST_PLATFORM:+--platform $SBX_TEST_PLATFORM}
bb=/bin/busybox
n=0
ok() { n=$((n + 1)); printf "ok %s - %s\n" "$n" "$1"; }
not_ok() { n=$((n + 1)); printf "not ok %s - %s\n" "$n" "$1"; }

if [ ! -x "$sbxrun" ] || ! file -L "$bb" 2>/dev/null | grep -q static; then
	echo "1..0 # SKIP needs sbxrun and a static $bb"
	exit 0
fi
top=$(mktemp -d "${TMPDIR:-/tmp}/sbx-overlay.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$top"' EXIT
root=$top/root
mkdir -p "$root/bin" "$root/data/dir/sub" "$root/data/rmtree/a/b" \
	"$root/data/empty"
cp "$bb" "$root/bin/busybox"
for a in sh ls cat echo rm mv mkdir rmdir sha256sum find sort ln chmod \
	touch stat xargs dd head cp wc; do
	ln -s busybox "$root/bin/$a"
done
d=$root/data
echo keep >"$d/keep.txt"
echo original >"$d/modify.txt"
echo doomed >"$d/delete.txt"
echo moving >"$d/rename-me.txt"
echo mode >"$d/mode.txt"
echo times >"$d/times.txt"
echo a >"$d/dir/a"
echo b >"$d/dir/b"
echo c >"$d/dir/sub/c"
echo deep >"$d/rmtree/a/b/deep"
ln -s keep.txt "$d/link"
head -c 8388608 /dev/urandom >"$d/big.bin"
chmod 0640 "$d/mode.txt"

# snapshot ROOT: everything stat says (but atime) and every file's hash
snapshot() {
	(cd "$1" && find . -printf '%p %y %m %U %G %s %T@ %C@ %l\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}
snapshot "$root" >"$top/before"
cp -a "$root" "$top/native"

cat >"$top/sandbox.yaml" <<EOC
platform: { plugin: systrap }
filesystem:
  root: { source: $root, readonly: false, overlay: memory }
process:
  argv: [/bin/sh]
  env: [PATH=/bin]
  cwd: /
log: { level: error }
EOC
sed "s|^  root: .*|  root: { source: $root, readonly: false, overlay: memory, overlay_size: 1M }|" \
	"$top/sandbox.yaml" >"$top/small.yaml"

"$sbxrun" --config "$top/sandbox.yaml" $plat_opt -- /bin/busybox true \
	>"$top/probe" 2>&1
if [ $? -eq 125 ]; then
	echo "1..0 # SKIP the platform does not start here: $(head -n 1 "$top/probe")"
	exit 0
fi
echo "1..8"

# The workload, run in the sandbox (on /data) and natively (on the copy).
cat >"$top/work.sh" <<'EOS'
set -e
cd "$1"
echo appended >>modify.txt
rm delete.txt
mv rename-me.txt renamed.txt
mkdir newdir
echo new >newdir/file
rmdir empty
rm -r rmtree
mv dir moved
chmod 600 mode.txt
touch -t 200102030405.06 times.txt
ln mode.txt hard.txt
echo tail >>big.bin
rm link
ln -s renamed.txt link
mkdir empty
echo again >empty/x
rmdir moved 2>&1 || true
echo "== find"
find . | sort
echo "== stat"
find . -type f -exec stat -c '%n %s %a %h' {} + | sort
find . -type l -exec stat -c '%n %N' {} + | sort
stat -c '%n %Y' times.txt
echo "== ls"
ls -a . moved empty
echo "== sha256"
find . -type f | sort | xargs sha256sum
echo "== cat"
cat modify.txt renamed.txt newdir/file link empty/x
EOS

# 1: the view in the sandbox equals the native run on a copy
(cd "$top/native/data" &&
	PATH=$top/native/bin busybox sh "$top/work.sh" "$top/native/data") \
	>"$top/expect" 2>&1
"$sbxrun" --config "$top/sandbox.yaml" $plat_opt -- /bin/sh -c "$(cat "$top/work.sh")" \
	sh /data >"$top/got" 2>&1
if cmp -s "$top/expect" "$top/got" && grep -q "== cat" "$top/got"; then
	ok "create, modify, delete, rename, mkdir/rmdir, mv of a lower dir: same as native"
else
	not_ok "the sandbox's view differs from native"
	diff "$top/expect" "$top/got" | head -30 | sed 's/^/#   /'
fi

# 2: the host tree did not change
snapshot "$root" >"$top/after"
if cmp -s "$top/before" "$top/after"; then
	ok "the host tree is unchanged (listing, metadata, hashes)"
else
	not_ok "the host tree changed"
	diff "$top/before" "$top/after" | head -20 | sed 's/^/#   /'
fi

# 3: changes live in one sandbox's memory: the next one sees the original
out=$("$sbxrun" --config "$top/sandbox.yaml" $plat_opt -- /bin/sh -c \
	'cat /data/modify.txt; ls /data; sha256sum /data/big.bin' 2>&1)
exp=$(cat "$d/modify.txt"; (cd "$d" && ls); (cd / && sha256sum "$d/big.bin" |
	sed "s|$d|/data|"))
if [ "$out" = "$exp" ]; then
	ok "a new sandbox sees the original tree"
else
	not_ok "a new sandbox sees: $(echo "$out" | head -5)"
fi

# 4: the host files read by the sandbox are the real ones (no copy), and
# a file is readable after another process copied it up
out=$("$sbxrun" --config "$top/sandbox.yaml" $plat_opt -- /bin/sh -c \
	'exec 3</data/keep.txt; echo more >>/data/keep.txt; cat <&3; cat /data/keep.txt' 2>&1)
if [ "$out" = "$(printf 'keep\nkeep\nmore')" ]; then
	ok "open-before-copy-up keeps reading the lower file; the copy has the write"
else
	not_ok "open across copy-up: $(echo "$out" | head -3)"
fi

# 5: stat and statfs: one device, the overlay's magic
out=$("$sbxrun" --config "$top/sandbox.yaml" $plat_opt -- /bin/sh -c \
	'stat -c %d / /data /data/keep.txt /bin/busybox | sort -u | wc -l;
	 stat -f -c %t /; echo x >>/data/keep.txt; stat -c %d /data/keep.txt /' 2>&1)
if [ "$(echo "$out" | head -2)" = "$(printf '1\n794c7630')" ] &&
	[ "$(echo "$out" | tail -2 | sort -u | wc -l)" = 1 ]; then
	ok "st_dev is the overlay's for lower, upper and directories; statfs says overlay"
else
	not_ok "stat/statfs: $(echo "$out" | tr '\n' ' ')"
fi

# 6: ENOSPC from overlay_size, and the lower file is still whole after a
# copy-up that did not fit
out=$("$sbxrun" --config "$top/small.yaml" $plat_opt -- /bin/sh -c \
	'dd if=/dev/zero of=/data/fill bs=65536 count=64 2>&1 | head -1
	 echo x >>/data/big.bin
	 rm /data/fill; sha256sum /data/big.bin' 2>&1)
sum=$(sha256sum <"$d/big.bin" | cut -d' ' -f1)
if echo "$out" | grep -q "No space left on device" &&
	echo "$out" | tail -1 | grep -q "^$sum "; then
	ok "overlay_size: ENOSPC, and a copy-up that does not fit leaves the lower file"
else
	not_ok "ENOSPC: $(echo "$out" | tr '\n' ' ')"
fi

# 7: overlay: none with readonly: true is still a read-only root
sed "s|^  root: .*|  root: { source: $root, readonly: true, overlay: none }|" \
	"$top/sandbox.yaml" >"$top/ro.yaml"
out=$("$sbxrun" --config "$top/ro.yaml" $plat_opt -- /bin/sh -c \
	'echo x >>/data/keep.txt; mkdir /data/nd; rm /data/keep.txt' 2>&1)
if [ "$(echo "$out" | grep -c "Read-only file system")" = 3 ]; then
	ok "overlay: none + readonly: true gives EROFS"
else
	not_ok "read-only root: $(echo "$out" | tr '\n' ' ')"
fi

# 8: and after all of that the host tree is still unchanged
snapshot "$root" >"$top/after"
if cmp -s "$top/before" "$top/after"; then
	ok "the host tree is still unchanged"
else
	not_ok "the host tree changed"
	diff "$top/before" "$top/after" | head -20 | sed 's/^/#   /'
fi
