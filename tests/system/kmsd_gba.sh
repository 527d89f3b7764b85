#!/bin/sh
# GBA end to end: bsf-stubd (Ub + Zn) and kmsd as a NAF on 127.0.0.1.
# Alice and Bob bootstrap over Ub with kms-ue, request and resolve through
# kmsd's NAF and derive the same SRTP keys.  Then: an IDRi that is not the
# user's (403), an unknown B-TID and an expired bootstrapping (401 with
# WWW-Authenticate: bootstrap again), the BSF stopped (503 with a MIKEY
# Error for new B-TIDs, cached ones still served, recovery without touching
# kmsd), a BSF that never answers (503 within the timeout, /healthz fast,
# busy Zn slots refused at once), and one Zn request per B-TID.
# ZN_TRANSPORT=diameter (tests/system/kmsd_gba_dia.sh) runs the same over
# Zn on Diameter (tests/system/zn_lib.sh); the BSF that never answers is
# then tests/system/zn_dia_outage.sh's (Diameter settings need a restart).
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
. "${top_srcdir:-.}/tests/system/zn_lib.sh" # BSFD, zn_*
bpid=""

port=$(free_port)
bp=$(free_port)
B="http://127.0.0.1:$port"
U="$B/kms"
BSF="http://127.0.0.1:$bp"
S="$tmp/state"
BD="$tmp/bsf"

# bsf_start [LIFETIME]: bsf-stubd on $bp, wait until it is healthy.
bsf_start() {
	zn_bsf_start "$BD" "$bp" --lifetime "${1:-3600}"
	bpid=$zn_bsf_pid
}
bsf_stop() {
	zn_bsf_stop
	bpid=""
}
# boot WHO OUT: kms-ue bootstrap with the demo USIM of WHO.
boot() {
	"$UE" bootstrap --usim "$BD/demo-$1.usim" --bsf "$BSF/ub" --out "$2" \
		>"$tmp/boot.out" 2>"$tmp/err" || fail "bootstrap $1"
}
btid_of() { sed -n 's/^btid=//p' "$1"; }
post() { # post TYPE IN OUT: prints the HTTP status (headers in $tmp/hdr)
	post_mikey "$U?requesttype=$1" "$2" "$3"
}
# req GBAFILE ID OUT: a REQUEST_INIT from ID to bob, posted; prints the status.
req() {
	"$UE" request --gba "$1" --id "$2" --to bob@example.org --out "$tmp/q.bin" \
		--state "$tmp/q.st" 2>"$tmp/err" || fail "request ($2)"
	post ticketrequest "$tmp/q.bin" "$3"
}
is_mikey_error() {
	"$UE" decode "$1" >"$tmp/dec.json" 2>/dev/null || return 1
	grep -q '"data_type": *6' "$tmp/dec.json"
}
expired() { # expired GBAFILE ID: a request answers 401 (false while it answers 200)
	exp_st=$(req "$1" "$2" "$tmp/r.bin")
	case $exp_st in
	401) return 0 ;;
	200) return 1 ;;
	*) fail "a request with $1 answered $exp_st, expected 200 or 401" ;;
	esac
}
zn_count() { # Zn answers kmsd logged for the B-TID in gba file $1
	grep -cF "[btid:$(btid_of "$1" | cut -c1-10)...] Zn:" "$tmp/kmsd.log" || true
}

"$BSFD" -d "$BD" --init --demo >"$tmp/bsf-init.out" 2>&1 || fail "bsf-stubd --init --demo"
bsf_start
"$KMSCTL" -d "$S" init >"$tmp/init.out" 2>&1 || fail "kmsctl init"
write_conf() { # write_conf ZN_URL
	cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 4; };
kms = { state_dir = "$S"; psk_source = "gba"; };
naf = { enabled = true; $(zn_naf_conf "$1") fqdn = "kms.example.org";
        timeout_ms = 1000; connect_timeout_ms = 300; retries = 1;
        cache_entries = 1024; negative_ttl = 600; };
CONF
}
write_conf "$BSF/zn"
kmsd_start "$tmp/kmsd.conf" "$B"
zn_kmsd_pid=$pid
zn_wait_open

# --- Alice and Bob bootstrap, request, resolve, same SRTP keys -----------------------
boot alice "$tmp/alice.gba"
boot bob "$tmp/bob.gba"
[ "$(stat -c %a "$tmp/alice.gba")" = 600 ] || fail "the --gba file is not 0600"
grep -qi "$(sed -n 's/^ks_naf=//p' "$tmp/alice.gba")" "$tmp/boot.out" "$tmp/kmsd.log" \
	"$tmp/bsf.log" && fail "Ks_NAF printed or logged"
"$UE" request --gba "$tmp/alice.gba" --id alice@example.org --to bob@example.org \
	--out "$tmp/req.bin" --state "$tmp/alice.st" 2>"$tmp/err" || fail "request"
