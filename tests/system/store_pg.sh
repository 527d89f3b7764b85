#!/bin/sh
# The store unit tests on PostgreSQL: the binaries of test_sqldb,
# test_keyring, test_psk_static, test_policy_store, test_audit and test_zk
# run with KMS_TEST_PG naming a throwaway cluster, so each of their tests
# gets a fresh schema (tests/unit/store.h).  All must pass; the checks that
# only PostgreSQL has must have run; the SQLite-only ones must say they were
# skipped; no test schema is left behind.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need_pg
need timeout

tests="test_sqldb test_keyring test_psk_static test_policy_store test_audit test_zk test_tpk"
for t in $tests; do
	[ -x "$top_builddir/tests/unit/$t" ] ||
		fail "$top_builddir/tests/unit/$t is not built (make check builds it)"
done
pg_start
KMS_TEST_PG=$PG_CONNINFO
export KMS_TEST_PG

# Side by side: each test has its own schemas.  timeout bounds a hang (a
# lock never released) that the binaries' own bounded waits would miss.
pids=""
for t in $tests; do
	daemon "$t.log" timeout 120 "$top_builddir/tests/unit/$t"
	pids="$pids $t:$dpid"
done
for tp in $pids; do
	t=${tp%%:*}
	set +e
	wait "${tp#*:}"
	rc=$?
	set -e
	untrack "${tp#*:}"
	if [ "$rc" -ne 0 ] || ! grep -q "tests run, all passed" "$tmp/$t.log"; then
		grep -B1 -A4 "FAILED" "$tmp/$t.log" >&2 || true
		fail "$t on PostgreSQL: exit status $rc"
	fi
	ok "$t on PostgreSQL"
done

# The PostgreSQL-only checks ran; the SQLite-only ones were skipped aloud.
! grep -q "PostgreSQL only" "$tmp/test_sqldb.log" || fail "PostgreSQL checks skipped"
for c in reconnected_once second_waits sees_it_after_commit; do
	grep -q "Test: given_.*_$c \.\.\." "$tmp/test_sqldb.log" || fail "test_sqldb: no $c"
done
grep -q "SKIP given_no_file_when_open_with_create_then_0600_wal_and_foreign_keys on PostgreSQL" \
	"$tmp/test_sqldb.log" || fail "no SKIP line for a SQLite-only test"
grep -q "postgresql: reconnected" "$tmp/test_sqldb.log" || fail "no reconnection logged"
ok "PostgreSQL checks run, SQLite-only ones skipped"

# Every test schema was dropped when its program exited.
left=$(pg_sql "SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname LIKE 't\\_%'")
[ "$left" = 0 ] || fail "$left test schemas left behind"
ok "test schemas dropped"
pg_stop
