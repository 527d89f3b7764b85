#!/bin/sh
# kmsctl backup / restore around a real kmsd: a ticket issued before an
# online backup still resolves after the state directory was wiped and
# restored; restore refuses while kmsd runs and when the files differ from
# the manifest; a backup taken before a key retirement is refused (naming
# the key) unless --force, which brings the key and its tickets back.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need sqlite3

port=$(free_port)
B="http://127.0.0.1:$port"
U="$B/kms"
S="$tmp/state"
mode() {
	stat -c %a "$1"
}
"$KMSCTL" -d "$S" init --demo >"$tmp/init.out" 2>&1 || fail "kmsctl init --demo"
cp "$S/demo-alice.psk" "$S/demo-bob.psk" "$tmp/"
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 2; };
kms = { state_dir = "$S"; };
CONF
kmsd_start "$tmp/kmsd.conf" "$B"

# --- a ticket for Bob, then an online backup ------------------------------------------
"$UE" request --psk-file "$tmp/demo-alice.psk" --id alice@example.org --to bob@example.org \
	--out "$tmp/req.bin" --state "$tmp/alice.st" || fail "request"
[ "$(post_mikey "$U?requesttype=ticketrequest" "$tmp/req.bin" "$tmp/resp.bin")" = 200 ] ||
	fail "ticketrequest"
"$UE" transfer-init --psk-file "$tmp/demo-alice.psk" --state "$tmp/alice.st" \
	--resp "$tmp/resp.bin" --out "$tmp/ti.bin" >/dev/null 2>"$tmp/err" || fail "transfer-init"
# resolved WANT TAG: Bob resolves the ticket; the HTTP status must be WANT.
resolved() {
	"$UE" resolve --psk-file "$tmp/demo-bob.psk" --id bob@example.org --in "$tmp/ti.bin" \
		--out "$tmp/res-$2.bin" --state "$tmp/bob-$2.st" || fail "resolve ($2)"
	got=$(post_mikey "$U?requesttype=ticketresolve" "$tmp/res-$2.bin" "$tmp/rr-$2.bin")
	[ "$got" = "$1" ] || fail "ticketresolve ($2): $got, expected $1"
}
resolved 200 before
# The audit writer commits in batches: the backup must hold both rows.
audit_rows() { [ "$(sqlite3 "$S/audit.db" 'SELECT count(*) FROM audit;' 2>/dev/null)" -ge 2 ]; }
wait_for 10 "the two audit rows committed" audit_rows
run 0 "$KMSCTL" -d "$S" backup "$tmp/b1"
grep -q "to $tmp/b1" "$tmp/out" || fail "backup: no report"
[ "$(mode "$tmp/b1") $(mode "$tmp/b1/kek") $(mode "$tmp/b1/kms.db") $(mode "$tmp/b1/audit.db")" = \
	"700 600 600 600" ] || fail "backup modes"
[ ! -e "$tmp/b1/kms.db-wal" ] || fail "backup: a -wal beside the copy"
run 0 python3 -c 'import hashlib, json, sys
d = sys.argv[1]
m = json.load(open(d + "/manifest.json"))
assert m["format"] == 1 and m["schema"]["kms"] >= 1 and m["schema"]["audit"] >= 1, m
assert m["keys"] == [{"id": 1, "state": "active"}], m["keys"]
for name in ("kms.db", "audit.db", "kek"):
    h = hashlib.sha256(open(d + "/" + name, "rb").read()).hexdigest()
    assert m["files"][name]["sha256"] == h, name' "$tmp/b1"
# The KEK file and the PSK files hold hex text.
if grep -Eq "$(cat "$tmp/demo-alice.psk")|$(head -c 32 "$S/kek")" "$tmp/b1/manifest.json"; then
	fail "key bytes in the manifest"
