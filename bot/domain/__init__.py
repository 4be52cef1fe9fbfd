"""The Telegram-free rules: statuses, deadlines, the catalog, receptions, dialog steps,
validation."""
