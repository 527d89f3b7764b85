# Zn over either transport for the GBA system tests (sourced after lib.sh).
# ZN_TRANSPORT (environment): "http" (default, JSON Zn) or "diameter" (TS
# 29.109 BIR/BIA between kmsd's and bsf-stubd's embedded freeDiameter
# peers over plain TCP on 127.0.0.1; the test exits 77 when the build has
# no freeDiameter).  Defines:
#   BSFD                    bsf-stubd
#   zn_bsf_start DIR PORT [ARGS...]  bsf-stubd -d DIR -p PORT ARGS, serving Zn
#                           over the transport; waits until it is healthy (and,
#                           over Diameter, until kmsd's peer connection is open
#                           again when kmsd runs: zn_kmsd_pid); pid in $zn_bsf_pid
#   zn_bsf_stop [SIG]       stop it (SIGTERM, or SIG), exit status 0 wanted
#   zn_naf_conf URL         the naf section's Zn settings: bsf_url = URL
#                           over HTTP, naf.zn and naf.diameter_conf over Diameter
#   zn_wait_open            over Diameter, until kmsd's Diameter connection to
#                           the BSF is open (kmsd's log), at most 10 s; else nothing
#   zn_fake_gba NAME [BTID] $tmp/NAME.gba: a kms-ue GBA file with BTID (default a
#                           random one @bsf.example.org) and a zero key
#   zn_req URL GBA OUT      a REQUEST_INIT from alice@example.org under GBA's
#                           B-TID posted to kmsd's Ua URL; prints the status
#   zn_is_mikey_error FILE  FILE holds a MIKEY Error message
#   zn_subj GBA             the B-TID prefix kmsd's log lines carry ([btid:...])
#   zn_gauge MURL NAME      a sample's value on kmsd's /metrics (MURL)
# Over Diameter the BSF's identity is bsf.example.org in realm
# bsf.example.org (the realm of the test B-TIDs: kmsd's BIR goes to the
# B-TID's domain), kmsd's kms.example.org in realm example.org; each
# configuration names the other (ConnectPeer), Tc $DIA_TC (1 s), Tw $DIA_TW.
ZN_TRANSPORT=${ZN_TRANSPORT:-http}
BSFD="$top_builddir/bsf-stub/bsf-stubd"
[ -x "$BSFD" ] || fail "bsf-stubd not built: $BSFD"
zn_bsf_pid=""
zn_kmsd_pid=""
case $ZN_TRANSPORT in
http) ;;
diameter)
	. "${top_srcdir:-.}/tests/system/dia_lib.sh"
	need_dia
	zn_bsf_dport=$(free_port)
	zn_kms_dport=$(free_port)
	dia_conf "$tmp/bsf.fd.conf" bsf.example.org bsf.example.org "$zn_bsf_dport" \
		kms.example.org "$zn_kms_dport"
	dia_conf "$tmp/kms.fd.conf" kms.example.org example.org "$zn_kms_dport" \
		bsf.example.org "$zn_bsf_dport"
	;;
*) fail "ZN_TRANSPORT=$ZN_TRANSPORT: http or diameter" ;;
esac

zn_bsf_start() {
	zn_d=$1
	zn_p=$2
	shift 2
	if [ "$ZN_TRANSPORT" = diameter ]; then
		set -- "$@" --zn-diameter "$tmp/bsf.fd.conf"
	fi
	zn_opens=$(zn_open_count)
	daemon bsf.log "$BSFD" -d "$zn_d" -p "$zn_p" "$@"
	zn_bsf_pid=$dpid
	wait_up "http://127.0.0.1:$zn_p/healthz" "$zn_bsf_pid" bsf-stubd
	[ -z "$zn_kmsd_pid" ] || zn_wait_open "$zn_opens"
}
zn_bsf_stop() {
	stop "$zn_bsf_pid" bsf-stubd "${1:-TERM}"
	zn_bsf_pid=""
}
zn_naf_conf() {
	if [ "$ZN_TRANSPORT" = diameter ]; then
		echo "zn = \"diameter\"; diameter_conf = \"$tmp/kms.fd.conf\";"
	else
		echo "bsf_url = \"$1\";"
	fi
}
# How many times kmsd's peer has reached the open state (its log).
zn_open_count() {
	[ "$ZN_TRANSPORT" = diameter ] || { echo 0; return 0; }
	log_count "$ZN_OPEN_TEXT" kmsd.log
}
ZN_OPEN_TEXT="diameter peer bsf.example.org: connected"
# zn_wait_open [N]: until kmsd's log holds more than N (default 0) lines
# saying its connection to the BSF is open.
zn_wait_open() {
	[ "$ZN_TRANSPORT" = diameter ] || return 0
	wait_for 10 "kmsd's Diameter connection to the BSF never opened" \
		log_has "$ZN_OPEN_TEXT" $((${1:-0} + 1)) kmsd.log
}

zn_fake_gba() {
	zn_b=${2:-"$(head -c 16 /dev/urandom | base64)@bsf.example.org"}
	printf 'btid=%s\nks_naf=%s\nexpires=%s\nnaf_fqdn=kms.example.org\n' "$zn_b" \
		"$(printf '%064d' 0)" "$(($(date +%s) + 3600))" >"$tmp/$1.gba"
	chmod 600 "$tmp/$1.gba"
}
zn_req() {
	"$UE" request --gba "$2" --id alice@example.org --to bob@example.org \
		--out "$tmp/zn_req.bin" --state "$tmp/zn_req.st" 2>"$tmp/err" ||
		fail "kms-ue request with $2"
	rm -f "$tmp/zn_req.st"
	post_mikey "$1?requesttype=ticketrequest" "$tmp/zn_req.bin" "$3"
}
zn_is_mikey_error() {
	"$UE" decode "$1" >"$tmp/zn_dec.json" 2>/dev/null || return 1
	grep -q '"data_type": *6' "$tmp/zn_dec.json"
}
zn_subj() {
	echo "[btid:$(sed -n 's/^btid=//p' "$1" | cut -c1-10)...]"
}
zn_gauge() {
	curl -s -m 5 "$1" | sed -n "s/^$2 \([0-9.]*\)\$/\1/p"
}
