"""The repository interface (citizens, appeals, their history, updates handled) and what
every store shares. Each other store's interface is a Protocol in storage/<store>.py; the
SQLite implementations are in storage/sqlite/."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from storage.fsm import FsmWrite
from storage.models import Appeal, Citizen, HistoryNote, NewAppeal, Status

# The open transaction a store hands to a caller's callback (`also`, `then`) and takes back
# (`OutboxStore.write_in`): consumers only pass it on, so it is the backend's own type
# (`storage.sqlite.transaction.Transaction` on SQLite) and opaque here.
InTransaction = Any
# More writes in a repository's transaction: (the transaction, the new reference).
AlsoWrite = Callable[[InTransaction, str], Awaitable[None]]


class UpdateClaim(NamedTuple):
    """Webhook mode: an instance still handling an update it answered 503 for (it took longer
    than `answer_within`), until when it says so (renewed while it handles). Whether it still
    counts is bot.domain.claims's to say."""

    holder: str
    expires_at: datetime


class OpenedUpdate(NamedTuple):
    """What every update asks first (`Repository.open_update`)."""

    seen: bool  # handled already: skipped
    citizen: Citizen | None  # who sent it (None once seen)
    claim: UpdateClaim | None = None  # another instance's, if any (None once seen)


@dataclass(frozen=True)
class DependsOn:
    """Another appeal a transition was decided on (`Repository.transition(…, depends_on=…)`):
    it must still be in one of `statuses`, and every column in `expect` must still hold the
    value given (None: NULL), when the transition commits; checked in its transaction, so a
    change of that appeal committed after the caller read it refuses the transition."""

    appeal_id: int
    statuses: frozenset[Status]
    expect: Mapping[str, Any] = field(default_factory=dict)


class DatabaseBusy(Exception):
    """The database stayed locked by another connection (a backup, an operator's sqlite3
    shell) past the busy timeout and the retries: what was asked was not written at all."""


class Repository(ABC):
    @abstractmethod
    async def close(self) -> None: ...

    # citizens
    @abstractmethod
    async def get_citizen(self, user_id: int) -> Citizen | None: ...

    @abstractmethod
    async def set_language(self, user_id: int, language: str) -> None:
        """Creates the citizen on first contact."""

    @abstractmethod
    async def set_reachable(self, user_id: int) -> None:
        """The citizen wrote again after blocking the bot: messages may reach them."""

    @abstractmethod
    async def set_consent(self, user_id: int, at: datetime) -> None: ...

    # appeals
    @abstractmethod
    async def create_appeal(
        self, new: NewAppeal, also: AlsoWrite | None = None
    ) -> tuple[Appeal, bool]:
        """Store an appeal with a fresh reference; (existing, False) if draft_key was seen.
        `also(conn, reference)` runs inside the same transaction when the appeal is new: what
        must exist exactly when the appeal does (the citizen's confirmation) is written with
        it."""

    @abstractmethod
    async def appeal_by_draft(self, draft_key: str) -> Appeal | None: ...

    @abstractmethod
    async def get_appeal(self, appeal_id: int) -> Appeal | None: ...

    @abstractmethod
    async def appeal_references(self, appeal_ids: Collection[int]) -> dict[int, str]:
        """Registration numbers by appeal id, in one read whatever the number of ids; an id
        without an appeal is left out."""

    @abstractmethod
    async def citizen_appeals(self, citizen_id: int, limit: int, offset: int) -> list[Appeal]:
        """Newest first."""

    @abstractmethod
    async def count_citizen_appeals(self, citizen_id: int) -> int: ...

    @abstractmethod
    async def appeal_by_reference(self, reference: str) -> Appeal | None: ...

    @abstractmethod
    async def unpublished_appeals(self, limit: int) -> list[Appeal]:
        """Registered appeals whose card was never queued (a crash between the two)."""

    @abstractmethod
    async def set_officials_chat(self, appeal_id: int, chat_id: int) -> None: ...

    @abstractmethod
    async def transition(
        self,
        appeal_id: int,
        allowed_from: frozenset[Status],
        new: Status,
        actor: str,
        at: datetime,
        note: str | None = None,
        *,
        actor_name: str | None = None,
        then: Callable[[InTransaction, Appeal], Awaitable[object]] | None = None,
        expect: Mapping[str, Any] | None = None,
        depends_on: DependsOn | None = None,
        **fields: Any,
    ) -> Appeal | None:
        """Change status (and fields) only from an allowed status and while every column in
        `expect` still holds the value given (what the actor saw); None if not.
        `actor_name`: the official's display name, kept with the history row.
        `then(connection, changed appeal)` runs inside the same transaction (to enqueue the
        notices the change causes, see `OutboxStore.write_in`).
        `depends_on`: another appeal that must still be as the actor saw it (a duplicate's
        original), checked in the same transaction; None if not. On PostgreSQL the two rows
        are locked in ascending id order (this one FOR UPDATE, the other FOR SHARE), the order
        every transaction that locks several appeals keeps (`/forget` too), so none of them
        deadlock."""

    @abstractmethod
    async def update_fields(self, appeal_id: int, **fields: Any) -> None: ...

    @abstractmethod
    async def update_if(
        self,
        appeal_id: int,
        expect: Mapping[str, Any],
        *,
        then: Callable[[InTransaction, Appeal], Awaitable[object]] | None = None,
        note: HistoryNote | None = None,
        **fields: Any,
    ) -> Appeal | None:
        """Set `fields` only while every column in `expect` holds the value given (None: NULL),
        checked in the same statement (or under the row's lock); None if not. `note`, a line
        in the appeal's history that keeps its status, and `then(connection, changed appeal)`
        are written in the same transaction, as in `transition`."""

    @abstractmethod
    async def record_contact_view(self, appeal_id: int, official_id: int, at: datetime) -> None: ...

    @abstractmethod
    async def contact_views(self, appeal_id: int) -> list[tuple[int, datetime]]: ...

    @abstractmethod
    async def status_history(self, appeal_id: int) -> list[tuple[Status, str, datetime]]: ...

    # updates already handled, so a redelivered update does nothing twice
    @abstractmethod
    async def update_seen(self, update_id: int) -> bool: ...

    @abstractmethod
    async def mark_update(
        self, update_id: int, at: datetime, dialogs: Sequence[FsmWrite] = ()
    ) -> None:
        """Marks the update handled and commits the dialog rows its handler wrote
        (`storage.fsm`), in one transaction: both or neither."""

    async def open_update(self, update_id: int, user_id: int | None) -> OpenedUpdate:
        """Whether the update was handled already, whether an instance claims it (it is in
        hand there), and who sent it: every update asks all three, so a backend answers in
        one round trip, the claim read in the statement that reads the handled-mark."""
        seen = await self.update_seen(update_id)
        return OpenedUpdate(seen, await self.get_citizen(user_id) if user_id is not None else None)

    @abstractmethod
    async def claim_update(self, update_id: int, holder: str, expires_at: datetime) -> None:
        """Records (or renews) `holder`'s claim on an update it is handling, until
        `expires_at`: written as it answers 503 for an update still in hand, and pushed
        forward while it handles. Whoever claimed before is replaced: an instance only claims
        an update it is handling."""

    @abstractmethod
    async def release_update(self, update_id: int, holder: str) -> bool:
        """The handling ended (marked, or failed): `holder`'s claim goes, if it still holds
        it. True if it did."""

    @abstractmethod
    async def prune_updates(self, older_than: timedelta, now: datetime) -> int:
        """Telegram redelivers for at most a day; older ids only take space. Claims that
        expired longer ago than that go too (a holder that died leaves its claim behind)."""
