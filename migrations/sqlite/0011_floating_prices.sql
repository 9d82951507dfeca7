-- Floating prices: the platform's index price of each fiat currency, every update kept (the
-- newest of a currency is its price now), and ads whose price is that index with a premium.
CREATE TABLE index_prices (
    id            INTEGER PRIMARY KEY,
    fiat_currency TEXT    NOT NULL,
    price         INTEGER  NOT NULL CHECK (price > 0),
    created_at    INTEGER  NOT NULL
);
CREATE INDEX index_prices_by_currency ON index_prices (fiat_currency, id);
-- A floating ad's price column holds 1 and is not read: its price is the newest index price of
-- its currency with premium_bp on top, computed where it is shown or taken.
ALTER TABLE ads ADD COLUMN price_type TEXT NOT NULL DEFAULT 'fixed' CHECK (price_type IN ('fixed', 'floating'));
ALTER TABLE ads ADD COLUMN premium_bp INTEGER CHECK (premium_bp BETWEEN -2000 AND 2000);
