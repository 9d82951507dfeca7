-- The part of a wallet's available balance that is bonus money not yet wagered. A bonus adds
-- its amount; a bet spends it first (down to zero); nothing else touches it. It never exceeds
-- the available balance, so no escrow or sell ad reserve ever holds unwagered bonus.
ALTER TABLE wallets ADD COLUMN bonus INTEGER NOT NULL DEFAULT 0
    CHECK (bonus >= 0 AND bonus <= available);

-- Existing wallets: their bonuses and bets replayed in order, capped at the available balance
-- (a bonus already in escrow before this rule shows in the audit as invariant 8).
WITH RECURSIVE t AS (
    SELECT user_id, kind, amount, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY id) AS n
    FROM wallet_transactions WHERE kind IN ('bonus', 'bet')
), r (user_id, n, bonus) AS (
    SELECT user_id, CAST(0 AS BIGINT), CAST(0 AS BIGINT) FROM wallets
    UNION ALL
    SELECT r.user_id, t.n,
           CASE WHEN t.kind = 'bonus' THEN r.bonus + t.amount
                WHEN r.bonus > t.amount THEN r.bonus - t.amount ELSE 0 END
    FROM r JOIN t ON t.user_id = r.user_id AND t.n = r.n + 1
)
UPDATE wallets SET bonus = (
    SELECT CASE WHEN r.bonus < wallets.available THEN r.bonus ELSE wallets.available END
    FROM r WHERE r.user_id = wallets.user_id ORDER BY r.n DESC LIMIT 1
);
