-- The release sweep asks for paid orders whose release window has closed. Each order has its own
-- window, so `paid_at` alone bounded nothing: every sweep of every node read every paid order's
-- index entry and heap row (after a 15 s load run, 46,015 entries and 2,860 pages, 3.5 ms, once a
-- second), more as paid orders pile up. Its index is on the deadline itself, the expression the
-- sweep compares and sorts by, so it reads only the orders that are due.
DROP INDEX IF EXISTS orders_paid_by_buyer;
CREATE INDEX orders_release_due ON orders ((paid_at + release_window_seconds * 1000))
    WHERE status = 'paid_by_buyer';
