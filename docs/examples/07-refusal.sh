#!/bin/sh
# 07-refusal.sh - two refusals, each answered with a MIKEY Error message.
set -eu
. "$(dirname "$0")/env.sh"
# a) The same REQUEST_INIT again: a replay (401).
code=$(curl -sS --data-binary @req.bin -H 'Content-Type: application/mikey' \
	-D replay.hdr -o replay.bin -w '%{http_code}' "$KMS_URL/kms?requesttype=ticketrequest")
echo "HTTP $code"; grep -i '^x-kms-error' replay.hdr || true
[ "$code" = 401 ]
"$UE" decode replay.bin >replay.json
payloads replay.json
# b) Carol tries to resolve the ticket Alice got for Bob: not hers (403).
"$UE" resolve --psk-file carol.psk --id carol@example.org --in ti.bin \
	--out carol-res.bin --state carol-r.st
code=$(curl -sS --data-binary @carol-res.bin -H 'Content-Type: application/mikey' \
	-D refused.hdr -o refused.bin -w '%{http_code}' "$KMS_URL/kms?requesttype=ticketresolve")
echo "HTTP $code"; grep -i '^x-kms-error' refused.hdr || true
[ "$code" = 403 ]
"$UE" decode refused.bin >refused.json
payloads refused.json
# The next step reports the Error, and whether its MAC verifies (exit 1).
if "$UE" transfer-resp --psk-file carol.psk --state carol-r.st --resp refused.bin \
	--out carol-tr.bin; then false; fi
