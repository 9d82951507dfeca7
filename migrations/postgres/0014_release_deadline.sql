-- The release deadline: once the buyer says they paid, the seller has the order's release window
-- (its ad's, when it was made) to release or dispute; then the service disputes it for the buyer.
ALTER TABLE ads ADD COLUMN release_window_seconds BIGINT NOT NULL DEFAULT 1800;
ALTER TABLE orders ADD COLUMN release_window_seconds BIGINT NOT NULL DEFAULT 1800;
-- What every node's sweep reads: paid orders, by when they were paid.
CREATE INDEX orders_paid_by_buyer ON orders (paid_at) WHERE status = 'paid_by_buyer';
