#!/bin/sh
# kms-ue milenage and ks-naf: MILENAGE against TS 35.208 test set 1, Ks_NAF
# against a python3 computation of the TS 33.220 B.3 KDF, the B-TID example
# of the spec digest, and the refusals.  Needs python3 (and curl, as lib.sh
# does).  No network.
set -eu

. "${top_srcdir:-.}/tests/system/lib.sh" # tmp, UE, ok, fail, run, json_check

# Reference Ks_NAF (TS 33.220 B.2/B.3), written from the spec text:
# py_ks_naf CK IK RAND IMPI FQDN UA_ID P0
py_ks_naf() {
	python3 - "$@" <<'EOF'
import hashlib, hmac, sys
ck, ik, rand = (bytes.fromhex(a) for a in sys.argv[1:4])
impi, fqdn = sys.argv[4].encode(), sys.argv[5].encode()
ua, p0 = bytes.fromhex(sys.argv[6]), sys.argv[7].encode()
def lp(p):
    return p + len(p).to_bytes(2, "big")
s = b"\x01" + lp(p0) + lp(rand) + lp(impi) + lp(fqdn + ua)
print(hmac.new(ck + ik, s, hashlib.sha256).hexdigest())
EOF
}

# TS 35.208 test set 1 (spec digest 6.3).
K=465b5ce8b199b49faa5f0a2ee238a6bc
RAND=23553cbe9637a89d218ae64dae47bf35
SQN=ff9bb4d0b607
AMF=b9b9
OP=cdc202d5123e20f62b6d676ac72cb318
OPC=cd63cb71954a9f4e48a5994e37a02baf
CK=b40ba9a3c58b2a05bbf0d987b21bf8cb
IK=f769bcd751044604127672711c6d3441
IMPI=001010123456789@ims.mnc001.mcc001.3gppnetwork.org
FQDN=kms.example.org
BSF=bsf.mnc001.mcc001.pub.3gppnetwork.org

# --- help -------------------------------------------------------------------
for c in milenage ks-naf; do
	run 0 "$UE" "$c" --help
	grep -q "usage: kms-ue $c" "$tmp/out" || fail "$c --help text"
	grep -q "TEST TOOL" "$tmp/out" || fail "$c --help does not warn about keys"
done
run 0 "$UE" --help
grep -q "milenage" "$tmp/out" && grep -q "ks-naf" "$tmp/out" || fail "command list"
ok "help"

# --- milenage -----------------------------------------------------------------
SET1='(d["mac_a"] == "4a9ffac354dfafb3" and d["mac_s"] == "01cfaf9ec4e871e9"
 and d["res"] == "a54211d5e3ba50bf" and d["ck"] == "'$CK'" and d["ik"] == "'$IK'"
 and d["ak"] == "aa689c648370" and d["ak_star"] == "451e8beca43b"
 and d["opc"] == "'$OPC'" and d["autn"] == "55f328b43577b9b94a9ffac354dfafb3"
 and len(d) == 9)'
run 0 "$UE" milenage --k $K --op $OP --rand $RAND --sqn $SQN --amf $AMF
json_check "$SET1"
ok "milenage --op: test set 1"
run 0 "$UE" milenage --k $K --opc $OPC --rand $RAND --sqn $SQN --amf $AMF
json_check "$SET1"
ok "milenage --opc: test set 1"
# AUTN = (SQN XOR AK) || AMF || MAC-A, recomputed from the printed parts.
json_check 'd["autn"] == "%012x" % (int("'$SQN'", 16) ^ int(d["ak"], 16)) + "'$AMF'" + d["mac_a"]'
ok "milenage AUTN layout"

run 2 "$UE" milenage --k $K --rand $RAND --sqn $SQN --amf $AMF
run 2 "$UE" milenage --k $K --op $OP --opc $OPC --rand $RAND --sqn $SQN --amf $AMF
run 2 "$UE" milenage --k ${K}00 --opc $OPC --rand $RAND --sqn $SQN --amf $AMF
run 2 "$UE" milenage --k $K --opc $OPC --rand $RAND --sqn ${SQN}0 --amf $AMF
run 2 "$UE" milenage --k $K --opc $OPC --rand $RAND --sqn $SQN
run 2 "$UE" milenage --k $K --opc $OPC --rand zz$RAND --sqn $SQN --amf $AMF
grep -q -- "--rand" "$tmp/err" || fail "error does not name the option"
ok "milenage refusals"

