-- #13: the state reaches out. A citizen subscribes to a district's announcements (several
-- districts allowed); nothing is ever sent to anyone who did not.
CREATE TABLE subscriptions (
    citizen_id INTEGER NOT NULL REFERENCES citizens(id) ON DELETE CASCADE,
    district   TEXT NOT NULL,          -- KATO code
    created_at TEXT NOT NULL,
    PRIMARY KEY (citizen_id, district)
);
CREATE INDEX subscriptions_by_district ON subscriptions (district);

-- What officials send to the subscribers of some districts. One outbox row per subscriber
-- (purpose announce:<id>) is written in the transaction that creates the row; the progress is
-- counted from those rows, so a restart carries on where it was.
CREATE TABLE announcements (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    draft_key           TEXT NOT NULL UNIQUE,   -- the dialog's: a second «Send» is the same one
    kind                TEXT NOT NULL,          -- notice (meeting, poll: later)
    districts           TEXT NOT NULL,          -- JSON list of KATO codes
    text_kk             TEXT NOT NULL,
    text_ru             TEXT NOT NULL,
    chat_id             INTEGER NOT NULL,       -- where it was sent from
    progress_message_id INTEGER,                -- the message there that shows the progress
    author_id           INTEGER NOT NULL,
    author_name         TEXT NOT NULL,
    status              TEXT NOT NULL,          -- sending | done | stopped
    total               INTEGER NOT NULL,       -- rows queued
    shown               TEXT,                   -- the progress last shown
    created_at          TEXT NOT NULL,
    finished_at         TEXT
);
