-- The last foreign keys on rows of the order mix go, as those of 0019 did: the users an order's
-- dispute and review name, and a chat message's order and sender. Each fired an after-trigger on
-- every insert of an order or message, though the order's columns are empty until a dispute or
-- a review; a key that named something cost a lookup and a row lock (KEY SHARE) of the user or
-- order, with its WAL record. Without them PostgreSQL spent 0.453 CPU-ms per completed order
-- against 0.493 (means of four alternating pairs of harness runs, each pair in its favour). No
-- user or order is ever deleted, so a key could only have caught the service naming an id that
-- never existed; the audit's invariant 9 finds any such row instead (SQLite keeps its keys).
ALTER TABLE orders DROP CONSTRAINT orders_dispute_opened_by_fkey;
ALTER TABLE orders DROP CONSTRAINT orders_dispute_proposed_by_fkey;
ALTER TABLE orders DROP CONSTRAINT orders_dispute_resolved_by_fkey;
ALTER TABLE orders DROP CONSTRAINT orders_review_cleared_by_fkey;
ALTER TABLE messages DROP CONSTRAINT messages_order_id_fkey;
ALTER TABLE messages DROP CONSTRAINT messages_sender_id_fkey;
