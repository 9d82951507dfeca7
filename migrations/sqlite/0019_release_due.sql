-- The release sweep asks for paid orders whose release window has closed. Each order has its own
-- window, so `paid_at` alone bounded nothing: every sweep read every paid order. Its index is on
-- the deadline itself, the expression the sweep compares and sorts by (SQLite uses an index on
-- an expression where the query writes the same expression), so it reads only the orders due.
DROP INDEX IF EXISTS orders_paid_by_buyer;
CREATE INDEX orders_release_due ON orders (paid_at + release_window_seconds * 1000)
    WHERE status = 'paid_by_buyer';
