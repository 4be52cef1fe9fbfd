-- Officials' work: where each appeal's card lives, who acted, the citizen's feedback;
-- the outbox every outgoing message goes through; digests claimed once per chat and day.

ALTER TABLE appeals ADD COLUMN officials_chat_id INTEGER;
ALTER TABLE appeals ADD COLUMN taken_by INTEGER;
ALTER TABLE appeals ADD COLUMN taken_by_name TEXT;
ALTER TABLE appeals ADD COLUMN answered_by INTEGER;
ALTER TABLE appeals ADD COLUMN answered_by_name TEXT;
ALTER TABLE appeals ADD COLUMN answer_file_id TEXT;
ALTER TABLE appeals ADD COLUMN extension_reason TEXT;
ALTER TABLE appeals ADD COLUMN forwarded_at TEXT;
ALTER TABLE appeals ADD COLUMN duplicate_of INTEGER REFERENCES appeals(id);
ALTER TABLE appeals ADD COLUMN solved TEXT;          -- the citizen's word: yes / partly / no
ALTER TABLE appeals ADD COLUMN feedback TEXT;

CREATE INDEX appeals_by_chat_created ON appeals (officials_chat_id, created_at);
CREATE INDEX appeals_by_answered ON appeals (answered_at);

CREATE TABLE contact_views (
    appeal_id   INTEGER NOT NULL REFERENCES appeals(id) ON DELETE CASCADE,
    official_id INTEGER NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX contact_views_by_appeal ON contact_views (appeal_id);

CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id    INTEGER NOT NULL,
    method     TEXT NOT NULL,          -- a Bot API method: sendMessage, editMessageText, …
    payload    TEXT NOT NULL,          -- its parameters as JSON, chat_id excepted
    dedupe_key TEXT UNIQUE,            -- the same logical message enqueued twice is one row
    purpose    TEXT,                   -- e.g. card:<appeal id>, to find the sent message later
    created_at TEXT NOT NULL,
    not_before TEXT NOT NULL,          -- due time; a retry moves it forward
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at    TEXT,
    message_id INTEGER,                -- what Telegram returned, for later edits
    dropped_at TEXT                    -- given up for good (blocked by the user, chat gone)
);
CREATE INDEX outbox_pending ON outbox (not_before, id) WHERE sent_at IS NULL AND dropped_at IS NULL;
CREATE INDEX outbox_by_chat ON outbox (chat_id, id) WHERE sent_at IS NULL AND dropped_at IS NULL;
CREATE INDEX outbox_by_purpose ON outbox (purpose) WHERE purpose IS NOT NULL;

-- A group upgraded to a supergroup gets a new id; messages follow it.
CREATE TABLE chat_migrations (
    old_chat_id INTEGER PRIMARY KEY,
    new_chat_id INTEGER NOT NULL,
    at          TEXT NOT NULL
);

CREATE TABLE digests (
    chat_id    INTEGER NOT NULL,
    day        TEXT NOT NULL,          -- the officials' local date the digest is for
    claimed_at TEXT NOT NULL,
    PRIMARY KEY (chat_id, day)
);
