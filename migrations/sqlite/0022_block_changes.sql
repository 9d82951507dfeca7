-- Every block and unblock, in the order they were written (as on PostgreSQL, where each node's
-- refresh reads only the pairs changed after the last change it read): the start finds the newest
-- at once.
CREATE TABLE block_changes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    blocker_id BIGINT NOT NULL,
    blocked_id BIGINT NOT NULL
);
