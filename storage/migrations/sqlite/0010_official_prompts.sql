-- The bot's prompts in officials' chats ("reply with the answer to № …"). An official's reply
-- belongs to the appeal of the prompt it replies to, so several prompts may be open at once
-- and a message that replies to no prompt is never taken for an answer. A reply becomes a
-- draft, shown to the official as a preview, and reaches the citizen only on «Send».
CREATE TABLE official_prompts (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id            INTEGER NOT NULL,
    message_id         INTEGER NOT NULL,   -- the prompt the official replies to
    appeal_id          INTEGER NOT NULL REFERENCES appeals(id) ON DELETE CASCADE,
    action             TEXT NOT NULL,      -- answer | extend | duplicate
    outcome            TEXT,               -- answers only
    official_id        INTEGER NOT NULL,   -- who opened it; only they reply and send
    official_name      TEXT NOT NULL,
    state              TEXT NOT NULL DEFAULT 'open',
    -- open → preview → done; or cancelled, expired, replaced (by «Edit»), void (the appeal
    -- moved on before «Send»)
    draft_text         TEXT,               -- what the official replied, until sent or given up
    draft_file_id      TEXT,
    preview_message_id INTEGER,
    created_at         TEXT NOT NULL,
    expires_at         TEXT NOT NULL,
    UNIQUE (chat_id, message_id)
);
CREATE INDEX official_prompts_live ON official_prompts (expires_at)
    WHERE state IN ('open', 'preview');

-- Before prompts had their own table the pending reply was one FSM state per official.
DELETE FROM fsm WHERE state LIKE 'OfficialInput:%';
