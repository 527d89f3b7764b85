#!/bin/sh
# Two kmsd builds side by side in one run on 127.0.0.1 (not a test): the
# bare libmicrohttpd baseline, kmsd A and kmsd B, interleaved round by round
# (baseline, A request, B request, A resolve, B resolve), each server pinned
# to the same core and loaded alone.  Prints throughput and server CPU per
# request (utime + stime of the server process over the requests it served)
# for each, and B/A ratios per round (median).
# Usage: [A_ARGS=...] [B_ARGS=...] bench/compare.sh KMSD_A KMSD_B [ROUNDS] [REQUESTS]
#   e.g. bench/compare.sh /tmp/old/kms/kmsd build/kms/kmsd 5 100000
#   A_ARGS / B_ARGS: extra loadgen options for A's / B's runs, e.g.
#   B_ARGS="--ticket-type 2 --uri" (a 3GPP UE: Type 2 tickets, SIP URIs).
#   A_CONF / B_CONF: extra kmsd.conf groups for A / B, e.g. the same binary
#   twice with B_CONF='audit = { durable = true; };'.  Without a log group
#   there, kmsd logs at notice (no line per request).
#   A_THREADS / B_THREADS: ua.threads of A / B (default: one per CPU kmsd
#   gets, as for the baseline).
# kmsctl, loadgen and baseline come from ./build.  B's figures (and the
# baseline's) are appended to bench/results/history.tsv (BENCH_HISTORY, see
# bench/lib.sh), which bench/plot.sh draws.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B="$top/build"
[ $# -ge 2 ] || { sed -n '2,10p' "$0" >&2; exit 2; }
ka=$1
kb=$2
rounds=${3:-5}
n=${4:-100000}
for p in "$ka" "$kb" "$B/tools/kmsctl" "$B/bench/loadgen" "$B/bench/baseline"; do
	[ -x "$p" ] || { echo "bench/compare.sh: $p missing: build first" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kms_cmp.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
. "$top/bench/lib.sh" # $srv, $cli, $srv_threads, free_port, hist_*
hist_init bench/compare.sh
"$B/tools/kmsctl" -d "$tmp/s" init --demo >/dev/null
start_kmsd() { # start_kmsd NAME BINARY PORT: state copied from $tmp/s
	cp -r "$tmp/s" "$tmp/s-$1"
	eval "th=\${$(echo "$1" | tr ab AB)_THREADS:-$srv_threads}"
	cat >"$tmp/$1.conf" <<CONF
ua = { port = $3; threads = $th; };
kms = { state_dir = "$tmp/s-$1"; };
policy = { replay_entries = 4194304; };
CONF
	# The log group: notice (no line per request) unless A_CONF / B_CONF
	# gives one, e.g. 'log = { level = "info"; format = "json"; };'.
	eval "extra=\${$(echo "$1" | tr ab AB)_CONF:-}"
	case $extra in
	*"log ="* | *"log="*) ;;
	*) echo 'log = { level = "notice"; };' >>"$tmp/$1.conf" ;;
	esac
	# An older build has no --allow-root (and needs none).
	flag=""
	"$2" --help | grep -q -- --allow-root && flag=$root_flag
	[ "$1" = a ] && echo "${A_CONF:-}" >>"$tmp/$1.conf"
	[ "$1" = b ] && echo "${B_CONF:-}" >>"$tmp/$1.conf"
	$srv "$2" $flag -c "$tmp/$1.conf" >"$tmp/$1.log" 2>&1 &
	eval "pid_$1=$!"
	pids="$pids $!"
	i=0
	until curl -s "http://127.0.0.1:$3/readyz" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -le 100 ] || { echo "kmsd $1 did not start" >&2; cat "$tmp/$1.log" >&2; exit 1; }
		sleep 0.1
	done
}
pa=$(free_port)
pb=$(free_port)
pr=$(free_port)
start_kmsd a "$ka" "$pa"
start_kmsd b "$kb" "$pb"
$srv "$B/bench/baseline" -p "$pr" -t "$srv_threads" &
pid_r=$!
pids="$pids $pid_r"
sleep 0.5
ticks() { # utime + stime of a process, in clock ticks
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}
hz=$(getconf CLK_TCK)
# run NAME PORT MODE STATE: one loadgen run; appends "rps cpu_us" to $tmp/NAME-MODE
run() {
	eval "p=\$pid_$1"
	extra=""
	[ "$1" = a ] && extra=${A_ARGS:-}
	[ "$1" = b ] && extra=${B_ARGS:-}
	t0=$(ticks "$p")
	# shellcheck disable=SC2086
	$cli "$B/bench/loadgen" -s "$4" -c 4 -d 60 -p "$2" -m "$3" -n "$n" $extra \
		>"$tmp/lg.out" 2>&1 ||
		{ echo "loadgen $1 $3 failed:" >&2; cat "$tmp/lg.out" >&2; exit 1; }
	t1=$(ticks "$p")
	rps=$(head -n 1 "$tmp/lg.out" | tr ' ' '\n' | sed -n 's/^rps=//p')
	sent=$(head -n 1 "$tmp/lg.out" | tr ' ' '\n' | sed -n 's/^sent=//p')
	cpu=$(python3 -c "print('%.2f' % (($t1 - $t0) * 1e6 / $hz / $sent))")
	echo "$rps $cpu" >>"$tmp/$1-$3"
}
r=0
while [ $r -lt "$rounds" ]; do
	r=$((r + 1))
	run r "$pr" raw "$tmp/s"
	for m in request resolve; do
		run a "$pa" "$m" "$tmp/s-a"
		run b "$pb" "$m" "$tmp/s-b"
	done
