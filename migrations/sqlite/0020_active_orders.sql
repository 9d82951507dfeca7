-- The active orders (pending, paid, disputed), each with what the sweeps, the limits and the
-- operators' queue look it up by, in a table of their own: the same table as PostgreSQL's, whose
-- migration says why (its steps of an order become heap-only updates), so both stores answer
-- the same queries. A row on creation, an update at each step that leaves the order active, a
-- delete when it ends.
CREATE TABLE active_orders (
    order_id   INTEGER PRIMARY KEY REFERENCES orders (id),
    side       TEXT   NOT NULL CHECK (side IN ('withdraw', 'deposit')),
    seller_id  INTEGER NOT NULL,
    taker_id   INTEGER NOT NULL,
    status     TEXT   NOT NULL CHECK (status IN ('pending', 'paid_by_buyer', 'disputed')),
    -- The deadline the sweep acts on (`Order::deadline`): a pending order's payment window, a
    -- paid order's release window; none while held or disputed.
    due_at     INTEGER,
    -- Since when a rule has held it for review, while no operator has cleared it.
    held_since INTEGER
);
-- The orders already active.
INSERT INTO active_orders (order_id, side, seller_id, taker_id, status, due_at, held_since)
SELECT id, side, seller_id, taker_id, status,
       CASE
           WHEN status = 'pending' AND (review_rule IS NULL OR review_cleared_at IS NOT NULL)
               THEN expires_at
           WHEN status = 'paid_by_buyer' THEN paid_at + release_window_seconds * 1000
       END,
       CASE
           WHEN status = 'pending' AND review_rule IS NOT NULL AND review_cleared_at IS NULL
               THEN review_since
       END
FROM orders WHERE status IN ('pending', 'paid_by_buyer', 'disputed');
-- The database itself refuses a second active withdrawal of one seller (§8.6).
CREATE UNIQUE INDEX active_orders_one_withdrawal ON active_orders (seller_id)
    WHERE side = 'withdraw';
-- A wallet's active deposits taken, and the deposit taker's limit.
CREATE INDEX active_orders_taker ON active_orders (taker_id, side);
CREATE INDEX active_orders_due ON active_orders (due_at) WHERE due_at IS NOT NULL;
-- The operators' queue of held orders, oldest first.
CREATE INDEX active_orders_held ON active_orders (held_since) WHERE held_since IS NOT NULL;
DROP INDEX IF EXISTS orders_one_active_withdrawal;
DROP INDEX IF EXISTS orders_active_taker;
DROP INDEX IF EXISTS orders_pending_expiry;
DROP INDEX IF EXISTS orders_held;
DROP INDEX IF EXISTS orders_release_due;
DROP INDEX IF EXISTS orders_active;
