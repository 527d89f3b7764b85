#!/bin/sh
# 14-mode3.sh - a ticket Alice builds herself (RFC 6043 mode 3, flag D = 0)
# under a ticket protection key from kmsctl; Bob resolves it at the KMS.
set -eu
. "$(dirname "$0")/env.sh"
rm -f alice.tpk
"$KMSCTL" -d "$KMS_STATE" tpk add alice@example.org --out alice.tpk  # 0600, key not printed
grep -e '^id ' -e '^owner ' alice.tpk
# Initiator tickets are off unless a rule allows them.
rule=$("$KMSCTL" -d "$KMS_STATE" policy add --from alice@example.org --to bob@example.org \
	--allow --initiator-tickets --priority 20 | sed -n 's/^added policy rule //p')
# Until kmsd took the key and the rule (at most 50 times): Alice builds a
# ticket and her TRANSFER_INIT, Bob resolves it (curl exits 22 on a refusal).
i=0
until [ "$i" -ge 50 ] || { "$UE" create-ticket --tpk-file alice.tpk --id alice@example.org \
	--to bob@example.org --lifetime 600 --state m3-alice.st &&
	"$UE" transfer-init --state m3-alice.st --out m3-ti.bin &&
	"$UE" resolve --psk-file "$KMS_STATE/demo-bob.psk" --id bob@example.org \
		--in m3-ti.bin --out m3-res.bin --state m3-bob.st &&
	curl -sS --fail --data-binary @m3-res.bin -H 'Content-Type: application/mikey' \
		-o m3-rr.bin "$KMS_URL/kms?requesttype=ticketresolve" 2>/dev/null; }; do
	i=$((i + 1))
	sleep 0.2
done
[ "$i" -lt 50 ]
"$UE" decode m3-ti.bin >m3-ti.json
payloads m3-ti.json            # the TICKET: flags without D
grep -q '"flags_str": "\.' m3-ti.json     # D, the first flag, is 0
"$UE" decode m3-rr.bin >m3-rr.json
payloads m3-rr.json
"$UE" transfer-resp --psk-file "$KMS_STATE/demo-bob.psk" --state m3-bob.st \
	--resp m3-rr.bin --out m3-tr.bin
"$UE" keys --state m3-alice.st --tr m3-tr.bin >m3-alice.keys   # secret
"$UE" keys --state m3-bob.st >m3-bob.keys
cmp m3-alice.keys m3-bob.keys && echo "same SRTP keys from Alice's own ticket"
# A key the KMS does not know (another id in the key file): 400, Invalid TICKET.
(umask 077 && sed 's/^id .*/id 4000000/' alice.tpk >unknown.tpk)
"$UE" create-ticket --tpk-file unknown.tpk --id alice@example.org --to bob@example.org \
	--state m3-bad.st
"$UE" transfer-init --state m3-bad.st --out m3-bad-ti.bin
"$UE" resolve --psk-file "$KMS_STATE/demo-bob.psk" --id bob@example.org \
	--in m3-bad-ti.bin --out m3-bad-res.bin --state m3-bad-bob.st
code=$(curl -sS --data-binary @m3-bad-res.bin -H 'Content-Type: application/mikey' \
	-D m3-bad.hdr -o m3-bad.bin -w '%{http_code}' "$KMS_URL/kms?requesttype=ticketresolve")
echo "HTTP $code"; grep -i '^x-kms-error' m3-bad.hdr || true
[ "$code" = 400 ]
"$UE" decode m3-bad.bin >m3-bad.json
payloads m3-bad.json
"$KMSCTL" -d "$KMS_STATE" policy remove "$rule"
