"""aiogram FSM storage in the bot's SQLite database, so a restart mid-dialog loses nothing.
Within one update each row is read once, and a handler's writes are committed with the
update's handled-mark (`storage.fsm`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from storage.base import OpenedUpdate
from storage.codec import decode_json, encode_instant, encode_json
from storage.fsm import Rows, defer, deferring, keep_opened, opening, scope_rows, storage_key
from storage.sqlite.database import SQLiteDatabase
from storage.sqlite.repository import open_in
from storage.sqlite.transaction import read_one

FSM_ROW_SQL = "SELECT state, data FROM fsm WHERE key = ?"


class SQLiteStorage(BaseStorage):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db

    async def _row(self, key: str, user_id: int) -> tuple[str | None, str]:
        rows = scope_rows()
        if rows is not None and key in rows:
            return rows[key]
        update_id = opening()
        if update_id is None:
            found = await self.db.fetchone(FSM_ROW_SQL, (key,), quick=True)
        else:
            # The update's first round trip reads what its open_update will ask as well.
            opened, found = await self.db.run(
                partial(_open_with_row, key, update_id, user_id), quick=True
            )
            keep_opened(update_id, user_id, opened)
        row = (found["state"], found["data"]) if found else (None, "{}")
        if rows is not None:
            rows[key] = row
        return row

    @staticmethod
    def _cached(key: str) -> Rows | None:
        rows = scope_rows()
        return rows if rows is not None and key in rows else None

    def _remember_state(self, key: str, state: str | None) -> None:
        if (rows := self._cached(key)) is not None:
            rows[key] = (state, rows[key][1])

    def _remember_data(self, key: str, data: str) -> None:
        if (rows := self._cached(key)) is not None:
            rows[key] = (rows[key][0], data)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        k = storage_key(key)
        if deferring():  # committed with the update's mark (storage.fsm)
            defer(k, key.user_id, value, (await self._row(k, key.user_id))[1])
            return
        await self.db.execute(
            "INSERT INTO fsm (key, user_id, state, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET state = excluded.state, "
            "updated_at = excluded.updated_at",
            (k, key.user_id, value, encode_instant(datetime.now(UTC))),
            quick=True,
        )
        self._remember_state(k, value)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._row(storage_key(key), key.user_id))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        # aiogram's own storages refuse anything but a dict; `dict(data)` would have taken
        # `()` or a list of pairs silently and stored a dialog nobody meant.
        if not isinstance(data, dict):
            msg = f"Data must be a dict or dict-like object, got {type(data).__name__}"
            raise DataNotDictLikeError(msg)
        k = storage_key(key)
        text = encode_json(data)
        if deferring():
            defer(k, key.user_id, (await self._row(k, key.user_id))[0], text)
            return
        await self.db.execute(
            "INSERT INTO fsm (key, user_id, data, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET data = excluded.data, "
            "updated_at = excluded.updated_at",
            (k, key.user_id, text, encode_instant(datetime.now(UTC))),
            quick=True,
        )
        self._remember_data(k, text)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        data: dict[str, Any] = decode_json((await self._row(storage_key(key), key.user_id))[1])
        return data

    async def close(self) -> None:
        # The database belongs to the application, which closes it after the dispatcher.
        return None


def _open_with_row(
    key: str, update_id: int, user_id: int, conn: sqlite3.Connection
) -> tuple[OpenedUpdate, sqlite3.Row | None]:
    """What `SQLiteRepository.open_update` reads (the update's mark and claim, the citizen),
    and the dialog's row, in one trip (on the database thread: the caller keeps the first)."""
    return open_in(update_id, user_id, conn), read_one(FSM_ROW_SQL, (key,), conn)
