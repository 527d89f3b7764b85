#!/bin/sh
# Make the test PKI of the Zk tests in DIR (created if absent) with the
# openssl command line (tests/pki.sh); nothing here is ever committed.
# EC P-256 keys, certificates valid for 2 days:
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
. "$(dirname "$0")/pki.sh"
pki_init "$1"
both="serverAuth, clientAuth"
pki_ca ca1 "kms test CA 1"
pki_ca ca2 "kms test CA 2"
pki_leaf kms1 ca1 kms1.test "$both" "DNS:kms1.test"
pki_leaf kms2 ca1 kms2.test "$both" "DNS:kms2.test"
pki_leaf rogue ca1 rogue.test "$both" "DNS:rogue.test"
pki_leaf kms1-ca2 ca2 kms1.test "$both" "DNS:kms1.test"
pki_leaf kms2-cn ca1 kms2.test "$both"
pki_leaf kms2-server ca1 kms2.test serverAuth "DNS:kms2.test"
pki_done
