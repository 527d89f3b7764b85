#!/bin/sh
# kms-ue MIKEY-TICKET client end to end, against tests/system/fake_kms (a
# test-only KMS built from the mikey library with kms/service.c's choices):
# request -> KMS -> transfer-init -> resolve -> KMS -> transfer-resp -> keys on
# both sides, for both algorithm suites, key forking per responder, ticket
# reuse and caching, and the refusal paths (tampered messages, wrong PSKs);
# identities sent as URIs and answered as KMS user identities, other Ticket
# Types, IDRkms left out, tickets without key forking, and the V of MIKEY
# Error messages.  The TEK is also recomputed in python from the RFC 6043
# label.  No network.
set -eu

top_builddir=$(cd "${top_builddir:-.}" && pwd) # the test runs in a temp dir
top_srcdir=$(cd "${top_srcdir:-.}" && pwd)
. "$top_srcdir/tests/system/lib.sh" # tmp, UE, ok, fail, run (stderr also in all.err)
FK="$top_builddir/tests/system/fake_kms"
mkdir "$tmp/store"
cd "$tmp"

A16=a1a2a3a4a5a6a7a8a9aaabacadaeafa0
B16=b1b2b3b4b5b6b7b8b9babbbcbdbebfb0
C16=c1c2c3c4c5c6c7c8c9cacbcccdcecfc0
A32=${A16}${A16}
B32=${B16}${B16}
ALICE=alice@example.org
BOB=bob@example.org
CAROL=carol@example.org
BTID=btid-bob@bsf.example.org

kms() {
	"$FK" "$@" --store store --user "$ALICE=$A16" --user "$BOB=$B16" \
		--user "$CAROL=$C16" --user "$BTID=$B16" --user "a32@example.org=$A32" \
		--user "b32@example.org=$B32" 2>>all.err
}
flip() { # flip FILE OFFSET OUT
	python3 -c 'import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[int(sys.argv[2])] ^= 0x40
open(sys.argv[3], "wb").write(b)' "$@"
}
json() { # json FILE EXPR: print a python expression over the JSON d in FILE
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"
}
# Reference TEK / salt (RFC 6043 5.1.3, RFC 3830 PRF) from the TGK' (or the
# entry NAME) in a state file and the RANDRi of a TRANSFER_INIT:
# tek STATE TI LEN PRF CONST [NAME]
tek() {
	"$UE" decode --compact "$2" >ti.json
	python3 - "$@" <<'EOF'
import hashlib, hmac, json, sys
st, ti, n, prf, const = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
name = sys.argv[6] if len(sys.argv) > 6 else "tgk_fork"
ent = dict(l.split() for l in open(st).read().splitlines()[1:])
tgk = bytes.fromhex(ent[name])
d = json.load(open("ti.json"))
ri = bytes.fromhex([p for p in d["payloads"] if p["name"] == "RANDR"][0]["rand"])
label = bytes.fromhex(const) + b"\x01" + b"\xff" * 4 + b"\x03" + bytes([len(ri)]) + ri + b"\x00"
h = hashlib.sha1 if prf == "0" else hashlib.sha256
out, a = b"", label
while len(out) < n:
    a = hmac.new(tgk, a, h).digest()
    out += hmac.new(tgk, a + label, h).digest()
print(out[:n].hex())
EOF
}

# --- help and usage -----------------------------------------------------------
for c in request transfer-init resolve transfer-resp keys; do
	run 0 "$UE" "$c" --help
	grep -q "usage: kms-ue $c" out || fail "$c --help"
	run 2 "$UE" "$c"
	run 2 "$UE" "$c" --bogus
done
run 0 "$UE" --help
for c in request transfer-init resolve transfer-resp keys; do
	grep -q "^  $c " out || fail "main help lists $c"
