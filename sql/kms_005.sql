-- kms.db, schema version 5: which responder identities a Zk peer may vouch
-- for (a user or group identity pattern, policy/identity.h).  A resolve the
-- peer forwards for an identity outside it is refused.  Peers added before
-- this version keep '*@*' (any identity, the earlier behaviour) until they
-- are added again with kmsctl peer add --responders.
ALTER TABLE zk_peers ADD COLUMN responders TEXT NOT NULL DEFAULT '*@*'
	CHECK (length(CAST(responders AS BLOB)) BETWEEN 3 AND 256);
