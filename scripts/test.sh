#!/bin/sh
# Set up and run the whole sbx test suite in a fresh build directory, then
# print one summary line: "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
build=${1:-build-test}
rm -rf "$build"
./scripts/setup.sh "$build" || { echo "0 passed, 1 failed"; exit 1; }
meson test -C "$build" --print-errorlogs
rc=$?
python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line).get("result")
    if r in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif r == "SKIP":
        skipped += 1
        print("skipped:", json.loads(line).get("name"))
    else:
        failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $rc
