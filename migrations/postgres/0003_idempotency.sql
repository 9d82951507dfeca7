-- Idempotency keys of POST requests, per caller: the request's fingerprint and its first answer.
-- The row is written in the same transaction as the request's change (so a crash cannot leave a
-- change without its key), and the answer right after.
CREATE TABLE idempotency_keys (
    principal   TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    status      BIGINT,
    body        TEXT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);
