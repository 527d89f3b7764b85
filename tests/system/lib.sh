# Shared helpers for the shell system tests (sourced, not run).  Every wait
# is bounded in count and time.
#
# Sets KMSD KMSCTL UE MIKEY tmp n pid, and defines:
#   need TOOL...            exit 77 (a counted skip) unless every TOOL is found
#   ok TEXT / fail TEXT     count a passed group / fail with the scratch files
#   run WANT CMD...         CMD's output in $tmp/out, $tmp/err; exit status WANT
#   json_check EXPR         a python expression over the JSON d in $tmp/out
#   free_port               a free TCP port on 127.0.0.1
#   call URL [curl opts]    prints the status; $tmp/hdr, $tmp/body
#   expect WANT URL [opts]  call, failing unless the status is WANT
#   header NAME             a header of the last call
#   post_mikey URL IN OUT   POST file IN as application/mikey; prints the status
#   wait_for SECS WHAT CMD  run CMD until it succeeds, at most SECS seconds
#   wait_log TEXT [LOG]     until TEXT is in $tmp/LOG (kmsd.log)
#   wait_count TEXT N [LOG] until N lines of $tmp/LOG hold TEXT
#   log_count TEXT [LOG]    how many lines of $tmp/LOG hold TEXT
#   hup PID TEXT [LOG]      SIGHUP, then wait for one more TEXT line in LOG
#   tcp_established PORT    TCP connections established to 127.0.0.1:PORT
#   raw_post PORT PATH CT HEADERS  a POST with framing HEADERS ('|' between
#                           them) over a raw socket; prints "STATUS REQUEST-ID"
# Background processes (every one is recorded, and on any exit, a failure or
# a signal included, killed before $tmp is removed; on failure the end of
# every $tmp/*.log is printed):
#   daemon LOG CMD...       start CMD, output appended to $tmp/LOG; pid in $dpid
#   track PID / untrack PID record / forget a background process
#   wait_up URL PID NAME    until URL answers 200; fails if PID exits first
#   stop PID NAME [SIG]     SIGTERM (or SIG), wait; fails unless NAME exits 0
#   kill_daemon PID         SIGKILL and reap
#   kmsd_start CONF URL     kmsd -c CONF logging to kmsd.log, pid in $pid
#                           ($KMSD_ROOT: --allow-root, which a kmsd started
#                           as root without kms.user needs)
#   kmsd_stop               stop "$pid" kmsd
# PostgreSQL (a throwaway cluster in $tmp/pg, stopped on any exit) and HAProxy:
#   need_pg                 exit 77 unless initdb, pg_ctl (in $KMS_PG_BINDIR,
#                           /usr/lib/postgresql/15/bin by default), psql and,
#                           as root, runuser and the postgres user are there
#   pg_start                initdb, start on 127.0.0.1:$PG_PORT, create the
#                           database kms; sets PG_HOST PG_PORT PG_USER
#                           PG_CONNINFO (all exported); after pg_stop, starts
#                           the same cluster on the same port again
#   pg_stop                 stop it (fast shutdown); fails unless it stops
#   pg_psql ARGS...         psql -X -q -t -A -v ON_ERROR_STOP=1 on PG_CONNINFO
#   pg_sql "SQL"            pg_psql -c SQL: prints the rows, '|' between fields
#   need_haproxy            exit 77 unless haproxy is installed
#   haproxy_start CFG [PORT]  haproxy -db -f CFG (checked with -c first),
#                           logging to haproxy.log, pid in $haproxy_pid; with
#                           PORT, until 127.0.0.1:PORT accepts connections
#   haproxy_stop            soft stop (SIGUSR1: SIGTERM is a hard stop that
#                           exits 143), fails unless haproxy exits 0

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
KMSD="$top_builddir/kms/kmsd"
# As root, a kmsd without kms.user refuses to start unless told to keep
# root; the tests run it as whoever runs them.
KMSD_ROOT=--allow-root
KMSCTL="$top_builddir/tools/kmsctl"
UE="$top_builddir/tools/kms-ue"
MIKEY='Content-Type: application/mikey'

need() {
	for lib_c in "$@"; do
		if ! command -v "$lib_c" >/dev/null 2>&1; then
			echo "SKIP: $lib_c not found"
			exit 77
		fi
	done
}
need curl python3

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kms_systest.XXXXXX")
pid=""
dpid=""
daemons=""
n=0
# prefix_install DIR LOG: make install of the build into DIR, units into
# DIR/lib/systemd/system, output in $tmp/LOG; one install at a time (the
# generated files in the build directory are shared).
prefix_install() {
	flock "$top_builddir/.install.lock" \
		make -C "$top_builddir" -s install prefix="$1" \
		systemdsystemunitdir="$1/lib/systemd/system" >"$tmp/$2" 2>&1 ||
		fail "make install prefix=$1: $(tail -20 "$tmp/$2")"
}

