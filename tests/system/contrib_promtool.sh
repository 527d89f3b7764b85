#!/bin/sh
# `promtool check rules` on contrib/prometheus/kms-alerts.yml, where Debian's
# prometheus package is installed (77 otherwise: it is a 96 MB server, not
# one of the test dependencies; contrib_check.sh checks the rules without it).
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
src=${top_srcdir:-.}
command -v promtool >/dev/null 2>&1 || {
	echo "SKIP: promtool not found"
	exit 77
}
promtool check rules "$src/contrib/prometheus/kms-alerts.yml" >"$tmp/promtool.out" 2>&1 ||
	fail "promtool check rules: $(cat "$tmp/promtool.out")"
ok "promtool check rules: $(tail -n 1 "$tmp/promtool.out")"
