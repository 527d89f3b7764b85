#!/bin/sh
# Full calls against a real kmsd with kms-ue acting as a UE written elsewhere
# (docs/interop.md): SIP URI identities (sip:, sips:, any responder form),
# Ticket Types 1 and 2, IDRkms left out, --3gpp, a mixed call, a group
# responder given as a sip: pattern, forking on request, both suites.  Every
# call ends with equal SRTP keys on both sides.  Then the Error messages:
# HDR copied, V under the key of the message in error.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need sqlite3

port=$(free_port)
B="http://127.0.0.1:$port"
U="$B/kms"
S="$tmp/state"
"$KMSCTL" -d "$S" init --demo >"$tmp/init.out" 2>&1 || fail "kmsctl init --demo"
for u in carol dave; do
	head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/$u.psk"
done
"$KMSCTL" -d "$S" psk add carol@example.org --identity carol@example.org \
	--identity carol.dept@example.org --key-file "$tmp/carol.psk" >/dev/null ||
	fail "psk add carol"
"$KMSCTL" -d "$S" psk add dave@example.org --identity dave@example.org \
	--key-file "$tmp/dave.psk" >/dev/null || fail "psk add dave"
# The group responders below (*@example.org, *.dept@example.org) need group
# tickets without any rule: policy.default_group_tickets is false by default.
conf() { # conf EXTRA-KMS-SETTINGS EXTRA-POLICY-SETTINGS
	cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 2; };
kms = { state_dir = "$S"; $1 };
policy = { default_group_tickets = true; $2 };
CONF
}
conf "" ""
kmsd_start "$tmp/kmsd.conf" "$B"

post() { # post TYPE IN OUT: prints the HTTP status
	post_mikey "$U?requesttype=$1" "$2" "$3"
}
psk() { # psk USER: the --psk-file option of a user
	case $1 in
	alice | bob) echo "--psk-file $S/demo-$1.psk" ;;
	*) echo "--psk-file $tmp/$1.psk" ;;
	esac
}

# call NAME "ALICE-OPTS" "TO..." RESPONDER "BOB-OPTS" [RESOLVER-ID]:
# request -> transfer-init -> resolve -> transfer-resp -> keys on both ends.
# TO is one or more --to arguments; RESOLVER-ID the responder's --id
# (default RESPONDER@example.org).  Leaves $tmp/NAME.* behind.
call_ok() {
	set -f # patterns in --to stay as they are
	name=$1 aopts=$2 to=$3 who=$4 bopts=$5 rid=${6:-$4@example.org}
	# shellcheck disable=SC2086
	"$UE" request $(psk alice) --id alice@example.org $to $aopts \
		--out "$tmp/$name.req" --state "$tmp/$name.a" 2>"$tmp/err" || fail "$name: request"
	st=$(post ticketrequest "$tmp/$name.req" "$tmp/$name.resp")
	[ "$st" = 200 ] || fail "$name: ticketrequest $st"
	# shellcheck disable=SC2086
	"$UE" transfer-init $(psk alice) --state "$tmp/$name.a" --resp "$tmp/$name.resp" \
		--out "$tmp/$name.ti" >/dev/null 2>"$tmp/err" || fail "$name: transfer-init"
	# shellcheck disable=SC2086
	"$UE" resolve $(psk "$who") --id "$rid" $bopts --in "$tmp/$name.ti" \
		--out "$tmp/$name.ri" --state "$tmp/$name.b" 2>"$tmp/err" || fail "$name: resolve"
	st=$(post ticketresolve "$tmp/$name.ri" "$tmp/$name.rr")
	[ "$st" = 200 ] || fail "$name: ticketresolve $st"
	# shellcheck disable=SC2086
	"$UE" transfer-resp $(psk "$who") --state "$tmp/$name.b" --resp "$tmp/$name.rr" \
		--out "$tmp/$name.tr" >/dev/null 2>"$tmp/err" || fail "$name: transfer-resp"
	"$UE" keys --state "$tmp/$name.b" >"$tmp/$name.kb" 2>"$tmp/err" || fail "$name: keys (R)"
	"$UE" keys --state "$tmp/$name.a" --tr "$tmp/$name.tr" >"$tmp/$name.ka" 2>"$tmp/err" ||
		fail "$name: keys (I)"
	cmp -s "$tmp/$name.ka" "$tmp/$name.kb" || fail "$name: different SRTP keys"
	grep -q '"srtp_master_key": *"[0-9a-f]\{32,64\}"' "$tmp/$name.kb" ||
		fail "$name: no SRTP master key"
	set +f
}
decode() { # decode FILE: JSON on stdout
	"$UE" decode "$1" 2>/dev/null
}
# field FILE PYTHON-EXPR: evaluate EXPR on the decoded message m (a dict)
field() {
	decode "$1" | python3 -c "import json,sys; m=json.load(sys.stdin); print($2)"
}

