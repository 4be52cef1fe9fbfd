-- An extension's preview keeps the deadline it was made against; the same as SQLite's
-- 0022_prompt_shown_due.sql.
ALTER TABLE official_prompts ADD COLUMN draft_due_at timestamptz;
