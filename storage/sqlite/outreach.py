"""`SubscriptionStore` and `AnnouncementStore` on SQLite."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime

from storage.codec import (
    decode_instant,
    decode_json,
    decode_optional_instant,
    encode_instant,
    encode_json,
)
from storage.outreach import (
    BLOCKED_ERROR_PREFIX,
    DONE,
    MEETING_CANCELLED,
    MOVED_ERROR,
    NOT_COMING,
    POLL_CLOSED_ERROR,
    SENDING,
    STOPPED,
    STOPPED_ERROR,
    Announcement,
    Attendance,
    MeetingDetails,
    MeetingFigures,
    MeetingMove,
    MeetingQuestion,
    NewAnnouncement,
    NewMeetingMove,
    PollDetails,
    Progress,
    Subscriber,
    WriteMessages,
    WriteMove,
    WriteWithRegistration,
    announcement_purpose,
    meeting_reminder_purpose,
    meeting_reminders,
)
from storage.sqlite.database import SQLiteDatabase

COLUMNS = (
    "id, draft_key, kind, districts, text_kk, text_ru, chat_id, progress_message_id, "
    "author_id, author_name, status, total, shown, created_at, finished_at, "
    "meeting_who, meeting_place, meeting_at, meeting_topics, meeting_cancelled_at, "
    "meeting_attended, meeting_attended_by_name, meeting_attended_at, "
    "poll_options_kk, poll_options_ru, poll_closes_at, poll_closed_at"
)
MOVE_COLUMNS = (
    "id, announcement_id, draft_key, old_at, new_at, old_place, new_place, told, moved_by, "
    "moved_by_name, moved_at"
)


def _marks(values: Collection[str]) -> str:
    return ", ".join("?" for _ in values)


class SQLiteSubscriptionStore:
    """`SubscriptionStore` on SQLite; what each method promises is written there."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db

    async def subscribe(self, citizen_id: int, district: str, now: datetime) -> bool:
        added = await self.db.execute(
            "INSERT INTO subscriptions (citizen_id, district, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (citizen_id, district) DO NOTHING",
            (citizen_id, district, encode_instant(now)),
        )
        return added == 1

    async def unsubscribe(self, citizen_id: int, district: str) -> bool:
        removed = await self.db.execute(
            "DELETE FROM subscriptions WHERE citizen_id = ? AND district = ?",
            (citizen_id, district),
        )
        return removed == 1

    async def unsubscribe_all(self, citizen_id: int) -> int:
        return await self.db.execute(
            "DELETE FROM subscriptions WHERE citizen_id = ?", (citizen_id,)
        )

    async def districts_of(self, citizen_id: int) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT district FROM subscriptions WHERE citizen_id = ? ORDER BY created_at, district",
            (citizen_id,),
        )
        return [r["district"] for r in rows]

    async def count_subscribers(self, districts: Collection[str]) -> int:
        if not districts:
            return 0
        row = await self.db.fetchone(
            "SELECT COUNT(DISTINCT s.citizen_id) FROM subscriptions s "
            "JOIN citizens c ON c.id = s.citizen_id "
            f"WHERE s.district IN ({_marks(districts)}) AND c.unreachable = 0",
            tuple(districts),
        )
        return int(row[0]) if row else 0


