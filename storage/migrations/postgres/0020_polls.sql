-- #13: polls; the same tables as SQLite's 0020_polls.sql.
ALTER TABLE announcements ADD COLUMN poll_options_kk text;
ALTER TABLE announcements ADD COLUMN poll_options_ru text;
ALTER TABLE announcements ADD COLUMN poll_closes_at timestamptz;
ALTER TABLE announcements ADD COLUMN poll_closed_at timestamptz;

ALTER TABLE outbox ADD COLUMN poll_id text;
CREATE INDEX outbox_by_poll ON outbox (poll_id) WHERE poll_id IS NOT NULL;

CREATE TABLE poll_sends (
    announcement_id bigint NOT NULL REFERENCES announcements(id),
    citizen_id      bigint NOT NULL REFERENCES citizens(id) ON DELETE CASCADE,
    language        text NOT NULL,
    district        text NOT NULL,
    outbox_id       bigint NOT NULL UNIQUE,
    PRIMARY KEY (announcement_id, citizen_id)
);
CREATE INDEX poll_sends_by_citizen ON poll_sends (citizen_id);

CREATE TABLE poll_votes (
    announcement_id bigint NOT NULL REFERENCES announcements(id),
    citizen_id      bigint NOT NULL REFERENCES citizens(id) ON DELETE CASCADE,
    choice          integer NOT NULL,
    district        text NOT NULL,
    voted_at        timestamptz NOT NULL,
    PRIMARY KEY (announcement_id, citizen_id)
);
CREATE INDEX poll_votes_by_citizen ON poll_votes (citizen_id);
