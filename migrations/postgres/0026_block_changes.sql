-- Every block and unblock, by id: each node's refresh reads only the pairs changed after the last
-- change it read (below the feeds' horizon), then those pairs' rows of `blocks`, instead of every
-- block every second. An id is the writing transaction's id shifted left by 20 bits plus the
-- change's place in it, as events' ids are, so no change of a transaction still running is passed
-- over. An unblock deletes its row of `blocks`; its change stays here.
CREATE TABLE block_changes (
    id         BIGINT PRIMARY KEY,
    blocker_id BIGINT NOT NULL,
    blocked_id BIGINT NOT NULL
);