# --- SIP URI identities -------------------------------------------------------------------
call_ok uri "--uri" "--to bob@example.org" bob "--uri"
# The UE sent ID Type URI and sip: values; the KMS granted NAI identities with K.
decode "$tmp/uri.req" | grep -q '"sip:alice@example.org"' || fail "uri: no sip: IDRi on the wire"
decode "$tmp/uri.resp" >"$tmp/uri.json"
python3 - "$tmp/uri.json" <<'PY' || fail "uri: granted policy"
import json, sys
m = json.load(open(sys.argv[1]))
s = json.dumps(m)
assert '"alice@example.org"' in s and '"bob@example.org"' in s, s[:400]
assert 'sip:' not in s, "the granted TP still carries a sip: URI"
PY
decode "$tmp/uri.rr" | grep -q '"bob@example.org"' || fail "uri: RESOLVE_RESP IDRr"
call_ok sips "" "--to sips:bob@example.org" bob "" "sips:bob@example.org"
ok "SIP URI identities (sip: with --uri, sips: given directly): full calls, equal keys"

# --- every responder form the TP may name is resolvable --------------------------------------
i=0
for form in 'bob@example.org' 'sip:bob@example.org' 'sips:bob@example.org' \
	'<sip:bob@example.org;transport=tcp>' 'sip:bob@EXAMPLE.org:5060' 'sip:b%6Fb@example.org' \
	'SIP:bob@example.org?subject=x' '*@example.org' 'sip:*@example.org' 'sip:b*@example.org'; do
	i=$((i + 1))
	call_ok "form$i" "" "--to $form" bob ""
	call_ok "formu$i" "" "--to $form" bob "--uri"
done
ok "$i responder forms (NAI, sip:, sips:, brackets, port, escapes, headers, patterns): granted and resolved by the responder, as NAI and as URI"

# --- Ticket Types 1 and 2, both suites, --3gpp, IDRkms left out ---------------------------
for suite in 128 256; do
	for ty in 1 2 private; do
		call_ok "t$ty-$suite" "--ticket-type $ty --suite $suite" "--to bob@example.org" bob ""
		want=$ty
		[ "$ty" = private ] && want=61440
		got=$(field "$tmp/t$ty-$suite.resp" \
			"[p for p in m['payloads'] if p['type'] == 17][0]['ticket_type']" || echo "?")
		[ "$got" = "$want" ] || fail "type $ty suite $suite: granted Ticket Type $got"
	done
	call_ok "gpp-$suite" "--3gpp --suite $suite" "--to bob@example.org" bob "--3gpp"
	call_ok "nokms-$suite" "--no-kms-id --suite $suite" "--to bob@example.org" bob "--no-kms-id"
done
ok "Ticket Types 1, 2 and private, --3gpp, IDRkms left out (RFC MAC input): both suites, equal keys"

# --- a mixed call: Alice speaks URIs, Bob NAI ---------------------------------------------
call_ok mixed "--uri" "--to bob@example.org" bob ""
call_ok mixed2 "" "--to bob@example.org" bob "--uri"
ok "mixed calls (Alice URI / Bob NAI and the reverse)"

# --- a group responder as a sip: pattern: a member resolves, a non-member is refused -------
# Carol's key owns carol@ and carol.dept@; she resolves naming carol@, the
# ticket names *.dept@: RESOLVE_RESP's IDRr is carol.dept@, the one that matched.
call_ok grp "--uri" "--to sip:*.dept@example.org" carol "--uri"
decode "$tmp/grp.resp" | grep -q '"\*\.dept@example.org"' || fail "group: granted pattern not NAI"
decode "$tmp/grp.rr" | grep -q '"carol.dept@example.org"' ||
	fail "group: RESOLVE_RESP IDRr is not the identity that matched"
# The same naming carol.dept@ itself (the key found by IDRpsk).
# shellcheck disable=SC2086
"$UE" resolve $(psk carol) --id sip:carol.dept@example.org --psk-id carol@example.org \
	--in "$tmp/grp.ti" --out "$tmp/grp2.ri" --state "$tmp/grp2.b" ||
	fail "group: resolve as carol.dept@"
