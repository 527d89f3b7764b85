#!/bin/sh
# kmsctl audit: rows kmsd wrote (a grant, a policy refusal) and rows with
# fixed old times, queried by time (RFC 3339 and Unix seconds), identity
# (requester or responder), outcome and request id; table, CSV and JSON
# lines (parsed); --prune-before deletes the old rows and counts them.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need sqlite3

port=$(free_port)
B="http://127.0.0.1:$port"
U="$B/kms"
S="$tmp/state"
"$KMSCTL" -d "$S" init --demo >"$tmp/init.out" 2>&1 || fail "kmsctl init --demo"
"$KMSCTL" -d "$S" policy add --from alice@example.org --to carol@example.org --deny \
	>/dev/null || fail "policy add"
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 2; };
kms = { state_dir = "$S"; };
CONF
kmsd_start "$tmp/kmsd.conf" "$B"
req() { # req TO: Alice asks for a ticket to TO; prints the status
	"$UE" request --psk-file "$S/demo-alice.psk" --id alice@example.org --to "$1" \
		--out "$tmp/req.bin" --state "$tmp/st" >/dev/null || fail "kms-ue request"
	post_mikey "$U?requesttype=ticketrequest" "$tmp/req.bin" "$tmp/resp.bin"
}
[ "$(req bob@example.org)" = 200 ] || fail "alice -> bob"
grant=$(header X-Request-Id)
[ "$(req carol@example.org)" = 403 ] || fail "alice -> carol not denied"
deny=$(header X-Request-Id)
kmsd_stop # the writer flushes at stop

# Two old rows (2001) to filter by time and to prune.
sqlite3 "$S/audit.db" "INSERT INTO audit (time_ms, rid, requester, msg_type, decision,
	error, ticket_key_id, client, msg_type_name) VALUES
	(978307200000, 'r-old-1', 'dave@example.org', 11, 1, 'KMS_EOK', 1, '10.0.0.1',
	 'REQUEST_INIT_PSK'),
	(978310800500, 'r-old-2', 'dave@example.org', 16, 0, 'KMS_EREPLAY', 0, '10.0.0.2',
	 'RESOLVE_INIT_PSK')" || fail "inserting old rows"

A() { "$KMSCTL" -d "$S" audit "$@" >"$tmp/out" 2>"$tmp/err" || fail "kmsctl audit $*: $(cat "$tmp/err")"; }
rows() { # rows: data lines of a table or CSV output
	echo $(($(wc -l <"$tmp/out") - 1))
}

A --request-id "$grant"
[ "$(rows)" = 1 ] || fail "--request-id: $(cat "$tmp/out")"
grep -q "^2[0-9-]*T[0-9:.]*Z *$grant *127.0.0.1 *alice@example.org *REQUEST_INIT_PSK *granted *KMS_EOK" \
	"$tmp/out" || fail "table row: $(cat "$tmp/out")"
grep -q "bob@example.org" "$tmp/out" || fail "no responders in the row"
A --outcome refused --since 2020-01-01T00:00:00Z
[ "$(rows)" = 1 ] && grep -q "$deny.*KMS_EPOLICY" "$tmp/out" || fail "--outcome refused: $(cat "$tmp/out")"
A --outcome KMS_EREPLAY
[ "$(rows)" = 1 ] && grep -q "r-old-2" "$tmp/out" || fail "--outcome KMS_EREPLAY"
A --until 2001-01-01T00:30:00+00:00
[ "$(rows)" = 1 ] && grep -q "r-old-1" "$tmp/out" || fail "--until RFC 3339"
A --since 978307201 --until 978400000
[ "$(rows)" = 1 ] && grep -q "2001-01-01T01:00:00.500Z *r-old-2" "$tmp/out" ||
	fail "--since/--until epoch: $(cat "$tmp/out")"
A --identity carol@example.org
[ "$(rows)" = 1 ] && grep -q "$deny" "$tmp/out" || fail "--identity (a responder)"
A --identity dave@example.org --limit 1
[ "$(rows)" = 1 ] && grep -q "r-old-1" "$tmp/out" || fail "--identity --limit 1"
ok "filters: request id, outcome (refused, a code), since/until (RFC 3339, epoch), identity, limit"

A --format csv
[ "$(rows)" = 4 ] || fail "CSV rows"
python3 - "$tmp/out" "$grant" <<'PYEOF' || fail "CSV does not parse"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert len(rows) == 4, rows
g = [r for r in rows if r["rid"] == sys.argv[2]][0]
assert g["outcome"] == "KMS_EOK" and g["client"] == "127.0.0.1", g
assert g["responders"] == "bob@example.org", g
assert rows[0]["time"] == "2001-01-01T00:00:00.000Z", rows[0]
PYEOF
A --format jsonl --outcome granted
python3 - "$tmp/out" "$grant" <<'PYEOF' || fail "JSON lines do not parse"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 2, rows
g = [r for r in rows if r["rid"] == sys.argv[2]][0]
assert g["type"] == "REQUEST_INIT_PSK" and g["decision"] == "granted", g
assert isinstance(g["count"], int) and g["count"] == 1, g
PYEOF
ok "CSV (4 rows, RFC 3339 times) and JSON lines parse"

A --prune-before 2002-01-01T00:00:00Z
grep -q "^pruned 2 row(s) before 2002-01-01T00:00:00Z" "$tmp/out" || fail "prune: $(cat "$tmp/out")"
[ "$(sqlite3 "$S/audit.db" 'SELECT count(*) FROM audit')" = 2 ] || fail "rows left after prune"
"$KMSCTL" -c "$tmp/kmsd.conf" audit --format csv >"$tmp/out" || fail "kmsctl -c audit"
[ "$(rows)" = 2 ] || fail "-c: rows"
if "$KMSCTL" -d "$S" audit --since yesterday >"$tmp/out" 2>"$tmp/err"; then
	fail "a bad time accepted"
fi
ok "--prune-before: 2 old rows deleted and counted; -c CONFIG; bad time refused"
