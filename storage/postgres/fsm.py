"""aiogram FSM storage in the bot's PostgreSQL database: dialog state shared by every instance
and kept across restarts. Within one update each row is read once, and a handler's writes are
committed with the update's handled-mark (`storage.fsm`), as on SQLite; the row format (key,
state, data as JSON text) is SQLite's too."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from storage.codec import decode_json, encode_json
from storage.fsm import defer, deferring, scope_rows, storage_key
from storage.postgres.database import PostgresDatabase


class PostgresStorage(BaseStorage):
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    async def _row(self, key: str) -> tuple[str | None, str]:
        rows = scope_rows()
        if rows is not None and key in rows:
            return rows[key]
        found = await self.db.fetchone("SELECT state, data FROM fsm WHERE key = $1", key)
        row = (found["state"], found["data"]) if found else (None, "{}")
        if rows is not None:
            rows[key] = row
        return row

    @staticmethod
    def _remember(key: str, state: str | None = None, data: str | None = None) -> None:
        """Keep the open update's cache in step with what was just written."""
        rows = scope_rows()
        if rows is None or key not in rows:
            return
        cached_state, cached_data = rows[key]
        rows[key] = (
            cached_state if data is not None else state,
            data if data is not None else cached_data,
        )

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        k = storage_key(key)
        if deferring():  # committed with the update's mark (storage.fsm)
            defer(k, key.user_id, value, (await self._row(k))[1])
            return
        await self.db.execute(
            "INSERT INTO fsm (key, user_id, state, updated_at) VALUES ($1, $2, $3, now()) "
            "ON CONFLICT (key) DO UPDATE SET state = excluded.state, "
            "updated_at = excluded.updated_at",
            k,
            key.user_id,
            value,
        )
        self._remember(k, state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._row(storage_key(key)))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        # aiogram's own storages refuse anything but a dict, as SQLite's does.
        if not isinstance(data, dict):
            msg = f"Data must be a dict or dict-like object, got {type(data).__name__}"
            raise DataNotDictLikeError(msg)
        k = storage_key(key)
        text = encode_json(data)
        if deferring():
            defer(k, key.user_id, (await self._row(k))[0], text)
            return
        await self.db.execute(
            "INSERT INTO fsm (key, user_id, data, updated_at) VALUES ($1, $2, $3, now()) "
            "ON CONFLICT (key) DO UPDATE SET data = excluded.data, "
            "updated_at = excluded.updated_at",
            k,
            key.user_id,
            text,
        )
        self._remember(k, data=text)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        data: dict[str, Any] = decode_json((await self._row(storage_key(key)))[1])
        return data

    async def close(self) -> None:
        # The database belongs to the application, which closes it after the dispatcher.
        return None
