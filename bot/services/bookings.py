"""Booking a place at a reception: what is free, taking a place, and the reminders that
follow a booking (outbox rows due later, withdrawn when the booking goes)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from bot.delivery.outbox import Outbox
from bot.domain.receptions import (
    DayChoice,
    FreeSlot,
    Held,
    Reception,
    ReceptionCatalog,
    SlotPlanner,
    clashing,
)
from bot.services.confirmations import Confirmation, Confirmations
from bot.services.notifiers import BookingNotices
from i18n.core import LANGUAGES
from storage.base import InTransaction
from storage.bookings import Booking, BookingStore, BookResult, WaitlistOffer
from storage.outbox import OutboxStore, Outgoing

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# BookResult.reason when the citizen holds a place at another reception at that time (the
# result's booking is that place).
CLASH = "clash"


class BookingService:
    def __init__(
        self,
        store: BookingStore,
        planner: SlotPlanner,
        receptions: ReceptionCatalog,
        outbox: Outbox,
        outbox_store: OutboxStore,
        clock: Clock,
        notices: BookingNotices,
        default_language: str,
        tz: ZoneInfo,
        confirmations: Confirmations | None = None,
    ) -> None:
        self.confirmations = confirmations
        self.store = store
        self.planner = planner
        self.receptions = receptions
        self.outbox = outbox
        self.outbox_store = outbox_store
        self.clock = clock
        self.notices = notices  # what the citizens read (bot.views.booking_notices)
        self.default_language = default_language  # for a citizen the bot has no language of
        self.tz = tz

    # --- what is free -------------------------------------------------------------------

    async def scheduled(self, reception: Reception) -> Reception:
        """The catalog's reception with the one-off days officials added from their chat."""
        extra = await self.store.extra_days(reception.code)
        return replace(reception, dates=tuple(sorted({*reception.dates, *extra})))

    async def add_session(self, reception: Reception, day: date, official_id: int) -> None:
        await self.store.add_session(reception.code, day, official_id, self.clock())

    async def free_slots(
        self, reception: Reception, day: date | None = None, *, excluding: datetime | None = None
    ) -> list[FreeSlot]:
        """Slots with a free place, on `day` if given; `excluding` the time a booking being
        moved holds now (moving there would change nothing)."""
        reception = await self.scheduled(reception)
        cancelled = await self.store.cancelled_days(reception.code)
        slots = self.planner.bookable(reception, self.clock(), cancelled)
        slots = [s for s in slots if s.start != excluding]
        if day is not None:
            slots = [s for s in slots if s.start.date() == day]
        counts = await self.store.booked_counts(
            reception.code, [s.start for s in slots], now=self.clock()
        )
        return [
            FreeSlot(s, reception.capacity - counts.get(s.start, 0))
            for s in slots
            if reception.capacity - counts.get(s.start, 0) > 0
        ]

    async def free_days(
        self, reception: Reception, *, excluding: datetime | None = None
    ) -> list[tuple[date, int]]:
        """Each upcoming session day with its free places; 0 means full (waitlist). The slot
        `excluding` (a booking's current time, when moving it) is left out."""
        reception = await self.scheduled(reception)
        cancelled = await self.store.cancelled_days(reception.code)
        slots = self.planner.bookable(reception, self.clock(), cancelled)
        slots = [s for s in slots if s.start != excluding]
        counts = await self.store.booked_counts(
            reception.code, [s.start for s in slots], now=self.clock()
        )
        days: dict[date, int] = {}
        for slot in slots:
            day = slot.start.date()
            days[day] = days.get(day, 0) + max(reception.capacity - counts.get(slot.start, 0), 0)
        return sorted(days.items())

    async def day_choices(
        self, reception: Reception, citizen_id: int, moving: Booking | None = None
    ) -> list[DayChoice]:
        """The days to choose from, for a new booking or for `moving` one: the places free
        on each (the moved booking's own time left out) and the citizen's place where they
        hold one already, so they see it before picking that session again."""
        excluding = moving.slot_start if moving is not None else None
        days = await self.free_days(reception, excluding=excluding)
        held = {
            b.session_day: b.slot_start.astimezone(self.tz)
            for b in await self.store.citizen_upcoming(citizen_id, self.clock())
            if b.reception == reception.code and (moving is None or b.id != moving.id)
        }
        return [DayChoice(day, free, held.get(day)) for day, free in days]

    async def held_in_session(
        self, citizen_id: int, reception: Reception, day: date
    ) -> Booking | None:
        upcoming = await self.store.citizen_upcoming(citizen_id, self.clock())
        return next(
            (b for b in upcoming if b.reception == reception.code and b.session_day == day), None
        )

    # --- booking and cancelling -----------------------------------------------------------

    async def book(
        self,
        citizen_id: int,
        language: str,
        draft: dict[str, Any],
        confirmation: Callable[[Booking], str] | None = None,
    ) -> BookResult:
        """With `confirmation` (the booking -> the citizen's HTML text), the confirmation is
        queued in the booking's own transaction (`bot.services.confirmations`)."""
        reception = self.receptions.get(draft["reception"])
        if reception is None:
            return BookResult(None, "full")
        start = datetime.fromisoformat(draft["slot"])
        offered = {f.slot.start for f in await self.free_slots(reception, start.date())}
        # A slot no longer offered (past, cancelled, inside the lead time) can only give back
        # this draft's earlier booking: capacity 0 takes no new place.
        # A place held for this citizen by a waitlist offer counts as taken for everyone
        # else; the store lets its holder book it while the offer holds (not expired, not
        # closed by the session called off: then the store refuses it in any case).
        held = False
        if start not in offered and str(draft.get("offer_id", "")).isdigit():
            holding = await self.offer_for(int(draft["offer_id"]), citizen_id)
            held = holding is not None and holding[1] == start.astimezone(self.tz)
        capacity = reception.capacity if start in offered or held else 0
        clash = await self.clash(citizen_id, reception, start)
        if clash is not None:
            return BookResult(clash, CLASH)

        async def confirm(conn: InTransaction, booking: Booking) -> None:
            if confirmation is not None and self.confirmations is not None:
                await self.confirmations.store_in(conn, booked(citizen_id, booking, confirmation))
            # With the place, or not at all: a crash after the booking's commit left it
            # without reminders for good (a confirm pressed again finds it booked already).
            await self.outbox.queue_in(conn, self.reminders(booking, reception))

        result = await self.store.book(
            draft_key=draft["draft_key"],
            citizen_id=citizen_id,
            reception=reception.code,
            slot_start=start,
            session_day=start.astimezone(self.tz).date(),
            capacity=capacity,
            topic=draft.get("topic"),
            appeal_id=draft.get("appeal_id"),
            access=list(draft.get("access", [])),
            access_other=draft.get("access_other"),
            contact_name=draft.get("contact_name") or "",
            contact_phone=draft.get("contact_phone") or "",
            language=language,
            now=self.clock(),
            also=confirm,
        )
        if confirmation is not None and self.confirmations is not None:
            self.confirmations.committed()
        if result.reason == "ok":
            self.outbox.poke()
        return result

    async def move(self, booking_id: int, citizen_id: int, start: datetime) -> BookResult:
        """Another free time of the same reception; the old place is freed only when the new
        one is taken, and the reminders follow the booking."""
        old = await self.store.get(booking_id)
        reception = self.receptions.get(old.reception) if old else None
        if old is None or reception is None or old.citizen_id != citizen_id:
            return BookResult(None, "not_found")
        offered = {f.slot.start for f in await self.free_slots(reception, excluding=old.slot_start)}
        capacity = reception.capacity if start in offered else 0
        clash = await self.clash(citizen_id, reception, start)
        if clash is not None:
            return BookResult(clash, CLASH)

        freed: list[Booking] = []

        async def follow(conn: InTransaction, given_up: Booking, new: Booking) -> None:
            # The reminders follow the booking in the move's own transaction: a crash between
            # them left the old time's reminders to go out and none for the new time.
            await self.outbox_store.withdraw_in(
                conn, reminders_purpose(given_up.id), "booking moved", self.clock()
            )
            await self.outbox.queue_in(conn, self.reminders(new, reception))
            freed.append(given_up)

        result = await self.store.move(
            booking_id, citizen_id, start, start.astimezone(self.tz).date(), capacity,
            self.clock(), also=follow,
        )  # fmt: skip
        if result.reason == "ok":
            self.outbox.poke()
        for given_up in freed:
            # The old time's place is free now: the session's waiting list hears of it as
            # after a cancel.
            await self._offer_freed(given_up)
        return result

    async def clash(self, citizen_id: int, reception: Reception, start: datetime) -> Booking | None:
        """The citizen's booking at another reception at an overlapping time, which a new
        place or a move to `start` would clash with (`bot.domain.receptions.clashing`)."""
        upcoming = await self.store.citizen_upcoming(citizen_id, self.clock())
        places = {}
        for booking in upcoming:
            other = self.receptions.get(booking.reception)
            if other is not None:
                places[Held(other.code, booking.slot_start, other.slot_minutes)] = booking
        found = clashing(Held(reception.code, start, reception.slot_minutes), places)
        return places[found] if found is not None else None

    async def cancel(self, booking_id: int, citizen_id: int) -> Booking | None:
        async def withdraw(conn: InTransaction, booking: Booking) -> None:
            # In the cancelling transaction: a crash after it reminded the citizen of a place
            # they gave back, and a second «Cancel» (cancelled already) never withdrew it.
            await self.outbox_store.withdraw_in(
                conn, reminders_purpose(booking.id), "booking cancelled", self.clock()
            )

        booking = await self.store.cancel(booking_id, citizen_id, self.clock(), also=withdraw)
        if booking is not None:
            await self._offer_freed(booking)
        return booking

    async def _offer_freed(self, freed: Booking) -> None:
        """The place a cancel or a move gave up, offered to the session's waiting list in a
        transaction of its own, after theirs. What went through stays done: an error here (a
        database hiccup) is logged, not raised to the citizen, whose place is given up all
        the same; the offer, like one a crash lost between the two, is made good by
        `offer_free_places` (the next tick, or the start-up's)."""
        try:
            await self.offer_place(freed.reception, freed.session_day, freed.slot_start)
        except Exception:
            log.exception(
                "the place freed by booking %s is not offered now; the next tick offers it",
                freed.id,
            )

    async def give_back_places(self, citizen_id: int) -> None:
        """Every upcoming place of the citizen goes back to others (/forget), and so does a
        place held for them by a waiting-list offer: the erasure takes their waiting-list
        rows, and with them the offer that would have expired and passed on."""
        for booking in await self.store.citizen_upcoming(citizen_id, self.clock()):
            await self.cancel(booking.id, citizen_id)
        for offer in await self.store.offers_held_by(citizen_id, self.clock()):
            await self.store.leave_waitlist(
                citizen_id, offer.reception, offer.session_day, self.clock()
            )
            await self.offer_place(offer.reception, offer.session_day, offer.slot_start)

    # --- waitlist -----------------------------------------------------------------------

    async def join_waitlist(self, citizen_id: int, reception: Reception, day: date) -> bool:
        return await self.store.join_waitlist(citizen_id, reception.code, day, self.clock())

    async def offer_place(
        self, reception_code: str, day: date, slot_start: datetime
    ) -> WaitlistOffer | None:
        """A freed place goes to the first in line, held for them for a while. None when the
        slot has no place free (booked, or held for an offer) or nobody is waiting."""
        reception = self.receptions.get(reception_code)
        if reception is None:
            return None

        async def enqueue(conn: InTransaction, offer: WaitlistOffer, language: str | None) -> None:
            # In the offer's transaction: a crash cannot hold a place for a citizen who is
            # never told.
            start = offer.slot_start.astimezone(self.tz)
            until = offer.expires_at.astimezone(self.tz)
            citizen = language or self.default_language
            text, markup = self.notices.offer(reception, start, until, offer.id, citizen)
            row = self.outbox.text(
                offer.citizen_id, text, reply_markup=markup, dedupe_key=f"offer:{offer.id}:{start}"
            )
            await self.outbox.queue_in(conn, [row])

        offer = await self.store.offer(
            reception.code, day, slot_start, reception.capacity,
            self.receptions.rules.waitlist_hold, self.clock(), then=enqueue,
        )  # fmt: skip
        if offer is not None:
            self.outbox.poke()
        return offer

    async def expire_offers(self) -> None:
        """Offers not taken in time pass to the next in line."""
        for expired in await self.store.expire_offers(self.clock()):
            await self.offer_place(expired.reception, expired.session_day, expired.slot_start)

    async def offer_free_places(self) -> int:
        """Every place a citizen could book now in a session with citizens waiting goes to the
        first in line; returns the offers made. A place is freed (a cancel, a move, an offer
        expired or given back by /forget) in one transaction and offered in another: a crash
        between them, or a place freed while a citizen was joining the list, left it free and
        the list never told until another place of the session freed. Each offer is decided
        as `offer_place` decides it (under the store's lock, places booked and held for other
        offers counted), so a place offered or booked meanwhile is not offered twice; the
        places are those `free_slots` shows a citizen (not started, past the lead time, the
        session not called off)."""
        made = 0
        for code, day in await self.store.waiting_sessions(self.today()):
            reception = self.receptions.get(code)
            if reception is None:
                continue
            for free in await self.free_slots(reception, day):
                for _ in range(free.free):
                    if await self.offer_place(code, day, free.slot.start) is None:
                        break
                    made += 1
        return made

    async def offer_for(self, offer_id: int, citizen_id: int) -> tuple[Reception, datetime] | None:
        """The held place behind an offer button, if it is still this citizen's."""
        offer = await self.store.held_offer(offer_id, self.clock())
        if offer is None or offer.citizen_id != citizen_id:
            return None
        reception = self.receptions.get(offer.reception)
        if reception is None:
            return None
        return reception, offer.slot_start.astimezone(self.tz)

    async def citizen_language(self, citizen_id: int) -> str:
        language = await self.store.citizen_language(citizen_id)
        return language or self.default_language

    async def tick(self, now: datetime) -> None:
        """The scheduler's tick, the first one at start-up: expired offers pass on, then any
        free place of a session with citizens waiting is offered (`offer_free_places`)."""
        await self.expire_offers()
        await self.offer_free_places()

    # --- the officials' side --------------------------------------------------------------

    async def sessions_on(self, day: date) -> list[tuple[Reception, list[Booking]]]:
        """Each reception held on `day` with its bookings (booked, attended, no-show)."""
        return [(reception, booked) for _, reception, booked in await self._held(day, day)]

    async def sessions_ahead(self, today: date) -> list[tuple[date, Reception, list[Booking]]]:
        """What `/receptions` shows without a date: today's sessions, then each later session
        within the booking horizon that someone has booked."""
        last = today + timedelta(days=self.receptions.rules.horizon_days)
        return [s for s in await self._held(today, last) if s[0] == today or s[2]]

    async def _held(self, first: date, last: date) -> list[tuple[date, Reception, list[Booking]]]:
        """Every session held from `first` to `last`, by day and in the catalog's order, with
        its places (cancelled ones left out). Three reads, whatever the number of days,
        receptions and bookings: the added days, the called-off days, the places."""
        extra = await self.store.extra_days_by_reception()
        called_off = await self.store.cancelled_days_by_reception()
        places: dict[tuple[str, date], list[Booking]] = {}
        for booking in await self.store.places_between(first, last):
            places.setdefault((booking.reception, booking.session_day), []).append(booking)
        # Each reception as `scheduled` gives it: the catalog's dates and the added ones.
        receptions = [
            replace(r, dates=tuple(sorted({*r.dates, *extra.get(r.code, ())})))
            for r in self.receptions.receptions
        ]
        held = []
        for offset in range((last - first).days + 1):
            day = first + timedelta(days=offset)
            for reception in receptions:
                if not self.planner.sits_on(reception, day):
                    continue
                if day in called_off.get(reception.code, frozenset()):
                    continue
                held.append((day, reception, places.get((reception.code, day), [])))
        return held

    async def cancel_session(self, reception: Reception, day: date) -> int:
        """Officials call a session off: every booked citizen hears it in their language."""

        async def tell(conn: InTransaction, cancelled: list[Booking]) -> None:
            # In the transaction that calls the session off: a crash after it left the
            # citizens untold and reminded of a session not held, and the officials' second
            # press (called off already) cancels nothing, so nobody was ever told.
            rows = []
            for booking in cancelled:
                await self.outbox_store.withdraw_in(
                    conn, reminders_purpose(booking.id), "session cancelled", self.clock()
                )
                if booking.citizen_id is None:
                    continue
                # In the language the citizen has when it goes out, as the reminders.
                rows.append(self.to_citizen(
                    booking.citizen_id, booking,
                    partial(self.notices.session_cancelled, booking, reception),
                    dedupe_key=f"session-cancelled:{booking.id}",
                ))  # fmt: skip
            await self.outbox.queue_in(conn, rows)

        cancelled = await self.store.cancel_session(reception.code, day, self.clock(), then=tell)
        if cancelled:
            self.outbox.poke()
        return len(cancelled)

    async def digest_section(self, today: date, lang: str) -> str | None:
        """Today's receptions for the morning digest: places taken and what to prepare."""
        sessions = await self.sessions_on(today)
        if not sessions:
            return None
        return self.notices.today(
            [
                (
                    reception,
                    bookings,
                    reception.capacity * len(self.planner.slots(reception, today)),
                )
                for reception, bookings in sessions
            ],
            lang,
        )

    # --- reminders ----------------------------------------------------------------------

    def reminder_times(self, booking: Booking) -> list[tuple[str, datetime]]:
        rules = self.receptions.rules
        start = booking.slot_start.astimezone(self.tz)
        day_before = datetime.combine(
            start.date() - timedelta(days=1), rules.reminder_day_before, tzinfo=self.tz
        )
        times = [("day", day_before), ("soon", start - rules.reminder_before)]
        # A reminder whose time has passed already (a booking made late) is not sent.
        return [(kind, at) for kind, at in times if at > self.clock()]

    def reminders(self, booking: Booking, reception: Reception) -> list[Outgoing]:
        """The booking's reminders, to queue in the transaction that takes the place; sent in
        the language the citizen has when they go out (`to_citizen`)."""
        citizen = booking.citizen_id
        if citizen is None:
            return []
        return [
            self.to_citizen(
                citizen,
                booking,
                partial(self.notices.reminder, booking, reception),
                not_before=at,
                dedupe_key=f"remind:{booking.id}:{kind}",
                purpose=reminders_purpose(booking.id),
            )
            for kind, at in self.reminder_times(booking)
        ]

    def to_citizen(
        self,
        citizen_id: int,
        booking: Booking,
        render: Callable[[str], tuple[str, Any]],
        **row: Any,
    ) -> Outgoing:
        """A row about `booking` to its citizen, written in every language and sent in the
        one they have when it goes out (`Outbox.in_language`): a /lang between booking and a
        reminder days later is followed. The fallback is the language they booked in."""
        versions = {lang: render(lang) for lang in LANGUAGES}
        fallback = booking.language if booking.language in versions else self.default_language
        return self.outbox.in_language(citizen_id, versions, fallback, **row)

    def describe(self, booking: Booking, reception: Reception, lang: str, heading: str) -> str:
        """The booking under `heading` as the citizen reads it (current locale)."""
        return self.notices.describe(booking, reception, lang, heading)

    # --- what the citizen's and the officials' screens read ----------------------------------

    def offered(self) -> tuple[Reception, ...]:
        """The receptions a citizen may book, in the catalog's order."""
        return self.receptions.receptions

    def reception(self, code: str) -> Reception | None:
        """The reception with this code, if the catalog still has it."""
        return self.receptions.get(code)

    def local(self, moment: datetime) -> datetime:
        """`moment` on the clock of the place where receptions are held."""
        return moment.astimezone(self.tz)

    def today(self) -> date:
        """The local day, as receptions are held."""
        return self.clock().astimezone(self.tz).date()

    async def upcoming_for(self, citizen_id: int) -> list[tuple[Booking, Reception]]:
        """The citizen's places still ahead, with their receptions; a booking whose reception
        left the catalog is not shown (there is nothing to describe it by)."""
        found = []
        for booking in await self.store.citizen_upcoming(citizen_id, self.clock()):
            reception = self.receptions.get(booking.reception)
            if reception is not None:
                found.append((booking, reception))
        return found

    async def mark_attendance(self, booking_id: int, status: str) -> Marked | None:
        """Officials mark who came (`attended` / `no_show`); the marked booking and its
        session as the list shows it then. None for a cancelled or unknown booking."""
        marked = await self.store.mark(booking_id, status)
        if marked is None:
            return None
        reception = self.receptions.get(marked.reception)
        if reception is None:  # marked, but the reception left the catalog: no list to show
            return Marked(marked, None, [])
        session = await self.store.session_bookings(reception.code, marked.session_day)
        return Marked(marked, reception, [b for b in session if b.status != "cancelled"])

    async def own_booking(
        self, booking_id: int, citizen_id: int
    ) -> tuple[Booking, Reception] | None:
        """The citizen's place that a button carries, with its reception, while it is still
        booked; None for anyone else's, a cancelled or attended one, or an unknown one."""
        return self._own(await self.store.get(booking_id), citizen_id)

    async def booked_from(
        self, draft_key: str, citizen_id: int
    ) -> tuple[Booking, Reception] | None:
        """The place a confirmed draft of this citizen's took, for a confirm pressed again."""
        return self._own(await self.store.by_draft(draft_key) if draft_key else None, citizen_id)

    def _own(self, booking: Booking | None, citizen_id: int) -> tuple[Booking, Reception] | None:
        if booking is None or booking.citizen_id != citizen_id or booking.status != "booked":
            return None
        reception = self.receptions.get(booking.reception)
        return (booking, reception) if reception is not None else None


def reminders_purpose(booking_id: int) -> str:
    """The outbox purpose of a booking's reminders: withdrawn when the place goes."""
    return f"booking:{booking_id}"


def booked(chat_id: int, booking: Booking, render: Callable[[Booking], str]) -> Confirmation:
    """What tells the citizen their place is booked, keyed by the booking."""
    return Confirmation(chat_id, f"booking:{booking.id}", render(booking))


@dataclass(frozen=True)
class Marked:
    """An attendance mark: the booking, and its session's list (without cancelled places)
    to show again; `reception` is None when it is no longer in the catalog."""

    booking: Booking
    reception: Reception | None
    session: list[Booking]
