#!/bin/sh
# The walkthrough and its examples: docs/walkthrough.md quotes every
# docs/examples/NN-*.sh verbatim (docs_quote.py), and every example runs,
# in order, against a throwaway kmsd and bsf-stubd set up as run.sh sets
# them up (kmsctl init --demo, bsf-stubd --init --demo, the NAF on, PSK
# users and GBA both, error detail, metrics), each exiting 0; the Zk
# example starts two more kmsd of its own on FED_PORTS.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need openssl   # the Zk example makes its certificates
BSFD="$top_builddir/bsf-stub/bsf-stubd"
[ -x "$BSFD" ] || fail "bsf-stubd not built: $BSFD"
EX="$top_srcdir/docs/examples"

python3 "$top_srcdir/tests/system/docs_quote.py" "$top_srcdir/docs/walkthrough.md" \
	"$EX" 2>"$tmp/err" || fail "docs/walkthrough.md and docs/examples/ differ"
ok "the walkthrough quotes every example verbatim"

port=$(free_port)
bp=$(free_port)
mp=$(free_port)
S="$tmp/var"
"$KMSCTL" -d "$S" init --demo >"$tmp/init.out" 2>&1 || fail "kmsctl init --demo"
mkdir -m 700 "$S/bsf"
"$BSFD" -d "$S/bsf" --init --demo >"$tmp/bsf-init.out" 2>&1 ||
	fail "bsf-stubd --init --demo"
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; error_detail = true; };
kms = { state_dir = "$S"; psk_source = "both"; };
naf = { enabled = true; bsf_url = "http://127.0.0.1:$bp/zn"; fqdn = "kms.example.org"; };
metrics = { port = $mp; };
CONF
daemon bsf.log "$BSFD" -d "$S/bsf" -p "$bp"
wait_up "http://127.0.0.1:$bp/healthz" "$dpid" bsf-stubd
kmsd_start "$tmp/kmsd.conf" "http://127.0.0.1:$port"

KMS_URL=http://127.0.0.1:$port
BSF_URL=http://127.0.0.1:$bp
METRICS_URL=http://127.0.0.1:$mp
KMS_STATE=$S
KMS_BUILD=$top_builddir
WALK=$tmp/walk
FED_PORTS="$(free_port) $(free_port) $(free_port) $(free_port)"
export KMS_URL BSF_URL METRICS_URL KMS_STATE KMS_BUILD WALK FED_PORTS
unset UE KMSCTL KMSD   # the examples' defaults: $KMS_BUILD/...
for f in "$EX"/[0-9]*.sh; do
	name=${f##*/}
	echo "=== $name" >>"$tmp/examples.log"
	sh "$f" >>"$tmp/examples.log" 2>&1 || fail "docs/examples/$name failed"
	ok "docs/examples/$name"
done
# What the examples printed, kept when asked (their files hold keys: not kept).
[ -z "${DOCS_EXAMPLES_LOG:-}" ] || cp "$tmp/examples.log" "$DOCS_EXAMPLES_LOG"
