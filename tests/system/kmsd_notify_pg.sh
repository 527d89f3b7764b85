#!/bin/sh
# Change propagation between two kmsd nodes on one PostgreSQL store (same
# store, same KEK file, own ports and state directories), with
# policy.reload_interval = 3600 so that only LISTEN/NOTIFY can explain a
# change reaching node B within the test's bounds.  Every change is made
# with kmsctl -c on node A's config:
#   (a) key rotate: B then seals tickets under the new key id;
#   (b) key retire of the old key: a ticket B sealed under it no longer
#       resolves on B (it did after the rotation);
#   (c) a deny rule: B refuses the pair;
#   (d) B's listening connection is killed (pg_terminate_backend on its
#       application_name) while B cannot log in, a change is made then,
#       and B applies it once it has reconnected (the reload after a lost
#       connection: the notification itself was lost).
# Each "within" is a bounded wait of 10 s for B's next "reload done" log
# line after the commit (a grep, so that the bound holds on a loaded host),
# then the behaviour is checked once.  The store watch's metrics are
# checked on B's /metrics.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need_pg
pg_start

SA="$tmp/a"
SB="$tmp/b"
mkdir -m 0700 "$SB"
pa=$(free_port)
pb=$(free_port)
mb=$(free_port)
# Node B logs in as a role of its own (kmsb), so that (d) can keep B out
# while A's kmsctl still gets in.
pg_sql "CREATE ROLE kmsb LOGIN SUPERUSER" >/dev/null
conf() { # conf NAME UA_PORT STATE_DIR USER [EXTRA]
	cat >"$tmp/$1.conf" <<CONF
ua = { port = $2; threads = 2; };
kms = { state_dir = "$3"; kek_file = "$tmp/kek"; store = "postgresql";
	conninfo = "host=$PG_HOST port=$PG_PORT dbname=kms user=$4"; node = "$1"; };
policy = { reload_interval = 3600; };
${5:-}
CONF
}
conf a "$pa" "$SA" "$PG_USER"
conf b "$pb" "$SB" kmsb "metrics = { port = $mb; };"
"$KMSCTL" -c "$tmp/a.conf" init --demo >"$tmp/init.out" 2>&1 ||
	fail "kmsctl init --demo: $(cat "$tmp/init.out")"
ctl() { # ctl ARGS...: kmsctl on node A's config; output in $tmp/out
	run 0 "$KMSCTL" -c "$tmp/a.conf" "$@"
}
for node in a b; do
	eval "port=\$p$node"
	daemon "$node.log" "$KMSD" "$KMSD_ROOT" -c "$tmp/$node.conf"
	eval "pid_$node=\$dpid"
	wait_up "http://127.0.0.1:$port/healthz" "$dpid" "kmsd $node"
	wait_log "store watch: listening on kms_change" "$node.log"
done
ok "two kmsd nodes on one PostgreSQL store, each listening on kms_change"

a="--psk-file $SA/demo-alice.psk"
b="--psk-file $SA/demo-bob.psk"
issue() { # issue NAME: Alice asks node B for a ticket to Bob; prints the status
	# shellcheck disable=SC2086
	"$UE" request $a --id alice@example.org --to bob@example.org \
		--out "$tmp/$1.req" --state "$tmp/$1.st" || fail "request ($1)"
	post_mikey "http://127.0.0.1:$pb/kms?requesttype=ticketrequest" "$tmp/$1.req" \
		"$tmp/$1.resp"
}
key_of() { # key_of NAME: the master key id of the ticket in NAME.resp
	"$UE" decode "$tmp/$1.resp" >"$tmp/$1.json" 2>/dev/null || fail "decode ($1)"
	python3 -c 'import json, sys
def find(o):
    if isinstance(o, dict):
        if "ticket_data" in o:
            return o["ticket_data"]
        o = list(o.values())
    if isinstance(o, list):
        for v in o:
            r = find(v)
            if r is not None:
                return r
    return None
d = find(json.load(open(sys.argv[1])))
# ticket data: format (1 byte), then the key id (4 bytes, big-endian)
print(int(d[2:10], 16) if d else -1)' "$tmp/$1.json"
}
resolve() { # resolve TICKET: Bob resolves TICKET (a TRANSFER_INIT) at node B; prints the status
	# shellcheck disable=SC2086
	"$UE" resolve $b --id bob@example.org --in "$tmp/$1" --out "$tmp/res.bin" \
		--state "$tmp/bob.st" || fail "resolve ($1)"
	post_mikey "http://127.0.0.1:$pb/kms?requesttype=ticketresolve" "$tmp/res.bin" \
		"$tmp/rr.bin"
}
b_reloads=0
b_changed() { # b_changed WHAT: B reloads once more within 10 s (count from before WHAT)
	b_reloads=$((b_reloads + 1))
	wait_for 10 "node B: no reload within 10 s of $1" \
		log_has "reload done" "$b_reloads" b.log
}
b_metric() { # b_metric LINE: B's /metrics has LINE
	curl -s -m 5 "http://127.0.0.1:$mb/metrics" | grep -qx "$1"
}