# --- ks-naf -------------------------------------------------------------------
ks=$(py_ks_naf $CK $IK $RAND "$IMPI" $FQDN 0100000006 gba-me)
run 0 "$UE" ks-naf --ck $CK --ik $IK --rand $RAND --impi "$IMPI" --naf-fqdn $FQDN
[ "$(cat "$tmp/out")" = "$ks" ] || fail "Ks_NAF $(cat "$tmp/out") != python $ks"
ok "ks-naf equals python3"

ks=$(py_ks_naf $CK $IK $RAND "$IMPI" $FQDN 0100000006 gba-u)
run 0 "$UE" ks-naf --ck $CK --ik $IK --rand $RAND --impi "$IMPI" --naf-fqdn $FQDN --gba-u
[ "$(cat "$tmp/out")" = "$ks" ] || fail "Ks_int_NAF differs from python"
ok "ks-naf --gba-u equals python3"

ks=$(py_ks_naf $CK $IK $RAND "$IMPI" naf.example.net 0100000002 gba-me)
run 0 "$UE" ks-naf --ck $CK --ik $IK --rand $RAND --impi "$IMPI" \
	--naf-fqdn naf.example.net --ua-id 0100000002 --bsf-domain $BSF
[ "$(wc -l <"$tmp/out")" -eq 3 ] || fail "expected three lines"
[ "$(sed -n 1p "$tmp/out")" = "$ks" ] || fail "Ks_NAF with --ua-id"
naf_hex=$(printf 'naf.example.net' | od -An -tx1 | tr -d ' \n')0100000002
[ "$(sed -n 2p "$tmp/out")" = "$naf_hex" ] || fail "NAF_Id"
[ "$(sed -n 3p "$tmp/out")" = "I1U8vpY3qJ0hiuZNrke/NQ==@$BSF" ] || fail "B-TID"
ok "ks-naf --ua-id --bsf-domain: Ks_NAF, NAF_Id, B-TID"

# The two commands chained: CK and IK from milenage into ks-naf.
run 0 "$UE" milenage --k $K --opc $OPC --rand $RAND --sqn $SQN --amf $AMF
ck=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["ck"])' "$tmp/out")
ik=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["ik"])' "$tmp/out")
run 0 "$UE" ks-naf --ck "$ck" --ik "$ik" --rand $RAND --impi "$IMPI" --naf-fqdn $FQDN
[ "$(cat "$tmp/out")" = "$(py_ks_naf $CK $IK $RAND "$IMPI" $FQDN 0100000006 gba-me)" ] ||
	fail "chained Ks_NAF"
ok "milenage | ks-naf chain"

run 2 "$UE" ks-naf --ck $CK --ik $IK --rand $RAND --impi "$(printf 'jos\303\251@x')" \
	--naf-fqdn $FQDN
run 2 "$UE" ks-naf --ck $CK --ik $IK --rand $RAND --impi "" --naf-fqdn $FQDN
run 2 "$UE" ks-naf --ck $CK --ik $IK --rand $RAND --impi "$IMPI" --naf-fqdn "a b"
run 2 "$UE" ks-naf --ck $CK --ik $IK --rand $RAND --impi "$IMPI" --naf-fqdn $FQDN \
	--ua-id 01000000
run 2 "$UE" ks-naf --ck $CK --rand $RAND --impi "$IMPI" --naf-fqdn $FQDN
run 2 "$UE" ks-naf --ck $CK --ik $IK --rand $RAND --impi "$IMPI"
run 2 "$UE" ks-naf --ck $CK --ik $IK --rand $RAND --impi "$IMPI" --naf-fqdn $FQDN \
	--bsf-domain "bsf@x"
[ ! -s "$tmp/out" ] || fail "output despite a refusal"
ok "ks-naf refusals"

echo "gba_cli: $n checks passed"
