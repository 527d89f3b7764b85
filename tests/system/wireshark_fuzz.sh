#!/bin/sh
# Robustness of the Wireshark Lua dissector (tools/wireshark/mikey-ticket.lua):
# every file of the MIKEY fuzz corpus, whole, cut short and with bytes
# flipped, as UDP payloads decoded as mikey_ticket, and as HTTP bodies
# (application/mikey).  Malformed input must end in expert infos, never in
# a Lua error or a dissector failure, and every datagram must be decoded.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need tshark python3

LUA="$top_srcdir/tools/wireshark/mikey-ticket.lua"
CORPUS="$top_srcdir/tests/fuzz/corpus/mikey"
[ -d "$CORPUS" ] || fail "no corpus in $CORPUS"
udp=$(free_port)
http=$(free_port)
first=$(find "$CORPUS" -type f | sort | head -1)
python3 "$top_srcdir/tests/system/wireshark_pcap.py" "$tmp/fuzz.pcap" "mutate:$udp:$CORPUS" \
	"http:$http:ticketrequest:$first:$first:200" || fail "writing the capture"
want=$(python3 -B -c "import sys; sys.path.insert(0, '$top_srcdir/tests/system')
import os, wireshark_pcap as w
d = '$CORPUS'
print(sum(len(w.mutations(open(os.path.join(d, f), 'rb').read())) for f in os.listdir(d)) + 2)")

# One pass: every MIKEY frame with its expert messages.
tshark -n -r "$tmp/fuzz.pcap" -X lua_script:"$LUA" -d "udp.port==$udp,mikey_ticket" \
	-d "tcp.port==$http,http" -Y mikey_ticket -T fields -e frame.number \
	-e _ws.expert.message >"$tmp/fields.txt" 2>"$tmp/tshark.err" ||
	fail "tshark failed: $(head -3 "$tmp/tshark.err")"
if grep -v '^Running as user' "$tmp/tshark.err" | grep -q .; then
	fail "tshark wrote to stderr: $(head -3 "$tmp/tshark.err")"
fi
got=$(wc -l <"$tmp/fields.txt")
[ "$got" -eq "$want" ] || fail "$got frames decoded as MIKEY, expected $want"
ok "all $want mutated corpus messages (and an HTTP exchange) reach the dissector"

grep 'Lua Error\|Dissector failure\|Dissector bug\|Exception occurred' "$tmp/fields.txt" \
	>"$tmp/bad.txt" && fail "dissector failures: $(head -3 "$tmp/bad.txt")"
grep -q 'Truncated' "$tmp/fields.txt" || fail "no truncated message was reported as malformed"
ok "no Lua error or dissector failure; truncated messages get a malformed expert info"