"$UE" decode "$tmp/req.bin" >"$tmp/req.json" || fail "decode request"
grep -q "$(btid_of "$tmp/alice.gba")" "$tmp/req.json" || fail "no B-TID in IDRpsk"
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
ok "Alice and Bob bootstrap over Ub, request and resolve through the NAF: same SRTP keys"

# --- a user with two public identities (USS: two SIP URIs and a tel: URI) --------------
# The ticket names either identity; Carol resolves naming the other one or a
# SIP URI of it (TS 33.328 6.2.3.5); RESOLVE_RESP's IDRr is the one that
# matched, and both ends derive the same keys.  (Added before the BSF starts
# serving Carol: subscribers are read per bootstrap.)
"$BSFD" -d "$BD" --add-subscriber carol@ims.example.org \
	--k 000102030405060708090a0b0c0d0e0f --opc 0f0e0d0c0b0a09080706050403020100 \
	--impu sip:carol@example.org --impu '<sip:Carol.Lab@Example.ORG>' --impu tel:+15550003 \
	--naf-group kms >/dev/null 2>"$tmp/err" || fail "--add-subscriber carol"
printf 'impi=carol@ims.example.org\nk=000102030405060708090a0b0c0d0e0f\nopc=0f0e0d0c0b0a09080706050403020100\namf=8000\n' \
	>"$tmp/carol.usim"
chmod 600 "$tmp/carol.usim"
"$UE" bootstrap --usim "$tmp/carol.usim" --bsf "$BSF/ub" --out "$tmp/carol.gba" \
	>"$tmp/boot.out" 2>"$tmp/err" || fail "bootstrap carol"
for pair in "carol@example.org sip:Carol.Lab@example.org carol@example.org" \
	"sip:Carol.Lab@example.org carol@example.org Carol.Lab@example.org" \
	"Carol.Lab@example.org sip:Carol.Lab@EXAMPLE.org Carol.Lab@example.org"; do
	set -- $pair
	"$UE" request --gba "$tmp/alice.gba" --id alice@example.org --to "$1" \
		--out "$tmp/c.req" --state "$tmp/ca.st" 2>"$tmp/err" || fail "request to $1"
	[ "$(post ticketrequest "$tmp/c.req" "$tmp/c.resp")" = 200 ] || fail "ticket for $1"
	"$UE" transfer-init --gba "$tmp/alice.gba" --state "$tmp/ca.st" --resp "$tmp/c.resp" \
		--out "$tmp/c.ti" >/dev/null 2>"$tmp/err" || fail "transfer-init ($1)"
	"$UE" resolve --gba "$tmp/carol.gba" --id "$2" --in "$tmp/c.ti" --out "$tmp/c.ri" \
		--state "$tmp/cb.st" 2>"$tmp/err" || fail "resolve as $2"
	[ "$(post ticketresolve "$tmp/c.ri" "$tmp/c.rr")" = 200 ] ||
		fail "Carol naming $2 cannot resolve a ticket for $1"
	"$UE" decode "$tmp/c.rr" | grep -q "\"id_text\": \"$3\"" ||
		fail "RESOLVE_RESP IDRr is not $3 (ticket for $1, resolved as $2)"
	"$UE" transfer-resp --gba "$tmp/carol.gba" --state "$tmp/cb.st" --resp "$tmp/c.rr" \
		--out "$tmp/c.tr" >/dev/null 2>"$tmp/err" || fail "transfer-resp ($2)"
	"$UE" keys --state "$tmp/cb.st" >"$tmp/kc.json" || fail "keys (carol)"
	"$UE" keys --state "$tmp/ca.st" --tr "$tmp/c.tr" >"$tmp/ka.json" || fail "keys (alice)"
	cmp -s "$tmp/kc.json" "$tmp/ka.json" || fail "different keys (ticket for $1, as $2)"
done
ok "a GBA user with two SIP identities (and a tel: one) resolves tickets naming either, whichever it names; IDRr is the one that matched"

# --- steady state: no Zn request per ticket -------------------------------------------
[ "$(zn_count "$tmp/alice.gba")" = 1 ] || fail "$(zn_count "$tmp/alice.gba") Zn for Alice"
k=0
while [ $k -lt 10 ]; do
	[ "$(req "$tmp/alice.gba" alice@example.org "$tmp/r.bin")" = 200 ] ||
		fail "request $k with a cached B-TID"
	k=$((k + 1))
done
[ "$(zn_count "$tmp/alice.gba")" = 1 ] || fail "Zn requests per ticket"
ok "11 requests with one B-TID: exactly 1 Zn request"

# --- IDRi not among the user's identities: denied (403, no bootstrap hint) -------------
[ "$(req "$tmp/alice.gba" carol@example.org "$tmp/r.bin")" = 403 ] ||
	fail "an IDRi that is not Alice's is not refused with 403"
