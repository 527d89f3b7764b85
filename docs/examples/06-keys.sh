#!/bin/sh
# 06-keys.sh - Bob answers Alice (TRANSFER_RESP); both derive the SRTP keys.
set -eu
. "$(dirname "$0")/env.sh"
"$UE" transfer-resp --psk-file "$KMS_STATE/demo-bob.psk" --state bob.st \
	--resp rr.bin --out tr.bin
"$UE" decode tr.bin >tr.json
payloads tr.json
# kms-ue keys prints SECRET key material (for tests only): into files here.
"$UE" keys --state alice.st --tr tr.bin >alice.keys
"$UE" keys --state bob.st >bob.keys
cmp alice.keys bob.keys && echo "Alice and Bob hold the same SRTP master key and salt"
