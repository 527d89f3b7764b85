#!/bin/sh
# The Wireshark Lua dissector (tools/wireshark/mikey-ticket.lua) under
# tshark, on two captures:
#  1. `kms-ue call --pcap` against a real kmsd: REQUEST_INIT_PSK,
#     REQUEST_RESP, RESOLVE_INIT_PSK, RESOLVE_RESP over HTTP
#     (application/mikey), TRANSFER_INIT/RESP in SIP/SDP media-level
#     a=key-mgmt:mikey, and an intruder's refused resolve with its MIKEY
#     Error.
#  2. one written by tests/system/wireshark_pcap.py: a MIKEY base ticket
#     (Type 1, suite 256) whose transfer travels in session-level
#     a=key-mgmt, a wrong PSK's Error, and hand-made messages with what
#     kms-ue never sends (SRTP-ID map, RFC 3830 PSK, General Extension,
#     error codes 14 and 15, an unknown payload type).
# Checks the decoded fields, that nothing is marked malformed and that the
# Lua script raised no error.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need tshark python3

LUA="$top_srcdir/tools/wireshark/mikey-ticket.lua"
port=$(free_port)
sip=$(free_port)
udp=$(free_port)
B="http://127.0.0.1:$port"
U="$B/kms"
S="$tmp/state"
"$KMSCTL" -d "$S" init --demo >"$tmp/init.out" 2>&1 || fail "kmsctl init --demo"
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/dave.psk"
"$KMSCTL" -d "$S" psk add dave@example.org --identity dave@example.org \
	--key-file "$tmp/dave.psk" >/dev/null || fail "psk add dave"
kid=$("$KMSCTL" -d "$S" key list | awk '$2 == "active" { print $1 }')
[ -n "$kid" ] || fail "no active key listed"
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 2; };
kms = { state_dir = "$S"; };
CONF
kmsd_start "$tmp/kmsd.conf" "$B"
a="--psk-file $S/demo-alice.psk"
b="--psk-file $S/demo-bob.psk"

# --- capture 1: kms-ue call ------------------------------------------------------------
"$UE" call --url "$U" --id alice@example.org --psk "$(cat "$S/demo-alice.psk")" \
	--member "bob@example.org:$(cat "$S/demo-bob.psk")" --reuse --packets 5 \
	--intruder dave@example.org --intruder-psk "$(cat "$tmp/dave.psk")" \
	--pcap "$tmp/call.pcap" >"$tmp/call.json" 2>"$tmp/call.err" ||
	fail "kms-ue call: $(tail -3 "$tmp/call.err")"

# --- capture 2: base ticket, wrong PSK, hand-made messages ------------------------------
items=""
post() { # post TYPE IN OUT WANT: POST, check the status, add it to the capture
	st=$(post_mikey "$U?requesttype=$1" "$2" "$3")
	[ "$st" = "$4" ] || fail "$1: HTTP $st, expected $4"
	items="$items http:$port:$1:$2:$3:$st"
}
# shellcheck disable=SC2086
"$UE" request $a --id alice@example.org --to bob@example.org --ticket-type 1 \
	--suite 256 --out "$tmp/req.bin" --state "$tmp/alice.st" || fail "request"
post ticketrequest "$tmp/req.bin" "$tmp/resp.bin" 200
# shellcheck disable=SC2086
"$UE" transfer-init $a --state "$tmp/alice.st" --resp "$tmp/resp.bin" \
	--out "$tmp/ti.bin" >/dev/null 2>"$tmp/err" || fail "transfer-init"
# shellcheck disable=SC2086
"$UE" resolve $b --id bob@example.org --in "$tmp/ti.bin" --out "$tmp/res.bin" \
	--state "$tmp/bob.st" 2>"$tmp/err" || fail "resolve"
post ticketresolve "$tmp/res.bin" "$tmp/rr.bin" 200
# shellcheck disable=SC2086
"$UE" transfer-resp $b --state "$tmp/bob.st" --resp "$tmp/rr.bin" \
	--out "$tmp/tr.bin" >/dev/null 2>"$tmp/err" || fail "transfer-resp"
items="$items sip:$sip:$tmp/ti.bin:$tmp/tr.bin"
"$UE" request --psk-file "$tmp/dave.psk" --id alice@example.org --to bob@example.org \
	--psk-id alice@example.org --out "$tmp/bad-req.bin" --state "$tmp/bad.st" ||
	fail "request (wrong psk)"