done
run 0 "$UE" keys --help
grep -q "SECRET KEY MATERIAL" out || fail "keys --help warns that it prints keys"
R="--id $ALICE --to $BOB --out req.bin --state x.st"
run 2 "$UE" request $R
run 2 "$UE" request --psk "$A16" --psk-file /dev/null $R
run 2 "$UE" request --psk 0g $R
run 2 "$UE" request --psk "$A16" --suite 512 $R
run 2 "$UE" request --psk "$A16" --lifetime 0 $R
run 2 "$UE" request --psk "$A16" --lifetime 12x $R
run 2 "$UE" request --psk "$A16" --id "$ALICE" --out req.bin --state x.st
run 2 "$UE" request --psk "$A16" --psk-file does-not-exist $R
run 2 "$UE" transfer-init --psk "$A16" --state does-not-exist --resp x --out y
[ ! -e x.st ] || fail "no state after usage errors"
ok "help for every command; usage errors exit 2"

# --- the flow, 128-bit suite ----------------------------------------------------
printf '  %s\n' "$A16" >alice.psk
run 0 "$UE" request --psk-file alice.psk --id "$ALICE" --to "$BOB" --to "$CAROL" \
	--lifetime 3600 --out req.bin --state alice.st
[ "$(stat -c %a alice.st)" = 600 ] || fail "alice.st mode"
[ "$(head -n 1 alice.st)" = "kms-ue-state 1" ] || fail "state version line"
run 0 "$UE" decode req.bin
[ "$(json out 'd["data_type_name"]')" = REQUEST_INIT_PSK ] || fail "request type"
[ "$(json out '[p["name"] for p in d["payloads"]]')" = \
	"['T', 'RANDR', 'IDR', 'IDR', 'TP', 'V']" ] || fail "request payloads"
[ "$(json out 'hex(d["payloads"][4]["ticket_type"])')" = 0xf000 ] || fail "ticket type"
run 0 "$UE" verify --psk "$A16" req.bin
kms request --in req.bin --out resp.bin || fail "fake KMS request"
run 0 "$UE" transfer-init --psk "$A16" --state alice.st --resp resp.bin --out ti.bin
run 0 "$UE" decode ti.bin
[ "$(json out 'd["hdr"]["map_type_name"]')" = GENERIC-ID ] || fail "TI map"
run 0 "$UE" resolve --psk "$B16" --id "$BOB" --in ti.bin --out res.bin --state bob.st
run 0 "$UE" verify --psk "$B16" res.bin
kms resolve --in res.bin --out rr.bin || fail "fake KMS resolve"
run 0 "$UE" transfer-resp --psk "$B16" --state bob.st --resp rr.bin --out tr.bin
run 0 "$UE" decode tr.bin
[ "$(json out 'd["data_type_name"]')" = TRANSFER_RESP ] || fail "TR type"
run 0 "$UE" keys --state alice.st --tr tr.bin
cp out alice.keys
run 0 "$UE" keys --state bob.st
cp out bob.keys
cmp -s alice.keys bob.keys || fail "Alice and Bob derive different SRTP keys"
[ "$(json bob.keys 'len(d["srtp_master_key"]), len(d["srtp_master_salt"]), d["cs_id"], len(d["spi"])')" = \
	"(32, 28, 1, 8)" ] || fail "key JSON shape"
run 0 "$UE" keys --state alice.st
cmp -s out alice.keys || fail "Initiator keys kept after --tr"
[ "$(stat -c %a bob.st)" = 600 ] || fail "bob.st mode"
ok "request -> KMS -> transfer-init -> resolve -> KMS -> transfer-resp -> same SRTP keys"

[ "$(tek bob.st ti.bin 16 0 2AD01C64)" = "$(json bob.keys 'd["srtp_master_key"]')" ] ||
	fail "TEK differs from the python reference"
[ "$(tek bob.st ti.bin 14 0 39A2C14B)" = "$(json bob.keys 'd["srtp_master_salt"]')" ] ||
	fail "salt differs from the python reference"
ok "SRTP master key and salt match an independent RFC 6043 5.1.3 computation"

