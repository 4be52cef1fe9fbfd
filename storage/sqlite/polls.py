"""`PollStore` on SQLite."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage.codec import encode_instant
from storage.outreach import SENDING, STOPPED, Announcement, Subscriber, announcement_purpose
from storage.polls import (
    POLL_CLOSED_ERROR,
    PollRecipient,
    PollResults,
    SentPoll,
    WriteClosing,
)
from storage.sqlite.database import SQLiteDatabase
from storage.sqlite.outreach import COLUMNS, announcement_of
from storage.sqlite.transaction import Transaction

# The poll is open: not closed, and its end time later than the second parameter.
OPEN = (
    "EXISTS (SELECT 1 FROM announcements a WHERE a.id = ? AND a.poll_closed_at IS NULL "
    "AND a.poll_closes_at > ?)"
)
# The poll (first parameter) went to the citizen (second), and /forget has not erased that.
SENT_TO = "EXISTS (SELECT 1 FROM poll_sends s WHERE s.announcement_id = ? AND s.citizen_id = ?)"


class SQLitePollStore:
    """`PollStore` on SQLite; what each method promises is written there."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db

    async def record_sends(
        self, conn: Transaction, announcement_id: int, sends: Sequence[tuple[Subscriber, int]]
    ) -> None:
        await conn.executemany(
            "INSERT INTO poll_sends (announcement_id, citizen_id, language, district, "
            "outbox_id) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (announcement_id, citizen_id) DO NOTHING",
            [(announcement_id, s.citizen_id, s.language, s.district, row) for s, row in sends],
        )

    async def recipient(self, poll_id: str) -> PollRecipient | None:
        row = await self.db.fetchone(
            "SELECT p.announcement_id, p.citizen_id, p.language, p.district "
            "FROM outbox o INDEXED BY outbox_by_poll JOIN poll_sends p ON p.outbox_id = o.id "
            "WHERE o.poll_id = ?",
            (poll_id,),
        )
        if row is None:
            return None
        return PollRecipient(int(row[0]), int(row[1]), row[2], row[3])

    async def cast(self, recipient: PollRecipient, option: int, now: datetime) -> bool:
        at = encode_instant(now)
        added = await self.db.execute(
            "INSERT INTO poll_votes (announcement_id, citizen_id, choice, district, voted_at) "
            f"SELECT ?, ?, ?, ?, ? WHERE {OPEN} AND {SENT_TO} "
            "ON CONFLICT (announcement_id, citizen_id) DO UPDATE SET "
            "choice = excluded.choice, district = excluded.district, voted_at = excluded.voted_at",
            (
                recipient.announcement_id, recipient.citizen_id, option, recipient.district, at,
                recipient.announcement_id, at, recipient.announcement_id, recipient.citizen_id,
            ),
        )  # fmt: skip
        return added == 1

    async def retract(self, recipient: PollRecipient, now: datetime) -> bool:
        removed = await self.db.execute(
            f"DELETE FROM poll_votes WHERE announcement_id = ? AND citizen_id = ? AND {OPEN}",
            (
                recipient.announcement_id, recipient.citizen_id, recipient.announcement_id,
                encode_instant(now),
            ),
        )  # fmt: skip
        return removed == 1

    async def due(self, now: datetime) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT id FROM announcements WHERE poll_closes_at <= ? AND poll_closed_at IS NULL "
            "ORDER BY poll_closes_at, id",
            (encode_instant(now),),
        )
        return [int(r[0]) for r in rows]

    async def close(
        self, announcement_id: int, now: datetime, write: WriteClosing
    ) -> PollResults | None:
        at = encode_instant(now)
        async with self.db.transaction() as conn:
            async with conn.execute(
                "UPDATE announcements SET poll_closed_at = ? WHERE id = ? "
                f"AND poll_closes_at IS NOT NULL AND poll_closed_at IS NULL RETURNING {COLUMNS}",
                (at, announcement_id),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            # What has not gone out yet never will: a poll after its end is no use. A
            # broadcast still sending is stopped, so its progress message says so.
            dropped = await conn.execute(
                "UPDATE outbox INDEXED BY outbox_by_purpose SET dropped_at = ?, last_error = ? "
                "WHERE purpose = ? AND sent_at IS NULL AND dropped_at IS NULL",
                (at, POLL_CLOSED_ERROR, announcement_purpose(announcement_id)),
            )
            if dropped.rowcount:
                await conn.execute(
                    "UPDATE announcements SET status = ?, finished_at = ? "
                    "WHERE id = ? AND status = ?",
                    (STOPPED, at, announcement_id, SENDING),
                )
            poll = announcement_of(row)
            results = await _results(conn, poll)
            sent = await conn.execute(
                "SELECT p.citizen_id, p.language, p.district, o.chat_id, o.message_id, "
                "EXISTS (SELECT 1 FROM subscriptions s JOIN citizens c ON c.id = s.citizen_id "
                "        WHERE s.citizen_id = p.citizen_id AND c.unreachable = 0 "
                "        AND s.district IN (SELECT value FROM json_each(?))) AS follows "
                "FROM poll_sends p JOIN outbox o ON o.id = p.outbox_id "
                "WHERE p.announcement_id = ? AND o.sent_at IS NOT NULL "
                "AND o.message_id IS NOT NULL ORDER BY p.citizen_id",
                (row["districts"], announcement_id),
            )
            polls = [
                SentPoll(
                    PollRecipient(announcement_id, int(r[0]), r[1], r[2]), int(r[3]), int(r[4]),
                    bool(r[5]),
                )
                for r in sent.rows
            ]  # fmt: skip
            await write(conn, results, polls)
        return results

    async def results(self, announcement_id: int) -> PollResults | None:
        async with self.db.statements() as conn:
            async with conn.execute(
                f"SELECT {COLUMNS} FROM announcements WHERE id = ? AND poll_closes_at IS NOT NULL",
                (announcement_id,),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            return await _results(conn, announcement_of(row))

    async def running_since(self, since: datetime, chat_id: int | None) -> list[PollResults]:
        return await self._between("poll_closes_at", since, None, chat_id)

    async def closed_between(
        self, since: datetime, until: datetime, chat_id: int | None
    ) -> list[PollResults]:
        return await self._between("poll_closed_at", since, until, chat_id)

    async def _between(
        self, column: str, since: datetime, until: datetime | None, chat_id: int | None
    ) -> list[PollResults]:
        """Polls with `column` in [since, until) (no upper bound for None)."""
        params: list[object] = [encode_instant(since)]
        bound = ""
        if until is not None:
            bound, params = f"AND {column} < ?", [*params, encode_instant(until)]
        chat = ""
        if chat_id is not None:
            chat, params = "AND chat_id = ?", [*params, chat_id]
        async with self.db.statements() as conn:
            found = await conn.execute(
                f"SELECT {COLUMNS} FROM announcements WHERE poll_closes_at IS NOT NULL "
                f"AND {column} >= ? {bound} {chat} ORDER BY {column}, id",
                params,
            )
            return [await _results(conn, announcement_of(r)) for r in found.rows]


async def _results(conn: Transaction, poll: Announcement) -> PollResults:
    votes = await conn.execute(
        "SELECT district, choice, COUNT(*) FROM poll_votes WHERE announcement_id = ? "
        "GROUP BY district, choice ORDER BY district, choice",
        (poll.id,),
    )
    delivered = await conn.execute(
        "SELECT COUNT(*) FROM poll_sends p JOIN outbox o ON o.id = p.outbox_id "
        "WHERE p.announcement_id = ? AND o.sent_at IS NOT NULL",
        (poll.id,),
    )
    return PollResults(
        poll,
        tuple((r[0], int(r[1]), int(r[2])) for r in votes.rows),
        int(delivered.rows[0][0]),
    )