# --- (a) key rotate --------------------------------------------------------------------
ctl key list
old=$(awk '$2 == "active" { print $1 }' "$tmp/out")
[ -n "$old" ] || fail "no active key: $(cat "$tmp/out")"
[ "$(issue t1)" = 200 ] || fail "node B: ticket request refused"
[ "$(key_of t1)" = "$old" ] || fail "node B sealed under key $(key_of t1), not $old"
# shellcheck disable=SC2086
"$UE" transfer-init $a --state "$tmp/t1.st" --resp "$tmp/t1.resp" --out "$tmp/t1.ti" \
	>/dev/null 2>"$tmp/err" || fail "transfer-init"
[ "$(resolve t1.ti)" = 200 ] || fail "node B does not resolve its own ticket"
ctl key rotate
new=$(sed -n 's/.*master key \([0-9]*\) is active.*/\1/p' "$tmp/out")
[ -n "$new" ] && [ "$new" != "$old" ] || fail "key rotate: $(cat "$tmp/out")"
b_changed "the rotation"
[ "$(issue t2)" = 200 ] || fail "node B refused a ticket request after the rotation"
[ "$(key_of t2)" = "$new" ] || fail "node B seals under key $(key_of t2), not $new"
wait_log "kms.db changed (notified): reloading" b.log
b_metric "kms_store_listener_connected 1" || fail "B: listener not connected in /metrics"
curl -s -m 5 "http://127.0.0.1:$mb/metrics" | grep -q '^kms_store_notifications_total [1-9]' ||
	fail "B: no notification counted in /metrics"
[ "$(resolve t1.ti)" = 200 ] || fail "node B: a ticket under the rotated key no longer resolves"
ok "(a) key rotate through node A: node B seals under key $new within 10 s (notified)"

# --- (b) key retire ----------------------------------------------------------------------
ctl key retire "$old"
b_changed "the retirement"
[ "$(resolve t1.ti)" = 403 ] || fail "node B still resolves a ticket under retired key $old"
ok "(b) key retire through node A: node B refuses tickets under key $old within 10 s"

# --- (c) a deny rule ---------------------------------------------------------------------
ctl policy add --from alice@example.org --to bob@example.org --deny --priority 10
rule=$(sed -n 's/.*rule \([0-9]*\).*/\1/p' "$tmp/out" | head -n 1)
[ -n "$rule" ] || fail "policy add: no rule id in: $(cat "$tmp/out")"
b_changed "the deny rule"
[ "$(issue t3)" = 403 ] || fail "node B still grants alice -> bob after the deny rule"
ok "(c) deny rule through node A: node B refuses alice -> bob within 10 s"

# --- (d) the listening connection killed; the change made while B is out ----------------
pg_sql "ALTER ROLE kmsb NOLOGIN" >/dev/null
killed=$(pg_sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	WHERE application_name = 'kmsd-watch b'")
[ "$killed" = 1 ] || fail "node B's listening connection not found ($killed)"
wait_log "store watch: connection lost" b.log
ctl policy remove "$rule" # its notification reaches A only
pg_sql "ALTER ROLE kmsb LOGIN" >/dev/null
b_changed "the rule's removal (B logged in again)"
grep -q "store watch reconnected (changes may have been missed): reloading" "$tmp/b.log" ||
	fail "node B's reload was not the one after reconnecting"
[ "$(issue t4)" = 200 ] || fail "node B still refuses alice -> bob after the rule was removed"
[ "$(log_count "store watch: listening on kms_change" b.log)" = 2 ] ||
	fail "node B did not listen again exactly once"
[ "$(log_count "store watch: connection lost" b.log)" = 1 ] ||
	fail "node B logged the loss more than once"
b_metric "kms_store_listener_connected 1" || fail "B: listener not connected again"
ok "(d) listener killed, change made meanwhile: node B reconnects and reloads within 10 s"

stop "$pid_b" "kmsd b"
stop "$pid_a" "kmsd a"
grep -q "store watch" "$tmp/a.log" || fail "node A ran no store watch"
ok "both nodes stop cleanly (the watch thread ends first)"
pg_stop
