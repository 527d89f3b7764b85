#!/bin/sh
# Zn over HTTP/JSON vs Zn over Diameter (not a test), one bsf-stubd serving
# both fronts, one kmsd per transport:
#  (a) misses: N ticketrequests, each under a B-TID kmsd has never seen
#      (N sessions bootstrapped over Ub with kms-ue first, untimed; the
#      same N B-TIDs go to each kmsd, whose caches are their own), sent one
#      at a time over one keep-alive connection: p50/p90/p99 of the Ua
#      request, and of the Zn call alone (kmsd's "Zn: 200 in X ms" lines,
#      exact, and the kms_zn_request_duration_seconds histogram of
#      /metrics, whose buckets are coarse: its p50/p99 are bucket bounds);
#  (b) hits: max req/s and server CPU per request of ticketrequests under
#      one cached B-TID, kmsd with naf.zn = "http" vs "diameter", beside
#      the bare libmicrohttpd baseline (bench/baseline) as bench/run.sh
#      reports it: interleaved rounds, ratios as medians of per-round ratios.
# Usage: bench/zn.sh [N]   (default 300 misses per transport)
#   BENCH_ROUNDS (5), BENCH_N (50000 requests per hit run).
#   Without freeDiameter in the build only the HTTP column is measured.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B=${KMS_BUILD:-$top/build}
nmiss=${1:-300}
case $nmiss in '' | *[!0-9]*) echo "bench/zn.sh: N is not a number" >&2; exit 2 ;; esac
for p in "$B/kms/kmsd" "$B/tools/kmsctl" "$B/tools/kms-ue" "$B/bench/loadgen" \
	"$B/bench/baseline" "$B/bsf-stub/bsf-stubd"; do
	[ -x "$p" ] || { echo "bench/zn.sh: $p missing: build first" >&2; exit 1; }
done
dia=0
grep -q 'define HAVE_FREEDIAMETER 1' "$B/config.h" 2>/dev/null && dia=1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kms_bench.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	[ -n "${BENCH_KEEP:-}" ] && echo "kept $tmp" >&2 || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
. "$top/bench/lib.sh" # $srv, $cli (CPU pinning), $srv_threads, free_port, hist_*
die() {
	echo "bench/zn.sh: $*" >&2
	for f in "$tmp"/*.log; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done
	exit 1
}
hist_init bench/zn.sh
fport=$(free_port)
bport=$(free_port)
"$B/tools/kmsctl" -d "$tmp/s" init --demo >/dev/null
"$B/bsf-stub/bsf-stubd" -d "$tmp/bsf" --init --demo >/dev/null

# Diameter: the configurations of tests/system/dia_lib.sh (plain TCP,
# Tc 1 s), the BSF on one port, kmsd on another, each naming the other.
bsf_dia=""
if [ $dia = 1 ]; then
	fail() { die "$*"; }
	top_srcdir=$top
	top_builddir=$B
	. "$top/tests/system/dia_lib.sh"
	fdb=$(free_port)
	fdk=$(free_port)
	dia_conf "$tmp/bsf.fd.conf" bsf.example.org bsf.example.org "$fdb" kms.example.org "$fdk"
	dia_conf "$tmp/kms.fd.conf" kms.example.org example.org "$fdk" bsf.example.org "$fdb"
	bsf_dia="--zn-diameter $tmp/bsf.fd.conf"
fi
# shellcheck disable=SC2086
$srv "$B/bsf-stub/bsf-stubd" -d "$tmp/bsf" -p "$fport" $bsf_dia >"$tmp/bsf.log" 2>&1 &
fpid=$!
pids="$pids $fpid"
$srv "$B/bench/baseline" -p "$bport" -t "$srv_threads" &
bpid=$!
pids="$pids $bpid"

# kmsd_run T LEVEL: a kmsd with naf.zn = T, log level LEVEL; $kpid, $kport, $mport.
kmsd_run() {
	kport=$(free_port)
	mport=$(free_port)
	if [ "$1" = http ]; then
		zn="bsf_url = \"http://127.0.0.1:$fport/zn\";"
	else
		zn="zn = \"diameter\"; diameter_conf = \"$tmp/kms.fd.conf\";"
	fi
	mkdir -p "$tmp/s-$1"
	cp -r "$tmp/s/." "$tmp/s-$1/"
	cat >"$tmp/kmsd-$1.conf" <<CONF
ua = { port = $kport; threads = $srv_threads; };
kms = { state_dir = "$tmp/s-$1"; psk_source = "gba"; };
naf = { enabled = true; fqdn = "kms.example.org"; $zn timeout_ms = 2000; retries = 0;
        cache_entries = 65536; };
metrics = { port = $mport; };
policy = { replay_entries = 4194304; };
log = { level = "$2"; };
CONF
	$srv "$B/kms/kmsd" $root_flag -c "$tmp/kmsd-$1.conf" >"$tmp/kmsd-$1-$2.log" 2>&1 &
	kpid=$!
	pids="$pids $kpid"
	i=0
	until curl -s -o /dev/null "http://127.0.0.1:$kport/healthz" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 100 ] || die "kmsd ($1) did not start"
		kill -0 "$kpid" 2>/dev/null || die "kmsd ($1) exited"
		sleep 0.1
	done
	[ "$1" = http ] && return 0
	# Until the Diameter connection to the BSF is open (CER/CEA done).
	i=0
	until [ "$(curl -s "http://127.0.0.1:$mport/metrics" |
		sed -n 's/^kms_zn_diameter_peers_open \([0-9]*\).*/\1/p')" = 1 ]; do
		i=$((i + 1))
		[ $i -le 100 ] || die "kmsd's Diameter peer not open within 10 s"
		sleep 0.1
	done
}
kmsd_end() {
	kill -TERM "$kpid"
	i=0
	while kill -0 "$kpid" 2>/dev/null && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done
	wait "$kpid" 2>/dev/null || true
}
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

