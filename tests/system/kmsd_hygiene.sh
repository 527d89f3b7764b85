#!/bin/sh
# Process hygiene of a running kmsd: core dumps off by default (RLIMIT_CORE
# 0 and a notice), the key tables MADV_DONTDUMP ("dd" in VmFlags), and
# log.core_dumps = true leaving the core limit as inherited.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
[ -r /proc/self/limits ] || { echo "SKIP: no /proc/PID/limits"; exit 77; }

S="$tmp/state"
"$KMSCTL" -d "$S" init --demo >"$tmp/init.out" 2>&1 || fail "kmsctl init --demo"

# conf FILE PORT [LOG-GROUP]
conf() {
	cat >"$1" <<CONF
ua = { port = $2; threads = 1; };
kms = { state_dir = "$S"; };
$3
CONF
}

# dd_check WHEN: the keyring (and the PSK table) live in mappings advised
# MADV_DONTDUMP.  smaps needs ptrace access: as non-root only a dumpable
# kmsd shows it.
dd_check() {
	dd=$(awk '/^VmFlags:/ { for (i = 2; i <= NF; i++) if ($i == "dd") n++ }
		END { print n + 0 }' "/proc/$pid/smaps")
	[ "$dd" -ge 1 ] || fail "no mapping with dd in /proc/$pid/smaps"
	ok "$dd key mapping(s) excluded from core dumps (dd, $1)"
}

# --- default: no core dumps ---------------------------------------------------------
port=$(free_port)
conf "$tmp/off.conf" "$port" ""
# ulimit -c: not in POSIX, but in dash, bash and busybox sh.
# shellcheck disable=SC3045
ulimit -c unlimited 2>/dev/null || ulimit -c 1024 2>/dev/null || true
# shellcheck disable=SC3045
inherited=$(ulimit -c)
kmsd_start "$tmp/off.conf" "http://127.0.0.1:$port"
grep -q '^Max core file size  *0  *0 ' "/proc/$pid/limits" ||
	fail "core limit not 0: $(grep 'core file' "/proc/$pid/limits")"
ok "RLIMIT_CORE 0 0"
log_has "core dumps off (not dumpable, RLIMIT_CORE 0)" 1 kmsd.log ||
	fail "no 'core dumps off' notice"
ok "the notice says core dumps are off"
# Not dumpable: the kernel then gives /proc/PID to root.  As root that
# proves nothing, so there the limit and the notice above stand for it.
if [ "$(id -u)" != 0 ]; then
	[ "$(stat -c %u "/proc/$pid/status")" = 0 ] || fail "kmsd is dumpable"
	ok "not dumpable (/proc/PID owned by root)"
fi
if head -c 1 "/proc/$pid/smaps" >/dev/null 2>&1; then
	dd_check "core dumps off"
fi
kmsd_stop

# --- log.core_dumps = true ----------------------------------------------------------
: >"$tmp/kmsd.log"
port=$(free_port)
conf "$tmp/on.conf" "$port" "log = { core_dumps = true; };"
# An ASan build sets RLIMIT_CORE to 0 itself (disable_coredump); ask it not to.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}disable_coredump=0"
export ASAN_OPTIONS
kmsd_start "$tmp/on.conf" "http://127.0.0.1:$port"
limit=$(awk '/^Max core file size/ { print $5 }' "/proc/$pid/limits")
if [ "$inherited" = unlimited ]; then
	[ "$limit" = unlimited ] || fail "core limit $limit, inherited unlimited"
else
	[ "$limit" != 0 ] || [ "$inherited" = 0 ] || fail "core limit forced to 0"
fi
ok "core limit left as inherited ($limit)"
log_has "core dumps allowed by log.core_dumps" 1 kmsd.log ||
	fail "no 'core dumps allowed' notice"
log_has "core dumps off" 1 kmsd.log && fail "'core dumps off' with core_dumps = true"
ok "the notice says core dumps are allowed"
dd_check "core dumps allowed"
kmsd_stop
echo "kmsd_hygiene: $n groups passed"
