#!/bin/sh
# 11-zk.sh - federation: Bob's KMS forwards his resolve over Zk (mutual TLS)
# to the KMS that issued Alice's ticket.  run.sh's kmsd has no Zk listener,
# so this example starts two KMSs of its own (kms1.d1.example with Alice,
# kms2.d2.example with Bob) on $FED_PORTS, in $WALK/fed, and stops them.
set -eu
. "$(dirname "$0")/env.sh"
set -- $FED_PORTS                       # UA1 ZK1 UA2 ZK2
rm -rf fed && mkdir -m 700 fed && cd fed
# A CA, and for each KMS a certificate for Zk as server and client.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj '/CN=walkthrough Zk CA' -keyout ca.key -out ca.crt 2>/dev/null
for n in 1 2; do
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/CN=kms$n.d$n.example" -keyout kms$n.key -out kms$n.csr 2>/dev/null
	printf 'extendedKeyUsage = serverAuth, clientAuth\nsubjectAltName = DNS:%s\n' \
		"kms$n.d$n.example" >kms$n.ext
	openssl x509 -req -in kms$n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
		-extfile kms$n.ext -out kms$n.crt 2>/dev/null
	"$KMSCTL" -d s$n init >/dev/null
done
"$KMSCTL" -d s1 psk add alice@d1.example --identity alice@d1.example --generate alice.psk
"$KMSCTL" -d s2 psk add bob@d2.example --identity bob@d2.example --generate bob.psk
# Each KMS takes the other as a peer, with one per-peer key made on KMS1.
"$KMSCTL" -d s1 peer add --kms-id kms2.d2.example --url "https://127.0.0.1:$4/kms" \
	--ca ca.crt --cert-name kms2.d2.example --responders '*@d2.example' --generate peer.key
"$KMSCTL" -d s2 peer add --kms-id kms1.d1.example --url "https://127.0.0.1:$2/kms" \
	--ca ca.crt --cert-name kms1.d1.example --responders '*@d1.example' --key-file peer.key
conf() { # conf N UA ZK: kmsN.conf, the KMS kmsN.dN.example
	printf 'ua = { port = %s; };\nkms = { kms_id = "%s"; state_dir = "%s"; };\n' \
		"$2" "kms$1.d$1.example" "$PWD/s$1"
	printf 'zk = { enabled = true; port = %s; cert_file = "%s"; key_file = "%s";\n' \
		"$3" "$PWD/kms$1.crt" "$PWD/kms$1.key"
	printf '       ca_file = "%s"; };\n' "$PWD/ca.crt"
}
conf 1 "$1" "$2" >kms1.conf
conf 2 "$3" "$4" >kms2.conf
root=""; [ "$(id -u)" -ne 0 ] || root=--allow-root     # kmsd as root must be told
"$KMSD" $root -c kms1.conf >kms1.log 2>&1 & kms1=$!
"$KMSD" $root -c kms2.conf >kms2.log 2>&1 & kms2=$!
trap 'kill $kms1 $kms2 2>/dev/null; wait' EXIT          # stop both at the end
i=0
until [ "$i" -ge 100 ] || { curl -sf -o /dev/null "http://127.0.0.1:$1/healthz" &&
	curl -sf -o /dev/null "http://127.0.0.1:$3/healthz"; }; do
	i=$((i + 1))
	sleep 0.1
done
# Alice asks KMS1 (--kms-id: IDRkms names the KMS the message goes to) ...
"$UE" request --psk-file alice.psk --id alice@d1.example --to bob@d2.example \
	--kms-id kms1.d1.example --out req.bin --state alice.st
"$UE" post --url "http://127.0.0.1:$1/kms" --type ticketrequest --in req.bin --out resp.bin
"$UE" transfer-init --psk-file alice.psk --state alice.st --resp resp.bin --out ti.bin
# ... Bob resolves at KMS2, which forwards to KMS1 over Zk.
"$UE" resolve --psk-file bob.psk --id bob@d2.example --kms-id kms2.d2.example \
	--in ti.bin --out res.bin --state bob.st
"$UE" post --url "http://127.0.0.1:$3/kms" --type ticketresolve --in res.bin --out rr.bin
grep -h 'ticketresolve from' kms2.log kms1.log   # forwarded by KMS2, granted by KMS1
"$UE" transfer-resp --psk-file bob.psk --state bob.st --resp rr.bin --out tr.bin
"$UE" keys --state alice.st --tr tr.bin >alice.keys   # secret
"$UE" keys --state bob.st >bob.keys
cmp alice.keys bob.keys && echo "same SRTP keys across two KMSs"
