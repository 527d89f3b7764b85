#!/bin/sh
# Zn on Diameter when the BSF goes away (Tc 1 s, Tw 6 s, naf.timeout_ms
# 1000).  Alice's key stays cached and served (200) throughout.
#  - bsf-stubd killed (SIGKILL): a miss gets 503 at once (no peer);
#    restarted on the same port: kmsd's peer reconnects (Tc) and the
#    B-TID bootstrapped before the kill is served, kmsd untouched;
#  - bsf-stubd stopped (SIGSTOP: the TCP connection stays, nothing is
#    answered): a miss gets 503 once naf.timeout_ms has passed; the
#    watchdog (no DWA within 2 x Tw) closes the connection:
#    kms_zn_diameter_peers_open falls to 0 (bounded wait, 25 s);
#  - SIGCONT: the peer is open again (bounded, 25 s), the waiting B-TID
#    is served.
set -eu
ZN_TRANSPORT=diameter
DIA_TC=1
DIA_TW=6
export DIA_TC DIA_TW
. "${top_srcdir:-.}/tests/system/lib.sh"
. "${top_srcdir:-.}/tests/system/zn_lib.sh" # BSFD, zn_*
port=$(free_port)
mport=$(free_port)
bp=$(free_port)
U="http://127.0.0.1:$port/kms"
M="http://127.0.0.1:$mport/metrics"
S="$tmp/state"
BD="$tmp/bsf"
"$BSFD" -d "$BD" --init --demo >"$tmp/bsf-init.out" 2>&1 || fail "bsf-stubd --init --demo"
"$KMSCTL" -d "$S" init >"$tmp/init.out" 2>&1 || fail "kmsctl init"
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 2; };
kms = { state_dir = "$S"; psk_source = "gba"; };
naf = { enabled = true; $(zn_naf_conf -) fqdn = "kms.example.org";
        timeout_ms = 1000; negative_ttl = 600; };
metrics = { port = $mport; };
CONF
zn_bsf_start "$BD" "$bp"
kmsd_start "$tmp/kmsd.conf" "http://127.0.0.1:$port"
zn_kmsd_pid=$pid
zn_wait_open
boot() { # boot OUT: a new session of Alice's
	"$UE" bootstrap --usim "$BD/demo-alice.usim" --bsf "http://127.0.0.1:$bp/ub" \
		--out "$1" >"$tmp/boot.out" 2>"$tmp/err" || fail "bootstrap $1"
}
want() { # want STATUS GBA: a request under GBA's B-TID answers STATUS
	st=$(zn_req "$U" "$2" "$tmp/r.bin")
	[ "$st" = "$1" ] || fail "$2: status $st, expected $1"
}
served() { [ "$(zn_req "$U" "$1" "$tmp/r.bin")" = 200 ]; }
peers() { zn_gauge "$M" kms_zn_diameter_peers_open; }
peers_are() { [ "$(peers)" = "$1" ]; }

boot "$tmp/alice.gba"
want 200 "$tmp/alice.gba"
peers_are 1 || fail "kms_zn_diameter_peers_open is '$(peers)', expected 1"
ok "Zn on Diameter up: Alice served, one peer open"

# --- killed ------------------------------------------------------------------------
boot "$tmp/alice2.gba"
opens=$(zn_open_count)
kill_daemon "$zn_bsf_pid"
wait_for 10 "the killed BSF still counted open" peers_are 0
want 503 "$tmp/alice2.gba"
zn_is_mikey_error "$tmp/r.bin" || fail "no MIKEY Error with the BSF killed"
want 200 "$tmp/alice.gba"
ok "BSF killed: a miss 503, the peer counted down, the cached key served"
zn_bsf_start "$BD" "$bp" # waits until kmsd's peer is open again (Tc 1 s)
[ "$(zn_open_count)" -gt "$opens" ] || fail "no new connection after the restart"
wait_for 10 "the restarted BSF is not serving" served "$tmp/alice2.gba"
want 200 "$tmp/alice.gba"
ok "BSF restarted on the same port: reconnected, the waiting B-TID served"

# --- stopped -----------------------------------------------------------------------
boot "$tmp/alice3.gba"
kill -STOP "$zn_bsf_pid"
t0=$(date +%s)
"$UE" request --gba "$tmp/alice3.gba" --id alice@example.org --to bob@example.org \
	--out "$tmp/q3.bin" --state "$tmp/q3.st" 2>"$tmp/err" || fail "request (alice3)"
r3=$(curl -s -m 8 -o "$tmp/r3.bin" -D "$tmp/hdr" -w '%{http_code} %{time_total}' -H "$MIKEY" \
	--data-binary @"$tmp/q3.bin" "$U?requesttype=ticketrequest" || true)
[ "${r3%% *}" = 503 ] || fail "a miss with the BSF stopped: $r3, expected 503"
# Not before naf.timeout_ms (the BIR went out and was not answered), and
# well before curl's own bound.
awk -v t="${r3#* }" 'BEGIN { exit !(t >= 0.9 && t < 5) }' ||
	fail "a miss with the BSF stopped answered after ${r3#* } s, not naf.timeout_ms"
zn_is_mikey_error "$tmp/r3.bin" || fail "no MIKEY Error with the BSF stopped"
want 200 "$tmp/alice.gba"
ok "BSF stopped: a miss 503 after naf.timeout_ms (${r3#* } s), the cached key served"
# RFC 3539: a DWR after Tw of silence, SUSPECT after another Tw without
# DWA, then down: 2-3 x Tw (+ jitter) from the stop; 16 s measured.
wait_for 25 "the watchdog never closed the connection to a stopped BSF" peers_are 0
want 200 "$tmp/alice.gba"
ok "BSF stopped: the peer down after the watchdog ($(($(date +%s) - t0)) s), cached key served"
kill -CONT "$zn_bsf_pid"
# The resumed BSF first has to notice that its side of the old connection
# is gone (its own watchdog) before it takes kmsd's new one: 15 s measured.
wait_for 25 "no peer open after SIGCONT" peers_are 1
wait_for 10 "the resumed BSF is not serving" served "$tmp/alice3.gba"
ok "BSF resumed: the peer open again, the waiting B-TID served"
kmsd_stop
zn_bsf_stop
echo "zn_dia_outage: $n groups passed"
