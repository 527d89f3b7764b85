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
#   stop PID NAME           SIGTERM, wait; fails unless NAME exits 0
#   kill_daemon PID         SIGKILL and reap
#   kmsd_start CONF URL     kmsd -c CONF logging to kmsd.log, pid in $pid
#                           ($KMSD_ROOT: --allow-root, which a kmsd started
#                           as root without kms.user needs)
#   kmsd_stop               stop "$pid" kmsd

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
	kill -TERM "$1" 2>/dev/null || fail "$2 is not running"
	lib_i=0
	while kill -0 "$1" 2>/dev/null; do
		lib_i=$((lib_i + 1))
		[ $lib_i -le 100 ] || fail "$2 still running 10 s after SIGTERM"
		sleep 0.1
	done
	set +e
	wait "$1"
	lib_rc=$?
	set -e
	untrack "$1"
	[ $lib_rc -eq 0 ] || fail "$2 exit status $lib_rc after SIGTERM"
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