i=0
until curl -s -o /dev/null "http://127.0.0.1:$fport/healthz" 2>/dev/null; do
	i=$((i + 1))
	[ $i -le 100 ] || die "bsf-stubd did not start"
	sleep 0.1
done

# --- (a) misses ---------------------------------------------------------------------
# N bootstraps (Alice's demo USIM; each one a new session and B-TID), used
# with each kmsd; the REQUEST_INITs are made once that kmsd runs (it
# refuses messages stamped before its start).
k=0
while [ $k -lt "$nmiss" ]; do
	k=$((k + 1))
	"$B/tools/kms-ue" bootstrap --usim "$tmp/bsf/demo-alice.usim" \
		--bsf "http://127.0.0.1:$fport/ub" --naf-fqdn kms.example.org \
		--out "$tmp/m$k.gba" >/dev/null 2>>"$tmp/ue.log" || die "bootstrap $k"
done
mkreqs() {
	k=0
	while [ $k -lt "$nmiss" ]; do
		k=$((k + 1))
		"$B/tools/kms-ue" request --gba "$tmp/m$k.gba" --id alice@example.org \
			--to bob@example.org --out "$tmp/m$k.bin" --state "$tmp/m$k.st" \
			2>>"$tmp/ue.log" || die "request $k"
	done
}
# misses PORT: post m1..mN in order over one connection; prints
# "p50 p90 p99 non200" (latencies in us).
misses() {
	$cli python3 - "$1" "$tmp" "$nmiss" <<'EOF'
import http.client, statistics, sys, time
port, d, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
lat, bad = [], 0
for k in range(1, n + 1):
    body = open("%s/m%d.bin" % (d, k), "rb").read()
    t0 = time.perf_counter()
    c.request("POST", "/kms?requesttype=ticketrequest", body,
              {"Content-Type": "application/mikey"})
    r = c.getresponse()
    r.read()
    lat.append((time.perf_counter() - t0) * 1e6)
    bad += r.status != 200
q = statistics.quantiles(lat, n=100, method="inclusive")
print("%.0f %.0f %.0f %d" % (statistics.median(lat), q[89], q[98], bad))
EOF
}
# zn_log LOG: p50/p90/p99 (us) of the Zn calls that brought a key, from
# kmsd's lines "Zn: 200 in X ms: IMPI" (HTTP: libcurl's timing, 0.1 ms) and
# "Zn: BIA from H in X ms: IMPI" (Diameter: kmsd's monotonic clock, whole
# milliseconds), and their count.
zn_log() {
	python3 - "$1" <<'EOF'
import re, statistics, sys
v = [float(m.group(1)) * 1000 for m in
     (re.search(r"Zn: (?:200|BIA from \S+) in ([0-9.]+) ms: IMPI", l)
      for l in open(sys.argv[1])) if m]
if len(v) < 2:
    print("- - - %d" % len(v))
else:
    q = statistics.quantiles(v, n=100, method="inclusive")
    print("%.0f %.0f %.0f %d" % (statistics.median(v), q[89], q[98], len(v)))
EOF
}
# zn_hist MPORT: the histogram's p50 and p99 as upper bucket bounds (us), and its count.
zn_hist() {
	curl -s "http://127.0.0.1:$1/metrics" | python3 -c '
import re, sys
b = []
for l in sys.stdin:
    m = re.match(r"kms_zn_request_duration_seconds_bucket\{le=\"([^\"]+)\"\} ([0-9]+)", l)
    if m:
        b.append((float("inf") if m.group(1) == "+Inf" else float(m.group(1)), int(m.group(2))))
n = b[-1][1] if b else 0
def q(f):
    if n == 0:
        return "-"
    for le, c in b:
        if c >= f * n:
            return "<=%.0f" % (le * 1e6) if le != float("inf") else ">5s"
    return "-"
print(q(0.5), q(0.99), n)'
}
transports=http
[ $dia = 1 ] && transports="http diameter"
for t in $transports; do
	kmsd_run "$t" info
	mkreqs
	o=$(misses "$kport")
	eval "ua_$t=\"\$o\""
	eval "zl_$t=\"\$(zn_log \"\$tmp/kmsd-$t-info.log\")\""
	eval "zh_$t=\"\$(zn_hist \"\$mport\")\""
	kmsd_end
