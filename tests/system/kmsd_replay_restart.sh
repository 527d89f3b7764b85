#!/bin/sh
# A REQUEST_INIT kmsd answered stays refused after a restart while it is
# inside the clock-skew window: after kill -9 (the journal brings it back),
# after SIGTERM (the snapshot), and, with policy.replay_journal off, after
# kill -9 (messages stamped before the restart are refused).  A fresh
# request is served after each restart; each start logs which case applied.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"

port=$(free_port)
B="http://127.0.0.1:$port"
U="$B/kms"
S="$tmp/state"
"$KMSCTL" -d "$S" init --demo >"$tmp/init.out" 2>&1 || fail "kmsctl init --demo"
conf() { # conf JOURNAL (true or false)
	cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 2; };
kms = { state_dir = "$S"; };
policy = { replay_journal = $1; };
CONF
}
req() { # req NAME: a fresh REQUEST_INIT from Alice in $tmp/NAME.bin
	"$UE" request --psk-file "$S/demo-alice.psk" --id alice@example.org \
		--to bob@example.org --out "$tmp/$1.bin" --state "$tmp/$1.st" \
		>"$tmp/out" 2>"$tmp/err" || fail "kms-ue request ($1)"
}
post() { # post NAME: its bytes to ticketrequest; prints the status
	post_mikey "$U?requesttype=ticketrequest" "$tmp/$1.bin" "$tmp/$1.resp"
}
served() { # served NAME: a fresh request, answered 200 REQUEST_RESP
	req "$1"
	got=$(post "$1")
	[ "$got" = 200 ] || fail "$1: status $got, expected 200"
}
# refused NAME STATUS WHY: NAME's bytes again get STATUS with a MIKEY Error
# (Invalid TS, error 1), and the log names WHY for that request.
refused() {
	got=$(post "$1")
	[ "$got" = "$2" ] || fail "$1 sent again: status $got, expected $2"
	rid=$(header X-Request-Id)
	"$UE" decode "$tmp/$1.resp" >"$tmp/out" 2>"$tmp/err" || fail "decode the answer to $1"
	json_check "d['data_type'] == 6 and any(p.get('error_no') == 1 for p in d['payloads'])"
	wait_log "\[$rid\] .*refused.*: $3"
}
start() { # start: kmsd on the current config; waits until it answers
	kmsd_start "$tmp/kmsd.conf" "$B"
}
# Wait until the clock is past the second $1 (the stamp of a request), so
# that a start after it is later than that stamp.
after_second() {
	wait_for 3 "the clock did not pass $1" sh -c "[ \$(date +%s) -gt $1 ]"
}

# --- kill -9: the journal -----------------------------------------------------
conf true
start
wait_log "replay state: no replay state (first start"
served a
kill_daemon "$pid"
start
wait_log "did not stop cleanly; its journal is whole (same boot): 1 entries restored"
refused a 401 "replayed message"
served b
ok "kill -9, restart: the request answered before is refused (401, replay); a fresh one is served"

# --- SIGTERM: the snapshot ------------------------------------------------------
kmsd_stop
wait_log "replay state: saved to $S/replay.snap (clean stop)"
[ "$(stat -c %a "$S/replay.snap")" = 600 ] || fail "replay.snap mode"
[ ! -e "$S/replay.journal" ] || fail "journal left after a clean stop"
start
wait_log "the previous run stopped cleanly: 2 entries restored"
refused a 401 "replayed message"
refused b 401 "replayed message"
served c
ok "SIGTERM, restart: both requests answered before are refused (401); a fresh one is served"

# --- journal off, kill -9: the guard ----------------------------------------------
kmsd_stop
conf false
start
wait_log "replay journal off"
served d
t=$(date +%s)
kill_daemon "$pid"
[ ! -e "$S/replay.journal" ] || fail "a journal with replay_journal = false"
after_second "$t"
start
wait_log "left no journal (policy.replay_journal off"
refused d 400 "invalid timestamp"
served e
ok "journal off, kill -9, restart: a request stamped before the restart is refused (400, invalid timestamp); a fresh one is served"

kmsd_stop
