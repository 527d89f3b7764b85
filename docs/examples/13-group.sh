#!/bin/sh
# 13-group.sh - a group call: one ticket for *.team@example.org, three
# members, each resolving it for its own fork of the keys.
set -eu
. "$(dirname "$0")/env.sh"
# Three PSK users who are also NAME.team@example.org (a rerun starts afresh).
for who in dave erin frank; do
	"$KMSCTL" -d "$KMS_STATE" psk remove "$who@example.org" 2>/dev/null || true
	rm -f "$who.psk"
	"$KMSCTL" -d "$KMS_STATE" psk add "$who@example.org" --identity "$who@example.org" \
		--identity "$who.team@example.org" --generate "$who.psk"
done
# Group tickets are off unless a rule allows them.
rule=$("$KMSCTL" -d "$KMS_STATE" policy add --from alice@example.org \
	--to '*.team@example.org' --allow --group | sed -n 's/^added policy rule //p')
# Call the team until kmsd took the users and the rule (at most 50 times).
i=0
until [ "$i" -ge 50 ] || "$UE" call --url "$KMS_URL/kms" --id alice@example.org \
	--psk "$(cat "$KMS_STATE/demo-alice.psk")" --to '*.team@example.org' \
	--member "dave@example.org:$(cat dave.psk)" \
	--member "erin@example.org:$(cat erin.psk)" \
	--member "frank@example.org:$(cat frank.psk)" --packets 20 >group.json 2>group.err; do
	i=$((i + 1))
	sleep 0.2
done
[ "$i" -lt 50 ]
grep -e '"ok"' -e '"ticket_flags"' -e '"id"' -e '"keys_of"' -e '"tried"' \
	-e '"auth_failed"' group.json
# Each member's cross-fork check: another member's keys fail on every packet.
python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(not all(0 < m["cross_fork"]["tried"] == m["cross_fork"]["auth_failed"]
                 for m in d["members"]))' group.json
"$KMSCTL" -d "$KMS_STATE" policy remove "$rule"