done

# --- (b) hits: one cached B-TID, interleaved rounds with the baseline -----------------
n=${BENCH_N:-50000}
rounds=${BENCH_ROUNDS:-5}
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # utime + stime, clock ticks
hz=$(getconf CLK_TCK)
lg() {
	$cli "$B/bench/loadgen" -s "$tmp/s" -c 4 -d 60 "$@" >"$tmp/lg.out" 2>&1 ||
		die "loadgen $*: $(cat "$tmp/lg.out")"
	head -n 1 "$tmp/lg.out"
}
lgc() { # lgc PID LOADGEN_ARGS: "rps cpu_us_per_request" of PID
	p=$1
	shift
	t0=$(ticks "$p")
	o=$(lg "$@")
	t1=$(ticks "$p")
	echo "$(field "$o" rps) $(python3 -c "print('%.2f' % (($t1 - $t0) * 1e6 / $hz / $(field "$o" sent)))")"
}
kh=""
for t in $transports; do
	kmsd_run "$t" notice
	eval "kp_$t=$kpid"
	eval "port_$t=$kport"
	kh="$kh $kpid"
	lg -p "$kport" -m request -g "$tmp/m1.gba" -n 1000 >/dev/null # the miss, then warm
done
raws=""
rawc=""
for t in $transports; do eval "rps_$t=''; cpu_$t=''"; done
round=0
while [ $round -lt "$rounds" ]; do
	round=$((round + 1))
	o=$(lgc "$bpid" -p "$bport" -m raw -n "$n")
	raws="$raws ${o% *}"
	rawc="$rawc ${o#* }"
	for t in $transports; do
		eval "o=\$(lgc \$kp_$t -p \$port_$t -m request -g \"\$tmp/m1.gba\" -n \$n)"
		eval "rps_$t=\"\$rps_$t ${o% *}\"; cpu_$t=\"\$cpu_$t ${o#* }\""
	done
