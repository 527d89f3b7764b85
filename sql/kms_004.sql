-- kms.db, schema version 4: a change counter for the rest of what kmsd
-- loads from this store (master keys, PSK users and their identities, Zk
-- peers), kept by triggers like policy_version is for the rules.  kmsd
-- polls both every policy.reload_interval seconds and reloads when either
-- moved, so kmsctl's changes take effect without a signal.
CREATE TABLE store_version (
	one INTEGER PRIMARY KEY CHECK (one = 1),
	version INTEGER NOT NULL
);
INSERT INTO store_version (one, version) VALUES (1, 0);
CREATE TRIGGER master_keys_ins_version AFTER INSERT ON master_keys BEGIN
	UPDATE store_version SET version = version + 1;
END;
CREATE TRIGGER master_keys_upd_version AFTER UPDATE ON master_keys BEGIN
	UPDATE store_version SET version = version + 1;
END;
CREATE TRIGGER master_keys_del_version AFTER DELETE ON master_keys BEGIN
	UPDATE store_version SET version = version + 1;
END;
CREATE TRIGGER psk_users_ins_version AFTER INSERT ON psk_users BEGIN
	UPDATE store_version SET version = version + 1;
END;
CREATE TRIGGER psk_users_upd_version AFTER UPDATE ON psk_users BEGIN
	UPDATE store_version SET version = version + 1;
END;
CREATE TRIGGER psk_users_del_version AFTER DELETE ON psk_users BEGIN
	UPDATE store_version SET version = version + 1;
END;
CREATE TRIGGER psk_identities_ins_version AFTER INSERT ON psk_identities BEGIN
	UPDATE store_version SET version = version + 1;
END;
CREATE TRIGGER psk_identities_upd_version AFTER UPDATE ON psk_identities BEGIN
	UPDATE store_version SET version = version + 1;
END;
CREATE TRIGGER psk_identities_del_version AFTER DELETE ON psk_identities BEGIN
	UPDATE store_version SET version = version + 1;
END;
CREATE TRIGGER zk_peers_ins_version AFTER INSERT ON zk_peers BEGIN
	UPDATE store_version SET version = version + 1;
END;
CREATE TRIGGER zk_peers_upd_version AFTER UPDATE ON zk_peers BEGIN
	UPDATE store_version SET version = version + 1;
END;
CREATE TRIGGER zk_peers_del_version AFTER DELETE ON zk_peers BEGIN
	UPDATE store_version SET version = version + 1;
END;
