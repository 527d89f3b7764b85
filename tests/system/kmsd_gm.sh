#!/bin/sh
# Flags G (the Responder generates RANDRr) and M (the Responder supplies
# session keys) against a running kmsd (docs/policy.md, RFC 6043 6.10):
# without a rule the KMS clears them and sets K; granted by a rule, G, M
# and G + M (with H = 0) flows end with equal SRTP keys on both sides,
# RANDRr travels in TRANSFER_RESP and enters the key derivation (checked
# by an independent python3 computation), the Responder's TGK replaces the
# ticket's; a rule that takes G/M away after issue makes the resolve fail;
# a TRANSFER_RESP carrying a KEMAC for a ticket with M = 0 is refused.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need python3

port=$(free_port)
B="http://127.0.0.1:$port"
U="$B/kms"
S="$tmp/state"
"$KMSCTL" -d "$S" init --demo >"$tmp/init.out" 2>&1 || fail "kmsctl init --demo"
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 2; };
kms = { state_dir = "$S"; };
policy = { default_effect = "allow"; reload_interval = 1; };
CONF
kmsd_start "$tmp/kmsd.conf" "$B"

PA="--psk-file $S/demo-alice.psk"
PB="--psk-file $S/demo-bob.psk"
A="$PA --id alice@example.org"
Bo="$PB --id bob@example.org"

# request ARGS...: Alice asks for a ticket for Bob and sends TRANSFER_INIT
# (ti.bin); her state in alice.st.
request() {
	# shellcheck disable=SC2086
	"$UE" request $A --to bob@example.org "$@" --out "$tmp/req.bin" \
		--state "$tmp/alice.st" || fail "request $*"
	st=$(post_mikey "$U?requesttype=ticketrequest" "$tmp/req.bin" "$tmp/req.resp")
	[ "$st" = 200 ] || fail "ticket request $*: $st"
	# shellcheck disable=SC2086
	"$UE" transfer-init $PA --state "$tmp/alice.st" --resp "$tmp/req.resp" \
		--out "$tmp/ti.bin" >/dev/null 2>"$tmp/ti.err" ||
		fail "transfer-init $*: $(cat "$tmp/ti.err")"
}

# flags: the ticket's flags string (e.g. DEF.HI......) from REQUEST_RESP.
flags() {
	"$UE" decode --compact "$tmp/req.resp" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print([p for p in d["payloads"] if p["name"] == "TICKET"][0]["flags_str"])'
}

# resolve ARGS...: Bob resolves (prints the status); on 200 he answers with
# tr.bin (transfer-resp ARGS) and both sides print their keys.
resolve() {
	# shellcheck disable=SC2086
	"$UE" resolve $Bo --in "$tmp/ti.bin" --out "$tmp/res.bin" \
		--state "$tmp/bob.st" || fail "resolve"
	st=$(post_mikey "$U?requesttype=ticketresolve" "$tmp/res.bin" "$tmp/rr.bin")
	if [ "$st" = 200 ]; then
		# shellcheck disable=SC2086
		"$UE" transfer-resp $PB --state "$tmp/bob.st" --resp "$tmp/rr.bin" \
			--out "$tmp/tr.bin" "$@" >/dev/null 2>"$tmp/tr.err" ||
			fail "transfer-resp $*: $(cat "$tmp/tr.err")"
		"$UE" keys --state "$tmp/bob.st" >"$tmp/keys-bob.json" || fail "keys (bob)"
		cp "$tmp/alice.st" "$tmp/alice-tr.st"
		"$UE" keys --state "$tmp/alice-tr.st" --tr "$tmp/tr.bin" \
			>"$tmp/keys-alice.json" 2>"$tmp/keys.err" ||
			fail "keys (alice): $(cat "$tmp/keys.err")"
		cmp -s "$tmp/keys-bob.json" "$tmp/keys-alice.json" ||
			fail "Alice and Bob derive different keys"
	fi
	echo "$st"
}

