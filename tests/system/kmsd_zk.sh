#!/bin/sh
# Federation over Zk (docs/federation.md) with two real kmsd on 127.0.0.1:
# KMS1 serves d1.example (Alice), KMS2 serves d2.example (Bob, Carol).
# Alice's ticket from KMS1 is resolved by Bob at KMS2, which forwards it to
# KMS1 over mutual TLS; both derive the same SRTP keys.  Then: the Zk
# listener refuses clients without a peer certificate and ticketrequest;
# the same call with GBA keys from each domain's BSF stand-in (bsf-stubd);
# a killed peer gives 504 within the timeout and a restarted one is used
# again without restarting KMS2; 1,000 forwarded resolves use a handful of
# TLS connections.  Certificates are made here (tests/zk-certs.sh).
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need openssl
need sqlite3
BSFD="$top_builddir/bsf-stub/bsf-stubd"
[ -x "$BSFD" ] || fail "bsf-stubd not built: $BSFD"

P="$tmp/pki"
sh "$top_srcdir/tests/zk-certs.sh" "$P" || fail "making the test certificates"
ua1=$(free_port)
ua2=$(free_port)
zk1=$(free_port)
zk2=$(free_port)
S1="$tmp/s1"
S2="$tmp/s2"
for s in "$S1" "$S2"; do
	"$KMSCTL" -d "$s" init >/dev/null 2>&1 || fail "kmsctl init $s"
done
# Each domain's BSF stand-in, with the demo subscribers alice and bob.
bsf1=$(free_port)
bsf2=$(free_port)
bsfpids=""
for d in 1 2; do
	eval "bp=\$bsf$d"
	"$BSFD" -d "$tmp/bsf$d" --init --demo >/dev/null 2>&1 || fail "bsf-stubd --init ($d)"
	daemon "bsf$d.log" "$BSFD" -d "$tmp/bsf$d" -p "$bp"
	bsfpids="$bsfpids $dpid"
	wait_up "http://127.0.0.1:$bp/healthz" "$dpid" "bsf-stubd $d"
done
newkey() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$1"; }
adduser() { # adduser STATE NAME DOMAIN
	newkey "$tmp/$2.psk"
	"$KMSCTL" -d "$1" psk add "$2@$3" --identity "$2@$3" --key-file "$tmp/$2.psk" \
		>/dev/null || fail "psk add $2"
}
adduser "$S1" alice d1.example
adduser "$S2" bob d2.example
adduser "$S2" carol d2.example
# One per-peer key, generated on KMS1 and given to KMS2.  --responders is
# required: KMS1 lets KMS2 vouch for any responder ('*@*', explicitly), as
# the GBA section below resolves bob@example.org, in Alice's domain; the
# --responders section narrows it.  KMS2 only ever hears of d1.example.
"$KMSCTL" -d "$S1" peer add --kms-id kms.d2.example --url "https://127.0.0.1:$zk2/kms" \
	--ca "$P/ca1.crt" --cert-name kms2.test --responders '*@*' --generate "$tmp/peer.key" \
	>"$tmp/peer.out" || fail "peer add on KMS1"
[ -s "$tmp/peer.key" ] || fail "peer add --generate wrote no key file"
[ "$(stat -c %a "$tmp/peer.key")" = 600 ] || fail "peer key file is not mode 0600"
grep -Eq '^[0-9a-f]{64}$' "$tmp/peer.key" || fail "peer key file does not hold 32 bytes in hex"
grep -qi "$(cat "$tmp/peer.key")" "$tmp/peer.out" && fail "peer add printed the key"
"$KMSCTL" -d "$S2" peer add --kms-id kms.d1.example --url "https://127.0.0.1:$zk1/kms" \
	--ca "$P/ca1.crt" --cert-name kms1.test --responders '*@d1.example' \
	--key-file "$tmp/peer.key" >/dev/null || fail "peer add on KMS2"
"$KMSCTL" -d "$S1" peer list | grep -q "kms2.test" || fail "peer list"
"$KMSCTL" -d "$S1" peer list | grep -qi "$(cat "$tmp/peer.key")" && fail "peer list shows the key"

