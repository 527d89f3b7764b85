#!/bin/sh
# Stress the unit tests that talk to real sockets: run test_zk, test_naf,
# test_http_client and test_listener of an existing build (or the ones named
# in $STRESS_TESTS) many times, several at once, and count failures.
# Not part of ./test.sh or make check.  It builds nothing: first run
#   ./test.sh --sanitize            (or: make -C build-asan check)
# then
#   tests/stress.sh [BUILD_DIR [RUNS [JOBS]]]
# BUILD_DIR defaults to ./build-asan, RUNS (per test) to 50, JOBS (runs at
# once) to 4 x nproc.  Prints pass/fail counts per test and the logs of the
# first failures; exits 1 if any run failed, 2 on a usage error.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
bdir=${1:-$top/build-asan}
runs=${2:-50}
ncpu=$(nproc 2>/dev/null || echo 1)
jobs=${3:-$((4 * ncpu))}
tests=${STRESS_TESTS:-test_zk test_naf test_http_client test_listener}

case "$runs$jobs" in
*[!0-9]*)
	echo "usage: $0 [BUILD_DIR [RUNS [JOBS]]]" >&2
	exit 2
	;;
esac
if [ "$runs" -eq 0 ] || [ "$jobs" -eq 0 ]; then
	echo "$0: RUNS and JOBS must be positive" >&2
	exit 2
fi
for t in $tests; do
	if [ ! -x "$bdir/tests/unit/$t" ]; then
		echo "$0: no $bdir/tests/unit/$t (build it first)" >&2
		exit 2
	fi
done

out=$(mktemp -d "${TMPDIR:-/tmp}/kms-stress.XXXXXX") || exit 2
trap 'rm -rf "$out"' EXIT
trap 'exit 130' INT TERM

# The runs, interleaved, through a pool of $jobs: each leaves its log and
# exit status in $out/<test>.<n>.{log,rc}.  The tests find
# tests/zk-certs.sh through the path compiled into them.
# shellcheck disable=SC2016 # expanded by the inner sh: $0 = build dir,
# $1 = output dir, $2 = test, $3 = run number
one='cd "$0" && "tests/unit/$2" >"$1/$2.$3.log" 2>&1; echo $? >"$1/$2.$3.rc"'
echo "==> $runs runs each of: $tests ($bdir), $jobs at a time"
start=$(date +%s)
n=1
while [ "$n" -le "$runs" ]; do
	for t in $tests; do
		echo "$t $n"
	done
	n=$((n + 1))
done | xargs -n 2 -P "$jobs" sh -c "$one" "$bdir" "$out"

failed=0
for t in $tests; do
	pass=0
	fail=0
	n=1
	while [ "$n" -le "$runs" ]; do
		if [ "$(cat "$out/$t.$n.rc" 2>/dev/null)" = 0 ]; then
			pass=$((pass + 1))
		else
			fail=$((fail + 1))
			awk '/^  Test: /{t=$2} /FAILED/ && !/tests run/ && t!="" {print t; t=""}' \
				"$out/$t.$n.log" >>"$out/cases"
			if [ "$fail" -le 3 ]; then
				echo "--- $t run $n failed (exit $(cat "$out/$t.$n.rc" 2>/dev/null)):"
				grep -E "FAILED|^ +[0-9]+\. |ERROR|Sanitizer" "$out/$t.$n.log" |
					head -n 20 | grep . || tail -n 20 "$out/$t.$n.log"
			fi
		fi
		n=$((n + 1))
	done
	echo "$t: $pass passed, $fail failed"
	failed=$((failed + fail))
done
if [ -s "$out/cases" ]; then
	echo "failing test cases (runs):"
	sort "$out/cases" | uniq -c | sort -rn
fi
echo "==> $(($(date +%s) - start)) s; $failed failed runs"
[ "$failed" -eq 0 ]
