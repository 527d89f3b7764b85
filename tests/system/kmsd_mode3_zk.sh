#!/bin/sh
# A ticket the Initiator built itself (flag D = 0) over Zk, with two kmsd:
# KMS1 holds Alice's ticket protection key and a rule allowing her tickets;
# Bob's KMS2 forwards the ticket to the KMS its IDRkms names (as for any
# ticket), KMS1 resolves it, and Alice and Bob derive the same keys.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need openssl
newkey() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$1"; }
newkey "$tmp/alice.psk"
newkey "$tmp/bob.psk"
# --- over Zk: KMS2 (Bob) forwards to KMS1 (Alice's key) --------------------------------
P="$tmp/pki"
sh "$top_srcdir/tests/zk-certs.sh" "$P" >/dev/null 2>&1 || fail "making the test certificates"
ua1=$(free_port)
ua2=$(free_port)
zk1=$(free_port)
zk2=$(free_port)
S1="$tmp/s1"
S2="$tmp/s2"
for s in "$S1" "$S2"; do
	"$KMSCTL" -d "$s" init >/dev/null 2>&1 || fail "kmsctl init $s"
done
"$KMSCTL" -d "$S1" psk add alice@d1.example --identity alice@d1.example \
	--key-file "$tmp/alice.psk" >/dev/null || fail "psk add alice (KMS1)"
"$KMSCTL" -d "$S2" psk add bob@d2.example --identity bob@d2.example \
	--key-file "$tmp/bob.psk" >/dev/null || fail "psk add bob (KMS2)"
"$KMSCTL" -d "$S1" tpk add alice@d1.example --out "$tmp/alice1.tpk" >/dev/null ||
	fail "tpk add (KMS1)"
"$KMSCTL" -d "$S1" policy add --from alice@d1.example --to bob@d2.example --allow \
	--initiator-tickets >/dev/null || fail "policy add (KMS1)"
"$KMSCTL" -d "$S1" peer add --kms-id kms.d2.example --url "https://127.0.0.1:$zk2/kms" \
	--ca "$P/ca1.crt" --cert-name kms2.test --responders '*@d2.example' \
	--generate "$tmp/peer.key" >/dev/null || fail "peer add on KMS1"
"$KMSCTL" -d "$S2" peer add --kms-id kms.d1.example --url "https://127.0.0.1:$zk1/kms" \
	--ca "$P/ca1.crt" --cert-name kms1.test --responders '*@d1.example' \
	--key-file "$tmp/peer.key" >/dev/null || fail "peer add on KMS2"
for k in 1 2; do
	eval "u=\$ua$k z=\$zk$k s=\$S$k"
	cat >"$tmp/kms$k.conf" <<CONF
ua = { port = $u; threads = 2; };
kms = { kms_id = "kms.d$k.example"; state_dir = "$s"; };
policy = { reload_interval = 0; };
zk = { enabled = true; port = $z; cert_file = "$P/kms$k.crt"; key_file = "$P/kms$k.key";
       ca_file = "$P/ca1.crt"; timeout_ms = 2000; };
CONF
done
daemon kms1.log "$KMSD" "$KMSD_ROOT" -c "$tmp/kms1.conf"
pid1=$dpid
wait_up "http://127.0.0.1:$ua1/healthz" "$pid1" KMS1
kmsd_start "$tmp/kms2.conf" "http://127.0.0.1:$ua2" # kmsd.log from here on is KMS2's
: >"$tmp/kmsd.log"
"$UE" create-ticket --tpk-file "$tmp/alice1.tpk" --id alice@d1.example --to bob@d2.example \
	--kms-id kms.d1.example --state "$tmp/az.st" 2>"$tmp/err" || fail "create-ticket (Zk)"
"$UE" transfer-init --state "$tmp/az.st" --out "$tmp/tiz.bin" >/dev/null 2>"$tmp/err" ||
	fail "transfer-init (Zk)"
"$UE" resolve --psk-file "$tmp/bob.psk" --id bob@d2.example --kms-id kms.d2.example \
	--in "$tmp/tiz.bin" --out "$tmp/resz.bin" --state "$tmp/bz.st" 2>/dev/null ||
	fail "resolve (Zk)"
st=$(post_mikey "http://127.0.0.1:$ua2/kms?requesttype=ticketresolve" "$tmp/resz.bin" \
	"$tmp/rrz.bin")
[ "$st" = 200 ] || fail "resolve via Zk: status $st: $(tail -3 "$tmp/kms1.log")"
"$UE" transfer-resp --psk-file "$tmp/bob.psk" --state "$tmp/bz.st" --resp "$tmp/rrz.bin" \
	--out "$tmp/trz.bin" >/dev/null 2>"$tmp/err" || fail "transfer-resp (Zk)"
"$UE" keys --state "$tmp/bz.st" >"$tmp/kz-bob.json" || fail "keys (bob, Zk)"
"$UE" keys --state "$tmp/az.st" --tr "$tmp/trz.bin" >"$tmp/kz-alice.json" ||
	fail "keys (alice, Zk)"
cmp -s "$tmp/kz-bob.json" "$tmp/kz-alice.json" || fail "different keys over Zk"
wait_log "forwarded to kms.d1.example: granted by the peer"
wait_log "(over Zk from kms.d2.example) granted" kms1.log
ok "over Zk: KMS2 forwards Alice's own ticket, KMS1 holds the key and resolves it"
kmsd_stop
stop "$pid1" KMS1
