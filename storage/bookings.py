"""Bookings of reception slots, called-off sessions and the waitlist.

Every decision about a place (is it free, does this citizen already hold one in the session,
was this confirmation seen before) is read and written in one transaction that no other
writer can interleave with, so two citizens pressing the last place at once — in one process
or several — cannot both get it. SQLite gets that from BEGIN IMMEDIATE; PostgreSQL from an
advisory lock on the reception taken before counting (storage/postgres/bookings.py), since a
plain read under READ COMMITTED would not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol, runtime_checkable

from storage.base import InTransaction

BOOKED = "booked"
CANCELLED = "cancelled"
ATTENDED = "attended"
NO_SHOW = "no_show"
STATUSES = (BOOKED, CANCELLED, ATTENDED, NO_SHOW)
# An official marks what happened at the session, and may correct the mark.
MARKABLE = (ATTENDED, NO_SHOW)

# BookResult.reason
OK = "ok"
FULL = "full"
ALREADY_BOOKED = "already_booked_in_session"
DUPLICATE = "duplicate"
NOT_FOUND = "not_found"  # move: no booked, not yet started booking of this citizen

# Waitlist statuses; "waiting" and "offered" are the open ones.
WAITING = "waiting"
OFFERED = "offered"


@dataclass
class Booking:
    id: int
    citizen_id: int | None  # None once the citizen used /forget
    reception: str
    slot_start: datetime  # UTC, aware
    session_day: date  # local
    status: str
    topic: str | None
    appeal_id: int | None
    access: list[str]
    access_other: str | None
    contact_name: str | None
    contact_phone: str | None
    language: str
    created_at: datetime
    cancelled_at: datetime | None = None
    moved_from: int | None = None  # the booking this one replaced


@dataclass(frozen=True)
class BookResult:
    """reason: ok | full | already_booked_in_session (booking: the one held) | duplicate
    (booking: the one the same draft made before) | not_found (move only) | clash (the
    booking service's: booking is the citizen's place at another reception then)."""

    booking: Booking | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.reason == OK


@dataclass(frozen=True)
class WaitlistOffer:
    id: int
    citizen_id: int
    reception: str
    session_day: date
    slot_start: datetime  # UTC, aware
    expires_at: datetime


# Writes in an offer's transaction (the backend's own transaction, opaque here):
# (transaction, the offer, the citizen's language or None).
OfferThen = Callable[[InTransaction, WaitlistOffer, str | None], Awaitable[object]]
# Writes in the transaction that takes, moves or gives back places (the reminders and notices
# that follow them: queued and withdrawn with the change, or not at all).
BookingThen = Callable[[InTransaction, Booking], Awaitable[None]]
# A move's: (transaction, the booking given up, the one that replaces it).
MoveThen = Callable[[InTransaction, Booking, Booking], Awaitable[None]]
# A session called off: (transaction, the places cancelled now).
SessionThen = Callable[[InTransaction, list[Booking]], Awaitable[None]]


@runtime_checkable
class BookingStore(Protocol):
    """What consumers ask of the bookings store, whatever the database; on SQLite
    `storage.sqlite.bookings.SQLiteBookingStore`."""

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
        also: BookingThen | None = None,
    ) -> BookResult:
        """Take a place if the slot has one left. The draft key is checked first, so a
        redelivered confirmation gets the earlier booking back whatever the capacity.
        `also(conn, booking)` runs in the same transaction once a place is taken (the
        citizen's confirmation and reminders are written with the booking)."""

    async def move(
        self,
        booking_id: int,
        citizen_id: int,
        new_slot_start: datetime,
        new_session_day: date,
        capacity: int,
        now: datetime,
        also: MoveThen | None = None,
    ) -> BookResult:
        """Move a booking to another slot of the same reception. The old booking is cancelled
        and a new one made in one transaction, so a full target leaves the old place held.
        A new row (not an update) gives the new time its own reminders; `moved_from` links
        them, and a repeated move (a redelivered update) returns the new one as duplicate.
        `also(conn, old, new)` runs in the same transaction once moved (the old time's
        reminders withdrawn, the new time's queued)."""

    async def cancel(
        self, booking_id: int, citizen_id: int, now: datetime, also: BookingThen | None = None
    ) -> Booking | None:
        """The citizen gives their place back. Only their own booked place that has not
        started yet: after that it is the officials' to mark attended or no_show.
        `also(conn, booking)` runs in the same transaction once cancelled (its reminders
        withdrawn)."""

    async def mark(self, booking_id: int, status: str) -> Booking | None:
        """attended / no_show after the session; None for a cancelled or unknown booking."""

    async def get(self, booking_id: int) -> Booking | None: ...

    async def by_draft(self, draft_key: str) -> Booking | None:
        """The booking a confirmed draft made, for a confirm pressed again."""

    async def booked_counts(
        self, reception: str, slot_starts: list[datetime], now: datetime | None = None
    ) -> dict[datetime, int]:
        """Places taken per slot, keyed by the datetimes given (0 where none). With `now`,
        a place held for a waitlist offer that has not expired counts as taken too."""

    async def citizen_upcoming(self, citizen_id: int, now: datetime) -> list[Booking]: ...

    async def session_bookings(
        self, reception: str, session_day: date, statuses: Collection[str] | None = None
    ) -> list[Booking]:
        """Bookings of one session in slot order, every status unless `statuses` narrows it."""

    async def places_between(self, first: date, last: date) -> list[Booking]:
        """The places taken in every session from `first` to `last` (local days), all
        receptions at once: every status but cancelled, in slot order. One read, whatever
        the number of sessions and bookings (/receptions lists them)."""

    async def cancel_session(
        self, reception: str, session_day: date, now: datetime, then: SessionThen | None = None
    ) -> list[Booking]:
        """Call a session off: record it (the planner stops offering it), cancel its booked
        places and close its waitlist. Returns the bookings cancelled now; a repeated call
        returns none, so `then(conn, cancelled)` tells each citizen and withdraws their
        reminders in the same transaction."""

    async def add_session(self, reception: str, session_day: date, by: int, now: datetime) -> None:
        """A one-off session added by officials; adding a called-off day restores it."""

    async def extra_days(self, reception: str) -> frozenset[date]: ...

    async def cancelled_days(self, reception: str) -> frozenset[date]: ...

    async def extra_days_by_reception(self) -> dict[str, frozenset[date]]:
        """`extra_days` of every reception in one read (a reception without any is absent)."""

    async def cancelled_days_by_reception(self) -> dict[str, frozenset[date]]:
        """`cancelled_days` of every reception in one read (one without any is absent)."""

    async def join_waitlist(
        self, citizen_id: int, reception: str, session_day: date, now: datetime
    ) -> bool:
        """Queue for a full session. False if already queued, already holding a place in the
        session, or the session was called off."""

    async def leave_waitlist(
        self, citizen_id: int, reception: str, session_day: date, now: datetime
    ) -> bool: ...

    async def next_in_line(self, reception: str, session_day: date) -> int | None:
        """The citizen waiting longest (and not holding an offer) for the session."""

    async def waiting_citizens(self, reception: str, session_day: date) -> list[int]:
        """Everyone queued for the session (waiting or holding an offer), in queue order."""

    async def waiting_sessions(self, first_day: date) -> list[tuple[str, date]]:
        """(reception, session day) of every session from `first_day` on with a citizen
        waiting (not holding an offer), by day and reception: where a free place is owed to
        the waiting list (`BookingService.offer_free_places`)."""

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
        """Hold a free place of `slot_start` for the next citizen in line until now + hold;
        book() keeps it from everyone else meanwhile. None if the slot has no free place or
        nobody is waiting; a citizen erased meanwhile (/forget) is passed over for the next
        in line. `then(transaction, offer, the citizen's language)` runs in the same
        transaction, to write the offer's message, which commits with the offer or not at
        all (see `OutboxStore.write_in`)."""

    async def offers_held_by(self, citizen_id: int, now: datetime) -> list[WaitlistOffer]:
        """The places held for the citizen by offers not taken and not expired (/forget
        passes them on before the erasure takes the citizen's waiting-list rows)."""

    async def held_offer(self, offer_id: int, now: datetime) -> WaitlistOffer | None:
        """An offer still held (not taken, not expired), for its «Take the place» button."""

    async def citizen_language(self, citizen_id: int) -> str | None: ...

    async def expire_offers(self, now: datetime) -> list[WaitlistOffer]:
        """Close offers not taken in time and return them: each frees its place, to be
        offered to the next in line."""