# Key forking: Carol (second --to) resolves the same TRANSFER_INIT.
run 0 "$UE" resolve --psk "$C16" --id "$CAROL" --in ti.bin --out res_c.bin --state carol.st
kms resolve --in res_c.bin --out rr_c.bin || fail "fake KMS resolve (carol)"
run 0 "$UE" transfer-resp --psk "$C16" --state carol.st --resp rr_c.bin --out tr_c.bin
run 0 "$UE" keys --state carol.st
cp out carol.keys
cmp -s carol.keys bob.keys && fail "forked keys of Bob and Carol are equal"
run 0 "$UE" keys --state alice.st --tr tr_c.bin
cmp -s out carol.keys || fail "Alice and Carol differ"
# Bob's TRANSFER_RESP does not verify as Carol's (IDRr forks the keys).
python3 -c 'import sys
a = open(sys.argv[1], "rb").read(); b = bytearray(a)
i = a.find(b"bob@example.org"); b[i:i + 3] = b"bOb"
open(sys.argv[2], "wb").write(b)' tr.bin tr_bad.bin
run 1 "$UE" keys --state alice.st --tr tr_bad.bin
ok "key forking: each responder's TGK' differs and the Initiator matches each"

# --- 256-bit suite, IDRpsk ---------------------------------------------------------
run 0 "$UE" request --psk "$A32" --id a32@example.org --to "$BOB" --suite 256 \
	--out req256.bin --state a256.st
kms request --in req256.bin --out resp256.bin || fail "fake KMS request 256"
run 0 "$UE" transfer-init --psk "$A32" --state a256.st --resp resp256.bin --out ti256.bin
run 0 "$UE" resolve --psk "$B16" --psk-id "$BTID" --id "$BOB" --in ti256.bin \
	--out res256.bin --state b256.st
run 0 "$UE" decode res256.bin
[ "$(json out '[p.get("role_name") for p in d["payloads"]][-2]')" = IDRpsk ] ||
	fail "IDRpsk in the resolve"
kms resolve --in res256.bin --out rr256.bin || fail "fake KMS resolve 256"
run 0 "$UE" transfer-resp --psk "$B16" --state b256.st --resp rr256.bin --out tr256.bin
run 0 "$UE" keys --state a256.st --tr tr256.bin
cp out a256.keys
run 0 "$UE" keys --state b256.st
cmp -s out a256.keys || fail "256: different keys"
[ "$(json out 'len(d["srtp_master_key"])')" = 64 ] || fail "256: 32-byte key"
[ "$(tek b256.st ti256.bin 32 1 2AD01C64)" = "$(json out 'd["srtp_master_key"]')" ] ||
	fail "256: TEK differs from the python reference"
# Entropy rule (RFC 6043 12.1): a 32-byte PSK gets a 32-byte RANDRi even with MIKEY-1.
run 0 "$UE" request --psk "$A32" --id a32@example.org --to "$BOB" --out r32.bin --state r32.st
run 0 "$UE" decode r32.bin
[ "$(json out 'len(d["payloads"][1]["rand"])')" = 64 ] || fail "RANDRi as long as the PSK"
ok "suite 256 (PRF-HMAC-SHA-256, AES-CM-256, HMAC-SHA-256-256), --psk-id, RAND >= PSK"

# --- reuse (J) and the resolve cache ---------------------------------------------
run 0 "$UE" request --psk "$A16" --id "$ALICE" --to "$BOB" --reuse --out rq.bin --state ra.st
kms request --in rq.bin --out rp.bin || fail "fake KMS request (reuse)"
run 0 "$UE" transfer-init --psk "$A16" --state ra.st --resp rp.bin --out ti1.bin
run 0 "$UE" resolve --psk "$B16" --id "$BOB" --in ti1.bin --out rs1.bin --state rb.st
kms resolve --in rs1.bin --out rr1.bin || fail "fake KMS resolve (reuse)"
run 0 "$UE" transfer-resp --psk "$B16" --state rb.st --resp rr1.bin --out tr1.bin
run 0 "$UE" keys --state ra.st --tr tr1.bin
cp out k1
# Second transfer of the same ticket: new CSB ID / RANDRi, cached at Bob.
run 0 "$UE" transfer-init --state ra.st --out ti2.bin
rm -f rs2.bin
run 3 "$UE" resolve --psk "$B16" --id "$BOB" --in ti2.bin --out rs2.bin --state rb.st
[ "$(cat out)" = cached ] || fail "resolve prints cached"
[ ! -e rs2.bin ] || fail "no RESOLVE_INIT when cached"
run 0 "$UE" transfer-resp --state rb.st --out tr2.bin
run 0 "$UE" keys --state ra.st --tr tr2.bin
cp out k2
run 0 "$UE" keys --state rb.st
cmp -s out k2 || fail "reuse: different keys"
cmp -s k1 k2 && fail "reuse: a new transfer must give new SRTP keys (new RANDRi)"
# Not reusable: no second transfer, and Bob resolves again (no cache).
run 1 "$UE" transfer-init --state alice.st --out ti_again.bin
run 0 "$UE" resolve --psk "$B16" --id "$BOB" --in ti.bin --out res_again.bin --state bob.st
[ -s res_again.bin ] || fail "non-reusable tickets are resolved every time"
run 2 "$UE" transfer-resp --state bob.st --out tr_again.bin
ok "reusable ticket: second transfer, cached resolve (exit 3); J = 0: always resolved"