conf() { # conf N UA ZK STATE BSF_PORT
	cat >"$tmp/kms$1.conf" <<CONF
ua = { port = $2; threads = 2; };
kms = { kms_id = "kms.d$1.example"; state_dir = "$4"; psk_source = "both"; };
policy = { clock_skew = 3600; }; # the 1,000 resolves are all built before any is sent
naf = { enabled = true; bsf_url = "http://127.0.0.1:$5/zn"; fqdn = "kms.example.org"; };
zk = { enabled = true; port = $3; cert_file = "$P/kms$1.crt"; key_file = "$P/kms$1.key";
       ca_file = "$P/ca1.crt"; timeout_ms = 1000; connect_timeout_ms = 300;
       retries = 1; breaker_failures = 2; breaker_open_ms = 500; };
CONF
}
conf 1 "$ua1" "$zk1" "$S1" "$bsf1"
conf 2 "$ua2" "$zk2" "$S2" "$bsf2"
# KMS1 logs to kms1.log, its pid in $pid1; KMS2 is kmsd_start's ($pid, kmsd.log).
start1() {
	daemon kms1.log "$KMSD" "$KMSD_ROOT" -c "$tmp/kms1.conf"
	pid1=$dpid
	wait_up "http://127.0.0.1:$ua1/healthz" "$pid1" KMS1
}
start1
kmsd_start "$tmp/kms2.conf" "http://127.0.0.1:$ua2" # logs to kmsd.log, pid in $pid

post() { # post URL IN OUT: a ticketresolve; prints the HTTP status
	post_mikey "$1?requesttype=ticketresolve" "$2" "$3"
}
resolve() { # resolve WHO N: Bob/Carol resolves at KMS2; prints the status
	"$UE" resolve --psk-file "$tmp/$1.psk" --id "$1@d2.example" --kms-id kms.d2.example \
		--in "$tmp/ti.bin" --out "$tmp/res-$1$2.bin" --state "$tmp/$1$2.st" \
		2>/dev/null || fail "kms-ue resolve ($1)"
	post "http://127.0.0.1:$ua2/kms" "$tmp/res-$1$2.bin" "$tmp/rr-$1$2.bin"
}

# --- Alice (KMS1) calls Bob (KMS2): request, transfer, resolve via Zk ------------------
"$UE" request --psk-file "$tmp/alice.psk" --id alice@d1.example --to bob@d2.example \
	--kms-id kms.d1.example --out "$tmp/req.bin" --state "$tmp/alice.st" || fail "request"
st=$(post_mikey "http://127.0.0.1:$ua1/kms?requesttype=ticketrequest" "$tmp/req.bin" \
	"$tmp/resp.bin")
[ "$st" = 200 ] || fail "ticketrequest at KMS1: $st"
"$UE" transfer-init --psk-file "$tmp/alice.psk" --state "$tmp/alice.st" --resp "$tmp/resp.bin" \
	--out "$tmp/ti.bin" >/dev/null 2>"$tmp/err" || fail "transfer-init"
[ "$(resolve bob 0)" = 200 ] || fail "Bob's resolve via Zk: $(cat "$tmp/kmsd.log" | tail -5)"
zrid=$(header X-Request-Id) # KMS2's id for Bob's resolve: carried to KMS1 over Zk
"$UE" transfer-resp --psk-file "$tmp/bob.psk" --state "$tmp/bob0.st" --resp "$tmp/rr-bob0.bin" \
	--out "$tmp/tr.bin" >/dev/null 2>"$tmp/err" || fail "transfer-resp"
"$UE" keys --state "$tmp/bob0.st" >"$tmp/keys-bob.json" || fail "keys (bob)"
"$UE" keys --state "$tmp/alice.st" --tr "$tmp/tr.bin" >"$tmp/keys-alice.json" ||
	fail "keys (alice)"
cmp -s "$tmp/keys-bob.json" "$tmp/keys-alice.json" || fail "Alice and Bob derive different keys"
grep -q "forwarded to kms.d2.example\|forwarded to kms.d1.example" "$tmp/kmsd.log" ||
	fail "KMS2 did not log the forwarding"
