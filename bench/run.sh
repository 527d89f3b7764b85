#!/bin/sh
# Ua benchmark, side by side in one run on 127.0.0.1 (not a test):
#   baseline MHD server vs kmsd ticketrequest / ticketresolve at max rate,
#   p50/p99 at half of each max, kmsd RSS before/after TICKETS tickets,
#   replay-cache memory.  Needs ./build (./test.sh or ./run.sh builds it).
# Usage: [BENCH_SWEEP='1 2 4 8 16'] bench/run.sh [TICKETS]   (default 1000000)
#   BENCH_SWEEP: also max req/s of each server at these loadgen connection
#   counts.  Every figure is appended to bench/results/history.tsv
#   (BENCH_HISTORY, see bench/lib.sh); bench/plot.sh draws it.
#   BENCH_N (100000 requests per max-rate run), BENCH_ROUNDS (5): smaller
#   for a quick check of the pipeline (its figures mean nothing).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B="$top/build"
tickets=${1:-1000000}
for p in "$B/kms/kmsd" "$B/tools/kmsctl" "$B/bench/loadgen" "$B/bench/baseline"; do
	[ -x "$p" ] || { echo "bench/run.sh: $p missing: build first" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kms_bench.XXXXXX")
kpid=""
bpid=""
fpid=""
cleanup() {
	[ -n "$kpid" ] && kill "$kpid" 2>/dev/null || true
	[ -n "$bpid" ] && kill "$bpid" 2>/dev/null || true
	[ -n "$fpid" ] && kill "$fpid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
. "$top/bench/lib.sh" # $srv, $cli (CPU pinning), $srv_threads, free_port, hist_*
hist_init bench/run.sh
kport=$(free_port)
bport=$(free_port)
fport=$(free_port)
"$B/tools/kmsctl" -d "$tmp/s" init --demo >/dev/null
"$B/bsf-stub/bsf-stubd" -d "$tmp/bsf" --init --demo >/dev/null
$srv "$B/bsf-stub/bsf-stubd" -d "$tmp/bsf" -p "$fport" >"$tmp/bsf.log" 2>&1 &
fpid=$!
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $kport; threads = $srv_threads; };
kms = { state_dir = "$tmp/s"; psk_source = "both"; };
naf = { enabled = true; bsf_url = "http://127.0.0.1:$fport/zn"; };
policy = { replay_entries = 4194304; };
log = { level = "notice"; };
CONF
$srv "$B/kms/kmsd" $root_flag -c "$tmp/kmsd.conf" >"$tmp/kmsd.log" 2>&1 &
kpid=$!
$srv "$B/bench/baseline" -p "$bport" -t "$srv_threads" &
bpid=$!
i=0
until curl -s "http://127.0.0.1:$kport/readyz" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -le 100 ] || { echo "kmsd did not start" >&2; cat "$tmp/kmsd.log" >&2; exit 1; }
	sleep 0.1
done
# One loadgen run; its key=value line on stdout.  Any refusal or broken
# connection stops the whole benchmark (TERM to this script runs cleanup).
lg() {
	if ! $cli "$B/bench/loadgen" -s "$tmp/s" -c "${conc:-4}" -d 60 "$@" >"$tmp/lg.out" 2>&1; then
		echo "bench/run.sh: loadgen $* failed:" >&2
		cat "$tmp/lg.out" >&2
		tail -n 20 "$tmp/kmsd.log" >&2
		kill -TERM $$
		exit 1
	fi
	head -n 1 "$tmp/lg.out"
}
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
rss() { awk '/VmRSS/ { print $2 }' "/proc/$kpid/status"; }

