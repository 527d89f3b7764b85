#!/bin/sh
# 15-gm.sh - flags G and M: Bob adds his own random RANDRr (G) and his own
# session keys (M) to his TRANSFER_RESP, where a rule grants them.
set -eu
. "$(dirname "$0")/env.sh"
rule=$("$KMSCTL" -d "$KMS_STATE" policy add --from alice@example.org --to bob@example.org \
	--allow --responder-rand --responder-keys --priority 30 | sed -n 's/^added policy rule //p')
# Ask until kmsd took the rule and grants G and M (at most 50 times): without
# it the KMS clears both and sets K.
i=0
until [ "$i" -ge 50 ] || { "$UE" request --psk-file "$KMS_STATE/demo-alice.psk" \
	--id alice@example.org --to bob@example.org --responder-rand --responder-keys \
	--out gm-req.bin --state gm-alice.st &&
	"$UE" post --url "$KMS_URL/kms" --type ticketrequest --in gm-req.bin \
		--out gm-resp.bin 2>/dev/null && "$UE" decode gm-resp.bin >gm-resp.json &&
	grep -q '"flags_str": "[^"]*G[^"]*M' gm-resp.json; }; do
	i=$((i + 1))
	sleep 0.2
done
[ "$i" -lt 50 ]
payloads gm-resp.json          # the TICKET's flags: G and M
"$UE" transfer-init --psk-file "$KMS_STATE/demo-alice.psk" --state gm-alice.st \
	--resp gm-resp.bin --out gm-ti.bin
"$UE" resolve --psk-file "$KMS_STATE/demo-bob.psk" --id bob@example.org \
	--in gm-ti.bin --out gm-res.bin --state gm-bob.st
"$UE" post --url "$KMS_URL/kms" --type ticketresolve --in gm-res.bin --out gm-rr.bin
"$UE" transfer-resp --psk-file "$KMS_STATE/demo-bob.psk" --state gm-bob.st \
	--responder-keys --resp gm-rr.bin --out gm-tr.bin
"$UE" decode gm-tr.bin >gm-tr.json
payloads gm-tr.json >gm-tr.txt && cat gm-tr.txt   # RANDRr and a KEMAC with Bob's TGK
grep -q ' RANDRr .* KEMAC V$' gm-tr.txt
"$UE" keys --state gm-alice.st --tr gm-tr.bin >gm-alice.keys   # secret
"$UE" keys --state gm-bob.st >gm-bob.keys
cmp gm-alice.keys gm-bob.keys && echo "same SRTP keys from Bob's TGK and RANDRr"
"$KMSCTL" -d "$KMS_STATE" policy remove "$rule"
