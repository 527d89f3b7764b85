#!/bin/sh
# kmsd and bsf-stubd under a fake systemd notify socket (Type=notify):
# READY=1 once serving, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1
# on SIGTERM.  Without NOTIFY_SOCKET nothing is sent (kmsd_flow and the
# other tests run so).
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"

port=$(free_port)
S="$tmp/state"
run 0 "$KMSCTL" -d "$S" init
cat >"$tmp/k.conf" <<CONF
ua = { port = $port; };
kms = { state_dir = "$S"; };
policy = { reload_interval = 0; };
CONF

# sink NAME: a notify socket $tmp/NAME.sock writing $tmp/NAME.msg.
sink() {
	daemon "$1-sink.log" python3 "$top_srcdir/tests/system/notify_sink.py" \
		"$tmp/$1.sock" "$tmp/$1.msg" 60
	wait_for 10 "notify sink $1 not bound" test -e "$tmp/$1.msg.up"
}

sink kmsd
NOTIFY_SOCKET="$tmp/kmsd.sock"
export NOTIFY_SOCKET
kmsd_start "$tmp/k.conf" "http://127.0.0.1:$port"
unset NOTIFY_SOCKET
wait_for 5 "no READY=1 from kmsd" grep -qs "^READY=1|STATUS=serving" "$tmp/kmsd.msg"
ok "kmsd: READY=1 with STATUS once the listener answers"

kill -HUP "$pid"
wait_count "reload done" 1
wait_for 5 "no RELOADING=1 from kmsd" grep -qs "^RELOADING=1|" "$tmp/kmsd.msg"
wait_count "READY=1" 2 kmsd.msg
# In that order: RELOADING=1 before the second READY=1.
awk '/^RELOADING=1/ { r = NR } /^READY=1/ { last = NR } END { exit !(r && last > r) }' \
	"$tmp/kmsd.msg" || fail "READY=1 does not follow RELOADING=1"
grep "^RELOADING=1|" "$tmp/kmsd.msg" | grep -q "MONOTONIC_USEC=[0-9]" ||
	fail "RELOADING=1 without MONOTONIC_USEC"
ok "kmsd: SIGHUP sends RELOADING=1, then READY=1 after the reload"

kmsd_stop
wait_for 5 "no STOPPING=1 from kmsd" grep -qs "^STOPPING=1" "$tmp/kmsd.msg"
ok "kmsd: SIGTERM sends STOPPING=1"

# bsf-stubd the same way.
bport=$(free_port)
run 0 "$top_builddir/bsf-stub/bsf-stubd" -d "$tmp/bsf" --init
sink bsf
NOTIFY_SOCKET="$tmp/bsf.sock"
export NOTIFY_SOCKET
daemon bsf-stubd.log "$top_builddir/bsf-stub/bsf-stubd" -d "$tmp/bsf" -p "$bport"
bpid=$dpid
unset NOTIFY_SOCKET
wait_for 10 "no READY=1 from bsf-stubd" grep -qs "^READY=1" "$tmp/bsf.msg"
kill -HUP "$bpid"
wait_for 5 "no RELOADING=1 from bsf-stubd" grep -qs "^RELOADING=1" "$tmp/bsf.msg"
wait_count "READY=1" 2 bsf.msg
stop "$bpid" bsf-stubd
wait_for 5 "no STOPPING=1 from bsf-stubd" grep -qs "^STOPPING=1" "$tmp/bsf.msg"
ok "bsf-stubd: READY=1, RELOADING=1 + READY=1 on SIGHUP, STOPPING=1"
