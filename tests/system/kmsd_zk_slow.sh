#!/bin/sh
# A slow peer KMS does not stop local service (docs/federation.md): KMS2
# forwards Bob's resolves of Alice's ticket to KMS1, which is stopped
# (SIGSTOP) meanwhile, so every forward stays outstanding.  With more
# forwards outstanding than KMS2 has Ua threads, KMS2 still serves local
# requests (a ticket issued by KMS2 and resolved there) - they are answered
# while the forwards are provably still waiting - and once KMS1 runs again
# every forward completes with 200.  Then KMS2 is stopped with forwards
# parked: they are answered 503 with a MIKEY Error and KMS2 exits cleanly.
# Certificates are made here (tests/zk-certs.sh).
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need openssl

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
newkey() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$1"; }
adduser() { # adduser STATE NAME DOMAIN
	newkey "$tmp/$2.psk"
	"$KMSCTL" -d "$1" psk add "$2@$3" --identity "$2@$3" --key-file "$tmp/$2.psk" \
		>/dev/null || fail "psk add $2"
}
adduser "$S1" alice d1.example
adduser "$S2" bob d2.example
adduser "$S2" carol d2.example
"$KMSCTL" -d "$S1" peer add --kms-id kms.d2.example --url "https://127.0.0.1:$zk2/kms" \
	--ca "$P/ca1.crt" --cert-name kms2.test --responders '*@d2.example' \
	--generate "$tmp/peer.key" >/dev/null || fail "peer add on KMS1"
"$KMSCTL" -d "$S2" peer add --kms-id kms.d1.example --url "https://127.0.0.1:$zk1/kms" \
	--ca "$P/ca1.crt" --cert-name kms1.test --responders '*@d1.example' \
	--key-file "$tmp/peer.key" >/dev/null || fail "peer add on KMS2"

# KMS2 has 2 Ua threads; its forwards wait up to 20 s for KMS1 (never
# reached here: KMS1 runs again first); a stop waits 1 s for requests.
threads=2
conf() { # conf N UA ZK STATE METRICS
	cat >"$tmp/kms$1.conf" <<CONF
ua = { port = $2; threads = $threads; conn_timeout = 1; };
metrics = { port = $5; };
kms = { kms_id = "kms.d$1.example"; state_dir = "$4"; };
zk = { enabled = true; port = $3; cert_file = "$P/kms$1.crt"; key_file = "$P/kms$1.key";
       ca_file = "$P/ca1.crt"; timeout_ms = 20000; connect_timeout_ms = 20000;
       retries = 0; };
CONF
}
m2=$(free_port)
conf 1 "$ua1" "$zk1" "$S1" "$(free_port)"
conf 2 "$ua2" "$zk2" "$S2" "$m2"
pending() { # kms_zk_forwards_pending of KMS2 is $1
	curl -s -m 5 "http://127.0.0.1:$m2/metrics" | grep -qx "kms_zk_forwards_pending $1"
}
daemon kms1.log "$KMSD" "$KMSD_ROOT" -c "$tmp/kms1.conf"
pid1=$dpid
wait_up "http://127.0.0.1:$ua1/healthz" "$pid1" KMS1
kmsd_start "$tmp/kms2.conf" "http://127.0.0.1:$ua2" # kmsd.log, $pid
UA1="http://127.0.0.1:$ua1/kms"
UA2="http://127.0.0.1:$ua2/kms"

# Alice's ticket from KMS1 for Bob; Bob's resolves of it, built now.
"$UE" request --psk-file "$tmp/alice.psk" --id alice@d1.example --to bob@d2.example \
	--kms-id kms.d1.example --out "$tmp/req.bin" --state "$tmp/alice.st" || fail "request"
[ "$(post_mikey "$UA1?requesttype=ticketrequest" "$tmp/req.bin" "$tmp/resp.bin")" = 200 ] ||
	fail "ticketrequest at KMS1"
"$UE" transfer-init --psk-file "$tmp/alice.psk" --state "$tmp/alice.st" --resp "$tmp/resp.bin" \
	--out "$tmp/ti.bin" >/dev/null 2>"$tmp/err" || fail "transfer-init"
nfwd=$((threads * 2))
for i in $(seq 1 $((nfwd + 2))); do
	"$UE" resolve --psk-file "$tmp/bob.psk" --id bob@d2.example --kms-id kms.d2.example \
		--in "$tmp/ti.bin" --out "$tmp/fres$i.bin" --state "$tmp/fbob$i.st" \
		2>/dev/null || fail "kms-ue resolve $i"
done

# fwd I: Bob's resolve I at KMS2 (-> KMS1) in the background; when it is
# answered, its status appears in $tmp/fwd.I (written whole: mv).
fwd() {
	(curl -s -m 60 -o "$tmp/frr$1.bin" -w '%{http_code}' -H "$MIKEY" \
		--data-binary @"$tmp/fres$1.bin" "$UA2?requesttype=ticketresolve" \
		>"$tmp/fwd.$1.part" 2>/dev/null || true
	mv "$tmp/fwd.$1.part" "$tmp/fwd.$1") &
	track $!
}
answered() { # how many of the forwards FROM..TO have been answered
	lib_a=0
	for i in $(seq "$1" "$2"); do
		[ -f "$tmp/fwd.$i" ] && lib_a=$((lib_a + 1))
	done
	echo $lib_a
}
all_answered() { [ "$(answered "$1" "$2")" -eq $(($2 - $1 + 1)) ]; }
reached_peer() { [ "$(tcp_established "$zk1")" -ge "$1" ]; }

