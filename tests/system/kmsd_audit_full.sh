#!/bin/sh
# The audit log on a full disk (kmsd.conf(5) AUDIT, audit.on_failure =
# refuse): requests are answered 503 with a MIKEY Error and /readyz says why
# (logged once), kmsctl fails with "disk full: ... nothing was changed" and
# leaves kms.db as it was; once the disk has room again kmsd answers 200
# and is ready by itself, and every answered request has its row (the 503s
# are counted in a sampled row).
# As root the state lives on a 2 MB tmpfs filled by a filler file (deleted
# for the recovery); otherwise audit.max_size caps the store (raised on
# SIGHUP for the recovery) and the kmsctl part is skipped.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"
need sqlite3

mnt=""
cleanup_mnt() {
	[ -n "$mnt" ] && umount "$mnt" 2>/dev/null
	mnt=""
}
trap 'cleanup_mnt; lib_cleanup' EXIT
S="$tmp/state"
mode=cap
if [ "$(id -u)" = 0 ] && [ -z "${KMS_TEST_NO_TMPFS:-}" ]; then
	mkdir -p "$tmp/disk"
	if mount -t tmpfs -o size=2m,mode=0700 tmpfs "$tmp/disk" 2>/dev/null; then
		mnt="$tmp/disk"
		S="$mnt/state"
		mode=tmpfs
	fi
fi
echo "# full disk by: $mode"
"$KMSCTL" -d "$S" init --demo >"$tmp/init.out" 2>&1 || fail "kmsctl init --demo"
port=$(free_port)
B="http://127.0.0.1:$port"
conf() { # conf MAX_SIZE
	cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 2; };
kms = { state_dir = "$S"; };
audit = { on_failure = "refuse"; sample_interval = 1; max_size = $1; };
# The replay journal is allocated whole at start (replay_entries + 25 %
# slots of 24 bytes): kept small so that it fits the 2 MB disk with room to
# fill.
policy = { replay_entries = 4096; };
CONF
}
requests=0
ok200=0
n503=0
request() { # a fresh REQUEST_INIT from Alice; prints the status
	"$UE" request --psk-file "$S/demo-alice.psk" --id alice@example.org \
		--to bob@example.org --out "$tmp/req.bin" --state "$tmp/alice.st" ||
		fail "kms-ue request"
	post_mikey "$B/kms?requesttype=ticketrequest" "$tmp/req.bin" "$tmp/resp.bin"
}
count() { # count STATUS: one more request answered STATUS
	requests=$((requests + 1))
	case $1 in
	200) ok200=$((ok200 + 1)) ;;
	503) n503=$((n503 + 1)) ;;
	*) fail "request answered $1" ;;
	esac
}

if [ $mode = cap ]; then
	# Make the store bigger than the cap first: kmsd creates it, sqlite3
	# pads it; the cap (65536, the least) then leaves no page to grow into.
	conf 0
	kmsd_start "$tmp/kmsd.conf" "$B"
	kmsd_stop
	sqlite3 "$S/audit.db" "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1
		FROM k WHERE i < 400) INSERT INTO audit (time_ms, rid, requester, msg_type,
		decision, error, ticket_key_id, reason) SELECT 0, 'pad', printf('%.300c', 'x'),
		0, 0, 'KMS_EOK', 0, 'pad' FROM k;" || fail "padding audit.db"
	conf 65536
else
	conf 0
fi
kmsd_start "$tmp/kmsd.conf" "$B"

# --- healthy: 200 and ready ---------------------------------------------------------
st=$(request)
count "$st"
[ "$st" = 200 ] || fail "first request: $st"
expect 200 "$B/readyz"
ok "healthy: ticket request 200, /readyz ready"

# --- the disk fills: 503 with a MIKEY Error, not ready, logged once --------------------
if [ $mode = tmpfs ]; then
	dd if=/dev/zero of="$mnt/filler" bs=4096 2>/dev/null || true
fi
i=0
while :; do
	st=$(request)
	count "$st"
	[ "$st" = 503 ] && break
	i=$((i + 1))
	[ $i -le 300 ] || fail "no 503 after 300 requests on a full disk"
	sleep 0.05
done
"$UE" decode "$tmp/resp.bin" >"$tmp/err.json" 2>/dev/null || fail "503 without a MIKEY body"
grep -q '"data_type": *6' "$tmp/err.json" || fail "the 503 body is not a MIKEY Error"
expect 503 "$B/readyz"
grep -q "not ready: audit log cannot be written: .*database or disk is full" "$tmp/body" ||
	fail "/readyz does not say why: $(cat "$tmp/body")"
for k in 1 2 3 4 5; do
	st=$(request)
	count "$st"
	[ "$st" = 503 ] || fail "request $k on the full disk answered $st"
done
[ "$(log_count "audit: cannot write to the audit log")" = 1 ] ||
	fail "the failure is not logged exactly once"
ok "full disk: 503 with a MIKEY Error, /readyz 503 with the reason, logged once"

# --- kmsctl on the full disk: a clear message, nothing changed ------------------------
if [ $mode = tmpfs ]; then
	for cmd in "key rotate" "key retire 1" \
		"policy add --from *@example.org --to bob@example.org --deny"; do
		# shellcheck disable=SC2086
		run 1 "$KMSCTL" -d "$S" $cmd
		grep -q "^kmsctl: disk full: .*: nothing was changed" "$tmp/err" ||
			fail "kmsctl $cmd: unclear message: $(cat "$tmp/err")"
	done
	ok "kmsctl on the full disk: 'disk full: ... nothing was changed', exit 1"
fi

# --- room again: 200 and ready by themselves -------------------------------------------
if [ $mode = tmpfs ]; then
	rm -f "$mnt/filler"
else
	conf 0
	hup "$pid" "reload done"
fi
ready_now() { [ "$(call "$B/readyz")" = 200 ]; }
wait_for 10 "not ready again after the disk has room" ready_now
wait_log "audit: the audit log takes writes again"
st=$(request)
count "$st"
[ "$st" = 200 ] || fail "request after the recovery: $st"
ok "room again: ready and 200 without a restart"

if [ $mode = tmpfs ]; then
	run 0 "$KMSCTL" -d "$S" key list
	[ "$(grep -c "^[0-9]" "$tmp/out")" = 1 ] || fail "key list changed: $(cat "$tmp/out")"
	grep -q "^1 .*active" "$tmp/out" || fail "key 1 is no longer active"
	run 0 "$KMSCTL" -d "$S" policy list
	[ "$(grep -c "^[0-9]" "$tmp/out")" = 0 ] || fail "a rule was added: $(cat "$tmp/out")"
	ok "kms.db intact: one key, no rule"
fi

# --- every 200 has its row; the 503s are counted -------------------------------------
kmsd_stop
q() { sqlite3 "$S/audit.db" "$1"; }
granted=$(q "SELECT count(*) FROM audit WHERE decision = 1 AND rid != 'pad'")
[ "$granted" = "$ok200" ] || fail "$ok200 requests answered 200, $granted granted rows"
refused=$(q "SELECT coalesce(sum(count), 0) FROM audit WHERE error = 'KMS_EAUDIT' AND
	client = '127.0.0.1'")
[ "$refused" = "$n503" ] || fail "$n503 requests answered 503, $refused counted"
ok "audit.db: $granted granted rows for $ok200 answers 200, $refused refusals counted"
cleanup_mnt
