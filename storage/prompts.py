"""The bot's prompts in officials' chats, each one a row keyed by the message it lives in.

Every change of state is one conditional write, so a double press, a redelivered update or two
officials at once find the row already moved on instead of acting twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

# Writes in the expiry's transaction (the backend's own transaction, opaque here, as
# storage.base.InTransaction): (transaction, the prompts expired, appeal id -> reference).
ExpiredThen = Callable[[Any, list["Prompt"], Mapping[int, str]], Awaitable[object]]


class PromptAction(StrEnum):
    ANSWER = "answer"
    EXTEND = "extend"
    DUPLICATE = "duplicate"
    ASK = "ask"  # a question to the citizen


class PromptState(StrEnum):
    # Recorded before it is posted (`PromptStore.reserve`), its message id not known yet
    # (the row holds a negative placeholder); `PromptStore.posted` makes it open. One left here
    # was posted, or maybe posted, by a process that died (or whose write failed) before
    # Telegram's answer was recorded: a reply to it is told so, never taken by a dialog.
    POSTING = "posting"
    OPEN = "open"  # waiting for the official's reply
    PREVIEW = "preview"  # a reply is shown back to the official, waiting for «Send»
    DONE = "done"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REPLACED = "replaced"  # «Edit» opened a new prompt in its place
    VOID = "void"  # the appeal moved on (answered by someone else) before «Send»


LIVE = (PromptState.OPEN, PromptState.PREVIEW)


@dataclass(frozen=True, slots=True)
class Prompt:
    id: int
    chat_id: int
    message_id: int
    appeal_id: int
    action: PromptAction
    outcome: str | None
    official_id: int
    official_name: str
    state: PromptState
    draft_text: str | None
    draft_file_id: str | None
    preview_message_id: int | None
    expires_at: datetime
    # An extension's draft: the deadline its preview was made against (None otherwise, or
    # for a preview made before release 0022 kept it).
    draft_due_at: datetime | None = None

    @property
    def live(self) -> bool:
        return self.state in LIVE


@dataclass(frozen=True, slots=True)
class NewPrompt:
    chat_id: int
    message_id: int
    appeal_id: int
    action: PromptAction
    official_id: int
    official_name: str
    outcome: str | None = None


@runtime_checkable
class PromptStore(Protocol):
    """What consumers ask of the prompts store, whatever the database; on SQLite
    `storage.sqlite.prompts.SQLitePromptStore`."""

    async def add(self, new: NewPrompt, now: datetime, expires_at: datetime) -> Prompt: ...

    async def reserve(self, new: NewPrompt, now: datetime, expires_at: datetime) -> Prompt:
        """Record a prompt about to be posted (`new.message_id` is ignored): state POSTING,
        message id unknown (stored as a negative placeholder, unique, which no Telegram message
        has)."""

    async def posted(self, prompt_id: int, message_id: int) -> Prompt | None:
        """The reserved prompt went out as `message_id`: it opens. None if it is no longer
        POSTING (given up as unposted)."""

    async def unposted(self, chat_id: int, official_id: int) -> list[Prompt]:
        """The official's prompts in the chat left POSTING: posted, perhaps, and never
        recorded as such (a crash or a failed write in between), oldest first."""

    async def by_message(self, chat_id: int, message_id: int) -> Prompt | None: ...

    async def get(self, prompt_id: int) -> Prompt | None: ...

    async def set_draft(
        self,
        prompt_id: int,
        text: str,
        file_id: str | None,
        expires_at: datetime,
        shown_due: datetime | None = None,
    ) -> bool:
        """A (new) reply to a live prompt: it becomes the draft under preview; an earlier
        preview of the same prompt is superseded (its message id is forgotten). `shown_due`:
        for an extension, the deadline the preview is made against (`Prompt.draft_due_at`)."""

    async def set_preview_message(self, prompt_id: int, message_id: int) -> None: ...

    async def finish(
        self,
        prompt_id: int,
        state: PromptState,
        *,
        from_states: tuple[PromptState, ...] = LIVE,
    ) -> bool:
        """Move a prompt to a final state if it is still in one of `from_states`; the draft
        goes (what was sent is kept with the appeal)."""

    async def void_for_appeal(self, appeal_id: int) -> list[Prompt]:
        """The appeal is closed to officials (the citizen withdrew it): its live prompts
        end, and come back with their preview messages, which then lose their buttons."""

    async def void_for_appeal_in(self, conn: Any, appeal_id: int) -> list[Prompt]:
        """`void_for_appeal` inside the caller's transaction (the one a store handed to a
        `then`, as `storage.base.InTransaction`): the prompts end with the change that closes
        the appeal (`Repository.transition`) and the rows that say so, or not at all."""

    async def expire_due(
        self, now: datetime, limit: int = 100, *, then: ExpiredThen | None = None
    ) -> list[Prompt]:
        """Live prompts past their time, now expired (and their drafts gone), earliest first:
        their chats and messages, for the notice that says so. A prompt a press finishes at
        the same moment is either expired here or finished there, never both.
        `then(transaction, expired, references)` (the appeals' reference numbers by appeal
        id) runs in the same transaction, to write the notices, which commit with the
        expiry or not at all (see `OutboxStore.write_in`)."""
