#!/bin/sh
# Build sbx if needed and run the demo sandbox: the built-in default config
# (systrap platform, busybox echo), first plainly, then with --strace so you
# can see every system call the sbx core implemented for the program.
set -eu
cd "$(dirname "$0")/.."
./scripts/setup.sh build
echo
echo '$ build/core/sbxrun'
build/core/sbxrun
echo
echo '$ build/core/sbxrun --strace -- /bin/busybox uname -a'
build/core/sbxrun --strace -- /bin/busybox uname -a
echo
echo '$ build/core/sbxrun -- /bin/sh -c "ls / | head -3; echo \$((6*7))"'
build/core/sbxrun -- /bin/sh -c 'ls / | head -3; echo $((6*7))'
echo
echo '$ build/core/sbxrun --list-plugins'
build/core/sbxrun --list-plugins
