-- kms.db, schema version 6: ticket protection keys of Initiators that build
-- their own tickets (RFC 6043 mode 3, flag D = 0), kms/tpk.h.  id is the
-- 4-byte id the ticket's IDRpsk carries, owner the KMS user identity that
-- must be the ticket's IDRi; state 0 active, 1 retired (kept so that a
-- ticket under it is refused with a precise reason; kmsctl tpk delete
-- removes the row).  wrapped is the 32-byte key as AES-256-KW under the
-- KEK (40 bytes), never the clear key.  And a rule term: may the
-- Initiator's own tickets be resolved (policy_rules.initiator_tickets).
CREATE TABLE ticket_keys (
	id INTEGER PRIMARY KEY CHECK (id BETWEEN 1 AND 4294967295),
	owner TEXT NOT NULL
		CHECK (length(CAST(owner AS BLOB)) BETWEEN 3 AND 256),
	state INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1)),
	wrapped BLOB NOT NULL CHECK (length(wrapped) = 40),
	created INTEGER NOT NULL,
	retired INTEGER NOT NULL DEFAULT 0
);
CREATE TRIGGER ticket_keys_ins_version AFTER INSERT ON ticket_keys BEGIN
	UPDATE store_version SET version = version + 1;
END;
CREATE TRIGGER ticket_keys_upd_version AFTER UPDATE ON ticket_keys BEGIN
	UPDATE store_version SET version = version + 1;
END;
CREATE TRIGGER ticket_keys_del_version AFTER DELETE ON ticket_keys BEGIN
	UPDATE store_version SET version = version + 1;
END;
ALTER TABLE policy_rules ADD COLUMN initiator_tickets INTEGER NOT NULL DEFAULT 0
	CHECK (initiator_tickets IN (0, 1));
