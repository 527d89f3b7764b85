#!/bin/sh
# Zn refusals as a UE sees them (kmsd's Ua answer) over Zn on Diameter, or
# over JSON Zn with ZN_TRANSPORT=http (tests/system/zn_http_errors.sh): an
# unknown B-TID, then every result code bsf-stubd's test hook can force
# (--test-zn-result, changed at run time with POST /test/zn-result).  docs/zn.md's error table:
#   5001 USER_UNKNOWN, 5401 IMPI_UNKNOWN, 5403 TRANSACTION_IDENTIFIER_INVALID
#        -> 401, WWW-Authenticate: 3GPP-bootstrapping (bootstrap again)
#   5402 NOT_AUTHORIZED -> 403, no WWW-Authenticate
#   3004 TOO_BUSY, 5012 UNABLE_TO_COMPLY -> 503, no WWW-Authenticate
# each with a MIKEY Error message and a "Zn:" line in kmsd's log naming the
# code (Diameter) or the JSON status (HTTP); refusals of the B-TID are
# negative-cached (asked once), the BSF's unavailability is not.
set -eu
ZN_TRANSPORT=${ZN_TRANSPORT:-diameter}
. "${top_srcdir:-.}/tests/system/lib.sh"
. "${top_srcdir:-.}/tests/system/zn_lib.sh" # BSFD, zn_*
port=$(free_port)
bp=$(free_port)
U="http://127.0.0.1:$port/kms"
S="$tmp/state"
BD="$tmp/bsf"
"$BSFD" -d "$BD" --init --demo >"$tmp/bsf-init.out" 2>&1 || fail "bsf-stubd --init --demo"
"$KMSCTL" -d "$S" init >"$tmp/init.out" 2>&1 || fail "kmsctl init"
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 2; };
kms = { state_dir = "$S"; psk_source = "gba"; };
naf = { enabled = true; $(zn_naf_conf "http://127.0.0.1:$bp/zn") fqdn = "kms.example.org";
        timeout_ms = 1000; connect_timeout_ms = 300; retries = 0; negative_ttl = 600; };
log = { level = "info"; };
CONF
# The hook armed at start-up (which enables its run-time route), off at once.
zn_bsf_start "$BD" "$bp" --test-zn-result 5001
hook() { expect 200 "http://127.0.0.1:$bp/test/zn-result?code=$1" -d ''; }
hook 0
kmsd_start "$tmp/kmsd.conf" "http://127.0.0.1:$port"
zn_kmsd_pid=$pid
zn_wait_open

# refused NAME STATUS LOGTEXT: a request under a new B-TID answers STATUS
# with a MIKEY Error, WWW-Authenticate on 401 only, and kmsd logs one Zn
# line for the B-TID holding LOGTEXT; asked again: the same status, and
# a second Zn call only for 503.
refused() {
	zn_fake_gba "$1"
	st=$(zn_req "$U" "$tmp/$1.gba" "$tmp/$1.resp")
	[ "$st" = "$2" ] || fail "$1: status $st, expected $2"
	zn_is_mikey_error "$tmp/$1.resp" || fail "$1: no MIKEY Error message"
	if [ "$2" = 401 ]; then
		header WWW-Authenticate | grep -q '^3GPP-bootstrapping' ||
			fail "$1: no WWW-Authenticate: 3GPP-bootstrapping"
	else
		[ -z "$(header WWW-Authenticate)" ] || fail "$1: WWW-Authenticate on $2"
	fi
	subj=$(zn_subj "$tmp/$1.gba")
	grep -F "$subj Zn:" "$tmp/kmsd.log" | grep -q -- "$3" ||
		fail "$1: no 'Zn:' line with '$3' for $subj in kmsd's log"
	st=$(zn_req "$U" "$tmp/$1.gba" "$tmp/$1.resp")
	[ "$st" = "$2" ] || fail "$1 again: status $st, expected $2"
	calls=$(grep -cF "$subj Zn:" "$tmp/kmsd.log" || true)
	if [ "$2" = 503 ]; then
		[ "$calls" -ge 2 ] || fail "$1: a 503 was cached ($calls Zn lines)"
	else
		[ "$calls" = 1 ] || fail "$1: $calls Zn lines, the refusal is not cached"
	fi
}
# What kmsd's Zn line names: the Diameter code, or the JSON Zn status.
if [ "$ZN_TRANSPORT" = diameter ]; then
	says() { echo "$1"; }
else
	says() {
		case $1 in
		5001 | 5401 | 5403) echo "Zn: 404" ;;
		5402) echo "Zn: 403" ;;
		3004) echo "503" ;;
		5012) echo "500" ;;
		esac
	}
fi

refused unknown 401 "$(says 5403)"
ok "$ZN_TRANSPORT: an unknown B-TID: 401, bootstrap again, negative-cached"

for c in "5001 401" "5401 401" "5403 401" "5402 403" "3004 503" "5012 503"; do
	set -- $c
	hook "$1"
	refused "code$1" "$2" "$(says "$1")"
	ok "$ZN_TRANSPORT: the BSF answers $1: kmsd answers $2"
done

# A B-TID the BSF knows, once the hook is off: served.
hook 0
"$UE" bootstrap --usim "$BD/demo-alice.usim" --bsf "http://127.0.0.1:$bp/ub" \
	--out "$tmp/alice.gba" >"$tmp/boot.out" 2>"$tmp/err" || fail "bootstrap alice"
st=$(zn_req "$U" "$tmp/alice.gba" "$tmp/alice.resp")
[ "$st" = 200 ] || fail "a known B-TID after the refusals: $st"
ok "$ZN_TRANSPORT: without the hook a bootstrapped B-TID is served (200)"
kmsd_stop
zn_bsf_stop
echo "zn_errors ($ZN_TRANSPORT): $n groups passed"
