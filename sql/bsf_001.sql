-- bsf.db, schema version 1: the subscriber store of bsf-stubd (a BSF
-- stand-in for tests and demos).  Compiled into the programs (sql/Makefile.inc
-- generates sql/schema_sql.h from this file); never edit a released
-- migration, add bsf_002.sql.
-- The file is mode 0600.  k, opc and sessions.ks are kept in the clear: this
-- is a test stub, not an HSS/BSF for production (docs/bsf-stubd.8).
CREATE TABLE subscribers (
	impi TEXT PRIMARY KEY,
	k BLOB NOT NULL CHECK (length(k) = 16),
	opc BLOB NOT NULL CHECK (length(opc) = 16),
	amf BLOB NOT NULL CHECK (length(amf) = 2),
	-- The last SQN used in a challenge (48 bits).
	sqn INTEGER NOT NULL DEFAULT 0 CHECK (sqn BETWEEN 0 AND 281474976710655)
);

-- Public identities of a subscriber, each in a NAF group (the USS of that
-- group lists them).
CREATE TABLE impus (
	impi TEXT NOT NULL REFERENCES subscribers (impi) ON DELETE CASCADE,
	impu TEXT NOT NULL,
	naf_group TEXT NOT NULL,
	PRIMARY KEY (impi, impu, naf_group)
);

-- The NAFs allowed on Zn and the group whose USS each one gets.
CREATE TABLE nafs (
	fqdn TEXT PRIMARY KEY,
	naf_group TEXT NOT NULL
);

-- Bootstrapping sessions: Ks = CK || IK for the B-TID, until expires (unix s).
CREATE TABLE sessions (
	btid TEXT PRIMARY KEY,
	impi TEXT NOT NULL REFERENCES subscribers (impi) ON DELETE CASCADE,
	rand BLOB NOT NULL CHECK (length(rand) = 16),
	ks BLOB NOT NULL CHECK (length(ks) = 32),
	created INTEGER NOT NULL,
	expires INTEGER NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires);
