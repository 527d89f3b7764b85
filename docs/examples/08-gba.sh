#!/bin/sh
# 08-gba.sh - GBA: Alice and Bob bootstrap against the BSF (Ub), then ask and
# resolve with their B-TIDs; kmsd fetches their keys from the BSF over Zn.
set -eu
. "$(dirname "$0")/env.sh"
"$UE" bootstrap --usim "$KMS_STATE/bsf/demo-alice.usim" --bsf "$BSF_URL/ub" --out alice.gba
"$UE" bootstrap --usim "$KMS_STATE/bsf/demo-bob.usim" --bsf "$BSF_URL/ub" --out bob.gba
grep -e '^btid=' -e '^expires=' alice.gba   # alice.gba (0600) also holds Ks_NAF
"$UE" request --gba alice.gba --id alice@example.org --to bob@example.org \
	--out gba-req.bin --state gba-alice.st
"$UE" decode gba-req.bin >gba-req.json
payloads gba-req.json         # IDRpsk=the B-TID
curl -sS --fail-with-body --data-binary @gba-req.bin -H 'Content-Type: application/mikey' \
	-o gba-resp.bin "$KMS_URL/kms?requesttype=ticketrequest"
"$UE" transfer-init --gba alice.gba --state gba-alice.st --resp gba-resp.bin --out gba-ti.bin
"$UE" resolve --gba bob.gba --id bob@example.org --in gba-ti.bin \
	--out gba-res.bin --state gba-bob.st
"$UE" post --url "$KMS_URL/kms" --type ticketresolve --in gba-res.bin --out gba-rr.bin
"$UE" transfer-resp --gba bob.gba --state gba-bob.st --resp gba-rr.bin --out gba-tr.bin
"$UE" keys --state gba-alice.st --tr gba-tr.bin >gba-alice.keys   # secret
"$UE" keys --state gba-bob.st >gba-bob.keys
cmp gba-alice.keys gba-bob.keys && echo "same SRTP keys with GBA"
# A B-TID the BSF does not know: 401 and "WWW-Authenticate: 3GPP-bootstrapping".
(umask 077 && sed 's/^btid=.*/btid=AAAAAAAAAAAAAAAAAAAAAA==@bsf.example.org/' \
	alice.gba >stale.gba)      # kms-ue refuses key files others may read
"$UE" request --gba stale.gba --id alice@example.org --to bob@example.org \
	--out stale-req.bin --state stale.st
code=$(curl -sS --data-binary @stale-req.bin -H 'Content-Type: application/mikey' \
	-D stale.hdr -o stale-resp.bin -w '%{http_code}' "$KMS_URL/kms?requesttype=ticketrequest")
echo "HTTP $code"; grep -i '^www-authenticate' stale.hdr
[ "$code" = 401 ]
