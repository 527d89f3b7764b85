#!/bin/sh
# 01-health.sh - is kmsd up, and ready to serve?
set -eu
. "$(dirname "$0")/env.sh"
curl -sS --fail-with-body "$KMS_URL/healthz"    # ok: the process serves HTTP
curl -sS --fail-with-body "$KMS_URL/readyz"     # ready: keys, users, audit log usable
curl -sS --fail-with-body "$BSF_URL/healthz"    # bsf-stubd too