grep -q "over Zk from kms.d2.example) granted" "$tmp/kms1.log" || fail "KMS1 log"
ok "Alice@KMS1 -> Bob@KMS2: resolved via Zk, same SRTP master key and salt"
# One request id in both logs: KMS2 sent its X-Request-Id, KMS1 adopted it.
wait_log "\[$zrid\] ticketresolve from 'bob@d2.example' forwarded to kms.d1.example: granted by the peer"
wait_log "\[$zrid\] ticketresolve from 'bob@d2.example' (over Zk from kms.d2.example) granted" kms1.log
wait_log "\[$zrid\] POST /kms 200 .* client 127.0.0.1 ticketresolve KMS_EOK" kms1.log
grep -q "ticket key 0" "$tmp/kmsd.log" && fail "KMS2 logs a ticket key it does not have"
zrow() {
	[ "$(sqlite3 "$S2/audit.db" "SELECT peer_kms || ' ' || msg_type_name FROM audit
		WHERE rid = '$zrid'" 2>/dev/null)" = "kms.d1.example RESOLVE_INIT_PSK" ]
}
wait_for 5 "KMS2's audit row names no peer KMS or type" zrow
ok "request id $zrid in both KMSs' logs; KMS2 logs the peer and its answer, audits the peer"

# Bob without --kms-id names kms-ue's default KMS, not his own: KMS2 refuses
# (Invalid ID) and both ends say which identity is at fault.
"$UE" resolve --psk-file "$tmp/bob.psk" --id bob@d2.example --in "$tmp/ti.bin" \
	--out "$tmp/res-noid.bin" --state "$tmp/bob-noid.st" 2>/dev/null || fail "kms-ue resolve (no --kms-id)"
