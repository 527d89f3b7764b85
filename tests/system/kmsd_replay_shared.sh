#!/bin/sh
# Replay protection across nodes (kmsd.conf(5) REPLAY): two kmsd nodes on
# one PostgreSQL store.  With replay.shared = true a REQUEST_INIT node A
# answered is refused by node B as a replay (401, MIKEY error 1, audit
# outcome KMS_EREPLAY as A's own refusal) and by A again; with
# replay.shared = false on B it is served by B too (the residual risk).
# The database stopped: on_store_failure = refuse answers 503 KMS_EUNAVAIL,
# local serves; started again, the shared checks resume.  Also runs the
# unit tests of the shared check (tests/unit/test_replay_shared) on this
# cluster.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need_pg

pg_start
KMS_TEST_PG=$PG_CONNINFO "$top_builddir/tests/unit/test_replay_shared" \
	>"$tmp/unit.log" 2>&1 || fail "test_replay_shared: $(tail -5 "$tmp/unit.log")"
grep -q "replay_shared: 7 tests run, all passed" "$tmp/unit.log" ||
	fail "test_replay_shared did not run its PostgreSQL tests"
ok "the unit tests of the shared check pass against PostgreSQL"

pa=$(free_port)
pb=$(free_port)
ma=$(free_port)
mb=$(free_port)
A="http://127.0.0.1:$pa"
B="http://127.0.0.1:$pb"
# conf NODE PORT MPORT SHARED ON_FAILURE: $tmp/NODE.conf, state in $tmp/NODE
conf() {
	cat >"$tmp/$1.conf" <<CONF
ua = { port = $2; threads = 2; error_detail = true; };
kms = { state_dir = "$tmp/$1"; store = "postgresql"; conninfo = "$PG_CONNINFO";
	node = "$1"; };
policy = { reload_interval = 0; };
audit = { on_failure = "serve"; };
replay = { shared = $4; on_store_failure = "$5"; };
metrics = { port = $3; };
CONF
}
conf a "$pa" "$ma" true local
conf b "$pb" "$mb" true refuse
"$KMSCTL" -c "$tmp/a.conf" init --demo >"$tmp/init.out" 2>&1 || fail "kmsctl init --demo"
# B shares the store; its own state dir (replay journal) with the same KEK.
mkdir -m 0700 "$tmp/b"
cp -p "$tmp/a/kek" "$tmp/b/kek"

