#!/bin/sh
# GBA end to end with Zn over Diameter: bsf-stubd serves Ub over HTTP and Zn
# as a Diameter peer (--zn-diameter), kmsd is its NAF with naf.zn =
# "diameter" (its own freeDiameter peer, plain TCP on 127.0.0.1).  Alice and
# Bob bootstrap over Ub with kms-ue, request and resolve through kmsd and
# derive the same SRTP keys; the keys came over Diameter (a BIA logged, no
# JSON Zn request at the BSF).  An unknown B-TID is 401 (BIA 5403), asked
# once.  Skipped (77) in a build without freeDiameter.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
. "${top_srcdir:-.}/tests/system/dia_lib.sh"
need_dia
BSFD="$top_builddir/bsf-stub/bsf-stubd"
[ -x "$BSFD" ] || fail "bsf-stubd not built: $BSFD"

port=$(free_port)
bp=$(free_port)
mport=$(free_port)
dbsf=$(free_port)
dkms=$(free_port)
B="http://127.0.0.1:$port"
U="$B/kms"
BSF="http://127.0.0.1:$bp"
S="$tmp/state"
BD="$tmp/bsf"

# Diameter: the BSF's realm is the B-TIDs' domain (the BIR's
# Destination-Realm); each end names the other (freeDiameter refuses
# unknown peers).
dia_conf "$tmp/bsf-fd.conf" bsf.bsf.example.org bsf.example.org "$dbsf" \
	kms.example.org "$dkms"
dia_conf "$tmp/kms-fd.conf" kms.example.org example.org "$dkms" \
	bsf.bsf.example.org "$dbsf"

boot() { # boot WHO OUT: kms-ue bootstrap with the demo USIM of WHO
	"$UE" bootstrap --usim "$BD/demo-$1.usim" --bsf "$BSF/ub" --out "$2" \
		>"$tmp/boot.out" 2>"$tmp/err" || fail "bootstrap $1"
}
btid_of() { sed -n 's/^btid=//p' "$1"; }
post() { post_mikey "$U?requesttype=$1" "$2" "$3"; }
req() { # req GBAFILE ID OUT: a REQUEST_INIT from ID to bob, posted; the status
	"$UE" request --gba "$1" --id "$2" --to bob@example.org --out "$tmp/q.bin" \
		--state "$tmp/q.st" 2>"$tmp/err" || fail "request ($2)"
	post ticketrequest "$tmp/q.bin" "$3"
}
bia_count() { # BIAs kmsd logged for the B-TID in gba file $1
	grep -cF "[btid:$(btid_of "$1" | cut -c1-10)...] Zn: BIA from" "$tmp/kmsd.log" ||
		true
}
peers_open() {
	curl -s "http://127.0.0.1:$mport/metrics" >"$tmp/metrics" 2>/dev/null &&
		grep -q '^kms_zn_diameter_peers_open 1$' "$tmp/metrics"
}

"$BSFD" -d "$BD" --init --demo >"$tmp/bsf-init.out" 2>&1 || fail "bsf-stubd --init --demo"
daemon bsf.log "$BSFD" -d "$BD" -p "$bp" --zn-diameter "$tmp/bsf-fd.conf"
bpid=$dpid
wait_up "$BSF/healthz" "$bpid" bsf-stubd
"$KMSCTL" -d "$S" init >"$tmp/init.out" 2>&1 || fail "kmsctl init"
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 4; };
kms = { state_dir = "$S"; psk_source = "gba"; };
naf = { enabled = true; zn = "diameter"; diameter_conf = "$tmp/kms-fd.conf";
        bsf_url = "http://127.0.0.1:9/unused"; fqdn = "kms.example.org";
        timeout_ms = 2000; cache_entries = 1024; negative_ttl = 600; };
metrics = { port = $mport; };
CONF
sed "s|$tmp/kms-fd.conf|$tmp/missing.conf|" "$tmp/kmsd.conf" >"$tmp/bad.conf"
"$KMSD" "$KMSD_ROOT" -t -c "$tmp/bad.conf" >"$tmp/t.out" 2>&1 &&
	fail "kmsd -t accepts a missing naf.diameter_conf"
grep -q "naf.diameter_conf: $tmp/missing.conf" "$tmp/t.out" ||
	fail "kmsd -t does not name naf.diameter_conf: $(cat "$tmp/t.out")"
"$KMSD" "$KMSD_ROOT" -t -c "$tmp/kmsd.conf" >"$tmp/t.out" 2>&1 || fail "kmsd -t: $(cat "$tmp/t.out")"
kmsd_start "$tmp/kmsd.conf" "$B"
wait_for 15 "kmsd's Diameter peer never opened to bsf-stubd" peers_open
ok "kmsd -t checks naf.diameter_conf; kmsd's peer opens to bsf-stubd (kms_zn_diameter_peers_open 1)"

