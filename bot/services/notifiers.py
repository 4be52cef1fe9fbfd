"""The ports through which services have citizens and officials told something, without
speaking Telegram themselves (Shvatka's `OrgNotifier`, cosmicpython's `AbstractNotifications`).

A service decides what happened, to whom, under which outbox key and in which transaction;
the implementation in `bot.views` (handed in by `bot.app`, the composition root) decides
how it reads: the text in the right language, the keyboard, the Bot API payload. Renderers
return plain text, a message (`Rendered`) or outbox rows (`Outgoing`), never write them: the
service queues what they built, in its own transaction where the change needs one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.delivery.outbox import Unreached
from bot.domain.catalog import Catalog
from bot.domain.digest import DigestData
from bot.domain.receptions import Reception, ReceptionCatalog
from bot.domain.reports import ExportPeriod
from storage.bookings import Booking
from storage.lifecycle import Question
from storage.models import Appeal, Attachment
from storage.outbox import Outgoing
from storage.outreach import Announcement, MeetingMove, Progress, Subscriber
from storage.polls import PollResults, SentPoll
from storage.reports import PeriodAppeal, PeriodMeeting

# One message as a view made it: the text (Telegram HTML) and the keyboard (None for none),
# which the outbox stores as JSON; the service gives the row its keys.
Rendered = tuple[str, Any]


class ConfirmationMessages(Protocol):
    """What a citizen's confirmation row carries (`bot.services.confirmations`), rendered in
    the current locale (the citizen's)."""

    def confirmation(self, text: str) -> Mapping[str, Any]:
        """The sendMessage payload of the confirmation `text` with the main menu."""
        ...

    def back_in_menu(self) -> Mapping[str, Any]:
        """The sendMessage payload that brings the main menu alone."""
        ...


class BookingNotices(Protocol):
    """What the citizens who book (and the officials' digest) read about bookings."""

    def offer(
        self, reception: Reception, start: datetime, until: datetime, offer_id: int, lang: str
    ) -> Rendered:
        """A freed place held for the first in line until `until`, with «Take the place»."""
        ...

    def session_cancelled(self, booking: Booking, reception: Reception, lang: str) -> Rendered: ...

    def reminder(self, booking: Booking, reception: Reception, lang: str) -> Rendered:
        """A booking's reminder, with the button that cancels it."""
        ...

    def describe(self, booking: Booking, reception: Reception, lang: str, heading: str) -> str:
        """A booking under `heading`, in the current locale; `lang` picks names and dates."""
        ...

    def today(self, sessions: Sequence[tuple[Reception, Sequence[Booking], int]], lang: str) -> str:
        """Today's receptions (each with its bookings and places) for the morning digest."""
        ...


class LifecycleNotices(Protocol):
    """What withdrawing, adding to and asking about an appeal tell (`AppealLifecycle`)."""

    def question(self, appeal: Appeal, question: Question) -> list[Outgoing]:
        """The officials' question to the citizen, in the appeal's language, with «Answer»
        (its file first, when it has one)."""
        ...

    def withdrawn(self, appeal: Appeal) -> str:
        """The officials' chat reads that the citizen withdrew the appeal."""
        ...

    def addition(self, appeal: Appeal, text: str, files: int, question: Question | None) -> str:
        """The officials' chat reads what the citizen added, or answered to `question`."""
        ...

    def under_card(
        self,
        appeal: Appeal,
        chat_id: int,
        card_message_id: int | None,
        text: str,
        key: str,
        files: Sequence[Attachment] = (),
        purpose: str | None = None,
    ) -> list[Outgoing]:
        """`text` and `files` as replies to the appeal's card; keys derived from `key`."""
        ...

    def retire_preview(self, chat_id: int, message_id: int, prompt_id: int) -> Outgoing:
        """A prompt's preview loses its «Send»."""
        ...


class OfficialsNotices(Protocol):
    """The officials' side of an appeal (`OfficialsService`): its card, and what each action
    tells the citizen and the officials' chat, as outbox rows the service queues (in the
    transaction of the status change where there is one). `forward_overdue` is the
    service's rule (APPK Art. 65), shown on the card."""

    def card_text(self, appeal: Appeal, *, full: bool, forward_overdue: bool) -> str:
        """The card's text in the current locale (a caller that is not in an update sets
        it)."""
        ...

    def card(self, appeal: Appeal, chat_id: int, *, forward_overdue: bool) -> list[Outgoing]:
        """A new card in `chat_id`, then its photos, documents and map pin."""
        ...

    def card_edit(
        self, appeal: Appeal, chat_id: int, message_id: int, *, forward_overdue: bool
    ) -> Outgoing:
        """The card's message edited to the appeal as it is now."""
        ...

    def status_changed(self, appeal: Appeal) -> list[Outgoing]:
        """The citizen hears of the appeal's new status (a forward: where to)."""
        ...

    def answered(self, appeal: Appeal) -> list[Outgoing]:
        """The official's answer (and its file) for the citizen, asking whether it solved
        the problem."""
        ...

    def extended(self, appeal: Appeal, new_due: date, reason: str) -> list[Outgoing]:
        """The citizen hears of the new deadline and why."""
        ...

    def duplicate(self, appeal: Appeal, original_reference: str) -> list[Outgoing]:
        """The citizen hears that the appeal repeats an earlier one."""
        ...

    def citizen_verdict(self, appeal: Appeal) -> list[Outgoing]:
        """The officials' chat hears what the citizen said of the answer: solved or not,
        or the rating."""
        ...

    def citizen_comment(self, appeal: Appeal, comment: str) -> list[Outgoing]:
        """The officials' chat gets the citizen's comment on an unsolved answer."""
        ...

    def undelivered(
        self, appeal: Appeal, what: Unreached, chat_id: int, card_message_id: int | None
    ) -> Outgoing:
        """Under the card: the answer or the question `what` never reached the citizen, who
        blocked the bot."""
        ...


class ErasureNotices(Protocol):
    """What cleans an officials' chat after /forget (`CitizenErasure`); called in the
    officials' locale."""

    def delete(self, chat_id: int, message_ids: Sequence[int]) -> Outgoing: ...

    def tombstone(self, chat_id: int, message_id: int, reference: str) -> Outgoing:
        """A text the bot can no longer delete, edited into a note that the data is gone."""
        ...

    def file_tombstone(self, chat_id: int, message_id: int, reference: str) -> Outgoing:
        """A file the bot can no longer delete: its caption asks the officials to."""
        ...

    def left_behind(
        self, chat_id: int, reference: str, count: int, card_message_id: int | None
    ) -> Outgoing:
        """Told under the card: what stays in the chat for the officials to delete."""
        ...

    def retire_preview(self, chat_id: int, message_id: int) -> Outgoing: ...


class DigestRenderer(Protocol):
    """The officials' digest as Telegram HTML, in the officials' language."""

    def __call__(self, data: DigestData, today: str | None = None) -> str: ...


class WorkbookRenderer(Protocol):
    """/export's workbook (xlsx bytes), in the current locale."""

    def __call__(
        self,
        appeals: list[PeriodAppeal],
        catalog: Catalog,
        lang: str,
        tz: ZoneInfo,
        period: ExportPeriod,
        bookings: list[dict[str, Any]] | None = None,
        *,
        receptions: ReceptionCatalog | None = None,
        full: bool = False,
        meetings: list[PeriodMeeting] | None = None,
        polls: Sequence[PollResults] = (),
    ) -> bytes: ...


class AnnouncementMessages(Protocol):
    """What an announcement's subscribers and its officials' chat read (issue #13)."""

    def to_citizen(self, announcement: Announcement, subscriber: Subscriber) -> Outgoing:
        """The announcement in the subscriber's language, with one-tap «Unsubscribe» buttons;
        its outbox row carries the purpose and dedupe key the service gives."""
        ...

    def progress(self, announcement: Announcement, progress: Progress) -> Outgoing | None:
        """The edit of the progress message in the officials' chat (None when there is no
        message to edit)."""
        ...


class MeetingMessages(Protocol):
    """What a citizen who said they come to a meeting with residents reads (issue #13)."""

    def reminder(
        self, meeting: Announcement, citizen_id: int, lang: str, at: datetime, key: str
    ) -> Outgoing:
        """The reminder the day before, in `lang`, with «I won't come after all»; its outbox
        row is due `at`, with the dedupe key `key` and the purpose
        `meeting_reminder_purpose`."""
        ...

    def cancelled(self, meeting: Announcement, subscriber: Subscriber) -> Outgoing:
        """To one who said they come: the meeting is called off, in their language."""
        ...

    def moved(self, meeting: Announcement, move: MeetingMove, subscriber: Subscriber) -> Outgoing:
        """To one who said they come: the meeting is moved (`move`: from where and when to
        where and when), in their language; their registration stays, with «I won't come
        after all». Its dedupe key names the move and the citizen: once per move."""
        ...


class PollMessages(Protocol):
    """What closing a poll sends, and how its results read in the digest (issue #13)."""

    def stop(self, poll: Announcement, sent: SentPoll) -> Outgoing:
        """The stopPoll of the poll message sent to a citizen."""
        ...

    def results(self, results: PollResults, sent: SentPoll) -> Outgoing:
        """The results by option, to a citizen who received the poll, in their language."""
        ...

    def digest(self, closed: Sequence[PollResults]) -> str:
        """The digest's section on the polls closed that day, in the officials' language."""
        ...
