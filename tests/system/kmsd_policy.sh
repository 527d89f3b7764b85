#!/bin/sh
# Policy rules enforced by a running kmsd (docs/policy.md): a default of
# deny, rules added with kmsctl taking effect without a restart, a group
# ticket resolved by two members with different keys and refused for a
# non-member, a resolve denied by a rule added after the ticket was issued;
# and a PSK user added and removed with kmsctl, also without a signal.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"

port=$(free_port)
B="http://127.0.0.1:$port"
U="$B/kms"
S="$tmp/state"
"$KMSCTL" -d "$S" init --demo >"$tmp/init.out" 2>&1 || fail "kmsctl init --demo"
for who in carol dave; do
	head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/$who.psk"
	"$KMSCTL" -d "$S" psk add "$who@example.org" --identity "$who@example.org" \
		--identity "$who.dept@example.org" --key-file "$tmp/$who.psk" >/dev/null ||
		fail "psk add $who"
done
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 2; };
kms = { state_dir = "$S"; };
policy = { default_effect = "deny"; reload_interval = 1; };
CONF
kmsd_start "$tmp/kmsd.conf" "$B"

post() { # post TYPE IN OUT: prints the HTTP status
	post_mikey "$U?requesttype=$1" "$2" "$3"
}
psk() { # psk WHO: the key file of a user
	case $1 in
	alice | bob) echo "$S/demo-$1.psk" ;;
	*) echo "$tmp/$1.psk" ;;
	esac
}
request() { # request TO...: Alice asks; prints the status, response in req.resp
	args=""
	for t in "$@"; do args="$args --to $t"; done
	# shellcheck disable=SC2086
	"$UE" request --psk-file "$(psk alice)" --id alice@example.org $args \
		--out "$tmp/req.bin" --state "$tmp/alice.st" || fail "request"
	post ticketrequest "$tmp/req.bin" "$tmp/req.resp"
}
resolve() { # resolve WHO: prints the status; keys in keys-WHO.json when 200
	# (compared with Alice's, from alice-ticket.st)
	who=$1
	"$UE" resolve --psk-file "$(psk "$who")" --id "$who@example.org" --in "$tmp/ti.bin" \
		--out "$tmp/res-$who.bin" --state "$tmp/$who.st" || fail "resolve ($who)"
	st=$(post ticketresolve "$tmp/res-$who.bin" "$tmp/rr-$who.bin")
	if [ "$st" = 200 ]; then
		"$UE" transfer-resp --psk-file "$(psk "$who")" --state "$tmp/$who.st" \
			--resp "$tmp/rr-$who.bin" --out "$tmp/tr-$who.bin" >/dev/null \
			2>"$tmp/err" || fail "transfer-resp ($who)"
		"$UE" keys --state "$tmp/$who.st" >"$tmp/keys-$who.json" || fail "keys ($who)"
		cp "$tmp/alice-ticket.st" "$tmp/alice-$who.st"
		"$UE" keys --state "$tmp/alice-$who.st" --tr "$tmp/tr-$who.bin" \
			>"$tmp/keys-alice-$who.json" || fail "keys (alice for $who)"
		cmp -s "$tmp/keys-$who.json" "$tmp/keys-alice-$who.json" ||
			fail "Alice and $who derive different keys"
	fi
	echo "$st"
}

# --- default deny: refused with a MIKEY Error, the log names no rule -----------------
[ "$(request bob@example.org)" = 403 ] || fail "default deny: request not refused with 403"
"$UE" decode "$tmp/req.resp" >"$tmp/err.json" 2>/dev/null || fail "no MIKEY Error body"
grep -q '"data_type": *6' "$tmp/err.json" || fail "the 403 body is not a MIKEY Error"
wait_log "ticketrequest from 'alice@example.org' refused: not authorised by policy"
ok "default deny: ticket request refused with 403 and a MIKEY Error"

# --- a rule added with kmsctl applies without a restart ----------------------------------
"$KMSCTL" -d "$S" policy add --from '*@example.org' --to '*@example.org' --allow \
	--group >/dev/null || fail "policy add"
