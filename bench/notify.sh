#!/bin/sh
# Change propagation between two kmsd nodes on one PostgreSQL store (not a
# test; docs/scale.md "Change propagation"): a throwaway PostgreSQL
# cluster, nodes A and B with policy.reload_interval = 3600 (so only
# LISTEN/NOTIFY moves a change), then CHANGES policy changes made with
# kmsctl -c on A's config (a rule added, removed, added ...).  For each:
# the time from kmsctl's exit (just after its commit) to the moment B's
# "kms.db changed (notified): reloading" line (the notification arrived)
# and its "reload done" line (the new state in service) appear in its log
# (read every 0.5 ms).  Prints min / median / max in ms of each.  Needs ./build and
# PostgreSQL 15 (KMS_PG_BINDIR, default /usr/lib/postgresql/15/bin).
# Usage: bench/notify.sh [CHANGES]   (default 20)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B="$top/build"
n=${1:-20}
pgbin=${KMS_PG_BINDIR:-/usr/lib/postgresql/15/bin}
for p in "$B/kms/kmsd" "$B/tools/kmsctl" "$pgbin/initdb" "$pgbin/pg_ctl"; do
	[ -x "$p" ] || { echo "bench/notify.sh: $p missing" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kms_notifybench.XXXXXX")
pa=""
pb=""
as_pg() { # as_pg CMD...: as the server's user (postgres when run as root)
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
cleanup() {
	for p in $pa $pb; do kill "$p" 2>/dev/null || true; done
	if [ -f "$tmp/pg/postmaster.pid" ]; then
		as_pg "$pgbin/pg_ctl" -D "$tmp/pg" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	[ -n "${NOTIFY_BENCH_KEEP:-}" ] && cp "$tmp"/*.log /tmp/ 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
. "$top/bench/lib.sh"

# --- PostgreSQL ---------------------------------------------------------------------
pguser=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
	pguser=postgres
	chmod 0711 "$tmp"
fi
mkdir -m 0700 "$tmp/pg" "$tmp/sock"
: >"$tmp/postgres.log"
chown "$pguser" "$tmp/pg" "$tmp/sock" "$tmp/postgres.log"
as_pg "$pgbin/initdb" -D "$tmp/pg" -A trust --no-sync -E UTF8 --locale=C \
	--no-instructions >"$tmp/initdb.log" 2>&1
pgport=$(free_port)
as_pg "$pgbin/pg_ctl" -D "$tmp/pg" -l "$tmp/postgres.log" -w -t 30 \
	-o "-c listen_addresses=127.0.0.1 -p $pgport -k $tmp/sock" start >/dev/null
"$pgbin/psql" -X -q -h 127.0.0.1 -p "$pgport" -U "$pguser" -d postgres \
	-c "CREATE DATABASE kms" >/dev/null
conninfo="host=127.0.0.1 port=$pgport dbname=kms user=$pguser"

# --- two nodes --------------------------------------------------------------------------
for node in a b; do
	port=$(free_port)
	mkdir -m 0700 "$tmp/s$node"
	cat >"$tmp/$node.conf" <<CONF
ua = { port = $port; threads = 1; };
kms = { state_dir = "$tmp/s$node"; kek_file = "$tmp/kek"; store = "postgresql";
	conninfo = "$conninfo"; node = "$node"; };
policy = { reload_interval = 3600; };
CONF
	[ "$node" = a ] && "$B/tools/kmsctl" -c "$tmp/a.conf" init >/dev/null
	: >"$tmp/$node.log"
	$srv "$B/kms/kmsd" $root_flag -c "$tmp/$node.conf" >>"$tmp/$node.log" 2>&1 &
	eval "p$node=\$!"
done
python3 - "$tmp" <<'EOF'
import sys, time
for node in "ab":
    for _ in range(3000):  # 30 s at most
        if "store watch: listening" in open("%s/%s.log" % (sys.argv[1], node)).read():
            break
        time.sleep(0.01)
    else:
        sys.exit("node %s: no store watch within 30 s" % node)
EOF

# --- the changes --------------------------------------------------------------------------
python3 - "$tmp" "$B/tools/kmsctl" "$n" <<'EOF'
import statistics, subprocess, sys, time
tmp, kmsctl, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
log = tmp + "/b.log"
def lines():
    t = open(log).read()
    return t.count("(notified): reloading"), t.count("reload done")
woke, done = [], []
rule = None
for i in range(n):
    n0, d0 = lines()
    if rule is None:
        args = ["policy", "add", "--from", "x%d@example.org" % i, "--to", "nobody@example.org", "--deny"]
    else:
        args = ["policy", "remove", rule]
    out = subprocess.run([kmsctl, "-c", tmp + "/a.conf"] + args, check=True,
                         capture_output=True, text=True).stdout
    t0 = time.monotonic()
    rule = out.split()[-1] if rule is None else None
    deadline = t0 + 10
    seen = None
    while True:
        nn, dd = lines()
        now = time.monotonic()
        if seen is None and nn > n0:
            seen = now
        if dd > d0 and seen is not None:
            break
        if now > deadline:
            sys.exit("change %d: node B did not reload within 10 s" % (i + 1))
        time.sleep(0.0005)
    woke.append((seen - t0) * 1000)
    done.append((now - t0) * 1000)
print("%d changes, kmsctl commit -> node B:" % n)
for name, ms in (("notified ('reloading')", woke), ("reload done", done)):
    print("  %-24s min %.1f ms  median %.1f ms  max %.1f ms" %
          (name, min(ms), statistics.median(ms), max(ms)))
EOF
