#!/bin/sh
# Ua over TLS (ua.tls_cert, ua.tls_key) and the certificate reload on
# SIGHUP, against a real kmsd on 127.0.0.1 with a test PKI made here
# (tests/pki.sh): a whole PSK call with curl --cacert and one with kms-ue
# post --cacert; plain HTTP to the TLS port gets no answer; then the files
# are replaced by a new certificate (another CN and serial) and SIGHUP makes
# new connections get it while a request that started before the reload
# (its body sent in two parts around it, tests/system/slow_tls.py) is
# answered on its old connection; a broken certificate or a key that is not
# the certificate's is refused on reload and the current one stays.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need openssl
. "$top_srcdir/tests/pki.sh"

P="$tmp/pki"
pki_init "$P" || fail "openssl config"
pki_ca ca "kms Ua test CA" || fail "making the CA"
pki_leaf ua1 ca kms1.test serverAuth "DNS:kms1.test, IP:127.0.0.1" || fail "leaf ua1"
pki_leaf ua2 ca kms2.test serverAuth "DNS:kms2.test, IP:127.0.0.1" || fail "leaf ua2"
pki_done
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
s1=$(serial_of "$P/ua1.crt")
s2=$(serial_of "$P/ua2.crt")
[ "$s1" != "$s2" ] || fail "the two test certificates have one serial"

port=$(free_port)
B="https://127.0.0.1:$port"
U="$B/kms"
S="$tmp/state"
"$KMSCTL" -d "$S" init --demo >"$tmp/init.out" 2>&1 || fail "kmsctl init --demo"
cp "$P/ua1.crt" "$tmp/ua.crt"
cp "$P/ua1.key" "$tmp/ua.key"
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 2; tls_cert = "$tmp/ua.crt"; tls_key = "$tmp/ua.key"; };
kms = { state_dir = "$S"; };
CONF
# lib.sh's curl calls (wait_up, call) verify against the test CA.
CURL_CA_BUNDLE="$P/ca.crt"
export CURL_CA_BUNDLE
kmsd_start "$tmp/kmsd.conf" "$B"
wait_log "Ua listening on 127.0.0.1:$port/kms, 2 threads, max body 16384 bytes, TLS"
ok "kmsd serves Ua over TLS"

# The serial number of the certificate a new connection gets.
served() {
	openssl s_client -connect "127.0.0.1:$port" -CAfile "$P/ca.crt" </dev/null \
		2>/dev/null | openssl x509 -noout -serial | cut -d= -f2
}
[ "$(served)" = "$s1" ] || fail "served certificate is not ua1"

# --- a whole PSK call over HTTPS: curl for Alice, kms-ue post for Bob ---------------
a="--psk-file $S/demo-alice.psk"
b="--psk-file $S/demo-bob.psk"
# shellcheck disable=SC2086
"$UE" request $a --id alice@example.org --to bob@example.org --out "$tmp/req.bin" \
	--state "$tmp/alice.st" || fail "request"
st=$(post_mikey "$U?requesttype=ticketrequest" "$tmp/req.bin" "$tmp/resp.bin" \
	--cacert "$P/ca.crt")
[ "$st" = 200 ] || fail "ticketrequest over TLS with curl: $st"
# shellcheck disable=SC2086
"$UE" transfer-init $a --state "$tmp/alice.st" --resp "$tmp/resp.bin" \
	--out "$tmp/ti.bin" >/dev/null 2>"$tmp/err" || fail "transfer-init"
# shellcheck disable=SC2086
"$UE" resolve $b --id bob@example.org --in "$tmp/ti.bin" --out "$tmp/res.bin" \
	--state "$tmp/bob.st" || fail "resolve"
env -u CURL_CA_BUNDLE "$UE" post --url "$U" --type ticketresolve --in "$tmp/res.bin" \
	--out "$tmp/rr.bin" --cacert "$P/ca.crt" 2>"$tmp/post.err" ||
	fail "kms-ue post --cacert: $(cat "$tmp/post.err")"
grep -Eq '^HTTP 200 X-Request-Id: [0-9a-z-]+$' "$tmp/post.err" ||
	fail "kms-ue post printed no status and request id: $(cat "$tmp/post.err")"
# shellcheck disable=SC2086
"$UE" transfer-resp $b --state "$tmp/bob.st" --resp "$tmp/rr.bin" --out "$tmp/tr.bin" \
	>/dev/null 2>"$tmp/err" || fail "transfer-resp"
"$UE" keys --state "$tmp/bob.st" >"$tmp/keys-bob.json" || fail "keys (bob)"
"$UE" keys --state "$tmp/alice.st" --tr "$tmp/tr.bin" >"$tmp/keys-alice.json" ||
	fail "keys (alice)"
