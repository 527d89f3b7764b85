#!/bin/sh
# The cost of replay.shared (not a test): two kmsd on one throwaway
# PostgreSQL cluster (both stores there), A with replay.shared = false, B
# with true, loaded alone in turn, round by round, with fresh REQUEST_INITs.
# Prints per node the throughput, kmsd CPU per request and the database's
# CPU per request (every process of the cluster: the backends of both the
# audit writer and the replay checks), medians over the rounds, and B/A.
# Usage: bench/replay_shared.sh [ROUNDS] [REQUESTS] [CONNS]
#   e.g. bench/replay_shared.sh 5 100000 4
#   A_CONF / B_CONF: extra kmsd.conf groups for A / B.
# kmsd, kmsctl and loadgen come from ./build; PostgreSQL 15 from
# KMS_PG_BINDIR (default /usr/lib/postgresql/15/bin), run as postgres when
# root.  Nothing is appended to the results history.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B="$top/build"
rounds=${1:-5}
n=${2:-100000}
conns=${3:-4}
pgbin=${KMS_PG_BINDIR:-/usr/lib/postgresql/15/bin}
for p in "$B/kms/kmsd" "$B/tools/kmsctl" "$B/bench/loadgen" "$pgbin/initdb" \
	"$pgbin/pg_ctl"; do
	[ -x "$p" ] || { echo "bench/replay_shared.sh: $p missing" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kms_rps.XXXXXX")
pids=""
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	as_pg "$pgbin/pg_ctl" -D "$tmp/pg" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
. "$top/bench/lib.sh" # $srv, $cli, $srv_threads, $root_flag, free_port

# The cluster: on the servers' core, as kmsd is (what B adds is paid there).
pguser=$(id -un)
mkdir -m 0700 "$tmp/pg"
if [ "$(id -u)" -eq 0 ]; then
	chmod 0711 "$tmp"
	chown postgres "$tmp/pg"
	pguser=postgres
fi
as_pg "$pgbin/initdb" -D "$tmp/pg" -A trust --no-sync -E UTF8 --locale=C \
	--no-instructions >"$tmp/initdb.log" 2>&1
pgport=$(free_port)
as_pg $srv "$pgbin/pg_ctl" -D "$tmp/pg" -l "$tmp/pg/log" -w \
	-o "-c listen_addresses=127.0.0.1 -p $pgport -k $tmp/pg" start >/dev/null
"$pgbin/psql" -X -q -h 127.0.0.1 -p "$pgport" -U "$pguser" -d postgres \
	-c "CREATE DATABASE kms"
conninfo="host=127.0.0.1 port=$pgport dbname=kms user=$pguser"
pgpid=$(head -n 1 "$tmp/pg/postmaster.pid")

start_kmsd() { # start_kmsd NAME PORT SHARED
	mkdir -m 0700 -p "$tmp/s-$1"
	cat >"$tmp/$1.conf" <<CONF
ua = { port = $2; threads = $srv_threads; };
kms = { state_dir = "$tmp/s-$1"; store = "postgresql"; conninfo = "$conninfo";
	node = "$1"; };
policy = { replay_entries = 4194304; reload_interval = 0; };
replay = { shared = $3; };
log = { level = "notice"; };
CONF
	eval "echo \"\${$(echo "$1" | tr ab AB)_CONF:-}\"" >>"$tmp/$1.conf"
	[ -f "$tmp/s-a/kek" ] && cp -p "$tmp/s-a/kek" "$tmp/s-$1/kek"
	[ -f "$tmp/s-a/kek" ] || "$B/tools/kmsctl" -c "$tmp/$1.conf" init --demo >/dev/null
	$srv "$B/kms/kmsd" $root_flag -c "$tmp/$1.conf" >"$tmp/$1.log" 2>&1 &
	eval "pid_$1=$!"
	pids="$pids $!"
	i=0
	until curl -s "http://127.0.0.1:$2/readyz" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -le 100 ] || { echo "kmsd $1 did not start" >&2; cat "$tmp/$1.log" >&2; exit 1; }
		sleep 0.1
	done
}
pa=$(free_port)
pb=$(free_port)
start_kmsd a "$pa" false
start_kmsd b "$pb" true

ticks() { # utime + stime of processes, in clock ticks
	for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null; done |
		awk '{ t += $14 + $15 } END { print t + 0 }'
}
pg_procs() { # the postmaster and its children
	echo "$pgpid $(pgrep -P "$pgpid" | tr '\n' ' ')"
}
hz=$(getconf CLK_TCK)
# run NAME PORT: one loadgen run; appends "rps kmsd_us db_us" to $tmp/NAME
run() {
	eval "p=\$pid_$1"
	procs=$(pg_procs)
	k0=$(ticks "$p")
	d0=$(ticks $procs)
	$cli "$B/bench/loadgen" -s "$tmp/s-a" -c "$conns" -d 60 -p "$2" -m request \
		-n "$n" >"$tmp/lg.out" 2>&1 ||
		{ echo "loadgen $1 failed:" >&2; cat "$tmp/lg.out" >&2; exit 1; }
	k1=$(ticks "$p")
	d1=$(ticks $procs)
	rps=$(head -n 1 "$tmp/lg.out" | tr ' ' '\n' | sed -n 's/^rps=//p')
	sent=$(head -n 1 "$tmp/lg.out" | tr ' ' '\n' | sed -n 's/^sent=//p')
	python3 -c "print($rps, ($k1 - $k0) * 1e6 / $hz / $sent, ($d1 - $d0) * 1e6 / $hz / $sent)" \
		>>"$tmp/$1"
}
r=0
while [ $r -lt "$rounds" ]; do
	r=$((r + 1))
	run a "$pa"
	run b "$pb"
done
python3 - "$tmp" "$rounds" "$n" "$conns" <<'PY'
import statistics, sys
tmp, rounds, n, conns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
med = statistics.median
def load(name):
    return [[float(x) for x in l.split()] for l in open(f"{tmp}/{name}")]
a, b = load("a"), load("b")
print(f"{rounds} rounds of {n} REQUEST_INITs, {conns} keep-alive connections\n")
print("| measure (median) | A: replay.shared = false | B: true | B/A |")
print("|---|---|---|---|")
for i, what in enumerate(("req/s", "kmsd CPU per request, us",
                          "PostgreSQL CPU per request, us")):
    va, vb = med(r[i] for r in a), med(r[i] for r in b)
    ratio = med(y[i] / x[i] for x, y in zip(a, b) if x[i] > 0) if va > 0 else 0
    print(f"| {what} | {va:.2f} | {vb:.2f} | {ratio:.2f} |")
PY
