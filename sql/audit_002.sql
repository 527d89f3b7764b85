-- audit.db, schema version 2: why a request was refused or narrowed (a
-- fixed English phrase, e.g. "tel: URI is not a KMS user identity"), empty
-- when there is nothing to say.  Never an identity or key material.
ALTER TABLE audit ADD COLUMN reason TEXT NOT NULL DEFAULT '';