[ "$(post ticketresolve "$tmp/grp2.ri" "$tmp/grp2.rr")" = 200 ] ||
	fail "group: carol.dept@ refused"
decode "$tmp/grp2.rr" | grep -q '"carol.dept@example.org"' ||
	fail "group: IDRr is not the identity that matched"
# shellcheck disable=SC2086
"$UE" resolve $(psk dave) --id sip:dave@example.org --in "$tmp/grp.ti" --out "$tmp/grp3.ri" \
	--state "$tmp/grp3.b" || fail "group: resolve (dave)"
[ "$(post ticketresolve "$tmp/grp3.ri" "$tmp/grp3.rr")" = 403 ] || fail "group: non-member not 403"
ok "sip: group pattern: member resolves (IDRr = the identity that matched), non-member 403"

# --- responders that do not normalise: dropped with K, or Invalid ID ----------------------
"$UE" request $(psk alice) --id alice@example.org --to bob@example.org --to tel:+15551234 \
	--out "$tmp/tel.req" --state "$tmp/tel.a" || fail "tel: request"
[ "$(post ticketrequest "$tmp/tel.req" "$tmp/tel.resp")" = 200 ] || fail "tel: + bob not granted"
decode "$tmp/tel.resp" | grep -q 'tel:' && fail "tel: responder kept in the granted ticket"
"$UE" request $(psk alice) --id alice@example.org --to tel:+15551234 \
	--out "$tmp/tel2.req" --state "$tmp/tel2.a" || fail "tel-only request"
[ "$(post ticketrequest "$tmp/tel2.req" "$tmp/tel2.resp")" = 400 ] || fail "tel-only: not 400"
[ "$(field "$tmp/tel2.resp" "[p for p in m['payloads'] if p['type'] == 12][0]['error_no']")" = 7 ] ||
	fail "tel-only: not Invalid ID"
ok "a tel: responder is dropped beside others (200) and refused alone (400, Invalid ID)"

# --- MAC without the KMS identity: refused, then accepted by setting ---------------------
"$UE" request $(psk alice) --id alice@example.org --to bob@example.org --no-kms-id \
	--mac-without-kms-id --out "$tmp/nok.req" --state "$tmp/nok.a" || fail "nok request"
[ "$(post ticketrequest "$tmp/nok.req" "$tmp/nok.resp")" = 401 ] ||
	fail "a MAC without the KMS identity is accepted by default"
kmsd_stop
conf "accept_mac_without_kms_id = true;" 'forking = "on_request";'
kmsd_start "$tmp/kmsd.conf" "$B"
"$UE" request $(psk alice) --id alice@example.org --to bob@example.org --no-kms-id \
	--mac-without-kms-id --out "$tmp/nok2.req" --state "$tmp/nok2.a" || fail "nok2 request"
[ "$(post ticketrequest "$tmp/nok2.req" "$tmp/nok2.resp")" = 200 ] ||
	fail "kms.accept_mac_without_kms_id does not accept a MAC over the present identities"
ok "MAC over the present identities only: 401 by default, 200 with kms.accept_mac_without_kms_id"

# --- forking on request (not 3GPP) ----------------------------------------------------------
call_ok nofork "--no-fork" "--to bob@example.org" bob ""
[ "$(field "$tmp/nofork.rr" "len([p for p in m['payloads'] if p['type'] == 15])")" = 0 ] ||
	fail "no forking: RESOLVE_RESP has RANDRkms"
call_ok fork "" "--to bob@example.org" bob ""
call_ok nofork-grp "--no-fork" "--to *.dept@example.org" carol ""
decode "$tmp/nofork-grp.rr" | grep -q '"carol.dept@example.org"' ||
	fail "on_request: a group responder is not forked"
ok "policy.forking = on_request: no forking when not asked (equal keys), forking when asked or for a group"

# --- audit: reasons ---------------------------------------------------------------------------
kmsd_stop
sqlite3 "$S/audit.db" "SELECT reason FROM audit WHERE reason != '';" >"$tmp/reasons"
grep -q 'tel' "$tmp/reasons" || fail "no audit reason for the tel: responder: $(cat "$tmp/reasons")"
ok "audit rows carry the reason of a dropped responder"
echo "kmsd_interop: $n groups passed"
