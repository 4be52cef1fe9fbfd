-- A chat's queue is ordered by when each row was scheduled, not by when it was enqueued: a
-- booking's reminder for next week (enqueued today) no longer holds back today's notices.
-- scheduled_at never moves; not_before is the next attempt (a retry moves it, parking a chat
-- moves it to PARKED below).
ALTER TABLE outbox ADD COLUMN scheduled_at TEXT NOT NULL DEFAULT '';
-- Untried rows are due at not_before. A tried row (it has an error) was due when it was
-- created, or later; created_at keeps it ahead of what came after it, as before.
UPDATE outbox SET scheduled_at = CASE WHEN last_error IS NULL THEN not_before ELSE created_at END;
DROP INDEX outbox_by_chat;
CREATE INDEX outbox_by_chat ON outbox (chat_id, scheduled_at, id)
    WHERE sent_at IS NULL AND dropped_at IS NULL;

-- Groups that refuse the bot (kicked, not a member): their rows wait, parked, until the bot is
-- back. One row per incident, so the admins are alerted once.
CREATE TABLE refused_chats (
    chat_id    INTEGER PRIMARY KEY,
    since      TEXT NOT NULL,
    last_error TEXT
);
