-- audit.db, schema version 5: which kmsd node wrote the row, as several
-- nodes may write to one audit store.  "" in rows written before this
-- version.
ALTER TABLE audit ADD COLUMN node TEXT NOT NULL DEFAULT '';
