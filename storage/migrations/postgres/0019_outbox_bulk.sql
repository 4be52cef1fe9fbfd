-- Broadcasts give way (issue #13): SQLite's 0019_outbox_bulk.sql.
ALTER TABLE outbox ADD COLUMN bulk boolean NOT NULL DEFAULT false;
UPDATE outbox SET bulk = true WHERE purpose LIKE 'announce:%';
DROP INDEX outbox_pending;
CREATE INDEX outbox_pending ON outbox (bulk, not_before, id)
    WHERE sent_at IS NULL AND dropped_at IS NULL;
DROP INDEX outbox_by_chat;
CREATE INDEX outbox_by_chat ON outbox (chat_id, scheduled_at, id, bulk)
    WHERE sent_at IS NULL AND dropped_at IS NULL;
