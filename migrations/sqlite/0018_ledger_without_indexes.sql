-- The ledger is read only by the audit, which sums the whole table by user and by order (a scan,
-- not an index). Its two secondary indexes served no query; each entry paid for both.
DROP INDEX IF EXISTS ledger_user;
DROP INDEX IF EXISTS ledger_order;