[ "$(post "http://127.0.0.1:$ua2/kms" "$tmp/res-noid.bin" "$tmp/rr-noid.bin")" = 400 ] ||
	fail "a resolve naming another KMS in IDRkms is not refused with 400"
"$UE" transfer-resp --psk-file "$tmp/bob.psk" --state "$tmp/bob-noid.st" \
	--resp "$tmp/rr-noid.bin" --out "$tmp/tr-noid.bin" >/dev/null 2>"$tmp/err" &&
	fail "transfer-resp accepted an Error"
grep -q "named the KMS 'kms.example.org'.*--kms-id" "$tmp/err" ||
	fail "kms-ue does not say that --kms-id is missing: $(cat "$tmp/err")"
wait_log "IDRkms is not this KMS (kms.kms_id)" kmsd.log ||
	fail "KMS2 does not log that IDRkms is not its kms_id"
ok "a resolve without --kms-id at KMS2: 400, and kms-ue names the KMS it asked for"

# --- the same call by UEs that speak SIP URIs (ID Type URI, sip: values, Type 2) ------
# IDRkms is the KMS's identity as a host name, so the UEs send it as such; the
# forwarded resolve carries Bob's KMS user identity and the answer matches it.
"$UE" request --psk-file "$tmp/alice.psk" --id sip:alice@d1.example --to sip:bob@d2.example \
	--ticket-type 2 --uri --kms-id kms.d1.example --out "$tmp/ureq.bin" \
	--state "$tmp/ualice.st" || fail "URI request"
st=$(post_mikey "http://127.0.0.1:$ua1/kms?requesttype=ticketrequest" "$tmp/ureq.bin" \
	"$tmp/uresp.bin")
[ "$st" = 200 ] || fail "URI ticketrequest at KMS1: $st"
"$UE" transfer-init --psk-file "$tmp/alice.psk" --state "$tmp/ualice.st" \
	--resp "$tmp/uresp.bin" --out "$tmp/uti.bin" >/dev/null 2>"$tmp/err" ||
	fail "URI transfer-init"
"$UE" resolve --psk-file "$tmp/bob.psk" --id '<sip:bob@D2.example;transport=tls>' --uri \
	--kms-id kms.d2.example --in "$tmp/uti.bin" --out "$tmp/ures.bin" \
	--state "$tmp/ubob.st" 2>"$tmp/err" || fail "URI resolve"
st=$(post "http://127.0.0.1:$ua2/kms" "$tmp/ures.bin" "$tmp/urr.bin")
[ "$st" = 200 ] || fail "URI resolve via Zk: $st"
"$UE" decode "$tmp/urr.bin" | grep -q '"id_text": "bob@d2.example"' ||
	fail "RESOLVE_RESP IDRr is not Bob's KMS user identity"
"$UE" transfer-resp --psk-file "$tmp/bob.psk" --state "$tmp/ubob.st" --resp "$tmp/urr.bin" \
	--out "$tmp/utr.bin" >/dev/null 2>"$tmp/err" || fail "URI transfer-resp"
"$UE" keys --state "$tmp/ubob.st" >"$tmp/ukeys-bob.json" || fail "URI keys (bob)"
"$UE" keys --state "$tmp/ualice.st" --tr "$tmp/utr.bin" >"$tmp/ukeys-alice.json" ||
	fail "URI keys (alice)"
cmp -s "$tmp/ukeys-bob.json" "$tmp/ukeys-alice.json" || fail "URI call: different keys"
ok "URI-speaking UEs, Ticket Type 2: Bob resolves Alice's ticket via Zk, same SRTP keys"

# Carol is not named by the ticket: KMS1 refuses, KMS2 relays it (502, MIKEY Error).
[ "$(resolve carol 0)" = 502 ] || fail "Carol's resolve not refused with 502"
"$UE" decode "$tmp/rr-carol0.bin" >"$tmp/err.json" 2>/dev/null || fail "no MIKEY Error"
grep -q '"data_type": *6' "$tmp/err.json" || fail "502 body is not a MIKEY Error"
ok "a responder the ticket does not name: KMS1 refuses, KMS2 answers 502 + MIKEY Error"

# --- the Zk listener refuses non-peers and ticketrequest --------------------------------
zpost() { # zpost TYPE [curl TLS options]: to KMS1's Zk listener
	type=$1
	shift
	post_mikey "https://kms1.test:$zk1/kms?requesttype=$type" "$tmp/res-bob0.bin" /dev/null \
		--cacert "$P/ca1.crt" --resolve "kms1.test:$zk1:127.0.0.1" "$@"
}
for case in none ca2 rogue; do
	case $case in
	none) got=$(zpost ticketresolve) ;;
	ca2) got=$(zpost ticketresolve --cert "$P/kms1-ca2.crt" --key "$P/kms1-ca2.key") ;;
	rogue) got=$(zpost ticketresolve --cert "$P/rogue.crt" --key "$P/rogue.key") ;;
	esac
	# 403 from the handler, or 000 when the TLS handshake itself fails.
	case $got in 403 | 000) ;; *) fail "Zk client '$case' not refused: $got" ;; esac
	echo "$case:$got" >>"$tmp/zk-refusals"
done
wait_log "Zk: client refused: no client certificate" kms1.log
wait_log "Zk: client refused: .*non-peer\|Zk: client refused: .*not a peer\|Zk: client refused: .*names no peer" kms1.log
got=$(zpost ticketrequest --cert "$P/kms2.crt" --key "$P/kms2.key")
[ "$got" = 403 ] || fail "ticketrequest on Zk: $got"
wait_log "only ticketresolve" kms1.log
ok "Zk refuses: $(tr '\n' ' ' <"$tmp/zk-refusals")and ticketrequest (403), reasons logged"

# --- peer hanging, then killed: 504 within the timeout; restarted: used again ----------
kill -STOP "$pid1"
t0=$(date +%s%N)
st=$(resolve bob h)
t1=$(date +%s%N)
kill -CONT "$pid1"
hung=$(((t1 - t0) / 1000000))
[ "$st" = 504 ] || fail "resolve with KMS1 hanging: $st, expected 504"
# Bounds wide enough for a loaded host: they catch a hang, not a slow 504.
[ "$hung" -lt 15000 ] || fail "504 for a hanging peer took $hung ms (timeout 1000 ms)"
kill_daemon "$pid1"
pid1=""
t0=$(date +%s%N)
[ "$(resolve bob 1)" = 504 ] || fail "resolve with KMS1 down not 504"
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
[ "$ms" -lt 15000 ] || fail "504 took $ms ms (timeout 1000 ms, 1 retry)"
start1
ok=0
i=0
while [ $i -lt 20 ]; do # the circuit may be open for 500 ms: bounded retries
	i=$((i + 1))
	if [ "$(resolve bob "r$i")" = 200 ]; then
		ok=1
		break
	fi
	sleep 0.2
