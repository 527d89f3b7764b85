#!/bin/sh
# An install under a prefix, used as the man pages say: kmsctl -c
# PREFIX/etc/kms/kmsd.conf init --demo, kmsd -t, kmsd -c (on a free port
# with -p), then a PSK ticket request and resolve with kms-ue and curl
# ending with the same SRTP keys at both ends.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need flock make

P="$tmp/p"
prefix_install "$P" install.out
C="$P/etc/kms/kmsd.conf"
S="$P/var/lib/kms"
for f in "$P/sbin/kmsd" "$P/sbin/bsf-stubd" "$P/bin/kmsctl" "$P/bin/kms-ue" "$C" \
	"$P/share/man/man8/kmsd.8" "$P/share/man/man5/kmsd.conf.5" \
	"$P/share/man/man1/kmsctl.1" "$P/share/kms/sql/kms_001.sql" \
	"$P/share/doc/kms/kmsd.conf" "$P/lib/wireshark/plugins/mikey-ticket.lua"; do
	[ -f "$f" ] || fail "not installed: $f"
done
grep -q "state_dir = \"$S\";" "$C" || fail "installed kmsd.conf: state_dir not under $P"
if command -v tshark >/dev/null 2>&1; then
	# An empty capture: the filter compiles only when the script loaded.
	printf '\324\303\262\241\002\000\004\000\000\000\000\000\000\000\000\000\377\377\000\000\145\000\000\000' \
		>"$tmp/empty.pcap"
	tshark -r "$tmp/empty.pcap" -X lua_script:"$P/lib/wireshark/plugins/mikey-ticket.lua" \
		-Y mikey_ticket.tp.flags.j >/dev/null 2>"$tmp/ts.err" ||
		fail "tshark does not load the installed dissector: $(tail -2 "$tmp/ts.err")"
fi
ok "make install prefix=DIR: programs, man pages, SQL, Wireshark dissector, DIR/etc/kms/kmsd.conf with DIR paths"

# An edited kmsd.conf survives the next install; the new one lands beside it.
cp "$C" "$tmp/kmsd.conf.orig"
echo "# edited by the operator" >>"$C"
prefix_install "$P" install2.out
grep -q '^# edited by the operator' "$C" || fail "make install overwrote an edited kmsd.conf"
cmp -s "$C.new" "$tmp/kmsd.conf.orig" || fail "no kmsd.conf.new beside the edited kmsd.conf"
cp "$tmp/kmsd.conf.orig" "$C"
rm -f "$C.new"
ok "make install keeps an edited kmsd.conf and puts the new one beside it (.new)"

mkdir -p "$P/var/lib"
run 0 "$P/bin/kmsctl" -c "$C" init --demo
[ -f "$S/kek" ] && [ -f "$S/kms.db" ] || fail "kmsctl -c init: no KEK or kms.db in $S"
run 0 "$P/sbin/kmsd" "$KMSD_ROOT" -t -c "$C"
port=$(free_port)
daemon kmsd.log "$P/sbin/kmsd" "$KMSD_ROOT" -c "$C" -p "$port"
pid=$dpid
U="http://127.0.0.1:$port/kms"
wait_up "http://127.0.0.1:$port/healthz" "$pid" kmsd
ok "kmsctl -c init --demo, kmsd -t, kmsd -c -p PORT from the installed files"

UE="$P/bin/kms-ue"
a="--psk-file $S/demo-alice.psk"
b="--psk-file $S/demo-bob.psk"
# shellcheck disable=SC2086
"$UE" request $a --id alice@example.org --to bob@example.org \
	--out "$tmp/req.bin" --state "$tmp/alice.st" || fail "request"
[ "$(post_mikey "$U?requesttype=ticketrequest" "$tmp/req.bin" "$tmp/resp.bin")" = 200 ] ||
	fail "ticketrequest"
# shellcheck disable=SC2086
"$UE" transfer-init $a --state "$tmp/alice.st" --resp "$tmp/resp.bin" \
	--out "$tmp/ti.bin" >/dev/null 2>"$tmp/err" || fail "transfer-init"
# shellcheck disable=SC2086
"$UE" resolve $b --id bob@example.org --in "$tmp/ti.bin" --out "$tmp/res.bin" \
	--state "$tmp/bob.st" || fail "resolve"
[ "$(post_mikey "$U?requesttype=ticketresolve" "$tmp/res.bin" "$tmp/rr.bin")" = 200 ] ||
	fail "ticketresolve"
# shellcheck disable=SC2086
"$UE" transfer-resp $b --state "$tmp/bob.st" --resp "$tmp/rr.bin" \
	--out "$tmp/tr.bin" >/dev/null 2>"$tmp/err" || fail "transfer-resp"
"$UE" keys --state "$tmp/bob.st" >"$tmp/keys-bob.json" || fail "keys (bob)"
"$UE" keys --state "$tmp/alice.st" --tr "$tmp/tr.bin" >"$tmp/keys-alice.json" ||
	fail "keys (alice)"
cmp -s "$tmp/keys-bob.json" "$tmp/keys-alice.json" || fail "Alice and Bob keys differ"
grep -q '"srtp_master_key": *"[0-9a-f]\{32\}"' "$tmp/keys-bob.json" || fail "key format"
stop "$pid" kmsd
[ ! -e "$S/kmsd.pid" ] || fail "pid file left after a clean stop"
ok "PSK call through the installed kmsd: Alice and Bob derive the same SRTP keys"
