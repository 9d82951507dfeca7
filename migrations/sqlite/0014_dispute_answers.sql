-- The answer deadline: when a dispute opens, the party it was opened against (the seller, when the
-- service opened it for the buyer) has until dispute_answer_due_at to post in the order's chat;
-- dispute_answered_at is their first message since.
ALTER TABLE orders ADD COLUMN dispute_answer_due_at INTEGER;
ALTER TABLE orders ADD COLUMN dispute_answered_at INTEGER;
