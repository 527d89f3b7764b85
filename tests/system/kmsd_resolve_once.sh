#!/bin/sh
# Ticket reuse (flag J) and the resolve-once record (kmsd.conf(5) RESOLVE,
# docs/policy.md "Ticket reuse (flag J)") with a real kmsd and kms-ue steps:
# a J = 1 ticket sent again makes no new ticketrequest, goes with a new CSB
# ID and RANDRi, is resolved with a new CSB ID and RANDRr and gets fresh
# forked keys; a J = 0 ticket resolved twice by one identity is served
# twice with resolve.once = false (the documented limit) and refused the
# second time with it on (403, MIKEY error 14, X-KMS-Error KMS_EREUSED, log
# line, audit row); J = 1 tickets are not recorded; a J = 0 group ticket is
# resolved once by each of three members; the record survives a restart
# (SQLite).  When PostgreSQL is installed: the unit tests on it, and two
# nodes with replay.shared = true share the record.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need sqlite3

port=$(free_port)
B="http://127.0.0.1:$port"
U="$B/kms"
S="$tmp/state"
"$KMSCTL" -d "$S" init --demo >"$tmp/init.out" 2>&1 || fail "kmsctl init --demo"
for who in carol dave erin; do
	head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/$who.psk"
	"$KMSCTL" -d "$S" psk add "$who@example.org" --identity "$who@example.org" \
		--identity "$who.dept@example.org" --key-file "$tmp/$who.psk" >/dev/null ||
		fail "psk add $who"
done
"$KMSCTL" -d "$S" policy add --from '*@example.org' --to '*@example.org' --allow --reuse \
	--group >/dev/null || fail "policy add"
conf() { # conf ONCE
	cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 2; error_detail = true; };
kms = { state_dir = "$S"; };
policy = { default_effect = "deny"; reload_interval = 0; };
resolve = { once = $1; };
CONF
}

psk() {
	case $1 in
	alice | bob) echo "$S/demo-$1.psk" ;;
	*) echo "$tmp/$1.psk" ;;
	esac
}
# request NAME TO [--reuse]: Alice's ticket; the TRANSFER_INIT in NAME.ti
request() {
	nm=$1
	to=$2
	shift 2
	"$UE" request --psk-file "$(psk alice)" --id alice@example.org --to "$to" "$@" \
		--out "$tmp/$nm.req" --state "$tmp/$nm.st" >/dev/null 2>"$tmp/err" ||
		fail "request $nm"
	st=$(post_mikey "$U?requesttype=ticketrequest" "$tmp/$nm.req" "$tmp/$nm.resp")
	[ "$st" = 200 ] || fail "ticketrequest $nm: $st $(header X-KMS-Error)"
	"$UE" transfer-init --psk-file "$(psk alice)" --state "$tmp/$nm.st" \
		--resp "$tmp/$nm.resp" --out "$tmp/$nm.ti" >/dev/null 2>"$tmp/err" ||
		fail "transfer-init $nm: $(cat "$tmp/err")"
}
echo 0 >"$tmp/k"
# resolve WHO TI [URL]: a fresh Responder state each time (no cached keys;
# it runs in a subshell, so the count is kept in a file);
# prints the status; the RESOLVE_INIT in $tmp/last.res, the answer in
# $tmp/last.rr, the Responder's keys in $tmp/last.keys when 200.
resolve() {
	k=$(($(cat "$tmp/k") + 1))
	echo "$k" >"$tmp/k"
	"$UE" resolve --psk-file "$(psk "$1")" --id "$1@example.org" --in "$tmp/$2" \
		--out "$tmp/res$k.bin" --state "$tmp/r$k.st" >/dev/null 2>"$tmp/err" ||
		fail "resolve $1 $2: $(cat "$tmp/err")"
	cp "$tmp/res$k.bin" "$tmp/last.res"
	st=$(post_mikey "${3:-$B}/kms?requesttype=ticketresolve" "$tmp/res$k.bin" \
		"$tmp/last.rr")
	if [ "$st" = 200 ]; then
		"$UE" transfer-resp --psk-file "$(psk "$1")" --state "$tmp/r$k.st" \
			--resp "$tmp/last.rr" --out "$tmp/tr$k.bin" >/dev/null 2>"$tmp/err" ||
			fail "transfer-resp $1"
		"$UE" keys --state "$tmp/r$k.st" >"$tmp/last.keys" || fail "keys $1"
	fi
	echo "$st"
}
# field FILE EXPR: a python expression over the decoded message d
field() {
	"$UE" decode --compact "$1" >"$tmp/dec.json" 2>"$tmp/err" || fail "decode $1"
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
p = {x["name"]: x for x in d["payloads"]}
print(eval(sys.argv[2]))' "$tmp/dec.json" "$2" >"$tmp/field" 2>"$tmp/err" ||
		fail "field $2 of $1: $(cat "$tmp/err")"
	cat "$tmp/field"
}
csb() { field "$1" 'd["hdr"]["csb_id"]'; }
rand() { field "$1" 'p["RANDR"]["rand"]'; }
# refused_reused: the last resolve's answer is a MIKEY Error 14 (Invalid
# TICKET) with X-KMS-Error KMS_EREUSED; prints its request id
refused_reused() {
	[ "$(field "$tmp/last.rr" 'd["data_type"]')" = 6 ] || fail "no MIKEY Error body"
	[ "$(field "$tmp/last.rr" 'p["ERR"]["error_no"]')" = 14 ] || fail "not MIKEY error 14"
	grep -q "^X-KMS-Error: KMS_EREUSED" "$tmp/hdr" || fail "X-KMS-Error $(header X-KMS-Error)"
	header X-Request-Id
}
audit_error() { # audit_error RID: the error of its audit row, once written
	wait_for 5 "no audit row for $1" sh -c \
		"[ -n \"\$(sqlite3 '$S/audit.db' \"SELECT error FROM audit WHERE rid = '$1'\")\" ]"
	sqlite3 "$S/audit.db" "SELECT error FROM audit WHERE rid = '$1'"
}
requests() { log_count "ticketrequest from 'alice@example.org'"; }

