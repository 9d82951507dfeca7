-- Event ids no longer come from a sequence: each is its transaction's id shifted left by 20 bits
-- plus its place among the transaction's events (src/store/dialect.rs, postgres_event_id). Feeds
-- read only the events of transactions older than the oldest still running, so a reader that
-- has seen id n never misses a smaller id later, and no lock orders the writers. Ids already
-- written are far below any new one.
ALTER TABLE events ALTER COLUMN id DROP IDENTITY IF EXISTS;
