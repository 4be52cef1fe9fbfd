-- Webhook mode, several instances: an update still in hand after `answer_within` is claimed
-- by the instance handling it; the same table as SQLite's 0024_update_claims.sql, read in
-- the statement that asks whether the update was handled (storage/postgres/repository.py).
CREATE TABLE update_claims (
    update_id  bigint PRIMARY KEY,
    holder     text NOT NULL,
    expires_at timestamptz NOT NULL
);
