#!/bin/sh
# 02-provision.sh - add a static PSK user with kmsctl while kmsd runs.
set -eu
. "$(dirname "$0")/env.sh"
"$KMSCTL" -d "$KMS_STATE" psk remove carol@example.org 2>/dev/null || true  # a rerun
rm -f carol.psk
"$KMSCTL" -d "$KMS_STATE" psk add carol@example.org --identity carol@example.org \
	--generate carol.psk          # a random 16-byte key, written to carol.psk (0600)
"$KMSCTL" -d "$KMS_STATE" psk list    # PSK ids and identities, never the keys
# kmsd sees the change within policy.reload_interval (2 s): until then Carol's
# requests are refused (401).  Ask until one is answered (at most 50 times).
i=0
until [ "$i" -ge 50 ] || { "$UE" request --psk-file carol.psk --id carol@example.org \
	--to bob@example.org --out carol-req.bin --state carol.st &&
	"$UE" post --url "$KMS_URL/kms" --type ticketrequest --in carol-req.bin \
		--out carol-resp.bin 2>/dev/null; }; do
	i=$((i + 1))
	sleep 0.2
done
[ "$i" -lt 50 ] && echo "kmsd serves carol@example.org"
