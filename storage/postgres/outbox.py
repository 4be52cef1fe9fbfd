"""`OutboxStore` on PostgreSQL: the outbox table and the statements the sender runs on it.

The statements are SQLite's (storage/sqlite/outbox.py) in PostgreSQL's dialect; what each
method promises is written in storage/outbox.py. A row is pending while both sent_at and
dropped_at are NULL; the partial indexes (outbox_pending, outbox_by_chat) are on that
condition, so every query repeats it.

Several instances may enqueue at once: a dedupe key is claimed by the insert (ON CONFLICT DO
NOTHING), which waits for another transaction's uncommitted row with the same key and then
finds it. Sending is one instance's job at a time (issue #12 item 2, not built yet), so `due`
only reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from storage.codec import decode_json, encode_json
from storage.outbox import DropNotes, NewMessage, OutboxRow, Outgoing, no_notes
from storage.postgres.database import Connection, PostgresDatabase, rowcount

PENDING = "sent_at IS NULL AND dropped_at IS NULL"
WITHDRAW = f"UPDATE outbox SET dropped_at = $1, last_error = $2 WHERE purpose = $3 AND {PENDING}"
O_PENDING = "o.sent_at IS NULL AND o.dropped_at IS NULL"
# "No pending row of the same chat that may hold it back comes before it": one probe of
# outbox_by_chat. Any earlier row holds a bulk row back; only an earlier row that is not bulk
# holds back one that is not (false < true).
IS_CHAT_HEAD = (
    "NOT EXISTS (SELECT 1 FROM outbox AS prior "
    "WHERE prior.chat_id = o.chat_id AND prior.scheduled_at <= o.scheduled_at "
    "AND (prior.scheduled_at, prior.id) < (o.scheduled_at, o.id) AND prior.bulk <= o.bulk "
    "AND prior.sent_at IS NULL AND prior.dropped_at IS NULL)"
)
ROW_COLUMNS = "o.id, o.chat_id, o.method, o.payload, o.attempts, o.not_before, o.purpose, o.bulk"
# not_before of a parked row (its group refuses the bot): SQLite's value, later than any real
# time, so the sender's queries skip it without a condition of their own.
PARKED = datetime(9999, 12, 31, tzinfo=UTC)
# A parked row comes back at its scheduled time, or now ($1) if that has passed.
UNPARKED = "greatest(scheduled_at, $1)"
MAX_MIGRATION_HOPS = 8
MAX_ERROR_LENGTH = 1000


class PostgresOutboxStore:
    """`OutboxStore` on PostgreSQL."""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    # ------------------------------------------------------------------ enqueue

    async def add(
        self,
        chat_id: int,
        method: str,
        payload: dict[str, Any],
        *,
        now: datetime,
        dedupe_key: str | None = None,
        purpose: str | None = None,
        not_before: datetime | None = None,
    ) -> int:
        ids = await self.add_many(
            chat_id,
            [NewMessage(method, payload, dedupe_key, purpose)],
            now=now,
            not_before=not_before,
        )
        return ids[0]

    async def add_many(
        self,
        chat_id: int,
        messages: Sequence[NewMessage],
        *,
        now: datetime,
        not_before: datetime | None = None,
    ) -> list[int]:
        return await self.add_outgoing([Outgoing(chat_id, messages, now, not_before)])

    async def add_outgoing(self, batches: Sequence[Outgoing]) -> list[int]:
        async with self.db.transaction() as conn:
            return await write(conn, batches)

    async def write_in(self, conn: Connection, batches: Sequence[Outgoing]) -> list[int]:
        return await write(conn, batches)

    # ------------------------------------------------------------------ the sender's queries

    async def due(self, now: datetime, limit: int) -> list[OutboxRow]:
        """The rows that are not bulk, then the bulk ones; each kind read in outbox_pending's
        order (bulk, not_before, id), so each scan stops after `limit` rows."""
        rows = await self.db.fetchall(
            f"({_due_of('false')}) UNION ALL ({_due_of('true')}) "
            f"ORDER BY bulk, not_before, id LIMIT $2",
            now,
            limit,
        )
        return [_row(r) for r in rows]

    async def earliest_pending(self, after: datetime | None = None) -> datetime | None:
        bound = "AND o.not_before > $1" if after is not None else ""
        each = [
            f"(SELECT o.not_before FROM outbox AS o "
            f"WHERE {O_PENDING} AND o.bulk = {bulk} {bound} AND {IS_CHAT_HEAD} "
            f"ORDER BY o.not_before LIMIT 1)"
            for bulk in ("false", "true")
        ]
        found: datetime | None = await self.db.fetchval(
            f"SELECT min(not_before) FROM ({each[0]} UNION ALL {each[1]}) AS heads",
            *((after,) if after is not None else ()),
        )
        return found

    async def pending_count(self) -> int:
        return int(await self.db.fetchval(f"SELECT count(*) FROM outbox WHERE {PENDING}"))

    # ------------------------------------------------------------------ outcomes

    async def mark_sent(
        self,
        row_id: int,
        message_id: int | None,
        now: datetime,
        message_ids: Sequence[int] = (),
        poll_id: str | None = None,
    ) -> None:
        await self.db.execute(
            # Withdrawn or dropped while Telegram was taking it, it went out all the same:
            # recorded as sent, so what was delivered is known (and /forget can delete it).
            "UPDATE outbox SET sent_at = $1, message_id = $2, message_ids = $3, poll_id = $4 "
            "WHERE id = $5 AND sent_at IS NULL",
            now,
            message_id,
            encode_json(list(message_ids)) if message_ids else None,
            poll_id,
            row_id,
        )

    async def reschedule(
        self, row_id: int, not_before: datetime, error: str, *, count: bool = True
    ) -> None:
        await self.db.execute(
            f"UPDATE outbox SET not_before = $1, last_error = $2, attempts = attempts + $3 "
            f"WHERE id = $4 AND {PENDING}",
            not_before,
            _clip(error),
            1 if count else 0,
            row_id,
        )

    async def replace_payload(self, row_id: int, payload: dict[str, Any], error: str) -> None:
        await self.db.execute(
            f"UPDATE outbox SET payload = $1, last_error = $2, attempts = attempts + 1 "
            f"WHERE id = $3 AND {PENDING}",
            encode_json(payload),
            _clip(error),
            row_id,
        )

    async def drop(self, row_id: int, error: str, now: datetime) -> None:
        await self.db.execute(
            f"UPDATE outbox SET dropped_at = $1, last_error = $2 WHERE id = $3 AND {PENDING}",
            now,
            _clip(error),
            row_id,
        )

    async def pending_keys(self, chat_id: int) -> list[str]:
        async with self.db.connection() as conn:
            rows = await conn.fetch(
                f"SELECT dedupe_key FROM outbox WHERE chat_id = $1 AND {PENDING} ORDER BY id",
                chat_id,
            )
        return [row[0] or "" for row in rows]

    async def drop_chat(
        self, chat_id: int, error: str, now: datetime, notes: DropNotes = no_notes
    ) -> list[str]:
        async with self.db.transaction() as conn:
            rows = await conn.fetch(
                f"UPDATE outbox SET dropped_at = $1, last_error = $2 WHERE chat_id = $3 "
                f"AND {PENDING} RETURNING dedupe_key",
                now,
                _clip(error),
                chat_id,
            )
            dropped = [row[0] or "" for row in rows]
            await write(conn, notes(dropped))
        return dropped

    async def mark_unreachable(self, chat_id: int) -> None:
        await self.db.execute("UPDATE citizens SET unreachable = true WHERE id = $1", chat_id)

    # ------------------------------------------------------------------ groups that refuse the bot

    async def park_chat(
        self, chat_id: int, error: str, now: datetime, alerts: Sequence[Outgoing] = ()
    ) -> bool:
        """The incident's row is claimed by its insert: of two instances meeting the refusal
        at once, one starts the incident and enqueues the alerts."""
        async with self.db.transaction() as conn:
            await conn.execute(
                f"UPDATE outbox SET not_before = $1, last_error = $2 "
                f"WHERE chat_id = $3 AND {PENDING}",
                PARKED,
                _clip(error),
                chat_id,
            )
            status = await conn.execute(
                "INSERT INTO refused_chats (chat_id, since, last_error) VALUES ($1, $2, $3) "
                "ON CONFLICT (chat_id) DO NOTHING",
                chat_id,
                now,
                _clip(error),
            )
            started = rowcount(status) == 1
            if started:
                await write(conn, alerts)
        return started

    async def resume_chat(self, chat_id: int, now: datetime) -> int:
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM refused_chats WHERE chat_id = $1", chat_id)
            status = await conn.execute(
                f"UPDATE outbox SET not_before = {UNPARKED} "
                f"WHERE chat_id = $2 AND {PENDING} AND not_before = $3",
                now,
                chat_id,
                PARKED,
            )
            return rowcount(status)

    async def retry_parked(self, now: datetime) -> list[int]:
        async with self.db.transaction() as conn:
            await conn.execute(
                f"UPDATE outbox SET not_before = {UNPARKED} WHERE {PENDING} AND not_before = $2",
                now,
                PARKED,
            )
            rows = await conn.fetch("SELECT chat_id FROM refused_chats ORDER BY chat_id")
            return [int(r[0]) for r in rows]

    async def end_refusal(self, chat_id: int) -> None:
        await self.db.execute("DELETE FROM refused_chats WHERE chat_id = $1", chat_id)

    async def refused_chats(self) -> list[int]:
        rows = await self.db.fetchall("SELECT chat_id FROM refused_chats ORDER BY chat_id")
        return [int(r[0]) for r in rows]

    # ------------------------------------------------------------------ chat migrations

    async def migrate_chat(self, old: int, new: int, now: datetime) -> int:
        if old == new:
            return 0
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO chat_migrations (old_chat_id, new_chat_id, at) VALUES ($1, $2, $3) "
                "ON CONFLICT (old_chat_id) DO UPDATE SET new_chat_id = excluded.new_chat_id, "
                "at = excluded.at",
                old,
                new,
                now,
            )
            # Chains collapse, so resolving stays one hop for ids that migrated earlier.
            await conn.execute(
                "UPDATE chat_migrations SET new_chat_id = $1 WHERE new_chat_id = $2", new, old
            )
            status = await conn.execute(
                f"UPDATE outbox SET chat_id = $1 WHERE chat_id = $2 AND {PENDING}", new, old
            )
            return rowcount(status)

    async def resolve_chat(self, chat_id: int) -> int:
        async with self.db.connection() as conn:
            return await _resolve(conn, chat_id)

    async def migrated_from(self, chat_id: int) -> list[int]:
        async with self.db.connection() as conn:
            rows = await conn.fetch(
                "SELECT old_chat_id FROM chat_migrations WHERE new_chat_id = $1 "
                "ORDER BY old_chat_id",
                chat_id,
            )
        return [int(row[0]) for row in rows]

    async def withdraw(self, purpose: str, reason: str, now: datetime) -> int:
        return await self.db.execute(WITHDRAW, now, reason, purpose)

    async def withdraw_in(self, conn: Connection, purpose: str, reason: str, now: datetime) -> int:
        return rowcount(await conn.execute(WITHDRAW, now, reason, purpose))

    async def bring_forward(
        self, purpose: str, now: datetime, payload: dict[str, Any] | None = None
    ) -> int:
        if payload is None:
            return await self.db.execute(
                f"UPDATE outbox SET not_before = $1 WHERE purpose = $2 AND {PENDING}",
                now,
                purpose,
            )
        return await self.db.execute(
            f"UPDATE outbox SET payload = $3, not_before = $1 WHERE purpose = $2 AND {PENDING}",
            now,
            purpose,
            encode_json(payload),
        )

    # ------------------------------------------------------------------ lookups

    async def message_id_for(self, purpose: str) -> tuple[int, int] | None:
        row = await self.db.fetchone(
            "SELECT chat_id, message_id FROM outbox "
            "WHERE purpose = $1 AND sent_at IS NOT NULL AND message_id IS NOT NULL "
            "ORDER BY id DESC LIMIT 1",
            purpose,
        )
        return (int(row[0]), int(row[1])) if row else None

    async def get(self, row_id: int) -> asyncpg.Record | None:
        """The whole row, for tests and diagnostics."""
        return await self.db.fetchone("SELECT * FROM outbox WHERE id = $1", row_id)


def _due_of(bulk: str) -> str:
    """The due rows of one kind ($1 now, $2 the limit), in the sender's order."""
    return (
        f"SELECT {ROW_COLUMNS} FROM outbox AS o "
        f"WHERE {O_PENDING} AND o.bulk = {bulk} AND o.not_before <= $1 "
        f"AND {IS_CHAT_HEAD} ORDER BY o.not_before, o.id LIMIT $2"
    )


