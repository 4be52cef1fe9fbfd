-- #12 item 2: one instance in any number sends from the outbox (Telegram's limits are per
-- bot, not per process). The instance that sends holds a lease: this row, taken and renewed
-- by one conditional statement (storage/sqlite/lease.py), taken over by another instance only
-- once `expires_at` has passed or the holder is known dead.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,      -- what is leased: 'outbox-sender'
    holder     TEXT NOT NULL,         -- the instance holding it (bot.domain.lease.InstanceId)
    expires_at TEXT NOT NULL          -- UTC instant, storage.codec.encode_instant
);
