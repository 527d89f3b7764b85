#!/bin/sh
# Set up, build and run the whole test suite (make check).
#   ./test.sh              default build in ./build
#   ./test.sh --sanitize   ASan+UBSan build in ./build-asan
#   ./test.sh --distcheck  also run make distcheck
set -u
top=$(cd "$(dirname "$0")" && pwd)
cd "$top" || exit 1
. "$top/scripts/deps.sh"

bdir="$top/build"
cfg=""
distcheck=0
for a in "$@"; do
	case "$a" in
	--sanitize) bdir="$top/build-asan"; cfg="--with-sanitizer=address,undefined --enable-debug" ;;
	--distcheck) distcheck=1 ;;
	-h|--help) sed -n '2,5p' "$0"; exit 0 ;;
	*) echo "test.sh: unknown option $a" >&2; exit 2 ;;
	esac
done

kms_deps_install || { echo "test.sh: package installation failed" >&2; exit 1; }

echo "==> format check"
sh "$top/scripts/format-check.sh" "$top" || exit 1

echo "==> build ($bdir)"
# shellcheck disable=SC2086
kms_build "$bdir" --enable-werror $cfg || { echo "test.sh: build failed" >&2; exit 1; }

echo "==> make check"
status=0
make -C "$bdir" -s check -j"$(nproc)" || status=1

# Print every suite's summary, and the logs of failures.
for f in $(find "$bdir/tests" -name '*.log' ! -name 'test-suite.log' 2>/dev/null | sort); do
	grep -h -E '^(  Run Summary|    (suites|tests|asserts)|[a-z_-]+: [0-9]+ tests run|replay:|system:)' "$f" 2>/dev/null | sed "s|^|$(basename "$f" .log): |"
done
if [ $status -ne 0 ]; then
	find "$bdir" -name test-suite.log -exec cat {} \;
fi
if [ $status -eq 0 ] && [ $distcheck -eq 1 ]; then
	echo "==> make distcheck"
	make -C "$bdir" -s distcheck || status=1
fi
summary=$(grep -h -E '^# (PASS|FAIL|ERROR|XFAIL|SKIP|TOTAL)' "$bdir/test-suite.log" 2>/dev/null | tr '\n' ' ')
echo "==> summary: $summary"
p=$(grep -h '^# PASS:' "$bdir/test-suite.log" 2>/dev/null | awk '{print $3}')
f=$(grep -h -E '^# (FAIL|ERROR):' "$bdir/test-suite.log" 2>/dev/null | awk '{s+=$3} END {print s+0}')
echo "${p:-0} passed, ${f:-0} failed"
exit $status
