#!/bin/sh
# kmsd under a slow-client attack: 2,000 idle and 1,000 slowloris
# connections (a request line, then a header line every second, never the
# end of the headers) from 15 addresses 127.0.0.2..127.0.0.16, reopened
# whenever kmsd closes them (tests/system/slowloris.py).  While it lasts,
# /healthz and real ticket requests from 127.0.0.1 must be served: the
# request deadline closes the slow ones, the idle timeout and eviction of
# the idle ones make room, the per-address sending cap closes the rest.
# kmsd's log says what it closed in summary lines, not one per connection.
# Needs curl and python3; exits 77 when it cannot get 8192 descriptors or
# bind 127.0.0.16.  Timeouts are short (request 2 s, idle 3 s) to be quick.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"

FDS=8192
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $FDS ]; then
	ulimit -n $FDS 2>/dev/null || {
		echo "SKIP: cannot raise the descriptor limit to $FDS"
		exit 77
	}
fi
python3 -c 'import socket; socket.socket().bind(("127.0.0.16", 0))' 2>/dev/null || {
	echo "SKIP: cannot bind 127.0.0.16"
	exit 77
}

port=$(free_port)
B="http://127.0.0.1:$port"
S="$tmp/state"
"$KMSCTL" -d "$S" init --demo >"$tmp/init.out" 2>&1 || fail "kmsctl init --demo"
cat >"$tmp/kmsd.conf" <<CONF
ua = {
	port = $port;
	threads = 2;
	max_conns = 1024;
	conn_timeout = 3;
	request_timeout = 2;
	max_sending_per_ip = 8;
};
kms = { state_dir = "$S"; };
log = { level = "notice"; };
CONF
kmsd_start "$tmp/kmsd.conf" "$B"

daemon attack.log python3 "$top_srcdir/tests/system/slowloris.py" attack \
	--port "$port" --idle 2000 --slow 1000 --first 2 --count 15 --interval 1 \
	--backoff 2 --duration 50 --ready "$tmp/ready" --stats "$tmp/stats.json"
apid=$dpid
wait_for 30 "the attack did not open its connections" test -s "$tmp/ready"
ok "attack running: 3,000 connections from 127.0.0.2..127.0.0.16"

# kmsd is closing attack connections (its first summary line).
wait_for 15 "no attack connection closed" grep -qs "connection(s) past the request deadline" \
	"$tmp/kmsd.log"

# Requests from 127.0.0.1 while the attack goes on, spread over several
# rounds of the deadlines.  Each is bounded by curl -m 5: served or not.
a="--psk-file $S/demo-alice.psk"
i=0
while [ $i -lt 8 ]; do
	i=$((i + 1))
	kill -0 "$apid" 2>/dev/null || fail "the attack stopped early"
	st=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$B/healthz" || true)
	[ "$st" = 200 ] || fail "round $i: /healthz answered '$st' during the attack"
	# shellcheck disable=SC2086
	"$UE" request $a --id alice@example.org --to bob@example.org \
		--out "$tmp/req$i.bin" --state "$tmp/alice$i.st" || fail "kms-ue request"
	st=$(curl -s -m 5 -o "$tmp/resp$i.bin" -w '%{http_code}' -H "$MIKEY" \
		--data-binary @"$tmp/req$i.bin" "$B/kms?requesttype=ticketrequest" || true)
	[ "$st" = 200 ] || fail "round $i: ticketrequest answered '$st' during the attack"
	sleep 0.5 # spread the rounds over the attack (nothing is waited for)
done
kill -0 "$apid" 2>/dev/null || fail "the attack stopped before the last round"
ok "8 rounds of /healthz and a ticket request from 127.0.0.1 served during the attack"

# kmsd closed the attack's connections again and again, and said so in a
# few summary lines (never one line per connection).
kill -TERM "$apid"
wait_for 15 "the attack did not stop" test -s "$tmp/stats.json"
wait "$apid" || true
untrack "$apid"
closed=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["closed_by_server"])' \
	"$tmp/stats.json")
[ "$closed" -ge 3000 ] || fail "kmsd closed only $closed attack connections"
kmsd_stop
# The listener's totals line at stop: slow ones closed by the request
# deadline or the sending cap, idle ones by the idle timeout or for room.
total=$(grep "since the start: closed" "$tmp/kmsd.log" || true)
[ -n "$total" ] || fail "no totals line at stop"
echo "$total" | grep -q "[1-9][0-9]* connection(s) past the request deadline\|refused [1-9][0-9]* over the sending caps" ||
	fail "no slow connection closed: $total"
echo "$total" | grep -q "[1-9][0-9]* idle past the idle timeout\|[1-9][0-9]* idle for room" ||
	fail "no idle connection closed: $total"
lines=$(wc -l <"$tmp/kmsd.log")
[ "$lines" -lt 200 ] || fail "kmsd logged $lines lines for $closed closed connections"
ok "kmsd closed $closed attack connections, logged in $lines lines, stopped cleanly"
