#!/bin/sh
# bsf-stubd on 127.0.0.1: the admin commands, Ub bootstrapping with HTTP
# Digest AKAv1-MD5 (a python3 UE, MILENAGE from kms-ue milenage), Zn answers
# checked against kms-ue ks-naf, the refusals (unknown IMPI, wrong RES,
# unknown/expired B-TID, NAF not allowed, malformed), SQN resynchronisation
# with AUTS, SQN persistence across a restart, SIGTERM, and Zn over TLS with
# client certificates.
# Needs curl, python3 and the openssl CLI.  Every wait is bounded.
set -eu

. "${top_srcdir:-.}/tests/system/lib.sh"
need openssl
BSF="$top_builddir/bsf-stub/bsf-stubd"
JSON='Content-Type: application/json'

jget() { # jget FILE EXPR: print a field of a JSON file (python expression on d)
	python3 -c 'import base64, json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2"
}
wait_log_bsf() { wait_log "$1" bsf.log; }
# bsf_start ARGS...: start bsf-stubd -d $tmp/bsf -p $port ARGS, wait for /healthz.
bsf_start() {
	daemon bsf.log "$BSF" -d "$tmp/bsf" -p "$port" --threads 2 --conn-timeout 3 "$@"
	bpid=$dpid
	wait_up "$B/healthz" "$bpid" bsf-stubd
}
bsf_stop() { # SIGTERM, wait (bounded), exit status 0
	stop "$bpid" bsf-stubd
	bpid=""
}
# zn_expired FILE: a Zn request with the body in FILE is answered 404 (expired).
zn_expired() {
	[ "$(call "$B/zn" -H "$JSON" --data-binary @"$1")" = 404 ]
}

# --- the UE side of Ub (docs/ub.md), MILENAGE through kms-ue -------------------
cat >"$tmp/ue.py" <<'EOF'
"""ue.py URL USIM UE MODE [SQN_MS]: one Ub bootstrap as docs/ub.md describes.
MODE ok: bootstrap; wrong: answer with a wrong RES (expect 401, a new nonce);
resync: the USIM is at SQN_MS (hex) and rejects a lower SQN with AUTS.
Prints one JSON line."""
import base64, hashlib, http.client, json, re, subprocess, sys, urllib.parse

url, usim_file, ue, mode = sys.argv[1:5]
sqn_ms = int(sys.argv[5], 16) if len(sys.argv) > 5 else None
usim = dict(l.strip().split("=", 1) for l in open(usim_file) if "=" in l)
u = urllib.parse.urlsplit(url)
impi = usim["impi"]

def milenage(rand, sqn, amf):
    out = subprocess.run([ue, "milenage", "--k", usim["k"], "--opc", usim["opc"],
                          "--rand", rand.hex(), "--sqn", sqn.hex(), "--amf", amf.hex()],
                         check=True, capture_output=True, text=True).stdout
    return {k: bytes.fromhex(v) for k, v in json.loads(out).items()}

def get(authz):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    c.request("GET", "/ub", headers={"Authorization": authz})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, r.getheader("WWW-Authenticate") or "", body

