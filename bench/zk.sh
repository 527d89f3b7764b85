#!/bin/sh
# Resolve via Zk next to a local resolve (not a test; docs/benchmarks.md):
# KMS1 issues the tickets; "local" resolves go to KMS1 itself, "via Zk"
# resolves go to KMS2, which forwards each one to KMS1 over mutual TLS.
# Max rate (median of 3) and p50/p99 at half of each max, the TLS
# connections KMS2 opened, and the server CPU per resolve: utime + stime
# of both kmsd (/proc/PID/stat) over the max-rate runs, divided by the
# resolves sent, for a forwarded resolve against a local one (the goal for
# their ratio: at most 2.5).
# --slow-peer: KMS2 reaches KMS1 through bench/delay_proxy.py, which holds
# every answer of KMS1 for 1 s; while 16 connections keep forwarded
# resolves outstanding at KMS2 (more than its Ua threads), local resolves
# at KMS2 (tickets KMS2 issued) run at half their max rate: their p50/p99
# against the same run without the slow forwards.
# Needs ./build (or KMS_BUILD=DIR: another build, e.g. for a before/after
# pair), openssl and python3.
# Usage: bench/zk.sh [REQUESTS]          (default 20000 per max-rate run)
#        bench/zk.sh --slow-peer [SECONDS]  (default 20 per timed run)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B=${KMS_BUILD:-$top/build}
mode=max
if [ "${1:-}" = --slow-peer ]; then
	mode=slow
	shift