wait_count "reload done" 1
grep -q "kms.db changed (rules, keys, PSK users or peers): reloading" "$tmp/kmsd.log" ||
	fail "reload not caused by the store change"
[ "$(request bob@example.org)" = 200 ] || fail "request not granted after the rule"
"$KMSCTL" -d "$S" policy test --from sip:alice@example.org --to bob@example.org \
	>"$tmp/test.out" || fail "policy test: not allowed"
grep -q "^rule 1 (priority 0): allow" "$tmp/test.out" || fail "policy test: $(cat "$tmp/test.out")"
ok "kmsctl policy add: in force within the reload interval, no restart; policy test names rule 1"

# --- group ticket: two members, different keys; a non-member refused ------------------------
[ "$(request '*.dept@example.org')" = 200 ] || fail "group ticket request"
"$UE" transfer-init --psk-file "$(psk alice)" --state "$tmp/alice.st" --resp "$tmp/req.resp" \
	--out "$tmp/ti.bin" >/dev/null 2>"$tmp/err" || fail "transfer-init"
cp "$tmp/alice.st" "$tmp/alice-ticket.st" # Alice's side of the group ticket
[ "$(resolve carol)" = 200 ] || fail "carol (member) refused"
[ "$(resolve dave)" = 200 ] || fail "dave (member) refused"
cmp -s "$tmp/keys-carol.json" "$tmp/keys-dave.json" && fail "carol and dave got the same keys"
[ "$(resolve bob)" = 403 ] || fail "bob (not a member) not refused with 403"
ok "group ticket: carol and dave resolve with different keys (each same as Alice's), bob 403"

# --- a deny rule added after issue: that member's resolve is refused -----------------------
"$KMSCTL" -d "$S" policy add --from alice@example.org --to 'dave*@example.org' --deny \
	--priority 10 >/dev/null || fail "policy add deny"
wait_count "reload done" 2
[ "$(resolve dave)" = 403 ] || fail "dave's resolve not refused after the deny rule"
wait_log "ticketresolve from 'dave@example.org' refused by policy rule 2"
[ "$(resolve carol)" = 200 ] || fail "carol refused by a rule about dave"
[ "$(request dave.dept@example.org)" = 403 ] || fail "a request for dave.dept not refused"
[ "$(request dave@example.org)" = 200 ] || fail "'dave*' matched dave ('*' is one or more)"
ok "deny rule 2 (priority 10): dave's resolve and a request for dave.dept 403, carol still 200"

# --- removed: allowed again; SIGHUP reloads too -------------------------------------------
"$KMSCTL" -d "$S" policy remove 2 >/dev/null || fail "policy remove"
wait_count "reload done" 3
[ "$(resolve dave)" = 200 ] || fail "dave refused after the rule was removed"
hup "$pid" "reload done"
wait_count "reload done" 4
ok "policy remove: dave resolves again; SIGHUP reload"

# --- a PSK user added and removed while kmsd runs: in force without a signal ------------------
erin() { # erin OUT: Erin asks for a ticket for Bob; prints the status
	"$UE" request --psk-file "$tmp/erin.psk" --id erin@example.org --to bob@example.org \
		--out "$tmp/$1.bin" --state "$tmp/erin.st" || fail "request (erin)"
	post ticketrequest "$tmp/$1.bin" "$tmp/$1.resp"
}
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/erin.psk"
[ "$(erin e1)" = 401 ] || fail "unknown user erin not refused with 401"
"$KMSCTL" -d "$S" psk add erin@example.org --identity erin@example.org \
	--key-file "$tmp/erin.psk" >/dev/null || fail "psk add erin"
wait_count "reload done" 5
[ "$(erin e2)" = 200 ] || fail "erin refused after psk add (no signal sent)"
"$KMSCTL" -d "$S" psk remove erin@example.org >/dev/null || fail "psk remove erin"
wait_count "reload done" 6
[ "$(erin e3)" = 401 ] || fail "erin still served after psk remove"
ok "kmsctl psk add / remove while kmsd runs: in force within the reload interval, no signal"
kmsd_stop
echo "kmsd_policy: $n groups passed"
