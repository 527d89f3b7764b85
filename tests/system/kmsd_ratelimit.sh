#!/bin/sh
# kmsd's rate limits with low settings: a burst from 127.0.0.2 beyond
# ua.burst_per_address gets 429 with Retry-After while 127.0.0.1 is still
# served (health checks are never charged); a flood in Alice's name with a
# wrong MAC, and replays of her own message, do not use up her budget; her
# valid requests beyond ua.burst_per_identity get 429 with Retry-After and
# a MIKEY Error message, while Bob is still served.  Refusals are audited
# (KMS_ERATE) and logged at most once a second.  No sleeps: refill is not
# waited for (the unit tests move a fake clock for that).
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need sqlite3

port=$(free_port)
B="http://127.0.0.1:$port"
U="$B/kms"
S="$tmp/state"
"$KMSCTL" -d "$S" init --demo >"$tmp/init.out" 2>&1 || fail "kmsctl init --demo"
# 1 request/s: no test step here takes long enough to refill much.
cat >"$tmp/kmsd.conf" <<CONF
ua = {
	port = $port;
	threads = 2;
	rate_per_address = 1;
	burst_per_address = 30;
	rate_per_identity = 1;
	burst_per_identity = 3;
	rate_table_entries = 1024;
};
kms = { state_dir = "$S"; };
CONF
kmsd_start "$tmp/kmsd.conf" "$B"

# gets SRC:PATH...: one GET each, from source address SRC, one connection
# each, back to back from one process (well within a second: buckets of
# 1/s refill nothing to speak of); prints "STATUS RETRY-AFTER BODY" lines.
gets() {
	python3 - "$port" "$@" <<'PYEOF'
import socket, sys
port = int(sys.argv[1])
for arg in sys.argv[2:]:
    src, path = arg.split(":", 1)
    s = socket.socket()
    s.settimeout(5)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode())
    data = b""
    for _ in range(64):  # at most 64 reads
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    retry = "-"
    for line in lines[1:]:
        if line.lower().startswith(b"retry-after:"):
            retry = line.split(b":", 1)[1].strip().decode()
    print(lines[0].split(b" ")[1].decode(), retry, body.decode().strip().replace(" ", "_"))
PYEOF
}

# --- per address -----------------------------------------------------------------
# 60 from 127.0.0.2 (burst 30), then 127.0.0.1, then health checks from .2.
set --
i=0
while [ $i -lt 60 ]; do
	set -- "$@" 127.0.0.2:/kms
	i=$((i + 1))
done
gets "$@" 127.0.0.1:/kms 127.0.0.2:/healthz 127.0.0.2:/readyz 127.0.0.2:/kms \
	>"$tmp/flood.out" || fail "requests from 127.0.0.2"
got429=$(grep -c '^429 ' "$tmp/flood.out" || true)
first=$(awk '$1 == 429 { print NR; exit }' "$tmp/flood.out")
[ "$got429" -ge 20 ] || fail "only $got429 of 61 requests from 127.0.0.2 got 429"
[ "${first:-0}" -ge 31 ] || fail "429 after only $((first - 1)) requests (burst 30)"
head -n 30 "$tmp/flood.out" | grep -qv '^405 - ' && fail "the first 30 requests not served"
awk '$1 == 429 && !($2 >= 1 && $3 == "too_many_requests") { bad = 1 } END { exit bad }' \
	"$tmp/flood.out" || fail "a 429 without Retry-After >= 1 or its text"
[ "$(sed -n 61p "$tmp/flood.out" | cut -d' ' -f1)" = 405 ] || fail "127.0.0.1 not served"
[ "$(sed -n 62,63p "$tmp/flood.out" | cut -d' ' -f1 | tr '\n' ' ')" = "200 200 " ] ||
	fail "health checks from 127.0.0.2 charged"
[ "$(sed -n 64p "$tmp/flood.out" | cut -d' ' -f1)" = 429 ] || fail "127.0.0.2 served again"
ok "per address: 127.0.0.2 gets 429 + Retry-After past its burst; 127.0.0.1 and health checks served"

# One log line a second at most for all those refusals.
wait_log "over the per-address rate limit"
lines=$(log_count "over the per-address rate limit")
[ "$lines" -le 3 ] || fail "$lines log lines for $got429 refusals"
ok "refusals logged at most once a second ($lines line(s) for $got429 refusals)"

