#!/bin/sh
# Resolve via Zk next to a local resolve (not a test; docs/benchmarks.md):
# KMS1 issues the tickets; "local" resolves go to KMS1 itself, "via Zk"
# resolves go to KMS2, which forwards each one to KMS1 over mutual TLS.
# Max rate (median of 3) and p50/p99 at half of each max, plus the TLS
# connections KMS2 opened.  Needs ./build and openssl.
# Usage: bench/zk.sh [REQUESTS]   (default 20000 per max-rate run)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B="$top/build"
n=${1:-20000}
for p in "$B/kms/kmsd" "$B/tools/kmsctl" "$B/bench/loadgen"; do
	[ -x "$p" ] || { echo "bench/zk.sh: $p missing: build first" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kms_zkbench.XXXXXX")
p1=""
p2=""
cleanup() {
	for p in $p1 $p2; do kill "$p" 2>/dev/null || true; done
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
K="$B/tools/kmsctl"
"$K" -d "$tmp/s1" init --demo >/dev/null
"$K" -d "$tmp/s2" init >/dev/null
# Bob is a user of KMS2 too, with the same key as at KMS1 (one key file for loadgen).
"$K" -d "$tmp/s2" psk add bob@example.org --identity bob@example.org \
	--key-file "$tmp/s1/demo-bob.psk" >/dev/null
"$K" -d "$tmp/s1" peer add --kms-id kms.d2.example --url "https://127.0.0.1:$zk2/kms" \
	--ca "$tmp/pki/ca1.crt" --cert-name kms2.test --responders 'bob@example.org' \
	--generate "$tmp/peer.key" >/dev/null
"$K" -d "$tmp/s2" peer add --kms-id kms.d1.example --url "https://127.0.0.1:$zk1/kms" \
	--ca "$tmp/pki/ca1.crt" --cert-name kms1.test --responders '*@example.org' \
	--key-file "$tmp/peer.key" >/dev/null
for d in 1 2; do
	eval "ua=\$ua$d; zk=\$zk$d"
	cat >"$tmp/kms$d.conf" <<CONF
ua = { port = $ua; threads = $srv_threads; };
kms = { kms_id = "kms.d$d.example"; state_dir = "$tmp/s$d"; };
zk = { enabled = true; port = $zk; threads = 2; cert_file = "$tmp/pki/kms$d.crt";
       key_file = "$tmp/pki/kms$d.key"; ca_file = "$tmp/pki/ca1.crt"; };
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
lg() {
	if ! $cli "$B/bench/loadgen" -s "$tmp/s1" -c 4 -d 60 -m resolve \
		--ticket-port "$ua1" --ticket-kms-id kms.d1.example "$@" >"$tmp/lg.out" 2>&1; then
		echo "bench/zk.sh: loadgen $* failed:" >&2
		cat "$tmp/lg.out" >&2
		tail -n 20 "$tmp/kms1.log" "$tmp/kms2.log" >&2
		kill -TERM $$
		exit 1
	fi
	head -n 1 "$tmp/lg.out"
}
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
median() { tr ' ' '\n' | sort -n | sed -n 2p; }
local_runs=""
zk_runs=""
for round in 1 2 3; do
	local_runs="$local_runs $(field "$(lg -p "$ua1" --kms-id kms.d1.example -n "$n")" rps)"
	zk_runs="$zk_runs $(field "$(lg -p "$ua2" --kms-id kms.d2.example -n "$n")" rps)"
done
lr=$(echo $local_runs | median)
zr=$(echo $zk_runs | median)
echo "rounds: local$local_runs; via Zk$zk_runs" >&2
hl=$(lg -p "$ua1" --kms-id kms.d1.example -n $((lr / 2 * 5)) -r $((lr / 2)))
hz=$(lg -p "$ua2" --kms-id kms.d2.example -n $((zr / 2 * 5)) -r $((zr / 2)))
mz=$(lg -p "$ua2" --kms-id kms.d2.example -n "$n")
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

KMS2's Zk client over the whole run: $stats.
TABLE
