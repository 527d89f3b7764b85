#!/bin/sh
# 09-call.sh - a whole call in one process: Alice's ticket, a SIP INVITE and
# 200 OK carrying a=key-mgmt:mikey over UDP on 127.0.0.1, Bob's resolve,
# then SRTP and SRTCP both ways with the keys (libsrtp2).
set -eu
. "$(dirname "$0")/env.sh"
# --psk takes the key on the command line (visible in ps): demo keys only.
"$UE" call --url "$KMS_URL/kms" --id alice@example.org \
	--psk "$(cat "$KMS_STATE/demo-alice.psk")" \
	--member "bob@example.org:$(cat "$KMS_STATE/demo-bob.psk")" \
	--packets 20 --pcap call.pcap >call.json
grep -e '"ok"' -e '"suite"' -e '"ticket_flags"' -e '"sent"' -e '"received"' \
	-e '"auth_failed"' call.json     # from its summary (no key bytes)
