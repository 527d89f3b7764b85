#!/bin/sh
# --version on every program: "NAME (kms) VERSION" on stdout, exit 0.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"

ver=$(sed -n 's/^AC_INIT(\[kms\], \[\([^]]*\)\].*/\1/p' "$top_srcdir/configure.ac")
[ -n "$ver" ] || fail "no version in configure.ac"
for prog in "$KMSD" "$KMSCTL" "$UE" "$top_builddir/bsf-stub/bsf-stubd"; do
	name=$(basename "$prog")
	run 0 "$prog" --version
	[ "$(cat "$tmp/out")" = "$name (kms) $ver" ] ||
		fail "$name --version printed '$(cat "$tmp/out")'"
done
ok "kmsd, kmsctl, kms-ue, bsf-stubd --version: NAME (kms) $ver, exit 0"
