-- kms.db, schema version 3: the Zk peers (zk/peer.h, issue 7).  One row per
-- peer KMS: kms_id is the identity carried in IDRkms, url its Zk base URL,
-- ca_file the CA bundle its certificates must chain to, cert_name the DNS
-- name in its certificates (as a server and as a client; unique, case
-- insensitive).  wrapped holds the per-peer key as AES-256-KW under the
-- KEK (key_len + 8 bytes), never the clear key.  Lengths are in bytes.
CREATE TABLE zk_peers (
	kms_id TEXT PRIMARY KEY
		CHECK (length(CAST(kms_id AS BLOB)) BETWEEN 1 AND 255),
	url TEXT NOT NULL
		CHECK (length(CAST(url AS BLOB)) BETWEEN 9 AND 511
		       AND substr(url, 1, 8) = 'https://'),
	ca_file TEXT NOT NULL
		CHECK (length(CAST(ca_file AS BLOB)) BETWEEN 2 AND 255
		       AND substr(ca_file, 1, 1) = '/'),
	cert_name TEXT NOT NULL UNIQUE COLLATE NOCASE
		CHECK (length(CAST(cert_name AS BLOB)) BETWEEN 1 AND 253),
	wrapped BLOB NOT NULL,
	key_len INTEGER NOT NULL CHECK (key_len IN (16, 32)),
	created INTEGER NOT NULL,
	CHECK (length(wrapped) = key_len + 8)
);
