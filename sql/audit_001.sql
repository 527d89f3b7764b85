-- audit.db, schema version 1: one row per Ua/Zk request outcome.
-- Compiled into the programs (sql/Makefile.inc generates sql/schema_sql.h
-- from this file); never edit a released migration, add audit_002.sql.
-- No column ever holds key material.
CREATE TABLE audit (
	id INTEGER PRIMARY KEY,
	time_ms INTEGER NOT NULL,
	rid TEXT NOT NULL,
	requester TEXT NOT NULL,
	msg_type INTEGER NOT NULL,
	decision INTEGER NOT NULL,
	error TEXT NOT NULL,
	ticket_key_id INTEGER NOT NULL
);
CREATE INDEX audit_time ON audit (time_ms);
