#!/bin/sh
# bsf-stubd serving Zn over Diameter (--zn-diameter) and over HTTP/JSON at
# once, from one store: after a Ub bootstrap (kms-ue), a BIR from the test
# peer (dia_zn_peer --ask) gets 2001 with the same Ks_ext_NAF as the JSON
# answer (compared by SHA-256 prefix), the IMPI, both times, GBA-Type 0
# and a GUSS listing the IMPUs of the NAF's group; an unknown B-TID 5403,
# a NAF not allowed 5402, an expired session 5403 (lifetime 1 s, waited
# for with a bound), and every --test-zn-result code on both fronts
# (Experimental-Result for 5001/54xx, Result-Code for 3004/5012), changed
# at run time through POST /test/zn-result (404 without the option).
# Needs freeDiameter in the build (else 77), python3, openssl.
set -eu

. "${top_srcdir:-.}/tests/system/lib.sh"
. "$top_srcdir/tests/system/dia_lib.sh"
need_dia
BSFD="$top_builddir/bsf-stub/bsf-stubd"
UE="$top_builddir/tools/kms-ue"
JSON='Content-Type: application/json'

"$BSFD" -d "$tmp/bsf" --init --demo >"$tmp/init.out" 2>"$tmp/err" || fail "--init --demo"
"$BSFD" -d "$tmp/bsf" --add-naf other.example.org --naf-group other >"$tmp/out" \
	2>"$tmp/err" || fail "--add-naf other"

port=$(free_port)
B="http://127.0.0.1:$port"
bport=$(free_port)
nport=$(free_port)
# The BSF's realm is the B-TIDs' domain: freeDiameter handles a request
# locally only when its Destination-Realm is the local realm.
dia_conf "$tmp/bsf.conf" bsf.example.org bsf.example.org "$bport" naf.example.org "$nport"
dia_conf "$tmp/naf.conf" naf.example.org example.org "$nport" bsf.example.org "$bport"

bsf_start() { # bsf_start ARGS...: both fronts, wait for /healthz
	daemon bsf.log "$BSFD" -d "$tmp/bsf" -p "$port" --threads 2 --conn-timeout 3 \
		--log-level debug --zn-diameter "$tmp/bsf.conf" "$@"
	bpid=$dpid
	wait_up "$B/healthz" "$bpid" bsf-stubd
}
bsf_stop() {
	stop "$bpid" bsf-stubd
	bpid=""
}
boot() { # boot: alice bootstraps over Ub; $btid
	"$UE" bootstrap --usim "$tmp/bsf/demo-alice.usim" --bsf "$B/ub" \
		--out "$tmp/alice.gba" >"$tmp/boot.out" 2>"$tmp/err" || fail "bootstrap"
	btid=$(sed -n 's/^btid=//p' "$tmp/alice.gba")
	[ -n "$btid" ] || fail "no B-TID"
}
ask() { # ask BTID FQDN: one BIR from the test peer; the JSON line in $tmp/out
	run 0 timeout 30 "$DIA_PEER" --conf "$tmp/naf.conf" --ask "$1" --naf-id "$2" \
		--timeout-ms 3000
	cat "$tmp/err" >>"$tmp/naf.log"
}
zn_json() { # zn_json BTID FQDN: the JSON Zn answer in $tmp/body; prints the status
	python3 -c 'import base64, json, sys
naf_id = sys.argv[2].encode() + bytes([1, 0, 0, 0, 6])
print(json.dumps({"transaction_identifier": sys.argv[1],
                  "naf_id": base64.b64encode(naf_id).decode()}))' "$1" "$2" \
		>"$tmp/zn.json"
	call "$B/zn" -H "$JSON" --data-binary @"$tmp/zn.json"
}
# check WHAT EXPR...: each python EXPR over d (the BIA line in $tmp/out) and
# j (the last JSON answer in $tmp/body) holds (one python run: the machine
# may be loaded).
check() {
	check_what=$1
	shift
	python3 - "$tmp/out" "$tmp/body" "$@" <<'PY' || fail "$check_what: $(cat "$tmp/out" "$tmp/body")"
import base64, hashlib, json, sys
d = json.load(open(sys.argv[1]))
j = json.load(open(sys.argv[2]))
for e in sys.argv[3:]:
    if not eval(e):
        sys.exit("false: " + e)
PY
}

# --- both fronts, one key ------------------------------------------------------------
bsf_start
grep -q "Zn over Diameter: serving BIRs" "$tmp/bsf.log" || fail "no Diameter front"
boot
[ "$(zn_json "$btid" kms.example.org)" = 200 ] || fail "JSON Zn: $(cat "$tmp/body")"
ask "$btid" kms.example.org
# The GUSS as built (debug log: identities, no key): its length is the one
# the NAF received, and it lists both IMPUs of group kms.
grep "Zn: GUSS " "$tmp/bsf.log" | tail -n 1 >"$tmp/guss.line"
check "BIR 2001" "d['outcome'] == 'ok' and d['result_code'] == 2001 and d['exp_result_code'] == 0" \
	"d['key_len'] == 32 and d['uicc_key_len'] == 0" \
	"d['key_sha256'] == hashlib.sha256(base64.b64decode(j['me_key_material'])).hexdigest()[:16]" \
	"d['impi'] == j['user_name'] == 'alice@ims.example.org' and d['origin_host'] == 'bsf.example.org'" \
	"d['expiry'] == j['key_expiry_time'] and d['created'] == j['bootstrap_info_creation_time']" \
	"d['expiry'] - d['created'] == 3600 and d['gba_type'] == 0" \
	"'GUSS %d bytes: ' % d['guss_len'] in open('$tmp/guss.line').read()"
