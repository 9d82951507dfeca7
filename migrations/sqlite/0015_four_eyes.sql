-- Four eyes: a resolution of an order at or above P2P_DUAL_CONTROL_KOPECKS is proposed by one
-- operator and takes effect only when a second, different one approves it.
ALTER TABLE orders ADD COLUMN dispute_proposed_resolution TEXT;
ALTER TABLE orders ADD COLUMN dispute_proposed_note TEXT;
ALTER TABLE orders ADD COLUMN dispute_proposed_by INTEGER REFERENCES users (id);
ALTER TABLE orders ADD COLUMN dispute_proposed_at INTEGER;
