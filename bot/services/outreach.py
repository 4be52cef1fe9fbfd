"""Subscriptions by place and announcements to the subscribers (issue #13).

A citizen subscribes to districts; nothing is sent to anyone who did not. An official's
announcement is stored with one outbox row per subscriber, in one transaction keyed by the
dialog's draft, so a second «Send» or a restart queues nothing twice; the outbox sender
delivers the rows within Telegram's limits. The progress message in the officials' chat is
edited from what the database says (`tick`, on the scheduler), so it carries on after a
restart; «Stop» drops the rows not yet sent.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta, tzinfo
from enum import StrEnum

from bot.delivery.outbox import Outbox
from bot.domain.announcements import (
    KINDS,
    MEETING,
    POLL,
    MeetingChangeProblem,
    MeetingTime,
    all_districts,
    check_move,
    may_enter_attended,
    parse_meeting_time,
)
from bot.domain.catalog import Catalog
from bot.services.notifiers import AnnouncementMessages, MeetingMessages
from storage.base import InTransaction
from storage.outbox import OutboxStore
from storage.outreach import (
    DONE,
    SENDING,
    Announcement,
    AnnouncementStore,
    Attendance,
    MeetingDetails,
    MeetingFigures,
    MeetingMove,
    MeetingQuestion,
    MeetingStore,
    NewAnnouncement,
    NewMeetingMove,
    PollDetails,
    Progress,
    Subscriber,
    SubscriptionStore,
    meeting_reminder_purpose,
    progress_purpose,
)
from storage.polls import PollStore
from storage.reports import ReportScope, meetings_chat

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# How long after «Stop» the progress message still follows the rows that were already on their
# way to Telegram (the sender's sends time out well within it).
STOPPED_SETTLES = timedelta(minutes=2)


class SubscriptionService:
    def __init__(self, store: SubscriptionStore, catalog: Catalog, clock: Clock) -> None:
        self.store = store
        self.catalog = catalog
        self.clock = clock

    async def subscribe(self, citizen_id: int, district: str) -> bool | None:
        """True if new, False if the citizen already had it; None for a code that is no
        district of the territory (a forged button)."""
        if district not in {d.code for d in all_districts(self.catalog.territory)}:
            return None
        return await self.store.subscribe(citizen_id, district, self.clock())

    async def unsubscribe(self, citizen_id: int, district: str) -> bool:
        return await self.store.unsubscribe(citizen_id, district)

    async def unsubscribe_all(self, citizen_id: int) -> int:
        return await self.store.unsubscribe_all(citizen_id)

    async def districts_of(self, citizen_id: int) -> list[str]:
        return await self.store.districts_of(citizen_id)


@dataclass(frozen=True, slots=True)
class Draft:
    """What the officials' dialog gathered, checked by `bot.domain.announcements`."""

    key: str
    kind: str
    districts: tuple[str, ...]
    text_kk: str
    text_ru: str
    meeting: MeetingDetails | None = None  # kind «meeting»: who, where, when, topics
    poll: PollDetails | None = None  # kind «poll»: options, end time (the texts: question)


@dataclass(frozen=True, slots=True)
class Sent:
    announcement: Announcement
    progress: Progress
    created: bool  # False: this draft was sent before, nothing new was queued