# need_python_module MODULE: $py becomes a python3 that imports MODULE, or
# the test exits 77.  Debian's python3-* modules are for /usr/bin/python3,
# which may not be the python3 first in PATH.
need_python_module() {
	py=""
	for lib_c in python3 /usr/bin/python3; do
		if "$lib_c" -c "import $1" 2>/dev/null; then
			py=$lib_c
			return 0
		fi
	done
	echo "SKIP: python3 module $1 not installed"
	exit 77
}

lib_cleanup() {
	rc=$?
	pg_kill
	for lib_p in $daemons; do
		kill -KILL "$lib_p" 2>/dev/null || true
	done
	for lib_p in $daemons; do
		wait "$lib_p" 2>/dev/null || true
	done
	daemons=""
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		for f in "$tmp"/*.log; do
			[ -f "$f" ] || continue
			echo "--- $(basename "$f") (last 60 lines)" >&2
			tail -n 60 "$f" >&2
		done
	fi
	rm -rf "$tmp"
}
trap lib_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

ok() {
	n=$((n + 1))
	echo "ok $n - $*"
}
fail() {
	echo "FAIL: $*" >&2
	for f in "$tmp/hdr" "$tmp/body" "$tmp/body.txt" "$tmp/out" "$tmp/err" "$tmp/ue.out"; do
		[ -s "$f" ] && { echo "--- $f" >&2; head -c 4000 "$f" >&2; }
	done
	exit 1
}
# run WANT CMD...: stdout in $tmp/out, stderr in $tmp/err (also appended to
# $tmp/all.err); fails unless CMD exits WANT.
run() {
	lib_want=$1
	shift
	set +e
	"$@" >"$tmp/out" 2>"$tmp/err"
	lib_got=$?
	set -e
	cat "$tmp/err" >>"$tmp/all.err"
	[ "$lib_got" = "$lib_want" ] || fail "exit $lib_got, expected $lib_want: $*"
}
json_check() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$tmp/out" "$1" || fail "JSON check: $1"
}
# A port below the kernel's ephemeral range (so no outgoing connection takes
# it before the daemon binds), free right now, and never one this test was
# given before ($tmp/ports).
free_port() {
	python3 -c 'import os, random, socket, sys
f = sys.argv[1]
used = set(open(f).read().split()) if os.path.exists(f) else set()
for _ in range(500):
    p = random.randint(20000, 32000)
    if str(p) in used:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    open(f, "a").write("%d\n" % p)
    print(p)
    sys.exit(0)
sys.exit(1)' "$tmp/ports" || fail "no free port"
}
raw_post() {
	python3 - "$1" "$2" "$3" "$4" <<'PYEOF'
import socket, sys
port, path, ct = int(sys.argv[1]), sys.argv[2], sys.argv[3]
hdrs = sys.argv[4].replace("|", "\r\n")
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\n"
           "Connection: close\r\n%s\r\n\r\n" % (path, ct, hdrs)).encode() +
          b"5\r\nhello\r\n0\r\n\r\n")
data = b""
for _ in range(64):  # at most 64 reads
    try:
        chunk = s.recv(4096)
    except OSError:
        break
    if not chunk:
        break
    data += chunk
status = data.split(b" ", 2)[1].decode() if data else "000"
rid = "-"
for line in data.split(b"\r\n"):
    if line.lower().startswith(b"x-request-id:"):
        rid = line.split(b":", 1)[1].strip().decode()
print(status, rid)
PYEOF
}
# call URL [curl options]: prints the status; headers in $tmp/hdr, body in $tmp/body.
call() {
	url=$1
	shift
	rm -f "$tmp/hdr" "$tmp/body"
	curl -s -m 5 -D "$tmp/hdr" -o "$tmp/body" -w '%{http_code}' "$@" "$url" || true
}
# expect WANT URL [curl options]
expect() {
	want=$1
	shift
	got=$(call "$@")
	[ "$got" = "$want" ] || fail "status $got, expected $want: $*"
}
header() {
	grep -i "^$1:" "$tmp/hdr" | head -n 1 | cut -d: -f2- | tr -d ' \r'
}
# post_mikey URL IN OUT [curl options]: POST the file IN as application/mikey;
# prints the status; the body in OUT, headers in $tmp/hdr.
post_mikey() {
	lib_url=$1
	lib_in=$2
	lib_out=$3
	shift 3
	curl -s -m 10 -D "$tmp/hdr" -o "$lib_out" -w '%{http_code}' -H "$MIKEY" \
		--data-binary @"$lib_in" "$@" "$lib_url" || true
}

# --- bounded waits ---------------------------------------------------------------
# wait_for SECS WHAT CMD...: run CMD every 0.02 s until it succeeds, at most
# SECS * 50 times; fails with "WHAT" when it never does.
wait_for() {
	lib_tries=$(($1 * 50))
	lib_what=$2
	shift 2
	lib_i=0
	until "$@"; do
		lib_i=$((lib_i + 1))
		[ $lib_i -le $lib_tries ] || fail "$lib_what"
		sleep 0.02
	done
}
log_count() {
	lib_c=$(grep -sc -- "$1" "$tmp/${2:-kmsd.log}" || true)
	echo "${lib_c:-0}"
}
log_has() { # log_has TEXT N LOG: at least N lines of $tmp/LOG hold TEXT
	[ "$(log_count "$1" "$3")" -ge "$2" ]
}
wait_log() {
	wait_for 5 "no '$1' in ${2:-kmsd.log}" grep -qs -- "$1" "$tmp/${2:-kmsd.log}"
}
wait_count() {
	wait_for 5 "fewer than $2 '$1' in ${3:-kmsd.log}" log_has "$1" "$2" "${3:-kmsd.log}"
}
hup() {
	lib_before=$(log_count "$2" "${3:-kmsd.log}")
	kill -HUP "$1" 2>/dev/null || fail "cannot send SIGHUP to $1"
	wait_count "$2" $((lib_before + 1)) "${3:-kmsd.log}"
}
tcp_established() {
	python3 - "$1" <<'EOF'
import sys
port = "%04X" % int(sys.argv[1])
n = 0
for name in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        lines = open(name).read().splitlines()[1:]
    except OSError:
        continue
    for l in lines:
        f = l.split()
        n += f[1].endswith(":" + port) and f[3] == "01"
print(n)
EOF
}

# --- background processes -----------------------------------------------------------
track() {
	daemons="$daemons $1"
}
untrack() {
	lib_rest=""
	for lib_p in $daemons; do
		[ "$lib_p" = "$1" ] || lib_rest="$lib_rest $lib_p"
	done
	daemons=$lib_rest
}
daemon() {
	lib_log=$1
	shift
	"$@" >>"$tmp/$lib_log" 2>&1 &
	dpid=$!
	track "$dpid"
}
wait_up() {
	lib_i=0
	while [ "$(call "$1")" != 200 ]; do
		kill -0 "$2" 2>/dev/null || fail "$3 exited during start-up"
		lib_i=$((lib_i + 1))
		[ $lib_i -le 100 ] || fail "$3 not healthy within 10 s"
		sleep 0.1
	done
}
stop() {
	kill -"${3:-TERM}" "$1" 2>/dev/null || fail "$2 is not running"
	lib_i=0
	while kill -0 "$1" 2>/dev/null; do
		lib_i=$((lib_i + 1))
		[ $lib_i -le 100 ] || fail "$2 still running 10 s after SIG${3:-TERM}"
		sleep 0.1
	done
	set +e
	wait "$1"
	lib_rc=$?
	set -e
	untrack "$1"
	[ $lib_rc -eq 0 ] || fail "$2 exit status $lib_rc after SIG${3:-TERM}"
}
kill_daemon() {
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	untrack "$1"
}
kmsd_start() {
	daemon kmsd.log "$KMSD" "$KMSD_ROOT" -c "$1"
	pid=$dpid
	wait_up "$2/healthz" "$pid" kmsd
}
kmsd_stop() {
	stop "$pid" kmsd
	pid=""
}

# --- PostgreSQL ----------------------------------------------------------------------
# The server runs as the user running the test, or as postgres when that is
# root (initdb, pg_ctl and postgres refuse root).  pg_ctl detaches the
# server, so it is not a tracked daemon: pg_kill (from lib_cleanup) stops it.
pg_bindir=${KMS_PG_BINDIR:-/usr/lib/postgresql/15/bin}
pg_dir=""
need_pg() {
	for lib_c in initdb pg_ctl pg_isready psql; do
		if [ ! -x "$pg_bindir/$lib_c" ]; then
			echo "SKIP: $pg_bindir/$lib_c not found (PostgreSQL server; KMS_PG_BINDIR)"
			exit 77
		fi
	done
	if [ "$(id -u)" -eq 0 ]; then
		need runuser
		if ! id postgres >/dev/null 2>&1; then
			echo "SKIP: running as root and there is no postgres user to run the server"
			exit 77
		fi
	fi
}
# pg_as CMD...: CMD as the server's user.
pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}
# pg_init: a new cluster in $tmp/pg and a port for it.
pg_init() {
	lib_owner=$PG_USER
	if [ "$(id -u)" -eq 0 ]; then
		lib_owner=postgres:postgres
		# mktemp made $tmp 0700; the server needs to reach its
		# directories in it, not to list it.
		chmod 0711 "$tmp"
	fi
	mkdir -m 0700 "$tmp/pg" "$tmp/pgsock"
	: >"$tmp/postgres.log"
	chown "$lib_owner" "$tmp/pg" "$tmp/pgsock" "$tmp/postgres.log"
	pg_as "$pg_bindir/initdb" -D "$tmp/pg" -A trust --no-sync -E UTF8 \
		--locale=C --no-instructions >"$tmp/initdb.log" 2>&1 ||
		fail "initdb: $(tail -5 "$tmp/initdb.log")"
	PG_PORT=$(free_port)
}
# pg_start: the first call makes the cluster and the database kms; a call
# after pg_stop starts the same cluster again on the same port.
pg_start() {
	[ -z "$pg_dir" ] || fail "pg_start: a cluster is already running"
	PG_HOST=127.0.0.1
	PG_USER=$(id -un)
	[ "$(id -u)" -ne 0 ] || PG_USER=postgres
	lib_new=0
	if [ ! -f "$tmp/pg/PG_VERSION" ]; then
		pg_init
		lib_new=1
	fi
	pg_dir=$tmp/pg
	pg_as "$pg_bindir/pg_ctl" -D "$pg_dir" -l "$tmp/postgres.log" -w -t 20 \
		-o "-c listen_addresses=$PG_HOST -p $PG_PORT -k $tmp/pgsock -c fsync=off" \
		start >>"$tmp/pg_ctl.log" 2>&1 || fail "pg_ctl start failed"
	wait_for 10 "PostgreSQL not ready on port $PG_PORT" \
		"$pg_bindir/pg_isready" -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" \
		-d postgres
	PG_CONNINFO="host=$PG_HOST port=$PG_PORT dbname=kms user=$PG_USER"
	export PG_HOST PG_PORT PG_USER PG_CONNINFO
	[ $lib_new -eq 1 ] || return 0
	"$pg_bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" \
		-U "$PG_USER" -d postgres -c "CREATE DATABASE kms" >>"$tmp/pg_ctl.log" 2>&1 ||
		fail "cannot create the database kms"
}
pg_stop() {
	[ -n "$pg_dir" ] || fail "pg_stop: no cluster running"
	pg_as "$pg_bindir/pg_ctl" -D "$pg_dir" -m fast -w -t 10 stop \
		>>"$tmp/pg_ctl.log" 2>&1 || fail "pg_ctl stop failed"
	pg_dir=""
}
# pg_kill: immediate shutdown, then SIGKILL to a postmaster still there.
pg_kill() {
	[ -n "$pg_dir" ] || return 0
	pg_as "$pg_bindir/pg_ctl" -D "$pg_dir" -m immediate -w -t 10 stop \
		>/dev/null 2>&1 || true
	if [ -f "$pg_dir/postmaster.pid" ]; then
		kill -KILL "$(head -n 1 "$pg_dir/postmaster.pid")" 2>/dev/null || true
	fi
	pg_dir=""
}
pg_psql() {
	"$pg_bindir/psql" -X -q -t -A -v ON_ERROR_STOP=1 -d "$PG_CONNINFO" "$@"
}
pg_sql() {
	pg_psql -c "$1"
}

# --- HAProxy -------------------------------------------------------------------------
haproxy_bin=""
haproxy_pid=""
need_haproxy() {
	haproxy_bin=$(command -v haproxy 2>/dev/null || true)
	[ -n "$haproxy_bin" ] || [ ! -x /usr/sbin/haproxy ] || haproxy_bin=/usr/sbin/haproxy
	if [ -z "$haproxy_bin" ]; then
		echo "SKIP: haproxy not found"
		exit 77
	fi
}
haproxy_start() {
	[ -n "$haproxy_bin" ] || need_haproxy
	"$haproxy_bin" -c -q -f "$1" >"$tmp/haproxy_check.log" 2>&1 ||
		fail "haproxy -c -f $1: $(tail -5 "$tmp/haproxy_check.log")"
	daemon haproxy.log "$haproxy_bin" -db -f "$1"
	haproxy_pid=$dpid
	[ $# -lt 2 ] && return 0
	wait_for 10 "haproxy not listening on port $2" haproxy_accepts "$2"
}
# haproxy_accepts PORT: 127.0.0.1:PORT accepts a connection; fails the test
# when haproxy has exited.
haproxy_accepts() {
	kill -0 "$haproxy_pid" 2>/dev/null || fail "haproxy exited during start-up"
	python3 -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()' \
		"$1" 2>/dev/null
}
haproxy_stop() {
	stop "$haproxy_pid" haproxy USR1
	haproxy_pid=""
}
