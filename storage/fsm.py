"""The FSM row cache of one update, whatever database keeps aiogram's dialog state.

Within one update a row is read once: aiogram asks for the state, then a handler asks for
the data (and `update_data` reads it again), and each read would be a round trip to the
database. `update_scope()` (opened by the dispatcher around each update) starts a cache that
lives exactly as long as that update's handling; a storage writes straight to the database and
into the cache (`scope_rows`). Outside a scope (the scheduler, the tests) every call reads the
database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

# key -> (state, data as JSON text); text, so a caller mutating what get_data returned
# cannot change what the next get_data sees.
Rows = dict[str, tuple[str | None, str]]
_rows: ContextVar[Rows | None] = ContextVar("fsm_rows", default=None)


@contextmanager
def update_scope() -> Iterator[None]:
    token = _rows.set({})
    try:
        yield
    finally:
        _rows.reset(token)


def scope_rows() -> Rows | None:
    """The open update's cache, None outside an update."""
    return _rows.get()


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
