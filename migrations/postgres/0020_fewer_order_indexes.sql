-- Every version of an order row (its insert and each change of status, none of which PostgreSQL
-- can make a heap-only update: status is in partial indexes' predicates) adds an entry to each
-- index whose predicate it meets. Two served nothing another index does not:
-- - orders_ad: no query looks orders up by ad (the audit's sums by ad read the whole table);
-- - orders_active: the start's load of active orders and the gauges' counts read the same rows
--   through orders_active_taker, whose predicate is the same.
DROP INDEX IF EXISTS orders_ad;
DROP INDEX IF EXISTS orders_active;
