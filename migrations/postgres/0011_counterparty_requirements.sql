-- Counterparty requirements: whom a maker trades with. Each bound is optional (NULL: none); a
-- taker short of any is refused COUNTERPARTY_REQUIREMENTS_NOT_MET before anything is held.
ALTER TABLE ads ADD COLUMN min_completed_orders BIGINT CHECK (min_completed_orders BETWEEN 0 AND 1000000);
ALTER TABLE ads ADD COLUMN min_account_age_days BIGINT CHECK (min_account_age_days BETWEEN 0 AND 3650);
ALTER TABLE ads ADD COLUMN min_completion_rate_bp BIGINT CHECK (min_completion_rate_bp BETWEEN 0 AND 10000);
