#!/bin/sh
# kmsctl -c with kms.store = "postgresql": the same commands (init --demo,
# psk, policy, peer, key, status) on a SQLite store and on a throwaway
# PostgreSQL cluster print the same (times and the store's name aside);
# nothing names the connection string; backup and restore refuse, naming
# pg_dump and pg_restore, without creating DIR; kmsd -t passes without
# store files; kmsd serves a PSK flow from PostgreSQL and kmsctl audit
# reads its rows, which carry kms.node.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need_pg
pg_start
port=$(free_port)
B="http://127.0.0.1:$port"
U="$B/kms"
# conf NAME KMS_SETTINGS: $tmp/NAME.conf with state directory $tmp/NAME.
conf() {
	cat >"$tmp/$1.conf" <<CONF
ua = { port = $port; threads = 2; };
kms = { state_dir = "$tmp/$1"; $2 };
CONF
}
conf lite ""
# A password that must never be printed: trust authentication ignores it.
conf pgst "store = \"postgresql\"; node = \"node-a\";
	conninfo = \"$PG_CONNINFO password=s3cret-pw application_name=kmsctl_pg\";"
printf 'not a real CA, kmsctl only stores its path\n' >"$tmp/ca.pem"
printf '000102030405060708090a0b0c0d0e0f\n' >"$tmp/key.hex"

# k NAME STEP WANT ARGS...: kmsctl -c NAME.conf ARGS, exit status WANT;
# stdout in $tmp/NAME.STEP with times, ages and the state directory masked.
k() {
	k_name=$1 k_step=$2 k_want=$3
	shift 3
	set +e
	"$KMSCTL" -c "$tmp/$k_name.conf" "$@" >"$tmp/raw.out" 2>"$tmp/$k_name.$k_step.err"
	k_rc=$?
	set -e
	[ "$k_rc" = "$k_want" ] ||
		fail "$k_name: kmsctl $*: exit $k_rc, expected $k_want: $(cat "$tmp/$k_name.$k_step.err")"
	sed -E -e "s|$tmp/$k_name|DIR|g" -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z/TIME/g' \
		-e 's/\(age [^)]*\)/(AGE)/' "$tmp/raw.out" >"$tmp/$k_name.$k_step"
	if grep -q "s3cret-pw\|port=$PG_PORT" "$tmp/raw.out" "$tmp/$k_name.$k_step.err"; then
		fail "$k_name: kmsctl $* printed the connection string"
	fi
}
# session NAME: the commands on one store.
session() {
	k "$1" init 0 init --demo
	k "$1" psk-add 0 psk add carol@example.org --identity carol@example.org \
		--identity carol.work@example.org --key-file "$tmp/key.hex" --expires 4102444800
	k "$1" psk-list 0 psk list
	k "$1" psk-rm 0 psk remove alice@example.org
	k "$1" psk-rm-again 1 psk remove alice@example.org
	k "$1" psk-list2 0 psk list
	k "$1" pol-add 0 policy add --from '*@example.org' --to '*@*' --allow --priority 5
	k "$1" pol-add2 0 policy add --from bob@example.org --to carol@example.org --deny
	k "$1" pol-list 0 policy list
	k "$1" pol-rm 0 policy remove 1
	k "$1" pol-rm-again 1 policy remove 1
	k "$1" pol-list2 0 policy list
	k "$1" peer-add 0 peer add --kms-id kms2.example.org --url https://127.0.0.1:8443/zk \
		--ca "$tmp/ca.pem" --cert-name kms2.test --responders '*@*' --key-file "$tmp/key.hex"
	k "$1" peer-add-again 1 peer add --kms-id kms2.example.org --url https://kms2.test/zk \
		--ca "$tmp/ca.pem" --cert-name kms3.test --responders '*@*' --key-file "$tmp/key.hex"
	k "$1" peer-list 0 peer list
	k "$1" rotate 0 key rotate
	k "$1" retire-active 1 key retire 2
	k "$1" retire 0 key retire 1
	k "$1" key-list 0 key list
	k "$1" status 0 status
}
session lite
session pgst
for s in init psk-add psk-list psk-list2 pol-add pol-add2 pol-list pol-rm pol-list2 \
	peer-add peer-list rotate retire key-list; do
	cmp -s "$tmp/lite.$s" "$tmp/pgst.$s" ||
		fail "kmsctl output differs ($s): $(diff "$tmp/lite.$s" "$tmp/pgst.$s")"
