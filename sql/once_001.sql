-- resolve-once record, node-local (resolve.once = true, replay.shared =
-- false), schema version 1: state_dir/resolve_once.db.  Which KMS user
-- identity resolved which ticket that may not be reused (flag J = 0), so
-- that the same identity's next resolve of it is refused (docs/policy.md,
-- "Ticket reuse (flag J)").  Compiled into the programs (sql/Makefile.inc);
-- never edit a released migration, add once_002.sql.
--
-- digest   SHA-256 of a domain label, the ticket's Ticket Data and the
--          matched identity (kms/resolve_once.h): neither the ticket nor
--          the identity can be read back from it, and no key material is in
--          it (the Ticket Data is sealed).
-- expires  Unix seconds: the ticket's end of validity, capped at the
--          resolve time + policy.max_ticket_lifetime; after it the ticket
--          itself is refused as expired and the row is deleted.
--
-- kmsd inserts with ON CONFLICT (digest) DO UPDATE ... WHERE the old row
-- expired: no row changed means the identity resolved the ticket before.
-- The row count is bounded by resolve.once_max_entries (kms/resolve_once.c).
CREATE TABLE resolve_once (
	digest BLOB PRIMARY KEY CHECK (length(digest) = 32),
	expires INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX resolve_once_expires ON resolve_once (expires);
