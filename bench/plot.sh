#!/bin/sh
# Render the benchmark history (bench/results/history.tsv, appended by
# bench/run.sh and bench/compare.sh) as PNG and SVG into docs/img/:
#   throughput-concurrency  max req/s against loadgen connections, per
#                           endpoint, from the newest run with a sweep
#                           (bench/run.sh with BENCH_SWEEP set)
#   latency                 p50 / p90 / p99 at half of the max rate per
#                           endpoint, from the newest run that has them
#   ratios                  kmsd against the bare libmicrohttpd baseline
#                           over the runs: throughput ratio and server CPU
#                           per request ratio, ticketrequest and ticketresolve
# Not a test.  Installs gnuplot-nox when it is missing (Debian).
# Usage: bench/plot.sh [HISTORY [OUTDIR]]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
hist=${1:-$top/bench/results/history.tsv}
out=${2:-$top/docs/img}
[ -r "$hist" ] || { echo "bench/plot.sh: $hist: not readable" >&2; exit 1; }
if ! command -v gnuplot >/dev/null 2>&1; then
	. "$top/scripts/deps.sh"
	KMS_EXTRA_PKGS=gnuplot-nox kms_deps_install ||
		{ echo "bench/plot.sh: cannot install gnuplot-nox" >&2; exit 1; }
fi
command -v python3 >/dev/null 2>&1 || { echo "bench/plot.sh: python3 missing" >&2; exit 1; }
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kms_plot.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The history into one small data file per plot (gnuplot reads columns).
python3 - "$hist" "$tmp" <<'PY'
import sys, csv
hist, tmp = sys.argv[1], sys.argv[2]
rows = []
with open(hist) as f:
    lines = [l for l in f if not l.startswith("#") and l.strip()]
for r in csv.DictReader(lines, delimiter="\t"):
    try:
        r["value"] = float(r["value"])
        r["conc"] = int(r["conc"])
    except (KeyError, ValueError):
        continue
    rows.append(r)
runs = []  # in file order: the order they were appended
for r in rows:
    if r["run"] not in runs:
        runs.append(r["run"])
eps = ("baseline", "ticketrequest", "ticketresolve")

def newest(pred):
    for run in reversed(runs):
        sel = [r for r in rows if r["run"] == run and pred(r)]
        if sel:
            return run, sel
    return None, []

# Throughput against concurrency: conc, then one column per endpoint.
run, sel = newest(lambda r: r["measure"] == "sweep_rps")
with open(f"{tmp}/conc.dat", "w") as o:
    o.write(f"# {run or 'none'}\n")
    for c in sorted({r["conc"] for r in sel}):
        v = {r["endpoint"]: r["value"] for r in sel if r["conc"] == c}
        o.write("%d %s\n" % (c, " ".join(str(v.get(e, "NaN")) for e in eps)))
with open(f"{tmp}/conc.title", "w") as o:
    o.write(run or "")

# Latency percentiles: one line per endpoint, p50 p90 p99 (us).
run, sel = newest(lambda r: r["measure"] in ("p50_us", "p99_us"))
with open(f"{tmp}/lat.dat", "w") as o:
    for e in eps:
        v = {r["measure"]: r["value"] for r in sel if r["endpoint"] == e}
        if v:
            o.write("%s %s\n" % (e, " ".join(str(v.get(m, "NaN"))
                                           for m in ("p50_us", "p90_us", "p99_us"))))
with open(f"{tmp}/lat.title", "w") as o:
    o.write(run or "")
# The plot command: only the percentiles that run has (older runs: no p90).
have = [m for m in ("p50_us", "p90_us", "p99_us") if any(r["measure"] == m for r in sel)]
parts = []
for i, m in enumerate(("p50_us", "p90_us", "p99_us")):
    if m in have:
        src = f"'{tmp}/lat.dat'" if not parts else "''"
        xt = ":xtic(1)" if not parts else ""
        parts.append(f"{src} using {i + 2}{xt} title '{m[:3]}'")
with open(f"{tmp}/lat.plot", "w") as o:
    o.write("plot " + ", ".join(parts) + "\n" if parts else "plot [0:1][0:1] NaN notitle\n")

# Ratios over the runs: index, label, 4 columns (NaN where not measured).
cols = [("ticketrequest", "rps_ratio"), ("ticketresolve", "rps_ratio"),
        ("ticketrequest", "cpu_ratio"), ("ticketresolve", "cpu_ratio")]
with open(f"{tmp}/ratio.dat", "w") as o:
    for run in runs:
        v = {(r["endpoint"], r["measure"]): r["value"] for r in rows if r["run"] == run}
        if not any(k in v for k in cols):
            continue
        o.write('"%s" %s\n' % (run.replace('"', "'"),
                               " ".join(str(v.get(k, "NaN")) for k in cols)))
PY

render() { # render NAME: $tmp/NAME.gp into NAME.png and NAME.svg
	for t in png svg; do
		case $t in
		png) term="pngcairo size 900,500 font 'sans,10'" ;;
		svg) term="svg size 900,500 font 'sans,10' background rgb 'white'" ;;
		esac
		{ echo "set terminal $term"; echo "set output '$out/$1.$t'"; cat "$tmp/$1.gp"; } |
			gnuplot || { echo "bench/plot.sh: gnuplot failed on $1" >&2; exit 1; }
	done
	echo "bench/plot.sh: $out/$1.png, $out/$1.svg"
}

conc_run=$(cat "$tmp/conc.title")
if [ -n "$conc_run" ]; then
	cat >"$tmp/throughput-concurrency.gp" <<GP
set title "Max req/s against loadgen connections (run $conc_run)"
set xlabel "connections"; set ylabel "req/s"; set logscale x 2; set grid
set key top left; set yrange [0:*]
plot '$tmp/conc.dat' using 1:2 with linespoints title "baseline (bare libmicrohttpd)", \
     '' using 1:3 with linespoints title "ticketrequest", \
     '' using 1:4 with linespoints title "ticketresolve"
GP
else
	cat >"$tmp/throughput-concurrency.gp" <<GP
set title "Max req/s against loadgen connections"
unset border; unset tics; unset key
set label 1 "no concurrency sweep in the history yet:\nBENCH_SWEEP='1 2 4 8 16' bench/run.sh, then bench/plot.sh" at graph 0.5, 0.5 center noenhanced
plot [0:1][0:1] NaN
GP
fi
render throughput-concurrency

cat >"$tmp/latency.gp" <<GP
set title "Latency at half of the max rate (run $(cat "$tmp/lat.title"))"
set ylabel "microseconds"; set grid ytics; set key top left
set style data histograms; set style histogram clustered gap 1
set style fill solid 0.8 border -1; set boxwidth 0.9; set yrange [0:*]
$(cat "$tmp/lat.plot")
GP
render latency

cat >"$tmp/ratios.gp" <<GP
set title "kmsd against the bare libmicrohttpd baseline, run by run"
set ylabel "ratio"; set grid; set key outside bottom center horizontal
set xtics rotate by -45 font ',8' noenhanced; set yrange [0:*]; set bmargin 9; set rmargin 10
plot '$tmp/ratio.dat' using 0:2:xtic(1) with linespoints title "throughput: ticketrequest", \
     '' using 0:3 with linespoints title "throughput: ticketresolve", \
     '' using 0:4 with points pt 7 title "CPU per request: ticketrequest", \
     '' using 0:5 with points pt 5 title "CPU per request: ticketresolve"
GP
render ratios
