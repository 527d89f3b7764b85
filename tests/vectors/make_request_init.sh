#!/bin/sh
# Writes tests/vectors/request_init.bin byte by byte from the RFC 3830 /
# RFC 6043 layouts (see README.md), with the V MAC computed by python3's
# hmac module for the test PSK 000102..1f.  Usage: make_request_init.sh OUT
set -eu
out=${1:?usage: make_request_init.sh OUT}

# b HEX...: append bytes given as two-digit hex values.
b() {
	for h in "$@"; do
		# shellcheck disable=SC2059
		printf "\\$(printf '%03o' "0x$h")"
	done >>"$out"
}
s() { printf '%s' "$1" >>"$out"; }

: >"$out"
# HDR: version 1, data type 11 REQUEST_INIT_PSK, next T (5), V 0 | PRF 0
# (MIKEY-1), CSB ID 0x12345678, #CS 0, CS ID map type 1 (Empty map).
b 01 0b 05 00 12 34 56 78 00 01
# T: next RANDR (15), TS type 0 NTP-UTC, 2024-01-01T00:00:00.5Z.
b 0f 00 e9 3c 7f 00 80 00 00 00
# RANDR: next IDR (14), role 1 RANDRi, length 16, 00..0f.
b 0e 01 10 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f
# IDR: next IDR, role 1 IDRi, type 1 URI, length 21.
b 0e 01 01 00 15
s "sip:alice@example.org"
# IDR: next TP (16), role 3 IDRkms, type 0 NAI, length 15.
b 10 03 00 00 0f
s "kms@example.org"
# TP: next IDR, Ticket Type 0xF000, Subtype 1, Version 1, PRF 0 | D=1,
# E F G H I J K L = 1 1 0 1 0 0 0 0, M N O = 0, TP Data length 25.
b 0e f0 00 01 01 01 d0 00 00 19
# TP Data: First Payload IDR; IDR: last, role 2 IDRr, type 1 URI, length 19.
b 0e 00 02 01 00 13
s "sip:bob@example.org"
# IDR: next V (9), role 4 IDRpsk, type 0 NAI, length 40 (a B-TID).
b 09 04 00 00 28
s "I1U8vpY3qJ0hiuZNrke/NQ==@bsf.example.org"
# V: last, Auth alg 1 HMAC-SHA-1-160, then the 20-byte MAC.
b 00 01

mac=$(python3 - "$out" <<'EOF'
import hashlib, hmac, sys
msg = open(sys.argv[1], "rb").read()
psk = bytes(range(32))
randri = bytes(range(16))
# auth_key label (RFC 6043 5.1.2): C || 0xFF || CSB ID || 0x01 || len RANDRi || RANDRi || 0x00
label = bytes.fromhex("2d22ac75ff1234567801") + bytes([16]) + randri + b"\x00"
# MIKEY-1 PRF (RFC 3830 4.1.2), one 256-bit chunk, m = 1 block of 160 bits.
a1 = hmac.new(psk, label, hashlib.sha1).digest()
auth_key = hmac.new(psk, a1 + label, hashlib.sha1).digest()
# MAC input (RFC 6043 5.5): message up to the Auth alg byte || ID_i || ID_kms.
data = msg + b"sip:alice@example.org" + b"kms@example.org"
print(hmac.new(auth_key, data, hashlib.sha1).hexdigest())
EOF
)
# shellcheck disable=SC2046
b $(printf '%s\n' "$mac" | sed 's/../& /g')
