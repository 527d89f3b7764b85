#!/bin/sh
# Set up, build, and start the KMS with its embedded defaults.
set -u
top=$(cd "$(dirname "$0")" && pwd)
cd "$top" || exit 1
. "$top/scripts/deps.sh"
kms_deps_install || { echo "run.sh: package installation failed" >&2; exit 1; }
kms_build "$top/build" || { echo "run.sh: build failed" >&2; exit 1; }
mkdir -p "$top/var" && chmod 700 "$top/var"

if [ ! -x "$top/build/kms/kmsd" ] || [ ! -x "$top/build/tools/kmsctl" ]; then
	echo "run.sh: build/kms/kmsd or build/tools/kmsctl is missing" >&2
	exit 1
fi
# First run: create the KEK, the store with an active master key, and two
# demo PSK users (their keys in var/demo-alice.psk, var/demo-bob.psk).
if [ ! -f "$top/var/kms.db" ]; then
	"$top/build/tools/kmsctl" -d "$top/var" init --demo ||
		{ echo "run.sh: kmsctl init failed" >&2; exit 1; }
fi
# An optional configuration: var/kmsd.conf (see etc/kmsd.conf); else defaults.
conf=""
[ -f "$top/var/kmsd.conf" ] && conf="$top/var/kmsd.conf"

cat <<MSG
run.sh: starting kmsd (Ua on http://127.0.0.1:8080/kms, state in ./var).
  health:   curl -s http://127.0.0.1:8080/healthz ; curl -s http://127.0.0.1:8080/readyz
  a ticket request as the demo user alice (another shell, in $top):
    build/tools/kms-ue request --psk-file var/demo-alice.psk --id alice@example.org \\
        --to bob@example.org --out req.bin --state alice.state
    curl -s --data-binary @req.bin -H 'Content-Type: application/mikey' \\
        'http://127.0.0.1:8080/kms?requesttype=ticketrequest' -o resp.bin
    build/tools/kms-ue decode resp.bin
  reload: kill -HUP <pid>; stop: Ctrl-C (or kill -TERM <pid>).
MSG
if [ -n "$conf" ]; then
	exec "$top/build/kms/kmsd" -f -c "$conf"
fi
exec "$top/build/kms/kmsd" -f
