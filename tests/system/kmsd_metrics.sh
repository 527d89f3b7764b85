#!/bin/sh
# The Prometheus endpoint (docs/metrics.md, kmsd.conf(5) METRICS): kmsd with
# metrics.port set answers GET /metrics in the text format 0.0.4 on
# 127.0.0.1 only; prometheus_client parses it; an ok ticketrequest, a wrong
# MAC, a replay and a garbage body (its first byte is no MIKEY version) move
# exactly the counters they should.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need_python_module prometheus_client # sets $py
scrape="$py ${top_srcdir:-.}/tests/system/metrics_scrape.py"

port=$(free_port)
mport=$(free_port)
B="http://127.0.0.1:$port"
U="$B/kms"
M="http://127.0.0.1:$mport/metrics"
S="$tmp/state"
"$KMSCTL" -d "$S" init --demo >"$tmp/init.out" 2>&1 || fail "kmsctl init --demo"
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 2; };
kms = { state_dir = "$S"; };
metrics = { port = $mport; };
CONF
kmsd_start "$tmp/kmsd.conf" "$B"

# --- the listener: 127.0.0.1 only by default, GET /metrics only ------------------------
python3 - "$mport" <<'PYEOF' || fail "metrics listener not bound to 127.0.0.1 only"
import sys
port = "%04X" % int(sys.argv[1])
bound = []
for name in ("/proc/net/tcp", "/proc/net/tcp6"):
    for l in open(name).read().splitlines()[1:]:
        f = l.split()
        if f[1].endswith(":" + port) and f[3] == "0A":  # LISTEN
            bound.append(f[1].split(":")[0])
sys.exit(0 if bound == ["0100007F"] else 1)
PYEOF
expect 404 "http://127.0.0.1:$mport/other"
expect 405 "$M" -X POST
ok "metrics listener on 127.0.0.1 only; 404 elsewhere, 405 for POST"

$scrape get "$M" "$tmp/m0.json" || fail "first scrape does not parse"
$scrape names "$tmp/m0.json" >"$tmp/names"
for name in kms_build_info kms_start_time_seconds kms_last_reload_success \
	kms_last_reload_timestamp_seconds kms_zn_breaker_open kms_replay_cache_capacity \
	kms_audit_ready kms_keyring_keys kms_request_duration_seconds_bucket \
	kms_connections_open; do
	grep -qx "$name" "$tmp/names" || fail "no $name in the scrape"
done
ok "the scrape parses and holds the metrics kmsctl status reads"

# --- requests, then what moved ---------------------------------------------------------
a="--psk-file $S/demo-alice.psk"
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/wrong.psk"
# shellcheck disable=SC2086
"$UE" request $a --id alice@example.org --to bob@example.org \
	--out "$tmp/req.bin" --state "$tmp/alice.st" || fail "request"
"$UE" request --psk-file "$tmp/wrong.psk" --id alice@example.org --to bob@example.org \
	--psk-id alice@example.org --out "$tmp/bad.bin" --state "$tmp/bad.st" ||
	fail "request (wrong psk)"
printf 'not a MIKEY message at all' >"$tmp/garbage.bin"
[ "$(post_mikey "$U?requesttype=ticketrequest" "$tmp/req.bin" "$tmp/r1")" = 200 ] ||
	fail "ticketrequest"
[ "$(post_mikey "$U?requesttype=ticketrequest" "$tmp/bad.bin" "$tmp/r2")" = 401 ] ||
	fail "a wrong MAC is not refused with 401"
[ "$(post_mikey "$U?requesttype=ticketrequest" "$tmp/req.bin" "$tmp/r3")" = 401 ] ||
	fail "a replay is not refused with 401"
[ "$(post_mikey "$U?requesttype=ticketrequest" "$tmp/garbage.bin" "$tmp/r4")" = 400 ] ||
	fail "garbage is not refused with 400"

$scrape get "$M" "$tmp/m1.json" || fail "second scrape does not parse"
t='type="ticketrequest"'
$scrape delta "$tmp/m0.json" "$tmp/m1.json" \
	"kms_requests_total{outcome=\"ok\",$t}" 1 \
	"kms_requests_total{outcome=\"mac\",$t}" 1 \
	"kms_requests_total{outcome=\"replay\",$t}" 1 \
	"kms_requests_total{outcome=\"version\",$t}" 1 \
	"kms_requests_total{outcome=\"ok\",type=\"ticketresolve\"}" 0 \
	"kms_replay_refusals_total" 1 \
	"kms_http_responses_total{code=\"401\"}" 2 \
	"kms_http_responses_total{code=\"400\"}" 1 \
	"kms_request_duration_seconds_count{$t}" 4 \
	"kms_request_duration_seconds_bucket{le=\"+Inf\",$t}" 4 \
	"kms_request_duration_seconds_sum{$t}" ">0" \
	"kms_replay_cache_entries" ">0" >"$tmp/delta.out" ||
	fail "counters moved wrongly: $(cat "$tmp/delta.out")"
ok "ok, wrong MAC, replay and garbage each counted once, histogram count +4"

# --- a reload shows in the reload metrics ----------------------------------------------
hup "$pid" "reload done"
$scrape get "$M" "$tmp/m2.json" || fail "third scrape does not parse"
$scrape delta "$tmp/m1.json" "$tmp/m2.json" kms_reloads_total 1 \
	kms_last_reload_success 0 >"$tmp/delta.out" ||
	fail "reload not counted: $(cat "$tmp/delta.out")"
ok "a reload is counted, last reload successful"

# --- kmsctl status reads this listener: up, the version, the reload -------------------
"$KMSCTL" -c "$tmp/kmsd.conf" status --json >"$tmp/status.json" 2>"$tmp/status.err" ||
	fail "kmsctl status: $(cat "$tmp/status.err")"
python3 - "$tmp/status.json" "$(grep -o 'version="[^"]*"' "$tmp/m2.json" 2>/dev/null || true)" <<'PYEOF' ||
import json, sys
k = json.load(open(sys.argv[1]))["kmsd"]
assert k["up"] is True, k
assert k["version"], k
assert k["last_reload_success"] is True and k["last_reload"] > 0, k
assert k["zn_breaker_open"] is False, k
PYEOF
	fail "kmsctl status does not report kmsd's metrics: $(cat "$tmp/status.json")"
ok "kmsctl -c status: kmsd up, its version and last reload from the metrics listener"

kmsd_stop
ok "kmsd stopped"