# --- Alice and Bob bootstrap, request, resolve, same SRTP keys -----------------------
boot alice "$tmp/alice.gba"
boot bob "$tmp/bob.gba"
"$UE" request --gba "$tmp/alice.gba" --id alice@example.org --to bob@example.org \
	--out "$tmp/req.bin" --state "$tmp/alice.st" 2>"$tmp/err" || fail "request"
[ "$(post ticketrequest "$tmp/req.bin" "$tmp/resp.bin")" = 200 ] || fail "ticketrequest"
"$UE" transfer-init --gba "$tmp/alice.gba" --state "$tmp/alice.st" --resp "$tmp/resp.bin" \
	--out "$tmp/ti.bin" >/dev/null 2>"$tmp/err" || fail "transfer-init"
"$UE" resolve --gba "$tmp/bob.gba" --id bob@example.org --in "$tmp/ti.bin" \
	--out "$tmp/res.bin" --state "$tmp/bob.st" 2>"$tmp/err" || fail "resolve"
[ "$(post ticketresolve "$tmp/res.bin" "$tmp/rr.bin")" = 200 ] || fail "ticketresolve"
"$UE" transfer-resp --gba "$tmp/bob.gba" --state "$tmp/bob.st" --resp "$tmp/rr.bin" \
	--out "$tmp/tr.bin" >/dev/null 2>"$tmp/err" || fail "transfer-resp"
"$UE" keys --state "$tmp/bob.st" >"$tmp/keys-bob.json" || fail "keys (bob)"
"$UE" keys --state "$tmp/alice.st" --tr "$tmp/tr.bin" >"$tmp/keys-alice.json" ||
	fail "keys (alice)"
cmp -s "$tmp/keys-alice.json" "$tmp/keys-bob.json" || fail "different SRTP keys"
grep -q '"srtp_master_key": *"[0-9a-f]\{32\}"' "$tmp/keys-bob.json" || fail "key format"
[ "$(bia_count "$tmp/alice.gba")" = 1 ] || fail "Alice's key did not come in one BIA"
[ "$(bia_count "$tmp/bob.gba")" = 1 ] || fail "Bob's key did not come in one BIA"
grep -qi "$(sed -n 's/^ks_naf=//p' "$tmp/alice.gba")" "$tmp/kmsd.log" "$tmp/bsf.log" &&
	fail "Ks_NAF logged"
ok "Alice and Bob bootstrap, request and resolve with keys from BIAs: same SRTP keys"

# --- cached: no further BIR; an unknown B-TID: 401, asked once ------------------------
[ "$(req "$tmp/alice.gba" alice@example.org "$tmp/r.bin")" = 200 ] || fail "cached B-TID"
[ "$(bia_count "$tmp/alice.gba")" = 1 ] || fail "a cached B-TID went to Zn again"
fake="$(head -c 16 /dev/urandom | base64)@bsf.example.org"
sed "s|^btid=.*|btid=$fake|" "$tmp/alice.gba" >"$tmp/fake.gba"
chmod 600 "$tmp/fake.gba"
[ "$(req "$tmp/fake.gba" alice@example.org "$tmp/r.bin")" = 401 ] ||
	fail "an unknown B-TID is not refused with 401"
header WWW-Authenticate | grep -q '^3GPP-bootstrapping' ||
	fail "no WWW-Authenticate: 3GPP-bootstrapping on an unknown B-TID"
[ "$(req "$tmp/fake.gba" alice@example.org "$tmp/r.bin")" = 401 ] || fail "401 again"
[ "$(bia_count "$tmp/fake.gba")" = 1 ] || fail "the unknown B-TID is not negative-cached"
grep -F "[btid:$(echo "$fake" | cut -c1-10)...] Zn: BIA from" "$tmp/kmsd.log" |
	grep -q "Experimental-Result 5403" || fail "the unknown B-TID's BIA is not 5403"
ok "cached B-TID: no BIR; unknown B-TID: BIA 5403, 401 with the bootstrap hint, asked once"

# --- a reload that changes naf.zn keeps Diameter (restart only) ---------------------
sed -i 's/zn = "diameter";/zn = "http";/' "$tmp/kmsd.conf"
hup "$pid" "reload done"
grep -q "restart required to apply: .*naf.zn" "$tmp/kmsd.log" ||
	fail "no restart warning for naf.zn"
boot alice "$tmp/alice2.gba"
[ "$(req "$tmp/alice2.gba" alice@example.org "$tmp/r.bin")" = 200 ] ||
	fail "after the reload a new B-TID is not served"
[ "$(bia_count "$tmp/alice2.gba")" = 1 ] || fail "after the reload Zn left Diameter"
ok "SIGHUP with naf.zn changed: restart warning, Zn stays on Diameter"

kmsd_stop
wait_log "kmsd stopped"
grep -q "naf: stats .*diameter_peers_open=" "$tmp/kmsd.log" ||
	fail "no Diameter peers in the naf stats line"
ok "kmsd stops with its Diameter peer"
