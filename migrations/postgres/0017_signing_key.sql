-- The key evidence bundles are signed with when P2P_SIGNING_KEY is not set: made by the first
-- node that starts on the database, then shared by every node (one row).
CREATE TABLE signing_keys (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    seed       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
