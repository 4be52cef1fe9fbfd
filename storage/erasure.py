"""/forget in the database: one transaction erases or anonymises every row about a citizen,
and nothing erased can be read back from the database's files afterwards.

What goes, what is anonymised and what stays (README, «What /forget erases»):
- erased: the citizens row, the FSM rows (dialog drafts), the waiting list, the subscriptions
  to districts' announcements, the registrations for meetings and the questions asked in
  advance, the votes in polls and the record of which poll went to them, every outbox row to
  the citizen's chat, the appeals' files, what the citizen added and was asked, the drafts of
  officials' replies, the records of the card's copies; the text, location, contact, address
  and comment of each appeal; a booking's contact, question and «anything else» (the trigger
  of migration 0004);
- anonymised: appeals, bookings and their history keep what statistics need (kind, category,
  place, dates, status, outcome, rating, access needs) with no link to the person: no
  Telegram id (the history's actor becomes plain «citizen»), and the texts the akimat keeps
  (the official's answer, an extension's reason) without the citizen's name, phone or address;
- the messages the bot posted in officials' chats with the citizen's data are returned to the
  caller, whose `cleanup` says how to edit or delete them there; their outbox rows keep no
  payload (a pending card keeps its place in the queue and gets the erased version instead).

How a backend keeps erased rows out of its files is its own (SQLite: `storage.sqlite.erasure`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from storage.models import Appeal
from storage.outbox import Outgoing


def card_purpose(appeal_id: int) -> str:
    """The appeal's card in an officials' chat (one per chat it was routed to)."""
    return f"card:{appeal_id}"


def card_edit_purpose(appeal_id: int) -> str:
    """An edit of the card: it carries the card's text, not a message of its own."""
    return f"card-edit:{appeal_id}"


def personal_purpose(appeal_id: int) -> str:
    """Any other message in an officials' chat with the citizen's data in it: the card's
    files and map pin, what the citizen added or answered, their comment."""
    return f"appeal:{appeal_id}"


@dataclass(frozen=True)
class Identifiers:
    """What identified the citizen, as stored before the erasure: the texts the akimat keeps
    are cleaned of it (`bot.services.erasure.redact`)."""

    names: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Posted:
    """A message the bot posted in an officials' chat about the appeal."""

    chat_id: int
    message_ids: tuple[int, ...]  # a media group is several messages
    kind: str  # "card" | "text" | "media" | "location"
    sent_at: datetime


@dataclass(frozen=True)
class LivePreview:
    """An official's preview that was waiting for «Send»: its buttons must go."""

    prompt_id: int
    chat_id: int
    message_id: int


@dataclass(frozen=True)
class ErasedAppeal:
    appeal: Appeal  # as it is now: anonymised
    posted: tuple[Posted, ...] = ()
    unsent_cards: tuple[tuple[int, int], ...] = ()  # (outbox row id, chat id) not yet sent
    previews: tuple[LivePreview, ...] = ()


@dataclass
class Cleanup:
    """What the caller wants done about the erased appeals' messages: rows to queue, and the
    payloads that replace those of unsent cards (by outbox row id)."""

    rows: list[Outgoing] = field(default_factory=list)
    cards: dict[int, dict[str, Any]] = field(default_factory=dict)


Redact = Callable[[str, Identifiers], str]
Plan = Callable[[Sequence[ErasedAppeal]], Cleanup]


@runtime_checkable
class ErasureStore(Protocol):
    """What consumers ask of the erasure store, whatever the database; on SQLite
    `storage.sqlite.erasure.SQLiteErasureStore`."""

    async def record_copy(
        self, appeal_id: int, chat_id: int, message_ids: Iterable[int], at: datetime
    ) -> None:
        """The card posted directly in an officials' chat (📄 Show all, /find)."""

    async def erase(
        self, citizen_id: int, now: datetime, redact: Redact, plan: Plan | None = None
    ) -> list[ErasedAppeal]:
        """Erase and anonymise everything about the citizen in one transaction, with the rows
        `plan` asks for (edits and deletions in officials' chats) committed in the same one.
        Returns the appeals anonymised."""
