"""The SQLite backend (aiosqlite, WAL, foreign keys): the database and its migrations
(`database`, `storage/migrations/sqlite`), and one module per store implementing the interface
of the same name one level up (`storage.outbox.OutboxStore` by `outbox.SQLiteOutboxStore`, …).
All SQLite-specific SQL lives in this package; the composition root (`bot.app`) builds these
classes and hands them to services typed against the interfaces."""
