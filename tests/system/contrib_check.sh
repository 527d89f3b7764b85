#!/bin/sh
# contrib/: the Grafana dashboard parses and uses only metrics that
# docs/metrics.md documents and a live kmsd exports (with the NAF on); the
# Prometheus alert rules parse (python3-yaml, or a basic check) and name
# only documented metrics.  promtool's own check is contrib_promtool.sh.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
src=${top_srcdir:-.}
need_python_module prometheus_client # sets $py
# YAML from whichever python3 has it (the check falls back without).
ypy=$py
for c in python3 /usr/bin/python3; do
	if "$c" -c 'import yaml' 2>/dev/null; then
		ypy=$c
		break
	fi
done
check="$src/tests/system/contrib_check.py"

$ypy "$check" alerts "$src/contrib/prometheus/kms-alerts.yml" "$src/docs/metrics.md" \
	>"$tmp/alerts.out" 2>&1 || fail "alert rules: $(cat "$tmp/alerts.out")"
ok "alert rules parse and name documented metrics ($(tail -n 1 "$tmp/alerts.out"))"

port=$(free_port)
mport=$(free_port)
bsf=$(free_port) # nothing listens there: the NAF is on, the BSF is not
B="http://127.0.0.1:$port"
S="$tmp/state"
"$KMSCTL" -d "$S" init --demo >"$tmp/init.out" 2>&1 || fail "kmsctl init --demo"
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 2; };
kms = { state_dir = "$S"; psk_source = "both"; };
naf = { enabled = true; bsf_url = "http://127.0.0.1:$bsf/zn"; };
metrics = { port = $mport; };
CONF
kmsd_start "$tmp/kmsd.conf" "$B"
$py "$src/tests/system/metrics_scrape.py" get "http://127.0.0.1:$mport/metrics" \
	"$tmp/scrape.json" || fail "the scrape does not parse"
$py "$check" dashboard "$src/contrib/grafana/kms-dashboard.json" "$src/docs/metrics.md" \
	"$tmp/scrape.json" "$src/kms/metrics.c" >"$tmp/dash.out" 2>&1 ||
	fail "dashboard: $(cat "$tmp/dash.out")"
ok "dashboard parses; its metrics are documented and exported ($(tail -n 1 "$tmp/dash.out"))"
kmsd_stop

