#!/bin/sh
# Tickets the Initiator builds itself (RFC 6043 mode 3, flag D = 0) with a
# real kmsd: kmsctl tpk add gives Alice a ticket protection key; kms-ue
# create-ticket builds the ticket, transfer-init sends it, Bob resolves it
# at kmsd, transfer-resp, and both derive the same keys.  Refusals, each
# with its MIKEY error and a log line: no rule (policy.default_initiator_
# tickets off), a deny rule, an unknown key, a retired key, the key of
# another Initiator, a lifetime beyond the cap, a responder the ticket does
# not name, and a tampered ticket.  Over Zk: kmsd_mode3_zk.sh.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need python3

S="$tmp/s"
"$KMSCTL" -d "$S" init >/dev/null 2>&1 || fail "kmsctl init"
newkey() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$1"; }
for u in alice bob carol; do
	newkey "$tmp/$u.psk"
	"$KMSCTL" -d "$S" psk add "$u@example.org" --identity "$u@example.org" \
		--key-file "$tmp/$u.psk" >/dev/null || fail "psk add $u"
done
"$KMSCTL" -d "$S" tpk add alice@example.org --out "$tmp/alice.tpk" >"$tmp/tpk.out" ||
	fail "tpk add"
[ "$(stat -c %a "$tmp/alice.tpk")" = 600 ] || fail "the key file is not mode 0600"
key=$(sed -n 's/^key //p' "$tmp/alice.tpk")
[ ${#key} -eq 64 ] || fail "the key file holds no 32-byte key"
grep -qi "$key" "$tmp/tpk.out" && fail "tpk add printed the key"
"$KMSCTL" -d "$S" tpk list | grep -q "alice@example.org" || fail "tpk list"
"$KMSCTL" -d "$S" tpk list | grep -qi "$key" && fail "tpk list shows the key"
ok "kmsctl tpk add: a 0600 key file, the key never printed"

ua=$(free_port)
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $ua; threads = 2; };
kms = { kms_id = "kms.example.org"; state_dir = "$S"; };
policy = { max_ticket_lifetime = 3600; ticket_lifetime = 600; reload_interval = 0; };
CONF
kmsd_start "$tmp/kmsd.conf" "http://127.0.0.1:$ua"
URL="http://127.0.0.1:$ua/kms?requesttype=ticketresolve"

# attempt TAG WHO [create-ticket options]: Alice builds and sends a ticket,
# WHO resolves it; prints the HTTP status (the answer in rr-TAG.bin).
attempt() {
	t=$1
	who=$2
	shift 2
	"$UE" create-ticket --id alice@example.org --kms-id kms.example.org \
		--state "$tmp/a-$t.st" "$@" 2>"$tmp/err" || fail "create-ticket ($t): $(cat "$tmp/err")"
	"$UE" transfer-init --state "$tmp/a-$t.st" --out "$tmp/ti-$t.bin" \
		>/dev/null 2>"$tmp/err" || fail "transfer-init ($t): $(cat "$tmp/err")"
	[ -z "${TAMPER:-}" ] || python3 -c 'import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[int(sys.argv[2])] ^= 0x01
open(sys.argv[1], "wb").write(b)' "$tmp/ti-$t.bin" "$TAMPER"
	"$UE" resolve --psk-file "$tmp/$who.psk" --id "$who@example.org" \
		--kms-id kms.example.org --in "$tmp/ti-$t.bin" --out "$tmp/res-$t.bin" \
		--state "$tmp/$who-$t.st" 2>"$tmp/err" || fail "resolve ($t): $(cat "$tmp/err")"
	post_mikey "$URL" "$tmp/res-$t.bin" "$tmp/rr-$t.bin"
}
# refused TAG STATUS ERRNO REASON: the answer and kmsd's log line.
refused() {
	"$UE" decode "$tmp/rr-$1.bin" >"$tmp/dec.json" 2>/dev/null || fail "$1: answer does not decode"
	python3 - "$tmp/dec.json" "$3" <<'EOF' || fail "$1: not MIKEY error $3: $(cat "$tmp/dec.json")"
import json, sys
d = json.load(open(sys.argv[1]))
errs = [p for p in d["payloads"] if p["name"] == "ERR"]
sys.exit(0 if errs and str(errs[0]["error_no"]) == sys.argv[2] else 1)
EOF
	wait_log "$4"
}
TO="--to bob@example.org --tpk-file $tmp/alice.tpk"

# --- no rule: policy.default_initiator_tickets is off --------------------------------
st=$(attempt off bob $TO)
[ "$st" = 403 ] || fail "no rule: status $st, expected 403"
refused off 403 0 "tickets built by the Initiator are not allowed"
ok "no rule: refused (Auth failure, 403), the default is off"

# --- a rule allows them: the whole call --------------------------------------------
"$KMSCTL" -d "$S" policy add --from alice@example.org --to '*@example.org' --allow \
	--initiator-tickets >/dev/null || fail "policy add"
"$KMSCTL" -d "$S" policy list --json | grep -q '"initiator_tickets": true' ||
	fail "policy list shows no initiator tickets"
hup "$pid" "policy rule(s) loaded"
st=$(attempt good bob $TO)
[ "$st" = 200 ] || fail "allowed: status $st: $(tail -3 "$tmp/kmsd.log")"
"$UE" transfer-resp --psk-file "$tmp/bob.psk" --state "$tmp/bob-good.st" \
	--resp "$tmp/rr-good.bin" --out "$tmp/tr.bin" >/dev/null 2>"$tmp/err" ||
	fail "transfer-resp: $(cat "$tmp/err")"
"$UE" keys --state "$tmp/bob-good.st" >"$tmp/keys-bob.json" || fail "keys (bob)"
"$UE" keys --state "$tmp/a-good.st" --tr "$tmp/tr.bin" >"$tmp/keys-alice.json" ||
	fail "keys (alice)"
cmp -s "$tmp/keys-bob.json" "$tmp/keys-alice.json" || fail "Alice and Bob derive different keys"
ok "Alice's own ticket resolved by Bob at kmsd: same SRTP master key and salt"

# --- G and M in Alice's own ticket: only where a rule grants them --------------------
st=$(attempt gm0 bob $TO --responder-rand --responder-keys)
[ "$st" = 403 ] || fail "G/M without a rule granting them: status $st, expected 403"
refused gm0 403 0 "the rules no longer allow flag G"
"$KMSCTL" -d "$S" policy add --from alice@example.org --to bob@example.org --allow \
	--priority 5 --initiator-tickets --responder-rand --responder-keys >/dev/null ||
	fail "policy add (G/M)"
hup "$pid" "policy rule(s) loaded"
st=$(attempt gm bob $TO --responder-rand --responder-keys)
[ "$st" = 200 ] || fail "G/M granted: status $st: $(tail -3 "$tmp/kmsd.log")"
"$UE" transfer-resp --psk-file "$tmp/bob.psk" --state "$tmp/bob-gm.st" --responder-keys \
	--resp "$tmp/rr-gm.bin" --out "$tmp/tr-gm.bin" >/dev/null 2>"$tmp/err" ||
	fail "transfer-resp (G/M): $(cat "$tmp/err")"
"$UE" decode "$tmp/tr-gm.bin" >"$tmp/tr-gm.json" || fail "decode TRANSFER_RESP (G/M)"
python3 - "$tmp/tr-gm.json" <<'EOF' || fail "TRANSFER_RESP (G/M) lacks RANDRr or KEMAC"
import json, sys
names = [p["name"] for p in json.load(open(sys.argv[1]))["payloads"]]
sys.exit(0 if "RANDR" in names and "KEMAC" in names else 1)
EOF
"$UE" keys --state "$tmp/bob-gm.st" >"$tmp/keys-bob-gm.json" || fail "keys (bob, G/M)"
"$UE" keys --state "$tmp/a-gm.st" --tr "$tmp/tr-gm.bin" >"$tmp/keys-alice-gm.json" ||
	fail "keys (alice, G/M)"
cmp -s "$tmp/keys-bob-gm.json" "$tmp/keys-alice-gm.json" || fail "G/M: different keys"
ok "G and M in Alice's own ticket: refused without a rule (403), granted by one: RANDRr and the Responder's KEMAC, same keys"

# --- a deny rule for Carol ------------------------------------------------------------
"$KMSCTL" -d "$S" policy add --from alice@example.org --to carol@example.org --deny \
	--priority 10 >/dev/null || fail "policy add --deny"
hup "$pid" "policy rule(s) loaded"
st=$(attempt deny carol --to carol@example.org --tpk-file "$tmp/alice.tpk")
[ "$st" = 403 ] || fail "deny rule: status $st"
refused deny 403 0 "refused"
ok "a deny rule: refused (403)"

# --- a responder the ticket does not name ----------------------------------------------
st=$(attempt notnamed carol $TO)
[ "$st" = 403 ] || fail "responder not named: status $st"
refused notnamed 403 0 "the ticket does not name the requester"
ok "a responder the ticket does not name: refused (403)"

# --- lifetime beyond policy.max_ticket_lifetime ---------------------------------------
st=$(attempt long bob $TO --lifetime 7200)
[ "$st" = 400 ] || fail "lifetime beyond the cap: status $st"
refused long 400 15 "lifetime exceeds the cap"
ok "a lifetime beyond the cap: Invalid TPpar (15)"

# --- a tampered ticket (a byte of its Ticket Data) -------------------------------------
# A byte inside the Ticket Data (the KEMAC), 120 bytes before the end of
# the TRANSFER_INIT (past the Initiator Data and V).
off=$(python3 - "$tmp/ti-good.bin" <<'EOF'
import sys
b = open(sys.argv[1], "rb").read()
print(len(b) - 120)
EOF
)
TAMPER=$off
st=$(attempt tamper bob $TO)
TAMPER=""
[ "$st" = 400 ] || fail "a tampered ticket: status $st"
refused tamper 400 14 "does not verify under its protection key"
ok "a tampered ticket: Invalid TICKET (14), V checked"

# --- an unknown key ------------------------------------------------------------------
sed 's/^id .*/id 4000000/' "$tmp/alice.tpk" >"$tmp/unknown.tpk"
chmod 600 "$tmp/unknown.tpk"
st=$(attempt unknown bob --to bob@example.org --tpk-file "$tmp/unknown.tpk")
[ "$st" = 400 ] || fail "unknown key: status $st"
refused unknown 400 14 "unknown ticket protection key"
ok "an unknown key: Invalid TICKET (14)"

# --- the key of another Initiator --------------------------------------------------------
"$KMSCTL" -d "$S" tpk add dave@example.org --out "$tmp/dave.tpk" >/dev/null || fail "tpk add dave"
hup "$pid" "ticket protection key(s) of Initiators loaded"
sed 's/^owner .*/owner alice@example.org/' "$tmp/dave.tpk" >"$tmp/stolen.tpk"
chmod 600 "$tmp/stolen.tpk"
st=$(attempt stolen bob --to bob@example.org --tpk-file "$tmp/stolen.tpk")
[ "$st" = 401 ] || fail "another Initiator's key: status $st"
refused stolen 401 0 "does not own its protection key"
ok "another Initiator's key: Auth failure (401)"

# --- a retired key ------------------------------------------------------------------------
"$KMSCTL" -d "$S" tpk retire 1 >/dev/null || fail "tpk retire"
"$KMSCTL" -d "$S" tpk list | grep -q "retired" || fail "tpk list: not retired"
hup "$pid" "ticket protection key(s) of Initiators loaded"
st=$(attempt retired bob $TO)
[ "$st" = 403 ] || fail "retired key: status $st"
refused retired 403 14 "retired ticket protection key"
ok "a retired key: Invalid TICKET (14, 403)"
"$KMSCTL" -d "$S" tpk delete 1 >/dev/null || fail "tpk delete"
"$KMSCTL" -d "$S" tpk list | grep -q "^1 " && fail "tpk delete left the key"
ok "kmsctl tpk retire and delete"
kmsd_stop
