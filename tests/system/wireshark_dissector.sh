#!/bin/sh
# The Wireshark Lua dissector (tools/wireshark/mikey-ticket.lua) on a
# capture of a real MIKEY-TICKET exchange with kmsd: every message type
# (REQUEST_INIT_PSK, REQUEST_RESP, TRANSFER_INIT, TRANSFER_RESP,
# RESOLVE_INIT_PSK, RESOLVE_RESP and Error) over HTTP (application/mikey)
# and SIP/SDP (a=key-mgmt:mikey), for the private sealed ticket and the
# MIKEY base ticket (Type 1), plus hand-made messages with the payloads
# kms-ue does not send (SRTP-ID map, SP, General Extension, RFC 6043 error
# codes).  Checks decoded fields with tshark -T fields, that nothing is
# marked malformed and that the Lua script raised no error.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need tshark python3 sqlite3

LUA="$top_srcdir/tools/wireshark/mikey-ticket.lua"
PCAP="$top_srcdir/tests/system/wireshark_pcap.py"
port=$(free_port)
sip=$(free_port)
udp=$(free_port)
B="http://127.0.0.1:$port"
U="$B/kms"
S="$tmp/state"
"$KMSCTL" -d "$S" init --demo >"$tmp/init.out" 2>&1 || fail "kmsctl init --demo"
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 2; };
kms = { state_dir = "$S"; };
CONF
kmsd_start "$tmp/kmsd.conf" "$B"
a="--psk-file $S/demo-alice.psk"
b="--psk-file $S/demo-bob.psk"
items=""

# post TYPE IN OUT WANT: POST, check the status, add the exchange to the capture
post() {
	st=$(post_mikey "$U?requesttype=$1" "$2" "$3")
	[ "$st" = "$4" ] || fail "$1: HTTP $st, expected $4"
	items="$items http:$port:$1:$2:$3:$st"
}

# flow NAME REQUEST-OPTIONS: request, transfer (SIP), resolve by Bob, transfer-resp
flow() {
	nm=$1
	shift
	# shellcheck disable=SC2086
	"$UE" request $a --id alice@example.org --to bob@example.org "$@" \
		--out "$tmp/$nm-req.bin" --state "$tmp/$nm-alice.st" || fail "$nm: request"
	post ticketrequest "$tmp/$nm-req.bin" "$tmp/$nm-resp.bin" 200
	# shellcheck disable=SC2086
	"$UE" transfer-init $a --state "$tmp/$nm-alice.st" --resp "$tmp/$nm-resp.bin" \
		--out "$tmp/$nm-ti.bin" >/dev/null 2>"$tmp/err" || fail "$nm: transfer-init"
	# shellcheck disable=SC2086
	"$UE" resolve $b --id bob@example.org --in "$tmp/$nm-ti.bin" --out "$tmp/$nm-res.bin" \
		--state "$tmp/$nm-bob.st" || fail "$nm: resolve"
	post ticketresolve "$tmp/$nm-res.bin" "$tmp/$nm-rr.bin" 200
	# shellcheck disable=SC2086
	"$UE" transfer-resp $b --state "$tmp/$nm-bob.st" --resp "$tmp/$nm-rr.bin" \
		--out "$tmp/$nm-tr.bin" >/dev/null 2>"$tmp/err" || fail "$nm: transfer-resp"
	items="$items sip:$sip:$tmp/$nm-ti.bin:$tmp/$nm-tr.bin"
}
flow sealed --reuse
flow base --ticket-type 1 --suite 256

# Refusals that carry a MIKEY Error: a responder the ticket does not name
# (Error with V), a wrong PSK (unauthenticated: no V).
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/dave.psk"
"$KMSCTL" -d "$S" psk add dave@example.org --identity dave@example.org \
	--key-file "$tmp/dave.psk" >/dev/null || fail "psk add dave"
hup "$pid" "reload done"
"$UE" resolve --psk-file "$tmp/dave.psk" --id dave@example.org --in "$tmp/sealed-ti.bin" \
	--out "$tmp/dave-res.bin" --state "$tmp/dave.st" || fail "resolve (dave)"
post ticketresolve "$tmp/dave-res.bin" "$tmp/dave-rr.bin" 403
"$UE" request --psk-file "$tmp/dave.psk" --id alice@example.org --to bob@example.org \
	--psk-id alice@example.org --out "$tmp/bad-req.bin" --state "$tmp/bad.st" ||
	fail "request (wrong psk)"
post ticketrequest "$tmp/bad-req.bin" "$tmp/bad-resp.bin" 401
kid=$("$KMSCTL" -d "$S" key list | awk '$2 == "active" { print $1 }')
[ -n "$kid" ] || fail "no active key listed"
kmsd_stop

# shellcheck disable=SC2086
python3 "$PCAP" "$tmp/cap.pcap" $items synth:$udp:psk synth:$udp:error ||
	fail "writing the capture"
