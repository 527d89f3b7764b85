#!/bin/sh
# kmsctl end to end in a scratch state directory: init (--demo), key
# rotate/list/retire, psk add/list/remove, peer add/list/remove, policy
# add/list/test (patterns written as sip: URIs); exit codes,
# file modes, and no key bytes where none belong.
set -eu

. "${top_srcdir:-.}/tests/system/lib.sh" # tmp, KMSCTL, ok, fail, run
S="$tmp/state"

# ctl WANT ARGS...: kmsctl -d $S ARGS with output in $tmp/out, $tmp/err.
ctl() {
	ctl_want=$1
	shift
	run "$ctl_want" "$KMSCTL" -d "$S" "$@"
}
mode() {
	stat -c %a "$1"
}
# no_key_hex FILE: no run of 32 or more hex digits (a 16-byte key or longer).
no_key_hex() {
	if grep -Eq '[0-9a-fA-F]{32,}' "$1"; then
		fail "key-like hex in $1"
	fi
}

# --- usage -------------------------------------------------------------------
ctl 2
ctl 0 --help
grep -q 'usage: kmsctl' "$tmp/out" || fail "--help text"
for c in "init --help" "key --help" "psk --help" "psk add --help"; do
	# shellcheck disable=SC2086
	ctl 0 $c
	grep -q 'usage:' "$tmp/out" || fail "$c text"
done
ctl 2 frobnicate
ctl 2 key
ctl 2 key retire
ctl 2 key retire notanumber
ctl 2 psk add x@y --identity x@y # no key source
ctl 2 psk add x@y --identity x@y --key 0011 # wrong length
ctl 2 psk add x@y --identity 'not an identity' --generate "$tmp/x.key"
ctl 2 psk add x@y --identity x@y --generate # --generate names its key file
ok "usage errors exit 2, --help exits 0"

# --- before init -------------------------------------------------------------
ctl 1 key list
grep -q 'run kmsctl init' "$tmp/err" || fail "hint to run init"
ctl 1 key rotate
ok "commands on a missing state dir fail with a reason"

# --- init --demo -------------------------------------------------------------
ctl 0 init --demo
[ "$(mode "$S")" = 700 ] || fail "state dir mode $(mode "$S")"
[ "$(mode "$S/kek")" = 600 ] || fail "kek mode $(mode "$S/kek")"
[ "$(mode "$S/kms.db")" = 600 ] || fail "kms.db mode $(mode "$S/kms.db")"
for u in alice bob; do
	f="$S/demo-$u.psk"
	[ -f "$f" ] || fail "$f missing"
	[ "$(mode "$f")" = 600 ] || fail "$f mode"
	key=$(cat "$f")
	echo "$key" | grep -Eq '^[0-9a-f]{32}$' || fail "$f is not 16 bytes of hex"
	grep -q "^demo PSK user $u@example.org added; its key is in $f\$" "$tmp/out" ||
		fail "demo user $u: key file not named"
done
no_key_hex "$tmp/out" # the demo keys stay in their files
[ "$(cat "$S/demo-alice.psk")" != "$(cat "$S/demo-bob.psk")" ] || fail "same demo keys"
ok "init --demo: 0700 dir, 0600 kek/store/demo files named, no key printed"

alice_key=$(cat "$S/demo-alice.psk")
ctl 0 init --demo
no_key_hex "$tmp/out"
[ "$(cat "$S/demo-alice.psk")" = "$alice_key" ] || fail "second init changed a key"
grep -q 'master key 1 is active' "$tmp/out" || fail "second init output"
ok "init is idempotent and does not print keys again"

# --- keys --------------------------------------------------------------------
ctl 0 key rotate
grep -q 'master key 2 is active' "$tmp/out" || fail "rotate output"
ctl 0 key list
no_key_hex "$tmp/out"
grep -Eq '^2 +active' "$tmp/out" || fail "key 2 not active"
grep -Eq '^1 +rotated' "$tmp/out" || fail "key 1 not rotated"
ctl 1 key retire 2
grep -q 'active key' "$tmp/err" || fail "retire active: reason"
ctl 1 key retire 99
ctl 0 key retire 1
ctl 0 key list
no_key_hex "$tmp/out"
grep -Eq '^1 +retired' "$tmp/out" || fail "key 1 not retired"
ok "key rotate / list / retire"

