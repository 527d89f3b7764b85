# Shared by the benchmark scripts (sourced): $srv and $cli pin the servers
# to CPU 0 and the load generator to CPU 1 when taskset and two cores
# exist, so that each side has a core of its own; free_port prints a free
# TCP port on 127.0.0.1.
srv=""
cli=""
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
	srv="taskset -c 0"
	cli="taskset -c 1"
fi
free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