done
# The failures say the same, naming the store as a file or as PostgreSQL.
for s in psk-rm-again pol-rm-again retire-active; do
	sed "s|$tmp/lite/kms.db|the PostgreSQL store (kms.conninfo)|" "$tmp/lite.$s.err" |
		cmp -s - "$tmp/pgst.$s.err" ||
		fail "kmsctl error differs ($s): $(cat "$tmp/lite.$s.err" "$tmp/pgst.$s.err")"
done
grep -q "^store: DIR/kms.db\$" "$tmp/lite.status" || fail "status store line (SQLite)"
grep -q "^store: the PostgreSQL store (kms.conninfo)\$" "$tmp/pgst.status" ||
	fail "status store line (PostgreSQL): $(cat "$tmp/pgst.status")"
sed 1d "$tmp/pgst.status" >"$tmp/pgst.status.rest"
sed 1d "$tmp/lite.status" | cmp -s - "$tmp/pgst.status.rest" ||
	fail "status differs: $(diff "$tmp/lite.status" "$tmp/pgst.status")"
[ "$(pg_sql "SELECT count(*) FROM psk_users")" = 2 ] || fail "psk_users rows in PostgreSQL"
[ "$(pg_sql "SELECT count(*) FROM policy_rules")" = 1 ] || fail "policy rows in PostgreSQL"
ok "psk, policy, peer, key and status: same output on SQLite and PostgreSQL"

# --- backup and restore: pg_dump and pg_restore ------------------------------------
k pgst backup 1 backup "$tmp/b1"
grep -q "pg_dump" "$tmp/pgst.backup.err" || fail "backup: no pg_dump in: $(cat "$tmp/pgst.backup.err")"
[ ! -e "$tmp/b1" ] || fail "backup made its directory for a PostgreSQL store"
k lite backup 0 backup "$tmp/b2"
k pgst restore 1 restore "$tmp/b2"
grep -q "pg_restore" "$tmp/pgst.restore.err" || fail "restore: no pg_restore"
ok "backup and restore refused for PostgreSQL, naming pg_dump and pg_restore"

# --- kmsd: -t without store files, a PSK flow, its audit rows ----------------------
ls "$tmp/pgst" >"$tmp/pgst.files"
grep -q '\.db$' "$tmp/pgst.files" && fail "store files beside a PostgreSQL store: $(cat "$tmp/pgst.files")"
run 0 "$KMSD" "$KMSD_ROOT" -t -c "$tmp/pgst.conf"
ok "kmsd -t with a PostgreSQL store and no store files"

kmsd_start "$tmp/pgst.conf" "$B"
"$UE" request --psk-file "$tmp/pgst/demo-bob.psk" --id bob@example.org --to carol@example.org \
	--out "$tmp/req.bin" --state "$tmp/bob.st" >/dev/null || fail "kms-ue request"
[ "$(post_mikey "$U?requesttype=ticketrequest" "$tmp/req.bin" "$tmp/resp.bin")" = 403 ] ||
	fail "bob -> carol not denied by the rule in PostgreSQL"
deny=$(header X-Request-Id)
"$UE" request --psk-file "$tmp/pgst/demo-bob.psk" --id bob@example.org --to alice@example.org \
	--out "$tmp/req.bin" --state "$tmp/bob.st" >/dev/null || fail "kms-ue request"
[ "$(post_mikey "$U?requesttype=ticketrequest" "$tmp/req.bin" "$tmp/resp.bin")" = 200 ] ||
	fail "bob -> alice"
grant=$(header X-Request-Id)
kmsd_stop # the audit writer flushes at stop
grep -q "s3cret-pw" "$tmp/kmsd.log" && fail "kmsd logged the connection string"
k pgst audit 0 audit --since 2020-01-01T00:00:00Z
grep -q "$grant .*bob@example.org .*REQUEST_INIT_PSK *granted *KMS_EOK" "$tmp/pgst.audit" ||
	fail "kmsctl audit: no grant row: $(cat "$tmp/pgst.audit")"
grep -q "$deny .*refused *KMS_EPOLICY" "$tmp/pgst.audit" || fail "kmsctl audit: no refusal row"
k pgst audit-rid 0 audit --request-id "$deny" --outcome refused
[ "$(wc -l <"$tmp/pgst.audit-rid")" = 2 ] || fail "audit --request-id: $(cat "$tmp/pgst.audit-rid")"
[ "$(pg_sql "SELECT DISTINCT node FROM audit")" = node-a ] || fail "audit rows without kms.node"
ok "kmsd served a PSK flow from PostgreSQL; kmsctl audit reads its rows (node node-a)"
pg_stop
