-- kms store on PostgreSQL, schema version 2: as sql/kms_006.sql, the
-- ticket protection keys of Initiators that build their own tickets
-- (kms/tpk.h) and the rule term initiator_tickets.  wrapped holds
-- AES-256-KW bytes only (40), never the clear key.
CREATE TABLE ticket_keys (
	id BIGINT PRIMARY KEY CHECK (id BETWEEN 1 AND 4294967295),
	owner TEXT NOT NULL CHECK (octet_length(owner) BETWEEN 3 AND 256),
	state BIGINT NOT NULL DEFAULT 0 CHECK (state IN (0, 1)),
	wrapped BYTEA NOT NULL CHECK (octet_length(wrapped) = 40),
	created BIGINT NOT NULL,
	retired BIGINT NOT NULL DEFAULT 0
);
CREATE TRIGGER ticket_keys_version
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ticket_keys
	FOR EACH STATEMENT EXECUTE FUNCTION kms_store_changed();
ALTER TABLE policy_rules ADD COLUMN initiator_tickets BIGINT NOT NULL DEFAULT 0
	CHECK (initiator_tickets IN (0, 1));
