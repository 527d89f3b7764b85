#!/bin/sh
# ua.error_detail: refusals carry X-KMS-Error: KMS_E<NAME> reason.  Before
# the MAC verified only framing and decoding reasons (empty body, garbage);
# an unknown user and a wrong MAC read the same; after it the precise reason
# (replay, policy deny).  Never on a success; never when the setting is off.
set -eu
. "${top_srcdir:-.}/tests/system/lib.sh"

port=$(free_port)
B="http://127.0.0.1:$port"
U="$B/kms"
S="$tmp/state"
"$KMSCTL" -d "$S" init --demo >"$tmp/init.out" 2>&1 || fail "kmsctl init --demo"
"$KMSCTL" -d "$S" policy add --from alice@example.org --to carol@example.org --deny \
	>/dev/null || fail "policy add"
write_conf() { # write_conf DETAIL
	cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 2; error_detail = $1; };
kms = { state_dir = "$S"; };
CONF
}
detail() { # the X-KMS-Error header of the last answer, as sent ("" if none)
	grep -i '^X-KMS-Error:' "$tmp/hdr" | head -n 1 | cut -d: -f2- | sed 's/^ //' |
		tr -d '\r'
}
post() { # post IN: a ticket request; prints the status
	post_mikey "$U?requesttype=ticketrequest" "$1" "$tmp/resp.bin"
}
request() { # request PSKFILE ID TO OUT
	"$UE" request --psk-file "$1" --id "$2" --to "$3" --out "$4" \
		--state "$tmp/st" >/dev/null || fail "kms-ue request ($2)"
}
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/wrong.psk"
: >"$tmp/empty.bin"
printf 'this is not a MIKEY message' >"$tmp/garbage.bin"

write_conf true
kmsd_start "$tmp/kmsd.conf" "$B"

# --- success: no header --------------------------------------------------------------
request "$S/demo-alice.psk" alice@example.org bob@example.org "$tmp/ok.bin"
[ "$(post "$tmp/ok.bin")" = 200 ] || fail "alice -> bob not granted"
[ -z "$(detail)" ] || fail "X-KMS-Error on a success: $(detail)"
ok "success: 200 without X-KMS-Error"

# --- before authentication: framing and decoding reasons ------------------------------
[ "$(post "$tmp/empty.bin")" = 400 ] || fail "empty body not 400"
empty=$(detail)
case $empty in KMS_E*" empty body") ;; *) fail "empty body: X-KMS-Error '$empty'" ;; esac
[ "$(post "$tmp/garbage.bin")" = 400 ] || fail "garbage not 400"
garbage=$(detail)
case $garbage in KMS_E*) ;; *) fail "garbage: X-KMS-Error '$garbage'" ;; esac
[ "$garbage" != "$empty" ] || fail "garbage and an empty body read the same: $garbage"
case $garbage in KMS_EAUTH*) fail "garbage reads as an authentication failure" ;; esac
expect 415 "$U?requesttype=ticketrequest" -H 'Content-Type: text/plain' --data-binary x
[ "$(detail)" = "KMS_EHTTP_MEDIA unsupported content type" ] ||
	fail "wrong content type: X-KMS-Error '$(detail)'"
ok "empty body '$empty', garbage '$garbage', wrong content type: framing reasons"

# --- an unknown user and a wrong MAC read the same --------------------------------------
request "$tmp/wrong.psk" alice@example.org bob@example.org "$tmp/badmac.bin"
[ "$(post "$tmp/badmac.bin")" = 401 ] || fail "wrong MAC not 401"
badmac=$(detail)
request "$tmp/wrong.psk" erin@example.org bob@example.org "$tmp/erin.bin"
[ "$(post "$tmp/erin.bin")" = 401 ] || fail "unknown user not 401"
unknown=$(detail)
[ "$badmac" = "KMS_EAUTH authentication failure" ] || fail "wrong MAC: '$badmac'"
[ "$unknown" = "$badmac" ] || fail "unknown user '$unknown' differs from wrong MAC '$badmac'"
ok "unknown user and wrong MAC: both '$badmac'"

# --- after authentication: the precise reason --------------------------------------------
[ "$(post "$tmp/ok.bin")" = 401 ] || fail "replay not 401"
[ "$(detail)" = "KMS_EREPLAY replayed message" ] || fail "replay: '$(detail)'"
request "$S/demo-alice.psk" alice@example.org carol@example.org "$tmp/deny.bin"
[ "$(post "$tmp/deny.bin")" = 403 ] || fail "policy deny not 403"
case $(detail) in KMS_EPOLICY*) ;; *) fail "policy deny: '$(detail)'" ;; esac
ok "replay 'KMS_EREPLAY replayed message', policy deny '$(detail)'"
kmsd_stop

# --- off: no header at all ----------------------------------------------------------------
write_conf false
kmsd_start "$tmp/kmsd.conf" "$B"
[ "$(post "$tmp/garbage.bin")" = 400 ] || fail "garbage not 400 (detail off)"
[ -z "$(detail)" ] || fail "X-KMS-Error with error_detail off: $(detail)"
[ "$(post "$tmp/erin.bin")" = 401 ] || fail "unknown user not 401 (detail off)"
[ -z "$(detail)" ] || fail "X-KMS-Error with error_detail off: $(detail)"
ok "ua.error_detail = false: no X-KMS-Error"
kmsd_stop
