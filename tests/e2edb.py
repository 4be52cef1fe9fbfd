"""The database the end-to-end tests run the bot on: SQLite by default, PostgreSQL when
E2E_DATABASE=postgres (`tasks.py test` runs the e2e suite once that way too).

A test names its database by a path in its tmp_path (`tmp_path / "bot.db"`, or a real
process's `data/bot.db`) as it always did; on PostgreSQL the path stands for a schema of its
own on the server at TEST_POSTGRES_URL (tests/backends.py), created on first use and dropped
when the test ends, so a restart on the same path finds the same data. `query` reads either
with SQLite's `?` placeholders, rows as tuples.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest

from storage.postgres.reports import as_stored
from tests import backends

POSTGRES = os.environ.get("E2E_DATABASE", "sqlite") == "postgres"
T = TypeVar("T")
# Schemas created by the running test, dropped when it ends (conftest's drop_e2e_schemas).
created: set[str] = set()


def on_thread(work: Callable[[], Awaitable[T]]) -> T:
    """`work()` run to its end on an event loop of its own: callable from sync code and from
    inside the test's loop alike (as sqlite3 is)."""
    result: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(work()))  # type: ignore[arg-type]
        except BaseException as exc:  # handed to the caller
            error.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def schema_for(path: Path) -> str:
    return "e2e_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]


def database_url(path: Path, *, relative: str | None = None, postgres: bool = POSTGRES) -> str:
    """DATABASE_URL for the test's database at `path`. `relative`: the SQLite URL as the
    process sees it from its working directory (a real process's `sqlite:///data/bot.db`).
    `postgres`: PostgreSQL whatever E2E_DATABASE says (a test that is about PostgreSQL);
    without a server it skips, which CI (REQUIRE_ALL_TESTS) counts as a failure."""
    if not postgres:
        return relative or f"sqlite:///{path}"
    missing = backends.postgres_missing()
    if missing:
        pytest.skip(missing)
    schema = schema_for(path)
    if schema not in created:

        async def create() -> None:
            conn = await asyncpg.connect(backends.POSTGRES_URL)
            try:
                await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            finally:
                await conn.close()

        on_thread(create)
        created.add(schema)
    return backends.with_search_path(backends.POSTGRES_URL, schema)


def drop_created() -> None:
    if not created:
        return
    schemas = sorted(created)
    created.clear()

    async def drop() -> None:
        conn = await asyncpg.connect(backends.POSTGRES_URL)
        try:
            for schema in schemas:
                await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await conn.close()

    on_thread(drop)


class Row(tuple[Any, ...]):
    """A PostgreSQL row as the tests read SQLite's: by position or column name, its values
    in SQLite's stored form (instants as UTC ISO text, dates as ISO text, flags 0/1), so
    one assertion holds on both backends."""

    names: dict[str, int]

    def __new__(cls, record: asyncpg.Record) -> Row:
        stored = as_stored(record)
        row = super().__new__(cls, stored.values())
        row.names = {name: i for i, name in enumerate(stored)}
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return super().__getitem__(self.names[key])
        return super().__getitem__(key)

    def keys(self) -> list[str]:
        return list(self.names)


def every_cell(url: str) -> list[tuple[str, str, Any]]:
    """(table, column, value) of every cell of every table of the database at `url` (the
    tables found in its catalog, not listed by hand); a table without rows still appears,
    once, with column and value None."""
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            tables = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            ]
            cells: list[tuple[str, str, Any]] = []
            for table in tables:
                cursor = conn.execute(f'SELECT * FROM "{table}"')
                columns = [d[0] for d in cursor.description]
                cells.append((table, "", None))
                for row in cursor:
                    cells += [(table, c, v) for c, v in zip(columns, row, strict=True)]
            return cells
        finally:
            conn.close()

    async def fetch() -> list[tuple[str, str, Any]]:
        conn = await asyncpg.connect(url, server_settings={"TimeZone": "UTC"})
        try:
            tables = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
            cells: list[tuple[str, str, Any]] = []
            for (table,) in tables:
                cells.append((table, "", None))
                for row in await conn.fetch(f'SELECT * FROM "{table}"'):
                    cells += [(table, c, v) for c, v in row.items()]
            return cells
        finally:
            await conn.close()

    return on_thread(fetch)


def query(where: Path | str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of `sql` (with `?` placeholders) as tuples, on the test's database: its path, or
    the DATABASE_URL the bot was given (`app.settings.database_url`)."""
    return [tuple(r) for r in records(where, sql, *params)]


def records(where: Path | str, sql: str, *params: Any) -> list[Any]:
    """Rows of `sql` that read by column name too (sqlite3.Row, asyncpg.Record)."""
    url = where if isinstance(where, str) else database_url(where)
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        conn.row_factory = sqlite3.Row
        try:
            found = conn.execute(sql, params).fetchall()
            conn.commit()  # what a test writes (an old draft put back) must stay
            return found
        finally:
            conn.close()
    numbered = iter(range(1, sql.count("?") + 1))
    pg_sql = re.sub(r"\?", lambda _: f"${next(numbered)}", sql)

    async def fetch() -> list[Any]:
        conn = await asyncpg.connect(url, server_settings={"TimeZone": "UTC"})
        try:
            return [Row(r) for r in await conn.fetch(pg_sql, *params)]
        finally:
            await conn.close()

    return on_thread(fetch)
