#!/bin/sh
# A stopped BSF (SIGSTOP: connections accepted by the kernel, never
# answered) must not stall requests whose keys are cached.  kmsd runs with
# 1 Ua thread; Zn misses wait for the BSF (30 s timeout) parked, without a
# thread, while more cached-key requests than threads, on keep-alive
# connections owned by either thread, are all served.
# Then: the misses for one B-TID shared one Zn call and get the BSF's
# answer once it runs again (across a reload); and kmsd stopping with a
# request still parked answers it 503 and exits cleanly.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
BSFD="$top_builddir/bsf-stub/bsf-stubd"
BURST="$top_srcdir/tests/system/post_burst.py"
[ -x "$BSFD" ] || fail "bsf-stubd not built: $BSFD"

port=$(free_port)
bp=$(free_port)
B="http://127.0.0.1:$port"
BSF="http://127.0.0.1:$bp"
S="$tmp/state"
BD="$tmp/bsf"
CACHED=8 # cached-key requests at once: more than ua.threads
MISSES=3 # Zn misses, all for one unknown B-TID

"$BSFD" -d "$BD" --init --demo >"$tmp/bsf-init.out" 2>&1 || fail "bsf-stubd --init --demo"
daemon bsf.log "$BSFD" -d "$BD" -p "$bp" --lifetime 3600
bpid=$dpid
wait_up "$BSF/healthz" "$bpid" bsf-stubd
"$KMSCTL" -d "$S" init >"$tmp/init.out" 2>&1 || fail "kmsctl init"
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 1; conn_timeout = 2; };
kms = { state_dir = "$S"; psk_source = "gba"; };
naf = { enabled = true; bsf_url = "$BSF/zn"; fqdn = "kms.example.org";
        timeout_ms = 30000; connect_timeout_ms = 1000; retries = 0;
        cache_entries = 1024; negative_ttl = 600; };
CONF
kmsd_start "$tmp/kmsd.conf" "$B"

# req GBAFILE NAME: a REQUEST_INIT from Alice to Bob in $tmp/NAME.bin.
req() {
	"$UE" request --gba "$1" --id alice@example.org --to bob@example.org \
		--out "$tmp/$2.bin" --state "$tmp/$2.st" 2>"$tmp/err" || fail "request $2"
}
# unread_at_bsf: a connection to the BSF holds bytes it has not read (a Zn
# request reached the stopped BSF).
unread_at_bsf() {
	python3 - "$bp" <<'EOF'
import sys
port = ":%04X" % int(sys.argv[1])
for name in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        lines = open(name).read().splitlines()[1:]
    except OSError:
        continue
    for l in lines:
        f = l.split()
        if f[1].endswith(port) and int(f[4].split(":")[1], 16) > 0:
            sys.exit(0)
sys.exit(1)
EOF
}
ready() { # ready NAME...: the connection of every request NAME is warm
	for r_n in "$@"; do [ -e "$tmp/$r_n.ready" ] || return 1; done
}
sent() { # sent NAME...: every request NAME was sent
	for s_n in "$@"; do [ -e "$tmp/$s_n.sent" ] || return 1; done
}
answered() { # answered NAME...: every request NAME has its answer
	for a_n in "$@"; do [ -e "$tmp/$a_n.res" ] || return 1; done
}
status_of() { cat "$tmp/$1.res"; }

# --- prime the cache with Alice's key --------------------------------------------------
"$UE" bootstrap --usim "$BD/demo-alice.usim" --bsf "$BSF/ub" --out "$tmp/alice.gba" \
	>"$tmp/boot.out" 2>"$tmp/err" || fail "bootstrap alice"
req "$tmp/alice.gba" prime
[ "$(post_mikey "$B/kms?requesttype=ticketrequest" "$tmp/prime.bin" "$tmp/r.bin")" = 200 ] ||
	fail "the first request (Zn) is not served"
cached="" k=0
while [ $k -lt $CACHED ]; do
	k=$((k + 1))
	req "$tmp/alice.gba" "hit$k"
	cached="$cached hit$k"
