-- The sessions with a citizen waiting, read by every tick; the same as SQLite's
-- 0023_waitlist_waiting.sql.
CREATE INDEX waitlist_waiting ON waitlist (session_day, reception) WHERE status = 'waiting';
