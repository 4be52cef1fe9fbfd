"""`PollStore` on PostgreSQL, as on SQLite."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage.codec import decode_json
from storage.outreach import SENDING, STOPPED, Announcement, Subscriber, announcement_purpose
from storage.polls import (
    POLL_CLOSED_ERROR,
    PollRecipient,
    PollResults,
    SentPoll,
    WriteClosing,
)
from storage.postgres.database import Connection, PostgresDatabase, rowcount
from storage.postgres.outreach import COLUMNS, announcement_of

# The poll is open: not closed, and its end time later than $2 ($1: the poll).
OPEN = (
    "EXISTS (SELECT 1 FROM announcements a WHERE a.id = $1 AND a.poll_closed_at IS NULL "
    "AND a.poll_closes_at > $2)"
)
# The poll ($1) went to the citizen ($3), and /forget has not erased that.
SENT_TO = "EXISTS (SELECT 1 FROM poll_sends s WHERE s.announcement_id = $1 AND s.citizen_id = $3)"


class PostgresPollStore:
    """`PollStore` on PostgreSQL; what each method promises is written there."""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    async def record_sends(
        self, conn: Connection, announcement_id: int, sends: Sequence[tuple[Subscriber, int]]
    ) -> None:
        await conn.executemany(
            "INSERT INTO poll_sends (announcement_id, citizen_id, language, district, "
            "outbox_id) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (announcement_id, citizen_id) DO NOTHING",
            [(announcement_id, s.citizen_id, s.language, s.district, row) for s, row in sends],
        )

    async def recipient(self, poll_id: str) -> PollRecipient | None:
        row = await self.db.fetchone(
            "SELECT p.announcement_id, p.citizen_id, p.language, p.district "
            "FROM outbox o JOIN poll_sends p ON p.outbox_id = o.id WHERE o.poll_id = $1",
            poll_id,
        )
        if row is None:
            return None
        return PollRecipient(int(row[0]), int(row[1]), row[2], row[3])

    async def cast(self, recipient: PollRecipient, option: int, now: datetime) -> bool:
        async with self.db.transaction() as conn:
            await self._wait_for_closing_and_erasure(conn, recipient)
            added = await conn.execute(
                "INSERT INTO poll_votes (announcement_id, citizen_id, choice, district, voted_at) "
                f"SELECT $1, $3, $4, $5, $2 WHERE {OPEN} AND {SENT_TO} "
                "ON CONFLICT (announcement_id, citizen_id) DO UPDATE SET "
                "choice = excluded.choice, district = excluded.district, "
                "voted_at = excluded.voted_at",
                recipient.announcement_id, now, recipient.citizen_id, option, recipient.district,
            )  # fmt: skip
        return rowcount(added) == 1

    async def retract(self, recipient: PollRecipient, now: datetime) -> bool:
        async with self.db.transaction() as conn:
            await self._wait_for_closing_and_erasure(conn, recipient)
            removed = await conn.execute(
                f"DELETE FROM poll_votes WHERE announcement_id = $1 AND citizen_id = $3 AND {OPEN}",
                recipient.announcement_id, now, recipient.citizen_id,
            )  # fmt: skip
        return rowcount(removed) == 1

    async def _wait_for_closing_and_erasure(
        self, conn: Connection, recipient: PollRecipient
    ) -> None:
        """A vote's statement alone reads the poll and the citizen as they were when it began:
        a close that has claimed the poll and is counting the votes would not see it, and the
        vote would land after the count (stored, but in no result sent); a /forget erasing the
        citizen would make it fail on the citizen's row, gone. FOR SHARE waits for either to
        commit (both lock first: /forget the citizen, the close the poll); the vote's
        statement, begun after, sees what they did and writes nothing."""
        await conn.execute("SELECT 1 FROM citizens WHERE id = $1 FOR SHARE", recipient.citizen_id)
        await conn.execute(
            "SELECT 1 FROM announcements WHERE id = $1 FOR SHARE", recipient.announcement_id
        )

    async def due(self, now: datetime) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT id FROM announcements WHERE poll_closes_at <= $1 AND poll_closed_at IS NULL "
            "ORDER BY poll_closes_at, id",
            now,
        )
        return [int(r[0]) for r in rows]

    async def close(
        self, announcement_id: int, now: datetime, write: WriteClosing
    ) -> PollResults | None:
        async with self.db.transaction() as conn:
            # A second instance closing at the same moment waits here for the first one's
            # commit, then finds it closed.
            row = await conn.fetchrow(
                "UPDATE announcements SET poll_closed_at = $1 WHERE id = $2 "
                f"AND poll_closes_at IS NOT NULL AND poll_closed_at IS NULL RETURNING {COLUMNS}",
                now,
                announcement_id,
            )
            if row is None:
                return None
            dropped = rowcount(
                await conn.execute(
                    "UPDATE outbox SET dropped_at = $1, last_error = $2 "
                    "WHERE purpose = $3 AND sent_at IS NULL AND dropped_at IS NULL",
                    now,
                    POLL_CLOSED_ERROR,
                    announcement_purpose(announcement_id),
                )
            )
            if dropped:
                await conn.execute(
                    "UPDATE announcements SET status = $1, finished_at = $2 "
                    "WHERE id = $3 AND status = $4",
                    STOPPED,
                    now,
                    announcement_id,
                    SENDING,
                )
            poll = announcement_of(row)
            results = await _results(conn, poll)
            sent = await conn.fetch(
                "SELECT p.citizen_id, p.language, p.district, o.chat_id, o.message_id, "
                "EXISTS (SELECT 1 FROM subscriptions s JOIN citizens c ON c.id = s.citizen_id "
                "        WHERE s.citizen_id = p.citizen_id AND NOT c.unreachable "
                "        AND s.district = ANY($2::text[])) AS follows "
                "FROM poll_sends p JOIN outbox o ON o.id = p.outbox_id "
                "WHERE p.announcement_id = $1 AND o.sent_at IS NOT NULL "
                "AND o.message_id IS NOT NULL ORDER BY p.citizen_id",
                announcement_id,
                list(decode_json(row["districts"])),
            )
            polls = [
                SentPoll(
                    PollRecipient(announcement_id, int(r[0]), r[1], r[2]), int(r[3]), int(r[4]),
                    bool(r[5]),
                )
                for r in sent
            ]  # fmt: skip
            await write(conn, results, polls)
        return results

    async def results(self, announcement_id: int) -> PollResults | None:
        async with self.db.connection() as conn:
            row = await conn.fetchrow(
                f"SELECT {COLUMNS} FROM announcements WHERE id = $1 AND poll_closes_at IS NOT NULL",
                announcement_id,
            )
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
        params: list[object] = [since]
        bound = ""
        if until is not None:
            params.append(until)
            bound = f"AND {column} < ${len(params)}"
        chat = ""
        if chat_id is not None:
            params.append(chat_id)
            chat = f"AND chat_id = ${len(params)}"
        async with self.db.connection() as conn:
            found = await conn.fetch(
                f"SELECT {COLUMNS} FROM announcements WHERE poll_closes_at IS NOT NULL "
                f"AND {column} >= $1 {bound} {chat} ORDER BY {column}, id",
                *params,
            )
            return [await _results(conn, announcement_of(r)) for r in found]


async def _results(conn: Connection, poll: Announcement) -> PollResults:
    votes = await conn.fetch(
        "SELECT district, choice, COUNT(*) FROM poll_votes WHERE announcement_id = $1 "
        "GROUP BY district, choice ORDER BY district, choice",
        poll.id,
    )
    delivered = await conn.fetchval(
        "SELECT COUNT(*) FROM poll_sends p JOIN outbox o ON o.id = p.outbox_id "
        "WHERE p.announcement_id = $1 AND o.sent_at IS NOT NULL",
        poll.id,
    )
    return PollResults(
        poll, tuple((r[0], int(r[1]), int(r[2])) for r in votes), int(delivered or 0)
    )