fi
n=${1:-20000}
secs=${1:-20}
for p in "$B/kms/kmsd" "$B/tools/kmsctl" "$B/bench/loadgen"; do
	[ -x "$p" ] || { echo "bench/zk.sh: $p missing: build first" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kms_zkbench.XXXXXX")
p1=""
p2=""
pp=""
fpid=""
cleanup() {
	for p in $fpid $p1 $p2 $pp; do kill "$p" 2>/dev/null || true; done
	[ -n "${ZK_BENCH_KEEP:-}" ] && cp "$tmp"/kms*.log /tmp/ 2>/dev/null; rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
. "$top/bench/lib.sh"
sh "$top/tests/zk-certs.sh" "$tmp/pki"
ua1=$(free_port)
ua2=$(free_port)
zk1=$(free_port)
zk2=$(free_port)
zkp=$zk1 # where KMS2 reaches KMS1's Zk listener
zkconf=""
if [ $mode = slow ]; then
	zkp=$(free_port)
	python3 "$top/bench/delay_proxy.py" "$zkp" "$zk1" 1000 >"$tmp/proxy.log" 2>&1 &
	pp=$!
	# A handshake through the proxy takes ~1 s, each answer 1 s more.
	zkconf="timeout_ms = 10000; connect_timeout_ms = 5000;"
fi
K="$B/tools/kmsctl"
"$K" -d "$tmp/s1" init --demo >/dev/null
"$K" -d "$tmp/s2" init >/dev/null
# Bob is a user of KMS2 too, with the same key as at KMS1 (one key file for loadgen).
"$K" -d "$tmp/s2" psk add bob@example.org --identity bob@example.org \
	--key-file "$tmp/s1/demo-bob.psk" >/dev/null
"$K" -d "$tmp/s1" peer add --kms-id kms.d2.example --url "https://127.0.0.1:$zk2/kms" \
	--ca "$tmp/pki/ca1.crt" --cert-name kms2.test --responders 'bob@example.org' \
	--generate "$tmp/peer.key" >/dev/null
# Alice too, for resolves local to KMS2 (tickets KMS2 issues: --slow-peer).
"$K" -d "$tmp/s2" psk add alice@example.org --identity alice@example.org \
	--key-file "$tmp/s1/demo-alice.psk" >/dev/null
"$K" -d "$tmp/s2" peer add --kms-id kms.d1.example --url "https://127.0.0.1:$zkp/kms" \
	--ca "$tmp/pki/ca1.crt" --cert-name kms1.test --responders '*@example.org' \
	--key-file "$tmp/peer.key" >/dev/null
for d in 1 2; do
	eval "ua=\$ua$d; zk=\$zk$d"
	cat >"$tmp/kms$d.conf" <<CONF
ua = { port = $ua; threads = $srv_threads; };
kms = { kms_id = "kms.d$d.example"; state_dir = "$tmp/s$d"; };
zk = { enabled = true; port = $zk; threads = 2; cert_file = "$tmp/pki/kms$d.crt";
       key_file = "$tmp/pki/kms$d.key"; ca_file = "$tmp/pki/ca1.crt"; $zkconf };
policy = { replay_entries = 4194304; };
log = { level = "${ZK_BENCH_LOG:-notice}"; };
CONF
	$srv "$B/kms/kmsd" $root_flag -c "$tmp/kms$d.conf" >"$tmp/kms$d.log" 2>&1 &
	eval "p$d=\$!"
	i=0
	until curl -s "http://127.0.0.1:$ua/readyz" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -le 100 ] || { echo "kmsd $d did not start" >&2; cat "$tmp/kms$d.log" >&2; exit 1; }
		sleep 0.1
	done
done
# lg ARGS: one loadgen run; its summary line.
lg() {
	if ! $cli "$B/bench/loadgen" -s "$tmp/s1" -c 4 -d 60 -m resolve "$@" \
		>"$tmp/lg.out" 2>&1; then
		echo "bench/zk.sh: loadgen $* failed:" >&2
		cat "$tmp/lg.out" >&2
		tail -n 20 "$tmp/kms1.log" "$tmp/kms2.log" >&2
		kill -TERM $$
		exit 1
	fi
	head -n 1 "$tmp/lg.out"
}
local1() { lg -p "$ua1" --kms-id kms.d1.example --ticket-port "$ua1" \
	--ticket-kms-id kms.d1.example "$@"; }
via_zk() { lg -p "$ua2" --kms-id kms.d2.example --ticket-port "$ua1" \
	--ticket-kms-id kms.d1.example "$@"; }
local2() { lg -p "$ua2" --kms-id kms.d2.example --ticket-port "$ua2" \
	--ticket-kms-id kms.d2.example "$@"; } # KMS2's own tickets
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
median() { tr ' ' '\n' | sort -n | sed -n 2p; }
# Established TCP connections to 127.0.0.1:PORT (/proc/net/tcp).
conns_to() {
	awk -v p="$(printf ':%04X' "$1")" '$2 ~ p"$" && $4 == "01" { n++ }
		END { print n + 0 }' /proc/net/tcp
}
# utime + stime of both kmsd, in clock ticks (fields 14 and 15 of
# /proc/PID/stat; counted after the ") " that ends the command name).
cpu_ticks() {
	ct=0
	for p in $p1 $p2; do
		set -- $(sed 's/^.*) //' "/proc/$p/stat")
		ct=$((ct + ${12} + ${13}))
	done
	echo $ct
}
# cpu_run KIND CMD...: CMD's summary line; the ticks both kmsd used and
# the resolves sent are added to $tmp/cpu.KIND.
cpu_run() {
	kind=$1
	shift
	c0=$(cpu_ticks)
	out=$("$@")
	c1=$(cpu_ticks)
	echo "$((c1 - c0)) $(field "$out" sent)" >>"$tmp/cpu.$kind"
	echo "$out"
}
# us of server CPU per resolve over the runs of KIND.
cpu_per() {
	awk -v hz="$(getconf CLK_TCK)" '{ t += $1; r += $2 }
		END { if (r > 0) printf "%.1f", t * 1e6 / hz / r; else print "-" }' \
		"$tmp/cpu.$1"
}

if [ $mode = slow ]; then
	max=$(field "$(local2 -n "$((secs * 1000))")" rps)
	rate=$((max / 2))
	quiet=$(local2 -n $((rate * secs)) -r "$rate" -d $((secs + 20)))
	# Forwards kept outstanding: 16 connections, each answer 1 s late.
	$cli "$B/bench/loadgen" -s "$tmp/s1" -c 16 -m resolve -p "$ua2" \
		--kms-id kms.d2.example --ticket-port "$ua1" --ticket-kms-id kms.d1.example \
		-n $((16 * (secs + 5))) -d $((secs + 30)) >"$tmp/fwd.out" 2>&1 &
	fpid=$!
	# Until 8 forwarding connections reached the proxy (at most 10 s).
	i=0
	until [ "$(conns_to "$zkp")" -ge 8 ] || [ $i -ge 100 ]; do
		i=$((i + 1))
		sleep 0.1
	done
	slow=$(local2 -n $((rate * secs)) -r "$rate" -d $((secs + 20)))
	wait "$fpid" || true
	fpid=""
	fwd=$(head -n 1 "$tmp/fwd.out")
	cat <<TABLE
| local resolves at KMS2 (half of max, $rate req/s for $secs s) | p50 (us) | p99 (us) | sent / not 200 |
|---|---|---|---|
| KMS1 answering at once | $(field "$quiet" p50_us) | $(field "$quiet" p99_us) | $(field "$quiet" sent) / $(field "$quiet" non200) |
| KMS1 answering each forward 1 s late, 16 forwards outstanding | $(field "$slow" p50_us) | $(field "$slow" p99_us) | $(field "$slow" sent) / $(field "$slow" non200) |

KMS2's max rate of local resolves: $max req/s.  Forwards meanwhile: $(field "$fwd" sent) sent, $(field "$fwd" non200) not 200, $(field "$fwd" failed) failed, p50 $(field "$fwd" p50_us) us.
TABLE
	exit 0
fi

local_runs=""
zk_runs=""
for round in 1 2 3; do
	local_runs="$local_runs $(field "$(cpu_run local local1 -n "$n")" rps)"
	zk_runs="$zk_runs $(field "$(cpu_run zk via_zk -n "$n")" rps)"
done
lr=$(echo $local_runs | median)
zr=$(echo $zk_runs | median)
echo "rounds: local$local_runs; via Zk$zk_runs" >&2
hl=$(local1 -n $((lr / 2 * 5)) -r $((lr / 2)))
hz=$(via_zk -n $((zr / 2 * 5)) -r $((zr / 2)))
mz=$(via_zk -n "$n")
cl=$(cpu_per local)
cz=$(cpu_per zk)
ratio=$(awk -v a="$cz" -v b="$cl" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
kill -HUP "$p2"
sleep 0.5
stats=$(sed -n 's/.*zk: stats \(.*\)/\1/p' "$tmp/kms2.log" | tail -n 1)
cat <<TABLE
| measure | local resolve (KMS1) | resolve via Zk (KMS2 -> KMS1) |
|---|---|---|
| max req/s (4 keep-alive connections, median of 3) | $lr | $zr |
| p50 / p99 at max (us), one more run | | $(field "$mz" p50_us) / $(field "$mz" p99_us) |
| p50 / p99 at half max (us) | $(field "$hl" p50_us) / $(field "$hl" p99_us) | $(field "$hz" p50_us) / $(field "$hz" p99_us) |
| half-max run: rate reached (req/s) | $(field "$hl" rps) | $(field "$hz" rps) |
| server CPU per resolve (us, both kmsd, max-rate runs) | $cl | $cz |

CPU per forwarded resolve / per local resolve: $ratio (goal: at most 2.5).
KMS2's Zk client over the whole run: $stats.
TABLE
