-- audit.db, schema version 3: who sent it and how many rows a row stands
-- for.  client is the client's IP address as text ("" in rows written
-- before this version).  count is 1 for the row of one request; a sampled
-- row (refusals of unauthenticated requests: bad framing, malformed
-- messages, wrong MACs, replays, unknown keys) stands for count refusals
-- with the same client and error within one sampling interval
-- (audit.sample_interval), and holds the time, request id, requester and
-- reason of the first of them.  client "*" counts the refusals of client
-- addresses beyond the number sampled per interval.
ALTER TABLE audit ADD COLUMN client TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
