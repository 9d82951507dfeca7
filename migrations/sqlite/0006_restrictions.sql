-- Responsible gaming: the platform's restrictions of a user. The history is kept: lifting one
-- early stamps lifted_at; one that ran out keeps its until.
CREATE TABLE restrictions (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    kind       TEXT NOT NULL CHECK (kind IN ('self_exclusion', 'cool_off')),
    until      INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    lifted_at  INTEGER
);
CREATE INDEX restrictions_user ON restrictions (user_id, id);
CREATE INDEX restrictions_open ON restrictions (until) WHERE lifted_at IS NULL;
