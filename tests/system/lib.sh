# Shared helpers for the shell system tests (sourced, not run).
# Sets: KMSD KMSCTL UE tmp n; defines ok fail free_port call expect header
# wait_log wait_count kmsd_start kmsd_stop.  Every wait is bounded.

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
KMSD="$top_builddir/kms/kmsd"
KMSCTL="$top_builddir/tools/kmsctl"
UE="$top_builddir/tools/kms-ue"
MIKEY='Content-Type: application/mikey'

for c in curl python3; do
	if ! command -v "$c" >/dev/null 2>&1; then
		echo "SKIP: $c not found"
		exit 77
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kms_systest.XXXXXX")
pid=""
n=0
lib_cleanup() {
	rc=$?
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	if [ "$rc" -ne 0 ]; then
		for f in "$tmp"/*.log; do
			[ -f "$f" ] || continue
			echo "--- $(basename "$f") (last 60 lines)" >&2
			tail -n 60 "$f" >&2
		done
	fi
	rm -rf "$tmp"
}
trap lib_cleanup EXIT
trap 'exit 1' INT TERM

ok() {
	n=$((n + 1))
	echo "ok $n - $*"
}
fail() {
	echo "FAIL: $*" >&2
	for f in "$tmp/hdr" "$tmp/body" "$tmp/body.txt" "$tmp/err" "$tmp/ue.out"; do
		[ -s "$f" ] && { echo "--- $f" >&2; head -c 2000 "$f" >&2; }
	done
	exit 1
}
free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}
# call URL [curl options]: prints the status; headers in $tmp/hdr, body in $tmp/body.
call() {
	url=$1
	shift
	rm -f "$tmp/hdr" "$tmp/body"
	curl -s -m 5 -D "$tmp/hdr" -o "$tmp/body" -w '%{http_code}' "$@" "$url" || true
}
# expect WANT URL [curl options]
expect() {
	want=$1
	shift
	got=$(call "$@")
	[ "$got" = "$want" ] || fail "status $got, expected $want: $*"
}
header() {
	grep -i "^$1:" "$tmp/hdr" | head -n 1 | cut -d: -f2- | tr -d ' \r'
}
wait_log() { # wait_log TEXT [LOG]: up to 5 s for TEXT in $tmp/LOG (kmsd.log)
	i=0
	while ! grep -q "$1" "$tmp/${2:-kmsd.log}"; do
		i=$((i + 1))
		[ $i -le 50 ] || fail "no '$1' in ${2:-kmsd.log}"
		sleep 0.1
	done
}
wait_count() { # wait_count TEXT N [LOG]: up to 5 s for N lines with TEXT
	i=0
	while [ "$(grep -c "$1" "$tmp/${3:-kmsd.log}" || true)" -lt "$2" ]; do
		i=$((i + 1))
		[ $i -le 50 ] || fail "fewer than $2 '$1' in ${3:-kmsd.log}"
		sleep 0.1
	done
}
# kmsd_start CONF BASE_URL: start kmsd in the background, wait for /healthz.
kmsd_start() {
	"$KMSD" -c "$1" >>"$tmp/kmsd.log" 2>&1 &
	pid=$!
	i=0
	while [ "$(call "$2/healthz")" != 200 ]; do
		kill -0 "$pid" 2>/dev/null || fail "kmsd exited during start-up"
		i=$((i + 1))
		[ $i -le 100 ] || fail "kmsd not healthy within 10 s"
		sleep 0.1
	done
}
# kmsd_stop: SIGTERM and wait (bounded); fails unless kmsd exits 0.
kmsd_stop() {
	kill -TERM "$pid"
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 100 ] || fail "kmsd still running 10 s after SIGTERM"
		sleep 0.1
	done
	set +e
	wait "$pid"
	krc=$?
	set -e
	pid=""
	[ $krc -eq 0 ] || fail "kmsd exit status $krc after SIGTERM"
}
