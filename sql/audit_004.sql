-- audit.db, schema version 4: what an operator reads without a decoder.
-- msg_type_name is the MIKEY data type's name (REQUEST_INIT_PSK, ...; ""
-- when the message did not parse, and in rows written before this
-- version).  responders is the ticket policy's IDRr list as KMS user or
-- group identities, comma-separated, at most 255 bytes (cut at a whole
-- identity, then ",..."), in rows of authenticated requests only.
-- peer_kms names the other KMS of a federated resolve: the issuing KMS a
-- resolve was forwarded to, or the peer KMS that forwarded it here.  time
-- is time_ms as RFC 3339 UTC with milliseconds, computed on read (time_ms
-- stays the column to order and select by).
ALTER TABLE audit ADD COLUMN msg_type_name TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN responders TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN peer_kms TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN time TEXT GENERATED ALWAYS AS
	(strftime('%Y-%m-%dT%H:%M:%S', time_ms / 1000, 'unixepoch') ||
	 printf('.%03dZ', time_ms % 1000)) VIRTUAL;