# --- refusals -------------------------------------------------------------------------
run 0 "$UE" request --psk "$A16" --id "$ALICE" --to "$BOB" --out t.req --state t.st
kms request --in t.req --out t.resp || fail "fake KMS request (t)"
cp t.st t.st.orig
len=$(wc -c <t.resp)
off=0
while [ "$off" -lt "$len" ]; do
	flip t.resp "$off" t.bad
	run 1 "$UE" transfer-init --psk "$A16" --state t.st --resp t.bad --out t.ti
	off=$((off + 5))
done
cmp -s t.st t.st.orig || fail "a refused answer changed the state"
run 0 "$UE" transfer-init --psk "$A16" --state t.st --resp t.resp --out t.ti
ok "tampered REQUEST_RESP (every 5th byte flipped) -> transfer-init exits 1"

run 1 "$UE" transfer-init --psk "$B16" --state alice.st --resp resp.bin --out x.ti
grep -q "KMS_EMAC" err || fail "wrong PSK: names the failing check"
run 0 "$UE" request --psk "$B16" --id "$ALICE" --to "$BOB" --out w.req --state w.st
kms request --in w.req --out w.resp && fail "fake KMS accepted a wrong PSK"
run 1 "$UE" transfer-init --psk "$B16" --state w.st --resp w.resp --out w.ti
grep -q "MIKEY error 3 (Invalid MAC)" err || fail "Error message reported"
run 1 "$UE" transfer-resp --psk "$A16" --state carol.st --resp rr_c.bin --out x.tr
ok "wrong PSK: the client refuses the answer; a KMS Error message is reported, exit 1"

# A TRANSFER_INIT altered outside the ticket: the KMS resolves it, Bob refuses it.
flip ti.bin 25 ti_bad.bin
run 0 "$UE" resolve --psk "$B16" --id "$BOB" --in ti_bad.bin --out rs_bad.bin --state bs.st
kms resolve --in rs_bad.bin --out rr_bad.bin || fail "fake KMS resolve (altered T)"
run 1 "$UE" transfer-resp --psk "$B16" --state bs.st --resp rr_bad.bin --out x.tr
grep -q "TRANSFER_INIT V" err || fail "altered TRANSFER_INIT named"
# ...and inside the Initiator Data: the KMS's Vr check refuses it.
vr=$(python3 -c 'import sys; print(len(open(sys.argv[1], "rb").read()) - 30)' ti.bin)
flip ti.bin "$vr" ti_bad2.bin
run 0 "$UE" resolve --psk "$B16" --id "$BOB" --in ti_bad2.bin --out rs_bad2.bin --state bs2.st
kms resolve --in rs_bad2.bin --out rr_bad2.bin && fail "fake KMS accepted a bad Vr"
run 1 "$UE" transfer-resp --psk "$B16" --state bs2.st --resp rr_bad2.bin --out x.tr
run 1 "$UE" keys --state alice.st --tr resp.bin
flip tr.bin 40 tr_flip.bin
run 1 "$UE" keys --state alice.st --tr tr_flip.bin
ok "altered TRANSFER_INIT / TRANSFER_RESP refused (exit 1)"

