-- Track records: per user and UTC day (Unix ms / 86,400,000), what their orders added; the
-- 30-day figures are the sum of the last 30 days' rows, so the window rolls without a recount.
-- Each order transition adds to its row in the transition's own transaction.
CREATE TABLE track_days (
    user_id    BIGINT NOT NULL REFERENCES users (id),
    day        BIGINT NOT NULL,
    completed  BIGINT NOT NULL DEFAULT 0,
    cancelled  BIGINT NOT NULL DEFAULT 0,
    expired    BIGINT NOT NULL DEFAULT 0,
    paid       BIGINT NOT NULL DEFAULT 0,
    pay_ms     BIGINT NOT NULL DEFAULT 0,
    released   BIGINT NOT NULL DEFAULT 0,
    release_ms BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, day)
);
-- The first order a user was a party to, set once; their last authenticated request, to the
-- minute (written at most once a minute).
ALTER TABLE users ADD COLUMN first_order_at BIGINT;
ALTER TABLE users ADD COLUMN last_seen_at BIGINT;

-- The orders made before this version, counted as they would have been.
UPDATE users SET first_order_at =
    (SELECT MIN(created_at) FROM orders WHERE buyer_id = users.id OR seller_id = users.id);
INSERT INTO track_days (user_id, day, completed, cancelled, expired, paid, pay_ms, released,
                        release_ms)
SELECT user_id, day, SUM(completed), SUM(cancelled), SUM(expired), SUM(paid), SUM(pay_ms),
       SUM(released), SUM(release_ms)
FROM (
    SELECT buyer_id AS user_id, paid_at / 86400000 AS day, 0 AS completed, 0 AS cancelled,
           0 AS expired, 1 AS paid, paid_at - COALESCE(review_cleared_at, created_at) AS pay_ms,
           0 AS released, 0 AS release_ms
    FROM orders WHERE paid_at IS NOT NULL
    UNION ALL
    SELECT buyer_id, completed_at / 86400000, 1, 0, 0, 0, 0, 0, 0
    FROM orders WHERE status = 'completed'
    UNION ALL
    SELECT seller_id, completed_at / 86400000, 1, 0, 0, 0, 0, 1,
           completed_at - COALESCE(paid_at, completed_at)
    FROM orders WHERE status = 'completed'
    UNION ALL
    SELECT CASE cancel_reason WHEN 'buyer' THEN buyer_id ELSE seller_id END,
           cancelled_at / 86400000, 0, 1, 0, 0, 0, 0, 0
    FROM orders WHERE status = 'cancelled' AND cancel_reason IN ('buyer', 'seller')
    UNION ALL
    SELECT buyer_id, cancelled_at / 86400000, 0, 0, 1, 0, 0, 0, 0
    FROM orders WHERE status = 'cancelled' AND cancel_reason = 'timeout'
) AS added
GROUP BY user_id, day;
