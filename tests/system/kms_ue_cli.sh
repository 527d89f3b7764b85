#!/bin/sh
# kms-ue command line: prf against independent implementations, decode of the
# golden REQUEST_INIT in binary / base64 / SDP form, verify exit codes, and
# what the request options put on the wire (--uri, --ticket-type, --3gpp,
# --no-fork, --no-kms-id, --mac-without-kms-id), checked with decode and
# verify (and the MAC without the KMS identity recomputed in python).
# Needs python3 and the openssl CLI with its TLS1-PRF kdf.  No network.
set -eu

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
. "$top_srcdir/tests/system/lib.sh" # tmp, UE, ok, fail, run, json_check
need openssl
# The PRF is checked against OpenSSL's TLS1-PRF too: an openssl without it is a skip.
if ! openssl kdf -keylen 4 -kdfopt digest:SHA1 -kdfopt hexsecret:00 -kdfopt hexseed:00 \
	TLS1-PRF >/dev/null 2>&1; then
	echo "SKIP: openssl has no TLS1-PRF kdf"
	exit 77
fi
VEC="$top_srcdir/tests/vectors"
GOLD="$VEC/request_init.bin"
PSK=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f

# Reference MIKEY PRF (RFC 3830 4.1.2 / RFC 6043 6.1), written from the RFC text.
py_prf() {
	python3 - "$@" <<'EOF'
import hashlib, hmac, sys
name, key, label, n = sys.argv[1], bytes.fromhex(sys.argv[2]), bytes.fromhex(sys.argv[3]), int(sys.argv[4])
h = hashlib.sha1 if name == "mikey1" else hashlib.sha256
def p(s):
    out, a = b"", label
    while len(out) < n:
        a = hmac.new(s, a, h).digest()
        out += hmac.new(s, a + label, h).digest()
    return out[:n]
res = bytes(n)
for i in range(0, len(key), 32):
    res = bytes(x ^ y for x, y in zip(res, p(key[i:i + 32])))
print(res.hex())
EOF
}

# --- help -----------------------------------------------------------------
for c in decode prf verify; do
	run 0 "$UE" "$c" --help
	grep -q "usage: kms-ue $c" "$tmp/out" || fail "$c --help text"
done
run 0 "$UE" --help
run 2 "$UE"
run 2 "$UE" frobnicate
ok "help and usage"

# --- prf --------------------------------------------------------------------
KEY32=0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a090807060504030201000
LABEL=2d22ac75ff123456780110000102030405060708090a0b0c0d0e0f00
for prf in mikey1 sha256; do
	for len in 1 20 32 45 100; do
		run 0 "$UE" prf --prf "$prf" --inkey "$KEY32" --label "$LABEL" --len "$len"
		mine=$(cat "$tmp/out")
		ref=$(py_prf "$prf" "$KEY32" "$LABEL" "$len")
		[ "$mine" = "$ref" ] || fail "prf $prf len $len: $mine != python $ref"
		# One 256-bit in-key chunk: MIKEY PRF = TLS 1.2 P_hash(key, label).
		md=SHA1
		[ "$prf" = sha256 ] && md=SHA256
		ossl=$(openssl kdf -keylen "$len" -kdfopt "digest:$md" \
			-kdfopt "hexsecret:$KEY32" -kdfopt "hexseed:$LABEL" TLS1-PRF |
			tr -d ':\n' | tr 'A-F' 'a-f')
		[ "$mine" = "$ossl" ] || fail "prf $prf len $len: $mine != openssl $ossl"
	done
done
# Two in-key chunks (48 bytes): outputs XORed.
KEY48=${KEY32}a1a2a3a4a5a6a7a8a9aaabacadaeafb0
run 0 "$UE" prf --prf mikey1 --inkey "$KEY48" --label "$LABEL" --len 64
[ "$(cat "$tmp/out")" = "$(py_prf mikey1 "$KEY48" "$LABEL" 64)" ] || fail "prf 2 chunks"
ok "prf matches python and openssl TLS1-PRF"

