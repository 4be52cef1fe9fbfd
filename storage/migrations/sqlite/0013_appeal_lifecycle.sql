-- What happens to an appeal after it is filed, besides the officials' actions: officials'
-- questions to the citizen, and what the citizen adds (on their own, or answering a question).

CREATE TABLE appeal_questions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    appeal_id     INTEGER NOT NULL REFERENCES appeals(id) ON DELETE CASCADE,
    official_id   INTEGER NOT NULL,
    official_name TEXT NOT NULL,
    text          TEXT NOT NULL,
    file_id       TEXT,                -- a document the official attached
    asked_at      TEXT NOT NULL,
    answered_at   TEXT                 -- answered once; until then, while the appeal is open
);
CREATE INDEX appeal_questions_by_appeal ON appeal_questions (appeal_id, id);

CREATE TABLE appeal_additions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    appeal_id   INTEGER NOT NULL REFERENCES appeals(id) ON DELETE CASCADE,
    question_id INTEGER REFERENCES appeal_questions(id) ON DELETE CASCADE,  -- an answer to it
    text        TEXT,
    files       INTEGER NOT NULL DEFAULT 0,
    at          TEXT NOT NULL,
    draft_key   TEXT NOT NULL UNIQUE   -- «Done» pressed again, or redelivered: added once
);
CREATE INDEX appeal_additions_by_appeal ON appeal_additions (appeal_id, id);

-- Files added later belong to the appeal like the first ones (the card's count, /forget).
ALTER TABLE attachments ADD COLUMN addition_id INTEGER REFERENCES appeal_additions(id);