is_mikey_error "$tmp/r.bin" || fail "no MIKEY Error message for 403"
[ -z "$(header WWW-Authenticate)" ] || fail "WWW-Authenticate on a policy refusal"
ok "IDRi carol@example.org with Alice's B-TID: 403, MIKEY Error, no WWW-Authenticate"

# --- unknown B-TID: 401 + WWW-Authenticate (bootstrap again), negative cached ---------
fake="$(head -c 16 /dev/urandom | base64)@bsf.example.org"
sed "s|^btid=.*|btid=$fake|" "$tmp/alice.gba" >"$tmp/fake.gba"
chmod 600 "$tmp/fake.gba"
[ "$(req "$tmp/fake.gba" alice@example.org "$tmp/r.bin")" = 401 ] ||
	fail "an unknown B-TID is not refused with 401"
is_mikey_error "$tmp/r.bin" || fail "no MIKEY Error message for an unknown B-TID"
header WWW-Authenticate | grep -q '^3GPP-bootstrapping' ||
	fail "no WWW-Authenticate: 3GPP-bootstrapping on an unknown B-TID"
[ "$(req "$tmp/fake.gba" alice@example.org "$tmp/r.bin")" = 401 ] || fail "401 again"
[ "$(zn_count "$tmp/fake.gba")" = 1 ] || fail "the unknown B-TID is not negative-cached"
ok "unknown B-TID: 401 with WWW-Authenticate: 3GPP-bootstrapping, asked once"

# --- BSF stopped: new B-TIDs 503 with a MIKEY Error, cached ones served -------------
boot alice "$tmp/alice2.gba"
bsf_stop
[ "$(req "$tmp/alice2.gba" alice@example.org "$tmp/r.bin")" = 503 ] ||
	fail "a new B-TID with the BSF down is not 503"
is_mikey_error "$tmp/r.bin" || fail "no MIKEY Error message for 503"
[ -z "$(header WWW-Authenticate)" ] || fail "WWW-Authenticate on 503"
[ "$(req "$tmp/alice.gba" alice@example.org "$tmp/r.bin")" = 200 ] ||
	fail "a cached B-TID is not served with the BSF down"
ok "BSF down: new B-TID 503 with a MIKEY Error; cached B-TID 200"

# --- BSF back (short sessions now): recovery without touching kmsd; expiry ----------
bsf_start 3
[ "$(req "$tmp/alice2.gba" alice@example.org "$tmp/r.bin")" = 200 ] ||
	fail "no recovery after the BSF came back"
ok "BSF back: the same B-TID is served, kmsd untouched"
boot bob "$tmp/bob3.gba"
boot alice "$tmp/alice3.gba"
[ "$(req "$tmp/alice3.gba" alice@example.org "$tmp/r.bin")" = 200 ] ||
	fail "a 3-second bootstrapping is not served"
# Until Alice's bootstrapping expires in kmsd's cache, 200; then 401.  Bob's
# was made before hers, so by then the BSF holds it expired too.
wait_for 10 "an expired cached bootstrapping is not 401" expired "$tmp/alice3.gba" alice@example.org
header WWW-Authenticate | grep -q '^3GPP-bootstrapping' || fail "no bootstrap hint (cached)"
[ "$(zn_count "$tmp/alice3.gba")" = 1 ] || fail "an expired cache entry went to Zn"
[ "$(req "$tmp/bob3.gba" bob@example.org "$tmp/r.bin")" = 401 ] ||
	fail "an expired bootstrapping (BSF: expired) is not 401"
header WWW-Authenticate | grep -q '^3GPP-bootstrapping' || fail "no bootstrap hint (Zn)"
if [ "$ZN_TRANSPORT" = http ]; then
	grep -q "Zn: 404 in [0-9.]* ms (expired)" "$tmp/kmsd.log" || fail "the BSF did not say expired"
else
	# The BIA carries no reason: the BSF's log says it.
	grep "Zn" "$tmp/bsf.log" | grep -qi "expired" || fail "the BSF did not say expired"
fi
ok "expired bootstrapping (cached or from the BSF): 401 bootstrap again"

# --- a BSF that never answers: 503 within the timeout, the pool stays free ----------
# (HTTP only: over Diameter, zn_dia_outage.sh stops the BSF with SIGSTOP.)
if [ "$ZN_TRANSPORT" = http ]; then
# It writes its port to slow.port and a line to slow.log per connection.
daemon slow.log python3 -c 'import os, socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(64)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
held = []
end = time.time() + 120
while time.time() < end:
    s.settimeout(1)
    try:
        held.append(s.accept()[0])
        print("accepted", len(held), flush=True)
    except socket.timeout:
        pass' "$tmp/slow.port"
