# The openssl helpers of the test PKIs (sourced by tests/zk-certs.sh and
# the system tests; nothing made here is ever committed).  EC P-256 keys,
# certificates valid for 2 days, keys mode 0600.
#   pki_init DIR                      the directory (created) and its openssl.cnf
#   pki_ca NAME CN                    a CA: DIR/NAME.crt, DIR/NAME.key
#   pki_leaf NAME CA CN EKU [SAN]     a leaf by CA (its serial is random)
#   pki_done                          remove the scratch files
pki_init() {
	pki_dir=$1
	command -v openssl >/dev/null 2>&1 || { echo "pki.sh: openssl not found" >&2; return 1; }
	mkdir -p "$pki_dir"
	pki_cnf="$pki_dir/openssl.cnf"
	cat >"$pki_cnf" <<'CNF'
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
}

pki_ca() { # pki_ca NAME CN
	(umask 077 && openssl req -config "$pki_cnf" -x509 -newkey ec \
		-pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$2" -extensions ca \
		-keyout "$pki_dir/$1.key" -out "$pki_dir/$1.crt" 2>"$pki_dir/openssl.err")
}

pki_leaf() { # pki_leaf NAME CA CN EKU [SAN]
	pki_ext="$pki_dir/$1.ext"
	{
		echo "basicConstraints = critical, CA:FALSE"
		echo "keyUsage = critical, digitalSignature"
		echo "extendedKeyUsage = $4"
		echo "subjectKeyIdentifier = hash"
		echo "authorityKeyIdentifier = keyid"
		if [ $# -ge 5 ]; then echo "subjectAltName = $5"; fi
	} >"$pki_ext"
	(umask 077 && openssl req -config "$pki_cnf" -new -newkey ec \
		-pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$3" \
		-keyout "$pki_dir/$1.key" -out "$pki_dir/$1.csr" 2>"$pki_dir/openssl.err" &&
		openssl x509 -req -in "$pki_dir/$1.csr" -CA "$pki_dir/$2.crt" \
			-CAkey "$pki_dir/$2.key" -set_serial "0x$(openssl rand -hex 8)" \
			-days 2 -extfile "$pki_ext" -out "$pki_dir/$1.crt" \
			2>"$pki_dir/openssl.err")
	pki_rc=$?
	rm -f "$pki_dir/$1.csr" "$pki_ext"
	return $pki_rc
}

pki_done() {
	rm -f "$pki_dir/openssl.err" "$pki_dir"/*.srl "$pki_cnf"
}
