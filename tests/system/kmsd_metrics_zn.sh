#!/bin/sh
# kms_zn_breaker_open (docs/metrics.md): 0 while the BSF answers, 1 once
# NAF_ZN_DOWN_RUN (3) Zn calls in a row got no answer, back to 0 at the
# first answer of a BSF (here bsf-stubd refusing an unknown B-TID).
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
BSFD="$top_builddir/bsf-stub/bsf-stubd"
[ -x "$BSFD" ] || fail "bsf-stubd not built: $BSFD"
need_python_module prometheus_client # sets $py
scrape="$py ${top_srcdir:-.}/tests/system/metrics_scrape.py"
port=$(free_port)
mport=$(free_port)
bp=$(free_port) # nothing listens there until bsf-stubd starts below
B="http://127.0.0.1:$port"
M="http://127.0.0.1:$mport/metrics"
S="$tmp/state"
"$KMSCTL" -d "$S" init >"$tmp/init.out" 2>&1 || fail "kmsctl init"
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 2; };
kms = { state_dir = "$S"; psk_source = "gba"; };
naf = { enabled = true; bsf_url = "http://127.0.0.1:$bp/zn"; fqdn = "kms.example.org";
        timeout_ms = 2000; connect_timeout_ms = 500; retries = 0; };
metrics = { port = $mport; };
CONF
kmsd_start "$tmp/kmsd.conf" "$B"

# A GBA request under a B-TID no BSF knows: the NAF must ask over Zn.
gba_req() { # gba_req N: answer status of a request under the Nth B-TID
	rand=$($py -c 'import base64,sys; print(base64.b64encode(bytes([int(sys.argv[1])])*16).decode())' "$1")
	printf 'btid=%s@bsf.example.org\nks_naf=%s\nexpires=%s\nnaf_fqdn=kms.example.org\n' \
		"$rand" "$(printf '%064d' 0)" "$(($(date +%s) + 3600))" >"$tmp/g$1.gba"
	chmod 600 "$tmp/g$1.gba"
	"$UE" request --gba "$tmp/g$1.gba" --id alice@example.org --to bob@example.org \
		--out "$tmp/g$1.bin" --state "$tmp/g$1.st" 2>"$tmp/err" || fail "request $1: $(cat "$tmp/err")"
	post_mikey "$B/kms?requesttype=ticketrequest" "$tmp/g$1.bin" "$tmp/g$1.resp"
}
breaker() { # breaker OUT: the gauge's value now
	$scrape get "$M" "$tmp/$1.json" || fail "scrape $1"
	$py -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["samples"]["kms_zn_breaker_open"]))' "$tmp/$1.json"
}
[ "$(breaker s0)" = 0 ] || fail "breaker open before any Zn call"
ok "kms_zn_breaker_open 0 at start"
for i in 1 2; do gba_req $i >/dev/null; done
[ "$(breaker s1)" = 0 ] || fail "breaker open after 2 failed calls (wants 3)"
gba_req 3 >/dev/null
[ "$(breaker s2)" = 1 ] || fail "breaker not open after 3 Zn calls without an answer"
$scrape delta "$tmp/s0.json" "$tmp/s2.json" 'kms_naf_cache_misses_total' 3 ||
	fail "3 misses expected"
ok "kms_zn_breaker_open 1 after 3 Zn calls without an answer"

"$BSFD" -d "$tmp/bsf" --init >"$tmp/bsf-init.out" 2>&1 || fail "bsf-stubd --init"
daemon bsf.log "$BSFD" -d "$tmp/bsf" -p "$bp"
wait_up "http://127.0.0.1:$bp/healthz" "$dpid" bsf-stubd
gba_req 4 >/dev/null
[ "$(breaker s3)" = 0 ] || fail "breaker still open after the BSF answered"
ok "kms_zn_breaker_open 0 again after the BSF answered (unknown B-TID)"