cmp -s "$tmp/keys-bob.json" "$tmp/keys-alice.json" || fail "Alice and Bob derive different keys"
ok "a whole call over HTTPS (curl --cacert, kms-ue post --cacert)"

# kms-ue post: the replayed resolve is a MIKEY Error (exit 1, header shown);
# without the CA the server is not trusted (no answer, exit 1).
set +e
env -u CURL_CA_BUNDLE "$UE" post --url "$U" --type ticketresolve --in "$tmp/res.bin" \
	--out "$tmp/rr2.bin" --cacert "$P/ca.crt" 2>"$tmp/post.err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "kms-ue post of a replayed resolve: exit $rc, expected 1"
grep -Eq '^HTTP 4[0-9][0-9] X-Request-Id: ' "$tmp/post.err" ||
	fail "no 4xx status shown for the replay: $(cat "$tmp/post.err")"
grep -q 'KMS' "$tmp/post.err" || fail "the MIKEY Error was not reported: $(cat "$tmp/post.err")"
set +e
env -u CURL_CA_BUNDLE CURL_CA_BUNDLE=/nonexistent "$UE" post --url "$U" \
	--type ticketrequest --in "$tmp/req.bin" --out "$tmp/x.bin" 2>"$tmp/post.err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "kms-ue post without the CA: exit $rc, expected 1"
grep -qi 'certificate\|SSL' "$tmp/post.err" || fail "no TLS error: $(cat "$tmp/post.err")"
ok "kms-ue post: a MIKEY Error answer and an untrusted server are exit 1"

# Plain HTTP to the TLS port: no HTTP answer.
st=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" || true)
[ "$st" = 000 ] || fail "plain HTTP to the TLS port answered $st"
ok "plain HTTP to the TLS port gets no answer"

# --- reload: a request under way keeps its connection -------------------------------
# shellcheck disable=SC2086
"$UE" request $a --id alice@example.org --to bob@example.org --out "$tmp/req2.bin" \
	--state "$tmp/alice2.st" || fail "request 2"
python3 "$top_srcdir/tests/system/slow_tls.py" "$port" "$P/ca.crt" \
	"/kms?requesttype=ticketrequest" "$tmp/req2.bin" "$tmp/slow.ready" "$tmp/slow.go" \
	"$tmp/slow.out" >"$tmp/slow.log" 2>&1 &
slow=$!
track "$slow"
wait_for 10 "the slow client did not start its request" test -f "$tmp/slow.ready"
[ "$(cat "$tmp/slow.ready")" = "$s1" ] || fail "the slow client did not get ua1"
cp "$P/ua2.crt" "$tmp/ua.crt"
cp "$P/ua2.key" "$tmp/ua.key"
hup "$pid" "TLS certificate reloaded from $tmp/ua.crt"
[ "$(served)" = "$s2" ] || fail "a new connection after the reload does not get ua2"
expect 200 "$B/healthz"
touch "$tmp/slow.go"
set +e
wait "$slow"
rc=$?
set -e
untrack "$slow"
[ $rc -eq 0 ] || fail "the slow client got no answer: $(cat "$tmp/slow.log")"
[ "$(cat "$tmp/slow.out")" = "200 $s1" ] ||
	fail "the request across the reload: $(cat "$tmp/slow.out"), expected 200 on ua1"
# shellcheck disable=SC2086
"$UE" transfer-init $a --state "$tmp/alice2.st" --resp "$tmp/slow.out.body" \
	--out "$tmp/ti2.bin" >/dev/null 2>"$tmp/err" || fail "transfer-init of the slow answer"
ok "SIGHUP serves the new certificate; a request begun before it completes"

# --- a bad new certificate or key is refused; the current one stays ------------------
echo "not a certificate" >"$tmp/ua.crt"
hup "$pid" "TLS reload failed"
log_has "the TLS certificate $tmp/ua.crt is not usable" 1 kmsd.log ||
	fail "the reload failure does not name the certificate file"
[ "$(served)" = "$s2" ] || fail "a broken certificate replaced ua2"
cp "$P/ua1.crt" "$tmp/ua.crt" # ua2.key stays: not this certificate's key
hup "$pid" "TLS reload failed"
log_has "the TLS private key $tmp/ua.key is not the key of the certificate" 1 kmsd.log ||
	fail "a key that is not the certificate's was not named"
log_has "reload failures: 2" 1 kmsd.log || fail "the reload failures are not counted"
[ "$(served)" = "$s2" ] || fail "a mismatched key replaced ua2"
expect 200 "$B/healthz"
ok "a broken certificate or a mismatched key on reload keeps the current one"

kmsd_stop
ok "kmsd stopped"