post ticketrequest "$tmp/bad-req.bin" "$tmp/bad-resp.bin" 401
kmsd_stop
# shellcheck disable=SC2086
python3 "$top_srcdir/tests/system/wireshark_pcap.py" "$tmp/cap.pcap" $items \
	synth:$udp:psk synth:$udp:error synth:$udp:unknown || fail "writing the capture"

# ts PCAP OUT ARGS...: tshark with the dissector on PCAP; output in $tmp/OUT
ts() {
	p=$1
	o=$2
	shift 2
	# shellcheck disable=SC2086
	tshark -n -r "$tmp/$p" -X lua_script:"$LUA" -d "tcp.port==$port,http" $decode "$@" \
		>"$tmp/$o" 2>"$tmp/$o.err" || fail "tshark $*: $(tail -2 "$tmp/$o.err")"
	if grep -v '^Running as user' "$tmp/$o.err" | grep -q .; then
		fail "tshark wrote to stderr: $(head -3 "$tmp/$o.err")"
	fi
}
# clean PCAP: no Lua error, no malformed packet, no expert info of severity error
clean() {
	ts "$1" "$1.txt" -V
	grep -q 'Lua Error\|Dissector failure\|Dissector bug' "$tmp/$1.txt" &&
		fail "$1: the Lua dissector failed: $(grep -m1 'Lua Error\|Dissector failure\|Dissector bug' "$tmp/$1.txt")"
	ts "$1" "$1.bad" -Y '_ws.malformed || _ws.expert.severity >= 0x800000 || _ws.expert.message contains "Lua Error"'
	[ -s "$tmp/$1.bad" ] && fail "$1: packets malformed or with errors: $(head -3 "$tmp/$1.bad")"
	ts "$1" "$1.fields" -Y mikey_ticket -T fields -E 'separator=;' -E aggregator=, \
		-e frame.number -e mikey_ticket.hdr.data_type -e mikey_ticket.err.code \
		-e mikey_ticket.tp.flags.set -e mikey_ticket.tp.flags.j \
		-e mikey_ticket.ticket.key_id -e mikey_ticket.tp.ticket_type \
		-e mikey_ticket.rand.role -e mikey_ticket.sp.param.type \
		-e mikey_ticket.hdr.map_type -e mikey_ticket.ticket.thdr.len -e sip.CSeq.method
}
# col PCAP N: the distinct values of field column N (sorted as text)
col() {
	awk -F';' -v c="$2" '{ print $c }' "$tmp/$1.fields" | tr ',' '\n' | grep . | sort -u |
		tr '\n' ' '
}
has() { # has LIST WORD...: every WORD is in the space-separated LIST
	lst=$1
	shift
	for w in "$@"; do
		case " $lst" in *" $w "*) ;; *) return 1 ;; esac
	done
}

# The SIP port of the call: where its INVITE went.
cport=$(tshark -n -r "$tmp/call.pcap" -Y 'udp contains "INVITE sip:"' -T fields \
	-e udp.dstport 2>/dev/null | head -1)
[ -n "$cport" ] || fail "no SIP INVITE in the kms-ue call capture"
decode="-d udp.port==$cport,sip"
clean call.pcap
has "$(col call.pcap 2)" 6 11 13 14 15 16 18 ||
	fail "kms-ue call: data types $(col call.pcap 2) (want 6 11 13 14 15 16 18)"
awk -F';' '$2 == 14 && $12 ~ /INVITE/ { i = 1 } $2 == 15 && $12 ~ /INVITE/ { r = 1 }
	END { exit !(i && r) }' "$tmp/call.pcap.fields" ||
	fail "TRANSFER_INIT / TRANSFER_RESP not decoded inside the SIP INVITE / 200 OK"
ok "kms-ue call --pcap: every message decoded (HTTP and SDP key-mgmt), no Lua error, nothing malformed"

[ "$(col call.pcap 3)" = "0 " ] || fail "intruder's Error: codes $(col call.pcap 3) (want 0)"
grep -q 'ERR: Auth failure' "$tmp/call.pcap.txt" || fail "error 0 not by name"
# The request asks for E F H I J (D = 0: an Initiator does not set it); the
# KMS grants D E F H I and J.
[ "$(col call.pcap 4)" = "DEFHIJ EFHIJ " ] ||
	fail "TP flags by letter: $(col call.pcap 4) (want DEFHIJ EFHIJ)"
