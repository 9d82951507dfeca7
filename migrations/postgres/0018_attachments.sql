-- Files in an order's chat (PNG, JPEG, PDF; at most 5 MiB each and 20 an order), kept in the
-- database with their SHA-256: the database is the truth every node reads and every backup
-- holds. A chat message refers to each by its SHA-256, which names it within its order (the
-- same file twice is kept once).
CREATE TABLE attachments (
    id            BIGSERIAL PRIMARY KEY,
    order_id      BIGINT NOT NULL REFERENCES orders (id),
    uploader_id   BIGINT NOT NULL REFERENCES users (id),
    uploader_role TEXT   NOT NULL,
    content_type  TEXT   NOT NULL,
    size          BIGINT NOT NULL,
    sha256        TEXT   NOT NULL,
    data          BYTEA  NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX attachments_order ON attachments (order_id, sha256);
ALTER TABLE messages ADD COLUMN attachment_sha256 TEXT;
