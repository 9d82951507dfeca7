-- The active orders (pending, paid, disputed), each with what the sweeps, the limits and the
-- operators' queue look it up by, in a table of their own. Before, those lookups were partial
-- indexes on `orders` whose predicates name `status`; so no step of an order could be a
-- heap-only update, and each step added an entry to every index of `orders` (its key, buyer,
-- seller and card too). Now `orders` has indexes only on columns a step never changes, so a step
-- rewrites its row in place on the same page (with room left by the fill factor), and this
-- small table takes the index entries that do change: a row on creation, an update at each
-- step that leaves the order active (paid, disputed, cleared after review), a delete when it
-- ends.
CREATE TABLE active_orders (
    order_id   BIGINT PRIMARY KEY,
    side       TEXT   NOT NULL CHECK (side IN ('withdraw', 'deposit')),
    seller_id  BIGINT NOT NULL,
    taker_id   BIGINT NOT NULL,
    status     TEXT   NOT NULL CHECK (status IN ('pending', 'paid_by_buyer', 'disputed')),
    -- The deadline the sweep acts on (`Order::deadline`): a pending order's payment window, a
    -- paid order's release window; none while held or disputed.
    due_at     BIGINT,
    -- Since when a rule has held it for review, while no operator has cleared it.
    held_since BIGINT
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
DROP INDEX orders_one_active_withdrawal;
DROP INDEX orders_active_taker;
DROP INDEX orders_pending_expiry;
DROP INDEX orders_held;
DROP INDEX orders_release_due;
-- Room on each page for the new versions of its orders' rows (an order's row is rewritten twice
-- in its life), so steps stay on the page. It applies to pages written from now on.
ALTER TABLE orders SET (fillfactor = 50);
