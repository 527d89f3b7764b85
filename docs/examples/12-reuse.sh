#!/bin/sh
# 12-reuse.sh - a reusable ticket (flag J): one ticketrequest, two calls;
# a ticket without J is refused for reuse.
set -eu
. "$(dirname "$0")/env.sh"
PA=$(cat "$KMS_STATE/demo-alice.psk")   # demo keys only: they go on command lines
PB=$(cat "$KMS_STATE/demo-bob.psk")
# A call with an ordinary ticket (J = 0), kept in j0.st (0600).
rm -f j0.st j1.st
"$UE" call --url "$KMS_URL/kms" --id alice@example.org --psk "$PA" \
	--member "bob@example.org:$PB" --packets 20 --save-ticket j0.st >j0.json
# A rule lets Alice ask for reusable tickets to Bob (J is granted only when asked).
rule=$("$KMSCTL" -d "$KMS_STATE" policy add --from alice@example.org \
	--to bob@example.org --allow --reuse --priority 10 | sed -n 's/^added policy rule //p')
# Call with --reuse until kmsd took the rule and grants J (at most 50 times).
i=0
until [ "$i" -ge 50 ] || { rm -f j1.st && "$UE" call --url "$KMS_URL/kms" \
	--id alice@example.org --psk "$PA" --member "bob@example.org:$PB" \
	--packets 20 --reuse --save-ticket j1.st >j1.json &&
	grep -q '"ticket_flags": "[^"]*J' j1.json; }; do
	i=$((i + 1))
	sleep 0.2
done
[ "$i" -lt 50 ]
grep -e '"ticketrequest"' -e '"csb_id"' -e '"ticket_flags"' j1.json
# The second call sends the saved ticket again: no ticketrequest to the KMS.
"$UE" call --url "$KMS_URL/kms" --id alice@example.org --psk "$PA" \
	--member "bob@example.org:$PB" --packets 20 --ticket j1.st >j1-again.json
grep -e '"ok"' -e '"ticketrequest"' -e '"csb_id"' -e '"ticket_flags"' j1-again.json
grep -q '"ticketrequest": false' j1-again.json
# The J = 0 ticket again: refused by kms-ue before anything is sent (exit 1).
if "$UE" call --url "$KMS_URL/kms" --id alice@example.org --psk "$PA" \
	--member "bob@example.org:$PB" --packets 20 --ticket j0.st >j0-again.json \
	2>j0-again.err; then
	false
fi
cat j0-again.err; grep -q 'not reusable (J = 0)' j0-again.err
"$KMSCTL" -d "$KMS_STATE" policy remove "$rule"    # back to the demo's rules
