-- The sessions with a citizen waiting, which every tick reads to offer a free place the
-- waiting list was never told of (a crash between freeing it and offering it): the open rows
-- only, not the list's whole history.
CREATE INDEX waitlist_waiting ON waitlist (session_day, reception) WHERE status = 'waiting';