done
python3 - "$tmp" "$rounds" "$n" "$hist_date" "$hist_run" "$hist_commit" \
	"B=$kb A=$ka ${B_ARGS:+B_ARGS=$B_ARGS }${B_CONF:+B_CONF=$B_CONF}" <<'PY'
import statistics, sys
tmp, rounds, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
hist = open(f"{tmp}/hist.rows", "a")
def hist_add(endpoint, measure, value, note=""):
    hist.write("\t".join([sys.argv[4], sys.argv[5], sys.argv[6], "bench/compare.sh",
                          endpoint, "4", measure, value,
                          f"{sys.argv[7].strip()}; {rounds} rounds of {n}{note}"]) + "\n")
def load(name):
    rows = [l.split() for l in open(f"{tmp}/{name}")]
    return [float(r[0]) for r in rows], [float(r[1]) for r in rows]
raw_rps, raw_cpu = load("r-raw")
print(f"{rounds} interleaved rounds of {n} requests, 4 keep-alive connections each\n")
print("| measure | baseline | A request | B request | A resolve | B resolve |")
print("|---|---|---|---|---|---|")
cols = {}
for k in ("a-request", "b-request", "a-resolve", "b-resolve"):
    cols[k] = load(k)
med = statistics.median
print("| req/s (median) | %d | %s |" % (med(raw_rps), " | ".join(
    "%d" % med(cols[k][0]) for k in cols)))
print("| ratio to baseline (median per round) | 1.00 | %s |" % " | ".join(
    "%.2f" % med(x / y for x, y in zip(cols[k][0], raw_rps)) for k in cols))
print("| server CPU per request, us (median) | %.2f | %s |" % (med(raw_cpu), " | ".join(
    "%.2f" % med(cols[k][1]) for k in cols)))
print("| CPU per request / baseline's (median per round) | 1.00 | %s |" % " | ".join(
    "%.2f" % med(x / y for x, y in zip(cols[k][1], raw_cpu)) for k in cols))
print()
hist_add("baseline", "rps", "%d" % med(raw_rps))
hist_add("baseline", "cpu_us", "%.2f" % med(raw_cpu))
for m in ("request", "resolve"):
    rps, cpu = cols["b-" + m]
    hist_add("ticket" + m, "rps", "%d" % med(rps))
    hist_add("ticket" + m, "rps_ratio", "%.2f" % med(x / y for x, y in zip(rps, raw_rps)),
             "; median per round")
    hist_add("ticket" + m, "cpu_us", "%.2f" % med(cpu))
    hist_add("ticket" + m, "cpu_ratio", "%.2f" % med(x / y for x, y in zip(cpu, raw_cpu)),
             "; median per round")
hist.close()
for m in ("request", "resolve"):
    a, b = cols["a-" + m], cols["b-" + m]
    cpu = [y / x for x, y in zip(a[1], b[1])]
    rps = [y / x for x, y in zip(a[0], b[0])]
    print(f"{m}: B/A CPU per request per round {' '.join('%.3f' % c for c in cpu)}"
          f" (median {med(cpu):.3f}); B/A req/s {' '.join('%.3f' % c for c in rps)}"
          f" (median {med(rps):.3f})")
PY
hist_append