run 2 "$UE" prf --prf md5 --inkey 00 --label 00 --len 4
run 2 "$UE" prf --prf mikey1 --inkey 0g --label 00 --len 4
run 2 "$UE" prf --prf mikey1 --inkey 000 --label 00 --len 4
run 2 "$UE" prf --prf mikey1 --inkey 00 --label 00 --len 0
run 2 "$UE" prf --prf mikey1 --inkey 00 --label 00 --len 257
run 2 "$UE" prf --prf mikey1 --inkey 00 --label 00 --len 4x
run 2 "$UE" prf --prf mikey1 --inkey 00 --label 00
run 2 "$UE" prf --bogus
ok "prf argument errors exit 2"

# --- golden vector ------------------------------------------------------------
sh "$VEC/make_request_init.sh" "$tmp/regen.bin"
cmp -s "$tmp/regen.bin" "$GOLD" || fail "make_request_init.sh does not reproduce $GOLD"
ok "golden vector reproducible"

# --- decode -------------------------------------------------------------------
run 0 "$UE" decode "$GOLD"
cp "$tmp/out" "$tmp/bin.json"
json_check 'd["valid"] is True and d["input_form"] == "binary"'
json_check 'd["data_type"] == 11 and d["data_type_name"] == "REQUEST_INIT_PSK" and d["length"] == 187'
json_check 'd["hdr"]["csb_id"] == "12345678" and d["hdr"]["map_type"] == 1 and d["hdr"]["ncs"] == 0'
json_check '[p["name"] for p in d["payloads"]] == ["T", "RANDR", "IDR", "IDR", "TP", "IDR", "V"]'
json_check '[p["offset"] for p in d["payloads"]] == [10, 20, 39, 65, 85, 120, 165]'
json_check 'd["payloads"][0]["time"] == "2024-01-01T00:00:00.500Z"'
json_check 'd["payloads"][1]["rand"] == bytes(range(16)).hex()'
json_check 'd["payloads"][2]["id_text"] == "sip:alice@example.org" and d["payloads"][2]["role_name"] == "IDRi"'
json_check 'd["payloads"][4]["ticket_type"] == 0xf000 and d["payloads"][4]["flags_raw"] == 0xe800'
json_check 'd["payloads"][4]["tp_payloads"]["idrr"][0]["id_text"] == "sip:bob@example.org"'
json_check 'd["payloads"][6]["mac"] == "e379a4965df7b38021e4d468d4f4dbad206b394f"'
ok "decode binary"

strip_form='import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
for d in (a, b):
    d.pop("input_form")
sys.exit(0 if a == b else 1)'

python3 -c 'import base64, sys
sys.stdout.write(base64.encodebytes(open(sys.argv[1], "rb").read()).decode())' "$GOLD" >"$tmp/b64.txt"
[ "$(wc -l <"$tmp/b64.txt")" -gt 1 ] || fail "expected wrapped base64"
run 0 "$UE" decode "$tmp/b64.txt"
json_check 'd["input_form"] == "base64"'
python3 -c "$strip_form" "$tmp/bin.json" "$tmp/out" || fail "base64 JSON differs"
ok "decode base64 (wrapped lines)"