done
fake="$(head -c 16 /dev/urandom | base64)@bsf.example.org"
sed "s|^btid=.*|btid=$fake|" "$tmp/alice.gba" >"$tmp/fake.gba"
chmod 600 "$tmp/fake.gba"
misses="" k=0
while [ $k -lt $MISSES ]; do
	k=$((k + 1))
	req "$tmp/fake.gba" "miss$k"
	misses="$misses miss$k"
done
ok "Alice's key cached with one Zn request; $CACHED cached-key and $MISSES miss requests made"

# --- BSF stopped: misses pending, cached keys served -------------------------------------
# Every request has its own keep-alive connection, warmed first: each Ua
# thread owns some of them, whichever thread a miss then runs on.
# shellcheck disable=SC2086
daemon burst-hit.log python3 "$BURST" "$port" "$tmp" "$tmp/go" $cached
hpid=$dpid
# shellcheck disable=SC2086
wait_for 30 "the cached-key connections were not all warmed" ready $cached
kill -STOP "$bpid"
# shellcheck disable=SC2086
daemon burst-miss.log python3 "$BURST" "$port" "$tmp" - $misses
mpid=$dpid
# shellcheck disable=SC2086
wait_for 30 "the misses were not sent" sent $misses
wait_for 30 "no Zn request reached the stopped BSF" unread_at_bsf
: >"$tmp/go"
# shellcheck disable=SC2086
wait_for 60 "the cached-key requests were not all answered" answered $cached
# shellcheck disable=SC2086
answered $misses && fail "the misses ended before the cached-key requests were all \
served: $(for m in $misses; do printf '%s ' "$(status_of "$m")"; done)"
for h in $cached; do
	[ "$(status_of "$h")" = 200 ] || fail "cached-key request $h: $(status_of "$h")"
done
wait "$hpid" || fail "burst of cached-key requests"
untrack "$hpid"
ok "BSF stopped: $CACHED cached-key requests on 1 Ua thread all 200 while $MISSES Zn misses wait"

# --- one Zn call for the three misses; a reload while they wait; the BSF back -------------
[ "$(log_count "request parked: Zn lookup started")" = 2 ] || fail "not one Zn call for the misses"
[ "$(log_count "request parked: joined the Zn lookup under way")" = $((MISSES - 1)) ] ||
	fail "the misses did not join the Zn call under way"
hup "$pid" "reload done"
kill -CONT "$bpid"
# shellcheck disable=SC2086
wait_for 20 "the misses were not answered after the BSF came back" answered $misses
for m in $misses; do
	[ "$(status_of "$m")" = 401 ] || fail "miss $m: $(status_of "$m"), expected 401"
done
wait "$mpid" || fail "burst of misses"
untrack "$mpid"
zn=$(grep -cF "[btid:$(echo "$fake" | cut -c1-10)...] Zn: 404" "$tmp/kmsd.log" || true)
[ "$zn" = 1 ] || fail "$zn Zn answers for the unknown B-TID, expected 1"
ok "the $MISSES misses shared one Zn call, waited across a reload, then got 401 (bootstrap again)"

# --- stopping with a request parked: answered 503, clean exit ------------------------------
kill -STOP "$bpid"
fake2="$(head -c 16 /dev/urandom | base64)@bsf.example.org"
sed "s|^btid=.*|btid=$fake2|" "$tmp/alice.gba" >"$tmp/fake2.gba"
chmod 600 "$tmp/fake2.gba"
req "$tmp/fake2.gba" last
daemon burst-last.log python3 "$BURST" "$port" "$tmp" - last
lpid=$dpid
wait_for 20 "the last request was not parked" log_has "request parked: Zn lookup started" 3 kmsd.log
kmsd_stop
wait_for 10 "the parked request was not answered at stop" answered last
[ "$(status_of last)" = 503 ] || fail "parked request at stop: $(status_of last)"
grep -q "waiting for an outbound call resumed" "$tmp/kmsd.log" ||
	fail "kmsd did not resume the parked request itself"
wait "$lpid" || true
untrack "$lpid"
kill -CONT "$bpid"
stop "$bpid" bsf-stubd
ok "kmsd stopped with a request parked: resumed, answered 503, exit 0"
echo "kmsd_zn_stall: $n groups passed"
