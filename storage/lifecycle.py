"""Officials' questions to a citizen and what the citizen adds to an open appeal.

Each write that must happen once is one conditional statement or one transaction: a double
press, a redelivered update or a question answered from two phones at once finds the row
already moved on instead of adding twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from storage.models import Attachment, Status


@dataclass(frozen=True, slots=True)
class Question:
    id: int
    appeal_id: int
    official_id: int
    official_name: str
    text: str
    file_id: str | None
    asked_at: datetime
    answered_at: datetime | None

    @property
    def answered(self) -> bool:
        return self.answered_at is not None


@dataclass(frozen=True, slots=True)
class NewAddition:
    """What the citizen sends after filing: a text and/or files, perhaps answering a
    question. `draft_key` makes a repeated «Done» add nothing."""

    appeal_id: int
    draft_key: str
    text: str
    files: tuple[Attachment, ...]
    question_id: int | None = None


@dataclass(frozen=True, slots=True)
class Addition:
    id: int
    appeal_id: int
    question_id: int | None
    text: str | None
    files: int
    at: datetime


class AddOutcome(StrEnum):
    ADDED = "added"
    REPEATED = "repeated"  # the key was seen: the first addition is returned
    CLOSED = "closed"  # the appeal is not open (any more)
    ANSWERED = "answered"  # the question was answered meanwhile


# Writes in the question's transaction (the backend's own transaction, opaque here, as
# storage.base.InTransaction): (transaction, the question just stored).
QuestionThen = Callable[[Any, "Question"], Awaitable[object]]


@runtime_checkable
class LifecycleStore(Protocol):
    """What consumers ask of the lifecycle store, whatever the database; on SQLite
    `storage.sqlite.lifecycle.SQLiteLifecycleStore`."""

    async def add_question(
        self,
        appeal_id: int,
        official_id: int,
        official_name: str,
        text: str,
        file_id: str | None,
        at: datetime,
        open_statuses: Collection[Status],
        *,
        prompt_id: int | None = None,
        then: QuestionThen | None = None,
    ) -> Question | None:
        """The question and its line in the appeal's history, together; None when the
        appeal is not in one of `open_statuses` (withdrawn or answered meanwhile).
        `prompt_id`: the official's prompt whose «Send» asks it (`storage.prompts`), which
        becomes done in the same transaction, only from its preview: None, and nothing
        written, when it is not there any more (a second «Send»: its question was asked then,
        if it is done). `then(transaction, question)` runs in the same transaction, to write
        the message that asks it (see `OutboxStore.write_in`): the question, its prompt done
        and its message commit together or not at all."""

    async def question(self, question_id: int) -> Question | None: ...

    async def add(
        self, new: NewAddition, actor: str, at: datetime, open_statuses: Collection[Status]
    ) -> tuple[Addition, AddOutcome]:
        """Store what the citizen added, its files with the appeal's, the question (if any)
        marked answered and a line in the history, in one transaction, and only while the
        appeal is in one of `open_statuses`: a withdrawal a moment earlier wins."""

    async def additions(self, appeal_id: int) -> list[Addition]: ...