done
[ $ok -eq 1 ] || fail "KMS2 did not use the restarted KMS1"
ok "KMS1 hanging: 504 in $hung ms; killed: 504 in $ms ms; restarted: resolved again after $i attempt(s), KMS2 not restarted"

# --- 1,000 forwarded resolves over a handful of TLS connections -------------------------
hup "$pid" "zk: stats"
before=$(grep "zk: stats" "$tmp/kmsd.log" | tail -n 1 | sed 's/.*connects=\([0-9]*\).*/\1/')
mkdir "$tmp/many"
i=0
while [ $i -lt 1000 ]; do
	i=$((i + 1))
	"$UE" resolve --psk-file "$tmp/bob.psk" --id bob@d2.example --kms-id kms.d2.example \
		--in "$tmp/ti.bin" --out "$tmp/many/$i.bin" --state "$tmp/many/$i.st" \
		2>/dev/null || fail "kms-ue resolve $i"
done
python3 - "$ua2" "$tmp/many" >"$tmp/many.out" <<'PY' || fail "posting 1,000 resolves"
import http.client, os, sys, time
port, d = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
codes = {}
deadline = time.time() + 300
for i in range(1, 1001):
    if time.time() > deadline:
        break
    body = open(os.path.join(d, "%d.bin" % i), "rb").read()
    c.request("POST", "/kms?requesttype=ticketresolve", body,
              {"Content-Type": "application/mikey"})
    r = c.getresponse()
    r.read()
    codes[r.status] = codes.get(r.status, 0) + 1
print(" ".join("%d:%d" % kv for kv in sorted(codes.items())))
PY
[ "$(cat "$tmp/many.out")" = "200:1000" ] || fail "1,000 resolves: $(cat "$tmp/many.out")"
hup "$pid" "zk: stats"
after=$(grep "zk: stats" "$tmp/kmsd.log" | tail -n 1 | sed 's/.*connects=\([0-9]*\).*/\1/')
conns=$((after - before))
[ "$conns" -le 4 ] || fail "1,000 forwarded resolves opened $conns connections"
# The server side: TCP connections established to KMS1's Zk port now.
est=$(tcp_established "$zk1")
[ "$est" -le 4 ] || fail "$est connections established to KMS1's Zk port"
ok "1,000 forwarded resolves: all 200; $conns new TLS connection(s) (client count), $est open at KMS1's Zk port, $after since KMS2 started"