# --- psk users ---------------------------------------------------------------
ctl 0 psk list
no_key_hex "$tmp/out"
grep -q 'alice@example.org' "$tmp/out" || fail "alice not listed"
ctl 0 psk add carol@example.org --identity carol@example.org \
	--identity carol.work@example.org --generate "$tmp/carol.key" --key-len 32
no_key_hex "$tmp/out"
grep -q "^added PSK user carol@example.org; its key is in $tmp/carol.key\$" "$tmp/out" ||
	fail "generated key file not named"
[ "$(mode "$tmp/carol.key")" = 600 ] || fail "generated key file mode"
grep -Eq '^[0-9a-f]{64}$' "$tmp/carol.key" || fail "generated key"
printf '000102030405060708090a0b0c0d0e0f\n' >"$tmp/key.hex"
ctl 0 psk add dave --identity dave@example.org --key-file "$tmp/key.hex" \
	--expires 4102444800
no_key_hex "$tmp/out"
ctl 0 psk add "x'); DROP TABLE psk_users;--" --identity x@example.org \
	--key 00112233445566778899aabbccddeeff
ctl 1 psk add dave --identity dave@example.org --generate "$tmp/dave2.key"
grep -q exists "$tmp/err" || fail "duplicate add: reason"
[ ! -e "$tmp/dave2.key" ] || fail "key file left for a user not added"
ctl 1 psk add erin --identity erin@example.org --generate "$tmp/carol.key"
[ "$(cat "$tmp/carol.key" | wc -c)" = 65 ] || fail "--generate replaced an existing file"
ctl 0 psk list
no_key_hex "$tmp/out"
grep -q 'carol.work@example.org' "$tmp/out" || fail "carol identities"
grep -q '2100-01-01T00:00:00Z' "$tmp/out" || fail "dave expiry"
grep -qF "x'); DROP TABLE psk_users;--" "$tmp/out" || fail "literal psk_id"
ctl 0 psk remove dave
ctl 1 psk remove dave
ctl 0 psk list
grep -q '^dave ' "$tmp/out" && fail "dave still listed"
ok "psk add (generate, key file, key) / list / remove"

# --- peer --------------------------------------------------------------------
printf 'not a real CA, kmsctl only stores its path\n' >"$tmp/peer-ca.pem"
ctl 0 peer --help
grep -q 'usage:' "$tmp/out" || fail "peer --help text"
ctl 2 peer add --kms-id kms2 --url https://kms2.test/zk --ca "$tmp/peer-ca.pem" \
	--cert-name kms2.test --responders '*@kms2.example' # no key source
# No --responders: a usage error (no implicit '*@*'), nothing stored.
ctl 2 peer add --kms-id kms2 --url https://kms2.test/zk --ca "$tmp/peer-ca.pem" \
	--cert-name kms2.test --generate "$tmp/peer-noresp.key"
grep -q -- "--responders PATTERN is needed" "$tmp/err" || fail "no --responders: reason"
grep -q -- "--responders '\*@d2.example'" "$tmp/err" || fail "no --responders: example"
[ -e "$tmp/peer-noresp.key" ] && fail "no --responders: a key file was written"
ctl 0 peer list
grep -q '^kms2 ' "$tmp/out" && fail "peer add without --responders stored a peer"
ctl 0 peer add --help
grep -q -- '--responders PATTERN$' "$tmp/out" || fail "peer add --help: --responders not required"
ctl 2 peer add --kms-id kms2 --url http://kms2.test/zk --ca "$tmp/peer-ca.pem" \
	--cert-name kms2.test --responders '*@kms2.example' --generate "$tmp/px.key"
