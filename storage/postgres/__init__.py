"""The PostgreSQL backend (asyncpg), for several instances of the bot on one database: the
database and its migrations (`database`, `storage/migrations/postgres`), and one module per
store implementing the interface of the same name one level up, as storage/sqlite/ does.
All PostgreSQL-specific SQL lives in this package.

Implemented so far: every store but erasure (`storage.erasure.ErasureStore`, /forget), so
bot/settings.py still refuses a postgresql:// DATABASE_URL."""