run 2 "$UE" keys --state t.st
run 2 "$UE" keys --state bob.st --tr tr.bin
chmod 644 bob.st
run 2 "$UE" keys --state bob.st
grep -q "chmod 600" err || fail "state mode message"
chmod 600 bob.st
printf 'kms-ue-state 2\n' >v2.st
chmod 600 v2.st
run 2 "$UE" keys --state v2.st
grep -q "line 1" err || fail "state version message"
{ head -n 2 bob.st; echo "id zz"; } >bad.st
chmod 600 bad.st
run 2 "$UE" keys --state bad.st
grep -q "line 3" err || fail "bad hex names its line"
{ head -n 2 bob.st; sed -n 2p bob.st; } >dup.st
chmod 600 dup.st
run 2 "$UE" keys --state dup.st
run 2 "$UE" transfer-init --psk "$A16" --state bob.st --resp resp.bin --out x.ti
grep -q "not the state of the initiator" err || fail "role check"
ok "keys: no TGK' yet, --tr on the Responder; state: readable by others, wrong version, bad hex, duplicate entry, wrong role"

# --- URIs on the wire, KMS user identities back ----------------------------------------
# idr FILE: (role, ID Type, text) of the message's IDR payloads.
idr() {
	"$UE" decode --compact "$1" | python3 -c 'import json, sys
d = json.load(sys.stdin)
print([(p["role_name"], p["id_type"], p["id_text"]) for p in d["payloads"] if p["name"] == "IDR"])'
}
run 0 "$UE" request --psk "$A16" --uri --id "$ALICE" --to "$BOB" --to "$CAROL" \
	--out u.req --state u.st
[ "$(idr u.req)" = "[('IDRi', 1, 'sip:alice@example.org'), ('IDRkms', 1, 'sip:kms.example.org')]" ] ||
	fail "--uri request: $(idr u.req)"
kms request --in u.req --out u.resp || fail "fake KMS request (--uri)"
run 0 "$UE" transfer-init --psk "$A16" --state u.st --resp u.resp --out u.ti
! grep -q "another Initiator" err || fail "granted IDRi alice@example.org is us"
[ "$(idr u.ti)" = "[('IDRi', 1, 'sip:alice@example.org'), ('IDRr', 1, 'sip:bob@example.org')]" ] ||
	fail "TRANSFER_INIT repeats the identities as sent: $(idr u.ti)"
# Bob without --uri but with a SIP URI of his own: parameters, upper-case domain.
run 0 "$UE" resolve --psk "$B16" --id 'sip:bob@EXAMPLE.ORG;transport=tcp' --in u.ti \
	--out u.res --state ub.st
! grep -q "not among" err || fail "bob@example.org in the ticket is --id as a KMS user identity"
[ "$(idr u.res)" = "[('IDRr', 1, 'sip:bob@EXAMPLE.ORG;transport=tcp'), ('IDRkms', 0, 'kms.example.org')]" ] ||
	fail "resolve IDRr as given: $(idr u.res)"
run 0 "$UE" verify --psk "$B16" u.res
kms resolve --in u.res --out u.rr || fail "fake KMS resolve (--uri)"
[ "$(idr u.rr)" = "[('IDRkms', 0, 'kms.example.org'), ('IDRr', 0, 'bob@example.org')]" ] ||
	fail "RESOLVE_RESP names the KMS user identity: $(idr u.rr)"
run 0 "$UE" transfer-resp --psk "$B16" --state ub.st --resp u.rr --out u.tr
! grep -q "resolved the ticket for" err || fail "the same user: no note"
[ "$(idr u.tr)" = "[('IDRr', 0, 'bob@example.org')]" ] || fail "TRANSFER_RESP copies IDRr: $(idr u.tr)"
run 0 "$UE" keys --state u.st --tr u.tr
cp out u.keys
run 0 "$UE" keys --state ub.st
cmp -s out u.keys || fail "--uri flow: different keys"
# Carol with --uri; the KMS knows her as carol@example.org.
run 0 "$UE" resolve --psk "$C16" --uri --id "$CAROL" --in u.ti --out uc.res --state uc.st
kms resolve --in uc.res --out uc.rr || fail "fake KMS resolve (carol, --uri)"
run 0 "$UE" transfer-resp --psk "$C16" --state uc.st --resp uc.rr --out uc.tr
run 0 "$UE" keys --state uc.st
cp out uc.keys
run 0 "$UE" keys --state u.st --tr uc.tr
cmp -s out uc.keys || fail "--uri flow: Alice and Carol differ"
ok "--uri: URIs sent, NAI user identities granted and resolved; IDRr copied into TRANSFER_RESP and forked on as received"