conf false
kmsd_start "$tmp/kmsd.conf" "$B"

# --- J = 1: reused without a new ticketrequest, fresh exchange and keys ------------
request j1 bob@example.org --reuse
[ "$(resolve bob j1.ti)" = 200 ] || fail "J = 1: first resolve"
cp "$tmp/last.res" "$tmp/j1.res"
cp "$tmp/last.keys" "$tmp/j1.keys"
wait_count "ticketrequest from 'alice@example.org'" 1
"$UE" transfer-init --state "$tmp/j1.st" --out "$tmp/j1b.ti" >/dev/null 2>"$tmp/err" ||
	fail "transfer-init reuse: $(cat "$tmp/err")"
[ "$(field "$tmp/j1.ti" 'p["TICKET"]["ticket_data"]')" = \
	"$(field "$tmp/j1b.ti" 'p["TICKET"]["ticket_data"]')" ] || fail "not the same ticket"
[ "$(csb "$tmp/j1.ti")" != "$(csb "$tmp/j1b.ti")" ] || fail "reused TRANSFER_INIT: same CSB ID"
[ "$(rand "$tmp/j1.ti")" != "$(rand "$tmp/j1b.ti")" ] || fail "reused TRANSFER_INIT: same RANDRi"
[ "$(resolve bob j1b.ti)" = 200 ] || fail "J = 1: the reused ticket not resolved"
[ "$(csb "$tmp/j1.res")" != "$(csb "$tmp/last.res")" ] || fail "second resolve: same CSB ID"
[ "$(rand "$tmp/j1.res")" != "$(rand "$tmp/last.res")" ] || fail "second resolve: same RANDRr"
cmp -s "$tmp/j1.keys" "$tmp/last.keys" && fail "second resolve: the same forked keys"
[ "$(requests)" = 1 ] || fail "the reuse made a ticketrequest ($(requests))"
ok "J = 1: sent again with a new CSB ID and RANDRi and no ticketrequest; resolved again with a new CSB ID and RANDRr, fresh forked keys"

# --- J = 0 without the record: a second resolve is served (the documented limit) ----
request j0 bob@example.org
"$UE" transfer-init --state "$tmp/j0.st" --out "$tmp/x.ti" >/dev/null 2>&1 &&
	fail "kms-ue transfer-init reused a J = 0 ticket"
[ "$(resolve bob j0.ti)" = 200 ] || fail "J = 0: first resolve"
[ "$(resolve bob j0.ti)" = 200 ] || fail "J = 0, resolve.once = false: second resolve refused"
ok "J = 0, resolve.once = false: kms-ue refuses to send it again; a second resolve by bob is served (stateless KMS)"

