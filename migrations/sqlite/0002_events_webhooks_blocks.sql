-- Order events: what the event stream replays, what webhooks deliver, and each order's history.
-- One row per transition or chat message, written in the same transaction as the change itself.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL,
    order_id    INTEGER NOT NULL REFERENCES orders (id),
    message_id  INTEGER REFERENCES messages (id),
    buyer_id    INTEGER NOT NULL,
    seller_id   INTEGER NOT NULL,
    -- 1 once the order has a dispute: operators' streams carry these.
    disputed    INTEGER NOT NULL,
    actor_id    INTEGER,
    actor_role  TEXT    NOT NULL,
    from_status TEXT,
    to_status   TEXT,
    reason      TEXT,
    -- The Order (or Message) as it was after the change, in its JSON shape.
    payload     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
-- A party's replay goes through its orders (orders_buyer, orders_seller, then events_order):
-- two fewer index entries per event on the hot path, for a read that only reconnects make.
CREATE INDEX events_order ON events (order_id, id);
CREATE INDEX events_disputed ON events (id) WHERE disputed = 1;
CREATE INDEX events_cancels ON events (created_at) WHERE kind = 'order.cancelled';

-- Where the platform wants to hear about finished orders. `cursor` is the last event delivered:
-- a webhook receives its events in order, one at a time, each until acknowledged.
CREATE TABLE webhooks (
    id              INTEGER PRIMARY KEY,
    url             TEXT    NOT NULL,
    secret          TEXT    NOT NULL,
    cursor          INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    lease_until     INTEGER NOT NULL DEFAULT 0,
    delivered       INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    deleted_at      INTEGER
);

-- A user who does not want to trade with another.
CREATE TABLE blocks (
    blocker_id INTEGER NOT NULL REFERENCES users (id),
    blocked_id INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id),
    CHECK (blocker_id <> blocked_id)
);
CREATE INDEX blocks_blocked ON blocks (blocked_id);
