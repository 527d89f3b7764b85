#!/bin/sh
# kill -9 of kmsd under load, then: did every answer 200 leave its audit
# row?  (Not a test: it needs load and a few seconds; run by hand.)
# loadgen sends ticket requests on 4 keep-alive connections and records the
# X-Request-Id of every 200 it received in full (--rids); once kmsd has
# served for SECONDS it is killed with SIGKILL; the ids are then looked up
# in audit.db (granted rows).  With audit.durable = true none may be
# missing; with false the rows still queued in memory are lost (at most the
# last flush interval's, 200 ms, or 1024 rows plus the queue under overload).
# Usage: bench/audit_kill.sh [true|false] [SECONDS]   (default: true 5)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B="$top/build"
durable=${1:-true}
secs=${2:-5}
case $durable in true | false) ;; *) echo "usage: $0 [true|false] [SECONDS]" >&2; exit 2 ;; esac
for p in "$B/kms/kmsd" "$B/tools/kmsctl" "$B/bench/loadgen"; do
	[ -x "$p" ] || { echo "bench/audit_kill.sh: $p missing: build first" >&2; exit 1; }
done
command -v sqlite3 >/dev/null || { echo "bench/audit_kill.sh: sqlite3 missing" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kms_kill.XXXXXX")
kpid=""
lpid=""
cleanup() {
	[ -n "$lpid" ] && kill "$lpid" 2>/dev/null || true
	[ -n "$kpid" ] && kill -9 "$kpid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
. "$top/bench/lib.sh" # $srv, $cli, $srv_threads, free_port
port=$(free_port)
"$B/tools/kmsctl" -d "$tmp/s" init --demo >/dev/null
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = $srv_threads; };
kms = { state_dir = "$tmp/s"; };
policy = { replay_entries = 4194304; };
audit = { durable = $durable; };
log = { level = "notice"; };
CONF
$srv "$B/kms/kmsd" -c "$tmp/kmsd.conf" >"$tmp/kmsd.log" 2>&1 &
kpid=$!
i=0
until curl -s "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -le 100 ] || { echo "kmsd did not start" >&2; cat "$tmp/kmsd.log" >&2; exit 1; }
	sleep 0.1
done
$cli "$B/bench/loadgen" -s "$tmp/s" -c 4 -d 120 -p "$port" -m request -n 400000 \
	--rids "$tmp/rids" >"$tmp/lg.out" 2>&1 &
lpid=$!
rows() { sqlite3 "$tmp/s/audit.db" "SELECT count(*) FROM audit" 2>/dev/null || echo 0; }
# The load has begun once rows arrive (loadgen builds its messages first).
i=0
while [ "$(rows)" -eq 0 ]; do
	i=$((i + 1))
	[ $i -le 600 ] || { echo "no audit row after 60 s" >&2; exit 1; }
	sleep 0.1
done
sleep "$secs"
kill -9 "$kpid"
wait "$kpid" 2>/dev/null || true
kpid=""
wait "$lpid" || true # its connections fail: it stops and reports
lpid=""
ok200=$(head -n 1 "$tmp/lg.out" | tr ' ' '\n' | sed -n 's/^ok200=//p')
[ -n "$ok200" ] || { echo "no loadgen figures:" >&2; cat "$tmp/lg.out" >&2; exit 1; }
missing=$(sqlite3 "$tmp/s/audit.db" <<SQL
CREATE TEMP TABLE answered (rid TEXT PRIMARY KEY);
.mode csv
.import $tmp/rids answered
SELECT count(*) FROM answered
 WHERE rid NOT IN (SELECT rid FROM audit WHERE decision = 1);
SQL
)
granted=$(sqlite3 "$tmp/s/audit.db" "SELECT count(*) FROM audit WHERE decision = 1")
rps=$(head -n 1 "$tmp/lg.out" | tr ' ' '\n' | sed -n 's/^rps=//p')
python3 - "$durable" "$ok200" "$granted" "$missing" "$rps" <<'PY'
import sys
d, ok, granted, missing, rps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
print(f"durable={d} rate={rps} req/s answered_200={ok} granted_rows={granted} "
      f"answered_without_row={missing} ({100.0 * missing / max(ok, 1):.3f} %)")
PY
