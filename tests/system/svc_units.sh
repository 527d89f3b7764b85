#!/bin/sh
# The systemd units as installed: make install into a prefix of the test's
# own (the units then name its kmsd and bsf-stubd), and systemd-analyze
# verify prints nothing about them.  Also what the units promise: notify,
# reload by SIGHUP, a fixed system user, the hardening settings.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need systemd-analyze flock make

# Configured --without-systemdsystemunitdir: nothing to install or verify.
if ! grep -q "^systemdsystemunitdir = ." "$top_builddir/Makefile"; then
	echo "SKIP: configured without systemd units"
	exit 77
fi
P="$tmp/p"
prefix_install "$P" install.out
U="$P/lib/systemd/system"
for u in kmsd bsf-stubd; do
	[ -f "$U/$u.service" ] || fail "no $U/$u.service"
done
grep -qx "ExecStart=$P/sbin/kmsd -f -c $P/etc/kms/kmsd.conf" "$U/kmsd.service" ||
	fail "kmsd.service ExecStart: $(grep ExecStart= "$U/kmsd.service")"
ok "make install prefix=DIR: both units under DIR/lib/systemd/system, naming DIR's programs"

man_opt=--man=no
if command -v man >/dev/null 2>&1; then
	man_opt=--man=yes
fi
MANPATH="$P/share/man" SYSTEMD_LOG_LEVEL=notice \
	systemd-analyze verify "$man_opt" "$U/kmsd.service" "$U/bsf-stubd.service" \
	>"$tmp/verify.out" 2>&1 || fail "systemd-analyze verify: $(cat "$tmp/verify.out")"
[ ! -s "$tmp/verify.out" ] || fail "systemd-analyze verify says: $(cat "$tmp/verify.out")"
ok "systemd-analyze verify ($man_opt): nothing to say about kmsd.service and bsf-stubd.service"

for want in Type=notify 'ExecReload=/bin/kill -HUP $MAINPID' User=kms Group=kms \
	StateDirectory=kms ConfigurationDirectory=kms ProtectSystem=strict \
	ProtectHome=yes NoNewPrivileges=yes PrivateTmp=yes \
	'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' MemoryDenyWriteExecute=yes \
	SystemCallFilter=@system-service LimitCORE=0; do
	grep -qxF "$want" "$U/kmsd.service" || fail "kmsd.service lacks $want"
done
grep -q "^DynamicUser=" "$U/kmsd.service" && fail "kmsd.service uses DynamicUser"
grep -qxF Type=notify "$U/bsf-stubd.service" || fail "bsf-stubd.service not Type=notify"
ok "kmsd.service: notify, reload by SIGHUP, user kms, state and config directories, hardening"