# check_tek STATE TGK_NAME H G: recompute the SRTP master key from the TGK
# kept in STATE (tgk_fork, tgk_resp), RANDRi of ti.bin and RANDRr of tr.bin,
# taking RANDRi iff H = 1 and RANDRr iff G = 1 (RFC 6043 5.1.3), and compare
# with keys-bob.json; it must also differ from the G = 0 derivation.
# Returns python's status.
check_tek() {
	"$UE" decode --compact "$tmp/ti.bin" >"$tmp/ti.json"
	"$UE" decode --compact "$tmp/tr.bin" >"$tmp/tr.json"
	python3 - "$@" "$tmp" <<'EOF'

import hashlib, hmac, json, sys
st, name, h, g, tmp = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
ent = dict(l.split() for l in open(st).read().splitlines()[1:])
tgk = bytes.fromhex(ent[name])
def rand(f, role):
    ps = json.load(open(f))["payloads"]
    r = [p for p in ps if p["name"] == "RANDR" and p["role"] == role]
    return bytes.fromhex(r[0]["rand"]) if r else None
ri, rr = rand(tmp + "/ti.json", 1), rand(tmp + "/tr.json", 2)
def tek(use_ri, use_rr):
    lab = bytes.fromhex("2AD01C64") + b"\x01" + b"\xff" * 4 + b"\x03"
    lab += bytes([len(ri)]) + ri if use_ri else b"\x00"
    lab += bytes([len(rr)]) + rr if use_rr else b"\x00"
    out, a = b"", lab
    while len(out) < len(tgk):
        a = hmac.new(tgk, a, hashlib.sha1).digest()
        out += hmac.new(tgk, a + lab, hashlib.sha1).digest()
    return out[: len(tgk)].hex()
got = json.load(open(tmp + "/keys-bob.json"))["srtp_master_key"]
want = tek(h == "1", g == "1")
assert got == want, "key is not the RFC 6043 5.1.3 derivation"
if g == "1":
    assert rr is not None and got != tek(True, False), "RANDRr did not change the key"
EOF
}

# --- no rule: G and M cleared, K set ------------------------------------------------------
request --responder-rand --responder-keys
f=$(flags)
case $f in *G* | *M*) fail "G/M granted without a rule: $f" ;; esac
case $f in *H*K*) ;; *) fail "H and K expected without a rule: $f" ;; esac
grep -q "granted without Responder RANDRr (G = 0)" "$tmp/ti.err" || fail "no note about G"
grep -q "granted without Responder keys (M = 0)" "$tmp/ti.err" || fail "no note about M"
ok "no rule: requested G and M cleared, H kept, K set; kms-ue notes both"

# --- a rule grants G: RANDRr in TRANSFER_RESP, in the keys ------------------------------
"$KMSCTL" -d "$S" policy add --from alice@example.org --to bob@example.org --allow \
	--responder-rand --responder-keys >/dev/null || fail "policy add"
wait_count "reload done" 1
"$KMSCTL" -d "$S" policy list --json >"$tmp/out" || fail "policy list"
json_check 'd[0]["responder_rand"] is True and d[0]["responder_keys"] is True'
request --responder-rand
f=$(flags)
case $f in *G*) ;; *) fail "G not granted by the rule: $f" ;; esac
case $f in *K* | *M*) fail "unexpected K or M: $f" ;; esac
[ "$(resolve)" = 200 ] || fail "G: resolve"
"$UE" decode --compact "$tmp/tr.bin" >"$tmp/out"
json_check 'any(p["name"] == "RANDR" and p["role_name"] == "RANDRr" and p["rand_len"] >= 16 for p in d["payloads"]) and not any(p["name"] == "KEMAC" for p in d["payloads"])'
check_tek "$tmp/bob.st" tgk_fork 1 1 || fail "SRTP key recomputation (tgk_fork 1 1)"
ok "G granted: RANDRr in TRANSFER_RESP, equal keys on both sides, RANDRr in the TEK label"

# --- M: Bob's own TGK in a KEMAC --------------------------------------------------------------
request --responder-keys
f=$(flags)
case $f in *M*) ;; *) fail "M not granted by the rule: $f" ;; esac
[ "$(resolve --responder-keys)" = 200 ] || fail "M: resolve"
"$UE" decode --compact "$tmp/tr.bin" >"$tmp/out"
json_check 'any(p["name"] == "KEMAC" for p in d["payloads"]) and not any(p["name"] == "RANDR" and p["role_name"] == "RANDRr" for p in d["payloads"])'
check_tek "$tmp/bob.st" tgk_resp 1 0 || fail "SRTP key recomputation (tgk_resp 1 0)"
if check_tek "$tmp/bob.st" tgk_fork 1 0 2>/dev/null; then
	fail "M: the keys still come from the ticket's TGK"
