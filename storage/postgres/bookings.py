"""`BookingStore` on PostgreSQL.

SQLite decides about places under BEGIN IMMEDIATE: nobody else writes between counting the
places and taking one. Here every decision about a reception's places (book, move, join the
waitlist, offer a place, call a session off) first takes a transaction-scoped advisory lock on
the reception, so the decisions of one reception are made one at a time across every instance,
and those of different receptions side by side. What only ever frees places (a citizen's own
cancel, expiring offers) is a single guarded UPDATE and needs no lock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from storage.bookings import (
    ALREADY_BOOKED,
    BOOKED,
    CANCELLED,
    DUPLICATE,
    FULL,
    MARKABLE,
    NOT_FOUND,
    OFFERED,
    OK,
    WAITING,
    Booking,
    BookResult,
    OfferThen,
    WaitlistOffer,
)
from storage.codec import decode_json, encode_json
from storage.postgres.database import Connection, PostgresDatabase, rowcount

# The first key of the advisory locks on receptions (the second is the code's hash).
RECEPTION_LOCK = 0x4C42
OPEN = (WAITING, OFFERED)


class PostgresBookingStore:
    """`BookingStore` on PostgreSQL; what each method promises is written there."""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    # --- taking a place -------------------------------------------------------------------

    async def book(
        self,
        *,
        draft_key: str,
        citizen_id: int | None,
        reception: str,
        slot_start: datetime,
        session_day: date,
        capacity: int,
        topic: str | None,
        appeal_id: int | None,
        access: list[str],
        access_other: str | None,
        contact_name: str | None,
        contact_phone: str | None,
        language: str,
        now: datetime,
        also: Callable[[Connection, Booking], Awaitable[None]] | None = None,
    ) -> BookResult:
        async with self.db.transaction() as conn:
            await _lock(conn, reception)
            earlier = await _one(conn, "SELECT * FROM bookings WHERE draft_key = $1", draft_key)
            if earlier is not None:
                return BookResult(earlier, DUPLICATE)
            held = await _held_in_session(conn, citizen_id, reception, session_day)
            if held is not None:
                return BookResult(held, ALREADY_BOOKED)
            if await _called_off(conn, reception, session_day):
                return BookResult(None, FULL)
            if await _taken(conn, reception, slot_start, now, citizen_id) >= capacity:
                return BookResult(None, FULL)
            if citizen_id is not None:
                # The foreign key needs the citizen; normally /start created them already.
                await conn.execute(
                    "INSERT INTO citizens (id, language, created_at) VALUES ($1, $2, $3) "
                    "ON CONFLICT (id) DO NOTHING",
                    citizen_id,
                    language,
                    now,
                )
            booking = await _insert(
                conn,
                draft_key=draft_key,
                citizen_id=citizen_id,
                reception=reception,
                slot_start=slot_start,
                session_day=session_day,
                topic=topic,
                appeal_id=appeal_id,
                access=encode_json(list(access)),
                access_other=access_other,
                contact_name=contact_name,
                contact_phone=contact_phone,
                language=language,
                created_at=now,
            )
            await _close_waitlist(conn, citizen_id, reception, session_day, now)
            if also is not None:
                await also(conn, booking)
        return BookResult(booking, OK)

    async def move(
        self,
        booking_id: int,
        citizen_id: int,
        new_slot_start: datetime,
        new_session_day: date,
        capacity: int,
        now: datetime,
        also: Callable[[Connection, Booking, Booking], Awaitable[None]] | None = None,
    ) -> BookResult:
        async with self.db.transaction() as conn:
            reception = await conn.fetchval(
                "SELECT reception FROM bookings WHERE id = $1", booking_id
            )
            if reception is None:
                return BookResult(None, NOT_FOUND)
            await _lock(conn, reception)
            old = await _one(conn, "SELECT * FROM bookings WHERE id = $1", booking_id)
            if old is None or old.citizen_id != citizen_id:
                return BookResult(None, NOT_FOUND)
            if old.status != BOOKED:
                successor = await _one(
                    conn, "SELECT * FROM bookings WHERE moved_from = $1", booking_id
                )
                if successor is not None and successor.slot_start == new_slot_start:
                    return BookResult(successor, DUPLICATE)
                return BookResult(None, NOT_FOUND)
            if old.slot_start <= now:
                return BookResult(None, NOT_FOUND)
            if old.slot_start == new_slot_start:
                return BookResult(old, OK)
            held = await _held_in_session(conn, citizen_id, old.reception, new_session_day)
            if held is not None and held.id != old.id:
                return BookResult(held, ALREADY_BOOKED)
            if await _called_off(conn, old.reception, new_session_day):
                return BookResult(None, FULL)
            if await _taken(conn, old.reception, new_slot_start, now, citizen_id) >= capacity:
                return BookResult(None, FULL)
            # Cancel first: the partial unique index allows one booked row per session.
            await conn.execute(
                "UPDATE bookings SET status = $1, cancelled_at = $2 WHERE id = $3",
                CANCELLED,
                now,
                old.id,
            )
            booking = await _insert(
                conn,
                draft_key=None,
                citizen_id=citizen_id,
                reception=old.reception,
                slot_start=new_slot_start,
                session_day=new_session_day,
                topic=old.topic,
                appeal_id=old.appeal_id,
                access=encode_json(old.access),
                access_other=old.access_other,
                contact_name=old.contact_name,
                contact_phone=old.contact_phone,
                language=old.language,
                created_at=now,
                moved_from=old.id,
            )
            await _close_waitlist(conn, citizen_id, old.reception, new_session_day, now)
            if also is not None:
                await also(conn, old, booking)
        return BookResult(booking, OK)

    async def cancel(
        self,
        booking_id: int,
        citizen_id: int,
        now: datetime,
        also: Callable[[Connection, Booking], Awaitable[None]] | None = None,
    ) -> Booking | None:
        async with self.db.transaction() as conn:
            row = await conn.fetchrow(
                "UPDATE bookings SET status = $1, cancelled_at = $2 WHERE id = $3 "
                "AND citizen_id = $4 AND status = $5 AND slot_start > $2 RETURNING *",
                CANCELLED,
                now,
                booking_id,
                citizen_id,
                BOOKED,
            )
            if row is None:
                return None
            booking = _booking(row)
            if also is not None:
                await also(conn, booking)
        return booking

    async def mark(self, booking_id: int, status: str) -> Booking | None:
        if status not in MARKABLE:
            raise ValueError(f"a booking can be marked {' or '.join(MARKABLE)}, not {status!r}")
        row = await self.db.fetchone(
            "UPDATE bookings SET status = $1 WHERE id = $2 AND status = ANY($3::text[]) "
            "RETURNING *",
            status,
            booking_id,
            [BOOKED, *MARKABLE],
        )
        return _booking(row) if row is not None else None

    # --- reading --------------------------------------------------------------------------

    async def get(self, booking_id: int) -> Booking | None:
        row = await self.db.fetchone("SELECT * FROM bookings WHERE id = $1", booking_id)
        return _booking(row) if row is not None else None

    async def by_draft(self, draft_key: str) -> Booking | None:
        row = await self.db.fetchone("SELECT * FROM bookings WHERE draft_key = $1", draft_key)
        return _booking(row) if row is not None else None

    async def booked_counts(
        self, reception: str, slot_starts: list[datetime], now: datetime | None = None
    ) -> dict[datetime, int]:
        if not slot_starts:
            return {}
        # One range scan of bookings_by_slot instead of a list of any length. Aware datetimes
        # of the same instant are equal (and hash alike) whatever their zone, so the counts
        # come back under the caller's own keys.
        low, high = min(slot_starts), max(slot_starts)
        rows = await self.db.fetchall(
            "SELECT slot_start, count(*) AS n FROM bookings "
            "WHERE reception = $1 AND slot_start BETWEEN $2 AND $3 AND status = $4 "
            "GROUP BY slot_start",
            reception,
            low,
            high,
            BOOKED,
        )
        if now is not None:
            rows += await self.db.fetchall(
                "SELECT slot_start, count(*) AS n FROM waitlist "
                "WHERE reception = $1 AND status = $2 AND expires_at > $3 "
                "AND slot_start BETWEEN $4 AND $5 GROUP BY slot_start",
                reception,
                OFFERED,
                now,
                low,
                high,
            )
        counts = dict.fromkeys(slot_starts, 0)
        for row in rows:
            if row["slot_start"] in counts:
                counts[row["slot_start"]] += row["n"]
        return counts

    async def citizen_upcoming(self, citizen_id: int, now: datetime) -> list[Booking]:
        rows = await self.db.fetchall(
            "SELECT * FROM bookings WHERE citizen_id = $1 AND status = $2 AND slot_start >= $3 "
            "ORDER BY slot_start, id",
            citizen_id,
            BOOKED,
            now,
        )
        return [_booking(r) for r in rows]

    async def session_bookings(
        self, reception: str, session_day: date, statuses: Collection[str] | None = None
    ) -> list[Booking]:
        rows = await self.db.fetchall(
            "SELECT * FROM bookings WHERE reception = $1 AND session_day = $2 "
            "ORDER BY slot_start, id",
            reception,
            session_day,
        )
        bookings = [_booking(r) for r in rows]
        return [b for b in bookings if statuses is None or b.status in statuses]

    async def places_between(self, first: date, last: date) -> list[Booking]:
        rows = await self.db.fetchall(
            "SELECT * FROM bookings WHERE session_day BETWEEN $1 AND $2 AND status != $3 "
            "ORDER BY slot_start, id",
            first,
            last,
            CANCELLED,
        )
        return [_booking(r) for r in rows]

    # --- sessions called off --------------------------------------------------------------

    async def cancel_session(
        self,
        reception: str,
        session_day: date,
        now: datetime,
        then: Callable[[Connection, list[Booking]], Awaitable[None]] | None = None,
    ) -> list[Booking]:
        async with self.db.transaction() as conn:
            await _lock(conn, reception)
            await conn.execute(
                "INSERT INTO reception_cancellations (reception, session_day, at) "
                "VALUES ($1, $2, $3) ON CONFLICT (reception, session_day) DO NOTHING",
                reception,
                session_day,
                now,
            )
            rows = await conn.fetch(
                "UPDATE bookings SET status = $1, cancelled_at = $2 "
                "WHERE reception = $3 AND session_day = $4 AND status = $5 RETURNING *",
                CANCELLED,
                now,
                reception,
                session_day,
                BOOKED,
            )
            await conn.execute(
                "UPDATE waitlist SET status = 'dropped', closed_at = $1 "
                "WHERE reception = $2 AND session_day = $3 AND status = ANY($4::text[])",
                now,
                reception,
                session_day,
                list(OPEN),
            )
            cancelled = sorted((_booking(r) for r in rows), key=lambda b: (b.slot_start, b.id))
            if then is not None and cancelled:
                await then(conn, cancelled)
        return cancelled

    async def add_session(self, reception: str, session_day: date, by: int, now: datetime) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO reception_extra_days (reception, session_day, added_by, at) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                reception,
                session_day,
                by,
                now,
            )
            await conn.execute(
                "DELETE FROM reception_cancellations WHERE reception = $1 AND session_day = $2",
                reception,
                session_day,
            )

    async def extra_days(self, reception: str) -> frozenset[date]:
        rows = await self.db.fetchall(
            "SELECT session_day FROM reception_extra_days WHERE reception = $1", reception
        )
        return frozenset(r["session_day"] for r in rows)

    async def cancelled_days(self, reception: str) -> frozenset[date]:
        rows = await self.db.fetchall(
            "SELECT session_day FROM reception_cancellations WHERE reception = $1", reception
        )
        return frozenset(r["session_day"] for r in rows)

    async def extra_days_by_reception(self) -> dict[str, frozenset[date]]:
        return await self._days_by_reception("reception_extra_days")

    async def cancelled_days_by_reception(self) -> dict[str, frozenset[date]]:
        return await self._days_by_reception("reception_cancellations")

    async def _days_by_reception(self, table: str) -> dict[str, frozenset[date]]:
        # A few rows a month (officials add or call off a session by hand): read them all.
        rows = await self.db.fetchall(f"SELECT reception, session_day FROM {table}")
        days: dict[str, set[date]] = {}
        for row in rows:
            days.setdefault(row["reception"], set()).add(row["session_day"])
        return {code: frozenset(found) for code, found in days.items()}

    # --- waitlist -------------------------------------------------------------------------

    async def join_waitlist(
        self, citizen_id: int, reception: str, session_day: date, now: datetime
    ) -> bool:
        async with self.db.transaction() as conn:
            await _lock(conn, reception)
            if await _held_in_session(conn, citizen_id, reception, session_day) is not None:
                return False
            called_off = await conn.fetchval(
                "SELECT 1 FROM reception_cancellations WHERE reception = $1 AND session_day = $2",
                reception,
                session_day,
            )
            if called_off is not None:
                return False
            await conn.execute(
                "INSERT INTO citizens (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                citizen_id,
                now,
            )
            status = await conn.execute(
                "INSERT INTO waitlist (citizen_id, reception, session_day, joined_at) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                citizen_id,
                reception,
                session_day,
                now,
            )
            return rowcount(status) == 1

    async def leave_waitlist(
        self, citizen_id: int, reception: str, session_day: date, now: datetime
    ) -> bool:
        left = await self.db.execute(
            "UPDATE waitlist SET status = 'left', closed_at = $1 WHERE citizen_id = $2 "
            "AND reception = $3 AND session_day = $4 AND status = ANY($5::text[])",
            now,
            citizen_id,
            reception,
            session_day,
            list(OPEN),
        )
        return left > 0

    async def next_in_line(self, reception: str, session_day: date) -> int | None:
        found = await self.db.fetchval(
            "SELECT citizen_id FROM waitlist WHERE reception = $1 AND session_day = $2 "
            "AND status = $3 ORDER BY id LIMIT 1",
            reception,
            session_day,
            WAITING,
        )
        return int(found) if found is not None else None

    async def waiting_citizens(self, reception: str, session_day: date) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT citizen_id FROM waitlist WHERE reception = $1 AND session_day = $2 "
            "AND status = ANY($3::text[]) ORDER BY id",
            reception,
            session_day,
            list(OPEN),
        )
        return [int(r["citizen_id"]) for r in rows]

    async def waiting_sessions(self, first_day: date) -> list[tuple[str, date]]:
        rows = await self.db.fetchall(
            "SELECT DISTINCT reception, session_day FROM waitlist "
            "WHERE status = $1 AND session_day >= $2 ORDER BY session_day, reception",
            WAITING,
            first_day,
        )
        return [(r["reception"], r["session_day"]) for r in rows]

    async def offer(
        self,
        reception: str,
        session_day: date,
        slot_start: datetime,
        capacity: int,
        hold: timedelta,
        now: datetime,
        *,
        then: OfferThen | None = None,
    ) -> WaitlistOffer | None:
        # Lock order: the reception's advisory lock, then the offered citizen's row (FOR
        # SHARE), then their waiting-list row (the UPDATE); book() too takes the reception
        # before the citizen (its foreign key). /forget locks the citizen's row first and
        # takes no reception lock (it gives the citizen's places back in transactions of
        # their own before it), and nothing here holds a row of the citizen's while waiting
        # for their row: no cycle, whichever starts first.
        async with self.db.transaction() as conn:
            await _lock(conn, reception)
            if await _taken(conn, reception, slot_start, now, None) >= capacity:
                return None
            passed: list[int] = []  # waiting-list rows found gone or closed meanwhile
            while True:
                first = await conn.fetchrow(
                    "SELECT id, citizen_id FROM waitlist WHERE reception = $1 "
                    "AND session_day = $2 AND status = $3 AND id <> ALL($4::bigint[]) "
                    "ORDER BY id LIMIT 1",
                    reception,
                    session_day,
                    WAITING,
                    passed,
                )
                if first is None:
                    return None
                # FOR SHARE, as an announcement reads its subscribers: a /forget under way
                # is waited for, and then the citizen is gone (their waiting-list rows with
                # them) and the place passes to the next in line. Read before their row is
                # written: else an erasure between the two would leave the offer and its
                # message for a citizen it erased (its outbox DELETE missed them, uncommitted).
                citizen = await conn.fetchrow(
                    "SELECT language FROM citizens WHERE id = $1 FOR SHARE", first["citizen_id"]
                )
                if citizen is not None:
                    row = await conn.fetchrow(
                        "UPDATE waitlist SET status = $1, slot_start = $2, offered_at = $3, "
                        "expires_at = $4 WHERE id = $5 AND status = $6 RETURNING *",
                        OFFERED,
                        slot_start,
                        now,
                        now + hold,
                        first["id"],
                        WAITING,
                    )
                    if row is not None:
                        language: str | None = citizen["language"]
                        break
                # Erased, or left the list (leave_waitlist takes no lock): the next one.
                passed.append(int(first["id"]))
            offer = _offer(row)
            if then is not None:
                await then(conn, offer, language)
        return offer

    async def offers_held_by(self, citizen_id: int, now: datetime) -> list[WaitlistOffer]:
        rows = await self.db.fetchall(
            "SELECT * FROM waitlist WHERE citizen_id = $1 AND status = $2 AND expires_at > $3 "
            "ORDER BY id",
            citizen_id,
            OFFERED,
            now,
        )
        return [_offer(row) for row in rows]

    async def held_offer(self, offer_id: int, now: datetime) -> WaitlistOffer | None:
        row = await self.db.fetchone(
            "SELECT * FROM waitlist WHERE id = $1 AND status = $2 AND expires_at > $3",
            offer_id,
            OFFERED,
            now,
        )
        return _offer(row) if row is not None else None

    async def citizen_language(self, citizen_id: int) -> str | None:
        language: str | None = await self.db.fetchval(
            "SELECT language FROM citizens WHERE id = $1", citizen_id
        )
        return language

    async def expire_offers(self, now: datetime) -> list[WaitlistOffer]:
        """One statement: of two instances ticking at once, each expired offer is returned
        to one of them (the other's UPDATE finds its status changed), so the freed place is
        offered on once."""
        rows = await self.db.fetchall(
            "UPDATE waitlist SET status = 'expired', closed_at = $1 "
            "WHERE status = $2 AND expires_at <= $1 RETURNING *",
            now,
            OFFERED,
        )
        return [_offer(r) for r in sorted(rows, key=lambda r: r["id"])]


# --- inside a transaction ---------------------------------------------------------------------


async def _lock(conn: Connection, reception: str) -> None:
    """Until this transaction ends, no other decides about this reception's places."""
    await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", RECEPTION_LOCK, reception)


async def _one(conn: Connection, sql: str, *args: Any) -> Booking | None:
    row = await conn.fetchrow(sql, *args)
    return _booking(row) if row is not None else None


async def _held_in_session(
    conn: Connection, citizen_id: int | None, reception: str, session_day: date
) -> Booking | None:
    if citizen_id is None:
        return None
    return await _one(
        conn,
        "SELECT * FROM bookings WHERE citizen_id = $1 AND reception = $2 AND session_day = $3 "
        "AND status = $4",
        citizen_id,
        reception,
        session_day,
        BOOKED,
    )


async def _called_off(conn: Connection, reception: str, session_day: date) -> bool:
    """A session called off takes no place, whatever held one for the caller (an offer from
    the waiting list that the cancellation closed a moment before the confirm)."""
    found = await conn.fetchval(
        "SELECT 1 FROM reception_cancellations WHERE reception = $1 AND session_day = $2",
        reception,
        session_day,
    )
    return found is not None


async def _taken(
    conn: Connection,
    reception: str,
    slot_start: datetime,
    now: datetime,
    citizen_id: int | None,
) -> int:
    """Booked places of the slot plus places held for other citizens' waitlist offers."""
    taken = await conn.fetchval(
        "SELECT (SELECT count(*) FROM bookings "
        "        WHERE reception = $1 AND slot_start = $2 AND status = $3) "
        "     + (SELECT count(*) FROM waitlist WHERE reception = $1 AND slot_start = $2 "
        "        AND status = $4 AND expires_at > $5 AND citizen_id IS DISTINCT FROM $6)",
        reception,
        slot_start,
        BOOKED,
        OFFERED,
        now,
        citizen_id,
    )
    return int(taken)


async def _insert(conn: Connection, **values: Any) -> Booking:
    columns = ", ".join(values)
    marks = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    row = await conn.fetchrow(
        f"INSERT INTO bookings ({columns}) VALUES ({marks}) RETURNING *", *values.values()
    )
    assert row is not None
    return _booking(row)


async def _close_waitlist(
    conn: Connection,
    citizen_id: int | None,
    reception: str,
    session_day: date,
    now: datetime,
) -> None:
    # A place in the session ends the citizen's wait for it, and releases a held offer.
    if citizen_id is None:
        return
    await conn.execute(
        "UPDATE waitlist SET status = 'accepted', closed_at = $1 WHERE citizen_id = $2 "
        "AND reception = $3 AND session_day = $4 AND status = ANY($5::text[])",
        now,
        citizen_id,
        reception,
        session_day,
        list(OPEN),
    )


def _offer(row: asyncpg.Record) -> WaitlistOffer:
    return WaitlistOffer(
        row["id"],
        row["citizen_id"],
        row["reception"],
        row["session_day"],
        row["slot_start"],
        row["expires_at"],
    )


def _booking(row: asyncpg.Record) -> Booking:
    return Booking(
        id=row["id"],
        citizen_id=row["citizen_id"],
        reception=row["reception"],
        slot_start=row["slot_start"],
        session_day=row["session_day"],
        status=row["status"],
        topic=row["topic"],
        appeal_id=row["appeal_id"],
        access=list(decode_json(row["access"] or "[]")),
        access_other=row["access_other"],
        contact_name=row["contact_name"],
        contact_phone=row["contact_phone"],
        language=row["language"],
        created_at=row["created_at"],
        cancelled_at=row["cancelled_at"],
        moved_from=row["moved_from"],
    )
