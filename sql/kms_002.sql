-- kms.db, schema version 2: ticket policy rules (policy/rules.h,
-- docs/policy.md).  effect: 0 allow, 1 deny; max_validity in seconds,
-- 0 = the configured cap; reuse (flag J), group_ok (group responders) and
-- init_keys (flag L: the Initiator may supply session keys) are 0 or 1.
CREATE TABLE policy_rules (
	id INTEGER PRIMARY KEY,
	priority INTEGER NOT NULL DEFAULT 0
		CHECK (priority BETWEEN -1000000 AND 1000000),
	initiator TEXT NOT NULL CHECK (length(initiator) BETWEEN 3 AND 256),
	responder TEXT NOT NULL CHECK (length(responder) BETWEEN 3 AND 256),
	effect INTEGER NOT NULL CHECK (effect IN (0, 1)),
	max_validity INTEGER NOT NULL DEFAULT 0
		CHECK (max_validity BETWEEN 0 AND 4294967295),
	reuse INTEGER NOT NULL DEFAULT 0 CHECK (reuse IN (0, 1)),
	group_ok INTEGER NOT NULL DEFAULT 0 CHECK (group_ok IN (0, 1)),
	init_keys INTEGER NOT NULL DEFAULT 0 CHECK (init_keys IN (0, 1)),
	created INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))
);

-- One row; bumped by every change of policy_rules, so that kmsd notices a
-- change by reading one integer.
CREATE TABLE policy_version (
	one INTEGER PRIMARY KEY CHECK (one = 1),
	version INTEGER NOT NULL
);
INSERT INTO policy_version (one, version) VALUES (1, 0);
CREATE TRIGGER policy_rules_ins AFTER INSERT ON policy_rules BEGIN
	UPDATE policy_version SET version = version + 1;
END;
CREATE TRIGGER policy_rules_del AFTER DELETE ON policy_rules BEGIN
	UPDATE policy_version SET version = version + 1;
END;
CREATE TRIGGER policy_rules_upd AFTER UPDATE ON policy_rules BEGIN
	UPDATE policy_version SET version = version + 1;
END;
