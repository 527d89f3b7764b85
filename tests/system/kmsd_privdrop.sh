#!/bin/sh
# kmsd started as root switches to kms.user / kms.group (nobody/nogroup)
# once it is bound and has loaded its keys: every thread runs with nobody's
# four user ids and nogroup's four group ids and no other group, not
# dumpable; it serves, reads a rotation that kmsctl -c made afterwards and
# writes its audit log.  kmsctl -c leaves the stores in nogroup; kmsd -t
# names what the account cannot reach; root without kms.user and without
# --allow-root is refused before anything is opened.  Root only.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (switches to nobody)"; exit 77; }
need sqlite3 getent setpriv
if ! getent passwd nobody >/dev/null || ! getent group nogroup >/dev/null; then
	echo "SKIP: no user nobody or group nogroup"
	exit 77
fi
uid=$(getent passwd nobody | cut -d: -f3)
gid=$(getent group nogroup | cut -d: -f3)

# nobody has to reach the state directory and read the file kmsd reloads.
chmod 711 "$tmp"
S="$tmp/state"
port=$(free_port)
B="http://127.0.0.1:$port"
U="$B/kms"
# Reload on SIGHUP only: every reload below is the one the test asked for.
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 2; };
kms = { state_dir = "$S"; user = "nobody"; group = "nogroup"; };
policy = { reload_interval = 0; };
CONF
chmod 644 "$tmp/kmsd.conf"

# --- kmsctl -c: the stores shared with nogroup ------------------------------------------
run 0 "$KMSCTL" -c "$tmp/kmsd.conf" init --demo
[ "$(stat -c '%U:%G %a' "$S")" = "root:nogroup 770" ] ||
	fail "state dir: $(stat -c '%U:%G %a' "$S")"
for f in kek kms.db; do
	[ "$(stat -c '%U:%G %a' "$S/$f")" = "root:nogroup 640" ] ||
		fail "$f: $(stat -c '%U:%G %a' "$S/$f")"
done
[ "$(stat -c '%a' "$S/demo-alice.psk")" = 600 ] || fail "demo key file not 0600"
ok "kmsctl -c init: state dir root:nogroup 0770, KEK and kms.db root:nogroup 0640"

# --- kmsd -t checks as nobody -------------------------------------------------------------
run 0 "$KMSD" -t -c "$tmp/kmsd.conf"
chmod 700 "$S"
run 1 "$KMSD" -t -c "$tmp/kmsd.conf"
grep -q "kms.user nobody (uid $uid gid $gid) cannot read and write kms.state_dir $S" \
	"$tmp/err" || fail "-t: no word of the state dir nobody cannot use"
chmod 770 "$S"
chmod 600 "$S/kek"
run 1 "$KMSD" -t -c "$tmp/kmsd.conf"
grep -q "cannot read kms.kek_file $S/kek" "$tmp/err" || fail "-t: no word of the KEK"
chmod 640 "$S/kek"
ok "kmsd -t: valid as nobody; a state dir or KEK nobody cannot use is named"

