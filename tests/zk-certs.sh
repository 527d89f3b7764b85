#!/bin/sh
# Make the test PKI of the Zk tests in DIR (created if absent) with the
# openssl command line; nothing here is ever committed.  EC P-256 keys,
# certificates valid for 2 days:
#   ca1.crt              the peers' CA
#   kms1.crt kms2.crt    kms1.test / kms2.test by ca1 (SAN DNS, EKU serverAuth
#                        and clientAuth)
#   rogue.crt            rogue.test by ca1: valid, but not a peer
#   ca2.crt              another CA
#   kms1-ca2.crt         kms1.test by ca2 (the wrong CA)
#   kms2-cn.crt          kms2.test by ca1, CN only (no subjectAltName)
#   kms2-server.crt      kms2.test by ca1, EKU serverAuth only
# and a .key (mode 0600) for each.  Usage: zk-certs.sh DIR
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$1
command -v openssl >/dev/null 2>&1 || { echo "zk-certs.sh: openssl not found" >&2; exit 1; }
mkdir -p "$dir"
umask 077
cnf="$dir/openssl.cnf"
cat >"$cnf" <<'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CNF

ca() { # ca NAME CN
	openssl req -config "$cnf" -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-nodes -days 2 -subj "/CN=$2" -extensions ca -keyout "$dir/$1.key" \
		-out "$dir/$1.crt" 2>"$dir/openssl.err"
}

leaf() { # leaf NAME CA CN EKU [SAN]
	ext="$dir/$1.ext"
	{
		echo "basicConstraints = critical, CA:FALSE"
		echo "keyUsage = critical, digitalSignature"
		echo "extendedKeyUsage = $4"
		echo "subjectKeyIdentifier = hash"
		echo "authorityKeyIdentifier = keyid"
		if [ $# -ge 5 ]; then echo "subjectAltName = $5"; fi
	} >"$ext"
	openssl req -config "$cnf" -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/CN=$3" -keyout "$dir/$1.key" -out "$dir/$1.csr" 2>"$dir/openssl.err"
	openssl x509 -req -in "$dir/$1.csr" -CA "$dir/$2.crt" -CAkey "$dir/$2.key" \
		-CAserial "$dir/$2.srl" -CAcreateserial -days 2 -extfile "$ext" \
		-out "$dir/$1.crt" 2>"$dir/openssl.err"
	rm -f "$dir/$1.csr" "$ext"
}

both="serverAuth, clientAuth"
ca ca1 "kms test CA 1"
ca ca2 "kms test CA 2"
leaf kms1 ca1 kms1.test "$both" "DNS:kms1.test"
leaf kms2 ca1 kms2.test "$both" "DNS:kms2.test"
leaf rogue ca1 rogue.test "$both" "DNS:rogue.test"
leaf kms1-ca2 ca2 kms1.test "$both" "DNS:kms1.test"
leaf kms2-cn ca1 kms2.test "$both"
leaf kms2-server ca1 kms2.test serverAuth "DNS:kms2.test"
rm -f "$dir/openssl.err" "$dir"/*.srl "$cnf"
