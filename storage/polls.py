"""Polls (issue #13): announcements of kind «poll» (storage.outreach holds the poll itself),
who was sent which Telegram poll, and the citizens' votes.

A poll's messages are the announcement's outbox rows (sendPoll, purpose `announce:<id>`), so
they go out, are counted and stopped as any announcement's. Each row has a `poll_sends` row
written in the same transaction (citizen, language, the district their vote counts for); once
Telegram has taken it, the sender records the poll's id on the outbox row together with its
message id (`OutboxStore.mark_sent`), so a poll_answer finds its citizen through
`recipient(poll_id)` and nothing lives only in memory.

Closing is claimed in the database (`close`): the first instance to set `poll_closed_at`
queues the stopPoll and result messages in the same transaction; every other one, and every
later tick, finds it closed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from storage.base import InTransaction
from storage.outreach import POLL_CLOSED_ERROR, Announcement, Subscriber

__all__ = ["POLL_CLOSED_ERROR"]  # what a poll's rows not sent by its end say when dropped


def poll_close_purpose(announcement_id: int) -> str:
    """The outbox purpose of the stopPoll calls that close a poll's messages."""
    return f"poll-close:{announcement_id}"


def poll_results_purpose(announcement_id: int) -> str:
    """The outbox purpose of the results sent to the citizens when a poll closes."""
    return f"poll-results:{announcement_id}"


@dataclass(frozen=True, slots=True)
class PollRecipient:
    """A citizen a poll was sent to: in `language`, their vote counted for `district`."""

    announcement_id: int
    citizen_id: int
    language: str
    district: str


@dataclass(frozen=True, slots=True)
class SentPoll:
    """A poll message Telegram took, to be stopped at the end; `follows` is whether the
    citizen still subscribes to one of the poll's districts and is reachable (then they get
    the results as well)."""

    recipient: PollRecipient
    chat_id: int
    message_id: int
    follows: bool


@dataclass(frozen=True, slots=True)
class PollResults:
    """A poll with its votes as (district, option, count) rows, and how many citizens it
    reached (poll messages Telegram took)."""

    poll: Announcement
    votes: tuple[tuple[str, int, int], ...]
    delivered: int


# Writes the closing rows in the closing transaction: (transaction, results, sent polls).
WriteClosing = Callable[[InTransaction, PollResults, Sequence[SentPoll]], Awaitable[int]]


@runtime_checkable
class PollStore(Protocol):
    """What consumers ask of the polls' records, whatever the database; on SQLite
    `storage.sqlite.polls.SQLitePollStore`."""

    async def record_sends(
        self, conn: InTransaction, announcement_id: int, sends: Sequence[tuple[Subscriber, int]]
    ) -> None:
        """In the transaction that creates the poll: each subscriber with the id of their
        outbox row (`Subscriber.language` and `.district` as the poll was written for them)."""

    async def recipient(self, poll_id: str) -> PollRecipient | None:
        """Whom the Telegram poll `poll_id` was sent to; None for a poll the bot did not send
        (or one whose row /forget erased)."""

    async def cast(self, recipient: PollRecipient, option: int, now: datetime) -> bool:
        """Record the citizen's vote, replacing the one they had; False (nothing written) if
        the poll is closed or its end time is not later than `now`."""

    async def retract(self, recipient: PollRecipient, now: datetime) -> bool:
        """Remove the citizen's vote; False if there was none, or the poll is over."""

    async def due(self, now: datetime) -> list[int]:
        """Polls whose end time has come and that are not closed yet, oldest first."""

    async def close(
        self, announcement_id: int, now: datetime, write: WriteClosing
    ) -> PollResults | None:
        """Claim the closing: mark the poll closed, drop its rows not sent yet and have
        `write` queue what closing sends, in one transaction. None if it was closed already
        (by another instance, or an earlier tick) or is no poll."""

    async def results(self, announcement_id: int) -> PollResults | None: ...

    async def running_since(self, since: datetime, chat_id: int | None) -> list[PollResults]:
        """Polls open at `since` or later: their end time is not before it (open ones, and
        those closed since), by end time; sent from `chat_id` only, unless it is None."""

    async def closed_between(
        self, since: datetime, until: datetime, chat_id: int | None
    ) -> list[PollResults]:
        """Polls closed in [since, until), oldest first; sent from `chat_id` only, unless it
        is None."""
