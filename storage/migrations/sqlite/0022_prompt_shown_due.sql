-- An extension's preview keeps the deadline it was made against: «Send» is refused once the
-- deadline is no longer that one (another extension came first). NULL: not an extension, or
-- a preview made before this column.
ALTER TABLE official_prompts ADD COLUMN draft_due_at TEXT;
