#!/bin/sh
# Set up, build, and start the KMS (kmsd) and the BSF stand-in (bsf-stubd)
# on 127.0.0.1.  Read from the environment on every run:
#   KMS_PORT      kmsd's Ua listener (default 8080)
#   BSF_PORT      bsf-stubd's Ub and Zn listener (default 8081)
#   METRICS_PORT  kmsd's metrics listener, metrics.port (default 9090)
#   KMS_STATE     the state directory: stores, keys, logs, configuration
#                 (default ./var in this tree; relative to where run.sh is
#                 started otherwise)
# e.g.  KMS_PORT=18080 BSF_PORT=18081 METRICS_PORT=19090 KMS_STATE=/tmp/kms ./run.sh
set -u
here=$(pwd)
top=$(cd "$(dirname "$0")" && pwd)
cd "$top" || exit 1
state=${KMS_STATE:-$top/var}
case $state in /*) ;; *) state=$here/$state ;; esac
kms_port=${KMS_PORT:-8080}
bsf_port=${BSF_PORT:-8081}
metrics_port=${METRICS_PORT:-9090}
for v in "KMS_PORT=$kms_port" "BSF_PORT=$bsf_port" "METRICS_PORT=$metrics_port"; do
	case ${v#*=} in
	'' | *[!0-9]*) ok=0 ;;
	*) ok=$((${v#*=} >= 1 && ${v#*=} <= 65535)) ;;
	esac
	[ "$ok" -eq 1 ] || { echo "run.sh: $v is not a port (1..65535)" >&2; exit 2; }
done
case $state in
*[!A-Za-z0-9_./+-]*)
	echo "run.sh: KMS_STATE=$state: use letters, digits and _ . / + - only" >&2
	exit 2
	;;
esac

. "$top/scripts/deps.sh"
kms_deps_install || { echo "run.sh: package installation failed" >&2; exit 1; }
kms_build "$top/build" || { echo "run.sh: build failed" >&2; exit 1; }
KMSD=$top/build/kms/kmsd
KMSCTL=$top/build/tools/kmsctl
BSFD=$top/build/bsf-stub/bsf-stubd
UE=$top/build/tools/kms-ue
for p in "$KMSD" "$KMSCTL" "$BSFD" "$UE"; do
	[ -x "$p" ] || { echo "run.sh: $p is missing" >&2; exit 1; }
done
mkdir -p "$state" && chmod 700 "$state" || exit 1
# kmsd runs as whoever runs run.sh: as root that has to be said
# (--allow-root); a site sets kms.user / kms.group instead (README).
root_flag=""
[ "$(id -u)" -eq 0 ] && root_flag=--allow-root

# First run: create the KEK, the store with an active master key, and two
# demo PSK users (their keys in demo-alice.psk, demo-bob.psk).
if [ ! -f "$state/kms.db" ]; then
	"$KMSCTL" -d "$state" init --demo ||
		{ echo "run.sh: kmsctl init failed" >&2; exit 1; }
fi
# The BSF stand-in with two demo subscribers (USIMs in bsf/demo-*.usim).
if [ ! -f "$state/bsf/bsf.db" ]; then
	mkdir -p "$state/bsf" && chmod 700 "$state/bsf"
	"$BSFD" -d "$state/bsf" --init --demo ||
		{ echo "run.sh: bsf-stubd --init --demo failed" >&2; exit 1; }
fi

# The configuration.  $state/kmsd.conf is run.sh's: it is rewritten on every
# run from the environment above.  The operator's own settings go into
# $state/conf.d/GROUP.conf (one file per group, created once, never
# rewritten), which kmsd.conf includes inside each group: e.g.
# "threads = 4;" in conf.d/ua.conf.  A setting run.sh writes (below) cannot
# be repeated there (libconfig: "duplicate setting name").
#
# Settings that kmsd may not know yet (an older build) are probed with
# kmsd -t and left out, with a note, when it refuses them.
probe() { # probe GROUP SETTING VALUE: does this kmsd know GROUP.SETTING?
	printf '%s = { %s = %s; };\n' "$1" "$2" "$3" >"$state/.probe.conf"
	out=$("$KMSD" -t $root_flag -c "$state/.probe.conf" 2>&1)
	rm -f "$state/.probe.conf"
	case $out in *"unknown setting"*) return 1 ;; esac
	return 0
}
ua_extra=""
if probe ua error_detail true; then
	ua_extra=" error_detail = true;"
else
	echo "run.sh: this kmsd has no ua.error_detail: left out"
fi
metrics_on=0
if probe metrics port "$metrics_port"; then
	metrics_on=1
else
	echo "run.sh: this kmsd has no metrics.port: metrics off"
fi
groups="ua kms policy audit naf zk log"
[ "$metrics_on" -eq 1 ] && groups="$groups metrics"
mkdir -p "$state/conf.d"
for g in $groups; do
	[ -f "$state/conf.d/$g.conf" ] && continue
	cat >"$state/conf.d/$g.conf" <<LOCAL
# Your settings of the '$g' group of kmsd.conf(5), one a line, e.g.
#   setting = value;
# Kept across runs of run.sh (which writes $state/kmsd.conf and
# includes this file inside its '$g = { ... };').  Settings run.sh writes
# itself come from its environment (KMS_PORT, BSF_PORT, METRICS_PORT,
# KMS_STATE) and cannot be repeated here.
LOCAL
done
gen() { # gen GROUP SETTINGS: one group, then the operator's file
	printf '%s = {\n' "$1"
	[ -n "$2" ] && printf '\t%s\n' "$2"
	printf '\t@include "%s/conf.d/%s.conf"\n};\n' "$state" "$1"
}
conf=$state/kmsd.conf
# A kmsd.conf from an older run.sh (written once, maybe edited): kept aside.
if [ -f "$conf" ] && ! grep -q '^# Written by run.sh on every run' "$conf"; then
	mv "$conf" "$conf.old" &&
		echo "run.sh: your earlier $conf is now $conf.old: move its settings into $state/conf.d/"
fi
{
	echo "# Written by run.sh on every run: edit the files in $state/conf.d/"
	echo "# instead (see etc/kmsd.conf and kmsd.conf(5) for the settings)."
	gen ua "port = $kms_port;${ua_extra}"
	gen kms "state_dir = \"$state\"; psk_source = \"both\";"
	gen policy ""
	gen audit ""
	gen naf "enabled = true; bsf_url = \"http://127.0.0.1:$bsf_port/zn\"; fqdn = \"kms.example.org\";"
	gen zk ""
	gen log ""
	if [ "$metrics_on" -eq 1 ]; then gen metrics "port = $metrics_port;"; fi
} >"$conf.tmp" && mv "$conf.tmp" "$conf" || exit 1
"$KMSD" -t $root_flag -c "$conf" >/dev/null ||
	{ echo "run.sh: $conf is not valid (see the message above)" >&2; exit 1; }

# Both daemons run in the background of this shell: Ctrl-C (or TERM to
# run.sh) stops kmsd, and bsf-stubd goes when kmsd has exited.
bsf_pid=""
kmsd_pid=""
trap 'kill -TERM "$bsf_pid" 2>/dev/null; wait "$bsf_pid" 2>/dev/null' EXIT
trap 'kill -TERM "$kmsd_pid" 2>/dev/null' INT TERM
"$BSFD" -d "$state/bsf" -p "$bsf_port" >>"$state/bsf.log" 2>&1 &
bsf_pid=$!

# The walkthrough: every command below works when pasted into a shell; the
# files it makes go into $W, never into the source tree.
W=$state/walk
mkdir -p "$W" && chmod 700 "$W"
KMS=http://127.0.0.1:$kms_port
metrics_line="  metrics:  off (this kmsd has no metrics.port)"
[ "$metrics_on" -eq 1 ] &&
	metrics_line="  metrics:  curl -s http://127.0.0.1:$metrics_port/metrics"
cat <<MSG
run.sh: starting bsf-stubd (Ub and Zn on http://127.0.0.1:$bsf_port, log $state/bsf.log)
and kmsd (Ua on $KMS/kms, state in $state, configuration $conf;
your settings: $state/conf.d/*.conf).
  health:   curl -s $KMS/healthz ; curl -s $KMS/readyz
$metrics_line

  GBA walkthrough (another shell; the files go into $W):
    cd $W
    # 1. Alice and Bob bootstrap over Ub with their simulated USIMs
    $UE bootstrap --usim $state/bsf/demo-alice.usim --bsf http://127.0.0.1:$bsf_port/ub --out alice.gba
    $UE bootstrap --usim $state/bsf/demo-bob.usim --bsf http://127.0.0.1:$bsf_port/ub --out bob.gba
    # 2. Alice asks the KMS for a ticket for Bob (IDRpsk = her B-TID)
    $UE request --gba alice.gba --id alice@example.org --to bob@example.org \\
        --out req.bin --state alice.state
    curl -s --data-binary @req.bin -H 'Content-Type: application/mikey' \\
        '$KMS/kms?requesttype=ticketrequest' -o resp.bin
    $UE transfer-init --gba alice.gba --state alice.state --resp resp.bin --out ti.bin
    # 3. Bob resolves the ticket he got in TRANSFER_INIT
    $UE resolve --gba bob.gba --id bob@example.org --in ti.bin --out res.bin --state bob.state
    curl -s --data-binary @res.bin -H 'Content-Type: application/mikey' \\
        '$KMS/kms?requesttype=ticketresolve' -o rr.bin
    $UE transfer-resp --gba bob.gba --state bob.state --resp rr.bin --out tr.bin
    # 4. Both derive the same SRTP master key and salt
    $UE keys --state bob.state ; $UE keys --state alice.state --tr tr.bin
    # A 401 with "WWW-Authenticate: 3GPP-bootstrapping" means: bootstrap again.

  static PSK users still work (IDRpsk absent or not a B-TID):
    $UE request --psk-file $state/demo-alice.psk --id alice@example.org \\
        --to bob@example.org --out req.bin --state alice.state
  reload: kill -HUP <kmsd pid>; stop: Ctrl-C (stops bsf-stubd too).
  Every exchange by hand: $top/docs/walkthrough.md; its steps as scripts:
    export KMS_URL=$KMS BSF_URL=http://127.0.0.1:$bsf_port METRICS_URL=http://127.0.0.1:$metrics_port \\
        KMS_STATE=$state KMS_BUILD=$top/build
    for f in $top/docs/examples/[0-9]*.sh; do sh "\$f" || break; done
MSG
"$KMSD" -f $root_flag -c "$conf" &
kmsd_pid=$!
echo "run.sh: kmsd pid $kmsd_pid, bsf-stubd pid $bsf_pid"
# Once kmsd answers (asked at most 100 times, 0.1 s apart), a demo call
# between the demo users: a ticket, SIP INVITE / 200 OK with
# a=key-mgmt:mikey, SRTP both ways (kms-ue(1), docs/walkthrough.md).
(
	i=0
	until curl -sf -o /dev/null "$KMS/healthz"; do
		i=$((i + 1))
		[ "$i" -le 100 ] && kill -0 "$kmsd_pid" 2>/dev/null || exit 0
		sleep 0.1
	done
	echo "run.sh: kmsd is up.  A demo call, Alice to Bob (their demo keys on the command line):"
	echo "    $UE call --url $KMS/kms --id alice@example.org --psk \"\$(cat $state/demo-alice.psk)\" --member \"bob@example.org:\$(cat $state/demo-bob.psk)\""
) &
rc=0
while kill -0 "$kmsd_pid" 2>/dev/null; do
	wait "$kmsd_pid"
	rc=$?
done
exit "$rc"
