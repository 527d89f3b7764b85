#!/bin/sh
# The PostgreSQL schema (sql/pg_kms_001.sql, sql/pg_audit_001.sql) on a
# throwaway cluster: both apply; every change of policy_rules moves
# policy_version by one per statement whatever its rows, every change of the
# master keys, PSK users and identities and Zk peers moves store_version;
# a LISTEN kms_change session hears 'policy' or 'store' for a committed
# change and nothing for a rolled-back one; the partial unique index refuses
# a second active key, lower(cert_name) a peer differing in case only, and
# the CHECKs a 300-byte identity and a 256-byte one in 128 characters.
# The cluster (tests/system/lib.sh) stops and starts again with its data.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need_pg

pg_start
for f in pg_kms_001 pg_audit_001; do
	run 0 pg_psql -1 -f "$top_srcdir/sql/$f.sql"
done
pg_sql "SELECT table_name FROM information_schema.tables
	WHERE table_schema = 'public' ORDER BY 1" | tr '\n' ' ' >"$tmp/tables"
want="audit master_keys policy_rules policy_version psk_identities psk_users store_version zk_peers "
[ "$(cat "$tmp/tables")" = "$want" ] || fail "tables: $(cat "$tmp/tables")"
ok "pg_kms_001.sql and pg_audit_001.sql apply in one transaction each; the eight tables are there"

# delta NAME SQL: SQL, a statement of its own, then the row "NAME|by how
# much policy_version moved|by how much store_version moved", in one psql
# script (a psql per statement is slow on a busy host).
delta() {
	cat >>"$tmp/delta.sql" <<EOF
SELECT p.version AS p0, s.version AS s0 FROM policy_version p, store_version s \gset
$2;
SELECT '$1', p.version - :p0, s.version - :s0 FROM policy_version p, store_version s;
EOF
}
k40=$(python3 -c 'print("ab" * 40)')
k24=$(python3 -c 'print("cd" * 24)')
peer="INSERT INTO zk_peers (kms_id, url, ca_file, cert_name, wrapped, key_len, created)"
delta "3 rules" "INSERT INTO policy_rules (initiator, responder, effect)
	VALUES ('*@a.example', '*@b.example', 0), ('x@a.example', '*@*', 1),
	('*@*', 'y@b.example', 0)"
echo "SELECT string_agg(id::text, ' ' ORDER BY id),
	bool_and(abs(created - extract(epoch FROM now())) < 60) FROM policy_rules;" \
	>>"$tmp/delta.sql"
delta "update rules" "UPDATE policy_rules SET priority = priority + 1"
delta "rule 40" "INSERT INTO policy_rules (id, initiator, responder, effect)
	VALUES (40, 'z@a.example', '*@*', 1)"
delta "delete rules" "DELETE FROM policy_rules WHERE id >= 2"
delta "truncate rules" "TRUNCATE policy_rules"
delta "2 keys" "INSERT INTO master_keys (id, state, wrapped, created)
	VALUES (1, 0, '\\x$k40', 1), (2, 1, '\\x$k40', 1)"
delta "retire key" "UPDATE master_keys SET state = 2, wrapped = NULL WHERE id = 2"
delta "2 psk users" "INSERT INTO psk_users (psk_id, wrapped, key_len, created)
	VALUES ('ue1', '\\x$k40', 32, 1), ('ue2', '\\x$k40', 32, 1)"
delta "3 identities" "INSERT INTO psk_identities VALUES ('ue1', 'a@a.example'),
	('ue1', 'b@a.example'), ('ue2', 'c@a.example')"
# The cascade to psk_identities is a statement of its own: one more.
delta "delete psk user" "DELETE FROM psk_users WHERE psk_id = 'ue2'"
echo "SELECT count(*) FROM psk_identities;" >>"$tmp/delta.sql"
delta "peer" "$peer VALUES ('kms.b.example', 'https://kms.b.example/zk',
	'/etc/ca.pem', 'Kms.B.Example', '\\x$k24', 16, 1)"
echo "SELECT responders FROM zk_peers;" >>"$tmp/delta.sql"
delta "delete key" "DELETE FROM master_keys WHERE id = 2"
delta "no row" "UPDATE zk_peers SET created = 3 WHERE false"
delta "truncate identities" "TRUNCATE psk_identities"
run 0 pg_psql -f "$tmp/delta.sql"
cat >"$tmp/want" <<EOF
3 rules|1|0
1 2 3|t
update rules|1|0
rule 40|1|0
delete rules|1|0
truncate rules|1|0
2 keys|0|1
retire key|0|1
2 psk users|0|1
3 identities|0|1
delete psk user|0|2
2
peer|0|1
*@*
delete key|0|1
no row|0|1
truncate identities|0|1
EOF
diff "$tmp/want" "$tmp/out" >"$tmp/diff" || fail "counters: $(cat "$tmp/diff")"
ok "policy_rules: ids from the identity column, explicit ids taken, created now; a 3-row insert, update, delete, truncate each move policy_version by 1"
ok "master_keys, psk_users, psk_identities, zk_peers: each statement moves store_version by 1 (2 with a cascade), not policy_version"