def params(h):
    assert h.startswith("Digest "), h
    return {k: a or b for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', h[7:])}

def challenge(status, www):
    assert status == 401, "expected 401, got %d" % status
    ch = params(www)
    assert ch["algorithm"] == "AKAv1-MD5" and ch["qop"] == "auth-int", ch
    assert ch["realm"].startswith("3GPP-bootstrapping@"), ch
    raw = base64.b64decode(ch["nonce"], validate=True)
    rand, autn = raw[:16], raw[16:32]
    ak = milenage(rand, bytes(6), bytes(2))["ak"]
    sqn = bytes(a ^ b for a, b in zip(autn[:6], ak))
    v = milenage(rand, sqn, autn[6:8])
    assert v["mac_a"] == autn[8:16], "MAC-A does not verify: not our network"
    return ch, rand, sqn, v

def md5(b):
    return hashlib.md5(b).hexdigest()

def answer(ch, res):
    ha1 = md5(b"%s:%s:" % (impi.encode(), ch["realm"].encode()) + res)
    ha2 = md5(b"GET:/ub:" + md5(b"").encode())
    nc, cnonce = "00000001", "0a4f113b"
    resp = md5(":".join([ha1, ch["nonce"], nc, cnonce, "auth-int", ha2]).encode())
    return ('Digest username="%s", realm="%s", nonce="%s", uri="/ub", qop=auth-int, '
            'nc=%s, cnonce="%s", response="%s", opaque="%s", algorithm=AKAv1-MD5'
            % (impi, ch["realm"], ch["nonce"], nc, cnonce, resp, ch["opaque"]))

out = {}
first = 'Digest username="%s", realm="%s", nonce="", uri="/ub", response=""' % (
    impi, impi.split("@", 1)[1])
ch, rand, sqn, v = challenge(*get(first)[:2])
out["sqn"] = int.from_bytes(sqn, "big")
if mode == "resync":
    assert out["sqn"] <= sqn_ms, "SQN %d is not stale" % out["sqn"]
    s = milenage(rand, sqn_ms.to_bytes(6, "big"), bytes(2))
    auts = bytes(a ^ b for a, b in zip(sqn_ms.to_bytes(6, "big"), s["ak_star"])) + s["mac_s"]
    authz = ('Digest username="%s", realm="%s", nonce="%s", uri="/ub", response="", '
             'auts="%s"' % (impi, ch["realm"], ch["nonce"], base64.b64encode(auts).decode()))
    ch, rand, sqn, v = challenge(*get(authz)[:2])
    out["sqn_after_resync"] = int.from_bytes(sqn, "big")
if mode == "wrong":
    status, www, _ = get(answer(ch, bytes(8)))
    out["status"] = status
    out["new_nonce"] = status == 401 and params(www)["nonce"] != ch["nonce"]
    print(json.dumps(out))
    sys.exit(0)
status, _, body = get(answer(ch, v["res"]))
assert status == 200, "expected 200, got %d: %r" % (status, body)
m = re.fullmatch(rb'<\?xml version="1.0" encoding="UTF-8"\?><BootstrappingInfo '
                 rb'xmlns="uri:3gpp-gba"><btid>([^<]+)</btid><lifetime>'
                 rb'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)</lifetime></BootstrappingInfo>', body)
assert m, body
out.update(status=200, btid=m.group(1).decode(), lifetime=m.group(2).decode(),
           ck=v["ck"].hex(), ik=v["ik"].hex(), rand=rand.hex(), impi=impi)
print(json.dumps(out))
EOF
ue() { # ue MODE [SQN_MS]: run the UE for alice; JSON in $tmp/ue.json
	python3 "$tmp/ue.py" "$B" "$tmp/bsf/demo-alice.usim" "$UE" "$@" \
		>"$tmp/ue.json" 2>"$tmp/ue.out" || fail "UE ($*): $(tail -n 3 "$tmp/ue.out")"
}
zn_body() { # zn_body BTID FQDN: a Zn request for NAF_Id = FQDN || 01 00 00 00 06
	python3 -c 'import base64, json, sys
naf_id = sys.argv[2].encode() + bytes([1, 0, 0, 0, 6])
print(json.dumps({"transaction_identifier": sys.argv[1],
                  "naf_id": base64.b64encode(naf_id).decode(),
                  "gba_u_awareness": False}))' "$1" "$2"
}

# --- admin commands ---------------------------------------------------------------
"$BSF" -d "$tmp/bsf" --init --demo >"$tmp/init.out" 2>"$tmp/err" || fail "--init --demo"
[ "$(stat -c %a "$tmp/bsf/bsf.db")" = 600 ] || fail "bsf.db mode"
[ "$(stat -c %a "$tmp/bsf/demo-alice.usim")" = 600 ] || fail "demo-alice.usim mode"
grep -q '^impi=bob@ims.example.org$' "$tmp/bsf/demo-bob.usim" || fail "demo-bob.usim"
grep -q '^amf=8000$' "$tmp/bsf/demo-alice.usim" || fail "amf line"
k_alice=$(sed -n 's/^k=//p' "$tmp/bsf/demo-alice.usim")
[ ${#k_alice} -eq 32 ] || fail "k line"
if grep -q "$k_alice" "$tmp/init.out"; then fail "--init printed a key"; fi
cp "$tmp/bsf/demo-alice.usim" "$tmp/alice.before"
"$BSF" -d "$tmp/bsf" --init --demo >"$tmp/out" 2>"$tmp/err" || fail "second --init"
cmp -s "$tmp/alice.before" "$tmp/bsf/demo-alice.usim" || fail "--init rewrote alice's keys"
"$BSF" -d "$tmp/bsf" --add-subscriber carol@ims.example.org \
	--k 000102030405060708090a0b0c0d0e0f --opc 0f0e0d0c0b0a09080706050403020100 \
	--impu sip:carol@example.org --naf-group kms >"$tmp/out" 2>"$tmp/err" ||
	fail "--add-subscriber"
if "$BSF" -d "$tmp/bsf" --add-subscriber carol@ims.example.org --k 00 --opc 00 \
	>"$tmp/out" 2>"$tmp/err"; then fail "--add-subscriber with a short K"; fi
"$BSF" -d "$tmp/bsf" --add-naf other.example.org --naf-group other >"$tmp/out" 2>"$tmp/err" ||
	fail "--add-naf"
set +e
"$BSF" -d "$tmp/bsf" --add-naf x.example.org >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
[ $rc -eq 2 ] || fail "--add-naf without --naf-group exits $rc, expected 2"
ok "--init --demo (0600 files, keys not printed, idempotent), --add-subscriber, --add-naf"

# --- start ------------------------------------------------------------------------
port=$(free_port)
B="http://127.0.0.1:$port"
bsf_start
ok "bsf-stubd healthy on 127.0.0.1:$port"

# --- Ub: a full bootstrap ---------------------------------------------------------
ue ok
btid=$(jget "$tmp/ue.json" 'd["btid"]')
case $btid in *=@bsf.example.org) ;; *) fail "B-TID '$btid'" ;; esac
sqn1=$(jget "$tmp/ue.json" 'd["sqn"]')
[ "$sqn1" = 1 ] || fail "first SQN $sqn1, expected 1"
wait_log_bsf "bootstrapped, B-TID"
ok "Ub: 401 challenge, AKAv1-MD5 answer, 200 BootstrappingInfo with B-TID $btid"

# --- Zn: the NAF key of that B-TID ---------------------------------------------------
zn_body "$btid" kms.example.org >"$tmp/zn.json"
expect 200 "$B/zn" -H "$JSON" --data-binary @"$tmp/zn.json"
cp "$tmp/body" "$tmp/zn.out"
"$UE" ks-naf --ck "$(jget "$tmp/ue.json" 'd["ck"]')" --ik "$(jget "$tmp/ue.json" 'd["ik"]')" \
	--rand "$(jget "$tmp/ue.json" 'd["rand"]')" --impi alice@ims.example.org \
	--naf-fqdn kms.example.org >"$tmp/ks_naf" 2>"$tmp/err" || fail "kms-ue ks-naf"
want=$(head -n 1 "$tmp/ks_naf")
got=$(jget "$tmp/zn.out" 'base64.b64decode(d["me_key_material"]).hex()')
[ "$got" = "$want" ] || fail "Ks_ext_NAF differs from kms-ue ks-naf"
[ "$(jget "$tmp/zn.out" 'd["user_name"]')" = alice@ims.example.org ] || fail "user_name"
[ "$(jget "$tmp/zn.out" 'd["transaction_identifier"]')" = "$btid" ] || fail "B-TID echoed"
[ "$(jget "$tmp/zn.out" 'd["gba_type"]')" = 3G ] || fail "gba_type"
[ "$(jget "$tmp/zn.out" 'd["guss"]["uss"]')" = \
	"[{'naf_group': 'kms', 'impus': ['sip:alice@example.org', 'tel:+15550001']}]" ] ||
	fail "guss: $(cat "$tmp/zn.out")"
exp=$(jget "$tmp/zn.out" 'd["key_expiry_time"] - d["bootstrap_info_creation_time"]')
[ "$exp" = 3600 ] || fail "key lifetime $exp"
if grep -q "$(jget "$tmp/zn.out" 'd["me_key_material"]')" "$tmp/bsf.log"; then
	fail "the NAF key is in the log"
fi
ok "Zn 200: Ks_ext_NAF = kms-ue ks-naf, IMPI, USS of group kms, expiry +3600 s"

# --- ambiguous framing (RFC 9112 6.3): 400 before any body is read -----------------
for h in "Content-Length: 5|Content-Length: 6" "Content-Length: 5|Transfer-Encoding: chunked"; do
	# shellcheck disable=SC2046
	set -- $(raw_post "$port" /zn application/json "$h")
	[ "$1" = 400 ] || fail "Zn with '$h' answered $1, expected 400"
done
wait_log_bsf "request refused: more than one Content-Length"
wait_log_bsf "request refused: Content-Length with Transfer-Encoding"
ok "Zn: two Content-Lengths, or one with Transfer-Encoding: 400, reason logged"

# --- Zn refusals ------------------------------------------------------------------
zn_body "AAAAAAAAAAAAAAAAAAAAAA==@bsf.example.org" kms.example.org >"$tmp/zn2.json"
expect 404 "$B/zn" -H "$JSON" --data-binary @"$tmp/zn2.json"
[ "$(jget "$tmp/body" '(d["error"], d["result_code"], d["reason"])')" = \
	"('TRANSACTION_IDENTIFIER_INVALID', 5403, 'unknown_btid')" ] || fail "404 body"
zn_body "$btid" evil.example.org >"$tmp/zn3.json"
expect 403 "$B/zn" -H "$JSON" --data-binary @"$tmp/zn3.json"
[ "$(jget "$tmp/body" '(d["error"], d["result_code"])')" = "('NOT_AUTHORIZED', 5402)" ] ||
	fail "403 body"
zn_body "$btid" other.example.org >"$tmp/zn4.json"
expect 200 "$B/zn" -H "$JSON" --data-binary @"$tmp/zn4.json"
[ "$(jget "$tmp/body" 'd["guss"]["uss"]')" = "[]" ] || fail "no USS for group other"
expect 400 "$B/zn" -H "$JSON" --data-binary '{"transaction_identifier": 1}'
[ "$(jget "$tmp/body" 'd["error"]')" = BAD_REQUEST ] || fail "400 body"
expect 400 "$B/zn" -H "$JSON" --data-binary "{\"transaction_identifier\":\"$btid\",\"transaction_identifier\":\"$btid\",\"naf_id\":\"a21zLmV4YW1wbGUub3JnAQAAAAY=\"}"
expect 415 "$B/zn" -H 'Content-Type: text/plain' --data-binary @"$tmp/zn.json"
head -c 5000 /dev/zero | tr '\0' ' ' >"$tmp/big.json"
expect 413 "$B/zn" -H "$JSON" --data-binary @"$tmp/big.json"
expect 405 "$B/zn"
[ "$(grep -i '^Allow:' "$tmp/hdr" | tr -d ' \r')" = Allow:POST ] || fail "Allow: POST"
expect 405 "$B/ub" -X POST --data-binary x
expect 404 "$B/nowhere"
ok "Zn: 404 5403 unknown_btid, 403 5402 NAF not allowed, empty USS, 400, 415, 413, 405"

# --- Ub refusals ------------------------------------------------------------------
ue wrong
[ "$(jget "$tmp/ue.json" '(d["status"], d["new_nonce"])')" = "(401, True)" ] ||
	fail "wrong RES: $(cat "$tmp/ue.json")"
wait_log_bsf "wrong digest response"
expect 403 "$B/ub" -H 'Authorization: Digest username="eve@ims.example.org", realm="ims.example.org", nonce="", uri="/ub", response=""'
expect 400 "$B/ub"
expect 400 "$B/ub" -H 'Authorization: Digest username="alice@ims.example.org", realm='
ok "Ub: wrong RES 401 with a new nonce (logged), unknown IMPI 403, no/bad Authorization 400"

# --- resynchronisation -------------------------------------------------------------
ue resync 000000001000
[ "$(jget "$tmp/ue.json" 'd["sqn_after_resync"]')" = 4097 ] ||
	fail "SQN after resync: $(cat "$tmp/ue.json")"
wait_log_bsf "SQN resynchronised from AUTS"
ok "resync: stale SQN $(jget "$tmp/ue.json" 'd["sqn"]') -> AUTS -> new challenge with SQN_MS + 1, bootstrap 200"

# --- stop, SQN persisted, short lifetime ---------------------------------------------
bsf_stop
grep -q "SIGTERM: stopping" "$tmp/bsf.log" || fail "stop not logged"
bsf_start --lifetime 1
ue ok
sqn=$(jget "$tmp/ue.json" 'd["sqn"]')
[ "$sqn" -gt 4097 ] || fail "SQN $sqn after restart, expected > 4097"
btid=$(jget "$tmp/ue.json" 'd["btid"]')
zn_body "$btid" kms.example.org >"$tmp/zn.json"
wait_for 5 "the 1 s bootstrapping never expired" zn_expired "$tmp/zn.json"
[ "$(jget "$tmp/body" '(d["error"], d["result_code"], d["reason"])')" = \
	"('TRANSACTION_IDENTIFIER_INVALID', 5403, 'expired')" ] ||
	fail "expired body"
ok "SIGTERM exit 0; SQN persisted ($sqn); lifetime 1 s: Zn 404 5403 expired"
bsf_stop

# --- Zn over TLS with client certificates --------------------------------------------
pki="$tmp/pki"
mkdir -p "$pki"
cert() { # cert NAME CN EXT: a key and a certificate signed by the test CA
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$pki/$1.key" -subj "/CN=$2" -out "$pki/$1.csr" 2>/dev/null
	printf '%s\n' "$3" >"$pki/$1.ext"
	openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
		-CAcreateserial -days 2 -extfile "$pki/$1.ext" -out "$pki/$1.crt" 2>/dev/null
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$pki/ca.key" -subj "/CN=bsf test CA" -out "$pki/ca.crt" 2>/dev/null ||
	fail "openssl: CA"
cert server bsf.example.org "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth"
cert naf kms.example.org "subjectAltName=DNS:kms.example.org
extendedKeyUsage=clientAuth"
cert rogue rogue.example.org "subjectAltName=DNS:rogue.example.org
extendedKeyUsage=clientAuth"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$pki/self.key" -subj "/CN=kms.example.org" \
	-addext "subjectAltName=DNS:kms.example.org" -out "$pki/self.crt" 2>/dev/null
tport=$(free_port)
T="https://127.0.0.1:$tport"
bsf_start --zn-tls-port "$tport" --tls-cert "$pki/server.crt" --tls-key "$pki/server.key" \
	--tls-ca "$pki/ca.crt" --zn-tls-only
ue ok
btid=$(jget "$tmp/ue.json" 'd["btid"]')
zn_body "$btid" kms.example.org >"$tmp/zn.json"
tls="--cacert $pki/ca.crt"
# shellcheck disable=SC2086
expect 200 "$T/zn" $tls --cert "$pki/naf.crt" --key "$pki/naf.key" -H "$JSON" \
	--data-binary @"$tmp/zn.json"
[ "$(jget "$tmp/body" 'd["user_name"]')" = alice@ims.example.org ] || fail "TLS Zn body"
# shellcheck disable=SC2086
expect 403 "$T/zn" $tls --cert "$pki/rogue.crt" --key "$pki/rogue.key" -H "$JSON" \
	--data-binary @"$tmp/zn.json"
grep -q "not for the NAF_Id's FQDN" "$tmp/body" || fail "rogue refusal reason"
# shellcheck disable=SC2086
expect 403 "$T/zn" $tls --cert "$pki/self.crt" --key "$pki/self.key" -H "$JSON" \
	--data-binary @"$tmp/zn.json"
# shellcheck disable=SC2086
expect 403 "$T/zn" $tls -H "$JSON" --data-binary @"$tmp/zn.json"
grep -q "no client certificate" "$tmp/body" || fail "no-certificate refusal reason"
[ "$(jget "$tmp/body" 'd["result_code"]')" = 5402 ] || fail "TLS 403 result_code"
# shellcheck disable=SC2086
expect 403 "$T/zn" $tls -H "$JSON" --data-binary 'not json'
# shellcheck disable=SC2086
expect 404 "$T/ub" $tls --cert "$pki/naf.crt" --key "$pki/naf.key"
expect 403 "$B/zn" -H "$JSON" --data-binary @"$tmp/zn.json"
bsf_stop
ok "Zn over TLS: 200 for the NAF's certificate; 403 for another name, a self-signed or no certificate; plain Zn 403 (TLS only)"
