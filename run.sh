#!/bin/sh
# Set up, build, and start the KMS with its embedded defaults.
set -u
top=$(cd "$(dirname "$0")" && pwd)
cd "$top" || exit 1
. "$top/scripts/deps.sh"
kms_deps_install || { echo "run.sh: package installation failed" >&2; exit 1; }
kms_build "$top/build" || { echo "run.sh: build failed" >&2; exit 1; }
mkdir -p "$top/var" && chmod 700 "$top/var"

if [ ! -x "$top/build/kms/kmsd" ] || [ ! -x "$top/build/tools/kmsctl" ] ||
	[ ! -x "$top/build/bsf-stub/bsf-stubd" ]; then
	echo "run.sh: build/kms/kmsd, build/tools/kmsctl or build/bsf-stub/bsf-stubd is missing" >&2
	exit 1
fi
# First run: create the KEK, the store with an active master key, and two
# demo PSK users (their keys in var/demo-alice.psk, var/demo-bob.psk).
if [ ! -f "$top/var/kms.db" ]; then
	"$top/build/tools/kmsctl" -d "$top/var" init --demo ||
		{ echo "run.sh: kmsctl init failed" >&2; exit 1; }
fi
# The BSF stand-in with two demo subscribers (USIMs in var/bsf/demo-*.usim).
if [ ! -f "$top/var/bsf/bsf.db" ]; then
	mkdir -p "$top/var/bsf" && chmod 700 "$top/var/bsf"
	"$top/build/bsf-stub/bsf-stubd" -d "$top/var/bsf" --init --demo ||
		{ echo "run.sh: bsf-stubd --init --demo failed" >&2; exit 1; }
fi
# The configuration: var/kmsd.conf (see etc/kmsd.conf); written on the first
# run with both PSK sources: static demo users and GBA through bsf-stubd.
conf="$top/var/kmsd.conf"
if [ ! -f "$conf" ]; then
	cat >"$conf" <<CONF
# Written by run.sh; see etc/kmsd.conf and kmsd.conf(5).
kms = { psk_source = "both"; };
naf = { enabled = true; bsf_url = "http://127.0.0.1:8081/zn"; fqdn = "kms.example.org"; };
CONF
fi

# Both daemons run in the background of this shell: Ctrl-C (or TERM to
# run.sh) stops kmsd, and bsf-stubd goes when kmsd has exited.
bsf_pid=""
kmsd_pid=""
trap 'kill -TERM "$bsf_pid" 2>/dev/null; wait "$bsf_pid" 2>/dev/null' EXIT
trap 'kill -TERM "$kmsd_pid" 2>/dev/null' INT TERM
"$top/build/bsf-stub/bsf-stubd" -d "$top/var/bsf" -p 8081 >>"$top/var/bsf.log" 2>&1 &
bsf_pid=$!

UE=build/tools/kms-ue
cat <<MSG
run.sh: starting bsf-stubd (Ub and Zn on http://127.0.0.1:8081, log var/bsf.log)
and kmsd (Ua on http://127.0.0.1:8080/kms, state in ./var, $conf).
  health:   curl -s http://127.0.0.1:8080/healthz ; curl -s http://127.0.0.1:8080/readyz

  GBA walkthrough (another shell, in $top):
    # 1. Alice and Bob bootstrap over Ub with their simulated USIMs
    $UE bootstrap --usim var/bsf/demo-alice.usim --bsf http://127.0.0.1:8081/ub --out alice.gba
    $UE bootstrap --usim var/bsf/demo-bob.usim --bsf http://127.0.0.1:8081/ub --out bob.gba
    # 2. Alice asks the KMS for a ticket for Bob (IDRpsk = her B-TID)
    $UE request --gba alice.gba --id alice@example.org --to bob@example.org \\
        --out req.bin --state alice.state
    curl -s --data-binary @req.bin -H 'Content-Type: application/mikey' \\
        'http://127.0.0.1:8080/kms?requesttype=ticketrequest' -o resp.bin
    $UE transfer-init --gba alice.gba --state alice.state --resp resp.bin --out ti.bin
    # 3. Bob resolves the ticket he got in TRANSFER_INIT
    $UE resolve --gba bob.gba --id bob@example.org --in ti.bin --out res.bin --state bob.state
    curl -s --data-binary @res.bin -H 'Content-Type: application/mikey' \\
        'http://127.0.0.1:8080/kms?requesttype=ticketresolve' -o rr.bin
    $UE transfer-resp --gba bob.gba --state bob.state --resp rr.bin --out tr.bin
    # 4. Both derive the same SRTP master key and salt
    $UE keys --state bob.state ; $UE keys --state alice.state --tr tr.bin
    # A 401 with "WWW-Authenticate: 3GPP-bootstrapping" means: bootstrap again.

  static PSK users still work (IDRpsk absent or not a B-TID):
    $UE request --psk-file var/demo-alice.psk --id alice@example.org \\
        --to bob@example.org --out req.bin --state alice.state
  reload: kill -HUP <kmsd pid>; stop: Ctrl-C (stops bsf-stubd too).
MSG
# kmsd runs as whoever runs run.sh: as root that has to be said
# (--allow-root); a site sets kms.user / kms.group instead (README).
root_flag=""
[ "$(id -u)" -eq 0 ] && root_flag=--allow-root
"$top/build/kms/kmsd" -f $root_flag -c "$conf" &
kmsd_pid=$!
echo "run.sh: kmsd pid $kmsd_pid, bsf-stubd pid $bsf_pid"
rc=0
while kill -0 "$kmsd_pid" 2>/dev/null; do
	wait "$kmsd_pid"
	rc=$?
done
exit "$rc"