# --- Ticket Types --------------------------------------------------------------------
run 0 "$UE" request --psk "$A16" --3gpp --id "$ALICE" --to "$BOB" --out g.req --state g.st
kms request --in g.req --out g.resp || fail "fake KMS request (--3gpp)"
run 0 "$UE" decode g.resp
[ "$(json out '[p["ticket_type"] for p in d["payloads"] if p["name"] == "TICKET"][0]')" = 2 ] ||
	fail "Ticket Type 2 granted"
run 0 "$UE" transfer-init --psk "$A16" --state g.st --resp g.resp --out g.ti
run 0 "$UE" request --psk "$A16" --ticket-type 1 --id "$ALICE" --to "$BOB" --out o.req --state o.st
kms request --grant-type 0xf001 --in o.req --out o.resp || fail "fake KMS request (other type)"
run 0 "$UE" transfer-init --psk "$A16" --state o.st --resp o.resp --out o.ti
grep -q "Ticket Type 0xf001 granted (asked for 0x0001)" err || fail "other Ticket Type noted"
grep -q "changed the requested policy (K)" err || fail "K noted"
run 0 "$UE" resolve --psk "$B16" --id "$BOB" --in o.ti --out o.res --state ob.st
kms resolve --in o.res --out o.rr || fail "fake KMS resolve (other type)"
run 0 "$UE" transfer-resp --psk "$B16" --state ob.st --resp o.rr --out o.tr
run 0 "$UE" keys --state o.st --tr o.tr
cp out o.keys
run 0 "$UE" keys --state ob.st
cmp -s out o.keys || fail "other Ticket Type: different keys"
ok "--3gpp asks for and gets Ticket Type 2; a ticket of another type than asked (K) is kept opaque through the flow"

# --- IDRkms left out ---------------------------------------------------------------------
run 0 "$UE" request --psk "$A16" --no-kms-id --id "$ALICE" --to "$BOB" --out nk.req --state nk.st
kms request --in nk.req --out nk.resp || fail "fake KMS: no IDRkms, MAC with the KMS identity"
run 0 "$UE" transfer-init --psk "$A16" --state nk.st --resp nk.resp --out nk.ti
run 0 "$UE" resolve --psk "$B16" --no-kms-id --uri --id "$BOB" --in nk.ti --out nk.res --state nkb.st
[ "$(idr nk.res)" = "[('IDRr', 1, 'sip:bob@example.org')]" ] || fail "resolve --no-kms-id: $(idr nk.res)"
run 0 "$UE" verify --psk "$B16" --kms-id kms.example.org nk.res
kms resolve --in nk.res --out nk.rr || fail "fake KMS resolve without IDRkms"
run 0 "$UE" transfer-resp --psk "$B16" --state nkb.st --resp nk.rr --out nk.tr
run 0 "$UE" keys --state nk.st --tr nk.tr
run 0 "$UE" request --psk "$A16" --no-kms-id --mac-without-kms-id --id "$ALICE" --to "$BOB" \
	--out nm.req --state nm.st
kms request --in nm.req --out nm.resp && fail "a MAC without the KMS identity accepted"
run 1 "$UE" transfer-init --psk "$A16" --state nm.st --resp nm.resp --out nm.ti
grep -q "MIKEY error 3 (Invalid MAC)" err || fail "Invalid MAC reported"
kms request --lax-kms-id --in nm.req --out nm.resp || fail "fake KMS with the setting"
run 0 "$UE" transfer-init --psk "$A16" --state nm.st --resp nm.resp --out nm.ti
run 0 "$UE" resolve --psk "$B16" --no-kms-id --mac-without-kms-id --id "$BOB" --in nm.ti \
	--out nm.res --state nmb.st
