-- /find shows who did what by name. The appeal keeps only the names of who took and who
-- answered it, so each history row now keeps its official's display name as it was then
-- (NULL for the citizen, whose name a department may not see).
ALTER TABLE status_history ADD COLUMN actor_name TEXT;

-- Rows written before this: the names the appeal and the officials' prompts still know.
UPDATE status_history
   SET actor_name = (SELECT a.taken_by_name FROM appeals a
                      WHERE a.id = status_history.appeal_id
                        AND 'official:' || a.taken_by = status_history.actor)
 WHERE actor LIKE 'official:%';
UPDATE status_history
   SET actor_name = (SELECT a.answered_by_name FROM appeals a
                      WHERE a.id = status_history.appeal_id
                        AND 'official:' || a.answered_by = status_history.actor)
 WHERE actor LIKE 'official:%' AND actor_name IS NULL;
UPDATE status_history
   SET actor_name = (SELECT p.official_name FROM official_prompts p
                      WHERE p.appeal_id = status_history.appeal_id
                        AND 'official:' || p.official_id = status_history.actor
                      ORDER BY p.id DESC LIMIT 1)
 WHERE actor LIKE 'official:%' AND actor_name IS NULL;

-- `/export full` hands an administrator every name and phone of a period in one file. Each
-- appeal it covers gets a contact_views row (via = 'export'), so "who has seen this citizen's
-- contact" stays one query whatever the way; the export itself is one contact_exports row,
-- which also covers the bookings' contacts (a booking need not belong to any appeal).
ALTER TABLE contact_views ADD COLUMN via TEXT;   -- NULL: the card's 👤 button

CREATE TABLE contact_exports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    official_id INTEGER NOT NULL,
    at          TEXT NOT NULL,
    since       TEXT NOT NULL,      -- the period's appeals: created_at in [since, until)
    until       TEXT NOT NULL,
    appeals     INTEGER NOT NULL,   -- how many appeals and bookings the file listed
    bookings    INTEGER NOT NULL
);
CREATE INDEX contact_exports_by_official ON contact_exports (official_id, at);
