-- Dialog state survives restarts; handled update ids make a redelivered update a no-op.
CREATE TABLE fsm (
    key        TEXT PRIMARY KEY,
    user_id    INTEGER,
    state      TEXT,
    data       TEXT NOT NULL DEFAULT '{}',
    updated_at TEXT NOT NULL
);

CREATE INDEX fsm_by_user ON fsm (user_id);

CREATE TABLE processed_updates (
    update_id INTEGER PRIMARY KEY,
    at        TEXT NOT NULL
);
CREATE INDEX processed_updates_by_time ON processed_updates (at);