# A local resolve at KMS2: Carol's ticket for Bob, issued and resolved there.
local_call() { # local_call I: prints the status of the resolve
	"$UE" request --psk-file "$tmp/carol.psk" --id carol@d2.example --to bob@d2.example \
		--kms-id kms.d2.example --out "$tmp/lreq$1.bin" --state "$tmp/lcarol$1.st" ||
		fail "local request $1"
	st=$(post_mikey "$UA2?requesttype=ticketrequest" "$tmp/lreq$1.bin" "$tmp/lresp$1.bin")
	[ "$st" = 200 ] || { echo "request:$st"; return 0; }
	"$UE" transfer-init --psk-file "$tmp/carol.psk" --state "$tmp/lcarol$1.st" \
		--resp "$tmp/lresp$1.bin" --out "$tmp/lti$1.bin" >/dev/null 2>&1 ||
		fail "local transfer-init $1"
	"$UE" resolve --psk-file "$tmp/bob.psk" --id bob@d2.example --kms-id kms.d2.example \
		--in "$tmp/lti$1.bin" --out "$tmp/lres$1.bin" --state "$tmp/lbob$1.st" \
		2>/dev/null || fail "local kms-ue resolve $1"
	post_mikey "$UA2?requesttype=ticketresolve" "$tmp/lres$1.bin" "$tmp/lrr$1.bin"
}
[ "$(local_call 0)" = 200 ] || fail "a local resolve at KMS2 before the test"

# --- KMS1 stopped: the forwards wait, local requests are served ------------------------
kill -STOP "$pid1"
for i in $(seq 1 $nfwd); do
	fwd "$i"
done
# Every Ua thread of KMS2 has a forward under way: as many reached KMS1.
wait_for 10 "the forwards did not reach KMS1" reached_peer $threads
for j in 1 2 3; do
	st=$(local_call "$j")
	[ "$st" = 200 ] || fail "local resolve $j at KMS2 while $nfwd forwards wait for KMS1: $st"
done
# Ordering: the local ones were answered while no forward was (KMS1 is
# stopped: none can be until it runs again).
[ "$(answered 1 $nfwd)" -eq 0 ] || fail "a forward was answered while KMS1 was stopped"
wait_count "request parked: forwarded to kms.d1.example" $nfwd
pending $nfwd || fail "KMS2's metrics do not show $nfwd forwards pending"
ok "$nfwd forwards outstanding on $threads Ua threads (parked); 3 local requests and resolves answered 200 meanwhile"

kill -CONT "$pid1"
wait_for 20 "the forwards were not answered after KMS1 ran again" all_answered 1 $nfwd
for i in $(seq 1 $nfwd); do
	[ "$(cat "$tmp/fwd.$i")" = 200 ] || fail "forward $i: $(cat "$tmp/fwd.$i")"
	"$UE" transfer-resp --psk-file "$tmp/bob.psk" --state "$tmp/fbob$i.st" \
		--resp "$tmp/frr$i.bin" --out "$tmp/ftr$i.bin" >/dev/null 2>"$tmp/err" ||
		fail "transfer-resp of forward $i"
done
wait_count "forwarded to kms.d1.example: granted by the peer" $nfwd
wait_for 5 "KMS2's metrics still show forwards pending" pending 0
ok "after KMS1 ran again every forward completed: 200 and a RESOLVE_RESP Bob accepts"

# --- stopping KMS2 with forwards parked: 503 with a MIKEY Error, clean exit ------------
kill -STOP "$pid1"
first=$((nfwd + 1))
last=$((nfwd + 2))
for i in $first $last; do
	fwd "$i"
done
wait_count "request parked: forwarded to kms.d1.example" $last
kmsd_stop
wait_for 10 "the parked forwards were not answered at the stop" all_answered $first $last
for i in $first $last; do
	[ "$(cat "$tmp/fwd.$i")" = 503 ] || fail "parked forward $i at the stop: $(cat "$tmp/fwd.$i")"
	"$UE" decode "$tmp/frr$i.bin" >"$tmp/out" 2>/dev/null || fail "no MIKEY body ($i)"
	grep -q '"data_type": *6' "$tmp/out" || fail "503 body $i is not a MIKEY Error"
done
grep -q "request(s) waiting for an outbound call resumed (cancelled)" "$tmp/kmsd.log" ||
	fail "KMS2 did not log the forwards it cancelled at the stop"
kill -CONT "$pid1"
ok "KMS2 stopped with 2 forwards parked: each answered 503 + MIKEY Error, exit status 0"
stop "$pid1" KMS1
echo "kmsd_zk_slow: $n groups passed"