has "$(col call.pcap 5)" 1 || fail "mikey_ticket.tp.flags.j never set"
grep -q '= J: Ticket may be reused: True' "$tmp/call.pcap.txt" || fail "flag J not shown by letter"
[ "$(col call.pcap 6)" = "$kid " ] || fail "ticket key ids: $(col call.pcap 6) (want $kid)"
grep -q 'Ticket Data: sealed (AES-256-GCM)' "$tmp/call.pcap.txt" || fail "sealed Ticket Data"
has "$(col call.pcap 8)" 1 2 3 || fail "RANDR roles: $(col call.pcap 8) (want 1 2 3)"
has "$(col call.pcap 9)" 0 1 2 || fail "SP of the TRANSFER_INIT: parameters $(col call.pcap 9)"
grep -q 'Parameter: Encryption algorithm = 1' "$tmp/call.pcap.txt" || fail "SP by name"
grep -q 'Initiator Data' "$tmp/call.pcap.txt" || fail "Initiator Data not shown"
grep -q 'Crypto session 1' "$tmp/call.pcap.txt" || fail "GENERIC-ID entries not shown"
ok "call: Error 0 by name, TP flags by letter (tp.flags.j), TICKET key id $kid, RANDR, SP"

decode="-d udp.port==$sip,sip -d udp.port==$udp,mikey_ticket"
clean cap.pcap
has "$(col cap.pcap 2)" 0 6 11 13 14 15 16 18 || fail "data types $(col cap.pcap 2)"
grep -A1 'Key Management Protocol (kmpid): mikey' "$tmp/cap.pcap.txt" >"$tmp/km.txt"
grep -q 'MIKEY-TICKET.*TRANSFER_INIT' "$tmp/km.txt" && grep -q 'MIKEY-TICKET.*TRANSFER_RESP' "$tmp/km.txt" ||
	fail "session-level a=key-mgmt:mikey not handed to the dissector"
ok "written capture: decoded (session-level SDP key-mgmt too), no Lua error, nothing malformed"

[ "$(col cap.pcap 3)" = "14 15 3 " ] || fail "error codes: $(col cap.pcap 3) (want 3 14 15)"
grep -q 'Error no: Invalid TICKET (14)' "$tmp/cap.pcap.txt" || fail "error 14 not by name"
grep -q 'Error no: Invalid TPpar (15)' "$tmp/cap.pcap.txt" || fail "error 15 not by name"
grep -q 'Error no: Invalid MAC (3)' "$tmp/cap.pcap.txt" || fail "error 3 (wrong PSK) not by name"
ok "MIKEY Error of a wrong PSK (401) and codes 14, 15 by name"

has "$(col cap.pcap 7)" 0x0001 || fail "Ticket Type 1 not decoded: $(col cap.pcap 7)"
grep -q 'Ticket Data: base ticket (RFC 6043 Appendix A)' "$tmp/cap.pcap.txt" ||
	fail "base ticket Ticket Data not decoded"
grep -q 'THDR (ticket header)' "$tmp/cap.pcap.txt" || fail "THDR not decoded"
[ "$(col cap.pcap 11)" = "0 " ] || fail "THDR Data length: $(col cap.pcap 11)"
grep -q 'IDR: IDRpsk (pre-shared key)' "$tmp/cap.pcap.txt" || fail "IDRpsk of the base ticket"
[ "$(col cap.pcap 6)" = "$kid " ] || fail "base ticket key ids: $(col cap.pcap 6) (want $kid)"
has "$(col cap.pcap 10)" 0 1 2 || fail "CS ID map types: $(col cap.pcap 10) (want 0 1 2)"
grep -q 'General Ext: SDP IDs' "$tmp/cap.pcap.txt" || fail "General Extension"
grep -q 'Undecoded data: 7 bytes' "$tmp/cap.pcap.txt" || fail "unknown payload not shown as opaque"
ok "base ticket (THDR, T, RAND, KEMAC, IDRpsk with key id $kid, V), SRTP-ID map, General Extension, unknown payload"
