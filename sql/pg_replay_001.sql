-- replay store on PostgreSQL (replay.shared = true), schema version 1: the
-- authenticated messages some kmsd node accepted, so that every other node
-- refuses them too while they are inside the clock-skew window.  PostgreSQL
-- only: an SQLite store serves one node, whose replay cache is enough.
-- Compiled into the programs (sql/Makefile.inc generates sql/schema_sql.h
-- from this file); never edit a released migration, add pg_replay_002.sql.
--
-- digest   the message's name in the node-local cache (kms/replay.h): its
--          verified MAC, zero-padded to 32 bytes.  Not keyed per process,
--          so it is the same on every node.  No column holds key material:
--          the MAC travels in clear in the message itself.
-- expires  Unix seconds: the message's timestamp + policy.clock_skew; after
--          it every node refuses the message by its timestamp anyway.
--
-- A node inserts with ON CONFLICT (digest) DO NOTHING: no row inserted
-- means the message was accepted before (by any node).  Expired rows are
-- deleted in bounded batches (replay_expires keeps that an index range
-- scan); kms/replay_shared.c keeps them one clock skew longer, for nodes
-- whose clocks run behind.
-- UNLOGGED: no WAL for a row that lives minutes (half the cost of an
-- insert); the price is that a crash of the server (not a clean stop)
-- empties the table, see docs/scale.md.
CREATE UNLOGGED TABLE replay (
	digest BYTEA PRIMARY KEY CHECK (octet_length(digest) = 32),
	expires BIGINT NOT NULL
);
CREATE INDEX replay_expires ON replay (expires);
