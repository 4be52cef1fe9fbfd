"""The state reaching out (issue #13): citizens' subscriptions to districts, and the
announcements officials send to their subscribers.

An announcement's messages are outbox rows with the purpose `announce:<id>` (one per
subscriber, written in the transaction that creates the announcement), so its progress is
counted from the outbox itself: what was sent, what Telegram refused, what was stopped, what
is still pending. Nothing of it lives only in memory; a restart carries on where it was.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from storage.base import InTransaction

SENDING = "sending"
DONE = "done"
STOPPED = "stopped"
# What a stopped row's last_error says, so the progress can count it apart from failures.
STOPPED_ERROR = "stopped by an official"
# A poll's row not sent by its end time (storage.polls): never sent, counted as stopped.
POLL_CLOSED_ERROR = "the poll closed before it was sent"
# How the outbox sender records a citizen who blocked the bot (bot.delivery.sender.describe).
BLOCKED_ERROR_PREFIX = "TelegramForbiddenError"


def announcement_purpose(announcement_id: int) -> str:
    """The outbox purpose of every message of the announcement to a citizen."""
    return f"announce:{announcement_id}"


def meeting_reminder_purpose(meeting_id: int, citizen_id: int) -> str:
    """The outbox purpose of a citizen's reminder of a meeting: withdrawn when they say they
    won't come after all."""
    return f"meeting-reminder:{meeting_id}:{citizen_id}"


def meeting_reminders(meeting_id: int) -> tuple[str, str]:
    """The purposes of every reminder of the meeting, as a range [low, high): what a
    cancellation withdraws in its transaction."""
    low = f"meeting-reminder:{meeting_id}:"
    return low, low[:-1] + ";"  # ';' follows ':'


# What a reminder withdrawn by the meeting's cancellation says (outbox.last_error).
MEETING_CANCELLED = "meeting cancelled"
# What a citizen's reminder withdrawn by «I won't come after all» says.
NOT_COMING = "not coming"


def progress_purpose(announcement_id: int) -> str:
    """The outbox purpose of the edits of its progress message in the officials' chat."""
    return f"announce-progress:{announcement_id}"


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A citizen to receive an announcement: in their language, named by one of their
    subscribed districts among those the announcement is for (the lowest code)."""

    citizen_id: int
    language: str
    district: str


@dataclass(frozen=True, slots=True)
class MeetingDetails:
    """A meeting with residents: who meets them, where, when (an instant), its topics."""

    who: str
    place: str
    at: datetime
    topics: tuple[str, ...]
    cancelled_at: datetime | None = None
    # How many came, as the organisers entered it after the meeting (the latest entry), who
    # entered it (an official's name then) and when.
    attended: int | None = None
    attended_by_name: str | None = None
    attended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PollDetails:
    """A poll: its options in each language (the same count, the same order), when it closes
    (an instant), and when it was closed (None until then). The question is the text."""

    options_kk: tuple[str, ...]
    options_ru: tuple[str, ...]
    closes_at: datetime
    closed_at: datetime | None = None

    def options(self, lang: str) -> tuple[str, ...]:
        return self.options_kk if lang == "kk" else self.options_ru


@dataclass(frozen=True, slots=True)
class NewAnnouncement:
    draft_key: str
    kind: str
    districts: tuple[str, ...]
    text_kk: str
    text_ru: str
    chat_id: int
    progress_message_id: int | None
    author_id: int
    author_name: str
    created_at: datetime
    meeting: MeetingDetails | None = None  # kind «meeting» only
    poll: PollDetails | None = None  # kind «poll» only


@dataclass(frozen=True, slots=True)
class Announcement:
    id: int
    draft_key: str
    kind: str
    districts: tuple[str, ...]
    text_kk: str
    text_ru: str
    chat_id: int
    progress_message_id: int | None
    author_id: int
    author_name: str
    status: str
    total: int
    shown: str | None
    created_at: datetime
    finished_at: datetime | None
    meeting: MeetingDetails | None = None
    poll: PollDetails | None = None

    def text(self, lang: str) -> str:
        return self.text_kk if lang == "kk" else self.text_ru


@dataclass(frozen=True, slots=True)
class Progress:
    """An announcement's rows by state. `total` is what was queued; a row /forget erased
    since counts in none of the others."""

    total: int
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    stopped: int = 0
    pending: int = 0

    @property
    def key(self) -> str:
        """One spelling per state, to tell whether the progress message needs an edit."""
        counts = (self.total, self.sent, self.failed, self.blocked, self.stopped, self.pending)
        return "/".join(map(str, counts))


# Writes the citizens' rows in the creating transaction: (transaction, announcement, who).
WriteMessages = Callable[[InTransaction, Announcement, Sequence[Subscriber]], Awaitable[int]]
# What the outbox row of a citizen's reminder of a meeting says when a move withdraws it
# (calling the meeting off: MEETING_CANCELLED).
MOVED_ERROR = "meeting moved"


@dataclass(frozen=True, slots=True)
class NewMeetingMove:
    """An official moves a meeting: its new time and place, keyed by their dialog's draft."""

    meeting_id: int
    draft_key: str
    new_at: datetime
    new_place: str  # empty: the place the meeting has when it is moved
    moved_by: int
    moved_by_name: str
    moved_at: datetime


