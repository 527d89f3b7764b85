-- kms.db, schema version 7: two more terms of a policy rule (policy/rules.h,
-- docs/policy.md), 0 or 1, off for the rules stored before: responder_rand
-- (flag G: the Responder generates RANDRr, which then enters the TRANSFER_RESP
-- and session key derivations) and responder_keys (flag M: the Responder may
-- supply session keys in a KEMAC of its TRANSFER_RESP).
ALTER TABLE policy_rules ADD COLUMN responder_rand INTEGER NOT NULL DEFAULT 0
	CHECK (responder_rand IN (0, 1));
ALTER TABLE policy_rules ADD COLUMN responder_keys INTEGER NOT NULL DEFAULT 0
	CHECK (responder_keys IN (0, 1));
