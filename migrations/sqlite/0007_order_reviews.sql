-- A new withdrawal a rule held for an operator's review: pending, escrow frozen, unseen by its
-- buyer and its payment window not started until an operator clears it.
ALTER TABLE orders ADD COLUMN review_rule TEXT
    CHECK (review_rule IN ('low_play_after_deposit', 'shared_card', 'new_account_limit'));
ALTER TABLE orders ADD COLUMN review_since INTEGER;
ALTER TABLE orders ADD COLUMN review_cleared_at INTEGER;
ALTER TABLE orders ADD COLUMN review_cleared_by INTEGER REFERENCES users (id);
-- The operators' queue of held orders, oldest first.
CREATE INDEX orders_held ON orders (review_since)
    WHERE review_rule IS NOT NULL AND review_cleared_at IS NULL AND status = 'pending';
-- The digits of a withdrawal's card number, so the rule on cards shared by several users
-- counts them with an index.
ALTER TABLE orders ADD COLUMN card_key TEXT;
CREATE INDEX orders_card ON orders (card_key, created_at) WHERE card_key IS NOT NULL;
-- The deposits and bets since them, per user, for the rule on withdrawals soon after a deposit.
CREATE INDEX wallet_transactions_user ON wallet_transactions (user_id, id);
