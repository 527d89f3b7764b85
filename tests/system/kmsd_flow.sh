#!/bin/sh
# The whole MIKEY-TICKET flow against a real kmsd on 127.0.0.1, driven with
# curl and kms-ue: Alice asks for a ticket, transfers it, Bob (and Carol,
# through a group identity) resolve it; both ends derive the same SRTP
# keys.  Then: key rotation and retirement with SIGHUP, a wrong PSK, a
# non-reusable ticket resolved again, and the audit rows of all of it.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need sqlite3

port=$(free_port)
B="http://127.0.0.1:$port"
U="$B/kms"
S="$tmp/state"
"$KMSCTL" -d "$S" init --demo >"$tmp/init.out" 2>&1 || fail "kmsctl init --demo"
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/carol.psk"
"$KMSCTL" -d "$S" psk add carol@example.org --identity carol@example.org \
	--identity carol.dept@example.org --key-file "$tmp/carol.psk" >/dev/null ||
	fail "psk add carol"
# Carol resolves through the group *.dept@example.org without any rule:
# policy.default_group_tickets is false by default, so it is set here.
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 2; };
kms = { state_dir = "$S"; };
policy = { default_group_tickets = true; };
CONF
kmsd_start "$tmp/kmsd.conf" "$B"

post() { # post TYPE IN OUT: prints the HTTP status
	echo "$1" >>"$tmp/posts" # (runs in a subshell: count in a file)
	post_mikey "$U?requesttype=$1" "$2" "$3"
}
a="--psk-file $S/demo-alice.psk"
b="--psk-file $S/demo-bob.psk"
c="--psk-file $tmp/carol.psk"

# --- Alice -> Bob, and Carol through *.dept@example.org -----------------------------
# shellcheck disable=SC2086
"$UE" request $a --id alice@example.org --to bob@example.org --to '*.dept@example.org' \
	--out "$tmp/req.bin" --state "$tmp/alice.st" || fail "request"
[ "$(post ticketrequest "$tmp/req.bin" "$tmp/resp.bin")" = 200 ] || fail "ticketrequest"
# shellcheck disable=SC2086
"$UE" transfer-init $a --state "$tmp/alice.st" --resp "$tmp/resp.bin" \
	--out "$tmp/ti.bin" >/dev/null 2>"$tmp/err" || fail "transfer-init"
for who in bob carol; do
	eval "opts=\$$(echo "$who" | cut -c1)"
	# shellcheck disable=SC2086
	"$UE" resolve $opts --id "$who@example.org" --in "$tmp/ti.bin" --out "$tmp/res-$who.bin" \
		--state "$tmp/$who.st" || fail "resolve ($who)"
	[ "$(post ticketresolve "$tmp/res-$who.bin" "$tmp/rr-$who.bin")" = 200 ] ||
		fail "ticketresolve ($who)"
	# shellcheck disable=SC2086
	"$UE" transfer-resp $opts --state "$tmp/$who.st" --resp "$tmp/rr-$who.bin" \
		--out "$tmp/tr-$who.bin" >/dev/null 2>"$tmp/err" || fail "transfer-resp ($who)"
	"$UE" keys --state "$tmp/$who.st" >"$tmp/keys-$who.json" || fail "keys ($who)"
	cp "$tmp/alice.st" "$tmp/alice-$who.st"
	"$UE" keys --state "$tmp/alice-$who.st" --tr "$tmp/tr-$who.bin" \
		>"$tmp/keys-alice-$who.json" || fail "keys (alice for $who)"
	cmp -s "$tmp/keys-$who.json" "$tmp/keys-alice-$who.json" ||
		fail "Alice and $who derive different SRTP keys"
done
cmp -s "$tmp/keys-bob.json" "$tmp/keys-carol.json" && fail "Bob and Carol got the same keys"
grep -q '"srtp_master_key": *"[0-9a-f]\{32\}"' "$tmp/keys-bob.json" || fail "key format"
ok "Alice and Bob derive the same SRTP master key and salt; Carol (group) gets others"

# --- not named by the ticket: refused; wrong PSK: refused ------------------------------
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/dave.psk"
"$KMSCTL" -d "$S" psk add dave@example.org --identity dave@example.org \
	--key-file "$tmp/dave.psk" >/dev/null || fail "psk add dave"
