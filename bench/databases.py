"""The databases a benchmark runs on: a new, empty one for each run, on SQLite or PostgreSQL.

    sqlite                   a file in the run's folder (the default of every benchmark)
    postgres                 a schema of its own on the server at BENCH_POSTGRES_URL
                             (default: TEST_POSTGRES_URL's, postgresql://postgres@127.0.0.1/test)
    sqlite:///path           that file, which must not exist yet
    postgresql://…           a schema of its own in that database

A PostgreSQL run works in a schema created for it (the URL's search_path) and dropped when
it ends, so a benchmark never touches what else the database holds. `DATABASE_URL`, when
set, is the default of the benchmarks that take one database (bench.kill).
"""

from __future__ import annotations

import os
import re
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg

from storage.stores import POSTGRES, SQLITE

POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL",
    os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
)
NAMES = ("sqlite", "postgres")


def parse(text: str) -> list[str]:
    """`--databases sqlite,postgres`: each a name above or a URL."""
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    for each in chosen:
        if each not in NAMES and not each.startswith((SQLITE, *POSTGRES)):
            raise ValueError(f"{each!r}: sqlite, postgres, sqlite:///path or postgresql://…")
    return chosen or ["sqlite"]


def label(database: str) -> str:
    """sqlite or postgres, for a table's column."""
    return "postgres" if database == "postgres" or database.startswith(POSTGRES) else "sqlite"


def with_search_path(url: str, schema: str) -> str:
    # asyncpg passes unknown query parameters on as server settings: every connection of
    # the bot's pool works in the schema.
    return f"{url}{'&' if '?' in url else '?'}search_path={schema}"


@asynccontextmanager
async def fresh(database: str, folder: Path, name: str = "bot") -> AsyncIterator[str]:
    """The DATABASE_URL of a new empty database (see the module's docstring): SQLite's file
    in `folder` is left to the caller's folder; PostgreSQL's schema is dropped at the end."""
    if database == "sqlite":
        yield f"{SQLITE}{folder / f'{name}.db'}"
        return
    if database.startswith(SQLITE):
        path = Path(database.removeprefix(SQLITE))
        if path.exists():  # noqa: ASYNC240 - once, before the run
            raise ValueError(f"{path} exists: a benchmark starts from an empty database")
        yield database
        return
    server = POSTGRES_URL if database == "postgres" else database
    schema = f"bench_{name}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f"CREATE SCHEMA {schema}")
        try:
            yield with_search_path(server, schema)
        finally:
            await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await admin.close()


async def fetchone(url: str, sql: str, *params: Any) -> tuple[Any, ...]:
    """One row of `sql` (SQLite's `?` placeholders) on the database at `url`: a check after
    a run, outside what is timed."""
    if url.startswith(SQLITE):
        conn = sqlite3.connect(url.removeprefix(SQLITE))
        try:
            return tuple(conn.execute(sql, params).fetchone())
        finally:
            conn.close()
    numbered = iter(range(1, sql.count("?") + 1))
    pg_sql = re.sub(r"\?", lambda _: f"${next(numbered)}", sql)
    conn_pg = await asyncpg.connect(url)
    try:
        row = await conn_pg.fetchrow(pg_sql, *params)
        assert row is not None
        return tuple(row)
    finally:
        await conn_pg.close()