fi
ok "M granted: Bob's TGK in a KEMAC of TRANSFER_RESP keys the session on both sides"

# --- G + M with H = 0: RANDRi out of the derivation --------------------------------------------
request --responder-rand --responder-keys --no-randri
f=$(flags)
case $f in *G*M*) ;; *) fail "G and M not granted: $f" ;; esac
case $f in *H*) fail "H set although not asked with G: $f" ;; esac
[ "$(resolve --responder-keys)" = 200 ] || fail "G+M: resolve"
check_tek "$tmp/bob.st" tgk_resp 0 1 || fail "SRTP key recomputation (tgk_resp 0 1)"

ok "G + M, H = 0: equal keys from Bob's TGK with RANDRr alone in the label"

# --- a ticket with M = 0: a TRANSFER_RESP with a KEMAC is refused -----------------------------
request --responder-rand
[ "$(resolve)" = 200 ] || fail "G-only: resolve"
# shellcheck disable=SC2086
run 1 "$UE" transfer-resp $PB --state "$tmp/bob.st" --resp "$tmp/rr.bin" \
	--out "$tmp/x.bin" --responder-keys
grep -q "the ticket has M = 0" "$tmp/err" || fail "transfer-resp --responder-keys, M = 0: reason"
# Forged: a KEMAC spliced in before V.  RANDRkms is the payload before V
# (Next payload | Role | Length | RAND); its Next payload is made KEMAC (1),
# and the KEMAC (Next payload V | AES-CM-128 | Length 20 | data | MAC alg
# NULL) goes in front of V.
"$UE" decode --compact "$tmp/tr.bin" >"$tmp/tr.json"
python3 - "$tmp/tr.bin" "$tmp/tr.json" "$tmp/forged.bin" <<'EOF' || fail "forging"
import json, sys
b = bytearray(open(sys.argv[1], "rb").read())
d = json.load(open(sys.argv[2]))
rk = [p for p in d["payloads"] if p["name"] == "RANDR" and p["role"] == 3][0]
v = len(b) - 22  # V: Next payload | Auth alg | 20-byte HMAC-SHA-1
start = v - 3 - rk["rand_len"]
assert b[start] == 9 and b[v] == 0 and b[start + 3:v].hex() == rk["rand"]
b[start] = 1
kemac = bytes([9, 1, 0, 20]) + bytes(20) + bytes([0])
open(sys.argv[3], "wb").write(bytes(b[:v]) + kemac + bytes(b[v:]))
EOF
cp "$tmp/alice.st" "$tmp/alice-f.st"
run 1 "$UE" keys --state "$tmp/alice-f.st" --tr "$tmp/forged.bin"
grep -q "KEMAC (Responder-supplied keys), which the ticket's M = 0 forbids" "$tmp/err" ||
	fail "forged KEMAC: reason: $(cat "$tmp/err")"
run 0 "$UE" keys --state "$tmp/alice-f.st" --tr "$tmp/tr.bin"
ok "M = 0: transfer-resp --responder-keys refused (exit 1); a TRANSFER_RESP with a KEMAC refused by the Initiator (exit 1), the unforged one accepted"

# --- a rule added after issue takes M away: the resolve is refused ----------------------------
request --responder-rand --responder-keys
case $(flags) in *G*M*) ;; *) fail "G and M not granted" ;; esac
"$KMSCTL" -d "$S" policy add --from alice@example.org --to bob@example.org --allow \
	--responder-rand --priority 10 >/dev/null || fail "policy add (no M)"
wait_count "reload done" 2
[ "$(resolve --responder-keys)" = 403 ] || fail "resolve of an M ticket not refused"
wait_log "the rules no longer allow flag M"
request --responder-rand
[ "$(resolve)" = 200 ] || fail "a G ticket refused under the new rule"
ok "a rule without M added after issue: resolve of the G + M ticket 403, a G ticket still resolves"
