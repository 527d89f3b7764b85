#!/bin/sh
# 05-resolve.sh - Bob has his KMS resolve the ticket in Alice's TRANSFER_INIT
# (RESOLVE_INIT_PSK), this time posted by kms-ue instead of curl.
set -eu
. "$(dirname "$0")/env.sh"
"$UE" resolve --psk-file "$KMS_STATE/demo-bob.psk" --id bob@example.org \
	--in ti.sdp --out res.bin --state bob.st     # reads the SDP line as is
"$UE" post --url "$KMS_URL/kms" --type ticketresolve --in res.bin --out rr.bin
"$UE" decode rr.bin >rr.json
payloads rr.json
