#!/bin/sh
# Several kmsd nodes behind HAProxy on one PostgreSQL store, on this host
# (not a test; docs/scale.md, capacity planning):
#   1. max req/s of ticketrequest and ticketresolve through HAProxy with 1,
#      2 and 3 nodes in service (the others put in maintenance on HAProxy's
#      stats socket), and per request the CPU of each node, of HAProxy and
#      of PostgreSQL (utime + stime from /proc/PID/stat over the run);
#   2. the cost of the shared replay check: node 1 alone, addressed
#      directly, with replay.shared off and on, CPU per request of the node
#      and of PostgreSQL (skipped when this kmsd has no replay.shared);
#   3. how long a change takes to reach every node: CHANGES times kmsctl
#      policy add, then the time from kmsctl's exit (the commit) until each
#      node logs its reload; min / median / max of the slowest node.
# Nothing is pinned to a CPU: every node, HAProxy, PostgreSQL and loadgen
# share this host's cores, so more nodes add no cores; the figures show
# what the balancer and the shared store cost, and how the work spreads.
# Usage: bench/cluster.sh [REQUESTS]   (default 50000 per run)
#   BENCH_ROUNDS (3): runs per figure (median); BENCH_CHANGES (20);
#   BENCH_CONC (8): loadgen connections; BENCH_RELOAD_LINE ("reload done"):
#   the node log line that marks an applied change.  The CPU of a resolve
#   run includes the tickets loadgen asks for first (min(REQUESTS, 1000));
#   audit rows are committed behind the answers, in batches, so a run's
#   PostgreSQL CPU includes the tail of the previous run's rows and misses
#   the tail of its own: negligible at 50000 requests, not at 200.
#   Figures are appended to bench/results/history.tsv (BENCH_HISTORY, see
#   bench/lib.sh).
#   A check of the script: BENCH_HISTORY=none BENCH_ROUNDS=1 BENCH_CHANGES=2
#   bench/cluster.sh 200
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B="$top/build"
n=${1:-50000}
rounds=${BENCH_ROUNDS:-3}
changes=${BENCH_CHANGES:-20}
conc=${BENCH_CONC:-8}
reload_line=${BENCH_RELOAD_LINE:-reload done}
nodes=3
pgbin=${KMS_PG_BINDIR:-/usr/lib/postgresql/15/bin}
haproxy=$(command -v haproxy 2>/dev/null || echo /usr/sbin/haproxy)
py=python3 # /usr/bin/python3 when there: a python3 first in PATH may be a slow wrapper
[ ! -x /usr/bin/python3 ] || py=/usr/bin/python3
for p in "$B/kms/kmsd" "$B/tools/kmsctl" "$B/bench/loadgen" "$pgbin/initdb" "$pgbin/pg_ctl" \
	"$haproxy"; do
	[ -x "$p" ] || { echo "bench/cluster.sh: $p missing" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kms_cluster.XXXXXX")
pids=""
pg_up=""
asdb() { # the PostgreSQL server runs as postgres when this runs as root
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	[ -z "$pg_up" ] || asdb "$pgbin/pg_ctl" -D "$tmp/pg" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
. "$top/bench/lib.sh" # free_port, root_flag, hist_*
hist_init bench/cluster.sh
die() {
	echo "bench/cluster.sh: $*" >&2
	for f in "$tmp"/*.log; do echo "--- $f" >&2; tail -n 15 "$f" >&2; done
	exit 1
}
# wait_ok WHAT CMD...: until CMD succeeds, at most 10 s.
wait_ok() {
	w=$1
	shift
	wi=0
	until "$@" >/dev/null 2>&1; do
		wi=$((wi + 1))
		[ $wi -le 100 ] || die "$w"
		sleep 0.1
	done
}

# --- PostgreSQL ------------------------------------------------------------------
dbuser=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
	dbuser=postgres
	chmod 0711 "$tmp"
fi
mkdir -m 0700 "$tmp/pg" "$tmp/pgsock"
: >"$tmp/postgres.log"
[ "$(id -u)" -ne 0 ] || chown postgres:postgres "$tmp/pg" "$tmp/pgsock" "$tmp/postgres.log"
asdb "$pgbin/initdb" -D "$tmp/pg" -A trust --no-sync -E UTF8 --locale=C >"$tmp/initdb.log" 2>&1 ||
	die "initdb failed"
pgport=$(free_port)
asdb "$pgbin/pg_ctl" -D "$tmp/pg" -l "$tmp/postgres.log" -w -t 30 \
	-o "-c listen_addresses=127.0.0.1 -p $pgport -k $tmp/pgsock -c max_connections=200" \
	start >/dev/null 2>&1 || die "pg_ctl start failed"
pg_up=1
"$pgbin/psql" -X -q -h 127.0.0.1 -p "$pgport" -U "$dbuser" -d postgres \
	-c "CREATE DATABASE kms" >/dev/null || die "CREATE DATABASE kms"
conninfo="host=127.0.0.1 port=$pgport dbname=kms user=$dbuser"
pg_master=$(head -n 1 "$tmp/pg/postmaster.pid")

# --- store, nodes, HAProxy ----------------------------------------------------------
S=$tmp/shared
cat >"$tmp/kmsctl.conf" <<CONF
kms = { state_dir = "$S"; store = "postgresql"; conninfo = "$conninfo"; node = "kmsctl"; };
CONF
"$B/tools/kmsctl" -c "$tmp/kmsctl.conf" init --demo >/dev/null || die "kmsctl init"
ports=""
i=1
while [ $i -le $nodes ]; do
	ports="$ports $(free_port)"
	mkdir -m 0700 "$tmp/n$i"
	i=$((i + 1))
done
nth() { echo "$ports" | sed "s/^ //" | cut -d' ' -f"$1"; }
# node_conf I SHARED: node I's configuration, replay.shared = SHARED
# (yes/no/absent).
node_conf() {
	cat <<CONF
ua = { port = $(nth "$1"); threads = 2; };
kms = { state_dir = "$tmp/n$1"; kek_file = "$S/kek"; store = "postgresql";
	conninfo = "$conninfo application_name=kmsd-n$1"; node = "n$1"; };
policy = { replay_entries = 4194304; };
log = { level = "notice"; };
CONF
	case $2 in
	yes) echo 'replay = { shared = true; };' ;;
	no) echo 'replay = { shared = false; };' ;;
	esac
}
node_conf 1 yes >"$tmp/probe.conf"
shared=absent
"$B/kms/kmsd" $root_flag -t -c "$tmp/probe.conf" >/dev/null 2>&1 && shared=yes
node_start() { # node_start I SHARED
	node_conf "$1" "$2" >"$tmp/n$1.conf"
	"$B/kms/kmsd" $root_flag -c "$tmp/n$1.conf" >>"$tmp/n$1.log" 2>&1 &
	eval "npid_$1=$!"
	pids="$pids $!"
	wait_ok "node $1 did not start" curl -sf "http://127.0.0.1:$(nth "$1")/readyz"
}
node_stop() {
	eval "p=\$npid_$1"
	kill -TERM "$p"
	si=0
	while kill -0 "$p" 2>/dev/null && [ $si -lt 100 ]; do si=$((si + 1)); sleep 0.1; done
}
i=1
while [ $i -le $nodes ]; do
	node_start $i "$shared"
	i=$((i + 1))
done
lb=$(free_port)
# The configuration of tests/system/cluster_lib.sh (explained in docs/scale.md).
cat >"$tmp/haproxy.cfg" <<CONF
global
	maxconn 4096
	stats socket $tmp/haproxy.sock mode 600 level admin
defaults
	mode http
	timeout connect 500ms
	timeout client 30s
	timeout server 30s
	timeout check 500ms
	retries 2
	option redispatch
frontend ua
	bind 127.0.0.1:$lb
	default_backend kmsd
backend kmsd
	balance roundrobin
	option httpchk GET /readyz
	http-check expect status 200
	default-server inter 200ms fall 2 rise 1
CONF
i=1
while [ $i -le $nodes ]; do
	echo "	server n$i 127.0.0.1:$(nth $i) check" >>"$tmp/haproxy.cfg"
	i=$((i + 1))
done
"$haproxy" -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.log" 2>&1 &
hpid=$!
pids="$pids $hpid"
wait_ok "haproxy did not start" curl -sf "http://127.0.0.1:$lb/readyz"
lbcmd() { # lbcmd "COMMAND": one command on HAProxy's stats socket
	"$py" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
out = b""
for _ in range(256):  # bounded: the socket closes after the answer
    chunk = s.recv(65536)
    if not chunk:
        break
    out += chunk
print(out.decode(), end="")' \
		"$tmp/haproxy.sock" "$1"
}
up_count() {
	lbcmd "show stat" | awk -F, '$1 == "kmsd" && $2 ~ /^n[0-9]+$/ && $18 == "UP" { c++ } END { print c + 0 }'
}
in_service() { [ "$(up_count)" = "$1" ]; }

# --- CPU accounting ----------------------------------------------------------------------
hz=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() { # the postmaster and all its children (one pass over /proc)
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v m="$pg_master" '{
		pid = $1
		sub(/^.*\) /, "") # after "(comm) ": state ppid ... utime stime
		if (pid == m || $2 == m) t += $12 + $13
	} END { print t + 0 }'
}
snap() { # snap: every process's ticks, one line "n1 n2 n3 haproxy pg"
	s=""
	ni=1
	while [ $ni -le $nodes ]; do
		eval "s=\"\$s \$(ticks \$npid_$ni)\""
		ni=$((ni + 1))
	done
	echo "$s $(ticks "$hpid") $(pg_ticks)"
}
lg() { # lg PORT MODE: one loadgen run, its key=value line
	"$B/bench/loadgen" -s "$S" -c "$conc" -d 120 -p "$1" -m "$2" -n "$n" >"$tmp/lg.out" 2>&1 ||
		die "loadgen -p $1 -m $2 failed: $(cat "$tmp/lg.out")"
	head -n 1 "$tmp/lg.out"
}
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# measure LABEL PORT MODE: one run; appends "rps us_n1 us_n2 us_n3 us_haproxy
# us_pg" (CPU per request sent, microseconds) to $tmp/LABEL.
measure() {
	a=$(snap)
	o=$(lg "$2" "$3")
	b=$(snap)
	"$py" - "$a" "$b" "$(field "$o" rps)" "$(field "$o" sent)" "$hz" >>"$tmp/$1" <<'PY'
import sys
a, b = [int(x) for x in sys.argv[1].split()], [int(x) for x in sys.argv[2].split()]
rps, sent, hz = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
print(rps, " ".join("%.2f" % ((y - x) * 1e6 / hz / max(sent, 1)) for x, y in zip(a, b)))
PY
}

# --- 1. throughput with 1, 2, 3 nodes through HAProxy ------------------------------------
for k in 1 2 3; do
	i=1
	while [ $i -le $nodes ]; do
		if [ $i -le $k ]; then lbcmd "set server kmsd/n$i state ready" >/dev/null
		else lbcmd "set server kmsd/n$i state maint" >/dev/null; fi
		i=$((i + 1))
	done
	wait_ok "HAProxy does not show $k node(s) UP" in_service $k
	r=0
	while [ $r -lt "$rounds" ]; do
		r=$((r + 1))
		measure "lb$k-request" "$lb" request
		measure "lb$k-resolve" "$lb" resolve
	done
done

# --- 2. the shared replay check: node 1 alone, off and on --------------------------------
if [ "$shared" = yes ]; then
	for s in no yes; do
		node_stop 1
		node_start 1 "$s"
		r=0
		while [ $r -lt "$rounds" ]; do
			r=$((r + 1))
			measure "replay-$s" "$(nth 1)" request
		done
	done
fi

# --- 3. propagation of a change -------------------------------------------------------------
logs=""
i=1
while [ $i -le $nodes ]; do logs="$logs $tmp/n$i.log"; i=$((i + 1)); done
"$py" - "$B/tools/kmsctl" "$tmp/kmsctl.conf" "$changes" "$reload_line" $logs \
	>"$tmp/prop" <<'PY' || die "propagation run failed"
import subprocess, sys, time
kmsctl, conf, changes, line = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
logs = sys.argv[5:]
count = lambda f: open(f, errors="replace").read().count(line)
for c in range(changes):
    before = [count(f) for f in logs]
    subprocess.run([kmsctl, "-c", conf, "policy", "add", "--from", "bench%d@example.org" % c,
                    "--to", "nobody@example.org", "--allow"], check=True,
                   stdout=subprocess.DEVNULL)
    t0 = time.monotonic()
    seen = [None] * len(logs)
    for _ in range(30000):  # at most ~30 s (1 ms apart)
        for i, f in enumerate(logs):
            if seen[i] is None and count(f) > before[i]:
                seen[i] = time.monotonic() - t0
        if None not in seen:
            break
        time.sleep(0.001)
    if None in seen:
        sys.exit("change %d: a node did not log '%s' within 30 s" % (c, line))
    print(" ".join("%.1f" % (s * 1000) for s in seen))
PY

# --- the table and the history -------------------------------------------------------------
"$py" - "$tmp" "$rounds" "$n" "$conc" "$shared" "$hist_date" "$hist_run" "$hist_commit" \
	<<'PY'
import os, statistics, sys
tmp, rounds, n, conc, shared = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
med = statistics.median
hist = open(os.path.join(tmp, "hist.rows"), "a")
note = "median of %d runs of %s requests" % (rounds, n)
def add(endpoint, measure, value, extra=""):
    hist.write("\t".join([sys.argv[6], sys.argv[7], sys.argv[8], "bench/cluster.sh",
                          endpoint, conc, measure, value, note + extra]) + "\n")
def load(label):
    rows = [[float(x) for x in l.split()] for l in open(os.path.join(tmp, label))]
    return [med(col) for col in zip(*rows)]
print("%s runs of %s requests each, %s loadgen connections, through HAProxy\n"
      % (rounds, n, conc))
print("| nodes | endpoint | req/s | CPU us/req n1 | n2 | n3 | HAProxy | PostgreSQL |")
print("|---|---|---|---|---|---|---|---|")
for k in (1, 2, 3):
    for m in ("request", "resolve"):
        v = load("lb%d-%s" % (k, m))
        print("| %d | ticket%s | %d | %s |" % (k, m, v[0], " | ".join("%.2f" % x for x in v[1:])))
        add("ticket" + m, "cluster%d_rps" % k, "%d" % v[0])
        for name, x in zip(("n1", "n2", "n3", "haproxy", "postgresql"), v[1:]):
            add("ticket" + m, "cluster%d_cpu_us_%s" % (k, name), "%.2f" % x)
if shared == "yes":
    off, on = load("replay-no"), load("replay-yes")
    print("\nShared replay check (node 1 alone, ticketrequest):\n")
    print("| replay.shared | req/s | node CPU us/req | PostgreSQL CPU us/req |")
    print("|---|---|---|---|")
    for name, v in (("false", off), ("true", on)):
        print("| %s | %d | %.2f | %.2f |" % (name, v[0], v[1], v[5]))
    print("| cost of the shared check | | %+.2f | %+.2f |" % (on[1] - off[1], on[5] - off[5]))
    add("ticketrequest", "replay_shared_off_cpu_us", "%.2f" % off[1])
    add("ticketrequest", "replay_shared_on_cpu_us", "%.2f" % on[1])
    add("ticketrequest", "replay_shared_pg_cpu_us", "%.2f" % (on[5] - off[5]),
        "; PostgreSQL CPU per request, on minus off")
else:
    print("\nShared replay check: this kmsd has no replay.shared (skipped)")
rows = [[float(x) for x in l.split()] for l in open(os.path.join(tmp, "prop"))]
last = [max(r) for r in rows]
print("\nPropagation of a change (kmsctl policy add, %d changes), ms from kmsctl's exit:\n"
      % len(rows))
print("| | min | median | max |")
print("|---|---|---|---|")
for i in range(len(rows[0])):
    col = [r[i] for r in rows]
    print("| n%d reloaded | %.1f | %.1f | %.1f |" % (i + 1, min(col), med(col), max(col)))
print("| every node reloaded | %.1f | %.1f | %.1f |" % (min(last), med(last), max(last)))
note = "%d changes (kmsctl policy add) to the last node's reload line" % len(rows)
for m, v in (("min", min(last)), ("median", med(last)), ("max", max(last))):
    hist.write("\t".join([sys.argv[6], sys.argv[7], sys.argv[8], "bench/cluster.sh",
                          "propagation", "-", "propagation_ms_" + m, "%.1f" % v, note]) + "\n")
hist.close()
PY
hist_append