for want_uid in '<uid>sip:alice@example.org</uid>' '<uid>tel:+15550001</uid>' \
	'nafGroup="kms"' '<uiccType>GBA</uiccType>' 'id="alice@ims.example.org"'; do
	grep -qF "$want_uid" "$tmp/guss.line" || fail "GUSS lacks $want_uid: $(cat "$tmp/guss.line")"
done
grep -q "from Diameter peer naf.example.org (group kms): key for alice@ims.example.org" \
	"$tmp/bsf.log" || fail "the BIR's log line (NAF, Origin-Host, outcome)"
k=$(sed -n 's/.*"me_key_material":"\([^"]*\)".*/\1/p' "$tmp/body")
[ -n "$k" ] || fail "no me_key_material in $(cat "$tmp/body")"
if grep -qF "$k" "$tmp/bsf.log"; then fail "the NAF key is in the log"; fi
ok "BIR 2001: Ks_ext_NAF = the JSON Zn key (SHA-256 prefix), IMPI, times, GBA-Type 0, GUSS with the IMPUs"

# --- refusals --------------------------------------------------------------------------
key=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["key_sha256"])' "$tmp/out")
ask "AAAAAAAAAAAAAAAAAAAAAA==@bsf.example.org" kms.example.org
json_check "d['outcome'] == 'refused' and d['result_code'] == 0 and d['exp_result_code'] == 5403 and d['key_len'] == 0"
ask "$btid" evil.example.org
json_check "d['outcome'] == 'refused' and d['result_code'] == 0 and d['exp_result_code'] == 5402 and d['key_len'] == 0"
ask "$btid" other.example.org
json_check "d['outcome'] == 'ok' and d['result_code'] == 2001 and d['key_sha256'] != '$key' and d['guss_len'] == 0"
ok "BIR: unknown B-TID 5403, NAF not allowed 5402 (Experimental-Result), other NAF its own key, no IMPU: no GUSS"
bsf_stop

# --- expired -------------------------------------------------------------------------------
btid1=$btid
bsf_start --lifetime 1
boot
expired() {
	ask "$btid" kms.example.org
	grep -q '"exp_result_code":5403' "$tmp/out"
}
wait_for 10 "the 1 s session never expired on Diameter" expired
[ "$(zn_json "$btid" kms.example.org)" = 404 ] || fail "JSON Zn of the expired B-TID"
check "expired" "d['outcome'] == 'refused' and d['result_code'] == 0 and d['key_len'] == 0" \
	"(j['error'], j['result_code'], j['reason']) == ('TRANSACTION_IDENTIFIER_INVALID', 5403, 'expired')"
ok "expired session: 5403 on both fronts"

# --- the test hook, both fronts: set at start, changed at run time ------------------------------
expect 404 "$B/test/zn-result?code=5001" -X POST
bsf_stop
bsf_start --test-zn-result 5001
for case in 5001:exp:404:USER_UNKNOWN 5401:exp:404:IMPI_UNKNOWN \
	5402:exp:403:NOT_AUTHORIZED 5403:exp:404:TRANSACTION_IDENTIFIER_INVALID \
	3004:base:503:TOO_BUSY 5012:base:500:UNABLE_TO_COMPLY; do
	code=${case%%:*}
	rest=${case#*:}
	kind=${rest%%:*}
	rest=${rest#*:}
	status=${rest%%:*}
	error=${rest#*:}
	[ "$code" = 5001 ] || expect 200 "$B/test/zn-result?code=$code" -X POST
	ask "$btid1" kms.example.org
	[ "$(zn_json "$btid1" kms.example.org)" = "$status" ] || fail "JSON status for $code"
	if [ "$kind" = exp ]; then
		want="d['exp_result_code'] == $code and d['result_code'] == 0"
	else
		want="d['result_code'] == $code and d['exp_result_code'] == 0"
	fi
	check "--test-zn-result $code" "$want and d['key_len'] == 0" \
		"(j['error'], j['result_code']) == ('$error', $code)"
done
expect 400 "$B/test/zn-result?code=2001" -X POST
expect 200 "$B/test/zn-result?code=0" -X POST
ask "$btid1" kms.example.org
json_check "d['result_code'] == 2001 and d['key_len'] == 32"
bsf_stop
ok "--test-zn-result 5001 5401 5402 5403 (Experimental-Result), 3004 5012 (Result-Code); JSON 404/403/503/500; changed at run time, 0 off"

set +e
"$BSFD" -d "$tmp/bsf" --test-zn-result 2001 >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
[ $rc -eq 2 ] || fail "--test-zn-result 2001 exits $rc, expected 2"
ok "--test-zn-result refuses a code it does not know (exit 2)"
