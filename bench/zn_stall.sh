#!/bin/sh
# Cached-key latency while the BSF is stopped (not a test): kmsd with GBA,
# Alice's key cached; the max rate of her ticketrequests; then bsf-stubd is
# stopped (SIGSTOP: its connections accepted, never answered) and Zn
# misses (three unknown B-TIDs, one request a second each) wait for the
# Zn timeout while Alice's requests run at half the max rate: their p50
# and p99.  kmsd runs with ua.threads = the bench's server threads (1 when
# pinned), so every cached-key request shares its worker with the misses.
# Usage: bench/zn_stall.sh [SECONDS]   (default 20, the half-rate run)
#        KMS_BUILD=DIR: the build to measure (default ./build), e.g. another
#        branch's, for a before/after pair.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B=${KMS_BUILD:-$top/build}
secs=${1:-20}
for p in "$B/kms/kmsd" "$B/tools/kmsctl" "$B/tools/kms-ue" "$B/bench/loadgen" \
	"$B/bsf-stub/bsf-stubd"; do
	[ -x "$p" ] || { echo "bench/zn_stall.sh: $p missing: build first" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kms_bench.XXXXXX")
kpid=""
fpid=""
mpids=""
cleanup() {
	for p in $mpids; do kill "$p" 2>/dev/null || true; done
	[ -n "$fpid" ] && kill -CONT "$fpid" 2>/dev/null || true
	[ -n "$kpid" ] && kill "$kpid" 2>/dev/null || true
	[ -n "$fpid" ] && kill "$fpid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
. "$top/bench/lib.sh"
kport=$(free_port)
fport=$(free_port)
"$B/tools/kmsctl" -d "$tmp/s" init --demo >/dev/null
"$B/bsf-stub/bsf-stubd" -d "$tmp/bsf" --init --demo >/dev/null
$srv "$B/bsf-stub/bsf-stubd" -d "$tmp/bsf" -p "$fport" >"$tmp/bsf.log" 2>&1 &
fpid=$!
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $kport; threads = $srv_threads; };
kms = { state_dir = "$tmp/s"; psk_source = "gba"; };
naf = { enabled = true; bsf_url = "http://127.0.0.1:$fport/zn"; timeout_ms = 2000;
        retries = 0; };
policy = { replay_entries = 4194304; };
log = { level = "notice"; };
CONF
$srv "$B/kms/kmsd" $root_flag -c "$tmp/kmsd.conf" >"$tmp/kmsd.log" 2>&1 &
kpid=$!
i=0
until curl -s "http://127.0.0.1:$kport/readyz" >/dev/null 2>&1 &&
	curl -s "http://127.0.0.1:$fport/healthz" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -le 100 ] || { echo "kmsd or bsf-stubd did not start" >&2; exit 1; }
	sleep 0.1
done
"$B/tools/kms-ue" bootstrap --usim "$tmp/bsf/demo-alice.usim" \
	--bsf "http://127.0.0.1:$fport/ub" --naf-fqdn kms.example.org --out "$tmp/alice.gba" \
	>/dev/null
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
lg() { $cli "$B/bench/loadgen" -s "$tmp/s" -c 4 "$@" 2>"$tmp/lg.err" | head -n 1; }

max=$(field "$(lg -p "$kport" -m request -g "$tmp/alice.gba" -n 100000 -d 20)" rps)
half=$((max / 2))
# BSF stopped; three streams of misses, one unknown B-TID each.
kill -STOP "$fpid"
for k in 1 2 3; do
	b="$(head -c 16 /dev/urandom | base64)@bsf.example.org"
	sed "s|^btid=.*|btid=$b|" "$tmp/alice.gba" >"$tmp/miss$k.gba"
	chmod 600 "$tmp/miss$k.gba"
	$cli "$B/bench/loadgen" -s "$tmp/s" -p "$kport" -m request -g "$tmp/miss$k.gba" \
		-c 1 -r 1 -n $((secs / 2)) -d $((secs + 5)) >"$tmp/miss$k.out" 2>&1 &
	mpids="$mpids $!"
done
hit=$(lg -p "$kport" -m request -g "$tmp/alice.gba" -n $((half * secs)) -r "$half" \
	-d $((secs + 10)))
for p in $mpids; do wait "$p" || true; done # each bounded by its -d
mpids=""
kill -CONT "$fpid"
misses=0
for k in 1 2 3; do
	m=$(field "$(head -n 1 "$tmp/miss$k.out")" sent)
	misses=$((misses + ${m:-0}))
done
cat <<TABLE
| measure | value |
|---|---|
| ticketrequest max req/s, key cached (BSF up) | $max |
| cached-key rate while the BSF is stopped (half of max) | $half req/s for $secs s |
| cached-key requests sent / not 200 / failed | $(field "$hit" sent) / $(field "$hit" non200) / $(field "$hit" failed) |
| cached-key p50 / p99 (us) | $(field "$hit" p50_us) / $(field "$hit" p99_us) |
| Zn misses sent meanwhile (3 unknown B-TIDs, 1/s each) | $misses |
TABLE