class AnnouncementService:
    def __init__(
        self,
        store: AnnouncementStore,
        subscriptions: SubscriptionStore,
        outbox: Outbox,
        outbox_store: OutboxStore,
        clock: Clock,
        messages: AnnouncementMessages,
        sending_here: Callable[[], bool] = lambda: True,
        polls: PollStore | None = None,
    ) -> None:
        """`sending_here`: whether this process runs the outbox sender (holds its lease);
        only that one edits the progress messages, so several instances do not all edit.
        `polls`: where a poll's recipients are recorded (without it no poll is sent)."""
        self.polls = polls
        self.sending_here = sending_here
        self.store = store
        self.subscriptions = subscriptions
        self.outbox = outbox
        self.outbox_store = outbox_store
        self.clock = clock
        self.messages = messages

    async def audience(self, districts: Sequence[str]) -> int:
        """How many citizens it would reach if sent now."""
        return await self.subscriptions.count_subscribers(districts)

    async def send(
        self, draft: Draft, chat_id: int, message_id: int | None, author_id: int, author: str
    ) -> Sent:
        if draft.kind not in KINDS or not draft.districts:
            raise ValueError(f"not an announcement this release sends: {draft}")
        if (draft.kind == MEETING) != (draft.meeting is not None):
            raise ValueError(f"a meeting, and only a meeting, has its details: {draft}")
        if (draft.kind == POLL) != (draft.poll is not None):
            raise ValueError(f"a poll, and only a poll, has options: {draft}")
        polls = self.polls
        if draft.poll is not None and polls is None:
            raise ValueError("polls are not set up here")
        new = NewAnnouncement(
            draft_key=draft.key, kind=draft.kind, districts=draft.districts,
            text_kk=draft.text_kk, text_ru=draft.text_ru, chat_id=chat_id,
            progress_message_id=message_id, author_id=author_id, author_name=author,
            created_at=self.clock(), meeting=draft.meeting, poll=draft.poll,
        )  # fmt: skip

        async def write(
            conn: InTransaction, announcement: Announcement, who: Sequence[Subscriber]
        ) -> int:
            rows = [self.messages.to_citizen(announcement, s) for s in who]
            # Bulk: thousands of rows must not hold back anyone's answer or a card.
            ids = await self.outbox.queue_in(conn, rows, bulk=True)
            if announcement.poll is not None and polls is not None:
                # One row per subscriber (a poll is never split): whom each poll goes to, so
                # that their vote finds them once Telegram names the poll.
                await polls.record_sends(conn, announcement.id, list(zip(who, ids, strict=True)))
            return len(ids)

        announcement, created = await self.store.create(new, write)
        if created:
            self.outbox.poke()
            log.info(
                "announcement %s: %d messages queued by %s in %s",
                announcement.id, announcement.total, author_id, chat_id,
            )  # fmt: skip
        return Sent(announcement, await self.store.progress(announcement), created)

    async def get(self, announcement_id: int) -> Announcement | None:
        return await self.store.get(announcement_id)

    async def stop(self, announcement_id: int) -> tuple[Announcement, Progress] | None:
        """Drop what is not sent yet; None if it was not sending any more. The progress
        message says so at once, and is corrected by the next ticks for what was already on
        its way to Telegram."""
        stopped = await self.store.stop(announcement_id, self.clock())
        if stopped is None:
            return None
        log.info("announcement %s stopped", announcement_id)
        progress = await self.show(stopped, force=True)
        return stopped, progress

    async def tick(self, now: datetime) -> None:
        """Bring every progress message still moving up to date from the database."""
        if not self.sending_here():
            return
        for announcement in await self.store.sending(self.clock() - STOPPED_SETTLES):
            await self.show(announcement)

    async def show(self, announcement: Announcement, *, force: bool = False) -> Progress:
        """Edit the progress message if what it shows changed (or `force`); once nothing is
        pending, the announcement is done and the last edit says so."""
        progress = await self.store.progress(announcement)
        finishing = announcement.status == SENDING and progress.pending == 0
        if not force and not finishing and progress.key == announcement.shown:
            return progress
        if finishing:
            announcement = replace(announcement, status=DONE)
        edit = self.messages.progress(announcement, progress)
        if edit is not None:
            # An older edit still waiting is superseded by this one.
            await self.outbox_store.withdraw(
                progress_purpose(announcement.id), "superseded", self.clock()
            )
            await self.outbox.queue([edit])
        await self.store.record_shown(announcement.id, progress.key, finishing, self.clock())
        return progress


class Coming(StrEnum):
    """What «I will come» did."""

    REGISTERED = "registered"
    ALREADY = "already"  # said so before: counted once
    OVER = "over"  # the meeting has begun or passed
    UNKNOWN = "unknown"  # no such meeting (a forged button)


# How many upcoming meetings /meetings shows; and how many past ones, of how many days back,
# `/meetings past` does.
UPCOMING = 10
PAST = 10
PAST_DAYS = 30


@dataclass(frozen=True, slots=True)
class Moved:
    """What «Move» did: the meeting as it is now, the move, and whether this press made it
    (False: the dialog's move was made before, nothing was sent again)."""

    meeting: Announcement
    move: MeetingMove
    created: bool


