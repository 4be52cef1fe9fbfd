-- #13: meetings with residents. A meeting is an announcement of kind «meeting» with who meets
-- the residents, where and when (an instant), and its topics (JSON list, as typed).
ALTER TABLE announcements ADD COLUMN meeting_who TEXT;
ALTER TABLE announcements ADD COLUMN meeting_place TEXT;
ALTER TABLE announcements ADD COLUMN meeting_at TEXT;
ALTER TABLE announcements ADD COLUMN meeting_topics TEXT;
ALTER TABLE announcements ADD COLUMN meeting_cancelled_at TEXT;  -- set when officials call it off

-- «I will come»: one row per citizen and meeting (a second press counts once), with the access
-- needs they asked for (JSON list of the bookings' codes). /forget erases the row.
CREATE TABLE meeting_attendees (
    announcement_id INTEGER NOT NULL REFERENCES announcements(id),
    citizen_id      INTEGER NOT NULL REFERENCES citizens(id) ON DELETE CASCADE,
    access          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (announcement_id, citizen_id)
);
CREATE INDEX meeting_attendees_by_citizen ON meeting_attendees (citizen_id);

-- «Ask a question in advance»: shown to the organisers by topic (an index into the meeting's
-- topics; NULL: another one). /forget erases the row.
CREATE TABLE meeting_questions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    announcement_id INTEGER NOT NULL REFERENCES announcements(id),
    citizen_id      INTEGER NOT NULL REFERENCES citizens(id) ON DELETE CASCADE,
    topic           INTEGER,
    text            TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX meeting_questions_by_meeting ON meeting_questions (announcement_id);
CREATE INDEX meeting_questions_by_citizen ON meeting_questions (citizen_id);
