#!/bin/sh
# kmsctl status and the JSON lists: every sub-command's --help exits 0;
# key/psk/policy/peer list --json are JSON arrays without key bytes;
# status reads the store and, with -c and metrics.port, a metrics
# exposition (a fixture served by python3's http.server): up with version,
# breakers and last reload; down (exit 1) when nothing answers or the body
# is over the cap.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
S="$tmp/state"
ctl() {
	ctl_want=$1
	shift
	run "$ctl_want" "$KMSCTL" -d "$S" "$@"
}
no_key_hex() {
	if grep -Eq '[0-9a-fA-F]{32,}' "$1"; then
		fail "key-like hex in $1"
	fi
}

# --- every --help exits 0 with a usage text ------------------------------------
for c in "" init key "key rotate" "key list" "key retire" psk "psk add" "psk list" \
	"psk remove" policy "policy add" "policy list" "policy remove" "policy test" \
	peer "peer add" "peer list" "peer remove" status backup restore; do
	# shellcheck disable=SC2086
	ctl 0 $c --help
	grep -q 'usage:' "$tmp/out" || fail "'$c --help': no usage text"
done
ctl 0 key --help
grep -q 'SIGHUP' "$tmp/out" && ! grep -q 'reload_interval' "$tmp/out" &&
	fail "key --help: changes are picked up by polling, not only on SIGHUP"
ok "every sub-command's --help exits 0"

# --- JSON lists ------------------------------------------------------------------
ctl 0 init --demo
ctl 0 key rotate
ctl 0 policy add --from '*@example.org' --to '*@*' --allow --priority 3 --reuse
printf 'ca\n' >"$tmp/ca.pem"
ctl 0 peer add --kms-id kms2.example --url https://127.0.0.1:8443/zk --ca "$tmp/ca.pem" \
	--cert-name kms2.test --responders '*@kms2.example' --generate "$tmp/peer.key"
ctl 0 key list --json
no_key_hex "$tmp/out"
json_check '[(k["id"], k["state"], k["retired"]) for k in d] == [(2, "active", None), (1, "rotated", None)] and d[1]["rotated"] >= d[1]["created"] > 0'
ctl 0 psk list --json
no_key_hex "$tmp/out"
json_check 'sorted(u["psk_id"] for u in d) == ["alice@example.org", "bob@example.org"] and d[0]["identities"] == [d[0]["psk_id"]] and d[0]["key_len"] == 16 and d[0]["expires"] is None'
ctl 0 policy list --json
json_check 'len(d) == 1 and d[0]["from"] == "*@example.org" and d[0]["priority"] == 3 and d[0]["effect"] == "allow" and d[0]["reuse"] is True and d[0]["group"] is False'
ctl 0 peer list --json
no_key_hex "$tmp/out"
json_check 'len(d) == 1 and d[0]["kms_id"] == "kms2.example" and d[0]["key_len"] == 32 and d[0]["responders"] == "*@kms2.example" and "key" not in d[0]'
ctl 2 key list --yaml
ctl 2 psk list --json extra
ok "key/psk/policy/peer list --json: JSON arrays, no key bytes"

# --- status from the store ------------------------------------------------------------
ctl 0 status --json
no_key_hex "$tmp/out"
json_check 'd["kmsd"] is None and d["store"]["psk_users"] == 2 and d["store"]["psk_identities"] == 2 and d["store"]["policy_rules"] == 1 and d["store"]["zk_peers"] == 1 and [k["state"] for k in d["store"]["master_keys"]] == ["active", "rotated"] and all(k["age_seconds"] >= 0 for k in d["store"]["master_keys"])'
ctl 0 status
grep -q '^psk users: 2 (2 identities)$' "$tmp/out" || fail "status: psk users"
grep -q '^kmsd: not checked' "$tmp/out" || fail "status without -c: kmsd not checked"
run 1 "$KMSCTL" -d "$tmp/none" status
grep -q 'run kmsctl init' "$tmp/err" || fail "status without a store: hint"
ok "status: keys, PSK users and identities, rules, peers from the store"

# --- status with kmsd's metrics (a fixture exposition) ------------------------------------
mkdir "$tmp/www"
cat >"$tmp/www/metrics" <<'PROM'
# HELP kms_build_info The build of kmsd.
# TYPE kms_build_info gauge
kms_build_info{version="9.8.7-test",commit="abc"} 1
# TYPE kms_zn_breaker_open gauge
kms_zn_breaker_open 1
kms_zk_breaker_open{peer="kms2.example"} 0
kms_zk_breaker_open{peer="kms\"3"} 1
kms_requests_total{type="ticketrequest",result="ok"} 12
kms_last_reload_timestamp_seconds 1767225600
kms_last_reload_success 0
PROM
mport=$(free_port)
daemon www.log python3 -m http.server --bind 127.0.0.1 --directory "$tmp/www" "$mport"
www=$dpid
wait_for 10 "fixture server not up" curl -sf -o /dev/null "http://127.0.0.1:$mport/metrics"
cat >"$tmp/c.conf" <<CONF
kms = { state_dir = "$S"; };
metrics = { port = $mport; };
CONF
run 0 "$KMSCTL" -c "$tmp/c.conf" status --json
json_check 'd["kmsd"]["up"] is True and d["kmsd"]["version"] == "9.8.7-test" and d["kmsd"]["zn_breaker_open"] is True and d["kmsd"]["zk_breaker_open"] == {"kms2.example": False, "kms\"3": True} and d["kmsd"]["last_reload"] == 1767225600 and d["kmsd"]["last_reload_success"] is False'
run 0 "$KMSCTL" -c "$tmp/c.conf" status
grep -q '^kmsd: up, version 9.8.7-test' "$tmp/out" || fail "status: kmsd up"
grep -q 'zn breaker: open' "$tmp/out" || fail "status: zn breaker"
grep -q 'zk breaker kms2.example: closed' "$tmp/out" || fail "status: zk breaker"
grep -q 'last reload: 2026-01-01T00:00:00Z (failed)' "$tmp/out" || fail "status: last reload"
ok "status -c: up, version, breakers and last reload from the metrics"

python3 -c 'import sys
with open(sys.argv[1], "w") as f:
    for i in range(20000):
        f.write("# padding line %06d %s\n" % (i, "x" * 64))' "$tmp/www/metrics"
run 1 "$KMSCTL" -c "$tmp/c.conf" status --json
json_check 'd["kmsd"]["up"] is False and "over" in d["kmsd"]["error"]'
kill_daemon "$www"
run 1 "$KMSCTL" -c "$tmp/c.conf" status
grep -q '^kmsd: down' "$tmp/out" || fail "status: kmsd down"
grep -q '^psk users: 2' "$tmp/out" || fail "status: the store part while kmsd is down"
ok "status -c: down (exit 1) when nothing answers or the body is over the cap"

echo "kmsctl_status: $n checks passed"