run 1 "$UE" verify --psk "$B16" --kms-id kms.example.org nm.res
kms resolve --in nm.res --out nm.rr && fail "a resolve MAC without the KMS identity accepted"
kms resolve --lax-kms-id --in nm.res --out nm.rr || fail "fake KMS resolve with the setting"
ok "--no-kms-id: KMS identity appended, accepted; --mac-without-kms-id refused unless the KMS allows it"

# --- no key forking (I = 0) ----------------------------------------------------------------
run 0 "$UE" request --psk "$A16" --no-fork --uri --id "$ALICE" --to "$BOB" --out nf.req --state nf.st
kms request --in nf.req --out nf.resp || fail "fake KMS request (no forking)"
run 0 "$UE" transfer-init --psk "$A16" --state nf.st --resp nf.resp --out nf.ti
! grep -q "(K)" err || fail "granted as asked"
run 0 "$UE" decode nf.ti
[ "$(json out '[(p["flags"]["I"], p["initiator_data_len"]) for p in d["payloads"] if p["name"] == "TICKET"][0]')" = "(False, 0)" ] ||
	fail "I = 0: no Initiator Data"
! grep -q '^mpkr ' nf.st || fail "no MPKr without forking"
run 2 "$UE" keys --state nf.st
run 0 "$UE" resolve --psk "$B16" --uri --id "$BOB" --in nf.ti --out nf.res --state nfb.st
kms resolve --in nf.res --out nf.rr || fail "fake KMS resolve (no forking)"
[ "$(idr nf.rr)" = "[('IDRkms', 0, 'kms.example.org')]" ] || fail "no forking modifier: $(idr nf.rr)"
run 0 "$UE" transfer-resp --psk "$B16" --state nfb.st --resp nf.rr --out nf.tr
run 0 "$UE" decode nf.tr
[ "$(json out '[p["name"] for p in d["payloads"]]')" = "['T', 'V']" ] ||
	fail "TRANSFER_RESP without forking: HDR, T, V"
run 0 "$UE" keys --state nf.st --tr nf.tr
cp out nf.keys
run 0 "$UE" keys --state nfb.st
cmp -s out nf.keys || fail "no forking: different keys"
[ "$(tek nfb.st nf.ti 16 0 2AD01C64 tgk)" = "$(json nf.keys 'd["srtp_master_key"]')" ] ||
	fail "no forking: TEK from the unforked TGK"
flip nf.tr 12 nf.tr.bad
run 1 "$UE" keys --state nf.st --tr nf.tr.bad
# The KMS names the responder all the same: copied back, nothing forked.
run 0 "$UE" resolve --psk "$B16" --id "$BOB" --in nf.ti --out nf2.res --state nfb2.st
kms resolve --resolve-idrr --in nf2.res --out nf2.rr || fail "fake KMS resolve (IDRr, no forking)"
run 0 "$UE" transfer-resp --psk "$B16" --state nfb2.st --resp nf2.rr --out nf2.tr
[ "$(idr nf2.tr)" = "[('IDRr', 0, 'bob@example.org')]" ] || fail "IDRr copied without forking"
run 0 "$UE" keys --state nf.st --tr nf2.tr
cmp -s out nf.keys || fail "no forking: the IDRr changes nothing"
# A KMS that forks anyway (its policy): the usual flow.
run 0 "$UE" request --psk "$A16" --no-fork --id "$ALICE" --to "$BOB" --out ff.req --state ff.st
kms request --fork --in ff.req --out ff.resp || fail "fake KMS request (forking granted)"
run 0 "$UE" transfer-init --psk "$A16" --state ff.st --resp ff.resp --out ff.ti
grep -q "(K)" err || fail "forking granted: K"
run 0 "$UE" resolve --psk "$B16" --id "$BOB" --in ff.ti --out ff.res --state ffb.st
kms resolve --in ff.res --out ff.rr || fail "fake KMS resolve (forking granted)"
run 0 "$UE" transfer-resp --psk "$B16" --state ffb.st --resp ff.rr --out ff.tr
run 0 "$UE" keys --state ff.st --tr ff.tr
cp out ff.keys
run 0 "$UE" keys --state ffb.st
cmp -s out ff.keys || fail "forking granted to --no-fork: different keys"
# Reuse without forking: the cache keeps the unforked TGK.
run 0 "$UE" request --psk "$A16" --no-fork --reuse --id "$ALICE" --to "$BOB" --out nr.req --state nr.st
kms request --in nr.req --out nr.resp || fail "fake KMS request (reuse, no forking)"
run 0 "$UE" transfer-init --psk "$A16" --state nr.st --resp nr.resp --out nr1.ti
run 0 "$UE" resolve --psk "$B16" --id "$BOB" --in nr1.ti --out nr1.res --state nrb.st
kms resolve --in nr1.res --out nr1.rr || fail "fake KMS resolve (reuse, no forking)"
run 0 "$UE" transfer-resp --psk "$B16" --state nrb.st --resp nr1.rr --out nr1.tr
run 0 "$UE" transfer-init --state nr.st --out nr2.ti
run 3 "$UE" resolve --psk "$B16" --id "$BOB" --in nr2.ti --out nr2.res --state nrb.st
run 0 "$UE" transfer-resp --state nrb.st --out nr2.tr
run 0 "$UE" keys --state nr.st --tr nr2.tr
cp out nr.keys
run 0 "$UE" keys --state nrb.st
cmp -s out nr.keys || fail "reuse without forking: different keys"
ok "--no-fork: I = 0 granted -> no Initiator Data, no forking modifier, TRANSFER_RESP = HDR, T, [IDRr], V with MPKi, same keys; forking granted anyway works"

