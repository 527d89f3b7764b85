#!/bin/sh
# 03-request.sh - Alice asks the KMS for a ticket for Bob (REQUEST_INIT_PSK).
set -eu
. "$(dirname "$0")/env.sh"
"$UE" request --psk-file "$KMS_STATE/demo-alice.psk" --id alice@example.org \
	--to bob@example.org --lifetime 3600 --out req.bin --state alice.st
"$UE" decode req.bin >req.json
payloads req.json
curl -sS --fail-with-body --data-binary @req.bin -H 'Content-Type: application/mikey' \
	-D resp.hdr -o resp.bin "$KMS_URL/kms?requesttype=ticketrequest"
grep -i -e '^HTTP/' -e '^content-type' -e '^x-request-id' resp.hdr
"$UE" decode resp.bin >resp.json
payloads resp.json
