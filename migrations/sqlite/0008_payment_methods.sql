-- A user's saved payment methods: an order or a sell ad may name one instead of giving its
-- details inline. Deleting one keeps the row (orders copied its details when they were made).
CREATE TABLE payment_methods (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    method     TEXT NOT NULL,
    details    TEXT NOT NULL,
    label      TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    deleted_at INTEGER
);
CREATE INDEX payment_methods_user ON payment_methods (user_id, id) WHERE deleted_at IS NULL;
