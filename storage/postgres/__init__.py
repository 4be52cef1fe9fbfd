"""The PostgreSQL backend (asyncpg), for several instances of the bot on one database: the
database and its migrations (`database`, `storage/migrations/postgres`), and one module per
store implementing the interface of the same name one level up, as storage/sqlite/ does.
All PostgreSQL-specific SQL lives in this package.

Every store has its PostgreSQL implementation here (tests/test_storage_interfaces.py), tested
with the same tests as SQLite's. The composition root does not build them yet, so
bot/settings.py still refuses a postgresql:// DATABASE_URL."""
