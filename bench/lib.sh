# Shared by the benchmark scripts (sourced): $srv and $cli pin the servers
# to CPU 0 and the load generator to CPU 1 when taskset and two cores
# exist, so that each side has a core of its own; free_port prints a free
# TCP port on 127.0.0.1.  $root_flag is kmsd's --allow-root when the
# benchmarks run as root (a kmsd without kms.user refuses root otherwise).
# $srv_threads is the worker-thread count for every server under test: one
# per CPU it gets (kmsd's own default), so that no two of its threads
# time-share one core (with two threads on one core the rate of the same
# server swung between ~55k and ~80k req/s from run to run).
srv=""
cli=""
srv_threads=$(nproc)
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
	srv="taskset -c 0"
	cli="taskset -c 1"
	srv_threads=1
fi
root_flag=""
[ "$(id -u)" -eq 0 ] && root_flag=--allow-root
free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The results history (bench/results/history.tsv, read by bench/plot.sh):
# hist_add rows are collected in $tmp during a run and appended by
# hist_append only when the run has finished.  BENCH_HISTORY=FILE writes
# elsewhere, BENCH_HISTORY=none not at all (e.g. a short trial run).
hist_init() { # hist_init SOURCE
	hist_file=${BENCH_HISTORY:-$top/bench/results/history.tsv}
	hist_src=$1
	hist_date=$(date -u +%Y-%m-%d)
	hist_run="$(date -u +%Y-%m-%dT%H:%MZ) $1"
	hist_commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo -)
	if [ "$hist_commit" != - ] && ! git -C "$top" diff --quiet HEAD 2>/dev/null; then
		hist_commit="$hist_commit+"
	fi
	: >"$tmp/hist.rows"
}
hist_add() { # hist_add ENDPOINT CONC MEASURE VALUE [NOTE]; empty VALUE: nothing
	[ -n "$4" ] || return 0
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$hist_date" "$hist_run" \
		"$hist_commit" "$hist_src" "$1" "$2" "$3" "$4" "${5:-}" >>"$tmp/hist.rows"
}
hist_append() {
	[ "$hist_file" = none ] && return 0
	if [ ! -s "$hist_file" ]; then
		mkdir -p "$(dirname "$hist_file")"
		printf 'date\trun\tcommit\tsource\tendpoint\tconc\tmeasure\tvalue\tnote\n' \
			>"$hist_file"
	fi
	cat "$tmp/hist.rows" >>"$hist_file"
	echo "$(wc -l <"$tmp/hist.rows") rows appended to $hist_file (bench/plot.sh draws them)" >&2
}