class MeetingService:
    """Citizens' «I will come» (with access needs) and questions in advance to a meeting, and
    the organisers' figures."""

    def __init__(
        self,
        store: MeetingStore,
        announcements: AnnouncementStore,
        clock: Clock,
        tz: tzinfo,
        outbox: Outbox,
        outbox_store: OutboxStore,
        messages: MeetingMessages,
        remind_at: time = time(18, 0),
    ) -> None:
        """`remind_at`: the local time, on the day before, of the reminder to those who come
        (the bookings' `reminder_day_before`)."""
        self.outbox = outbox
        self.outbox_store = outbox_store
        self.messages = messages
        self.remind_at = remind_at
        self.tz = tz
        self.store = store
        self.announcements = announcements
        self.clock = clock

    def when(self, raw: str | None) -> MeetingTime:
        """When the official says the meeting is, in the akimat's time zone, checked to be
        ahead."""
        return parse_meeting_time(raw, self.clock().astimezone(self.tz))

    def passed(self, at: datetime) -> bool:
        """A meeting's time, ahead when it was given (`when`), has come since: at «Send»
        after a long pause at the review, a meeting announced for the past is no use."""
        return at <= self.clock()

    async def meeting(self, meeting_id: int) -> Announcement | None:
        """The meeting, if there is one with this id (an announcement of kind meeting)."""
        found = await self.announcements.get(meeting_id)
        return found if found is not None and found.meeting is not None else None

    async def open_meeting(self, meeting_id: int) -> tuple[Announcement | None, bool]:
        """(the meeting, whether it is still ahead)."""
        meeting = await self.meeting(meeting_id)
        ahead = (
            meeting is not None
            and meeting.meeting is not None
            and meeting.meeting.cancelled_at is None
            and meeting.meeting.at > self.clock()
        )
        return meeting, ahead

    async def come(
        self, meeting_id: int, citizen_id: int, access: tuple[str, ...], lang: str
    ) -> Coming:
        """Count the citizen in (once) and queue their reminder for the day before, in `lang`."""
        meeting, ahead = await self.open_meeting(meeting_id)
        if meeting is None or meeting.meeting is None:
            return Coming.UNKNOWN
        if not ahead:
            return Coming.OVER
        at = self.reminder_time(meeting.meeting.at)

        async def remind(conn: InTransaction) -> None:
            # In the registration's transaction: a crash between the two would leave the
            # citizen counted and, pressing again, told so, with no reminder ever.
            if at is not None:
                # One per registration (written once): one who withdrew and came back gets a
                # new one, whatever the clock says.
                key = f"{meeting_reminder_purpose(meeting_id, citizen_id)}:{uuid.uuid4().hex}"
                reminder = self.messages.reminder(meeting, citizen_id, lang, at, key)
                await self.outbox.queue_in(conn, [reminder])

        if not await self.store.register(meeting_id, citizen_id, access, self.clock(), remind):
            # Counted already, or called off since it was read above.
            _again, ahead = await self.open_meeting(meeting_id)
            return Coming.ALREADY if ahead else Coming.OVER
        self.outbox.poke()
        log.info("meeting %s: citizen %s will come", meeting_id, citizen_id)
        return Coming.REGISTERED

    def reminder_time(self, starts: datetime) -> datetime | None:
        """The day before the meeting at `remind_at`, local; None once that has passed (one
        who says they come late gets no reminder)."""
        local = starts.astimezone(self.tz)
        at = datetime.combine(local.date() - timedelta(days=1), self.remind_at, tzinfo=self.tz)
        return at if at > self.clock() else None

    async def attendance(self, meeting_id: int, citizen_id: int) -> Attendance | None:
        return await self.store.attendance(meeting_id, citizen_id)

    async def withdraw(self, meeting_id: int, citizen_id: int) -> bool:
        """«I won't come after all»: True if they had said they would. Their reminder goes."""
        # One transaction: a crash between the two would leave the reminder of a meeting the
        # citizen said they will not come to, with the button to withdraw it gone.
        return await self.store.unregister(meeting_id, citizen_id, self.clock())

    async def ask(
        self, meeting_id: int, citizen_id: int, topic: int | None, text: str
    ) -> MeetingQuestion | None:
        """None when the meeting is not ahead any more (or never was)."""
        meeting, ahead = await self.open_meeting(meeting_id)
        if meeting is None or meeting.meeting is None or not ahead:
            return None
        if topic is not None and not 0 <= topic < len(meeting.meeting.topics):
            topic = None
        return await self.store.ask(meeting_id, citizen_id, topic, text, self.clock())

    async def upcoming(self, scope: ReportScope | None = None) -> list[MeetingFigures]:
        """The meetings still ahead; with `scope`, those the chat may see
        (`meetings_chat`)."""
        return await self.store.upcoming(self.clock(), UPCOMING, meetings_chat(scope))

    async def cancel(self, meeting_id: int) -> tuple[Announcement, int] | None:
        """Call the meeting off: those who said they come are told and their reminders
        withdrawn, in the transaction that calls it off (a crash after it leaves no reminder of
        a meeting that will not be). (The meeting, how many are told); None if it was no
        meeting still ahead."""
        _meeting, ahead = await self.open_meeting(meeting_id)
        if not ahead:
            return None
        told: list[int] = []

        async def write(
            conn: InTransaction, meeting: Announcement, who: Sequence[Subscriber]
        ) -> int:
            told.extend(s.citizen_id for s in who)
            rows = [self.messages.cancelled(meeting, s) for s in who]
            return len(await self.outbox.queue_in(conn, rows))

        cancelled = await self.store.cancel(meeting_id, self.clock(), write)
        if cancelled is None:
            return None
        meeting, _coming = cancelled  # their reminders went in the same transaction
        self.outbox.poke()
        log.info("meeting %s cancelled; %d told", meeting_id, len(told))
        return meeting, len(told)

    def move_problem(
        self,
        meeting: Announcement | None,
        new_at: datetime | None = None,
        new_place: str | None = None,
    ) -> MeetingChangeProblem | None:
        """Whether the meeting may be moved now (and, given `new_at`, to that time and
        `new_place`: empty for the same place, None for not known yet):
        `bot.domain.announcements.check_move`."""
        details = meeting.meeting if meeting is not None else None
        if details is None:
            return MeetingChangeProblem.CANCELLED
        same_place = new_place is not None and new_place in ("", details.place)
        return check_move(
            details.at, details.cancelled_at is not None, self.clock(), new_at, same_place
        )

    async def move(
        self,
        meeting_id: int,
        key: str,
        new_at: datetime,
        new_place: str,
        official_id: int,
        official: str,
    ) -> Moved | MeetingChangeProblem:
        """Move the meeting to `new_at` (and `new_place`, empty for the same place), keyed by
        the dialog's `key`: in one transaction the meeting changes, each attendee's day-before
        reminder is withdrawn and queued anew for the new time, and everyone who said they
        come is sent the notice in their language, with their registration kept. A second
        call with the same key changes and sends nothing."""
        meeting = await self.meeting(meeting_id)
        if meeting is None or meeting.meeting is None:
            return MeetingChangeProblem.CANCELLED
        # «Same place» is resolved by the store, under the meeting's lock: the place it has when
        # moved (another official's move may have changed it since it was read here).
        new = NewMeetingMove(
            meeting_id, key, new_at, new_place, official_id, official, self.clock()
        )

        async def write(
            conn: InTransaction, moved: Announcement, move: MeetingMove, who: Sequence[Subscriber]
        ) -> int:
            rows = [self.messages.moved(moved, move, s) for s in who]
            at = self.reminder_time(move.new_at)
            if at is not None:
                rows += [
                    self.messages.reminder(
                        moved, s.citizen_id, s.language, at,
                        f"{meeting_reminder_purpose(moved.id, s.citizen_id)}:move{move.id}",
                    )
                    for s in who
                ]  # fmt: skip
            await self.outbox.queue_in(conn, rows)
            return len(who)

        earlier = await self.store.move_of(key)
        if earlier is not None:  # a second press, or the press again after a restart
            return Moved(meeting, earlier, False)
        problem = self.move_problem(meeting, new_at, new_place)
        if problem is not None:
            return problem
        moved = await self.store.move(new, write)
        if moved is None:
            return self.move_problem(await self.meeting(meeting_id)) or MeetingChangeProblem.BEGUN
        if moved[2]:
            self.outbox.poke()
            log.info(
                "meeting %s moved to %s by %s; %d told",
                meeting_id, new_at.isoformat(), official_id, moved[1].told,
            )  # fmt: skip
        return Moved(*moved)

    async def past(self, scope: ReportScope | None = None) -> list[MeetingFigures]:
        """The meetings of the last `PAST_DAYS` whose time has come, latest first; with
        `scope`, those the chat may see (`meetings_chat`)."""
        now = self.clock()
        return await self.store.past(
            now - timedelta(days=PAST_DAYS), now, PAST, meetings_chat(scope)
        )

    def attended_problem(self, meeting: Announcement | None) -> MeetingChangeProblem | None:
        details = meeting.meeting if meeting is not None else None
        if details is None:
            return MeetingChangeProblem.CANCELLED
        return may_enter_attended(details.at, details.cancelled_at is not None, self.clock())

    async def record_attended(
        self, meeting_id: int, count: int, official_id: int, official: str
    ) -> Announcement | MeetingChangeProblem:
        """How many came (entered again, it corrects the count), with who and when."""
        problem = self.attended_problem(await self.meeting(meeting_id))
        if problem is not None:
            return problem
        recorded = await self.store.record_attended(
            meeting_id, count, official_id, official, self.clock()
        )
        if recorded is None:  # called off meanwhile
            return self.attended_problem(await self.meeting(meeting_id)) or (
                MeetingChangeProblem.CANCELLED
            )
        log.info("meeting %s: %d came, entered by %s", meeting_id, count, official_id)
        return recorded