# --- per identity ------------------------------------------------------------------
# Everything is built first, then sent back to back from 127.0.0.3.
a="--psk-file $S/demo-alice.psk --id alice@example.org --to bob@example.org"
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/wrong.psk"
i=0
while [ $i -lt 10 ]; do
	i=$((i + 1))
	"$UE" request --psk-file "$tmp/wrong.psk" --id alice@example.org --to bob@example.org \
		--psk-id alice@example.org --out "$tmp/bad$i.bin" --state "$tmp/bad$i.st" ||
		fail "request with a wrong key"
	# shellcheck disable=SC2086
	[ $i -gt 4 ] || "$UE" request $a --out "$tmp/req$i.bin" --state "$tmp/req$i.st" ||
		fail "request $i"
done
"$UE" request --psk-file "$S/demo-bob.psk" --id bob@example.org --to alice@example.org \
	--out "$tmp/bob.bin" --state "$tmp/bob.st" || fail "request (bob)"
# posts SRC FILE...: POST each file (a ticketrequest) from source address
# SRC, back to back from one process (the whole run well within a second,
# so buckets of 1/s refill nothing to speak of); prints "STATUS RETRY-AFTER
# CONTENT-TYPE" per file; the body of the Nth goes to $tmp/bodyN.bin.
posts() {
	python3 - "$port" "$tmp" "$@" <<'PYEOF'
import http.client, sys
port, tmp, src, files = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=5, source_address=(src, 0))
for n, f in enumerate(files, 1):
    c.request("POST", "/kms?requesttype=ticketrequest", open(f, "rb").read(),
              {"Content-Type": "application/mikey"})
    r = c.getresponse()
    body = r.read()
    open("%s/body%d.bin" % (tmp, n), "wb").write(body)
    print(r.status, r.getheader("Retry-After", "-"), r.getheader("Content-Type"))
    if r.getheader("Connection", "").lower() == "close":
        c.close()
PYEOF
}
bad=""
for i in 1 2 3 4 5 6 7 8 9 10; do bad="$bad $tmp/bad$i.bin"; done
r1="$tmp/req1.bin"
# shellcheck disable=SC2086
posts 127.0.0.3 $bad "$r1" "$r1" "$r1" "$r1" "$r1" "$r1" "$tmp/req2.bin" "$tmp/req3.bin" \
	"$tmp/req4.bin" "$tmp/bob.bin" >"$tmp/id.out" || fail "posts"
sed -n 1,10p "$tmp/id.out" | grep -qv '^401 ' && fail "a wrong MAC not answered 401"
[ "$(sed -n 11p "$tmp/id.out" | cut -d' ' -f1)" = 200 ] ||
	fail "Alice refused after a flood in her name with a wrong MAC"
sed -n 12,16p "$tmp/id.out" | grep -qv '^401 ' && fail "a replay not answered 401"
[ "$(sed -n 17,18p "$tmp/id.out" | cut -d' ' -f1 | tr '\n' ' ')" = "200 200 " ] ||
	fail "Alice's requests 2 and 3 refused: replays or wrong MACs were charged to her"
ok "wrong-MAC flood and replays in Alice's name do not use up her budget"

# Past her burst (3), in the same run: 429, a MIKEY Error message, Retry-After; Bob served.
sed -n 19p "$tmp/id.out" >"$tmp/id4.out"
read -r st retry ctype <"$tmp/id4.out"
[ "$st" = 429 ] || fail "Alice's request past her burst: $st, expected 429"
[ "$retry" -ge 1 ] || fail "Retry-After '$retry'"
[ "$ctype" = application/mikey ] || fail "429 content type '$ctype'"
"$UE" decode "$tmp/body19.bin" >"$tmp/out" 2>"$tmp/err" || fail "decode the 429 body"
json_check 'd["hdr"]["data_type"] == 6'
[ "$(sed -n 20p "$tmp/id.out" | cut -d' ' -f1)" = 200 ] || fail "Bob refused for Alice's limit"
ok "Alice past her burst: 429 + Retry-After + MIKEY Error; Bob still served"

# --- audit (flushed at stop) ------------------------------------------------------------
kmsd_stop
# Per-address refusals are unauthenticated: sampled, one row per address
# per audit.sample_interval with a count; Alice's refusal has its own row.
n_rate=$(sqlite3 "$S/audit.db" "SELECT COALESCE(SUM(count), 0) FROM audit WHERE error = 'KMS_ERATE';")
n_alice=$(sqlite3 "$S/audit.db" \
	"SELECT COALESCE(SUM(count), 0) FROM audit WHERE error = 'KMS_ERATE' AND requester = 'alice@example.org';")
[ "$n_rate" -ge $((got429 + 1)) ] || fail "$n_rate KMS_ERATE audit rows, expected $((got429 + 1))"
[ "$n_alice" -eq 1 ] || fail "$n_alice KMS_ERATE audit rows for Alice, expected 1"
ok "every refusal audited as KMS_ERATE ($n_rate, sampled rows counted)"
