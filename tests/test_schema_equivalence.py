"""The PostgreSQL schema is the SQLite schema in PostgreSQL's types, and the migration runner
applies it once however many instances start together. Both schemas are read from live
databases migrated to the end, so a migration added on one side only fails here."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from storage.postgres.database import PostgresDatabase
from storage.postgres.database import migration_files as postgres_migrations
from storage.sqlite.database import SQLiteDatabase
from tests.backends import fresh_schema

# Declared SQLite type -> the PostgreSQL types that hold the same values. Instants and dates are
# ISO text on SQLite; flags are 0/1 integers.
COMPATIBLE = {
    "INTEGER": {"bigint", "integer", "boolean"},
    "TEXT": {"text", "timestamp with time zone", "date"},
    "REAL": {"double precision"},
}
# Bookkeeping of each side's migration runner, not the bot's data.
OWN = {"sqlite": {"sqlite_sequence"}, "postgres": {"schema_migrations", "port_runs"}}

# table -> column -> (type, nullable)
Columns = dict[str, dict[str, tuple[str, bool]]]
# table -> {(columns, unique, partial)} of the indexes and unique constraints
Indexes = dict[str, set[tuple[tuple[str, ...], bool, bool]]]
# table -> its primary key's columns
Keys = dict[str, tuple[str, ...]]
Schema = tuple[Columns, Indexes, Keys]


@pytest.fixture
def postgres(postgres_missing: str | None) -> None:
    if postgres_missing:
        pytest.skip(postgres_missing)


async def sqlite_schema(path: Path) -> Schema:
    db = await SQLiteDatabase.open(path)
    columns: Columns = {}
    indexes: Indexes = {}
    keys: Keys = {}
    try:
        tables = [
            r[0]
            for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
            if r[0] not in OWN["sqlite"]
        ]
        for table in tables:
            info = await db.fetchall(f"PRAGMA table_info({table})")
            # A primary key column is never NULL (SQLite's pragma says so only for rowids).
            columns[table] = {
                r["name"]: (r["type"].upper(), not r["notnull"] and not r["pk"]) for r in info
            }
            keys[table] = tuple(r["name"] for r in sorted(info, key=lambda r: r["pk"]) if r["pk"])
            indexes[table] = set()
            for index in await db.fetchall(f"PRAGMA index_list({table})"):
                if index["origin"] == "pk":
                    continue
                names = await db.fetchall(f"PRAGMA index_info({index['name']})")
                indexes[table].add(
                    (tuple(r["name"] for r in names), bool(index["unique"]), bool(index["partial"]))
                )
    finally:
        await db.close()
    return columns, indexes, keys


async def postgres_schema(
    db: PostgresDatabase,
) -> tuple[Columns, Indexes, dict[str, tuple[str, ...]]]:
    columns: Columns = {}
    for r in await db.fetchall(
        "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_schema = current_schema()"
    ):
        if r["table_name"] not in OWN["postgres"]:
            columns.setdefault(r["table_name"], {})[r["column_name"]] = (
                r["data_type"],
                r["is_nullable"] == "YES",
            )
    indexes: Indexes = {table: set() for table in columns}
    keys: Keys = {}
    for r in await db.fetchall(
        "SELECT t.relname AS table_name, i.indisunique, i.indisprimary, "
        "i.indpred IS NOT NULL AS partial, "
        "array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(attnum, n) "
        "      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
        "      ORDER BY k.n) AS names "
        "FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
        "WHERE t.relnamespace = current_schema()::regnamespace"
    ):
        if r["table_name"] in OWN["postgres"]:
            continue
        if r["indisprimary"]:
            keys[r["table_name"]] = tuple(r["names"])
        else:
            indexes[r["table_name"]].add((tuple(r["names"]), r["indisunique"], r["partial"]))
    return columns, indexes, keys


async def test_both_schemas_have_the_same_tables_columns_keys_and_indexes(
    postgres: None, tmp_path: Path
) -> None:
    lite_columns, lite_indexes, lite_keys = await sqlite_schema(tmp_path / "schema.db")
    async with fresh_schema() as url:
        db = await PostgresDatabase.open(url, max_size=1)
        try:
            pg_columns, pg_indexes, pg_keys = await postgres_schema(db)
        finally:
            await db.close()

    assert sorted(pg_columns) == sorted(lite_columns)
    for table, lite in lite_columns.items():
        pg = pg_columns[table]
        assert sorted(pg) == sorted(lite), table
        for column, (lite_type, lite_nullable) in lite.items():
            pg_type, pg_nullable = pg[column]
            assert pg_type in COMPATIBLE[lite_type], (table, column, lite_type, pg_type)
            assert pg_nullable == lite_nullable, (table, column)
    # Primary keys: SQLite's rowid tables have one as well as the others.
    assert pg_keys == {t: k for t, k in lite_keys.items() if k}
    assert pg_indexes == lite_indexes
    # What the comparison stands on (a pragma misread would compare empty sets).
    assert ("reference",) in {cols for cols, unique, _ in lite_indexes["appeals"] if unique}
    assert (("citizen_id", "reception", "session_day"), True, True) in lite_indexes["bookings"]


async def test_a_new_database_gets_every_migration_once(postgres: None) -> None:
    async with fresh_schema() as url:
        db = await PostgresDatabase.open(url, max_size=2)
        try:
            assert await db.schema_version() == postgres_migrations()[-1][0]
            await db.migrate()  # again, as at the next start: nothing to do
            applied = await db.fetchall("SELECT version FROM schema_migrations ORDER BY version")
            assert [r["version"] for r in applied] == [n for n, _ in postgres_migrations()]
        finally:
            await db.close()


async def test_instances_starting_at_once_apply_each_migration_once(postgres: None) -> None:
    async with fresh_schema() as url:
        dbs = await asyncio.gather(*(PostgresDatabase.open(url, max_size=1) for _ in range(4)))
        try:
            rows = await dbs[0].fetchall("SELECT version FROM schema_migrations")
            assert sorted(r["version"] for r in rows) == [n for n, _ in postgres_migrations()]
            for db in dbs:
                assert await db.schema_version() == postgres_migrations()[-1][0]
        finally:
            for db in dbs:
                await db.close()


async def test_a_failed_migration_leaves_nothing_of_itself(
    postgres: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One transaction per file: a broken file is not half applied, and not recorded, so the
    next start tries it again once it is fixed."""
    broken = tmp_path / "9999_broken.sql"
    broken.write_text("CREATE TABLE half_done (id bigint);\nSELECT no_such_function();\n")
    files = [*postgres_migrations(), (9999, broken)]
    monkeypatch.setattr("storage.postgres.database.migration_files", lambda: files)
    async with fresh_schema() as url:
        with pytest.raises(Exception, match="no_such_function"):
            await PostgresDatabase.open(url, max_size=1)
        broken.write_text("CREATE TABLE half_done (id bigint);\n")
        db = await PostgresDatabase.open(url, max_size=1)
        try:
            assert await db.schema_version() == 9999
            assert await db.fetchval("SELECT count(*) FROM half_done") == 0
        finally:
            await db.close()
