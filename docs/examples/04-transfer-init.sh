#!/bin/sh
# 04-transfer-init.sh - Alice checks the answer and makes the TRANSFER_INIT
# she would send to Bob in her SDP offer.
set -eu
. "$(dirname "$0")/env.sh"
"$UE" transfer-init --psk-file "$KMS_STATE/demo-alice.psk" --state alice.st \
	--resp resp.bin --out ti.bin
printf 'a=key-mgmt:mikey %s\r\n' "$(base64 -w0 ti.bin)" >ti.sdp   # RFC 4567
"$UE" decode ti.sdp >ti.json
grep -e '"input_form"' -e '"valid"' ti.json
payloads ti.json