# --- the record on: a second resolve by the same identity is refused -----------------
kmsd_stop
conf true
kmsd_start "$tmp/kmsd.conf" "$B"
wait_log "resolve-once record: $S/resolve_once.db, 0 of 1048576 rows"
request j0b bob@example.org
[ "$(resolve bob j0b.ti)" = 200 ] || fail "resolve.once: first resolve refused"
[ "$(resolve bob j0b.ti)" = 403 ] || fail "resolve.once: second resolve not refused (403)"
rid=$(refused_reused)
wait_log "$rid.*ticketresolve from 'bob@example.org' refused: ticket not reusable"
[ "$(audit_error "$rid")" = KMS_EREUSED ] || fail "audit row: $(audit_error "$rid")"
[ "$(resolve bob j1.ti)" = 200 ] || fail "J = 1 with resolve.once: refused"
[ "$(resolve bob j1.ti)" = 200 ] || fail "J = 1 with resolve.once: recorded"
ok "resolve.once: bob's second resolve of a J = 0 ticket 403, MIKEY error 14, KMS_EREUSED in the log line and audit row; J = 1 not recorded"

# --- a J = 0 group ticket: each member once -------------------------------------------
request grp '*.dept@example.org'
for who in carol dave erin; do
	[ "$(resolve "$who" grp.ti)" = 200 ] || fail "group: $who refused"
done
[ "$(resolve carol grp.ti)" = 403 ] || fail "group: carol's second resolve not refused"
refused_reused >/dev/null
ok "J = 0 group ticket: carol, dave and erin resolve once each; carol's second try 403"

# --- kept across a restart (SQLite) ----------------------------------------------------
kmsd_stop
kmsd_start "$tmp/kmsd.conf" "$B"
wait_log "resolve-once record: $S/resolve_once.db, 4 of 1048576 rows"
[ "$(resolve dave grp.ti)" = 403 ] || fail "after a restart: dave's second resolve served"
[ "$(resolve bob j0b.ti)" = 403 ] || fail "after a restart: bob's second resolve served"
ok "restart: the record (4 rows) is back from resolve_once.db; dave and bob refused"
kmsd_stop

# --- two nodes on one PostgreSQL share the record ---------------------------------------
if [ ! -x "${KMS_PG_BINDIR:-/usr/lib/postgresql/15/bin}/initdb" ]; then
	echo "kmsd_resolve_once: $n groups passed (PostgreSQL not installed: shared record not tested)"
	exit 0
fi
need_pg
pg_start
KMS_TEST_PG=$PG_CONNINFO "$top_builddir/tests/unit/test_resolve_once" \
	>"$tmp/unit.log" 2>&1 || fail "test_resolve_once: $(tail -5 "$tmp/unit.log")"
grep -q "resolve_once_pg: 6 tests run, all passed" "$tmp/unit.log" ||
	fail "test_resolve_once did not run its PostgreSQL tests"
pa=$(free_port)
pb=$(free_port)
pconf() { # pconf NODE PORT
	cat >"$tmp/$1.conf" <<CONF
ua = { port = $2; threads = 2; error_detail = true; };
kms = { state_dir = "$tmp/$1"; store = "postgresql"; conninfo = "$PG_CONNINFO";
	node = "$1"; };
policy = { reload_interval = 0; };
replay = { shared = true; };
resolve = { once = true; };
CONF
}
pconf a "$pa"
pconf b "$pb"
"$KMSCTL" -c "$tmp/a.conf" init --demo >"$tmp/init.out" 2>&1 || fail "kmsctl init --demo (pg)"
mkdir -m 0700 "$tmp/b"
cp -p "$tmp/a/kek" "$tmp/b/kek"
S="$tmp/a" # the demo PSKs
U="http://127.0.0.1:$pa/kms"
kmsd_start "$tmp/a.conf" "http://127.0.0.1:$pa"
daemon b.log "$KMSD" "$KMSD_ROOT" -c "$tmp/b.conf"
bpid=$dpid
wait_up "http://127.0.0.1:$pb/healthz" "$bpid" "kmsd b"
wait_log "resolve-once record: the shared replay store"
request pg bob@example.org
[ "$(resolve bob pg.ti "http://127.0.0.1:$pa")" = 200 ] || fail "pg: A refused the first resolve"
[ "$(resolve bob pg.ti "http://127.0.0.1:$pb")" = 403 ] || fail "pg: B served bob's second resolve"
refused_reused >/dev/null
[ "$(pg_sql "SELECT count(*) FROM resolve_once")" = 1 ] || fail "pg: rows"
ok "PostgreSQL: the unit tests pass on it; bob's resolve on node A is refused on node B (one shared row)"
stop "$bpid" "kmsd b"
kmsd_stop
echo "kmsd_resolve_once: $n groups passed"
