-- #13: polls. A poll is an announcement of kind «poll»: its question is the announcement's text
-- in each language, its options (JSON lists, the same count in both) and when it closes (an
-- instant); poll_closed_at is set once, by whichever instance claims the closing.
ALTER TABLE announcements ADD COLUMN poll_options_kk TEXT;
ALTER TABLE announcements ADD COLUMN poll_options_ru TEXT;
ALTER TABLE announcements ADD COLUMN poll_closes_at TEXT;
ALTER TABLE announcements ADD COLUMN poll_closed_at TEXT;

-- The id of the poll Telegram created for a sendPoll row, recorded by the sender with the
-- message id, in the same statement that marks the row sent.
ALTER TABLE outbox ADD COLUMN poll_id TEXT;
CREATE INDEX outbox_by_poll ON outbox (poll_id) WHERE poll_id IS NOT NULL;

-- Who was sent which poll: one row per citizen and poll, written with the outbox row
-- (outbox_id) in the transaction that creates the poll; the district is the one the citizen's
-- votes count for (the lowest code among their subscriptions the poll went to). The Telegram
-- poll is the outbox row's poll_id once sent. /forget erases the row.
CREATE TABLE poll_sends (
    announcement_id INTEGER NOT NULL REFERENCES announcements(id),
    citizen_id      INTEGER NOT NULL REFERENCES citizens(id) ON DELETE CASCADE,
    language        TEXT NOT NULL,
    district        TEXT NOT NULL,
    outbox_id       INTEGER NOT NULL UNIQUE,
    PRIMARY KEY (announcement_id, citizen_id)
);
CREATE INDEX poll_sends_by_citizen ON poll_sends (citizen_id);

-- A citizen's vote: one per poll (a changed vote replaces it, a retracted one deletes it):
-- choice is the option's index, counted for the district of their poll_sends row. /forget erases it.
CREATE TABLE poll_votes (
    announcement_id INTEGER NOT NULL REFERENCES announcements(id),
    citizen_id      INTEGER NOT NULL REFERENCES citizens(id) ON DELETE CASCADE,
    choice          INTEGER NOT NULL,
    district        TEXT NOT NULL,
    voted_at        TEXT NOT NULL,
    PRIMARY KEY (announcement_id, citizen_id)
);
CREATE INDEX poll_votes_by_citizen ON poll_votes (citizen_id);
