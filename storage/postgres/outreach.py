"""`SubscriptionStore` and `AnnouncementStore` on PostgreSQL, as on SQLite."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime

import asyncpg

from storage.codec import decode_json, encode_json
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
from storage.postgres.database import PostgresDatabase, rowcount

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


class PostgresSubscriptionStore:
    """`SubscriptionStore` on PostgreSQL; what each method promises is written there."""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    async def subscribe(self, citizen_id: int, district: str, now: datetime) -> bool:
        added = await self.db.execute(
            "INSERT INTO subscriptions (citizen_id, district, created_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (citizen_id, district) DO NOTHING",
            citizen_id,
            district,
            now,
        )
        return added == 1

    async def unsubscribe(self, citizen_id: int, district: str) -> bool:
        removed = await self.db.execute(
            "DELETE FROM subscriptions WHERE citizen_id = $1 AND district = $2",
            citizen_id,
            district,
        )
        return removed == 1

    async def unsubscribe_all(self, citizen_id: int) -> int:
        return await self.db.execute("DELETE FROM subscriptions WHERE citizen_id = $1", citizen_id)

    async def districts_of(self, citizen_id: int) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT district FROM subscriptions WHERE citizen_id = $1 "
            "ORDER BY created_at, district",
            citizen_id,
        )
        return [r["district"] for r in rows]

    async def count_subscribers(self, districts: Collection[str]) -> int:
        if not districts:
            return 0
        count = await self.db.fetchval(
            "SELECT COUNT(DISTINCT s.citizen_id) FROM subscriptions s "
            "JOIN citizens c ON c.id = s.citizen_id "
            "WHERE s.district = ANY($1::text[]) AND NOT c.unreachable",
            list(districts),
        )
        return int(count or 0)


class PostgresAnnouncementStore:
    """`AnnouncementStore` on PostgreSQL; what each method promises is written there."""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    async def create(self, new: NewAnnouncement, write: WriteMessages) -> tuple[Announcement, bool]:
        async with self.db.transaction() as conn:
            # A second «Send» of the same draft waits here for the first one's commit, then
            # finds its row.
            m, p = new.meeting, new.poll
            row = await conn.fetchrow(
                "INSERT INTO announcements (draft_key, kind, districts, text_kk, text_ru, "
                "chat_id, progress_message_id, author_id, author_name, status, total, "
                "created_at, meeting_who, meeting_place, meeting_at, meeting_topics, "
                "poll_options_kk, poll_options_ru, poll_closes_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12, $13, $14, $15, "
                "$16, $17, $18) "
                f"ON CONFLICT (draft_key) DO NOTHING RETURNING {COLUMNS}",
                new.draft_key, new.kind, encode_json(list(new.districts)), new.text_kk,
                new.text_ru, new.chat_id, new.progress_message_id, new.author_id,
                new.author_name, SENDING, new.created_at,
                m.who if m else None, m.place if m else None, m.at if m else None,
                encode_json(list(m.topics)) if m else None,
                encode_json(list(p.options_kk)) if p else None,
                encode_json(list(p.options_ru)) if p else None,
                p.closes_at if p else None,
            )  # fmt: skip
            if row is None:
                existing = await conn.fetchrow(
                    f"SELECT {COLUMNS} FROM announcements WHERE draft_key = $1", new.draft_key
                )
                assert existing is not None
                return announcement_of(existing), False
            created = announcement_of(row)
            # FOR SHARE: a /forget under way (it locks the citizen first) is waited for and
            # its citizen left out; one that comes later waits for this commit and erases the
            # row written here. Without it, an erasure committed between this read and the
            # rows' write left a message to a citizen who is gone.
            rows = await conn.fetch(
                "SELECT c.id AS citizen_id, c.language, "
                "(SELECT MIN(s.district) FROM subscriptions s WHERE s.citizen_id = c.id "
                " AND s.district = ANY($1::text[])) AS district "
                "FROM citizens c WHERE NOT c.unreachable AND EXISTS (SELECT 1 FROM "
                "subscriptions s WHERE s.citizen_id = c.id AND s.district = ANY($1::text[])) "
                "ORDER BY c.id FOR SHARE OF c",
                list(new.districts),
            )
            who = [
                Subscriber(int(r["citizen_id"]), r["language"] or "", r["district"]) for r in rows
            ]
            total = await write(conn, created, who)
            await conn.execute(
                "UPDATE announcements SET total = $1 WHERE id = $2", total, created.id
            )
        return replace(created, total=total), True

    async def get(self, announcement_id: int) -> Announcement | None:
        row = await self.db.fetchone(
            f"SELECT {COLUMNS} FROM announcements WHERE id = $1", announcement_id
        )
        return announcement_of(row) if row else None

    async def sending(self, stopped_since: datetime) -> list[Announcement]:
        rows = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM announcements WHERE status = $1 "
            "OR (status = $2 AND finished_at > $3) ORDER BY id",
            SENDING,
            STOPPED,
            stopped_since,
        )
        return [announcement_of(r) for r in rows]

    async def progress(self, announcement: Announcement) -> Progress:
        row = await self.db.fetchone(
            "SELECT "
            "COUNT(*) FILTER (WHERE sent_at IS NOT NULL) AS sent, "
            "COUNT(*) FILTER (WHERE sent_at IS NULL AND dropped_at IS NOT NULL "
            "                 AND last_error IN ($1, $4)) AS stopped, "
            "COUNT(*) FILTER (WHERE sent_at IS NULL AND dropped_at IS NOT NULL "
            "                 AND last_error LIKE $2) AS blocked, "
            "COUNT(*) FILTER (WHERE sent_at IS NULL AND dropped_at IS NOT NULL) AS dropped, "
            "COUNT(*) FILTER (WHERE sent_at IS NULL AND dropped_at IS NULL) AS pending "
            "FROM outbox WHERE purpose = $3",
            STOPPED_ERROR,
            f"{BLOCKED_ERROR_PREFIX}%",
            announcement_purpose(announcement.id),
            POLL_CLOSED_ERROR,
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
            row = await conn.fetchrow(
                "UPDATE announcements SET status = $1, finished_at = $2 "
                f"WHERE id = $3 AND status = $4 RETURNING {COLUMNS}",
                STOPPED,
                now,
                announcement_id,
                SENDING,
            )
            if row is None:
                return None
            await conn.execute(
                "UPDATE outbox SET dropped_at = $1, last_error = $2 "
                "WHERE purpose = $3 AND sent_at IS NULL AND dropped_at IS NULL",
                now,
                STOPPED_ERROR,
                announcement_purpose(announcement_id),
            )
        return announcement_of(row)

    async def record_shown(
        self, announcement_id: int, shown: str, finished: bool, now: datetime
    ) -> None:
        await self.db.execute(
            "UPDATE announcements SET shown = $1, "
            "status = CASE WHEN $2 AND status = $3 THEN $4 ELSE status END, "
            "finished_at = CASE WHEN $2 AND finished_at IS NULL THEN $5 ELSE finished_at END "
            "WHERE id = $6",
            shown,
            finished,
            SENDING,
            DONE,
            now,
            announcement_id,
        )


def announcement_of(row: asyncpg.Record) -> Announcement:
    return Announcement(
        id=int(row["id"]),
        draft_key=row["draft_key"],
        kind=row["kind"],
        districts=tuple(decode_json(row["districts"])),
        text_kk=row["text_kk"],
        text_ru=row["text_ru"],
        chat_id=int(row["chat_id"]),
        progress_message_id=row["progress_message_id"],
        author_id=int(row["author_id"]),
        author_name=row["author_name"],
        status=row["status"],
        total=int(row["total"]),
        shown=row["shown"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        meeting=_meeting(row),
        poll=_poll(row),
    )


def _poll(row: asyncpg.Record) -> PollDetails | None:
    if row["poll_closes_at"] is None:
        return None
    return PollDetails(
        options_kk=tuple(decode_json(row["poll_options_kk"] or "[]")),
        options_ru=tuple(decode_json(row["poll_options_ru"] or "[]")),
        closes_at=row["poll_closes_at"],
        closed_at=row["poll_closed_at"],
    )


def _meeting(row: asyncpg.Record) -> MeetingDetails | None:
    if row["meeting_at"] is None:
        return None
    return MeetingDetails(
        who=row["meeting_who"] or "",
        place=row["meeting_place"] or "",
        at=row["meeting_at"],
        topics=tuple(decode_json(row["meeting_topics"] or "[]")),
        cancelled_at=row["meeting_cancelled_at"],
        attended=row["meeting_attended"],
        attended_by_name=row["meeting_attended_by_name"],
        attended_at=row["meeting_attended_at"],
    )


def _move(row: asyncpg.Record) -> MeetingMove:
    return MeetingMove(
        id=int(row["id"]),
        meeting_id=int(row["announcement_id"]),
        draft_key=row["draft_key"],
        old_at=row["old_at"],
        new_at=row["new_at"],
        old_place=row["old_place"],
        new_place=row["new_place"],
        told=int(row["told"]),
        moved_by=int(row["moved_by"]),
        moved_by_name=row["moved_by_name"],
        moved_at=row["moved_at"],
    )


class PostgresMeetingStore:
    """`MeetingStore` on PostgreSQL; what each method promises is written there."""

    def __init__(self, db: PostgresDatabase) -> None:
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
            # FOR SHARE waits for a cancellation in progress and reads the meeting as it
            # committed; a cancellation after this waits for the registration, and sees it.
            open_ = await conn.fetchval(
                "SELECT id FROM announcements WHERE id = $1 AND meeting_at IS NOT NULL "
                "AND meeting_cancelled_at IS NULL FOR SHARE",
                meeting_id,
            )
            if open_ is None:
                return False
            status = await conn.execute(
                "INSERT INTO meeting_attendees (announcement_id, citizen_id, access, created_at) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT (announcement_id, citizen_id) DO NOTHING",
                meeting_id,
                citizen_id,
                encode_json(list(access)),
                now,
            )
            added = status == "INSERT 0 1"
            if added and then is not None:
                await then(conn)
        return added

    async def unregister(self, meeting_id: int, citizen_id: int, now: datetime) -> bool:
        async with self.db.transaction() as conn:
            # FOR SHARE: a move in progress (it reads who comes, then queues their new
            # reminders) is waited for, so its reminder for this citizen is withdrawn here; a
            # move after this waits, and finds them gone.
            await conn.execute("SELECT 1 FROM announcements WHERE id = $1 FOR SHARE", meeting_id)
            removed = await conn.execute(
                "DELETE FROM meeting_attendees WHERE announcement_id = $1 AND citizen_id = $2",
                meeting_id,
                citizen_id,
            )
            await conn.execute(
                "UPDATE outbox SET dropped_at = $1, last_error = $2 WHERE purpose = $3 "
                "AND sent_at IS NULL AND dropped_at IS NULL",
                now,
                NOT_COMING,
                meeting_reminder_purpose(meeting_id, citizen_id),
            )
        return rowcount(removed) == 1

    async def attendance(self, meeting_id: int, citizen_id: int) -> Attendance | None:
        row = await self.db.fetchone(
            "SELECT access, created_at FROM meeting_attendees "
            "WHERE announcement_id = $1 AND citizen_id = $2",
            meeting_id,
            citizen_id,
        )
        if row is None:
            return None
        return Attendance(
            meeting_id, citizen_id, tuple(decode_json(row["access"])), row["created_at"]
        )

    async def ask(
        self, meeting_id: int, citizen_id: int, topic: int | None, text: str, now: datetime
    ) -> MeetingQuestion:
        async with self.db.transaction() as conn:
            asked = await conn.fetchrow(
                "SELECT id, topic, created_at FROM meeting_questions WHERE announcement_id = $1 "
                "AND citizen_id = $2 AND text = $3 ORDER BY id LIMIT 1",
                meeting_id,
                citizen_id,
                text,
            )
            if asked is not None:
                return MeetingQuestion(
                    int(asked["id"]), meeting_id, asked["topic"], text, asked["created_at"]
                )
            question_id = await conn.fetchval(
                "INSERT INTO meeting_questions (announcement_id, citizen_id, topic, text, "
                "created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                meeting_id,
                citizen_id,
                topic,
                text,
                now,
            )
        return MeetingQuestion(int(question_id), meeting_id, topic, text, now)

    async def upcoming(
        self, since: datetime, limit: int, chat_id: int | None = None
    ) -> list[MeetingFigures]:
        meetings = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM announcements WHERE meeting_at >= $1 "
            "AND meeting_cancelled_at IS NULL AND ($3::bigint IS NULL OR chat_id = $3) "
            "ORDER BY meeting_at, id LIMIT $2",
            since,
            limit,
            chat_id,
        )
        return [await self._figures(announcement_of(row)) for row in meetings]

    async def past(
        self, since: datetime, until: datetime, limit: int, chat_id: int | None = None
    ) -> list[MeetingFigures]:
        meetings = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM announcements WHERE meeting_at >= $1 AND meeting_at < $2 "
            "AND meeting_cancelled_at IS NULL AND ($4::bigint IS NULL OR chat_id = $4) "
            "ORDER BY meeting_at DESC, id DESC LIMIT $3",
            since,
            until,
            limit,
            chat_id,
        )
        return [await self._figures(announcement_of(row)) for row in meetings]

    async def _figures(self, meeting: Announcement) -> MeetingFigures:
        coming = await self.db.fetchall(
            "SELECT access FROM meeting_attendees WHERE announcement_id = $1", meeting.id
        )
        access: dict[str, int] = {}
        for r in coming:
            for code in decode_json(r["access"]):
                access[code] = access.get(code, 0) + 1
        asked = await self.db.fetchall(
            "SELECT id, topic, text, created_at FROM meeting_questions "
            "WHERE announcement_id = $1 ORDER BY id",
            meeting.id,
        )
        questions = tuple(
            MeetingQuestion(int(r["id"]), meeting.id, r["topic"], r["text"], r["created_at"])
            for r in asked
        )
        return MeetingFigures(meeting, len(coming), access, questions)

    async def move(
        self, new: NewMeetingMove, write: WriteMove
    ) -> tuple[Announcement, MeetingMove, bool] | None:
        async with self.db.transaction() as conn:
            # The meeting's row locked first: a second «Move» waits here, then finds the move.
            found = await conn.fetchrow(
                f"SELECT {COLUMNS} FROM announcements WHERE id = $1 FOR UPDATE", new.meeting_id
            )
            if found is None:
                return None
            earlier = await conn.fetchrow(
                f"SELECT {MOVE_COLUMNS} FROM meeting_moves WHERE draft_key = $1", new.draft_key
            )
            if earlier is not None:
                return announcement_of(found), _move(earlier), False
            old = announcement_of(found).meeting
            if old is None or old.cancelled_at is not None or old.at <= new.moved_at:
                return None
            place = new.new_place or old.place
            moved_row = await conn.fetchrow(
                "INSERT INTO meeting_moves (announcement_id, draft_key, old_at, new_at, "
                "old_place, new_place, told, moved_by, moved_by_name, moved_at) "
                f"VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9) RETURNING {MOVE_COLUMNS}",
                new.meeting_id, new.draft_key, old.at, new.new_at, old.place, place,
                new.moved_by, new.moved_by_name, new.moved_at,
            )  # fmt: skip
            updated = await conn.fetchrow(
                "UPDATE announcements SET meeting_at = $1, meeting_place = $2 WHERE id = $3 "
                f"RETURNING {COLUMNS}",
                new.new_at,
                place,
                new.meeting_id,
            )
            assert moved_row is not None and updated is not None
            meeting = announcement_of(updated)
            rows = await conn.fetch(
                "SELECT a.citizen_id, c.language, c.unreachable FROM meeting_attendees a "
                "JOIN citizens c ON c.id = a.citizen_id "
                "WHERE a.announcement_id = $1 ORDER BY a.citizen_id FOR SHARE OF c",
                new.meeting_id,
            )
            # Every reminder of the old time goes, in this transaction (one left by a citizen
            # who withdrew included, as when calling it off): `write` queues the new.
            low, high = meeting_reminders(new.meeting_id)
            await conn.execute(
                "UPDATE outbox SET dropped_at = $1, last_error = $2 WHERE purpose >= $3 "
                "AND purpose < $4 AND sent_at IS NULL AND dropped_at IS NULL",
                new.moved_at,
                MOVED_ERROR,
                low,
                high,
            )
            who = [
                Subscriber(int(r["citizen_id"]), r["language"] or "", "")
                for r in rows
                if not r["unreachable"]
            ]
            move = _move(moved_row)
            told = await write(conn, meeting, move, who)
            await conn.execute("UPDATE meeting_moves SET told = $1 WHERE id = $2", told, move.id)
        return meeting, replace(move, told=told), True

    async def move_of(self, draft_key: str) -> MeetingMove | None:
        row = await self.db.fetchone(
            f"SELECT {MOVE_COLUMNS} FROM meeting_moves WHERE draft_key = $1", draft_key
        )
        return _move(row) if row is not None else None

    async def record_attended(
        self, meeting_id: int, count: int, by: int, by_name: str, now: datetime
    ) -> Announcement | None:
        row = await self.db.fetchone(
            "UPDATE announcements SET meeting_attended = $1, meeting_attended_by = $2, "
            "meeting_attended_by_name = $3, meeting_attended_at = $4 WHERE id = $5 "
            "AND meeting_at IS NOT NULL AND meeting_at <= $4 "
            f"AND meeting_cancelled_at IS NULL RETURNING {COLUMNS}",
            count,
            by,
            by_name,
            now,
            meeting_id,
        )
        return announcement_of(row) if row is not None else None

    async def cancel(
        self, meeting_id: int, now: datetime, write: WriteMessages
    ) -> tuple[Announcement, list[int]] | None:
        async with self.db.transaction() as conn:
            row = await conn.fetchrow(
                "UPDATE announcements SET meeting_cancelled_at = $1 WHERE id = $2 "
                f"AND meeting_at IS NOT NULL AND meeting_cancelled_at IS NULL RETURNING {COLUMNS}",
                now,
                meeting_id,
            )
            if row is None:
                return None
            meeting = announcement_of(row)
            # FOR SHARE OF c: as an announcement's subscribers, against a /forget under way.
            rows = await conn.fetch(
                "SELECT a.citizen_id, c.language, c.unreachable FROM meeting_attendees a "
                "JOIN citizens c ON c.id = a.citizen_id "
                "WHERE a.announcement_id = $1 ORDER BY a.citizen_id FOR SHARE OF c",
                meeting_id,
            )
            who = [
                Subscriber(int(r["citizen_id"]), r["language"] or "", "")
                for r in rows
                if not r["unreachable"]
            ]
            # The reminders go with the meeting, in this transaction (one who withdrew and
            # whose reminder is somehow still queued included).
            low, high = meeting_reminders(meeting_id)
            await conn.execute(
                "UPDATE outbox SET dropped_at = $1, last_error = $2 WHERE purpose >= $3 "
                "AND purpose < $4 AND sent_at IS NULL AND dropped_at IS NULL",
                now,
                MEETING_CANCELLED,
                low,
                high,
            )
            await write(conn, meeting, who)
        return meeting, [int(r["citizen_id"]) for r in rows]
