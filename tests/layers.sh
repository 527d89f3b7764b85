#!/bin/sh
# The layers of docs/architecture.md, checked on the sources: every
# #include "dir/..." of a folder must name the folder itself or one it may
# use.  A new dependency is a decision: change this table and the page.
top_srcdir=${top_srcdir:-.}
cd "$top_srcdir" || exit 1
allowed() { # allowed DIR: the folders DIR may include from
	case $1 in
	common) echo "" ;;
	mikey | gba | policy | sql | net | dia) echo "common" ;;
	zk) echo "common net policy sql" ;;
	kms) echo "common dia gba mikey net policy sql zk" ;;
	bsf-stub) echo "common dia gba net sql" ;;
	tools) echo "common gba kms mikey policy zk" ;;
	esac
}
bad=0
checked=0
for dir in common mikey gba policy sql net dia zk kms bsf-stub tools; do
	ok=" $dir $(allowed "$dir") "
	for f in "$dir"/*.c "$dir"/*.h; do
		[ -f "$f" ] || continue
		checked=$((checked + 1))
		for dep in $(sed -n 's|^#include "\([a-z-]*\)/.*|\1|p' "$f" | sort -u); do
			case $ok in
			*" $dep "*) ;;
			*)
				echo "FAIL: $f includes $dep/ (allowed: $(allowed "$dir"))"
				bad=1
				;;
			esac
		done
	done
done
# kms-ue is the phone: only common/, mikey/ and gba/ (no store, no daemon).
for f in tools/ue_*.c tools/ue_*.h tools/kms-ue.c; do
	[ -f "$f" ] || continue
	if grep -q '^#include "\(kms\|zk\|policy\|sql\|net\)/' "$f"; then
		echo "FAIL: $f (kms-ue) includes a store or daemon header"
		bad=1
	fi
done
[ "$checked" -gt 100 ] || { echo "FAIL: only $checked files found under $top_srcdir"; exit 1; }
[ $bad -eq 0 ] && echo "layers: $checked files, every include points down"
exit $bad
