#!/bin/sh
# kms-ue call against a real kmsd on 127.0.0.1: whole calls in one process
# (ticket, SIP INVITE / 200 OK carrying MIKEY in SDP, SRTP and SRTCP with
# libsrtp2 both ways), in both suites with the RTP sequence wrapping past
# 65535; a tampered packet; an intruder not named by the ticket; a group
# call with three members and the cross-fork check; a reused ticket with
# no ticketrequest and a J = 0 ticket refused for reuse; Ua over TLS.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need openssl
need python3
. "$top_srcdir/tests/pki.sh"

S="$tmp/state"
"$KMSCTL" -d "$S" init --demo >"$tmp/init.out" 2>&1 || fail "kmsctl init --demo"
A=$(cat "$S/demo-alice.psk")
B=$(cat "$S/demo-bob.psk")
psk() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
# Carol, Dave and Erin are also NAME.team@example.org (the group); Mallory
# has a PSK but is in no ticket.
for who in carol dave erin mallory; do
	psk >"$tmp/$who.psk"
	team="--identity $who.team@example.org"
	[ "$who" = mallory ] && team=""
	# shellcheck disable=SC2086
	"$KMSCTL" -d "$S" psk add "$who@example.org" --identity "$who@example.org" \
		$team --key-file "$tmp/$who.psk" >/dev/null || fail "psk add $who"
done
# Group tickets are off by default: a rule allows them for the team; another
# grants reusable tickets (J) to Alice calling Bob when she asks for them.
"$KMSCTL" -d "$S" policy add --from alice@example.org --to '*.team@example.org' \
	--allow --group >/dev/null || fail "policy add (group)"
"$KMSCTL" -d "$S" policy add --from alice@example.org --to bob@example.org \
	--allow --reuse >/dev/null || fail "policy add (reuse)"

port=$(free_port)
U="http://127.0.0.1:$port/kms"
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 2; };
kms = { state_dir = "$S"; };
CONF
kmsd_start "$tmp/kmsd.conf" "http://127.0.0.1:$port"

call_ab() { # call_ab WANT OPTIONS...: Alice calls Bob
	want=$1
	shift
	run "$want" "$UE" call --url "$U" --id alice@example.org --psk "$A" \
		--member "bob@example.org:$B" "$@"
}
# Every packet both ways arrived and authenticated; ROC at the end.
all_in() { # all_in PACKETS ROC
	json_check "(d['ok'] and all(m['sent'] == $1 and m['received'] == $1 and
m['auth_failed'] == 0 and m['other_failed'] == 0 and m['rtcp_sent'] >= 1 and
m['rtcp_received'] == m['rtcp_sent'] and m['rtcp_failed'] == 0 and
m['roc_sender'] == $2 and m['roc_receiver'] == $2
for p in d['members'] for m in p['media']))"
}

# --- both suites, 1000 packets each way, the sequence number wraps ------------------
call_ab 0 --packets 1000 --seq 65000 --pcap "$tmp/c128.pcap" --save-ticket "$tmp/j0.st"
all_in 1000 1
json_check "(d['suite'] == 'AES_CM_128_HMAC_SHA1_80' and d['ticketrequest'] and
d['ticket_key_id'] is not None and len(d['tgk_spi']) == 8)"
grep -q 'srtp_master\|[0-9a-f]\{32\}' "$tmp/out" && fail "the summary shows key bytes"
ok "128-bit suite: 1000 SRTP packets and the SRTCP reports each way, ROC 1 after the wrap"
call_ab 0 --packets 1000 --seq 65000 --suite 256
all_in 1000 1
json_check "d['suite'] == 'AES_256_CM_HMAC_SHA1_80' and d['mikey_suite'] == 256"
ok "256-bit suite (SP payload): AES_256_CM_HMAC_SHA1_80, 1000 packets each way"

# The capture: pcap, LINKTYPE_RAW, the HTTP exchanges, SIP and SRTP over IPv4.
python3 - "$tmp/c128.pcap" <<'PY' || fail "the --pcap file"
import struct, sys
b = open(sys.argv[1], 'rb').read()
magic, _, _, _, _, snap, link = struct.unpack('<IHHiIII', b[:24])
assert magic == 0xa1b2c3d4 and link == 101, (hex(magic), link)
off, tcp, udp, posts, invites = 24, 0, 0, 0, 0
while off < len(b):
    _, _, incl, orig = struct.unpack('<IIII', b[off:off + 16])
    p = b[off + 16:off + 16 + incl]
    assert p[0] == 0x45 and incl == orig == struct.unpack('>H', p[2:4])[0]
    tcp += p[9] == 6
    udp += p[9] == 17
    posts += p[40:45] == b'POST '
    invites += p[28:35] == b'INVITE '
    off += 16 + incl
assert off == len(b) and posts == 2 and invites == 1 and udp == 3 + 2 * (1000 + 4), (posts, invites, udp)
PY
ok "--pcap: raw IPv4 records with the two HTTP POSTs, the INVITE and the media"