spid=$dpid
wait_for 5 "slow server not up" test -s "$tmp/slow.port"
write_conf "http://127.0.0.1:$(cat "$tmp/slow.port")/zn"
hup "$pid" "reload done"
for k in 1 2 3 4; do
	b="$(head -c 16 /dev/urandom | base64)@bsf.example.org"
	sed "s|^btid=.*|btid=$b|" "$tmp/alice.gba" >"$tmp/slow$k.gba"
	chmod 600 "$tmp/slow$k.gba"
	"$UE" request --gba "$tmp/slow$k.gba" --id alice@example.org --to bob@example.org \
		--out "$tmp/slow$k.bin" --state "$tmp/slow$k.st" 2>"$tmp/err" || fail "request"
done
# The four requests, from one process: each is sent once the one before has
# reached Zn (holds a connection of the slow server, or was refused as busy),
# so that the in-flight bound is reached in a known order (a Zn miss parks
# its request; the Ua threads stay free).  burst.ready appears when all four
# have; slowK.res gets
# "STATUS SECONDS", slowK.out the body.
daemon burst.log python3 -c 'import http.client, sys, threading, time
port, d = int(sys.argv[1]), sys.argv[2]
def count(name, text):
    try:
        with open(d + "/" + name) as f:
            return sum(text in l for l in f)
    except OSError:
        return 0
def send(k):
    body = open("%s/slow%d.bin" % (d, k), "rb").read()
    status, data, t0 = 0, b"", time.monotonic()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("POST", "/kms?requesttype=ticketrequest", body,
                  {"Content-Type": "application/mikey"})
        r = c.getresponse()
        status, data = r.status, r.read()
    except Exception as e:
        print("request %d: %s" % (k, e), flush=True)
    open("%s/slow%d.out" % (d, k), "wb").write(data)
    open("%s/slow%d.res" % (d, k), "w").write("%d %.3f\n" % (status, time.monotonic() - t0))
threads = []
for k in range(1, 5):
    threads.append(threading.Thread(target=send, args=(k,)))
    threads[-1].start()
    end = time.monotonic() + 5
    while (count("slow.log", "accepted") +
           count("kmsd.log", "every connection to the BSF is busy")) < k:
        if time.monotonic() > end:
            print("request %d did not reach Zn within 5 s" % k, flush=True)
            sys.exit(1)
        time.sleep(0.005)
open(d + "/burst.ready", "w").close()
for t in threads:
    t.join()' "$port" "$tmp"
burst=$dpid
burst_sent() { [ -e "$tmp/burst.ready" ] || ! kill -0 "$burst" 2>/dev/null; }
wait_for 25 "the slow requests were not all sent" burst_sent
[ -e "$tmp/burst.ready" ] || fail "the slow requests: $(cat "$tmp/burst.log")"
h=$(curl -s -m 5 -o /dev/null -w '%{http_code} %{time_total}' "$B/healthz")
wait "$burst" || fail "the slow requests: $(cat "$tmp/burst.log")"
untrack "$burst"
[ "${h%% *}" = 200 ] || fail "/healthz during a slow BSF: $h"
awk -v t="${h#* }" 'BEGIN { exit !(t < 0.5) }' || fail "/healthz slow: $h"
for k in 1 2 3 4; do
	r=$(cat "$tmp/slow$k.res")
	[ "${r%% *}" = 503 ] || fail "slow BSF: status $r, expected 503"
	awk -v t="${r#* }" 'BEGIN { exit !(t < 2.5) }' || fail "slow BSF: 503 after ${r#* } s"
	is_mikey_error "$tmp/slow$k.out" || fail "no MIKEY Error for a slow BSF"
done
grep -q "every connection to the BSF is busy" "$tmp/kmsd.log" ||
	fail "4 misses on 4 threads: no request was refused at once (Zn slots busy)"
[ "$(req "$tmp/alice.gba" alice@example.org "$tmp/r.bin")" = 200 ] ||
	fail "the reload lost the cached keys"
ok "BSF never answers: 503 within 1 s + margin, /healthz fast (${h#* } s), cache kept"
fi

# --- counters in the log, no key bytes anywhere -----------------------------------------
hup "$pid" "naf: stats"
kmsd_stop
[ "$ZN_TRANSPORT" = http ] && kill_daemon "$spid"
bsf_stop
grep "naf: stats" "$tmp/kmsd.log" | tail -n 1 | grep -q "zn_requests=" || fail "no stats line"
for f in "$tmp"/*.gba; do
	grep -qi "$(sed -n 's/^ks_naf=//p' "$f")" "$tmp/kmsd.log" "$tmp/bsf.log" &&
		fail "key bytes of $f in a log"
done
ok "kmsd logs the NAF counters; no Ks_NAF in any log"
echo "kmsd_gba ($ZN_TRANSPORT): $n groups passed"