# --- started as root, running as nobody -------------------------------------------------------
# Started with supplementary groups (root's own list may be empty), which
# the switch must drop; setpriv execs kmsd, so the pid is kmsd's.
daemon kmsd.log setpriv --groups 0,4 -- "$KMSD" -c "$tmp/kmsd.conf"
pid=$dpid
wait_up "$B/healthz" "$pid" kmsd
ids_ok() { # ids_ok STATUS-FILE: four nobody uids, four nogroup gids, no other group
	awk -v u="$uid" -v g="$gid" '
		$1 == "Uid:" { for (i = 2; i <= 5; i++) if ($i != u) bad = 1; nu++ }
		$1 == "Gid:" { for (i = 2; i <= 5; i++) if ($i != g) bad = 1; ng++ }
		$1 == "Groups:" { for (i = 2; i <= NF; i++) if ($i != g) bad = 1; ngr++ }
		END { exit !(nu == 1 && ng == 1 && ngr == 1 && !bad) }' "$1"
}
threads=0
for t in /proc/"$pid"/task/*; do
	ids_ok "$t/status" || fail "thread $(basename "$t"): $(grep -E '^(Uid|Gid|Groups):' "$t/status")"
	threads=$((threads + 1))
done
[ "$threads" -ge 3 ] || fail "only $threads thread(s) seen"
# Not dumpable: the kernel then keeps /proc/PID owned by root.
[ "$(stat -c %u "/proc/$pid/status")" = 0 ] || fail "kmsd is dumpable after the switch"
log_has "running as user nobody (uid $uid), group nogroup (gid $gid)" 1 kmsd.log ||
	fail "the identity is not logged"
[ "$(stat -c %U "$S/audit.db")" = nobody ] || fail "audit.db not handed to nobody"
ok "$threads threads run as nobody/nogroup (Uid, Gid all four, Groups), not dumpable"

post() { # post TYPE IN OUT: prints the HTTP status
	post_mikey "$U?requesttype=$1" "$2" "$3"
}
# ticket NAME: Alice asks for a ticket to Bob; TRANSFER_INIT in $tmp/NAME.ti
ticket() {
	"$UE" request --psk-file "$S/demo-alice.psk" --id alice@example.org \
		--to bob@example.org --out "$tmp/$1.req" --state "$tmp/$1.a" || fail "request"
	[ "$(post ticketrequest "$tmp/$1.req" "$tmp/$1.resp")" = 200 ] || fail "ticketrequest ($1)"
	"$UE" transfer-init --psk-file "$S/demo-alice.psk" --state "$tmp/$1.a" \
		--resp "$tmp/$1.resp" --out "$tmp/$1.ti" >/dev/null || fail "transfer-init"
}
resolve() { # resolve NAME: prints the status of Bob's RESOLVE_INIT
	"$UE" resolve --psk-file "$S/demo-bob.psk" --id bob@example.org --in "$tmp/$1.ti" \
		--out "$tmp/$1.res" --state "$tmp/$1.b" || fail "resolve"
	post ticketresolve "$tmp/$1.res" "$tmp/$1.rr"
}
ticket first
[ "$(resolve first)" = 200 ] || fail "ticketresolve"
ok "a ticket is issued and resolved"

# --- kmsctl -c rotates and retires; kmsd (nobody) reads the store again ---------------------
old=$("$KMSCTL" -c "$tmp/kmsd.conf" key list | awk '$2 == "active" { print $1 }')
[ -n "$old" ] || fail "no active key"
run 0 "$KMSCTL" -c "$tmp/kmsd.conf" key rotate
run 0 "$KMSCTL" -c "$tmp/kmsd.conf" key retire "$old"
for f in "$S/kms.db" "$S/kms.db-wal" "$S/kms.db-shm"; do
	[ -e "$f" ] || continue
	setpriv --reuid=nobody --regid=nogroup --clear-groups test -r "$f" ||
		fail "nobody cannot read $f"
done
hup "$pid" "reload done"
log_has "reload failed" 1 kmsd.log && fail "a reload failed"
[ "$(resolve first)" = 403 ] || fail "a ticket of the retired key is not refused"
ticket second
[ "$(resolve second)" = 200 ] || fail "no ticket under the new key"
ok "rotation and retirement by kmsctl -c are read by kmsd as nobody"

kmsd_stop
rows=$(sqlite3 "$S/audit.db" 'SELECT count(*) FROM audit;')
[ "$rows" -eq 5 ] || fail "$rows audit rows for 5 requests"
ok "audit.db (nobody's) holds a row for each of the 5 requests"

# --- root without kms.user: refused unless --allow-root ---------------------------------------
R="$tmp/root"
"$KMSCTL" -d "$R" init >/dev/null || fail "kmsctl init (root)"
port=$(free_port)
cat >"$tmp/root.conf" <<CONF
ua = { port = $port; };
kms = { state_dir = "$R"; };
CONF
run 1 "$KMSD" -c "$tmp/root.conf"
grep -q "refusing to run as root: set kms.user" "$tmp/err" || fail "no clear refusal"
[ ! -e "$R/audit.db" ] || fail "audit.db created before the refusal"
run 1 "$KMSD" -t -c "$tmp/root.conf"
grep -q "refusing to run as root" "$tmp/err" || fail "-t does not refuse root"
run 0 "$KMSD" --allow-root -t -c "$tmp/root.conf"
ok "root without kms.user: refused (also by -t) unless --allow-root"
echo "kmsd_privdrop: $n groups passed"