# --- the same call with GBA: each UE bootstraps with its own domain's BSF ----------------
for w in alice:1 bob:2; do
	who=${w%:*}
	d=${w#*:}
	eval "bp=\$bsf$d"
	"$UE" bootstrap --usim "$tmp/bsf$d/demo-$who.usim" --bsf "http://127.0.0.1:$bp/ub" \
		--out "$tmp/$who.gba" >/dev/null 2>"$tmp/err" || fail "bootstrap $who at BSF $d"
done
"$UE" request --gba "$tmp/alice.gba" --id alice@example.org --to bob@example.org \
	--kms-id kms.d1.example --out "$tmp/greq.bin" --state "$tmp/galice.st" 2>"$tmp/err" ||
	fail "GBA request"
st=$(post_mikey "http://127.0.0.1:$ua1/kms?requesttype=ticketrequest" "$tmp/greq.bin" \
	"$tmp/gresp.bin")
[ "$st" = 200 ] || fail "GBA ticketrequest at KMS1: $st"
"$UE" transfer-init --gba "$tmp/alice.gba" --state "$tmp/galice.st" --resp "$tmp/gresp.bin" \
	--out "$tmp/gti.bin" >/dev/null 2>"$tmp/err" || fail "GBA transfer-init"
"$UE" resolve --gba "$tmp/bob.gba" --id bob@example.org --kms-id kms.d2.example \
	--in "$tmp/gti.bin" --out "$tmp/gres.bin" --state "$tmp/gbob.st" 2>"$tmp/err" ||
	fail "GBA resolve"
[ "$(post "http://127.0.0.1:$ua2/kms" "$tmp/gres.bin" "$tmp/grr.bin")" = 200 ] ||
	fail "GBA resolve via Zk"
"$UE" transfer-resp --gba "$tmp/bob.gba" --state "$tmp/gbob.st" --resp "$tmp/grr.bin" \
	--out "$tmp/gtr.bin" >/dev/null 2>"$tmp/err" || fail "GBA transfer-resp"
"$UE" keys --state "$tmp/gbob.st" >"$tmp/gkeys-bob.json" || fail "keys (GBA bob)"
"$UE" keys --state "$tmp/galice.st" --tr "$tmp/gtr.bin" >"$tmp/gkeys-alice.json" ||
	fail "keys (GBA alice)"
cmp -s "$tmp/gkeys-bob.json" "$tmp/gkeys-alice.json" || fail "GBA: different keys"
ok "GBA: Alice (BSF 1, KMS1) and Bob (BSF 2, KMS2 -> Zk -> KMS1) derive the same keys"

# --- KMS1 limits what KMS2 may vouch for (kmsctl peer --responders), no signal sent ---------
restrict() { # restrict PATTERN: KMS1 re-adds KMS2 with --responders PATTERN
	"$KMSCTL" -d "$S1" peer remove kms.d2.example >/dev/null || fail "peer remove"
	"$KMSCTL" -d "$S1" peer add --kms-id kms.d2.example --url "https://127.0.0.1:$zk2/kms" \
		--ca "$P/ca1.crt" --cert-name kms2.test --responders "$1" \
		--key-file "$tmp/peer.key" >/dev/null || fail "peer add --responders $1"
}
until_status() { # until_status WANT TAG: Bob resolves until the answer is WANT (<= 10 s)
	i=0
	while [ "$(resolve bob "$2$i")" != "$1" ]; do
		i=$((i + 1))
		[ $i -lt 20 ] || fail "Bob's resolve never answered $1"
		sleep 0.5
	done
}
restrict '*@other.example'
until_status 502 rs
# The first 502s may come from the moment between remove and add (no peer
# at all); resolve again until KMS1 refuses for the pattern (bounded).
i=0
while ! grep -q "Zk: peer kms.d2.example may not vouch for 'bob@d2.example'" "$tmp/kms1.log"; do
	i=$((i + 1))
	[ $i -lt 20 ] || fail "KMS1 did not log why it refused"
	[ "$(resolve bob "rv$i")" = 502 ] || fail "Bob's resolve not refused under '*@other.example'"
	sleep 0.5
done
restrict '*@d2.example'
until_status 200 ra
ok "KMS1 re-adds KMS2 with --responders: '*@other.example' -> Bob 502, '*@d2.example' -> 200 (picked up without a signal)"

# --- a peer's certificate identity changed: its kept-alive connection is checked again --------
"$KMSCTL" -d "$S1" peer remove kms.d2.example >/dev/null || fail "peer remove"
"$KMSCTL" -d "$S1" peer add --kms-id kms.d2.example --url "https://127.0.0.1:$zk2/kms" \
	--ca "$P/ca1.crt" --cert-name rogue.test --responders '*@d2.example' \
	--key-file "$tmp/peer.key" >/dev/null ||
	fail "peer re-add with another cert-name"
refused=$(log_count "certificate of a non-peer" kms1.log)
hup "$pid1" "reload done" kms1.log
[ "$(resolve bob cn)" = 502 ] || fail "KMS1 still served a connection whose certificate is no peer's"
wait_count "certificate of a non-peer" $((refused + 1)) kms1.log
ok "after a reload the Zk listener checks a kept-alive peer connection again (502, non-peer)"

kmsd_stop
stop "$pid1" KMS1
pid1=""
for p in $bsfpids; do
	stop "$p" bsf-stubd
done
echo "kmsd_zk: $n groups passed"
