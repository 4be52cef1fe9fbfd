CREATE TABLE citizens (
    id          INTEGER PRIMARY KEY,          -- Telegram user id
    language    TEXT,
    consent_at  TEXT,
    full_name   TEXT,
    phone       TEXT,
    unreachable INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

CREATE TABLE appeals (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    reference      TEXT NOT NULL UNIQUE,
    draft_key      TEXT UNIQUE,
    citizen_id     INTEGER REFERENCES citizens(id) ON DELETE SET NULL,
    kind           TEXT NOT NULL,
    category       TEXT NOT NULL,
    region         TEXT NOT NULL,
    district       TEXT NOT NULL,
    text           TEXT,
    latitude       REAL,
    longitude      REAL,
    contact_name   TEXT,
    contact_phone  TEXT,
    language       TEXT NOT NULL,
    status         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    registered_on  TEXT NOT NULL,
    due_at         TEXT NOT NULL,
    department     TEXT,
    answer_text    TEXT,
    answer_outcome TEXT,
    answered_at    TEXT,
    rating         INTEGER
);
CREATE INDEX appeals_by_citizen ON appeals (citizen_id, id DESC);
CREATE INDEX appeals_by_created ON appeals (created_at);
CREATE INDEX appeals_by_status_due ON appeals (status, due_at);

CREATE TABLE attachments (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    appeal_id INTEGER NOT NULL REFERENCES appeals(id) ON DELETE CASCADE,
    kind      TEXT NOT NULL,
    file_id   TEXT NOT NULL,
    file_name TEXT
);
CREATE INDEX attachments_by_appeal ON attachments (appeal_id);

CREATE TABLE status_history (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    appeal_id  INTEGER NOT NULL REFERENCES appeals(id) ON DELETE CASCADE,
    old_status TEXT,
    new_status TEXT NOT NULL,
    actor      TEXT NOT NULL,
    at         TEXT NOT NULL,
    note       TEXT
);
CREATE INDEX status_history_by_appeal ON status_history (appeal_id, id);
