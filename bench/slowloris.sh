#!/bin/sh
# Slow-client benchmark (not a test): kmsd on 127.0.0.1 with its default
# deadlines (request_timeout 10 s, conn_timeout 10 s, max_conns 1024).
#   1. latency of /healthz and of a real ticket request (kms-ue built, one
#      new connection each) from 127.0.0.1, quiet and during an attack of
#      2,000 idle and 1,000 slowloris connections from 127.0.0.3..127.0.0.17
#      (tests/system/slowloris.py);
#   2. p99 of ticket requests from 127.0.0.2 (10/s) while 127.0.0.1 floods
#      kmsd with requests (bench/loadgen, 4 connections, max rate), against
#      its quiet p99.
# Goals: p99 < 50 ms during the attack; flood p99 / quiet p99 <= 2.
# Usage: bench/slowloris.sh [N]   (requests per probe, default 200)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B="$top/build"
n=${1:-200}
for p in "$B/kms/kmsd" "$B/tools/kmsctl" "$B/tools/kms-ue" "$B/bench/loadgen"; do
	[ -x "$p" ] || { echo "bench/slowloris.sh: $p missing: build first" >&2; exit 1; }
done
ulimit -n 8192 2>/dev/null || [ "$(ulimit -n)" -ge 8192 ] ||
	{ echo "bench/slowloris.sh: needs 8192 descriptors" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kms_bench.XXXXXX")
kpid=""
apid=""
lpid=""
cleanup() {
	for p in $apid $lpid $kpid; do kill "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
. "$top/bench/lib.sh" # $srv, $cli, $srv_threads, free_port
SL="$top/tests/system/slowloris.py"
port=$(free_port)
"$B/tools/kmsctl" -d "$tmp/s" init --demo >/dev/null
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = $srv_threads; };
kms = { state_dir = "$tmp/s"; };
log = { level = "notice"; };
CONF
$srv "$B/kms/kmsd" $root_flag -c "$tmp/kmsd.conf" >"$tmp/kmsd.log" 2>&1 &
kpid=$!
i=0
until curl -s "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -le 100 ] || { echo "kmsd did not start" >&2; cat "$tmp/kmsd.log" >&2; exit 1; }
	sleep 0.1
done
# Distinct requests for every probe (a request sent twice is a replay).
for set in quiet attack quiet2 flood; do
	mkdir -p "$tmp/$set"
	j=0
	while [ $j -lt "$n" ]; do
		j=$((j + 1))
		"$B/tools/kms-ue" request --psk-file "$tmp/s/demo-alice.psk" \
			--id alice@example.org --to bob@example.org \
			--out "$tmp/$set/$(printf %05d $j).bin" --state "$tmp/st" >/dev/null
	done
done
probe() { # probe SRC [opts]: one result line
	src=$1
	shift
	$cli python3 "$SL" probe --port "$port" --src "$src" --n "$n" "$@"
}
echo "== quiet"
echo "healthz 127.0.0.1: $(probe 127.0.0.1)"
echo "request 127.0.0.1: $(probe 127.0.0.1 --body-dir "$tmp/quiet")"
echo "== attack: 2000 idle + 1000 slowloris from 127.0.0.3..127.0.0.17"
$cli python3 "$SL" attack --port "$port" --idle 2000 --slow 1000 --first 3 --count 15 \
	--interval 1 --backoff 2 --duration 120 --ready "$tmp/ready" >"$tmp/attack.log" 2>&1 &
apid=$!
i=0
until [ -s "$tmp/ready" ]; do
	i=$((i + 1))
	[ $i -le 300 ] || { echo "the attack did not start" >&2; exit 1; }
	sleep 0.1
done
sleep 5 # let the table fill and the first deadlines pass
echo "healthz 127.0.0.1: $(probe 127.0.0.1)"
echo "request 127.0.0.1: $(probe 127.0.0.1 --body-dir "$tmp/attack")"
kill "$apid" 2>/dev/null || true
wait "$apid" 2>/dev/null || true
apid=""
echo "attack: $(tail -n 1 "$tmp/attack.log")"
echo "== one-address flood (loadgen from 127.0.0.1) vs 127.0.0.2 at 10/s"
echo "request 127.0.0.2 quiet: $(probe 127.0.0.2 --rate 10 --body-dir "$tmp/quiet2")"
$cli "$B/bench/loadgen" -p "$port" -m request -s "$tmp/s" -c 4 -d 30 -n 30000 \
	>"$tmp/lg.out" 2>&1 &
lpid=$!
sleep 1
echo "request 127.0.0.2 flood: $(probe 127.0.0.2 --rate 10 --body-dir "$tmp/flood")"
kill "$lpid" 2>/dev/null || true
wait "$lpid" 2>/dev/null || true
lpid=""
grep "since the start\|past the request deadline" "$tmp/kmsd.log" | tail -n 3 || true
