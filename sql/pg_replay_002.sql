-- replay store on PostgreSQL, schema version 2: the resolve-once record
-- shared by every kmsd node (resolve.once = true with replay.shared = true).
-- Which KMS user identity resolved which ticket that may not be reused
-- (flag J = 0), so that the identity's next resolve of it is refused on any
-- node (docs/policy.md, "Ticket reuse (flag J)").  Same layout as the
-- node-local SQLite record (sql/once_001.sql).
--
-- digest   SHA-256 of a domain label, the ticket's Ticket Data and the
--          matched identity (kms/resolve_once.h); no key material.
-- expires  Unix seconds: the ticket's end of validity, capped at the
--          resolve time + policy.max_ticket_lifetime.
--
-- A node inserts with ON CONFLICT (digest) DO UPDATE ... WHERE the old row
-- expired: atomic, so of two nodes resolving one ticket for one identity at
-- once exactly one changes the row.  Expired rows are deleted in bounded
-- batches (resolve_once_expires), one clock skew after they expired.
-- Not UNLOGGED (unlike replay): a row lives as long as its ticket (hours,
-- not minutes), and a crash of the server must not let a ticket that may
-- not be reused be resolved again; it costs WAL for J = 0 resolves only.
CREATE TABLE resolve_once (
	digest BYTEA PRIMARY KEY CHECK (octet_length(digest) = 32),
	expires BIGINT NOT NULL
);
CREATE INDEX resolve_once_expires ON resolve_once (expires);
