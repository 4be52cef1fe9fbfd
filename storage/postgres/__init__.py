"""The PostgreSQL backend (asyncpg), for several instances of the bot on one database: the
database and its migrations (`database`, `storage/migrations/postgres`), and one module per
store implementing the interface of the same name one level up, as storage/sqlite/ does.
All PostgreSQL-specific SQL lives in this package.

Implemented so far: the repository, aiogram's FSM storage, bookings, digest, lifecycle, limits,
the outbox and prompts. Erasure and reports are not, so bot/settings.py refuses a postgresql://
DATABASE_URL."""