ts() { # ts OUT ARGS...: tshark on the capture with the dissector; stderr in OUT.err
	o=$1
	shift
	tshark -n -r "$tmp/cap.pcap" -X lua_script:"$LUA" -d "tcp.port==$port,http" \
		-d "udp.port==$sip,sip" -d "udp.port==$udp,mikey_ticket" "$@" \
		>"$tmp/$o" 2>"$tmp/$o.err" || fail "tshark $*"
	if grep -v '^Running as user' "$tmp/$o.err" | grep -q .; then
		fail "tshark wrote to stderr: $(head -3 "$tmp/$o.err")"
	fi
}
ts verbose.txt -V; cp "$tmp/fields.txt" "$tmp/verbose.txt" /tmp/wprobe/ 2>/dev/null || true
ts fields.txt -T fields -E "separator=;" -E aggregator=, -e frame.number \
	-e mikey_ticket.hdr.data_type -e mikey_ticket.err.code \
	-e mikey_ticket.tp.flags.set -e mikey_ticket.tp.flags.j \
	-e mikey_ticket.ticket.key_id -e mikey_ticket.tp.ticket_type \
	-e mikey_ticket.rand.role -e mikey_ticket.sp.param.type \
	-e mikey_ticket.hdr.map_type -e mikey_ticket.ticket.thdr.len
grep -q 'Lua Error\|Dissector failure\|dissector bug' "$tmp/verbose.txt" &&
	fail "the Lua dissector failed: $(grep -m1 'Lua Error\|Dissector failure\|dissector bug' "$tmp/verbose.txt")"
ts bad.txt -Y '_ws.malformed || _ws.expert.severity >= 0x800000 || _ws.expert.message contains "Lua Error"'
[ -s "$tmp/bad.txt" ] && fail "packets marked malformed or with errors: $(head -3 "$tmp/bad.txt")"
ok "tshark decodes the capture with the dissector: no Lua error, nothing malformed"

# field N: the Nth column of the rows that decoded a MIKEY message
col() {
	awk -F";" -v n="$1" '$2 != "" { print $n }' "$tmp/fields.txt" | tr ',' '\n' | grep . |
		sort -u | tr '\n' ' '
}
types=$(col 2)
for dt in 0 6 11 13 14 15 16 18; do
	case " $types" in *" $dt "*) ;; *) fail "data type $dt not decoded (got: $types)" ;; esac
done
ok "every message type decoded by name: REQUEST_INIT_PSK .. RESOLVE_RESP, Error, RFC 3830 PSK"

codes=$(col 3)
[ "$codes" = "0 14 15 3 " ] || fail "error codes: $codes (want 0 3 14 15)"
grep -q 'Error no: Invalid TICKET (14)' "$tmp/verbose.txt" || fail "error 14 not by name"
grep -q 'Error no: Invalid TPpar (15)' "$tmp/verbose.txt" || fail "error 15 not by name"
grep -q 'Error no: Auth failure (0)' "$tmp/verbose.txt" || fail "error 0 not by name"
ok "MIKEY Error messages from kmsd (403, 401) and codes 14, 15 by name"

# The sealed ticket asked for reuse (J); the KMS grants D E F H I always.
sets=$(col 4)
case "$sets" in *DEFHIJ*) ;; *) fail "TP flags by letter: $sets (want DEFHIJ)" ;; esac
case "$(col 5)" in *1*) ;; *) fail "mikey_ticket.tp.flags.j never set" ;; esac
grep -q '= J: Ticket may be reused: True' "$tmp/verbose.txt" || fail "flag J not shown by letter"
ok "TP flags by letter (D..O) and filterable (tp.flags.j)"

keys=$(col 6)
[ "$keys" = "$kid " ] || fail "ticket key ids: $keys (want the active key $kid)"
case "$(col 7)" in *0xf000*) ;; *) fail "sealed ticket type not decoded" ;; esac
grep -q 'Ticket Data: sealed (AES-256-GCM)' "$tmp/verbose.txt" || fail "sealed Ticket Data"
grep -q 'Ticket Data: base ticket (RFC 6043 Appendix A)' "$tmp/verbose.txt" ||
	fail "base ticket Ticket Data not decoded"
grep -q 'THDR (ticket header)' "$tmp/verbose.txt" || fail "THDR not decoded"
[ "$(col 11)" = "0 " ] || fail "THDR Data length: $(col 11)"
grep -q 'IDR: IDRpsk (pre-shared key)' "$tmp/verbose.txt" || fail "IDRpsk of the base ticket"
ok "TICKET: the key id of the sealed and of the base ticket (THDR, T, RAND, KEMAC, IDRpsk, V)"

[ "$(col 8)" = "1 2 3 " ] || fail "RANDR roles: $(col 8) (want 1 2 3)"
[ "$(col 10)" = "0 1 2 " ] || fail "CS ID map types: $(col 10) (want 0 1 2)"
[ "$(col 9)" = "0 1 4 " ] || fail "SP parameter types: $(col 9)"
grep -q 'Initiator Data' "$tmp/verbose.txt" || fail "Initiator Data not shown"
grep -q 'Crypto session 1' "$tmp/verbose.txt" || fail "GENERIC-ID entries not shown"
grep -A1 'Key Management Protocol (kmpid): mikey' "$tmp/verbose.txt" >"$tmp/km.txt"
grep -q 'MIKEY-TICKET.*TRANSFER_INIT' "$tmp/km.txt" && grep -q 'MIKEY-TICKET.*TRANSFER_RESP' "$tmp/km.txt" ||
	fail "SDP a=key-mgmt:mikey not handed to the dissector"
ok "RANDR roles, HDR maps SRTP-ID / Empty / GENERIC-ID, SP parameters, Initiator Data, SDP key-mgmt"
