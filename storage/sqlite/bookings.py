"""`BookingStore` on SQLite: each decision about a place in one BEGIN IMMEDIATE transaction,
which takes the database's write lock before the first read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from datetime import date, datetime, timedelta
from typing import Any

import aiosqlite

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
from storage.codec import (
    decode_instant,
    decode_json,
    decode_optional_instant,
    encode_instant,
    encode_json,
)
from storage.sqlite.database import SQLiteDatabase
from storage.sqlite.transaction import Transaction


class SQLiteBookingStore:
    """`BookingStore` on SQLite; what each method promises is written there."""

    def __init__(self, db: SQLiteDatabase) -> None:
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
        also: Callable[[Transaction, Booking], Awaitable[None]] | None = None,
    ) -> BookResult:
        async with self.db.transaction(quick=True) as conn:
            earlier = await _one(conn, "SELECT * FROM bookings WHERE draft_key = ?", (draft_key,))
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
                    "INSERT INTO citizens (id, language, created_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (id) DO NOTHING",
                    (citizen_id, language, encode_instant(now)),
                )
            booking_id = await _insert(
                conn,
                draft_key=draft_key,
                citizen_id=citizen_id,
                reception=reception,
                slot_start=encode_instant(slot_start),
                session_day=session_day.isoformat(),
                topic=topic,
                appeal_id=appeal_id,
                access=encode_json(list(access)),
                access_other=access_other,
                contact_name=contact_name,
                contact_phone=contact_phone,
                language=language,
                created_at=encode_instant(now),
            )
            await _close_waitlist(conn, citizen_id, reception, session_day, now)
            booking = await _one(conn, "SELECT * FROM bookings WHERE id = ?", (booking_id,))
            if also is not None and booking is not None:
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
        also: Callable[[Transaction, Booking, Booking], Awaitable[None]] | None = None,
    ) -> BookResult:
        async with self.db.transaction(quick=True) as conn:
            old = await _one(conn, "SELECT * FROM bookings WHERE id = ?", (booking_id,))
            if old is None or old.citizen_id != citizen_id:
                return BookResult(None, NOT_FOUND)
            if old.status != BOOKED:
                successor = await _one(
                    conn, "SELECT * FROM bookings WHERE moved_from = ?", (booking_id,)
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
                "UPDATE bookings SET status = ?, cancelled_at = ? WHERE id = ?",
                (CANCELLED, encode_instant(now), old.id),
            )
            new_id = await _insert(
                conn,
                draft_key=None,
                citizen_id=citizen_id,
                reception=old.reception,
                slot_start=encode_instant(new_slot_start),
                session_day=new_session_day.isoformat(),
                topic=old.topic,
                appeal_id=old.appeal_id,
                access=encode_json(old.access),
                access_other=old.access_other,
                contact_name=old.contact_name,
                contact_phone=old.contact_phone,
                language=old.language,
                created_at=encode_instant(now),
                moved_from=old.id,
            )
            await _close_waitlist(conn, citizen_id, old.reception, new_session_day, now)
            booking = await _one(conn, "SELECT * FROM bookings WHERE id = ?", (new_id,))
            if also is not None and booking is not None:
                await also(conn, old, booking)
        return BookResult(booking, OK)

    async def cancel(
        self,
        booking_id: int,
        citizen_id: int,
        now: datetime,
        also: Callable[[Transaction, Booking], Awaitable[None]] | None = None,
    ) -> Booking | None:
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE bookings SET status = ?, cancelled_at = ? "
                "WHERE id = ? AND citizen_id = ? AND status = ? AND slot_start > ?",
                (
                    CANCELLED,
                    encode_instant(now),
                    booking_id,
                    citizen_id,
                    BOOKED,
                    encode_instant(now),
                ),
            )
            if cur.rowcount == 0:
                return None
            booking = await _one(conn, "SELECT * FROM bookings WHERE id = ?", (booking_id,))
            if also is not None and booking is not None:
                await also(conn, booking)
            return booking

    async def mark(self, booking_id: int, status: str) -> Booking | None:
        if status not in MARKABLE:
            raise ValueError(f"a booking can be marked {' or '.join(MARKABLE)}, not {status!r}")
        marks = ", ".join("?" for _ in (BOOKED, *MARKABLE))
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                f"UPDATE bookings SET status = ? WHERE id = ? AND status IN ({marks})",
                (status, booking_id, BOOKED, *MARKABLE),
            )
            if cur.rowcount == 0:
                return None
            return await _one(conn, "SELECT * FROM bookings WHERE id = ?", (booking_id,))

    # --- reading --------------------------------------------------------------------------

    async def get(self, booking_id: int) -> Booking | None:
        row = await self.db.fetchone("SELECT * FROM bookings WHERE id = ?", (booking_id,))
        return _booking(row) if row is not None else None

    async def by_draft(self, draft_key: str) -> Booking | None:
        row = await self.db.fetchone("SELECT * FROM bookings WHERE draft_key = ?", (draft_key,))
        return _booking(row) if row is not None else None

    async def booked_counts(
        self, reception: str, slot_starts: list[datetime], now: datetime | None = None
    ) -> dict[datetime, int]:
        if not slot_starts:
            return {}
        keys = {encode_instant(s): s for s in slot_starts}
        # One range scan of bookings_by_slot instead of an IN list of any length.
        low, high = min(keys), max(keys)
        rows = await self.db.fetchall(
            "SELECT slot_start, COUNT(*) AS n FROM bookings "
            "WHERE reception = ? AND slot_start BETWEEN ? AND ? AND status = ? "
            "GROUP BY slot_start",
            (reception, low, high, BOOKED),
            quick=True,
        )
        if now is not None:
            rows += await self.db.fetchall(
                "SELECT slot_start, COUNT(*) AS n FROM waitlist "
                "WHERE reception = ? AND status = ? AND expires_at > ? "
                "AND slot_start BETWEEN ? AND ? GROUP BY slot_start",
                (reception, OFFERED, encode_instant(now), low, high),
                quick=True,
            )
        counts = dict.fromkeys(slot_starts, 0)
        for row in rows:
            if row["slot_start"] in keys:
                counts[keys[row["slot_start"]]] += row["n"]
        return counts

    async def citizen_upcoming(self, citizen_id: int, now: datetime) -> list[Booking]:
        rows = await self.db.fetchall(
            "SELECT * FROM bookings WHERE citizen_id = ? AND status = ? AND slot_start >= ? "
            "ORDER BY slot_start, id",
            (citizen_id, BOOKED, encode_instant(now)),
            quick=True,
        )
        return [_booking(r) for r in rows]

    async def session_bookings(
        self, reception: str, session_day: date, statuses: Collection[str] | None = None
    ) -> list[Booking]:
        rows = await self.db.fetchall(
            "SELECT * FROM bookings WHERE reception = ? AND session_day = ? "
            "ORDER BY slot_start, id",
            (reception, session_day.isoformat()),
        )
        bookings = [_booking(r) for r in rows]
        return [b for b in bookings if statuses is None or b.status in statuses]

    async def places_between(self, first: date, last: date) -> list[Booking]:
        rows = await self.db.fetchall(
            "SELECT * FROM bookings WHERE session_day BETWEEN ? AND ? AND status != ? "
            "ORDER BY slot_start, id",
            (first.isoformat(), last.isoformat(), CANCELLED),
        )
        return [_booking(r) for r in rows]

    # --- sessions called off --------------------------------------------------------------

    async def cancel_session(
        self,
        reception: str,
        session_day: date,
        now: datetime,
        then: Callable[[Transaction, list[Booking]], Awaitable[None]] | None = None,
    ) -> list[Booking]:
        day = session_day.isoformat()
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO reception_cancellations (reception, session_day, at) "
                "VALUES (?, ?, ?) ON CONFLICT (reception, session_day) DO NOTHING",
                (reception, day, encode_instant(now)),
            )
            async with conn.execute(
                "SELECT id FROM bookings WHERE reception = ? AND session_day = ? AND status = ?",
                (reception, day, BOOKED),
            ) as cur:
                ids = [r["id"] for r in await cur.fetchall()]
            await conn.execute(
                "UPDATE bookings SET status = ?, cancelled_at = ? "
                "WHERE reception = ? AND session_day = ? AND status = ?",
                (CANCELLED, encode_instant(now), reception, day, BOOKED),
            )
            await conn.execute(
                "UPDATE waitlist SET status = 'dropped', closed_at = ? "
                "WHERE reception = ? AND session_day = ? AND status IN (?, ?)",
                (encode_instant(now), reception, day, WAITING, OFFERED),
            )
            if not ids:
                return []
            marks = ", ".join("?" for _ in ids)
            async with conn.execute(
                f"SELECT * FROM bookings WHERE id IN ({marks}) ORDER BY slot_start, id", ids
            ) as cur:
                cancelled = [_booking(r) for r in await cur.fetchall()]
            if then is not None:
                await then(conn, cancelled)
        return cancelled

    async def add_session(self, reception: str, session_day: date, by: int, now: datetime) -> None:
        day = session_day.isoformat()
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO reception_extra_days (reception, session_day, added_by, at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (reception, day, by, encode_instant(now)),
            )
            await conn.execute(
                "DELETE FROM reception_cancellations WHERE reception = ? AND session_day = ?",
                (reception, day),
            )

    async def extra_days(self, reception: str) -> frozenset[date]:
        rows = await self.db.fetchall(
            "SELECT session_day FROM reception_extra_days WHERE reception = ?",
            (reception,),
            quick=True,
        )
        return frozenset(date.fromisoformat(r["session_day"]) for r in rows)

    async def cancelled_days(self, reception: str) -> frozenset[date]:
        rows = await self.db.fetchall(
            "SELECT session_day FROM reception_cancellations WHERE reception = ?",
            (reception,),
            quick=True,
        )
        return frozenset(date.fromisoformat(r["session_day"]) for r in rows)

    async def extra_days_by_reception(self) -> dict[str, frozenset[date]]:
        return await self._days_by_reception("reception_extra_days")

    async def cancelled_days_by_reception(self) -> dict[str, frozenset[date]]:
        return await self._days_by_reception("reception_cancellations")

    async def _days_by_reception(self, table: str) -> dict[str, frozenset[date]]:
        # A few rows a month (officials add or call off a session by hand): read them all.
        rows = await self.db.fetchall(f"SELECT reception, session_day FROM {table}")
        days: dict[str, set[date]] = {}
        for row in rows:
            days.setdefault(row["reception"], set()).add(date.fromisoformat(row["session_day"]))
        return {code: frozenset(found) for code, found in days.items()}

    # --- waitlist -------------------------------------------------------------------------

    async def join_waitlist(
        self, citizen_id: int, reception: str, session_day: date, now: datetime
    ) -> bool:
        day = session_day.isoformat()
        async with self.db.transaction() as conn:
            if await _held_in_session(conn, citizen_id, reception, session_day) is not None:
                return False
            async with conn.execute(
                "SELECT 1 FROM reception_cancellations WHERE reception = ? AND session_day = ?",
                (reception, day),
            ) as cur:
                if await cur.fetchone() is not None:
                    return False
            await conn.execute(
                "INSERT INTO citizens (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
                (citizen_id, encode_instant(now)),
            )
            cur = await conn.execute(
                "INSERT INTO waitlist (citizen_id, reception, session_day, joined_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (citizen_id, reception, day, encode_instant(now)),
            )
            return cur.rowcount == 1

    async def leave_waitlist(
        self, citizen_id: int, reception: str, session_day: date, now: datetime
    ) -> bool:
        return (
            await self.db.execute(
                "UPDATE waitlist SET status = 'left', closed_at = ? WHERE citizen_id = ? "
                "AND reception = ? AND session_day = ? AND status IN (?, ?)",
                (
                    encode_instant(now),
                    citizen_id,
                    reception,
                    session_day.isoformat(),
                    WAITING,
                    OFFERED,
                ),
            )
            > 0
        )

    async def next_in_line(self, reception: str, session_day: date) -> int | None:
        row = await self.db.fetchone(
            "SELECT citizen_id FROM waitlist WHERE reception = ? AND session_day = ? "
            "AND status = ? ORDER BY id LIMIT 1",
            (reception, session_day.isoformat(), WAITING),
        )
        return int(row["citizen_id"]) if row is not None else None

    async def waiting_citizens(self, reception: str, session_day: date) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT citizen_id FROM waitlist WHERE reception = ? AND session_day = ? "
            "AND status IN (?, ?) ORDER BY id",
            (reception, session_day.isoformat(), WAITING, OFFERED),
        )
        return [int(r["citizen_id"]) for r in rows]

    async def waiting_sessions(self, first_day: date) -> list[tuple[str, date]]:
        rows = await self.db.fetchall(
            "SELECT DISTINCT reception, session_day FROM waitlist "
            "WHERE status = ? AND session_day >= ? ORDER BY session_day, reception",
            (WAITING, first_day.isoformat()),
            quick=True,
        )
        return [(r["reception"], date.fromisoformat(r["session_day"])) for r in rows]

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
        day = session_day.isoformat()
        async with self.db.transaction() as conn:
            if await _taken(conn, reception, slot_start, now, None) >= capacity:
                return None
            async with conn.execute(
                "SELECT w.id, w.citizen_id, c.language FROM waitlist w "
                "LEFT JOIN citizens c ON c.id = w.citizen_id WHERE w.reception = ? "
                "AND w.session_day = ? AND w.status = ? ORDER BY w.id LIMIT 1",
                (reception, day, WAITING),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            expires = now + hold
            await conn.execute(
                "UPDATE waitlist SET status = ?, slot_start = ?, offered_at = ?, expires_at = ? "
                "WHERE id = ?",
                (
                    OFFERED,
                    encode_instant(slot_start),
                    encode_instant(now),
                    encode_instant(expires),
                    row["id"],
                ),
            )
            offer = WaitlistOffer(
                row["id"],
                row["citizen_id"],
                reception,
                session_day,
                decode_instant(encode_instant(slot_start)),
                decode_instant(encode_instant(expires)),
            )
            if then is not None:
                await then(conn, offer, row["language"])
        return offer

    async def offers_held_by(self, citizen_id: int, now: datetime) -> list[WaitlistOffer]:
        rows = await self.db.fetchall(
            "SELECT id FROM waitlist WHERE citizen_id = ? AND status = ? AND expires_at > ? "
            "ORDER BY id",
            (citizen_id, OFFERED, encode_instant(now)),
        )
        held = [await self.held_offer(int(row["id"]), now) for row in rows]
        return [offer for offer in held if offer is not None]

    async def held_offer(self, offer_id: int, now: datetime) -> WaitlistOffer | None:
        row = await self.db.fetchone(
            "SELECT id, citizen_id, reception, session_day, slot_start, expires_at FROM waitlist "
            "WHERE id = ? AND status = ? AND expires_at > ?",
            (offer_id, OFFERED, encode_instant(now)),
        )
        if row is None:
            return None
        return WaitlistOffer(
            row["id"],
            row["citizen_id"],
            row["reception"],
            date.fromisoformat(row["session_day"]),
            decode_instant(row["slot_start"]),
            decode_instant(row["expires_at"]),
        )

    async def citizen_language(self, citizen_id: int) -> str | None:
        row = await self.db.fetchone("SELECT language FROM citizens WHERE id = ?", (citizen_id,))
        return row["language"] if row else None

    async def expire_offers(self, now: datetime) -> list[WaitlistOffer]:
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT * FROM waitlist WHERE status = ? AND expires_at <= ? ORDER BY id",
                (OFFERED, encode_instant(now)),
            ) as cur:
                rows = await cur.fetchall()
            await conn.executemany(
                "UPDATE waitlist SET status = 'expired', closed_at = ? WHERE id = ?",
                [(encode_instant(now), r["id"]) for r in rows],
            )
        return [
            WaitlistOffer(
                r["id"],
                r["citizen_id"],
                r["reception"],
                date.fromisoformat(r["session_day"]),
                decode_instant(r["slot_start"]),
                decode_instant(r["expires_at"]),
            )
            for r in rows
        ]


# --- inside a transaction ---------------------------------------------------------------------


async def _one(conn: Transaction, sql: str, params: tuple[Any, ...]) -> Booking | None:
    async with conn.execute(sql, params) as cur:
        row = await cur.fetchone()
    return _booking(row) if row is not None else None


async def _held_in_session(
    conn: Transaction, citizen_id: int | None, reception: str, session_day: date
) -> Booking | None:
    if citizen_id is None:
        return None
    return await _one(
        conn,
        "SELECT * FROM bookings WHERE citizen_id = ? AND reception = ? AND session_day = ? "
        "AND status = ?",
        (citizen_id, reception, session_day.isoformat(), BOOKED),
    )


async def _called_off(conn: Transaction, reception: str, session_day: date) -> bool:
    """A session called off takes no place, whatever held one for the caller (an offer from
    the waiting list that the cancellation closed a moment before the confirm)."""
    async with conn.execute(
        "SELECT 1 FROM reception_cancellations WHERE reception = ? AND session_day = ?",
        (reception, session_day.isoformat()),
    ) as cur:
        return await cur.fetchone() is not None


async def _taken(
    conn: Transaction,
    reception: str,
    slot_start: datetime,
    now: datetime,
    citizen_id: int | None,
) -> int:
    """Booked places of the slot plus places held for other citizens' waitlist offers."""
    start = encode_instant(slot_start)
    async with conn.execute(
        "SELECT (SELECT COUNT(*) FROM bookings "
        "        WHERE reception = ? AND slot_start = ? AND status = ?) "
        "     + (SELECT COUNT(*) FROM waitlist WHERE reception = ? AND slot_start = ? "
        "        AND status = ? AND expires_at > ? AND citizen_id IS NOT ?)",
        (reception, start, BOOKED, reception, start, OFFERED, encode_instant(now), citizen_id),
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row is not None else 0


async def _insert(conn: Transaction, **values: Any) -> int:
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    cur = await conn.execute(
        f"INSERT INTO bookings ({columns}) VALUES ({marks})", tuple(values.values())
    )
    return int(cur.lastrowid or 0)


async def _close_waitlist(
    conn: Transaction,
    citizen_id: int | None,
    reception: str,
    session_day: date,
    now: datetime,
) -> None:
    # A place in the session ends the citizen's wait for it, and releases a held offer.
    if citizen_id is None:
        return
    await conn.execute(
        "UPDATE waitlist SET status = 'accepted', closed_at = ? WHERE citizen_id = ? "
        "AND reception = ? AND session_day = ? AND status IN (?, ?)",
        (encode_instant(now), citizen_id, reception, session_day.isoformat(), WAITING, OFFERED),
    )


def _booking(row: aiosqlite.Row) -> Booking:
    return Booking(
        id=row["id"],
        citizen_id=row["citizen_id"],
        reception=row["reception"],
        slot_start=decode_instant(row["slot_start"]),
        session_day=date.fromisoformat(row["session_day"]),
        status=row["status"],
        topic=row["topic"],
        appeal_id=row["appeal_id"],
        access=list(decode_json(row["access"] or "[]")),
        access_other=row["access_other"],
        contact_name=row["contact_name"],
        contact_phone=row["contact_phone"],
        language=row["language"],
        created_at=decode_instant(row["created_at"]),
        cancelled_at=decode_optional_instant(row["cancelled_at"]),
        moved_from=row["moved_from"],
    )
