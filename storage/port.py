"""Copy a SQLite database into PostgreSQL (issue #12, item 4), for an akimat moving to several
instances: every table, row for row, in one transaction; identities continued past the highest
id, the reference counters as they were; then each table's row count and checksum compared
between the two.

The target must hold no data, or exactly what an earlier port put there (the counts recorded in
`port_runs` match): then it is emptied and filled again, so the port can be re-run on a newer
copy of the SQLite file until the switch. A target the bot has written to is refused.

The source is opened as the bot opens it: its own migrations are applied first, so a copy of an
older release's file is upgraded before it is read (use a copy, not the live file).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg

from storage.postgres.database import Connection, PostgresDatabase
from storage.sqlite.database import SQLiteDatabase

# Parents before children, so every foreign key finds its row (appeals.duplicate_of and
# bookings.moved_from point to lower ids of their own table, and rows go in id order).
TABLES = (
    "citizens", "counters", "appeals", "appeal_questions", "appeal_additions", "attachments",
    "status_history", "contact_views", "contact_exports", "appeal_copies", "fsm",
    "processed_updates", "outbox", "chat_migrations", "refused_chats", "digests", "bookings",
    "reception_cancellations", "reception_extra_days", "waitlist", "official_prompts",
    "subscriptions", "announcements", "meeting_attendees", "meeting_questions", "meeting_moves",
    "poll_sends", "poll_votes",
)  # fmt: skip
PORT_RUNS = (
    "CREATE TABLE IF NOT EXISTS port_runs (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
    "at timestamptz NOT NULL DEFAULT now(), source text NOT NULL, counts text NOT NULL)"
)


class PortRefused(Exception):
    """The target holds data of its own: nothing was written."""


@dataclass(frozen=True)
class TableReport:
    table: str
    rows: int
    checksum: str


def _target_value(value: Any, pg_type: str, where: str) -> Any:
    """A SQLite value as the PostgreSQL column takes it (storage/codec.py wrote the text)."""
    if value is None:
        return None
    try:
        if pg_type == "timestamp with time zone":
            return datetime.fromisoformat(value) if value != "" else None
        if pg_type == "date":
            return date.fromisoformat(value)
        if pg_type == "boolean":
            return bool(value)
        if pg_type in ("bigint", "integer"):
            return int(value)
        if pg_type == "double precision":
            return float(value)
        return value if isinstance(value, str) else str(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {value!r} is not a {pg_type} ({exc})") from None


def _canonical(value: Any) -> str:
    """One spelling per value, whichever side it was read from, for the checksums."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    return repr(value)


def _checksum(rows: Sequence[Sequence[Any]]) -> str:
    digest = hashlib.sha256()
    for line in sorted("\x1f".join(_canonical(v) for v in row) for row in rows):
        digest.update(line.encode())
        digest.update(b"\x1e")
    return digest.hexdigest()


async def _columns(conn: Connection, table: str) -> list[tuple[str, str]]:
    rows = await conn.fetch(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        table,
    )
    return [(r["column_name"], r["data_type"]) for r in rows]


async def _counts(conn: Connection) -> dict[str, int]:
    return {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in TABLES}


async def _empty_or_ported(conn: Connection) -> None:
    """Refuse a target with data that no port put there; empty one that a port filled."""
    counts = await _counts(conn)
    if not any(counts.values()):
        return
    await conn.execute(PORT_RUNS)
    last = await conn.fetchval("SELECT counts FROM port_runs ORDER BY id DESC LIMIT 1")
    if last is None or json.loads(last) != counts:
        raise PortRefused(
            "the target database already holds data that no earlier port wrote "
            "(the bot may have run on it): port into an empty database"
        )
    await conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY")


async def port(source: Path, target_url: str) -> list[TableReport]:
    """Copy every table of the SQLite database at `source` into the PostgreSQL database at
    `target_url` (migrated first) and verify the copy; returns each table's count and checksum.
    Raises PortRefused (nothing written) for a target with data of its own, and ValueError
    (nothing written) for a value that does not fit its column or a copy that differs."""
    lite = await SQLiteDatabase.open(source)
    try:
        pg = await PostgresDatabase.open(target_url, max_size=1)
        try:
            async with pg.transaction() as conn:
                await _empty_or_ported(conn)
                reports = [await _copy(lite, conn, table) for table in TABLES]
                await conn.execute(PORT_RUNS)
                await conn.execute(
                    "INSERT INTO port_runs (source, counts) VALUES ($1, $2)",
                    str(source),
                    json.dumps(await _counts(conn)),
                )
        finally:
            await pg.close()
    finally:
        await lite.close()
    return reports


async def _copy(lite: SQLiteDatabase, conn: Connection, table: str) -> TableReport:
    columns = await _columns(conn, table)
    names = [name for name, _ in columns]
    rows = await lite.fetchall(f"SELECT {', '.join(names)} FROM {table} ORDER BY rowid")
    converted = [
        tuple(
            _target_value(row[name], pg_type, f"{table}.{name} (row {n})")
            for name, pg_type in columns
        )
        for n, row in enumerate(rows, start=1)
    ]
    await conn.copy_records_to_table(table, records=converted, columns=names)
    if "id" in names:
        # The next appeal, booking, outbox row … continues where SQLite's ids ended.
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
        )
    copied = [tuple(r) for r in await conn.fetch(f"SELECT {', '.join(names)} FROM {table}")]
    expected, found = _checksum(converted), _checksum(copied)
    if len(copied) != len(converted) or expected != found:
        raise ValueError(
            f"{table}: {len(converted)} rows read, {len(copied)} in the target, "
            f"checksums {expected[:12]} and {found[:12]}"
        )
    return TableReport(table, len(copied), found)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="port", description="Copy the bot's SQLite database into an empty PostgreSQL one."
    )
    parser.add_argument("--from", dest="source", required=True, help="sqlite:///path/to/bot.db")
    parser.add_argument("--to", dest="target", required=True, help="postgresql://…")
    args = parser.parse_args(argv)
    if not args.source.startswith("sqlite:///") or not args.target.startswith(
        ("postgresql://", "postgres://")
    ):
        parser.error("--from takes sqlite:///path, --to postgresql://…")
    try:
        reports = asyncio.run(port(Path(args.source.removeprefix("sqlite:///")), args.target))
    except (PortRefused, ValueError, asyncpg.PostgresError) as exc:
        print(f"Port failed, nothing was written: {exc}", file=sys.stderr)
        return 1
    for report in reports:
        print(f"{report.table:24} {report.rows:>9} rows  sha256 {report.checksum[:16]}")
    print("Copied and verified.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
