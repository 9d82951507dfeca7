-- P2P Market schema (SQLite). Money is integer kopecks, time is integer Unix milliseconds.
-- CHECK constraints are the last line of defence behind the guarded updates of the committer.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('user', 'operator')),
    token_hash    TEXT    NOT NULL UNIQUE,
    rating_sum    INTEGER NOT NULL DEFAULT 0,
    ratings_count INTEGER NOT NULL DEFAULT 0,
    orders_count  INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE wallets (
    user_id           INTEGER PRIMARY KEY REFERENCES users (id),
    available         INTEGER NOT NULL DEFAULT 0 CHECK (available >= 0),
    frozen            INTEGER NOT NULL DEFAULT 0 CHECK (frozen >= 0),
    deposits_total    INTEGER NOT NULL DEFAULT 0,
    wagering_required INTEGER NOT NULL DEFAULT 0,
    wagered           INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE ads (
    id                     INTEGER PRIMARY KEY,
    maker_id               INTEGER NOT NULL REFERENCES users (id),
    ad_type                TEXT    NOT NULL CHECK (ad_type IN ('buy', 'sell')),
    fiat_currency          TEXT    NOT NULL,
    price                  INTEGER NOT NULL CHECK (price > 0),
    min_amount             INTEGER NOT NULL CHECK (min_amount > 0),
    max_amount             INTEGER NOT NULL CHECK (max_amount >= min_amount),
    total_amount           INTEGER NOT NULL CHECK (total_amount > 0),
    available_amount       INTEGER NOT NULL CHECK (available_amount >= 0),
    released_amount        INTEGER NOT NULL DEFAULT 0 CHECK (released_amount >= 0),
    payment_methods        TEXT    NOT NULL,
    payment_window_seconds INTEGER NOT NULL,
    terms                  TEXT    NOT NULL DEFAULT '',
    payment_details        TEXT,
    status                 TEXT    NOT NULL CHECK (status IN ('active', 'paused', 'closed')),
    created_at             INTEGER NOT NULL,
    -- Bumped by every change of the row, so an actor's cache knows which commits it has seen.
    version                INTEGER NOT NULL DEFAULT 1,
    CHECK (status <> 'closed' OR available_amount = 0)
);
CREATE INDEX ads_open ON ads (status) WHERE status <> 'closed';

CREATE TABLE orders (
    id                  INTEGER PRIMARY KEY,
    ad_id               INTEGER NOT NULL REFERENCES ads (id),
    side                TEXT    NOT NULL CHECK (side IN ('withdraw', 'deposit')),
    buyer_id            INTEGER NOT NULL REFERENCES users (id),
    seller_id           INTEGER NOT NULL REFERENCES users (id),
    taker_id            INTEGER NOT NULL REFERENCES users (id),
    usdt_amount         INTEGER NOT NULL CHECK (usdt_amount > 0),
    fiat_amount         INTEGER NOT NULL CHECK (fiat_amount > 0),
    fiat_currency       TEXT    NOT NULL,
    price               INTEGER NOT NULL,
    payment_method      TEXT    NOT NULL,
    payment_details     TEXT    NOT NULL,
    status              TEXT    NOT NULL
        CHECK (status IN ('pending', 'paid_by_buyer', 'disputed', 'completed', 'cancelled')),
    cancel_reason       TEXT CHECK (cancel_reason IN ('buyer', 'seller', 'timeout', 'operator')),
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    paid_at             INTEGER,
    completed_at        INTEGER,
    cancelled_at        INTEGER,
    dispute_opened_by   INTEGER REFERENCES users (id),
    dispute_reason      TEXT,
    dispute_opened_at   INTEGER,
    dispute_resolution  TEXT CHECK (dispute_resolution IN ('release', 'refund')),
    dispute_resolved_by INTEGER REFERENCES users (id),
    dispute_resolved_at INTEGER,
    dispute_note        TEXT
);
-- The database itself refuses a second active withdrawal of one seller (§8.6).
CREATE UNIQUE INDEX orders_one_active_withdrawal ON orders (seller_id)
    WHERE side = 'withdraw' AND status IN ('pending', 'paid_by_buyer', 'disputed');
CREATE INDEX orders_buyer ON orders (buyer_id, id);
CREATE INDEX orders_seller ON orders (seller_id, id);
CREATE INDEX orders_ad ON orders (ad_id);
CREATE INDEX orders_active ON orders (status) WHERE status IN ('pending', 'paid_by_buyer', 'disputed');
-- What a wallet actor counts when it loads: its active withdrawals (as seller) and deposits taken.
CREATE INDEX orders_active_taker ON orders (taker_id, side)
    WHERE status IN ('pending', 'paid_by_buyer', 'disputed');
CREATE INDEX orders_disputes ON orders (dispute_opened_at) WHERE dispute_opened_at IS NOT NULL;
CREATE INDEX orders_pending_expiry ON orders (expires_at) WHERE status = 'pending';

CREATE TABLE messages (
    id          INTEGER PRIMARY KEY,
    order_id    INTEGER NOT NULL REFERENCES orders (id),
    sender_id   INTEGER REFERENCES users (id),
    sender_role TEXT    NOT NULL CHECK (sender_role IN ('buyer', 'seller', 'operator', 'system')),
    message     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX messages_order ON messages (order_id, id);

CREATE TABLE ratings (
    order_id   INTEGER NOT NULL REFERENCES orders (id),
    rater_id   INTEGER NOT NULL REFERENCES users (id),
    ratee_id   INTEGER NOT NULL REFERENCES users (id),
    rating     INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment    TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (order_id, rater_id)
);

-- Platform transactions (deposit, bonus, bet, win); `reference` makes them idempotent.
CREATE TABLE wallet_transactions (
    id                  INTEGER PRIMARY KEY,
    user_id             INTEGER NOT NULL REFERENCES users (id),
    kind                TEXT    NOT NULL CHECK (kind IN ('deposit', 'bonus', 'bet', 'win')),
    amount              INTEGER NOT NULL CHECK (amount > 0),
    reference           TEXT    NOT NULL UNIQUE,
    wagering_multiplier INTEGER NOT NULL,
    created_at          INTEGER NOT NULL
);

-- Append-only: every change of a wallet's available or frozen balance is one row here.
CREATE TABLE ledger (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    kind        TEXT    NOT NULL,
    d_available INTEGER NOT NULL,
    d_frozen    INTEGER NOT NULL,
    order_id    INTEGER REFERENCES orders (id),
    ad_id       INTEGER REFERENCES ads (id),
    tx_id       INTEGER REFERENCES wallet_transactions (id),
    created_at  INTEGER NOT NULL
);
CREATE INDEX ledger_user ON ledger (user_id);
CREATE INDEX ledger_order ON ledger (order_id) WHERE order_id IS NOT NULL;
