-- Broadcasts give way (issue #13): an announcement's rows, one per subscriber, are bulk; the
-- sender takes every other due row first, across chats, so a broadcast to thousands never
-- holds back a citizen's answer or the officials' card (storage/outbox.py).
ALTER TABLE outbox ADD COLUMN bulk INTEGER NOT NULL DEFAULT 0 CHECK (bulk IN (0, 1));
-- A broadcast going out during the upgrade gives way from now on too.
UPDATE outbox SET bulk = 1 WHERE purpose LIKE 'announce:%';
-- The due rows in the sender's order: the others, then the bulk ones, each longest due first.
DROP INDEX outbox_pending;
CREATE INDEX outbox_pending ON outbox (bulk, not_before, id)
    WHERE sent_at IS NULL AND dropped_at IS NULL;
-- A chat's order, with what decides whether an earlier row holds a later one back.
DROP INDEX outbox_by_chat;
CREATE INDEX outbox_by_chat ON outbox (chat_id, scheduled_at, id, bulk)
    WHERE sent_at IS NULL AND dropped_at IS NULL;
