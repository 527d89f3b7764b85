#!/bin/sh
# Zn over Diameter between two dia_zn_peer processes (a BSF that serves,
# a NAF that asks once per run) over plain TCP on 127.0.0.1: a good B-TID
# gets 2001 with the test key (checked by its SHA-256 prefix), the IMPI,
# the GUSS and both times (one after the NTP era change of 2036); GBA_U
# gets the UICC key too; an unknown B-TID gets Experimental-Result 5403;
# a failing BSF handler gives 5012;
# a BSF stopped with SIGSTOP on an open connection makes the BIR time out
# (--timeout-ms 500: unavailable, the callback called once); with no BSF
# at all the BIR is unavailable; a BSF that dies with the BIR pending
# makes it unavailable too, before the timeout.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
. "$top_srcdir/tests/system/dia_lib.sh"
need_dia

bsf_port=$(free_port)
naf_port=$(free_port)
dia_conf "$tmp/bsf.conf" bsf.zn.test zn.test "$bsf_port" naf.zn.test "$naf_port"
dia_conf "$tmp/naf.conf" naf.zn.test zn.test "$naf_port" bsf.zn.test "$bsf_port"
dia_serve bsf.log "$tmp/bsf.conf"
bsf=$dpid

# ask LOG ARGS...: one BIR; the JSON line in $tmp/out (timeout: a hang fails).
ask() {
	ask_log=$1
	shift
	run 0 timeout 30 "$DIA_PEER" --conf "$tmp/naf.conf" "$@"
	cat "$tmp/err" >>"$tmp/$ask_log"
}
key_prefix=$(python3 -c 'import hashlib; print(hashlib.sha256(bytes(range(32))).hexdigest()[:16])')
uicc_prefix=$(python3 -c 'import hashlib; print(hashlib.sha256(bytes(range(0xa0, 0xc0))).hexdigest()[:16])')

ask naf1.log --ask good@zn.test --naf-id naf.zn.test
json_check "d['ret'] == 'KMS_EOK' and d['outcome'] == 'ok' and d['calls'] == 1"
json_check "d['result_code'] == 2001 and d['exp_result_code'] == 0"
json_check "d['impi'] == 'good.user@zn.test' and d['origin_host'] == 'bsf.zn.test'"
json_check "d['key_len'] == 32 and d['key_sha256'] == '$key_prefix' and d['uicc_key_len'] == 0"
json_check "d['created'] == 1700000000 and d['expiry'] == 2100000000"
json_check "d['gba_type'] == 0 and d['guss_len'] > 0"
ok "a good B-TID: 2001, the key, the IMPI, the GUSS, both times"

ask naf2.log --ask good@zn.test --naf-id naf.zn.test --gba-u
json_check "d['outcome'] == 'ok' and d['uicc_key_len'] == 32 and d['uicc_key_sha256'] == '$uicc_prefix'"
ok "GBA_U-Awareness-Indicator YES: the UICC key too"

ask naf3.log --ask unknown@zn.test --naf-id naf.zn.test
json_check "d['ret'] == 'KMS_EOK' and d['calls'] == 1 and d['outcome'] == 'refused'"
json_check "d['result_code'] == 0 and d['exp_result_code'] == 5403 and d['key_len'] == 0"
ok "an unknown B-TID: Experimental-Result 5403 (vendor 10415), no key"
grep -q "unknown B-TID, 5403" "$tmp/bsf.log" || fail "the BSF did not log the 5403"

ask naf3b.log --ask fail@zn.test --naf-id naf.zn.test
json_check "d['ret'] == 'KMS_EOK' and d['result_code'] == 5012 and d['outcome'] == 'refused'"
ok "the BSF's handler fails: DIAMETER_UNABLE_TO_COMPLY"

# SIGSTOP on an open connection: no answer, the NAF's timeout ends the BIR.
rm -f "$tmp/go"
"$DIA_PEER" --conf "$tmp/naf.conf" --ask good@zn.test --naf-id naf.zn.test \
	--timeout-ms 500 --go-file "$tmp/go" >"$tmp/stopped.out" 2>"$tmp/naf4.log" &
naf=$!
track "$naf"
wait_for 15 "the NAF never had an open peer" grep -qs "open (1 peers)" "$tmp/naf4.log"
kill -STOP "$bsf"
touch "$tmp/go"
# The answer line comes before the NAF's shutdown, which waits for the
# BSF's DPA: the BSF continues once the line is out.
wait_for 15 "the NAF did not end its BIR" grep -qs '^{' "$tmp/stopped.out"
kill -CONT "$bsf"
wait_for 20 "the NAF did not exit" sh -c "! kill -0 $naf 2>/dev/null"
wait "$naf" || fail "dia_zn_peer --ask exit status $?"
untrack "$naf"
cp "$tmp/stopped.out" "$tmp/out"
json_check "d['ret'] == 'KMS_EUNAVAIL' and d['outcome'] == 'unavailable' and d['calls'] == 1"
grep -q "within the timeout" "$tmp/naf4.log" || fail "no timeout line in the NAF's log"
ok "a stopped BSF: the BIR times out (unavailable), the callback called once"

# The BSF dies with the BIR on its connection: freeDiameter fails the
# request over, finds no other peer and answers it itself (3002, the E
# bit), long before the 20 s timeout: unavailable, the callback once.
rm -f "$tmp/go"
"$DIA_PEER" --conf "$tmp/naf.conf" --ask good@zn.test --naf-id naf.zn.test --debug \
	--timeout-ms 20000 --go-file "$tmp/go" >"$tmp/dropped.out" 2>"$tmp/naf6.log" &
naf=$!
track "$naf"
wait_for 15 "the NAF never had an open peer" grep -qs "open (1 peers)" "$tmp/naf6.log"
kill -STOP "$bsf"
touch "$tmp/go"
wait_for 10 "the NAF did not send its BIR" grep -qs "hook 4 command 310 flags 0xc0" "$tmp/naf6.log"
kill_daemon "$bsf"
wait_for 15 "the NAF did not end its BIR" grep -qs '^{' "$tmp/dropped.out"
wait_for 20 "the NAF did not exit" sh -c "! kill -0 $naf 2>/dev/null"
wait "$naf" || fail "dia_zn_peer --ask exit status $?"
untrack "$naf"
cp "$tmp/dropped.out" "$tmp/out"
echo "# $(cat "$tmp/out")"
json_check "d['ret'] == 'KMS_EOK' and d['result_code'] == 3002 and d['outcome'] == 'unavailable' and d['calls'] == 1"
ok "the BSF dies with the BIR pending: unavailable, the callback called once"

ask naf7.log --ask good@zn.test --naf-id naf.zn.test --wait-open-ms 300 --timeout-ms 500
json_check "d['outcome'] == 'unavailable' and d['calls'] <= 1 and d['key_len'] == 0"
ok "no BSF: unavailable"
