-- PostgreSQL kms store, version 3 (= SQLite kms_007.sql): the policy rule
-- terms responder_rand (flag G) and responder_keys (flag M), 0 or 1, off
-- for the rules stored before, which therefore decide as they did.
ALTER TABLE policy_rules
	ADD COLUMN responder_rand BIGINT NOT NULL DEFAULT 0
		CHECK (responder_rand IN (0, 1)),
	ADD COLUMN responder_keys BIGINT NOT NULL DEFAULT 0
		CHECK (responder_keys IN (0, 1));