ctl 2 peer add --kms-id kms2 --url https://kms2.test/zk --ca "$tmp/peer-ca.pem" \
	--cert-name '*.test' --responders '*@kms2.example' --generate "$tmp/px.key"
ctl 1 peer add --kms-id kms2 --url https://kms2.test/zk --ca "$tmp/missing.pem" \
	--cert-name kms2.test --responders '*@kms2.example' --generate "$tmp/px.key"
ctl 2 peer add --kms-id kms2 --url https://kms2.test/zk --ca "$tmp/peer-ca.pem" \
	--cert-name kms2.test --responders 'not an identity' --generate "$tmp/px.key"
grep -q -- '--responders must be' "$tmp/err" || fail "bad --responders: reason"
ctl 0 peer add --kms-id kms2.example.org --url https://127.0.0.1:8443/zk \
	--ca "$tmp/peer-ca.pem" --cert-name kms2.test --responders '*@*' \
	--generate "$tmp/peer2.key" # any, explicitly
no_key_hex "$tmp/out"
grep -q "key in $tmp/peer2.key" "$tmp/out" || fail "peer add --generate names its key file"
grep -Eq '^[0-9a-f]{64}$' "$tmp/peer2.key" || fail "generated peer key file"
[ "$(stat -c %a "$tmp/peer2.key")" = 600 ] || fail "peer key file mode"
echo keep >"$tmp/peer7.key"
ctl 1 peer add --kms-id kms7 --url https://kms7.test/zk --ca "$tmp/peer-ca.pem" \
	--cert-name kms7.test --responders '*@kms7.example' --generate "$tmp/peer7.key"
[ "$(cat "$tmp/peer7.key")" = keep ] || fail "an existing key file was overwritten"
ctl 0 peer list
grep -q '^kms7 ' "$tmp/out" && fail "kms7 added although its key file exists"
ctl 0 peer add --kms-id kms3 --url https://kms3.test/zk --ca "$tmp/peer-ca.pem" \
	--cert-name kms3.test --responders '*@kms3.example' --key-file "$tmp/key.hex"
no_key_hex "$tmp/out"
ctl 1 peer add --kms-id kms4 --url https://kms3.test/zk --ca "$tmp/peer-ca.pem" \
	--cert-name KMS3.test --responders '*@kms4.example' --generate "$tmp/peer4.key"
grep -q exists "$tmp/err" || fail "duplicate cert-name: reason"
[ -e "$tmp/peer4.key" ] && fail "key file left for a peer that was not added"
ctl 2 peer add --kms-id kms5 --url https://kms5.test/zk --ca "$tmp/peer-ca.pem" \
	--cert-name kms5.test --responders 'tel:+15551234' --generate "$tmp/peer5.key"
grep -q 'tel: URI is not a KMS user identity' "$tmp/err" || fail "tel: --responders: reason"
ctl 0 peer add --kms-id kms6 --url https://kms6.test/zk --ca "$tmp/peer-ca.pem" \
	--cert-name kms6.test --responders 'sip:*@D2.example;user=phone' --generate "$tmp/peer6.key"
ctl 0 peer list
no_key_hex "$tmp/out"
grep -q '^kms6 .* \*@d2\.example ' "$tmp/out" || fail "sip: --responders listed as *@d2.example"
grep -q 'sip:' "$tmp/out" && fail "a sip: pattern was stored as a URI"
ctl 0 peer remove kms6
ctl 0 peer list
no_key_hex "$tmp/out"
grep -q "^kms2.example.org .*https://127.0.0.1:8443/zk .*$tmp/peer-ca.pem .*kms2.test .*\\*@\\* .*32 " \
	"$tmp/out" || fail "peer list line"
grep -q '^kms3 .*\*@kms3.example .* 16 ' "$tmp/out" || fail "kms3 responders and key length"
ctl 0 peer remove kms3
ctl 1 peer remove kms3
ctl 0 peer list
grep -q '^kms3 ' "$tmp/out" && fail "kms3 still listed"
ok "peer add (generate, key file, --responders) / list / remove"

