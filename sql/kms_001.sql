-- kms.db, schema version 1: the master keyring and the static PSK users.
-- Compiled into the programs (sql/Makefile.inc generates sql/schema_sql.h
-- from this file); never edit a released migration, add kms_002.sql.
-- Key columns hold AES-256-KW wrapped bytes only, never clear keys.
CREATE TABLE master_keys (
	id INTEGER PRIMARY KEY CHECK (id BETWEEN 1 AND 4294967295),
	state INTEGER NOT NULL CHECK (state IN (0, 1, 2)),
	wrapped BLOB NULL,
	created INTEGER NOT NULL,
	rotated INTEGER NOT NULL DEFAULT 0,
	retired INTEGER NOT NULL DEFAULT 0,
	CHECK ((state = 2) = (wrapped IS NULL))
);
-- At most one active key (state 0).
CREATE UNIQUE INDEX master_keys_active ON master_keys (state) WHERE state = 0;

CREATE TABLE psk_users (
	psk_id TEXT PRIMARY KEY,
	wrapped BLOB NOT NULL,
	key_len INTEGER NOT NULL CHECK (key_len IN (16, 32)),
	expires INTEGER NOT NULL DEFAULT 0,
	created INTEGER NOT NULL
);

CREATE TABLE psk_identities (
	psk_id TEXT NOT NULL REFERENCES psk_users (psk_id) ON DELETE CASCADE,
	identity TEXT NOT NULL,
	PRIMARY KEY (psk_id, identity)
);