b64=$(python3 -c 'import base64, sys
print(base64.b64encode(open(sys.argv[1], "rb").read()).decode())' "$GOLD")
printf '  a=key-mgmt:mikey %s\r\n' "$b64" >"$tmp/sdp.txt"
run 0 "$UE" decode "$tmp/sdp.txt"
json_check 'd["input_form"] == "sdp"'
python3 -c "$strip_form" "$tmp/bin.json" "$tmp/out" || fail "SDP JSON differs"
printf 'a=key-mgmt: mikey %s' "$b64" | run 0 "$UE" decode -
run 0 "$UE" decode --compact - <"$GOLD"
[ "$(wc -l <"$tmp/out")" -eq 1 ] || fail "--compact is one line"
run 0 "$UE" decode --show-keys "$GOLD"
ok "decode SDP line, stdin, --compact, --show-keys"

# Decodes, but the composition is wrong: data type 13 (REQUEST_RESP).
python3 -c 'import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[1] = 13
open(sys.argv[2], "wb").write(b)' "$GOLD" "$tmp/dt13.bin"
run 1 "$UE" decode "$tmp/dt13.bin"
json_check 'd["valid"] is False and d["error"]["code"] == "KMS_EPAYLOAD" and d["error"]["message"]'
ok "decode of an invalid composition prints JSON with valid=false, exit 1"

printf 'hello, this is not MIKEY\n' >"$tmp/garbage.txt"
run 1 "$UE" decode "$tmp/garbage.txt"
if [ ! -s "$tmp/err" ] || [ -s "$tmp/out" ]; then
	fail "garbage: message on stderr only"
fi
head -c 50 "$GOLD" >"$tmp/trunc.bin"
run 1 "$UE" decode "$tmp/trunc.bin"
grep -q "offset 39" "$tmp/err" || fail "truncated: offset of the failing payload"
grep -q "KMS_EFEWDATA" "$tmp/err" || fail "truncated: error name"
printf 'a=key-mgmt:sdes AAAA\n' >"$tmp/sdes.txt"
run 1 "$UE" decode "$tmp/sdes.txt"
python3 -c 'import sys; open(sys.argv[1], "wb").write(b"A" * 40000)' "$tmp/big.txt"
run 1 "$UE" decode "$tmp/big.txt"
grep -q "over" "$tmp/err" || fail "oversized input message"
run 2 "$UE" decode "$tmp/does-not-exist"
run 2 "$UE" decode a b
ok "decode errors: garbage, truncated (offset), other protocol, oversized, missing file"

# --- verify -------------------------------------------------------------------
run 0 "$UE" verify --psk "$PSK" "$GOLD"
[ "$(cat "$tmp/out")" = valid ] || fail "verify prints valid"
run 0 "$UE" verify --psk "$PSK" --kms-id other.kms "$tmp/sdp.txt"
run 0 "$UE" verify --psk "$PSK" "$tmp/b64.txt"
ok "verify: valid (binary, SDP, base64)"

BAD=${PSK%?}0
run 1 "$UE" verify --psk "$BAD" "$GOLD"
[ "$(cat "$tmp/out")" = invalid ] || fail "verify prints invalid"
python3 -c 'import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[50] ^= 1
open(sys.argv[2], "wb").write(b)' "$GOLD" "$tmp/flip.bin"
run 1 "$UE" verify --psk "$PSK" "$tmp/flip.bin"
ok "verify: wrong PSK and a flipped identity bit exit 1"

run 2 "$UE" verify --psk "$PSK" "$tmp/garbage.txt"
run 2 "$UE" verify --psk "$PSK" "$tmp/trunc.bin"
run 2 "$UE" verify --psk "$PSK" "$tmp/dt13.bin"
run 2 "$UE" verify --psk zz "$GOLD"
run 2 "$UE" verify "$GOLD"
run 2 "$UE" verify --psk "$PSK"
run 2 "$UE" verify --psk "$PSK" "$tmp/does-not-exist"
ok "verify: malformed, wrong type, bad arguments exit 2"

# Nothing the verifier printed contains the PSK.
for c in "$PSK" "$BAD"; do
	"$UE" verify --psk "$c" "$GOLD" >"$tmp/out" 2>"$tmp/err" || true
	if grep -qi "$c" "$tmp/out" "$tmp/err"; then
		fail "verify printed the PSK"
	fi
done
ok "verify never prints the PSK"

# --- request options on the wire ---------------------------------------------------
A16=a1a2a3a4a5a6a7a8a9aaabacadaeafa0
# idrs FILE: (role, ID Type, text) of every IDR, then of the TP's IDRkms, IDRi, IDRr.
idrs() {
	"$UE" decode --compact "$1" | python3 -c 'import json, sys
d = json.load(sys.stdin)
top = [(p["role_name"], p["id_type"], p["id_text"]) for p in d["payloads"] if p["name"] == "IDR"]
tp = [p for p in d["payloads"] if p["name"] in ("TP", "TICKET")][0]["tp_payloads"]
pol = [(x["role_name"], x["id_type"], x["id_text"])
       for x in [tp.get("idrkms"), tp.get("idri")] + tp["idrr"] if x]
print(top, pol)'
}
# tp FILE: Ticket Type, Subtype, Version and flags of the TP.
tp() {
	"$UE" decode --compact "$1" | python3 -c 'import json, sys
d = json.load(sys.stdin)
t = [p for p in d["payloads"] if p["name"] == "TP"][0]
print(hex(t["ticket_type"]), t["subtype"], t["version"], t["flags_str"])'
}
R="--psk $A16 --id alice@example.org --to bob@example.org --state $tmp/r.st"
run 0 "$UE" request $R --out "$tmp/nai.bin"
[ "$(idrs "$tmp/nai.bin")" = "[('IDRi', 0, 'alice@example.org'), ('IDRkms', 0, 'kms.example.org')] [('IDRkms', 0, 'kms.example.org'), ('IDRi', 0, 'alice@example.org'), ('IDRr', 0, 'bob@example.org')]" ] ||
	fail "plain values: ID Type NAI as before: $(idrs "$tmp/nai.bin")"
[ "$(tp "$tmp/nai.bin")" = "0xf000 1 1 .EF.HI......" ] || fail "default TP: $(tp "$tmp/nai.bin")"
run 0 "$UE" request $R --uri --to 'sip:*.dept@example.org' --out "$tmp/uri.bin"
[ "$(idrs "$tmp/uri.bin")" = "[('IDRi', 1, 'sip:alice@example.org'), ('IDRkms', 1, 'sip:kms.example.org')] [('IDRkms', 1, 'sip:kms.example.org'), ('IDRi', 1, 'sip:alice@example.org'), ('IDRr', 1, 'sip:bob@example.org'), ('IDRr', 1, 'sip:*.dept@example.org')]" ] ||
	fail "--uri: ID Type URI and sip: values: $(idrs "$tmp/uri.bin")"
run 0 "$UE" verify --psk "$A16" "$tmp/uri.bin"
run 0 "$UE" request --psk "$A16" --id sips:alice@example.org --to bob@example.org \
	--to 'sip:*.dept@example.org' --state "$tmp/r.st" --out "$tmp/mixed.bin"
[ "$(idrs "$tmp/mixed.bin")" = "[('IDRi', 1, 'sips:alice@example.org'), ('IDRkms', 0, 'kms.example.org')] [('IDRkms', 0, 'kms.example.org'), ('IDRi', 1, 'sips:alice@example.org'), ('IDRr', 0, 'bob@example.org'), ('IDRr', 1, 'sip:*.dept@example.org')]" ] ||
	fail "sip:/sips: values are URIs without --uri: $(idrs "$tmp/mixed.bin")"
run 0 "$UE" verify --psk "$A16" "$tmp/mixed.bin"
run 0 "$UE" request --psk "$A16" --id '<sip:alice@EXAMPLE.org;transport=tls>' \
	--to '<bob@example.org>' --uri --state "$tmp/r.st" --out "$tmp/angle.bin"
[ "$(idrs "$tmp/angle.bin")" = "[('IDRi', 1, 'sip:alice@EXAMPLE.org;transport=tls'), ('IDRkms', 1, 'sip:kms.example.org')] [('IDRkms', 1, 'sip:kms.example.org'), ('IDRi', 1, 'sip:alice@EXAMPLE.org;transport=tls'), ('IDRr', 1, 'sip:bob@example.org')]" ] ||
	fail "<URI> stands for the URI: $(idrs "$tmp/angle.bin")"
for bad in '' 'sip:' 'sips:' '<>' '<sip:>' 'alice example.org' "$(printf 'alice\001@example.org')"; do
	run 2 "$UE" request --psk "$A16" --id "$bad" --to bob@example.org --state "$tmp/r.st" \
		--out "$tmp/x.bin"
	run 2 "$UE" request --psk "$A16" --id alice@example.org --to "$bad" --state "$tmp/r.st" \
		--out "$tmp/x.bin"
done
ok "--uri: every identity ID Type URI with sip: added; sip:/sips: values (and patterns) are URIs anyway; <URI> is the URI; plain values stay NAI; bad identities exit 2"

for t in 1 2 private; do
	run 0 "$UE" request $R --ticket-type "$t" --out "$tmp/tt$t.bin"
done
[ "$(tp "$tmp/tt1.bin")" = "0x1 1 1 .EF.HI......" ] || fail "--ticket-type 1"
[ "$(tp "$tmp/tt2.bin")" = "0x2 1 1 .EF.HI......" ] || fail "--ticket-type 2"
[ "$(tp "$tmp/ttprivate.bin")" = "0xf000 1 1 .EF.HI......" ] || fail "--ticket-type private"
run 2 "$UE" request $R --ticket-type 3 --out "$tmp/x.bin"
run 0 "$UE" request $R --no-fork --out "$tmp/nofork.bin"
[ "$(tp "$tmp/nofork.bin")" = "0xf000 1 1 .EF.H......." ] || fail "--no-fork clears I: $(tp "$tmp/nofork.bin")"
run 0 "$UE" request $R --3gpp --out "$tmp/3gpp.bin"
run 0 "$UE" request $R --uri --ticket-type 2 --out "$tmp/uri2.bin"
[ "$(idrs "$tmp/3gpp.bin") $(tp "$tmp/3gpp.bin")" = "$(idrs "$tmp/uri2.bin") $(tp "$tmp/uri2.bin")" ] ||
	fail "--3gpp differs from --uri --ticket-type 2"
[ "$(tp "$tmp/3gpp.bin")" = "0x2 1 1 .EF.HI......" ] || fail "--3gpp: Ticket Type 2"
run 0 "$UE" request $R --3gpp --ticket-type private --out "$tmp/3gppp.bin"
[ "$(tp "$tmp/3gppp.bin")" = "0xf000 1 1 .EF.HI......" ] || fail "--ticket-type wins over --3gpp"
ok "--ticket-type 1|2|private and --no-fork in the TP (subtype and version 1); --3gpp = --uri --ticket-type 2"

run 0 "$UE" request $R --no-kms-id --out "$tmp/nokms.bin"
[ "$(idrs "$tmp/nokms.bin")" = "[('IDRi', 0, 'alice@example.org')] [('IDRi', 0, 'alice@example.org'), ('IDRr', 0, 'bob@example.org')]" ] ||
	fail "--no-kms-id leaves IDRkms out of message and TP: $(idrs "$tmp/nokms.bin")"
run 0 "$UE" verify --psk "$A16" --kms-id kms.example.org "$tmp/nokms.bin"
run 1 "$UE" verify --psk "$A16" --kms-id other.example.org "$tmp/nokms.bin"
run 2 "$UE" verify --psk "$A16" "$tmp/nokms.bin"
run 0 "$UE" request $R --no-kms-id --kms-id kms.d2.example --uri --out "$tmp/nokms2.bin"
run 0 "$UE" verify --psk "$A16" --kms-id kms.d2.example "$tmp/nokms2.bin"
run 0 "$UE" request $R --no-kms-id --mac-without-kms-id --out "$tmp/nokmsmac.bin"
run 1 "$UE" verify --psk "$A16" --kms-id kms.example.org "$tmp/nokmsmac.bin"
python3 - "$tmp/nokmsmac.bin" "$A16" <<'EOF' || fail "--mac-without-kms-id: MAC over REQUEST_INIT || IDi alone"
import hashlib, hmac, sys
m = open(sys.argv[1], "rb").read()
psk = bytes.fromhex(sys.argv[2])
def prf(key, label, n):
    out, a = b"", label
    while len(out) < n:
        a = hmac.new(key, a, hashlib.sha1).digest()
        out += hmac.new(key, a + label, hashlib.sha1).digest()
    return out[:n]
# HDR (10 bytes), T (10), then RANDRi: Next | Role | Length | RAND.
rlen = m[22]
randri = m[23:23 + rlen]
label = bytes.fromhex("2d22ac75") + b"\xff" + m[4:8] + b"\x01" + bytes([rlen]) + randri + b"\x00"
key = prf(psk, label, 20)
mac = hmac.new(key, m[:-20] + b"alice@example.org", hashlib.sha1).digest()
sys.exit(0 if mac == m[-20:] else 1)
EOF
run 2 "$UE" request $R --mac-without-kms-id --out "$tmp/x.bin"
ok "--no-kms-id: no IDRkms, the MAC still appends the KMS identity (verify --kms-id); --mac-without-kms-id: MAC without it (needs --no-kms-id)"

echo "kms_ue_cli: $n groups passed"
