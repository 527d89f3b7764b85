#!/bin/sh
# Check that every C file is formatted per .clang-format (no changes made).
top=${1:-.}
cd "$top" || exit 1
if ! command -v clang-format >/dev/null 2>&1; then
	echo "format-check: clang-format not installed" >&2
	exit 1
fi
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
[ -z "$files" ] && files=$(find . -name '*.[ch]' -not -path './build*')
bad=0
for f in $files; do
	[ -f "$f" ] || continue
	if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "format-check: $f is not formatted (clang-format -i $f)"
		bad=1
	fi
done
[ $bad -eq 0 ] && echo "format-check: ok"
exit $bad