# --- Error messages with a V --------------------------------------------------------------
# a32@example.org is a user of the KMS but not a responder of the ticket: refused
# after it authenticated, so the KMS can MAC the Error.
run 0 "$UE" resolve --psk "$A32" --id a32@example.org --in ti.bin --out e.res --state e.st
cp e.st e.st.orig
for v in none 1 2 bad csb; do
	cp e.st.orig e.st
	case $v in
	none) kms resolve --in e.res --out e.rr && fail "fake KMS resolved for a non-responder" ;;
	csb) kms resolve --error-v 1 --error-csb --in e.res --out e.rr && fail "fake KMS (csb)" ;;
	*) kms resolve --error-v "$v" --in e.res --out e.rr && fail "fake KMS ($v)" ;;
	esac
	run 1 "$UE" transfer-resp --psk "$A32" --state e.st --resp e.rr --out e.tr
	grep -q "the KMS answered with MIKEY error" err ||
		fail "Error reported ($v)"
	cp err "e.$v.err"
done
grep -q "no V: an unauthenticated hint" e.none.err || fail "Error without V"
grep -q "V verifies (auth_key of the message in error, D=0x01)" e.1.err || fail "Error V D=0x01"
grep -q "V verifies (response direction D=0x02)" e.2.err || fail "Error V D=0x02"
grep -q "V does NOT verify .*unverified" e.bad.err || fail "Error V with another key"
grep -q "V verifies (auth_key of the message in error, D=0x01)" e.csb.err || fail "Error V (csb)"
grep -q "HDR .* differs from the RESOLVE_INIT_PSK" e.csb.err || fail "Error HDR difference"
! grep -q "differs" e.1.err || fail "no HDR note when it matches"
[ ! -e e.tr ] || fail "no TRANSFER_RESP after an Error"
ok "Error messages: V checked with the INIT's auth_key (D=0x01) and the response direction (D=0x02), named; other keys unverified; HDR differences reported"

# Nothing but 'keys' prints key material: no PSK or stored key in any stderr.
for st in alice.st bob.st carol.st a256.st b256.st; do
	for name in mpki mpkr tgk mpkr_fork tgk_fork; do
		v=$(sed -n "s/^$name //p" "$st")
		[ -z "$v" ] && continue
		! grep -qi "$v" all.err || fail "$name of $st in diagnostics"
	done
done
for k in "$A16" "$B16" "$C16" "$A32"; do
	! grep -qi "$k" all.err || fail "a PSK in diagnostics"
done
ok "no PSK or key bytes in any diagnostic"

echo "kms_ue_flow: $n groups passed"
