-- Receptions of citizens: booked places, sessions an official called off, the waitlist.
-- Times are UTC ISO text (compare as strings); session_day is the local ISO date.

CREATE TABLE bookings (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    draft_key     TEXT UNIQUE,             -- the dialog's key: a redelivered confirm books once
    citizen_id    INTEGER REFERENCES citizens(id) ON DELETE SET NULL,
    reception     TEXT NOT NULL,           -- a catalog code
    slot_start    TEXT NOT NULL,
    session_day   TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'booked'
                  CHECK (status IN ('booked', 'cancelled', 'attended', 'no_show')),
    topic         TEXT,
    appeal_id     INTEGER REFERENCES appeals(id) ON DELETE SET NULL,
    access        TEXT NOT NULL DEFAULT '[]',   -- JSON list of codes: wheelchair, …
    access_other  TEXT,
    contact_name  TEXT,
    contact_phone TEXT,
    language      TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    cancelled_at  TEXT,
    moved_from    INTEGER REFERENCES bookings(id)   -- the booking this one replaced
);
-- Counting the places taken in a slot is the hot query of every booking.
CREATE INDEX bookings_by_slot ON bookings (reception, slot_start, status);
CREATE INDEX bookings_by_citizen ON bookings (citizen_id, slot_start);
CREATE INDEX bookings_by_session ON bookings (reception, session_day);
CREATE INDEX bookings_moved_from ON bookings (moved_from) WHERE moved_from IS NOT NULL;
-- One booked place per citizen and session, even if a bug skipped the check in the code.
CREATE UNIQUE INDEX bookings_one_per_session ON bookings (citizen_id, reception, session_day)
    WHERE status = 'booked';

CREATE TABLE reception_cancellations (
    reception   TEXT NOT NULL,
    session_day TEXT NOT NULL,
    at          TEXT NOT NULL,
    PRIMARY KEY (reception, session_day)
);

CREATE TABLE waitlist (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,   -- queue order
    citizen_id  INTEGER NOT NULL REFERENCES citizens(id) ON DELETE CASCADE,
    reception   TEXT NOT NULL,
    session_day TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'waiting'
                CHECK (status IN ('waiting', 'offered', 'accepted', 'expired', 'left', 'dropped')),
    joined_at   TEXT NOT NULL,
    slot_start  TEXT,                    -- the freed place offered, held until expires_at
    offered_at  TEXT,
    expires_at  TEXT,
    closed_at   TEXT
);
CREATE UNIQUE INDEX waitlist_one_per_session ON waitlist (citizen_id, reception, session_day)
    WHERE status IN ('waiting', 'offered');
CREATE INDEX waitlist_queue ON waitlist (reception, session_day, status, id);
CREATE INDEX waitlist_offers ON waitlist (expires_at) WHERE status = 'offered';

-- /forget deletes the citizens row (storage/sqlite.py); the foreign key then only nulls
-- citizen_id, so the name, phone and question of a booking would stay. Erase them here,
-- before the delete, while the rows can still be found by citizen.
CREATE TRIGGER bookings_forget_citizen BEFORE DELETE ON citizens
BEGIN
    UPDATE bookings
       SET contact_name = NULL, contact_phone = NULL, topic = NULL, access_other = NULL,
           draft_key = NULL
     WHERE citizen_id = OLD.id;
END;
