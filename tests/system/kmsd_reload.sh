#!/bin/sh
# kms.pidfile and kmsctl -c CONF reload: kmsd writes its pid once bound
# (0644), a second kmsd on the same pid file refuses to start, kmsctl
# reload signals the kmsd of the file (kmsd logs the reload), refuses a
# stale pid file and a missing one, and the pid file is gone after a
# clean stop.  -p and -l are over the file and survive a reload without
# a "restart required" warning.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"

port=$(free_port)
S="$tmp/state"
run 0 "$KMSCTL" -d "$S" init
cat >"$tmp/k.conf" <<CONF
ua = { port = 8080; };
kms = { state_dir = "$S"; pidfile = "$S/kmsd.pid"; };
policy = { reload_interval = 0; };
CONF

daemon kmsd.log "$KMSD" "$KMSD_ROOT" -c "$tmp/k.conf" -p "$port" -l 127.0.0.1
pid=$dpid
wait_up "http://127.0.0.1:$port/healthz" "$pid" kmsd
wait_for 5 "no pid file" test -s "$S/kmsd.pid"
[ "$(cat "$S/kmsd.pid")" = "$pid" ] || fail "pid file holds $(cat "$S/kmsd.pid"), not $pid"
[ "$(stat -c %a "$S/kmsd.pid")" = 644 ] || fail "pid file mode $(stat -c %a "$S/kmsd.pid")"
ok "kmsd -p: serves on the port given, pid file written 0644 with its pid"

# A second kmsd on the same pid file (its own port): refused.
port2=$(free_port)
run 1 "$KMSD" "$KMSD_ROOT" -c "$tmp/k.conf" -p "$port2"
grep -q "names a running kmsd" "$tmp/err" || fail "second kmsd: no word of the first"
[ "$(cat "$S/kmsd.pid")" = "$pid" ] || fail "second kmsd replaced the pid file"
ok "a second kmsd with the same pid file refuses to start"

run 0 "$KMSCTL" -c "$tmp/k.conf" reload
grep -q "sent SIGHUP to kmsd (pid $pid)" "$tmp/out" || fail "kmsctl reload: $(cat "$tmp/out")"
wait_count "SIGHUP: reloading" 1
wait_count "reload done" 1
[ "$(log_count "restart required")" = 0 ] ||
	fail "reload of an unchanged file asks for a restart (-p/-l)"
ok "kmsctl -c reload: kmsd reloads; -p and -l are no change to restart for"

# A changed port in the file does ask for a restart, and is named.
sed -i "s/port = 8080/port = 8081/" "$tmp/k.conf"
run 0 "$KMSCTL" -c "$tmp/k.conf" reload
wait_count "reload done" 2
[ "$(log_count "restart required")" = 0 ] ||
	fail "-p given: the file's ua.port is not in force, yet named"
ok "a file port under -p: still no restart asked for"

kmsd_stop
[ ! -e "$S/kmsd.pid" ] || fail "pid file left after a clean stop"
run 1 "$KMSCTL" -c "$tmp/k.conf" reload
grep -q "no pid file $S/kmsd.pid: kmsd is not running" "$tmp/err" ||
	fail "reload without kmsd: $(cat "$tmp/err")"
# A stale pid file naming a process that is not kmsd (this shell).
echo $$ >"$S/kmsd.pid"
run 1 "$KMSCTL" -c "$tmp/k.conf" reload
grep -q "stale pid file $S/kmsd.pid: process $$ is not a running kmsd" "$tmp/err" ||
	fail "stale pid: $(cat "$tmp/err")"
run 2 "$KMSCTL" -d "$S" reload
ok "pid file removed on stop; reload without kmsd or with a stale pid: exit 1, said why"

# kmsd starts over a stale pid file and replaces it.
kmsd_start_p() {
	daemon kmsd.log "$KMSD" "$KMSD_ROOT" -c "$tmp/k.conf" -p "$port"
	pid=$dpid
	wait_up "http://127.0.0.1:$port/healthz" "$pid" kmsd
}
kmsd_start_p
wait_for 5 "stale pid file not replaced" grep -qx "$pid" "$S/kmsd.pid"
kmsd_stop
ok "a stale pid file is replaced"