# --- a tampered packet ---------------------------------------------------------------
call_ab 1 --packets 50 --tamper
json_check "(d['members'][0]['media'][0]['auth_failed'] == 1 and
d['members'][0]['media'][0]['received'] == 49 and not d['ok'])"
call_ab 0 --packets 50 --tamper --expect-auth-fail 1
json_check "d['members'][0]['media'][0]['auth_failed'] == 1 and d['ok']"
call_ab 1 --packets 50 --expect-auth-fail 1
ok "a byte flipped in flight fails authentication once, exit 1 unless expected"

# --- an intruder ---------------------------------------------------------------------
call_ab 0 --packets 20 --intruder mallory@example.org --intruder-psk "$(cat "$tmp/mallory.psk")"
json_check "(d['intruder']['refused'] and not d['intruder']['keys'] and
len(d['intruder']['mikey_errors']) >= 1)"
ok "a phone the ticket does not name gets a MIKEY Error and no keys"

# --- a group call: three members, each its own fork ----------------------------------
run 0 "$UE" call --url "$U" --id alice@example.org --psk "$A" --to '*.team@example.org' \
	--member "carol@example.org:$(cat "$tmp/carol.psk")" \
	--member "dave@example.org:$(cat "$tmp/dave.psk")" \
	--member "erin@example.org:$(cat "$tmp/erin.psk")" --packets 100
all_in 100 0
json_check "(len(d['members']) == 3 and all(m['cross_fork']['tried'] == 100 and
m['cross_fork']['auth_failed'] == 100 for m in d['members']) and 'I' in d['ticket_flags'])"
ok "group call: three members, and another fork's keys fail on every packet"

# --- reuse: J = 1 with no ticketrequest; J = 0 refused before anything is sent ---------
call_ab 0 --packets 20 --reuse --save-ticket "$tmp/j1.st"
[ "$(stat -c %a "$tmp/j1.st")" = 600 ] || fail "--save-ticket is not 0600"
json_check "'J' in d['ticket_flags']"
csb1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csb_id"])' "$tmp/out")
call_ab 0 --packets 20 --ticket "$tmp/j1.st"
all_in 20 0
json_check "not d['ticketrequest'] and d['csb_id'] != $csb1"
grep -q 'ticketrequest: HTTP' "$tmp/err" && fail "a reused ticket made a ticketrequest"
ok "a reusable ticket makes a second call with a new CSB ID and no ticketrequest"
call_ab 1 --packets 20 --ticket "$tmp/j0.st" --pcap "$tmp/j0.pcap"
grep -q 'not reusable' "$tmp/err" || fail "J = 0: no reason given"
[ "$(wc -c <"$tmp/j0.pcap")" -eq 24 ] || fail "J = 0: something was sent"
ok "a ticket with J = 0 is refused for reuse before anything is sent"

# --- kms-ue sdp: a key-mgmt line and back; malformed SDP refused -------------------------
V="$top_srcdir/tests/vectors/request_init.bin"
run 0 "$UE" sdp --line "$V"
printf 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 0\r\n' \
	>"$tmp/o.sdp"
cat "$tmp/out" >>"$tmp/o.sdp"
run 0 "$UE" sdp --extract --out "$tmp/back.bin" "$tmp/o.sdp"
cmp -s "$tmp/back.bin" "$V" || fail "sdp --line then --extract changed the message"
cat "$tmp/out" "$tmp/out" >"$tmp/two.sdp"
printf 'v=0\r\n' | cat - "$tmp/two.sdp" >"$tmp/twice.sdp"
run 1 "$UE" sdp --extract --out "$tmp/x.bin" "$tmp/twice.sdp"
printf 'v=0\r\na=key-mgmt:mikey AQ==\r\n' >"$tmp/bad.sdp"
run 1 "$UE" sdp --extract --out "$tmp/x.bin" "$tmp/bad.sdp"
head -c 30000 /dev/zero | tr '\0' A | sed 's/^/v=0\na=key-mgmt:mikey /' >"$tmp/big.sdp"
run 1 "$UE" sdp --extract --out "$tmp/x.bin" "$tmp/big.sdp"
ok "kms-ue sdp: a=key-mgmt:mikey line and back; two, bad and oversized ones refused"

# --- Ua over TLS: --cacert ------------------------------------------------------------
kmsd_stop
P="$tmp/pki"
pki_init "$P" || fail "openssl config"
pki_ca ca "kms Ua test CA" || fail "making the CA"
pki_leaf ua ca kms.test serverAuth "DNS:kms.test, IP:127.0.0.1" || fail "leaf ua"
pki_done
port=$(free_port)
U="https://127.0.0.1:$port/kms"
cat >"$tmp/kmsd-tls.conf" <<CONF
ua = { port = $port; threads = 2; tls_cert = "$P/ua.crt"; tls_key = "$P/ua.key"; };
kms = { state_dir = "$S"; };
CONF
CURL_CA_BUNDLE="$P/ca.crt"
export CURL_CA_BUNDLE
kmsd_start "$tmp/kmsd-tls.conf" "https://127.0.0.1:$port"
unset CURL_CA_BUNDLE
call_ab 1 --packets 10
call_ab 0 --packets 100 --cacert "$P/ca.crt"
all_in 100 0
ok "--cacert: the same call against a TLS Ua"