# --- policy rules ------------------------------------------------------------
ctl 0 policy add --from 'sip:*.dept@Example.ORG;user=phone' \
	--to '<sips:bob@B.example:5061>' --deny --priority 5
ctl 0 policy add --from '*@example.org' --to '*@*' --allow
ctl 2 policy add --from 'tel:+15551234' --to '*@*' --allow
grep -q 'tel: URI is not a KMS user identity' "$tmp/err" || fail "tel: --from: reason"
ctl 2 policy add --from '*@*' --to 'mailto:bob@b.example' --allow
grep -q 'other than sip:/sips:' "$tmp/err" || fail "mailto: --to: reason"
ctl 2 policy add --from 'sip:%2A@example.org' --to '*@*' --allow
grep -q '%2A' "$tmp/err" || fail "%2A pattern: reason"
ctl 0 policy list
grep -Eq '^[0-9]+ +5 deny +\*\.dept@example\.org +bob@b\.example ' "$tmp/out" ||
	fail "sip: patterns listed in NAI form"
grep -q 'sip' "$tmp/out" && fail "a sip: pattern was stored as a URI"
[ "$(grep -c '^[0-9]' "$tmp/out")" = 2 ] || fail "refused rules were stored"
ctl 1 policy test --from 'sip:a.dept@example.org' --to 'sip:bob@b.example'
grep -q 'decision: deny a.dept@example.org -> bob@b.example' "$tmp/out" ||
	fail "policy test: deny by the sip: rule"
ctl 0 policy test --from 'a.sales@example.org' --to '<sip:bob@b.example>'
grep -q 'decision: allow' "$tmp/out" || fail "policy test: allow"
ctl 2 policy test --from 'tel:+15551234' --to 'bob@b.example'
grep -q 'tel: URI' "$tmp/err" || fail "policy test tel: reason"
ok "policy add stores sip: patterns as user@domain, refuses tel: and mailto:"

# --- KEK protection ----------------------------------------------------------
chmod 644 "$S/kek"
ctl 1 key rotate
grep -q 'group or others' "$tmp/err" || fail "loose KEK: reason"
chmod 600 "$S/kek"
cp "$S/kek" "$tmp/kek.good"
head -c 32 /dev/urandom >"$S/kek"
ctl 1 key rotate
grep -q 'does not open the store' "$tmp/err" || fail "wrong KEK: reason"
cp "$tmp/kek.good" "$S/kek"
chmod 600 "$S/kek"
ctl 0 key rotate
ok "a loose or wrong KEK is refused"

# --- -c: the paths of kmsd's configuration ------------------------------------------
C="$tmp/c-state"
cat >"$tmp/c.conf" <<CONF
kms = { state_dir = "$C"; kek_file = "$tmp/c.kek"; };
CONF
run 2 "$KMSCTL" -d "$S" -c "$tmp/c.conf" key list
grep -q -- '-d and -c' "$tmp/err" || fail "-d with -c: reason"
run 0 "$KMSCTL" -c "$tmp/c.conf" init
if [ ! -f "$C/kms.db" ] || [ ! -f "$tmp/c.kek" ] || [ -e "$C/kek" ]; then
	fail "-c: the store or the KEK not where the configuration says"
fi
# Without kms.user nothing is shared: the 0600 model stays.
[ "$(mode "$C") $(mode "$tmp/c.kek") $(mode "$C/kms.db")" = "700 600 600" ] ||
	fail "-c without kms.user: modes changed"
run 0 "$KMSCTL" -c "$tmp/c.conf" key list
grep -Eq '^1 +active' "$tmp/out" || fail "-c key list"
echo 'kms = { user = "no-such-kmsd-user"; };' >"$tmp/bad.conf"
run 1 "$KMSCTL" -c "$tmp/bad.conf" key list
grep -q "no such user" "$tmp/err" || fail "-c: an unknown kms.user not named"
ok "-c takes kmsd's paths, excludes -d, and refuses a bad kms.user"

echo "kmsctl: $n checks passed"