fi
run 1 "$KMSCTL" -d "$tmp/b1x" backup "$tmp/b1"
run 1 "$KMSCTL" -d "$S" backup "$tmp/b1"
grep -q 'not empty' "$tmp/err" || fail "backup into a used directory: reason"
ok "online backup: kms.db, audit.db, KEK (0600) and a manifest with hashes, no key bytes"

run 1 "$KMSCTL" -d "$S" restore "$tmp/b1"
grep -q 'stop kmsd' "$tmp/err" || fail "restore while kmsd runs: reason"
ok "restore refuses while kmsd has the store open"

# --- wipe, restore, the old ticket resolves -------------------------------------------
kmsd_stop
rm -rf "$S"
run 0 "$KMSCTL" -d "$S" restore "$tmp/b1"
[ "$(mode "$S") $(mode "$S/kek") $(mode "$S/kms.db") $(mode "$S/audit.db")" = "700 600 600 600" ] ||
	fail "restored modes"
rows=$(sqlite3 "$S/audit.db" 'SELECT count(*) FROM audit;')
[ "$rows" -ge 2 ] || fail "audit rows not restored ($rows)"
kmsd_start "$tmp/kmsd.conf" "$B"
resolved 200 restored
ok "wiped state restored: kmsd starts and the old ticket resolves"

# --- a key retired after the backup -------------------------------------------------------
run 0 "$KMSCTL" -d "$S" backup "$tmp/b2"
run 0 "$KMSCTL" -d "$S" key rotate
run 0 "$KMSCTL" -d "$S" key retire 1
hup "$pid" "reload done"
resolved 403 retired
kmsd_stop
run 1 "$KMSCTL" -d "$S" restore "$tmp/b2"
grep -q 'key 1 is retired now but active in the backup' "$tmp/err" || fail "retired key not named"
grep -q -- '--force' "$tmp/err" || fail "refusal does not mention --force"
run 0 "$KMSCTL" -d "$S" key list
grep -Eq '^1 +retired' "$tmp/out" || fail "a refused restore changed the store"
run 0 "$KMSCTL" -d "$S" restore "$tmp/b2" --force
grep -q 'key 2 (active) is not in the backup' "$tmp/err" || fail "--force: lost key 2 not warned"
kmsd_start "$tmp/kmsd.conf" "$B"
resolved 200 forced
ok "restore over a retired key: refused naming it, --force brings it back"

# --- a file that does not match the manifest ------------------------------------------------
kmsd_stop
printf 'x' >>"$tmp/b1/kms.db"
run 1 "$KMSCTL" -d "$S" restore "$tmp/b1" --force
grep -q 'does not match its manifest' "$tmp/err" || fail "tampered copy: reason"
run 0 "$KMSCTL" -d "$S" key list
grep -Eq '^1 +active' "$tmp/out" || fail "a refused restore changed the store"
ok "a copy that differs from its manifest is refused, nothing changed"

# --- -c with kms.user: the shared modes come back (as root only) -------------------------
if [ "$(id -u)" = 0 ] && getent group nogroup >/dev/null; then
	C="$tmp/c-state"
	cat >"$tmp/c.conf" <<CONF
kms = { state_dir = "$C"; user = "nobody"; group = "nogroup"; };
CONF
	run 0 "$KMSCTL" -c "$tmp/c.conf" init
	run 0 "$KMSCTL" -c "$tmp/c.conf" backup "$tmp/b3"
	[ "$(mode "$tmp/b3/kek")" = 600 ] || fail "-c backup: the KEK copy is not 0600"
	rm -rf "$C"
	run 0 "$KMSCTL" -c "$tmp/c.conf" restore "$tmp/b3"
	[ "$(stat -c '%a %G' "$C" "$C/kek" "$C/kms.db" | tr '\n' ' ')" = \
		"770 nogroup 640 nogroup 640 nogroup " ] || fail "-c restore: modes or group"
	run 0 "$KMSCTL" -c "$tmp/c.conf" key list
	ok "-c with kms.user: backup of a 0640 KEK, restore with the shared modes"
fi

echo "kmsctl_backup: $n checks passed"
