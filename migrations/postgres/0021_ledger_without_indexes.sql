-- The ledger is written three times per completed order and read only by the audit, which sums
-- the whole table by user and by order (a scan, not an index). Its two secondary indexes served
-- no query, and cost PostgreSQL two index inserts per entry: six per completed order.
DROP INDEX IF EXISTS ledger_user;
DROP INDEX IF EXISTS ledger_order;