async def _resolve(conn: Connection, chat_id: int) -> int:
    for _ in range(MAX_MIGRATION_HOPS):
        new = await conn.fetchval(
            "SELECT new_chat_id FROM chat_migrations WHERE old_chat_id = $1", chat_id
        )
        if new is None or new == chat_id:
            break
        chat_id = int(new)
    return chat_id


async def write(conn: Connection, batches: Sequence[Outgoing]) -> list[int]:
    """Insert rows inside the caller's transaction; the ids in order. The caller wakes the
    sender once it has committed (`bot.delivery.outbox.Outbox.poke`)."""
    ids: list[int] = []
    for batch in batches:
        target = await _resolve(conn, batch.chat_id)
        due = batch.not_before or batch.now
        for message in batch.messages:
            ids.append(await _insert(conn, target, message, batch.now, due, batch.bulk))
    return ids


async def _insert(
    conn: Connection,
    chat_id: int,
    message: NewMessage,
    created: datetime,
    due: datetime,
    bulk: bool,
) -> int:
    new_id = await conn.fetchval(
        "INSERT INTO outbox (chat_id, method, payload, dedupe_key, purpose, created_at, "
        "scheduled_at, not_before, bulk) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) "
        "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        chat_id,
        message.method,
        encode_json(message.payload),
        message.dedupe_key,
        message.purpose,
        created,
        due,
        bulk,
    )
    if new_id is not None:
        return int(new_id)
    existing = await conn.fetchval(
        "SELECT id FROM outbox WHERE dedupe_key = $1", message.dedupe_key
    )
    assert existing is not None  # the conflict that skipped the insert is this row
    return int(existing)


def _clip(error: str) -> str:
    return error if len(error) <= MAX_ERROR_LENGTH else error[: MAX_ERROR_LENGTH - 1] + "…"


def _row(row: asyncpg.Record) -> OutboxRow:
    return OutboxRow(
        id=int(row["id"]),
        chat_id=int(row["chat_id"]),
        method=row["method"],
        payload=decode_json(row["payload"]),
        attempts=int(row["attempts"]),
        not_before=row["not_before"],
        purpose=row["purpose"],
        bulk=bool(row["bulk"]),
    )
