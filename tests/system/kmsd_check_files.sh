#!/bin/sh
# kmsd -t opens every file the configuration names: a missing state
# directory, KEK, kms.db, Zk certificate, key or CA bundle, or a pid file
# in a missing directory is named as FILE:LINE: setting: path: reason.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"

S="$tmp/state"
run 0 "$KMSCTL" -d "$S" init
for f in cert key ca; do : >"$tmp/zk.$f"; done

# conf KMS_LINES [ZK_LINES]: the kms group on lines 2.., then zk.
conf() {
	{
		echo "# kmsd -t test"
		echo "kms = {"
		echo "$1"
		echo "};"
		echo "${2:-}"
	} >"$tmp/k.conf"
}
# expect_bad SETTING PATH LINE [PREFIX]: kmsd -t exits 1 naming k.conf:LINE.
expect_bad() {
	run 1 "$KMSD" "$KMSD_ROOT" -t -c "$tmp/k.conf"
	grep -qF "kmsd: $tmp/k.conf:$3: $1: $2: ${4:-}No such file or directory" "$tmp/err" ||
		fail "-t: no '$tmp/k.conf:$3: $1: $2' in: $(cat "$tmp/err")"
}

zk_on="zk = {
	enabled = true;
	cert_file = \"$tmp/zk.cert\";
	key_file = \"$tmp/zk.key\";
	ca_file = \"$tmp/zk.ca\";
};"
conf "	state_dir = \"$S\";
	pidfile = \"$S/kmsd.pid\";" "$zk_on"
run 0 "$KMSD" "$KMSD_ROOT" -t -c "$tmp/k.conf"
ok "kmsd -t: every named file present, exit 0"

conf "	state_dir = \"$tmp/nodir\";"
expect_bad kms.state_dir "$tmp/nodir" 3
conf "	state_dir = \"$S\";
	kek_file = \"$S/no-kek\";"
expect_bad kms.kek_file "$S/no-kek" 4
# A derived path points at the line of state_dir.
mv "$S/kms.db" "$S/kms.db.away"
conf "	state_dir = \"$S\";"
expect_bad kms.keys_db "$S/kms.db" 3
mv "$S/kms.db.away" "$S/kms.db"
conf "	state_dir = \"$S\";
	audit_db = \"$tmp/nodir/audit.db\";"
expect_bad kms.audit_db "$tmp/nodir/audit.db" 4 "directory $tmp/nodir: "
conf "	state_dir = \"$S\";
	pidfile = \"$tmp/nodir/kmsd.pid\";"
expect_bad kms.pidfile "$tmp/nodir/kmsd.pid" 4 "directory $tmp/nodir: "
ok "kmsd -t: missing state_dir, KEK, kms.db, audit and pid directories named with file:line"

for f in cert key ca; do
	conf "	state_dir = \"$S\";" "$(echo "$zk_on" | sed "s|$tmp/zk.$f|$tmp/none.$f|")"
	case $f in cert) l=7 ;; key) l=8 ;; ca) l=9 ;; esac
	expect_bad "zk.${f}_file" "$tmp/none.$f" "$l"
done
ok "kmsd -t: missing Zk certificate, key and CA bundle named with file:line"

for f in cert key; do : >"$tmp/ua.$f"; done
for f in cert key; do
	conf "	state_dir = \"$S\";" "ua = {
	tls_cert = \"$tmp/ua.cert\";
	tls_key = \"$tmp/ua.key\";
};"
	sed -i "s|$tmp/ua.$f\"|$tmp/none-ua.$f\"|" "$tmp/k.conf"
	case $f in cert) l=6 ;; key) l=7 ;; esac
	expect_bad "ua.tls_$f" "$tmp/none-ua.$f" "$l"
done
ok "kmsd -t: missing Ua TLS certificate and key named with file:line"
