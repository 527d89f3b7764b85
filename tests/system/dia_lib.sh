# Helpers for the Zn over Diameter system tests (sourced after lib.sh).
#
#   need_dia                 exit 77 unless this build has freeDiameter
#                            (config.h defines HAVE_FREEDIAMETER)
#   dia_conf FILE IDENTITY REALM PORT [PEER_IDENTITY PEER_PORT]...
#                            a freeDiameter configuration: listen on
#                            127.0.0.1:PORT over TCP only (No_SCTP, No_IPv6,
#                            no TLS port), the test certificate of
#                            dia_pki (freeDiameter wants TLS_Cred even for
#                            plain TCP), TcTimer $DIA_TC (1), TwTimer $DIA_TW
#                            (6), and a ConnectPeer without TLS to each
#                            peer on 127.0.0.1.  freeDiameter refuses a peer
#                            it has no ConnectPeer for: give both ends each
#                            other.  IDENTITY must look like an FQDN.
#   dia_pki IDENTITY         the test CA in $tmp/dia-pki (made once) and a
#                            certificate whose CN is IDENTITY
#   DIA_PEER                 the test peer (tests/unit/dia_zn_peer.c):
#                            --conf F --serve, or --conf F --ask BTID
#                            --naf-id FQDN [--timeout-ms N] (one JSON line)
#   dia_serve LOG CONF       start "$DIA_PEER --serve" logging to $tmp/LOG,
#                            until it prints "serving"; pid in $dpid
DIA_PEER="$top_builddir/tests/unit/dia_zn_peer"
# A sanitizer build: freeDiameter's own leak at start-up is not ours.
LSAN_OPTIONS="suppressions=$top_srcdir/tests/system/dia_lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS

need_dia() {
	if ! grep -q 'define HAVE_FREEDIAMETER 1' "$top_builddir/config.h" 2>/dev/null; then
		echo "SKIP: built without freeDiameter"
		exit 77
	fi
	need openssl
}

dia_pki() { # dia_pki IDENTITY: the CA once, a certificate for IDENTITY
	if [ ! -f "$tmp/dia-pki/ca.crt" ]; then
		. "$top_srcdir/tests/pki.sh"
		pki_init "$tmp/dia-pki" || fail "dia_pki: openssl config"
		pki_ca ca "Diameter test CA" || fail "dia_pki: the CA"
	fi
	[ -f "$tmp/dia-pki/$1.crt" ] && return 0
	# freeDiameter wants its certificate's CN to be its Identity.
	pki_leaf "$1" ca "$1" "serverAuth, clientAuth" "DNS:$1" ||
		fail "dia_pki: the certificate of $1"
}

dia_conf() {
	[ $# -ge 4 ] || fail "dia_conf FILE IDENTITY REALM PORT [PEER_IDENTITY PEER_PORT]..."
	dia_pki "$2"
	dia_f=$1
	{
		echo "Identity = \"$2\";"
		echo "Realm = \"$3\";"
		echo "Port = $4;"
		# No TLS listener: the tests speak plain TCP (tshark decodes it).
		echo "SecPort = 0;"
		echo "No_SCTP;"
		echo "No_IPv6;"
		echo "ListenOn = \"127.0.0.1\";"
		echo "TcTimer = ${DIA_TC:-1};"
		echo "TwTimer = ${DIA_TW:-6};"
		echo "TLS_Cred = \"$tmp/dia-pki/$2.crt\", \"$tmp/dia-pki/$2.key\";"
		echo "TLS_CA = \"$tmp/dia-pki/ca.crt\";"
	} >"$dia_f"
	shift 4
	while [ $# -ge 2 ]; do
		echo "ConnectPeer = \"$1\" { No_TLS; port = $2; ConnectTo = \"127.0.0.1\"; };" >>"$dia_f"
		shift 2
	done
}

dia_serve() {
	daemon "$1" "$DIA_PEER" --conf "$2" --serve
	wait_for 10 "dia_zn_peer --serve not ready (see $1)" grep -qs '^serving' "$tmp/$1"
}