hup "$pid" "reload done"
"$UE" resolve --psk-file "$tmp/dave.psk" --id dave@example.org --in "$tmp/ti.bin" \
	--out "$tmp/res-dave.bin" --state "$tmp/dave.st" || fail "resolve (dave)"
[ "$(post ticketresolve "$tmp/res-dave.bin" "$tmp/rr-dave.bin")" = 403 ] ||
	fail "a responder not named by the ticket is not refused with 403"
"$UE" request --psk-file "$tmp/dave.psk" --id alice@example.org --to bob@example.org \
	--psk-id alice@example.org --out "$tmp/req-bad.bin" --state "$tmp/bad.st" ||
	fail "request (wrong psk)"
[ "$(post ticketrequest "$tmp/req-bad.bin" "$tmp/resp-bad.bin")" = 401 ] ||
	fail "a wrong PSK is not refused with 401"
"$UE" decode "$tmp/resp-bad.bin" >"$tmp/err.json" 2>/dev/null || true
grep -q '"data_type": *6' "$tmp/err.json" || fail "no MIKEY Error message for a wrong PSK"
ok "responder not in the ticket 403; wrong PSK 401 with a MIKEY Error message"

# --- key rotation: the old ticket resolves until its key is retired ---------------------
old=$("$KMSCTL" -d "$S" key list | awk '$2 == "active" { print $1 }')
[ -n "$old" ] || fail "no active key listed"
"$KMSCTL" -d "$S" key rotate >/dev/null || fail "key rotate"
hup "$pid" "reload done"
# shellcheck disable=SC2086
"$UE" resolve $b --id bob@example.org --in "$tmp/ti.bin" --out "$tmp/res2.bin" --state "$tmp/bob2.st" ||
	fail "resolve after rotate"
[ "$(post ticketresolve "$tmp/res2.bin" "$tmp/rr2.bin")" = 200 ] ||
	fail "a ticket sealed under a rotated key does not resolve"
"$KMSCTL" -d "$S" key retire "$old" >/dev/null || fail "key retire $old"
hup "$pid" "reload done"
# shellcheck disable=SC2086
"$UE" resolve $b --id bob@example.org --in "$tmp/ti.bin" --out "$tmp/res3.bin" --state "$tmp/bob3.st" ||
	fail "resolve after retire"
[ "$(post ticketresolve "$tmp/res3.bin" "$tmp/rr3.bin")" = 403 ] ||
	fail "a ticket sealed under a retired key is not refused with 403"
ok "rotated key still opens its tickets; retired key: 403"

# --- a non-reusable ticket is resolved every time it is received --------------------------
# shellcheck disable=SC2086
"$UE" resolve $b --id bob@example.org --in "$tmp/ti.bin" --out "$tmp/res4.bin" --state "$tmp/bob.st" ||
	fail "non-reusable ticket not resolved again (kms-ue used a cache)"
ok "kms-ue resolves a non-reusable ticket again"

# --- audit: one row per request, no key bytes ---------------------------------------------
kmsd_stop
requests=$(wc -l <"$tmp/posts")
rows=$(sqlite3 "$S/audit.db" 'SELECT count(*) FROM audit;')
[ "$rows" -eq "$requests" ] || fail "$rows audit rows for $requests requests"
granted=$(sqlite3 "$S/audit.db" 'SELECT count(*) FROM audit WHERE decision = 1;')
[ "$granted" -eq 4 ] || fail "$granted granted rows, expected 4"
sqlite3 "$S/audit.db" "SELECT error FROM audit WHERE decision = 0;" | sort >"$tmp/errors"
printf 'KMS_EEXPIRED\nKMS_EMAC\nKMS_EPOLICY\n' | cmp -s - "$tmp/errors" ||
	fail "refusal codes: $(tr '\n' ' ' <"$tmp/errors")"
sqlite3 "$S/audit.db" .dump >"$tmp/audit.dump"
for f in "$S/demo-alice.psk" "$S/demo-bob.psk" "$tmp/carol.psk" "$S/kek"; do
	grep -qi "$(tr -d '\n' <"$f")" "$tmp/audit.dump" && fail "key bytes of $f in the audit"
done
ok "audit: $rows rows for $requests requests (4 granted, 3 refused), no key bytes"
echo "kmsd_flow: $n groups passed"