done
for kpid in $kh; do kmsd_end; done
med() { python3 -c 'import statistics, sys
print("%.2f" % statistics.median(float(x) for x in sys.argv[1].split()))' "$1"; }
rratio() { python3 -c 'import statistics, sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
print("%.2f" % statistics.median(x / y for x, y in zip(a, b)))' "$1" "$2"; }
echo "rounds: baseline$raws; http$rps_http${rps_diameter:+; diameter$rps_diameter}" >&2

note="$rounds rounds of $n requests; $nmiss misses"
row() { # row LABEL VAR: a table row, VAR_http and VAR_diameter
	eval "a=\$${2}_http; b=\${${2}_diameter:-}"
	echo "| $1 | $a | ${b:--} |"
}
set -- $ua_http
hist_add zn_miss_http 1 p50_us "$1" "$note"
hist_add zn_miss_http 1 p99_us "$3" "$note"
uat_http="$1 / $2 / $3 ($4 not 200)"
set -- $zl_http
zlt_http="$1 / $2 / $3 ($4 calls)"
set -- $zh_http
zht_http="$1 / $2 ($3 calls)"
hit_http=$(med "$rps_http")
hitc_http=$(med "$cpu_http")
hr_http=$(rratio "$rps_http" "$raws")
hc_http=$(rratio "$cpu_http" "$rawc")
hist_add zn_hit_http 4 rps "$hit_http" "$note"
if [ $dia = 1 ]; then
	set -- $ua_diameter
	hist_add zn_miss_diameter 1 p50_us "$1" "$note"
	hist_add zn_miss_diameter 1 p99_us "$3" "$note"
	uat_diameter="$1 / $2 / $3 ($4 not 200)"
	set -- $zl_diameter
	zlt_diameter="$1 / $2 / $3 ($4 calls)"
	set -- $zh_diameter
	zht_diameter="$1 / $2 ($3 calls)"
	hit_diameter=$(med "$rps_diameter")
	hitc_diameter=$(med "$cpu_diameter")
	hr_diameter=$(rratio "$rps_diameter" "$raws")
	hc_diameter=$(rratio "$cpu_diameter" "$rawc")
	dh_diameter=$(rratio "$rps_diameter" "$rps_http")
	dc_diameter=$(rratio "$cpu_diameter" "$cpu_http")
	hist_add zn_hit_diameter 4 rps "$hit_diameter" "$note"
	hist_add zn_hit_diameter 4 rps_ratio "$dh_diameter" "$note; diameter/http per round"
fi
dh_http=1.00
dc_http=1.00
hist_append
cat <<TABLE
| measure | naf.zn = "http" | naf.zn = "diameter" |
|---|---|---|
$(row "miss: Ua ticketrequest p50 / p90 / p99 (us), $nmiss fresh B-TIDs, one at a time" uat)
$(row "miss: the Zn call alone p50 / p90 / p99 (us, kmsd's log)" zlt)
$(row "miss: the Zn call, histogram p50 / p99 (bucket bound, us)" zht)
$(row "hit: max req/s, one cached B-TID (4 connections, median of $rounds rounds)" hit)
$(row "hit: req/s / baseline's (median per round)" hr)
$(row "hit: req/s / http's (median per round)" dh)
$(row "hit: server CPU per request, us (median)" hitc)
$(row "hit: CPU per request / baseline's (median per round)" hc)
$(row "hit: CPU per request / http's (median per round)" dc)

Baseline (bench/baseline, bare libmicrohttpd): $(med "$raws") req/s, $(med "$rawc") us CPU per request.
TABLE
