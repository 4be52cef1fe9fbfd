"""`OutboxStore` on SQLite: the outbox table and the statements the sender runs on it.

A row is pending while both sent_at and dropped_at are NULL; both partial indexes
(outbox_pending, outbox_by_chat) are on that condition, so every query repeats it verbatim.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aiosqlite

from storage.codec import decode_instant, decode_json, encode_instant, encode_json
from storage.outbox import DropNotes, NewMessage, OutboxRow, Outgoing, no_notes
from storage.sqlite.database import SQLiteDatabase
from storage.sqlite.transaction import Transaction

# Both indexes are partial on this condition; queries repeat it verbatim so SQLite can use them.
PENDING = "sent_at IS NULL AND dropped_at IS NULL"
WITHDRAW = (
    "UPDATE outbox INDEXED BY outbox_by_purpose SET dropped_at = ?, last_error = ? "
    f"WHERE purpose = ? AND {PENDING}"
)
O_PENDING = "o.sent_at IS NULL AND o.dropped_at IS NULL"
# "No pending row of the same chat that may hold it back comes before it": one probe of
# outbox_by_chat (chat_id, scheduled_at, id, bulk). The plain <= bound lets SQLite seek the
# index by range. Any earlier row holds a bulk row back; only an earlier row that is not bulk
# holds back one that is not (storage/outbox.py: the others overtake a broadcast).
IS_CHAT_HEAD = (
    "NOT EXISTS (SELECT 1 FROM outbox AS prior INDEXED BY outbox_by_chat "
    "WHERE prior.chat_id = o.chat_id AND prior.scheduled_at <= o.scheduled_at "
    "AND (prior.scheduled_at, prior.id) < (o.scheduled_at, o.id) AND prior.bulk <= o.bulk "
    "AND prior.sent_at IS NULL AND prior.dropped_at IS NULL)"
)
ROW_COLUMNS = "o.id, o.chat_id, o.method, o.payload, o.attempts, o.not_before, o.purpose, o.bulk"
# not_before of a parked row (its group refuses the bot): later than any real time, so the
# sender's queries skip it without a condition of their own and stay on their indexes.
PARKED = "9999-12-31T00:00:00+00:00"
# A parked row comes back at its scheduled time, or now if that has passed (two parameters).
UNPARKED = "CASE WHEN scheduled_at > ? THEN scheduled_at ELSE ? END"
# A migrated group can in principle be migrated again; a cycle must not hang us.
MAX_MIGRATION_HOPS = 8
MAX_ERROR_LENGTH = 1000


class SQLiteOutboxStore:
    """`OutboxStore` on SQLite; what each method promises is written there."""

    def __init__(self, db: SQLiteDatabase) -> None:
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
        async with self.db.transaction(quick=True) as conn:
            return await write(conn, batches)

    # ------------------------------------------------------------------ in the caller's transaction

    async def write_in(self, conn: Transaction, batches: Sequence[Outgoing]) -> list[int]:
        return await write(conn, batches)

    # ------------------------------------------------------------------ the sender's queries

    async def due(self, now: datetime, limit: int) -> list[OutboxRow]:
        """What `OutboxStore.due` promises: the rows that are not bulk, then the bulk ones.

        Each kind is read in the index's own order (bulk, not_before, id), so each scan stops
        after `limit` rows; ordered by id it read and probed every due row on every tick
        (1.5 ms at 3,000 due rows, holding the database)."""
        due = encode_instant(now)
        rows = await self.db.fetchall(DUE, (due, limit, due, limit, limit))
        return [_row(r) for r in rows]

    async def earliest_pending(self, after: datetime | None = None) -> datetime | None:
        bound = "AND o.not_before > ?" if after is not None else ""
        each = [
            f"SELECT o.not_before FROM outbox AS o INDEXED BY outbox_pending "
            f"WHERE {O_PENDING} AND o.bulk = {bulk} {bound} AND {IS_CHAT_HEAD} "
            f"ORDER BY o.not_before LIMIT 1"
            for bulk in (0, 1)
        ]
        row = await self.db.fetchone(
            f"SELECT min(not_before) FROM (SELECT * FROM ({each[0]}) "
            f"UNION ALL SELECT * FROM ({each[1]}))",
            (encode_instant(after),) * 2 if after is not None else (),
        )
        return decode_instant(row[0]) if row and row[0] is not None else None

    async def pending_count(self) -> int:
        row = await self.db.fetchone(f"SELECT COUNT(*) FROM outbox WHERE {PENDING}")
        return int(row[0]) if row else 0

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
            "UPDATE outbox SET sent_at = ?, message_id = ?, message_ids = ?, poll_id = ? "
            "WHERE id = ? AND sent_at IS NULL",
            (
                encode_instant(now),
                message_id,
                encode_json(list(message_ids)) if message_ids else None,
                poll_id,
                row_id,
            ),
            quick=True,
        )

    async def reschedule(
        self, row_id: int, not_before: datetime, error: str, *, count: bool = True
    ) -> None:
        await self.db.execute(
            f"UPDATE outbox SET not_before = ?, last_error = ?, attempts = attempts + ? "
            f"WHERE id = ? AND {PENDING}",
            (encode_instant(not_before), _clip(error), 1 if count else 0, row_id),
        )

    async def replace_payload(self, row_id: int, payload: dict[str, Any], error: str) -> None:
        await self.db.execute(
            f"UPDATE outbox SET payload = ?, last_error = ?, attempts = attempts + 1 "
            f"WHERE id = ? AND {PENDING}",
            (encode_json(payload), _clip(error), row_id),
        )

    async def drop(self, row_id: int, error: str, now: datetime) -> None:
        await self.db.execute(
            f"UPDATE outbox SET dropped_at = ?, last_error = ? WHERE id = ? AND {PENDING}",
            (encode_instant(now), _clip(error), row_id),
        )

    async def pending_keys(self, chat_id: int) -> list[str]:
        rows = await self.db.fetchall(
            f"SELECT dedupe_key FROM outbox WHERE chat_id = ? AND {PENDING} ORDER BY id",
            (chat_id,),
        )
        return [row[0] or "" for row in rows]

    async def drop_chat(
        self, chat_id: int, error: str, now: datetime, notes: DropNotes = no_notes
    ) -> list[str]:
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                f"UPDATE outbox SET dropped_at = ?, last_error = ? WHERE chat_id = ? AND {PENDING} "
                "RETURNING dedupe_key",
                (encode_instant(now), _clip(error), chat_id),
            )
            dropped = [row[0] or "" for row in await cur.fetchall()]
            await write(conn, notes(dropped))
        return dropped

    async def mark_unreachable(self, chat_id: int) -> None:
        await self.db.execute("UPDATE citizens SET unreachable = 1 WHERE id = ?", (chat_id,))

    # ------------------------------------------------------------------ groups that refuse the bot

    async def park_chat(
        self, chat_id: int, error: str, now: datetime, alerts: Sequence[Outgoing] = ()
    ) -> bool:
        async with self.db.transaction() as conn:
            await conn.execute(
                f"UPDATE outbox SET not_before = ?, last_error = ? WHERE chat_id = ? AND {PENDING}",
                (PARKED, _clip(error), chat_id),
            )
            cur = await conn.execute(
                "INSERT INTO refused_chats (chat_id, since, last_error) VALUES (?, ?, ?) "
                "ON CONFLICT (chat_id) DO NOTHING",
                (chat_id, encode_instant(now), _clip(error)),
            )
            started = cur.rowcount == 1
            if started:
                await write(conn, alerts)
        return started

    async def resume_chat(self, chat_id: int, now: datetime) -> int:
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM refused_chats WHERE chat_id = ?", (chat_id,))
            cur = await conn.execute(
                f"UPDATE outbox SET not_before = {UNPARKED} "
                f"WHERE chat_id = ? AND {PENDING} AND not_before = ?",
                (encode_instant(now), encode_instant(now), chat_id, PARKED),
            )
            return cur.rowcount

    async def retry_parked(self, now: datetime) -> list[int]:
        async with self.db.transaction() as conn:
            await conn.execute(
                f"UPDATE outbox INDEXED BY outbox_pending SET not_before = {UNPARKED} "
                f"WHERE {PENDING} AND bulk IN (0, 1) AND not_before = ?",
                (encode_instant(now), encode_instant(now), PARKED),
            )
            cur = await conn.execute("SELECT chat_id FROM refused_chats ORDER BY chat_id")
            return [int(r[0]) for r in await cur.fetchall()]

    async def end_refusal(self, chat_id: int) -> None:
        await self.db.execute("DELETE FROM refused_chats WHERE chat_id = ?", (chat_id,))

    async def refused_chats(self) -> list[int]:
        rows = await self.db.fetchall("SELECT chat_id FROM refused_chats ORDER BY chat_id")
        return [int(r[0]) for r in rows]

    # ------------------------------------------------------------------ chat migrations

    async def migrate_chat(self, old: int, new: int, now: datetime) -> int:
        if old == new:
            return 0
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO chat_migrations (old_chat_id, new_chat_id, at) VALUES (?, ?, ?) "
                "ON CONFLICT (old_chat_id) DO UPDATE SET new_chat_id = excluded.new_chat_id, "
                "at = excluded.at",
                (old, new, encode_instant(now)),
            )
            # Chains collapse, so resolving stays one hop for ids that migrated earlier.
            await conn.execute(
                "UPDATE chat_migrations SET new_chat_id = ? WHERE new_chat_id = ?", (new, old)
            )
            cur = await conn.execute(
                f"UPDATE outbox SET chat_id = ? WHERE chat_id = ? AND {PENDING}", (new, old)
            )
            return cur.rowcount

    async def resolve_chat(self, chat_id: int) -> int:
        async with self.db.statements() as conn:
            return await _resolve(conn, chat_id)

    async def migrated_from(self, chat_id: int) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT old_chat_id FROM chat_migrations WHERE new_chat_id = ? ORDER BY old_chat_id",
            (chat_id,),
        )
        return [int(row[0]) for row in rows]

    async def withdraw(self, purpose: str, reason: str, now: datetime) -> int:
        return await self.db.execute(WITHDRAW, (encode_instant(now), reason, purpose), quick=True)

    async def withdraw_in(self, conn: Transaction, purpose: str, reason: str, now: datetime) -> int:
        cur = await conn.execute(WITHDRAW, (encode_instant(now), reason, purpose))
        return cur.rowcount

    async def bring_forward(
        self, purpose: str, now: datetime, payload: dict[str, Any] | None = None
    ) -> int:
        replace = "payload = ?, " if payload is not None else ""
        values = (encode_json(payload),) if payload is not None else ()
        return await self.db.execute(
            f"UPDATE outbox INDEXED BY outbox_by_purpose SET {replace}not_before = ? "
            "WHERE purpose = ? AND sent_at IS NULL AND dropped_at IS NULL",
            (*values, encode_instant(now), purpose),
        )

    # ------------------------------------------------------------------ lookups

    async def message_id_for(self, purpose: str) -> tuple[int, int] | None:
        row = await self.db.fetchone(
            "SELECT chat_id, message_id FROM outbox INDEXED BY outbox_by_purpose "
            "WHERE purpose = ? AND sent_at IS NOT NULL AND message_id IS NOT NULL "
            "ORDER BY id DESC LIMIT 1",
            (purpose,),
        )
        return (int(row[0]), int(row[1])) if row else None

    async def get(self, row_id: int) -> aiosqlite.Row | None:
        """The whole row, for tests and diagnostics."""
        return await self.db.fetchone("SELECT * FROM outbox WHERE id = ?", (row_id,))


def _due_of(bulk: int) -> str:
    """The due rows of one kind (two parameters: now, limit), in the sender's order."""
    return (
        f"SELECT {ROW_COLUMNS} FROM outbox AS o INDEXED BY outbox_pending "
        f"WHERE {O_PENDING} AND o.bulk = {bulk} AND o.not_before <= ? "
        f"AND {IS_CHAT_HEAD} ORDER BY o.not_before, o.id LIMIT ?"
    )


