#!/bin/sh
# 10-metrics.sh - what kmsd counted (Prometheus text format, metrics.port).
set -eu
. "$(dirname "$0")/env.sh"
curl -sS --fail-with-body "$METRICS_URL/metrics" >metrics.txt
grep -e '^kms_requests_total' -e '^kms_http_responses_total' metrics.txt
grep -e '^kms_replay_refusals_total' -e '^kms_naf_cache' metrics.txt
