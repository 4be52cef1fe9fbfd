"""The FSM rows of one update, whatever database keeps aiogram's dialog state.

Reads. Within one update a row is read once: aiogram asks for the state, then a handler asks
for the data (and `update_data` reads it again), and each read would be a round trip to the
database. `update_scope()` (opened by the dispatcher around each update) starts a cache that
lives exactly as long as that update's handling. Outside a scope (the scheduler, the tests)
every call reads the database.

Writes. A dialog step saves its next state and then asks the next question. Written straight
to the database, a crash between the two (or before the update is marked handled) leaves the
new state with the question unsent, and Telegram's redelivery of the update is then read in
the new state: the answer to one step taken for the next. So while an update's handler runs
(`defer_writes()`, opened by `RequestContextMiddleware`) its writes stay in the cache, where
its own reads see them, and are committed with the update's handled-mark in one transaction
after the handler and its replies are done (`take_writes()` → `Repository.mark_update`). A
crash before that commit leaves the state as it was and the update unmarked, so the
redelivery runs the step again (the citizen may see its question twice). A handler that
raises leaves nothing of its dialog writes (`drop_writes()`). Outside that window (a
scope without deferral, no scope at all) a write goes straight to the database.

The update's first round trip. The first read of an update is its FSM row (aiogram reads the
state as soon as it holds the chat's lock), and the next is `Repository.open_update` (was the
update handled already, and who is the citizen). A backend may read both in the first trip
(`opening()` tells it which update, `keep_opened()` keeps what it read) and `open_update`
takes that (`take_opened()`) instead of a second trip: both run under the chat's lock, one
right after the other, so they read the same as two trips would.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Protocol

# key -> (state, data as JSON text); text, so a caller mutating what get_data returned
# cannot change what the next get_data sees.
Rows = dict[str, tuple[str | None, str]]
EMPTY_DATA = "{}"


@dataclass
class _Scope:
    rows: Rows = field(default_factory=dict)
    # While a handler runs: the keys it wrote, with the user each belongs to (the column
    # /forget erases by). None: writes go straight to the database.
    pending: dict[str, int | None] | None = None
    # The update being handled, while its first FSM read may also open it (see above).
    update_id: int | None = None
    # (update id, user id, what the backend read for open_update), until taken.
    opened: tuple[int, int, object] | None = None


@dataclass(frozen=True)
class FsmWrite:
    """One dialog row as an update left it, to be committed with the update's mark."""

    key: str
    user_id: int | None
    state: str | None
    data: str  # JSON text

    @property
    def cleared(self) -> bool:
        """No state and no data: the dialog is over (FSMContext.clear()), the row goes."""
        return self.state is None and self.data == EMPTY_DATA


_scope: ContextVar[_Scope | None] = ContextVar("fsm_scope", default=None)


@contextmanager
def update_scope(update_id: int | None = None) -> Iterator[None]:
    token = _scope.set(_Scope(update_id=update_id))
    try:
        yield
    finally:
        _scope.reset(token)


def scope_rows() -> Rows | None:
    """The open update's cache, None outside an update."""
    scope = _scope.get()
    return scope.rows if scope is not None else None


def opening() -> int | None:
    """The update whose first FSM read may also open it, or None (outside an update, or
    the update was opened or read already)."""
    scope = _scope.get()
    return scope.update_id if scope is not None else None


def keep_opened(update_id: int, user_id: int, opened: object) -> None:
    """What the first FSM read of `update_id` read for `open_update` of `user_id`."""
    scope = _scope.get()
    if scope is not None and scope.update_id == update_id:
        scope.update_id = None
        scope.opened = (update_id, user_id, opened)


def take_opened(update_id: int, user_id: int | None) -> object | None:
    """What `keep_opened` kept for this update and user (once), or None: read it yourself."""
    scope = _scope.get()
    if scope is None:
        return None
    # Whatever happens, the update is opened now: no later FSM read does it again.
    scope.update_id = None
    kept, scope.opened = scope.opened, None
    if kept is None or kept[0] != update_id or kept[1] != user_id:
        return None
    return kept[2]


def defer_writes() -> None:
    """From now on this update's FSM writes wait in its cache for `take_writes()`."""
    scope = _scope.get()
    if scope is not None:
        scope.pending = {}


def deferring() -> bool:
    scope = _scope.get()
    return scope is not None and scope.pending is not None


def defer(key: str, user_id: int | None, state: str | None, data: str) -> None:
    """Keep a write of the open update (`deferring()`) for its commit: the whole row as the
    update now sees it, its state and its data."""
    scope = _scope.get()
    assert scope is not None and scope.pending is not None, "no update is deferring writes"
    scope.rows[key] = (state, data)
    scope.pending[key] = user_id


def take_writes() -> list[FsmWrite]:
    """Ends the deferral: the rows the update wrote, for the caller to commit. Later writes
    (an error handler's, a task the update started) go straight to the database."""
    scope = _scope.get()
    if scope is None or scope.pending is None:
        return []
    pending, scope.pending = scope.pending, None
    return [FsmWrite(key, user, *scope.rows[key]) for key, user in pending.items()]


def forget_writes(writes: list[FsmWrite]) -> None:
    """The commit of `writes` failed: the cache forgets them, so a later read of this update
    (the error handler's) sees the database again."""
    scope = _scope.get()
    if scope is not None:
        for write in writes:
            scope.rows.pop(write.key, None)


def drop_writes() -> None:
    """Ends the deferral and forgets what it kept: the handler failed, the rows stay as they
    were before the update."""
    writes = take_writes()
    forget_writes(writes)


class StorageKey(Protocol):
    """aiogram's StorageKey as far as the row key needs it (storage itself imports no aiogram;
    the FSM storages that implement aiogram's interface do)."""

    @property
    def bot_id(self) -> int: ...
    @property
    def chat_id(self) -> int: ...
    @property
    def user_id(self) -> int: ...
    @property
    def thread_id(self) -> int | None: ...
    @property
    def business_connection_id(self) -> str | None: ...
    @property
    def destiny(self) -> str: ...


def _part(text: str) -> str:
    """A key part that cannot contain the separator, so two keys never join to one text.
    Parts without '%' or ':' (every key written before this escape) are unchanged."""
    return text.replace("%", "%25").replace(":", "%3A")


def storage_key(key: StorageKey) -> str:
    """The row key of a dialog, the same on every backend: every part of aiogram's key."""
    return ":".join(
        (
            str(key.bot_id),
            str(key.chat_id),
            str(key.user_id),
            str(key.thread_id or ""),
            _part(key.business_connection_id or ""),
            _part(key.destiny),
        )
    )