# The sender's batch (five parameters: now, limit, now, limit, limit).
DUE = (
    f"SELECT * FROM ({_due_of(0)}) UNION ALL SELECT * FROM ({_due_of(1)}) "
    f"ORDER BY bulk, not_before, id LIMIT ?"
)


async def _resolve(conn: Transaction, chat_id: int) -> int:
    for _ in range(MAX_MIGRATION_HOPS):
        async with conn.execute(
            "SELECT new_chat_id FROM chat_migrations WHERE old_chat_id = ?", (chat_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None or row[0] == chat_id:
            break
        chat_id = int(row[0])
    return chat_id


async def write(conn: Transaction, batches: Sequence[Outgoing]) -> list[int]:
    """Insert rows inside the caller's transaction on the shared connection; the ids in order.
    The caller wakes the sender once it has committed (`bot.delivery.outbox.Outbox.poke`)."""
    ids: list[int] = []
    for batch in batches:
        target = await _resolve(conn, batch.chat_id)
        created = encode_instant(batch.now)
        due = encode_instant(batch.not_before or batch.now)
        for message in batch.messages:
            ids.append(await _insert(conn, target, message, created, due, batch.bulk))
    return ids


async def _insert(
    conn: Transaction, chat_id: int, message: NewMessage, created: str, due: str, bulk: bool
) -> int:
    async with conn.execute(
        "INSERT INTO outbox (chat_id, method, payload, dedupe_key, purpose, created_at, "
        "scheduled_at, not_before, bulk) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        (
            chat_id,
            message.method,
            encode_json(message.payload),
            message.dedupe_key,
            message.purpose,
            created,
            due,
            due,
            1 if bulk else 0,
        ),
    ) as cur:
        row = await cur.fetchone()
    if row is not None:
        return int(row[0])
    async with conn.execute(
        "SELECT id FROM outbox WHERE dedupe_key = ?", (message.dedupe_key,)
    ) as cur:
        existing = await cur.fetchone()
    assert existing is not None  # the conflict that skipped the insert is this row
    return int(existing[0])


def _clip(error: str) -> str:
    return error if len(error) <= MAX_ERROR_LENGTH else error[: MAX_ERROR_LENGTH - 1] + "…"


def _row(row: aiosqlite.Row) -> OutboxRow:
    return OutboxRow(
        id=int(row["id"]),
        chat_id=int(row["chat_id"]),
        method=row["method"],
        payload=decode_json(row["payload"]),
        attempts=int(row["attempts"]),
        not_before=decode_instant(row["not_before"]),
        purpose=row["purpose"],
        bulk=bool(row["bulk"]),
    )