# Max rates: five interleaved rounds (baseline, request, resolve, a few
# seconds apart).  This shared host drifts between a fast and a slow state
# that moves the bare server by ~30 % but kmsd far less; a state change in
# mid-run makes the ratio of the medians pair a fast baseline round with
# slow kmsd rounds.  So the ratio is the median of the per-round ratios
# (each from rounds measured together); the ratio of the medians is shown
# too.
n=${BENCH_N:-100000} # requests per max-rate run
rounds=${BENCH_ROUNDS:-5}
median() { tr ' ' '\n' | sed '/^$/d' | sort -n | sed -n "$(((rounds + 1) / 2))p"; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # utime + stime, clock ticks
hz=$(getconf CLK_TCK)
# lgc PID LOADGEN_ARGS: one lg run; prints "rps cpu_us", cpu_us being the
# server CPU (process PID) per request it served.
lgc() {
	p=$1
	shift
	t0=$(ticks "$p")
	o=$(lg "$@")
	t1=$(ticks "$p")
	echo "$(field "$o" rps) $(python3 -c "print('%.2f' % (($t1 - $t0) * 1e6 / $hz / $(field "$o" sent)))")"
}
raws=""
reqs=""
ress=""
rawc=""
reqc=""
resc=""
round=0
while [ $round -lt $rounds ]; do
	round=$((round + 1))
	o=$(lgc "$bpid" -p "$bport" -m raw -n $n)
	raws="$raws ${o% *}"
	rawc="$rawc ${o#* }"
	o=$(lgc "$kpid" -p "$kport" -m request -n $n)
	reqs="$reqs ${o% *}"
	reqc="$reqc ${o#* }"
	o=$(lgc "$kpid" -p "$kport" -m resolve -n $n)
	ress="$ress ${o% *}"
	resc="$resc ${o#* }"
done
raw_rps=$(echo $raws | median)
req_rps=$(echo $reqs | median)
res_rps=$(echo $ress | median)
fmedian() { python3 -c 'import statistics, sys
print("%.2f" % statistics.median(float(x) for x in sys.argv[1].split()))' "$1"; }
raw_cpu=$(fmedian "$rawc")
req_cpu=$(fmedian "$reqc")
res_cpu=$(fmedian "$resc")
# Median over rounds of kmsd/baseline, each round's own pair.
round_ratio() {
	python3 -c 'import statistics, sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
print("%.2f" % statistics.median(x / y for x, y in zip(a, b)))' "$1" "$2"
}
echo "rounds: baseline$raws; ticketrequest$reqs; ticketresolve$ress" >&2
req_ratio=$(round_ratio "$reqs" "$raws")
res_ratio=$(round_ratio "$ress" "$raws")
req_cratio=$(round_ratio "$reqc" "$rawc")
res_cratio=$(round_ratio "$resc" "$rawc")
half_req=$((req_rps / 2))
half_res=$((res_rps / 2))
hreq=$(lg -p "$kport" -m request -n $((half_req * 5)) -r "$half_req")
hres=$(lg -p "$kport" -m resolve -n $((half_res * 5)) -r "$half_res")
hraw=$(lg -p "$bport" -m raw -n $((raw_rps / 2 * 5)) -r $((raw_rps / 2)))

# Max req/s against the number of connections (BENCH_SWEEP), one run each.
sweep=""
for conc in ${BENCH_SWEEP:-}; do
	case $conc in '' | *[!0-9]*) echo "bench/run.sh: BENCH_SWEEP: $conc is not a number" >&2; exit 2 ;; esac
	s_raw=$(field "$(lg -p "$bport" -m raw -n $n)" rps)
	s_req=$(field "$(lg -p "$kport" -m request -n $n)" rps)
	s_res=$(field "$(lg -p "$kport" -m resolve -n $n)" rps)
	hist_add baseline "$conc" sweep_rps "$s_raw"
	hist_add ticketrequest "$conc" sweep_rps "$s_req"
	hist_add ticketresolve "$conc" sweep_rps "$s_res"
	sweep="$sweep
| $conc | $s_raw | $s_req | $s_res |"
done
conc=4

rss0=$(rss)
done_t=0
runs=0
t_rss=$(date +%s)
# Bounded: at most TICKETS/200000 + 5 batches and 5 minutes.
while [ $done_t -lt "$tickets" ] && [ $runs -lt $((tickets / 200000 + 5)) ] &&
	[ $(($(date +%s) - t_rss)) -lt 300 ]; do
	runs=$((runs + 1))
	batch=$((tickets - done_t))
	[ $batch -gt 200000 ] && batch=200000
	out=$(lg -p "$kport" -m request -n $batch)
	done_t=$((done_t + $(field "$out" sent)))
done
t_rss=$(($(date +%s) - t_rss))
rss1=$(rss)

# GBA: alice bootstraps once; her tickets then use the NAF key cache.
"$B/tools/kms-ue" bootstrap --usim "$tmp/bsf/demo-alice.usim" \
	--bsf "http://127.0.0.1:$fport/ub" --naf-fqdn kms.example.org --out "$tmp/alice.gba" \
	>/dev/null
gba=$(lg -p "$kport" -m request -n $n -g "$tmp/alice.gba")
kill -TERM "$kpid"
i=0
while kill -0 "$kpid" 2>/dev/null && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done
kpid=""
naf=$(sed -n 's/.*naf: stats \(.*\)/\1/p' "$tmp/kmsd.log" | tail -n 1)
replay=$(sed -n 's/.*replay cache: \([0-9]*\) entries, \([0-9]*\) bytes.*/\1 entries, \2 bytes/p' "$tmp/kmsd.log")

ratio() { python3 -c "print('%.2f' % ($1 / $2))"; }
note="median of $rounds rounds, $n requests each"
hist_add baseline 4 rps "$raw_rps" "$note"
hist_add ticketrequest 4 rps "$req_rps" "$note"
hist_add ticketresolve 4 rps "$res_rps" "$note"
hist_add ticketrequest 4 rps_ratio "$req_ratio" "$note; median per round"
hist_add ticketresolve 4 rps_ratio "$res_ratio" "$note; median per round"
hist_add baseline 4 cpu_us "$raw_cpu" "$note"
hist_add ticketrequest 4 cpu_us "$req_cpu" "$note"
hist_add ticketresolve 4 cpu_us "$res_cpu" "$note"
hist_add ticketrequest 4 cpu_ratio "$req_cratio" "$note; median per round"
hist_add ticketresolve 4 cpu_ratio "$res_cratio" "$note; median per round"
for e in baseline:hraw ticketrequest:hreq ticketresolve:hres; do
	eval "o=\$${e#*:}"
	for m in p50_us p90_us p99_us; do
		hist_add "${e%:*}" 4 "$m" "$(field "$o" "$m")" "at half max ($(field "$o" rps) req/s)"
	done
done
hist_append
cat <<TABLE
| measure | baseline (bare MHD) | ticketrequest | ticketresolve |
|---|---|---|---|
| max req/s (4 keep-alive connections, median of $rounds rounds) | $raw_rps | $req_rps | $res_rps |
| ratio to baseline (median of the per-round ratios) | 1.00 | $req_ratio | $res_ratio |
| ratio of the medians | 1.00 | $(ratio "$req_rps" "$raw_rps") | $(ratio "$res_rps" "$raw_rps") |
| server CPU per request, us (median) | $raw_cpu | $req_cpu | $res_cpu |
| CPU per request / baseline's (median per round) | 1.00 | $req_cratio | $res_cratio |
| p50 / p90 / p99 latency at half max (us) | $(field "$hraw" p50_us) / $(field "$hraw" p90_us) / $(field "$hraw" p99_us) | $(field "$hreq" p50_us) / $(field "$hreq" p90_us) / $(field "$hreq" p99_us) | $(field "$hres" p50_us) / $(field "$hres" p90_us) / $(field "$hres" p99_us) |
| half-max run: rate reached (req/s) | $(field "$hraw" rps) | $(field "$hreq" rps) | $(field "$hres" rps) |
| answer body (bytes) | $(field "$hraw" resp_avg_b) | $(field "$hreq" resp_avg_b) | $(field "$hres" resp_avg_b) |
| ticketrequest with a GBA key (NAF cache), req/s | | $(field "$gba" rps) | |

kmsd RSS: $rss0 kB before, $rss1 kB after $done_t more tickets (issued in $t_rss s);
replay cache: $replay.
NAF key cache over the GBA run ($(field "$gba" sent) requests, one B-TID): $naf.
TABLE
if [ -n "$sweep" ]; then
	printf '\n| connections | baseline req/s | ticketrequest req/s | ticketresolve req/s |\n|---|---|---|---|%s\n' "$sweep"
fi