class SQLiteAnnouncementStore:
    """`AnnouncementStore` on SQLite; what each method promises is written there."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db

    async def create(self, new: NewAnnouncement, write: WriteMessages) -> tuple[Announcement, bool]:
        async with self.db.transaction() as conn:
            m, p = new.meeting, new.poll
            values = (
                new.draft_key, new.kind, encode_json(list(new.districts)), new.text_kk,
                new.text_ru, new.chat_id, new.progress_message_id, new.author_id,
                new.author_name, SENDING, encode_instant(new.created_at),
                m.who if m else None, m.place if m else None,
                encode_instant(m.at) if m else None,
                encode_json(list(m.topics)) if m else None,
                encode_json(list(p.options_kk)) if p else None,
                encode_json(list(p.options_ru)) if p else None,
                encode_instant(p.closes_at) if p else None,
            )  # fmt: skip
            async with conn.execute(
                "INSERT INTO announcements (draft_key, kind, districts, text_kk, text_ru, "
                "chat_id, progress_message_id, author_id, author_name, status, total, "
                "created_at, meeting_who, meeting_place, meeting_at, meeting_topics, "
                "poll_options_kk, poll_options_ru, poll_closes_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?) "
                f"ON CONFLICT (draft_key) DO NOTHING RETURNING {COLUMNS}",
                values,
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                async with conn.execute(
                    f"SELECT {COLUMNS} FROM announcements WHERE draft_key = ?", (new.draft_key,)
                ) as cur:
                    existing = await cur.fetchone()
                assert existing is not None
                return announcement_of(existing), False
            created = announcement_of(row)
            async with conn.execute(
                "SELECT s.citizen_id, c.language, MIN(s.district) AS district "
                "FROM subscriptions s JOIN citizens c ON c.id = s.citizen_id "
                f"WHERE s.district IN ({_marks(new.districts)}) AND c.unreachable = 0 "
                "GROUP BY s.citizen_id, c.language ORDER BY s.citizen_id",
                new.districts,
            ) as cur:
                rows = await cur.fetchall()
            who = [Subscriber(r["citizen_id"], r["language"] or "", r["district"]) for r in rows]
            total = await write(conn, created, who)
            await conn.execute(
                "UPDATE announcements SET total = ? WHERE id = ?", (total, created.id)
            )
        return replace(created, total=total), True

    async def get(self, announcement_id: int) -> Announcement | None:
        row = await self.db.fetchone(
            f"SELECT {COLUMNS} FROM announcements WHERE id = ?", (announcement_id,)
        )
        return announcement_of(row) if row else None

    async def sending(self, stopped_since: datetime) -> list[Announcement]:
        rows = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM announcements WHERE status = ? "
            "OR (status = ? AND finished_at > ?) ORDER BY id",
            (SENDING, STOPPED, encode_instant(stopped_since)),
        )
        return [announcement_of(r) for r in rows]

    async def progress(self, announcement: Announcement) -> Progress:
        row = await self.db.fetchone(
            "SELECT "
            "COALESCE(SUM(sent_at IS NOT NULL), 0) AS sent, "
            "COALESCE(SUM(sent_at IS NULL AND dropped_at IS NOT NULL AND last_error IN (?, ?)), "
            "  0) AS stopped, "
            "COALESCE(SUM(sent_at IS NULL AND dropped_at IS NOT NULL AND last_error LIKE ?), 0) "
            "  AS blocked, "
            "COALESCE(SUM(sent_at IS NULL AND dropped_at IS NOT NULL), 0) AS dropped, "
            "COALESCE(SUM(sent_at IS NULL AND dropped_at IS NULL), 0) AS pending "
            "FROM outbox INDEXED BY outbox_by_purpose WHERE purpose = ?",
            (
                STOPPED_ERROR,
                POLL_CLOSED_ERROR,
                f"{BLOCKED_ERROR_PREFIX}%",
                announcement_purpose(announcement.id),
            ),
        )
        assert row is not None
        return Progress(
            total=announcement.total,
            sent=int(row["sent"]),
            failed=int(row["dropped"]) - int(row["stopped"]) - int(row["blocked"]),
            blocked=int(row["blocked"]),
            stopped=int(row["stopped"]),
            pending=int(row["pending"]),
        )

    async def stop(self, announcement_id: int, now: datetime) -> Announcement | None:
        async with self.db.transaction() as conn:
            async with conn.execute(
                "UPDATE announcements SET status = ?, finished_at = ? "
                f"WHERE id = ? AND status = ? RETURNING {COLUMNS}",
                (STOPPED, encode_instant(now), announcement_id, SENDING),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            await conn.execute(
                "UPDATE outbox INDEXED BY outbox_by_purpose SET dropped_at = ?, last_error = ? "
                "WHERE purpose = ? AND sent_at IS NULL AND dropped_at IS NULL",
                (encode_instant(now), STOPPED_ERROR, announcement_purpose(announcement_id)),
            )
        return announcement_of(row)

    async def record_shown(
        self, announcement_id: int, shown: str, finished: bool, now: datetime
    ) -> None:
        await self.db.execute(
            "UPDATE announcements SET shown = ?, "
            "status = CASE WHEN ? AND status = ? THEN ? ELSE status END, "
            "finished_at = CASE WHEN ? AND finished_at IS NULL THEN ? ELSE finished_at END "
            "WHERE id = ?",
            (shown, finished, SENDING, DONE, finished, encode_instant(now), announcement_id),
        )


def announcement_of(row: sqlite3.Row) -> Announcement:
    return Announcement(
        id=row["id"],
        draft_key=row["draft_key"],
        kind=row["kind"],
        districts=tuple(decode_json(row["districts"])),
        text_kk=row["text_kk"],
        text_ru=row["text_ru"],
        chat_id=row["chat_id"],
        progress_message_id=row["progress_message_id"],
        author_id=row["author_id"],
        author_name=row["author_name"],
        status=row["status"],
        total=row["total"],
        shown=row["shown"],
        created_at=decode_instant(row["created_at"]),
        finished_at=decode_optional_instant(row["finished_at"]),
        meeting=_meeting(row),
        poll=_poll(row),
    )


def _poll(row: sqlite3.Row) -> PollDetails | None:
    if row["poll_closes_at"] is None:
        return None
    return PollDetails(
        options_kk=tuple(decode_json(row["poll_options_kk"] or "[]")),
        options_ru=tuple(decode_json(row["poll_options_ru"] or "[]")),
        closes_at=decode_instant(row["poll_closes_at"]),
        closed_at=decode_optional_instant(row["poll_closed_at"]),
    )


def _meeting(row: sqlite3.Row) -> MeetingDetails | None:
    if row["meeting_at"] is None:
        return None
    return MeetingDetails(
        who=row["meeting_who"] or "",
        place=row["meeting_place"] or "",
        at=decode_instant(row["meeting_at"]),
        topics=tuple(decode_json(row["meeting_topics"] or "[]")),
        cancelled_at=decode_optional_instant(row["meeting_cancelled_at"]),
        attended=row["meeting_attended"],
        attended_by_name=row["meeting_attended_by_name"],
        attended_at=decode_optional_instant(row["meeting_attended_at"]),
    )


def _move(row: sqlite3.Row) -> MeetingMove:
    return MeetingMove(
        id=row["id"],
        meeting_id=row["announcement_id"],
        draft_key=row["draft_key"],
        old_at=decode_instant(row["old_at"]),
        new_at=decode_instant(row["new_at"]),
        old_place=row["old_place"],
        new_place=row["new_place"],
        told=row["told"],
        moved_by=row["moved_by"],
        moved_by_name=row["moved_by_name"],
        moved_at=decode_instant(row["moved_at"]),
    )


class SQLiteMeetingStore:
    """`MeetingStore` on SQLite; what each method promises is written there."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db

    async def register(
        self,
        meeting_id: int,
        citizen_id: int,
        access: Sequence[str],
        now: datetime,
        then: WriteWithRegistration | None = None,
    ) -> bool:
        async with self.db.transaction() as conn:
            # The write lock orders this after a cancellation that committed first.
            async with conn.execute(
                "INSERT INTO meeting_attendees (announcement_id, citizen_id, access, created_at) "
                "SELECT id, ?, ?, ? FROM announcements WHERE id = ? AND meeting_at IS NOT NULL "
                "AND meeting_cancelled_at IS NULL "
                "ON CONFLICT (announcement_id, citizen_id) DO NOTHING",
                (citizen_id, encode_json(list(access)), encode_instant(now), meeting_id),
            ) as cur:
                added = cur.rowcount == 1
            if added and then is not None:
                await then(conn)
        return added

    async def unregister(self, meeting_id: int, citizen_id: int, now: datetime) -> bool:
        async with self.db.transaction() as conn:
            removed = await conn.execute(
                "DELETE FROM meeting_attendees WHERE announcement_id = ? AND citizen_id = ?",
                (meeting_id, citizen_id),
            )
            await conn.execute(
                "UPDATE outbox INDEXED BY outbox_by_purpose SET dropped_at = ?, last_error = ? "
                "WHERE purpose = ? AND sent_at IS NULL AND dropped_at IS NULL",
                (
                    encode_instant(now), NOT_COMING,
                    meeting_reminder_purpose(meeting_id, citizen_id),
                ),
            )  # fmt: skip
        return removed.rowcount == 1

    async def attendance(self, meeting_id: int, citizen_id: int) -> Attendance | None:
        row = await self.db.fetchone(
            "SELECT access, created_at FROM meeting_attendees "
            "WHERE announcement_id = ? AND citizen_id = ?",
            (meeting_id, citizen_id),
        )
        if row is None:
            return None
        return Attendance(
            meeting_id, citizen_id, tuple(decode_json(row["access"])),
            decode_instant(row["created_at"]),
        )  # fmt: skip

    async def ask(
        self, meeting_id: int, citizen_id: int, topic: int | None, text: str, now: datetime
    ) -> MeetingQuestion:
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT id, topic, created_at FROM meeting_questions "
                "WHERE announcement_id = ? AND citizen_id = ? AND text = ? ORDER BY id LIMIT 1",
                (meeting_id, citizen_id, text),
            ) as cur:
                asked = await cur.fetchone()
            if asked is not None:
                return MeetingQuestion(
                    int(asked["id"]), meeting_id, asked["topic"], text,
                    decode_instant(asked["created_at"]),
                )  # fmt: skip
            async with conn.execute(
                "INSERT INTO meeting_questions (announcement_id, citizen_id, topic, text, "
                "created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
                (meeting_id, citizen_id, topic, text, encode_instant(now)),
            ) as cur:
                row = await cur.fetchone()
        assert row is not None
        return MeetingQuestion(int(row[0]), meeting_id, topic, text, now)

    async def upcoming(
        self, since: datetime, limit: int, chat_id: int | None = None
    ) -> list[MeetingFigures]:
        meetings = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM announcements WHERE meeting_at >= ? "
            "AND meeting_cancelled_at IS NULL AND (? IS NULL OR chat_id = ?) "
            "ORDER BY meeting_at, id LIMIT ?",
            (encode_instant(since), chat_id, chat_id, limit),
        )
        return [await self._figures(announcement_of(row)) for row in meetings]

    async def past(
        self, since: datetime, until: datetime, limit: int, chat_id: int | None = None
    ) -> list[MeetingFigures]:
        meetings = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM announcements WHERE meeting_at >= ? AND meeting_at < ? "
            "AND meeting_cancelled_at IS NULL AND (? IS NULL OR chat_id = ?) "
            "ORDER BY meeting_at DESC, id DESC LIMIT ?",
            (encode_instant(since), encode_instant(until), chat_id, chat_id, limit),
        )
        return [await self._figures(announcement_of(row)) for row in meetings]

    async def _figures(self, meeting: Announcement) -> MeetingFigures:
        coming = await self.db.fetchall(
            "SELECT access FROM meeting_attendees WHERE announcement_id = ?", (meeting.id,)
        )
        access: dict[str, int] = {}
        for r in coming:
            for code in decode_json(r["access"]):
                access[code] = access.get(code, 0) + 1
        asked = await self.db.fetchall(
            "SELECT id, topic, text, created_at FROM meeting_questions "
            "WHERE announcement_id = ? ORDER BY id",
            (meeting.id,),
        )
        questions = tuple(
            MeetingQuestion(
                r["id"], meeting.id, r["topic"], r["text"], decode_instant(r["created_at"])
            )
            for r in asked
        )
        return MeetingFigures(meeting, len(coming), access, questions)

    async def move(
        self, new: NewMeetingMove, write: WriteMove
    ) -> tuple[Announcement, MeetingMove, bool] | None:
        now = encode_instant(new.moved_at)
        async with self.db.transaction() as conn:  # BEGIN IMMEDIATE: one move at a time
            async with conn.execute(
                f"SELECT {COLUMNS} FROM announcements WHERE id = ?", (new.meeting_id,)
            ) as cur:
                found = await cur.fetchone()
            async with conn.execute(
                f"SELECT {MOVE_COLUMNS} FROM meeting_moves WHERE draft_key = ?", (new.draft_key,)
            ) as cur:
                earlier = await cur.fetchone()
            if found is None:
                return None
            if earlier is not None:
                return announcement_of(found), _move(earlier), False
            before = announcement_of(found)
            old = before.meeting
            if old is None or old.cancelled_at is not None or old.at <= new.moved_at:
                return None
            place = new.new_place or old.place
            async with conn.execute(
                "INSERT INTO meeting_moves (announcement_id, draft_key, old_at, new_at, "
                "old_place, new_place, told, moved_by, moved_by_name, moved_at) "
                f"VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?) RETURNING {MOVE_COLUMNS}",
                (
                    new.meeting_id, new.draft_key, encode_instant(old.at),
                    encode_instant(new.new_at), old.place, place, new.moved_by,
                    new.moved_by_name, now,
                ),
            ) as cur:  # fmt: skip
                moved_row = await cur.fetchone()
            assert moved_row is not None
            async with conn.execute(
                "UPDATE announcements SET meeting_at = ?, meeting_place = ? WHERE id = ? "
                f"RETURNING {COLUMNS}",
                (encode_instant(new.new_at), place, new.meeting_id),
            ) as cur:
                updated = await cur.fetchone()
            assert updated is not None
            meeting = announcement_of(updated)
            async with conn.execute(
                "SELECT a.citizen_id, c.language, c.unreachable FROM meeting_attendees a "
                "JOIN citizens c ON c.id = a.citizen_id "
                "WHERE a.announcement_id = ? ORDER BY a.citizen_id",
                (new.meeting_id,),
            ) as cur:
                rows = await cur.fetchall()
            # Every reminder of the old time goes, in this transaction (one left by a citizen
            # who withdrew included, as when calling it off): `write` queues the new.
            await conn.execute(
                "UPDATE outbox INDEXED BY outbox_by_purpose SET dropped_at = ?, last_error = ? "
                "WHERE purpose >= ? AND purpose < ? AND sent_at IS NULL AND dropped_at IS NULL",
                (now, MOVED_ERROR, *meeting_reminders(new.meeting_id)),
            )
            who = [Subscriber(int(r[0]), r[1] or "", "") for r in rows if not r[2]]
            move = _move(moved_row)
            told = await write(conn, meeting, move, who)
            await conn.execute("UPDATE meeting_moves SET told = ? WHERE id = ?", (told, move.id))
        return meeting, replace(move, told=told), True

    async def move_of(self, draft_key: str) -> MeetingMove | None:
        row = await self.db.fetchone(
            f"SELECT {MOVE_COLUMNS} FROM meeting_moves WHERE draft_key = ?", (draft_key,)
        )
        return _move(row) if row is not None else None

    async def record_attended(
        self, meeting_id: int, count: int, by: int, by_name: str, now: datetime
    ) -> Announcement | None:
        async with (
            self.db.transaction() as conn,
            conn.execute(
                "UPDATE announcements SET meeting_attended = ?, meeting_attended_by = ?, "
                "meeting_attended_by_name = ?, meeting_attended_at = ? WHERE id = ? "
                "AND meeting_at IS NOT NULL AND meeting_at <= ? "
                f"AND meeting_cancelled_at IS NULL RETURNING {COLUMNS}",
                (count, by, by_name, encode_instant(now), meeting_id, encode_instant(now)),
            ) as cur,
        ):
            row = await cur.fetchone()
        return announcement_of(row) if row is not None else None

    async def cancel(
        self, meeting_id: int, now: datetime, write: WriteMessages
    ) -> tuple[Announcement, list[int]] | None:
        async with self.db.transaction() as conn:
            async with conn.execute(
                "UPDATE announcements SET meeting_cancelled_at = ? WHERE id = ? "
                f"AND meeting_at IS NOT NULL AND meeting_cancelled_at IS NULL RETURNING {COLUMNS}",
                (encode_instant(now), meeting_id),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            meeting = announcement_of(row)
            async with conn.execute(
                "SELECT a.citizen_id, c.language, c.unreachable FROM meeting_attendees a "
                "JOIN citizens c ON c.id = a.citizen_id "
                "WHERE a.announcement_id = ? ORDER BY a.citizen_id",
                (meeting_id,),
            ) as cur:
                rows = await cur.fetchall()
            who = [Subscriber(r[0], r[1] or "", "") for r in rows if not r[2]]
            # The reminders go with the meeting, in this transaction (one who withdrew and
            # whose reminder is somehow still queued included).
            await conn.execute(
                "UPDATE outbox INDEXED BY outbox_by_purpose SET dropped_at = ?, last_error = ? "
                "WHERE purpose >= ? AND purpose < ? AND sent_at IS NULL AND dropped_at IS NULL",
                (encode_instant(now), MEETING_CANCELLED, *meeting_reminders(meeting_id)),
            )
            await write(conn, meeting, who)
        return meeting, [int(r[0]) for r in rows]