@dataclass(frozen=True, slots=True)
class MeetingMove:
    """A move as stored: where and when the meeting was, and is now; `told`, how many who
    said they come were sent the notice."""

    id: int
    meeting_id: int
    draft_key: str
    old_at: datetime
    new_at: datetime
    old_place: str
    new_place: str
    told: int
    moved_by: int
    moved_by_name: str
    moved_at: datetime


# Writes, in the moving transaction, each reachable attendee's notice and new reminder:
# (transaction, the meeting as moved, the move, who) -> how many were told.
WriteMove = Callable[
    [InTransaction, Announcement, MeetingMove, Sequence[Subscriber]], Awaitable[int]
]


# More writes in the transaction of a new registration (its reminder): (transaction).
WriteWithRegistration = Callable[[InTransaction], Awaitable[object]]


@runtime_checkable
class SubscriptionStore(Protocol):
    """What consumers ask of the subscriptions, whatever the database; on SQLite
    `storage.sqlite.outreach.SQLiteSubscriptionStore`."""

    async def subscribe(self, citizen_id: int, district: str, now: datetime) -> bool:
        """True if the subscription is new. The citizen's row must exist (they chose a
        language)."""

    async def unsubscribe(self, citizen_id: int, district: str) -> bool:
        """True if there was such a subscription."""

    async def unsubscribe_all(self, citizen_id: int) -> int: ...

    async def districts_of(self, citizen_id: int) -> list[str]:
        """The citizen's subscriptions, in the order they were made."""

    async def count_subscribers(self, districts: Collection[str]) -> int:
        """How many reachable citizens an announcement to `districts` would reach now."""


@runtime_checkable
class AnnouncementStore(Protocol):
    """What consumers ask of the announcements, whatever the database; on SQLite
    `storage.sqlite.outreach.SQLiteAnnouncementStore`."""

    async def create(self, new: NewAnnouncement, write: WriteMessages) -> tuple[Announcement, bool]:
        """Store the announcement and, in the same transaction, have `write` queue one message
        per reachable subscriber of its districts (each citizen once, however many of the
        districts they follow). (existing, False) when `draft_key` was sent before: nothing is
        queued twice."""

    async def get(self, announcement_id: int) -> Announcement | None: ...

    async def sending(self, stopped_since: datetime) -> list[Announcement]:
        """Announcements still going out, and those stopped after `stopped_since` (what was
        on its way to Telegram at «Stop» may still land), oldest first."""

    async def progress(self, announcement: Announcement) -> Progress: ...

    async def stop(self, announcement_id: int, now: datetime) -> Announcement | None:
        """Drop the rows not yet sent and mark it stopped, in one transaction; None if it was
        not sending any more (finished, or stopped already)."""

    async def record_shown(
        self, announcement_id: int, shown: str, finished: bool, now: datetime
    ) -> None:
        """The progress message now shows `shown`; `finished`: nothing is pending, it is done
        (a stopped one stays stopped)."""


