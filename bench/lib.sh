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
