-- #12 item 2: one instance in any number sends from the outbox (Telegram's limits are per
-- bot, not per process). The same table as SQLite's 0016_lease.sql; see
-- storage/postgres/lease.py for the one conditional statement that takes and renews it.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