@dataclass(frozen=True, slots=True)
class Attendance:
    """A citizen's «I will come» to a meeting, with the access needs they asked for."""

    meeting_id: int
    citizen_id: int
    access: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MeetingQuestion:
    id: int
    meeting_id: int
    topic: int | None  # an index into the meeting's topics; None: another topic
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MeetingFigures:
    """What the organisers see of a meeting: the head count, the access needs summed (code ->
    how many asked for it) and the advance questions, oldest first."""

    meeting: Announcement
    coming: int
    access: dict[str, int]
    questions: tuple[MeetingQuestion, ...]


@runtime_checkable
class MeetingStore(Protocol):
    """The citizens' registrations and advance questions for meetings (announcements of kind
    «meeting»); on SQLite `storage.sqlite.outreach.SQLiteMeetingStore`."""

    async def register(
        self,
        meeting_id: int,
        citizen_id: int,
        access: Sequence[str],
        now: datetime,
        then: WriteWithRegistration | None = None,
    ) -> bool:
        """True if new; False if the citizen had said they come already (nothing changes: a
        double press counts once), or the meeting is no meeting or called off (by the time
        of the write). `then(transaction)` runs in the same transaction when it is new: the
        reminder commits with the registration, or neither does."""

    async def unregister(self, meeting_id: int, citizen_id: int, now: datetime) -> bool:
        """Remove the registration and, in the same transaction, the citizen's reminders of
        the meeting not sent yet (`meeting_reminder_purpose`; withdrawn whether or not there
        was a registration, so a second press mends what a failure left). True if there was
        such a registration."""

    async def attendance(self, meeting_id: int, citizen_id: int) -> Attendance | None: ...

    async def ask(
        self, meeting_id: int, citizen_id: int, topic: int | None, text: str, now: datetime
    ) -> MeetingQuestion:
        """Keep the question; the same words from the same citizen to the same meeting are
        kept once (a redelivered update, a retry after an error), and the first is returned."""

    async def upcoming(
        self, since: datetime, limit: int, chat_id: int | None = None
    ) -> list[MeetingFigures]:
        """Meetings at or after `since` not called off, soonest first, with their figures;
        announced from `chat_id` only, unless it is None."""

    async def past(
        self, since: datetime, until: datetime, limit: int, chat_id: int | None = None
    ) -> list[MeetingFigures]:
        """Meetings at or after `since` and before `until`, not called off, latest first,
        with their figures; announced from `chat_id` only, unless it is None."""

    async def move(
        self, new: NewMeetingMove, write: WriteMove
    ) -> tuple[Announcement, MeetingMove, bool] | None:
        """Move the meeting, in one transaction: record the move (keyed by `draft_key`), set
        the meeting's time and place, withdraw every pending day-before reminder of it (their
        outbox rows, `meeting_reminder_purpose`) and have `write` queue each reachable
        attendee's notice and new reminder (`Subscriber.district` is empty). (the meeting,
        the move, True); (the meeting as it is, the earlier move, False) when `draft_key` was
        moved before: nothing is written twice. None if it is no meeting, it was called off,
        or its time is not after `new.moved_at` any more."""

    async def move_of(self, draft_key: str) -> MeetingMove | None:
        """The move the dialog with `draft_key` made, if it made one."""

    async def record_attended(
        self, meeting_id: int, count: int, by: int, by_name: str, now: datetime
    ) -> Announcement | None:
        """How many came (a correction replaces the count), with who entered it and when;
        None unless it is a meeting not called off whose time is not after `now`."""

    async def cancel(
        self, meeting_id: int, now: datetime, write: WriteMessages
    ) -> tuple[Announcement, list[int]] | None:
        """Call the meeting off and, in the same transaction, withdraw every pending reminder
        of it (`meeting_reminder_purpose`) and have `write` queue a message to each reachable
        citizen who said they come (`Subscriber.district` is empty). Returns the meeting and
        everyone who said they come, reachable or not; None if it is no meeting, or was called
        off already."""