# A's log is kmsd.log (lib.sh's default), B's b.log.
start_a() {
	kmsd_start "$tmp/a.conf" "$A"
	apid=$pid
}
start_b() {
	daemon b.log "$KMSD" "$KMSD_ROOT" -c "$tmp/b.conf"
	bpid=$dpid
	wait_up "$B/healthz" "$bpid" "kmsd b"
}
req() { # req NAME: a fresh REQUEST_INIT from Alice in $tmp/NAME.bin
	"$UE" request --psk-file "$tmp/a/demo-alice.psk" --id alice@example.org \
		--to bob@example.org --out "$tmp/$1.bin" --state "$tmp/$1.st" \
		>"$tmp/out" 2>"$tmp/err" || fail "kms-ue request ($1)"
}
post() { # post URL NAME: NAME's bytes to ticketrequest; prints the status
	post_mikey "$1/kms?requesttype=ticketrequest" "$tmp/$2.bin" "$tmp/$2.resp"
}
# status URL NAME WANT [MIKEY-ERROR]: the status, and the MIKEY error of a refusal
status() {
	got=$(post "$1" "$2")
	[ "$got" = "$3" ] || fail "$2 to $1: status $got, expected $3 ($(header X-KMS-Error))"
	[ $# -lt 4 ] && return 0
	"$UE" decode "$tmp/$2.resp" >"$tmp/out" 2>"$tmp/err" || fail "decode the answer to $2"
	json_check "d['data_type'] == 6 and any(p.get('error_no') == $4 for p in d['payloads'])"
}
# audit_error RID: the error column of its audit row, once written
audit_row() {
	[ -n "$(pg_sql "SELECT error FROM audit WHERE rid = '$1'")" ]
}
audit_error() {
	wait_for 5 "no audit row for $1" audit_row "$1"
	pg_sql "SELECT node || ' ' || error FROM audit WHERE rid = '$1'"
}
metric() { # metric PORT NAME: its value on that node
	call "http://127.0.0.1:$1/metrics" >/dev/null
	awk -v n="$2" '$1 == n { print $2 }' "$tmp/body"
}

start_a
start_b
wait_log "shared replay check: 2 connections, on store failure local"
wait_log "shared replay check: 2 connections, on store failure refuse" b.log

# --- shared: accepted once by the whole cluster ------------------------------------
req m1
status "$A" m1 200
status "$B" m1 401 1
rid_b=$(header X-Request-Id)
grep -q "^X-KMS-Error: KMS_EREPLAY replayed message" "$tmp/hdr" ||
	fail "B: X-KMS-Error $(header X-KMS-Error)"
status "$A" m1 401 1
rid_a=$(header X-Request-Id)
[ "$(audit_error "$rid_b")" = "b KMS_EREPLAY" ] || fail "B's audit row: $(audit_error "$rid_b")"
[ "$(audit_error "$rid_a")" = "a KMS_EREPLAY" ] || fail "A's audit row: $(audit_error "$rid_a")"
[ "$(metric "$mb" kms_replay_shared_refusals_total)" = 1 ] || fail "B: shared refusals"
[ "$(metric "$ma" kms_replay_shared_refusals_total)" = 0 ] ||
	fail "A refused m1 by its own cache, not the database"
[ "$(metric "$ma" kms_replay_shared_checks_total)" = 1 ] || fail "A: shared checks"
ok "replay.shared: m1 answered by A is refused by B (401, MIKEY error 1, audit KMS_EREPLAY as A's own refusal) and by A again without asking the database"

# --- not shared on B: the residual risk ------------------------------------------------
stop "$bpid" "kmsd b"
conf b "$pb" "$mb" false refuse
start_b
req m2
status "$A" m2 200
status "$B" m2 200
status "$B" m2 401
ok "replay.shared = false on B: m2 answered by A is served once more by B (the residual risk), then refused by B's cache"

# --- the database stopped --------------------------------------------------------------
stop "$bpid" "kmsd b"
conf b "$pb" "$mb" true refuse
start_b
pg_stop
req m3
status "$B" m3 503 12
grep -q "^X-KMS-Error: KMS_EUNAVAIL the shared replay store cannot be reached" "$tmp/hdr" ||
	fail "B: X-KMS-Error $(header X-KMS-Error)"
wait_log "shared replay store unreachable" b.log
req m4
status "$A" m4 200
wait_log "serving with this node's replay cache only until it answers"
[ "$(metric "$mb" 'kms_replay_shared_failures_total{action="refused"}')" -ge 1 ] ||
	fail "B: refused failures"
[ "$(metric "$ma" 'kms_replay_shared_failures_total{action="local"}')" = 1 ] ||
	fail "A: local failures"
[ "$(metric "$ma" kms_replay_shared_up)" = 0 ] || fail "A: kms_replay_shared_up"
ok "database stopped: B (refuse) answers 503 KMS_EUNAVAIL with the reason, A (local) serves, each logs the outage and counts it"

# --- started again: the checks resume --------------------------------------------------
pg_start # the same cluster on the same port
i=0
served_b() { # a fresh request served by B (its checks reach the store again)
	i=$((i + 1))
	req "m5_$i"
	[ "$(post "$B" "m5_$i")" = 200 ]
}
wait_for 10 "B does not serve once the database is back" served_b
wait_log "shared replay store answers again: checks resume" b.log
# A served m4 locally and waits replay.on_store_failure's retry interval
# before it asks the store again: fresh requests until it has.
j=$i
resumed_a() {
	i=$((i + 1))
	req "m5_$i"
	post "$A" "m5_$i" >/dev/null
	log_has "shared replay store answers again" 1 kmsd.log
}
wait_for 10 "A does not ask the store again once it is back" resumed_a
status "$A" "m5_$j" 401 1
[ "$(metric "$ma" kms_replay_shared_refusals_total)" = 1 ] || fail "A: shared refusals"
ok "database started again: B serves, and A refuses what B answered (the shared checks resumed)"

stop "$apid" "kmsd a"
stop "$bpid" "kmsd b"
pg_stop
