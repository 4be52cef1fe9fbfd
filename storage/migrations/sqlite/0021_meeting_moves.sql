-- #13: a meeting moved, and how many came to it.
-- How many came, entered by the organisers after the meeting (and corrected: the latest counts),
-- with who entered it (an official's Telegram id and name then) and when.
ALTER TABLE announcements ADD COLUMN meeting_attended INTEGER;
ALTER TABLE announcements ADD COLUMN meeting_attended_by INTEGER;
ALTER TABLE announcements ADD COLUMN meeting_attended_by_name TEXT;
ALTER TABLE announcements ADD COLUMN meeting_attended_at TEXT;

-- Every move of a meeting: the old and the new time and place, keyed by the officials' dialog
-- (a second «Move» or a restart moves and tells once). The meeting's own columns hold where
-- and when it is now; those who said they come are told in the transaction that writes the
-- row, and their day-before reminders are withdrawn and queued anew in it. No citizen's data.
CREATE TABLE meeting_moves (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    announcement_id INTEGER NOT NULL REFERENCES announcements(id),
    draft_key       TEXT NOT NULL UNIQUE,
    old_at          TEXT NOT NULL,
    new_at          TEXT NOT NULL,
    old_place       TEXT NOT NULL,
    new_place       TEXT NOT NULL,
    told            INTEGER NOT NULL,   -- notices queued
    moved_by        INTEGER NOT NULL,   -- the official's Telegram id
    moved_by_name   TEXT NOT NULL,
    moved_at        TEXT NOT NULL
);
CREATE INDEX meeting_moves_by_meeting ON meeting_moves (announcement_id);