# Each statement fails alone; the constraints named in the errors, in order.
id300=$(python3 -c 'print("a" * 290 + "@a.example")')
id128=$(python3 -c 'print("\u00e9" * 128)')
cat >"$tmp/refused.sql" <<EOF
INSERT INTO master_keys (id, state, wrapped, created) VALUES (3, 0, '\\x$k40', 2);
INSERT INTO master_keys (id, state, wrapped, created) VALUES (3, 2, '\\x$k40', 2);
$peer VALUES ('kms.c.example', 'https://kms.c.example/zk', '/etc/ca.pem',
	'kms.b.EXAMPLE', '\\x$k24', 16, 1);
$peer VALUES ('kms.c.example', 'https://kms.c.example/zk', '/etc/ca.pem',
	'kms.c.example', '\\x$k24', 32, 1);
$peer VALUES ('$id300', 'https://kms.c.example/zk', '/etc/ca.pem',
	'kms.c.example', '\\x$k24', 16, 1);
$peer VALUES ('$id128', 'https://kms.c.example/zk', '/etc/ca.pem',
	'kms.c.example', '\\x$k24', 16, 1);
INSERT INTO policy_rules (initiator, responder, effect) VALUES ('$id300', '*@*', 0);
INSERT INTO policy_rules (initiator, responder, effect) VALUES ('*@*', '*@*', 2);
SELECT count(*) FROM master_keys;
SELECT count(*) FROM zk_peers;
SELECT count(*) FROM policy_rules;
EOF
run 0 pg_psql -v ON_ERROR_STOP=0 -f "$tmp/refused.sql"
sed -n 's/^.*ERROR: .* constraint "\([a-z_]*\)".*$/\1/p' "$tmp/err" | tr '\n' ' ' >"$tmp/names"
[ "$(tr '\n' ' ' <"$tmp/out")" = "1 1 0 " ] || fail "rows after refusals: $(cat "$tmp/out")"
want="master_keys_active master_keys_check zk_peers_cert_name zk_peers_check"
want="$want zk_peers_kms_id_check zk_peers_kms_id_check policy_rules_initiator_check"
want="$want policy_rules_effect_check "
[ "$(cat "$tmp/names")" = "$want" ] || fail "refused by: $(cat "$tmp/names")"
ok "refused: a second active key, a peer's cert_name differing in case only, a 300-byte identity, a 256-byte one in 128 characters, bad effect and key length"

notes=$(python3 "$top_srcdir/tests/system/pg_listen.py" "$pg_bindir/psql" \
	"$PG_CONNINFO" kms_change \
	"BEGIN; INSERT INTO policy_rules (initiator, responder, effect)
	 VALUES ('*@*', '*@*', 1); ROLLBACK;" \
	"INSERT INTO policy_rules (initiator, responder, effect)
	 VALUES ('*@*', '*@*', 1), ('*@*', 'a@a.example', 0);" \
	"BEGIN; UPDATE master_keys SET rotated = 5; UPDATE zk_peers SET created = 2; COMMIT;" \
	"BEGIN; DELETE FROM zk_peers; ROLLBACK;" 2>"$tmp/listen.err") ||
	fail "pg_listen.py: $(cat "$tmp/listen.err")"
notes=$(echo "$notes" | tr '\n' ' ')
[ "$notes" = "policy store " ] || fail "notifications: '$notes'"
ok "LISTEN kms_change: 'policy' for a committed rule insert, one 'store' for a transaction of two store updates, nothing for rolled-back ones"

run 0 pg_sql "INSERT INTO audit (time_ms, rid, requester, msg_type, decision, error,
	ticket_key_id) VALUES (1764700000123, 'r1', 'a@a.example', 1, 0, '', 0) RETURNING id"
[ "$(cat "$tmp/out")" = 1 ] || fail "audit id $(cat "$tmp/out")"
[ "$(pg_sql "SELECT node || '|' || count || '|' || client FROM audit")" = "|1|" ] ||
	fail "audit defaults"
run 0 pg_sql "SELECT column_name FROM information_schema.columns
	WHERE table_name = 'audit' AND column_name IN ('time', 'node')"
[ "$(cat "$tmp/out")" = node ] || fail "audit columns: $(cat "$tmp/out")"
ok "audit: id from the identity column, node defaults to '', no time column"

if command -v sqlite3 >/dev/null 2>&1; then
	cat "$top_srcdir"/sql/audit_00[1-9].sql >"$tmp/audit.sql"
	run 0 sqlite3 -bail "$tmp/audit.db" ".read $tmp/audit.sql"
	run 0 sqlite3 "$tmp/audit.db" "INSERT INTO audit (time_ms, rid, requester,
		msg_type, decision, error, ticket_key_id, node)
		VALUES (1764700000123, 'r', 'q', 1, 0, '', 0, 'kms-a');
		SELECT node, time FROM audit"
	[ "$(cat "$tmp/out")" = "kms-a|2025-12-02T18:26:40.123Z" ] ||
		fail "SQLite audit_005: $(cat "$tmp/out")"
	ok "SQLite: audit_001..audit_005.sql apply, node is a column beside time"
fi

counters() {
	pg_sql "SELECT p.version || ' ' || s.version FROM policy_version p, store_version s"
}
before="$(counters) $PG_PORT"
pg_stop
pg_start
after="$(counters) $PG_PORT"
[ "$after" = "$before" ] || fail "after a restart: $after, not $before"
pg_stop
ok "the cluster stops, starts again on its port with its rows, and stops"
