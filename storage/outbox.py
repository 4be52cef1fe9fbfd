"""The outbox table: every outgoing Bot API call is a row first, so a crash or restart loses none.

A row is pending while both sent_at and dropped_at are NULL. Rows of one chat go out in the order
they were scheduled (scheduled_at, then id): `due` and `earliest_pending` only offer each chat's
first pending row in that order. So a message waiting for a retry holds back the later messages
of its own chat and nobody else's, while a row scheduled for later (a booking's reminder) blocks
nothing that is due before it.

Bulk rows (an announcement's, one per subscriber: `Outgoing.bulk`) give way to every other row:
`due` offers the other due rows first, across chats, and only then the bulk ones, so a
broadcast to thousands never holds back a citizen's answer or the officials' card of a new
appeal. Within a chat the order above holds for the bulk rows among themselves and for the
other rows among themselves (the parts of one message or card stay in order), and a bulk row
never overtakes an earlier row of its chat; but a row that is not bulk overtakes the bulk rows
of its chat scheduled before it: a subscriber who files an appeal while the broadcast is going
out gets the registration number before the announcement queued earlier.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from storage.base import InTransaction

# `OutboxStore.drop_chat`'s notes: the dropped rows' keys -> the rows to write with the drop.
DropNotes = Callable[[list[str]], Sequence["Outgoing"]]


def no_notes(dropped: list[str]) -> Sequence[Outgoing]:
    return ()


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    chat_id: int
    method: str
    payload: dict[str, Any]
    attempts: int
    not_before: datetime
    purpose: str | None
    bulk: bool = False


@dataclass(frozen=True, slots=True)
class NewMessage:
    """One row for `OutboxStore.add_many`; all of them go to the same chat."""

    method: str
    payload: dict[str, Any] = field(default_factory=dict)
    dedupe_key: str | None = None
    purpose: str | None = None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """Rows for one chat, built before they are written: by `OutboxStore.add_outgoing`, or by
    `OutboxStore.write_in` inside another transaction, so that they commit with the change
    that causes them (a status and the citizen's notice of it) or not at all."""

    chat_id: int
    messages: Sequence[NewMessage]
    now: datetime
    not_before: datetime | None = None
    # A broadcast's row (bot.delivery.outbox.Outbox.queue_in(..., bulk=True)): it goes after
    # every other due row, and the sender paces it below Telegram's limit.
    bulk: bool = False


@runtime_checkable
class OutboxStore(Protocol):
    """What consumers ask of the outbox store, whatever the database; on SQLite
    `storage.sqlite.outbox.SQLiteOutboxStore`."""

    async def add(
        self,
        chat_id: int,
        method: str,
        payload: dict[str, Any],
        *,
        now: datetime,
        dedupe_key: str | None = None,
        purpose: str | None = None,
        not_before: datetime | None = None,
    ) -> int:
        """The new row's id, or the existing row's id when `dedupe_key` was enqueued before."""

    async def add_many(
        self,
        chat_id: int,
        messages: Sequence[NewMessage],
        *,
        now: datetime,
        not_before: datetime | None = None,
    ) -> list[int]:
        """Rows for one chat in one transaction, so the parts of a split text are all enqueued
        (with ascending ids and one scheduled time, hence sent in order) or none is."""

    async def add_outgoing(self, batches: Sequence[Outgoing]) -> list[int]:
        """Several chats' rows in one transaction; the row ids in order."""

    async def write_in(self, conn: InTransaction, batches: Sequence[Outgoing]) -> list[int]:
        """`add_outgoing` inside the caller's transaction (the one a store handed to a `then`
        or `also` callback), so the rows commit with the change that causes them or not at
        all. The caller wakes the sender once it has committed
        (`bot.delivery.outbox.Outbox.poke`)."""

    async def due(self, now: datetime, limit: int) -> list[OutboxRow]:
        """Pending rows with not_before <= now: the rows that are not bulk, longest due first,
        then the bulk rows, longest due first. Only a chat's first pending row of each kind in
        the chat's order, because a later one must not overtake it; and a bulk row only if no
        row of its chat that is not bulk comes before it (module docstring)."""

    async def earliest_pending(self, after: datetime | None = None) -> datetime | None:
        """When the next row can go out: the earliest not_before of the rows `due` would offer
        (each chat's first pending row, and its first bulk one unless a row that is not bulk
        comes before it), later than `after` if given, so the sender can ask for future work
        only."""

    async def pending_count(self) -> int: ...

    async def mark_sent(
        self,
        row_id: int,
        message_id: int | None,
        now: datetime,
        message_ids: Sequence[int] = (),
        poll_id: str | None = None,
    ) -> None:
        """`message_ids`: every message a media group became (message_id is the first), so
        that /forget can delete them all. `poll_id`: the poll a sendPoll created (a vote on it
        names it), recorded in the same statement."""

    async def reschedule(
        self, row_id: int, not_before: datetime, error: str, *, count: bool = True
    ) -> None:
        """Try again at `not_before`. `count=False` for waits that are not failures (429)."""

    async def replace_payload(self, row_id: int, payload: dict[str, Any], error: str) -> None:
        """Keep the row but send it differently next time (e.g. as plain text)."""

    async def drop(self, row_id: int, error: str, now: datetime) -> None: ...

    async def pending_keys(self, chat_id: int) -> list[str]:
        """The dedupe keys of the rows pending for a chat ("" for a row without one)."""

    async def drop_chat(
        self, chat_id: int, error: str, now: datetime, notes: DropNotes = no_notes
    ) -> list[str]:
        """Give up on everything pending for a chat; returns the dropped rows' dedupe keys
        ("" for a row without one). `notes`, given those keys, returns the rows that tell
        what was lost (the officials' notes): they are written in the drop's transaction,
        so no crash keeps the drop without them; if it raises, nothing is dropped."""

    async def mark_unreachable(self, chat_id: int) -> None: ...

    async def park_chat(
        self, chat_id: int, error: str, now: datetime, alerts: Sequence[Outgoing] = ()
    ) -> bool:
        """Hold every pending row of a group that refuses the bot (kicked, not a member) until
        it is back: nothing is dropped and nothing retried meanwhile. The first refusal of an
        incident also enqueues `alerts`, in the same transaction, so they go out exactly once
        per incident. True if this refusal started the incident."""

    async def resume_chat(self, chat_id: int, now: datetime) -> int:
        """The bot is back in the group: the incident is over and its parked rows are due now,
        in their order. Returns how many rows."""

    async def retry_parked(self, now: datetime) -> list[int]:
        """At start-up: every parked group is tried once more (the bot may have been added back
        while it was down). Its incident stays open, so a refusal again alerts nobody twice.
        Returns the groups with an open incident."""

    async def end_refusal(self, chat_id: int) -> None:
        """A group that refused the bot took a message again: the incident is over."""

    async def refused_chats(self) -> list[int]: ...

    async def migrate_chat(self, old: int, new: int, now: datetime) -> int:
        """Record that group `old` is now supergroup `new` and move its pending rows there.
        Returns how many rows moved."""

    async def resolve_chat(self, chat_id: int) -> int: ...

    async def migrated_from(self, chat_id: int) -> list[int]:
        """The groups that became supergroup `chat_id` (after a chain, each earlier id)."""
        ...

    async def withdraw(self, purpose: str, reason: str, now: datetime) -> int:
        """Unsent rows with this purpose are not wanted any more (a cancelled booking's
        reminders); sent ones stay as the record of what went out."""

    async def withdraw_in(
        self, conn: InTransaction, purpose: str, reason: str, now: datetime
    ) -> int:
        """`withdraw` inside the caller's transaction (a store's `also` or `then`), so the
        rows go with the change that makes them unwanted or not at all."""

    async def bring_forward(
        self, purpose: str, now: datetime, payload: dict[str, Any] | None = None
    ) -> int:
        """Pending rows with this purpose are due now, and say `payload` instead if given (a
        confirmation the citizen has already seen directly). Returns how many rows."""

    async def message_id_for(self, purpose: str) -> tuple[int, int] | None:
        """(chat_id, message_id) of the latest sent row with this purpose, e.g. to edit a card."""
