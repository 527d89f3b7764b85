#!/bin/sh
# Run libFuzzer harnesses for SECONDS each, one after another, and print,
# per harness, the executions and the findings (crash/leak/timeout files).
# Not part of make check (make check replays the checked-in corpora).
# Harnesses (tests/fuzz/fuzz_*.c, corpus tests/fuzz/corpus/NAME):
#   mikey          MIKEY message codec (mikey/)
#   digest         HTTP Digest header (gba/digest.c)
#   identity       identities and wildcard group patterns (policy/identity.c)
#   zn             Zn answer reader (kms/naf_zn.c)
#   guss           GUSS XML of the GBA-UserSecSettings AVP (gba/guss.c)
#   config         kmsd.conf loader (kms/config.c, libconfig)
#   ticket         ticket opener, every Ticket Type (kms/ticket*.c, mikey/)
#   ticket_sealed  the same, its input sealed with the test key first, so
#                  mutations reach the decoders behind the MAC and tag
#   http           Ua/Zk routing decision (kms/http_frame.c, net/frame.c)
#   sdp            kms-ue call: SDP and SIP parsers (tools/ue_sdp.c, ue_sip.c)
# Build first:
#   mkdir build-fuzz && cd build-fuzz && CC=clang ../configure --with-fuzzer \
#     --with-sanitizer=address,undefined --disable-werror && make
# Usage: tests/fuzz/run.sh [SECONDS [BUILD_DIR [NAME...]]]
#   (defaults: 60, ./build-fuzz, every harness built)
# New inputs go to a scratch directory, never into tests/fuzz/corpus; the
# findings are kept under it and named in the output.  Exits 1 on a finding.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
bdir=${2:-$top/build-fuzz}
case $secs in *[!0-9]* | "") echo "usage: $0 [SECONDS [BUILD_DIR [NAME...]]]" >&2; exit 2 ;; esac
[ $# -gt 2 ] && shift 2 || set --
# Known leaks outside this tree (see the file).
LSAN_OPTIONS="suppressions=$top/tests/fuzz/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
out=$(mktemp -d "${TMPDIR:-/tmp}/kms-fuzz.XXXXXX") || exit 2
found=0
ran=0
if [ $# -eq 0 ]; then
	set -- $(for h in "$bdir"/tests/fuzz/fuzz_*; do
		[ -x "$h" ] && basename "$h" | sed 's/^fuzz_//'
	done)
fi
for name in "$@"; do
	h="$bdir/tests/fuzz/fuzz_$name"
	[ -x "$h" ] || { echo "$0: no harness $h (build it first)" >&2; exit 2; }
	seeds="$top/tests/fuzz/corpus/$name"
	mkdir -p "$out/$name/corpus" "$out/$name/findings"
	# libconfig 1.5 leaks on some parse errors (lsan.supp): with leak
	# detection on, libFuzzer then runs a full leak scan after each such
	# input, 20x slower.  The config loader's own frees are checked by the
	# ASan unit tests (test_config) instead.
	leaks=1
	[ "$name" = config ] && leaks=0
	"$h" -max_total_time="$secs" -print_final_stats=1 -detect_leaks=$leaks \
		-artifact_prefix="$out/$name/findings/" "$out/$name/corpus" "$seeds" \
		>"$out/$name/log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$name/log")
	n=$(find "$out/$name/findings" -type f | wc -l)
	printf '%-14s %12s execs in %ss, %s finding(s), exit %s\n' "$name" "${execs:-?}" \
		"$secs" "$n" "$rc"
	ran=$((ran + 1))
	if [ "$n" -gt 0 ] || [ $rc -ne 0 ]; then
		found=1
		echo "  findings and log: $out/$name"
	fi
done
[ $ran -gt 0 ] || { echo "$0: no harness in $bdir/tests/fuzz (build it first)" >&2; exit 2; }
[ $found -eq 0 ] && rm -rf "$out"
exit $found
