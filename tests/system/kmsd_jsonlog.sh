#!/bin/sh
# log.format = "json": every line kmsd writes in a run (start, requests
# granted and refused, garbage with control bytes in the path, stop) is one
# JSON object; access lines carry the request id (the X-Request-Id sent),
# the client address, status, type and outcome.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"

port=$(free_port)
B="http://127.0.0.1:$port"
U="$B/kms"
S="$tmp/state"
"$KMSCTL" -d "$S" init --demo >"$tmp/init.out" 2>&1 || fail "kmsctl init --demo"
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 2; };
kms = { state_dir = "$S"; };
log = { format = "json"; level = "debug"; };
CONF
kmsd_start "$tmp/kmsd.conf" "$B"
"$UE" request --psk-file "$S/demo-alice.psk" --id alice@example.org --to bob@example.org \
	--out "$tmp/req.bin" --state "$tmp/st" >/dev/null || fail "kms-ue request"
[ "$(post_mikey "$U?requesttype=ticketrequest" "$tmp/req.bin" "$tmp/resp.bin")" = 200 ] ||
	fail "request not granted"
granted=$(header X-Request-Id)
printf 'not MIKEY \001\033[31m "quoted" \377\376' >"$tmp/garbage.bin"
[ "$(post_mikey "$U?requesttype=ticketrequest" "$tmp/garbage.bin" "$tmp/resp.bin")" = 400 ] ||
	fail "garbage not 400"
refused=$(header X-Request-Id)
expect 404 "$B/a%01b%22c%5C%FF"
wait_log "$refused"
kmsd_stop

python3 - "$tmp/kmsd.log" "$granted" "$refused" <<'PYEOF' || fail "JSON log check"
import json, re, sys
path, granted, refused = sys.argv[1:4]
raw = open(path, "rb").read().splitlines()
assert raw, "empty log"
access = {}
for n, line in enumerate(raw, 1):
    try:
        d = json.loads(line.decode("utf-8"))  # strict: valid UTF-8, one object
    except Exception as e:
        sys.exit("line %d is not a JSON object (%s): %r" % (n, e, line[:200]))
    assert isinstance(d, dict), "line %d: not an object" % n
    for k in ("ts", "level", "prog", "msg"):
        assert isinstance(d.get(k), str), "line %d: no %s" % (n, k)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", d["ts"]), d["ts"]
    assert d["prog"] == "kmsd", d["prog"]
    if "status" in d:
        for k in ("method", "path", "bytes", "ms", "client", "subject"):
            assert k in d, "access line %d without %s" % (n, k)
        assert d["client"] == "127.0.0.1", d["client"]
        access[d["subject"]] = d
g = access.get(granted)
r = access.get(refused)
assert g and g["status"] == 200 and g["type"] == "ticketrequest" and \
    g["outcome"] == "KMS_EOK", g
assert r and r["status"] == 400 and r["outcome"] != "KMS_EOK", r
assert any(a["status"] == 404 and "\x01" in a["path"] for a in access.values()), \
    "the control byte of the 404 path did not survive as an escape"
print("%d lines, %d access lines" % (len(raw), len(access)))
PYEOF
ok "log.format json: every line parses; access lines carry request id, client, status, outcome"
