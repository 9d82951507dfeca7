-- A fast batch's statements check their own counts of changed rows and raise when one is off, so
-- the batch's `COMMIT` goes to the database in the same flight as its statements: a statement that
-- raises aborts the transaction, and PostgreSQL answers the `COMMIT` of an aborted transaction by
-- rolling it back.
CREATE FUNCTION p2p_refuse_batch(counts TEXT, expected TEXT) RETURNS TEXT
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION 'a batch changed % rows where it must change %', counts, expected
        USING ERRCODE = 'P2B01';
END
$$;
