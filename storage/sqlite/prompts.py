"""`PromptStore` on SQLite: every change of state is one conditional UPDATE."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from storage.codec import decode_instant, encode_instant
from storage.prompts import (
    LIVE,
    ExpiredThen,
    NewPrompt,
    Prompt,
    PromptAction,
    PromptState,
)
from storage.sqlite.database import SQLiteDatabase
from storage.sqlite.transaction import Transaction

# The same states as storage.prompts.LIVE, spelled out so SQLite can use the partial index.
LIVE_SQL = "state IN ('open', 'preview')"
COLUMNS = (
    "id, chat_id, message_id, appeal_id, action, outcome, official_id, official_name, state, "
    "draft_text, draft_file_id, preview_message_id, expires_at, draft_due_at"
)

# An appeal's live prompts end (`PromptStore.void_for_appeal`); one parameter: the appeal.
VOID = (
    "UPDATE official_prompts SET state = 'void', draft_text = NULL, draft_file_id = NULL "
    f"WHERE appeal_id = ? AND {LIVE_SQL} RETURNING {COLUMNS}"
)


class SQLitePromptStore:
    """`PromptStore` on SQLite; what each method promises is written there."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db

    async def add(self, new: NewPrompt, now: datetime, expires_at: datetime) -> Prompt:
        row = await self.db.fetchone(
            "INSERT INTO official_prompts (chat_id, message_id, appeal_id, action, outcome, "
            "official_id, official_name, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (chat_id, message_id) DO NOTHING "
            f"RETURNING {COLUMNS}",
            (
                new.chat_id,
                new.message_id,
                new.appeal_id,
                new.action,
                new.outcome,
                new.official_id,
                new.official_name,
                encode_instant(now),
                encode_instant(expires_at),
            ),
        )
        if row is None:  # the same message recorded before (a redelivered update)
            existing = await self.by_message(new.chat_id, new.message_id)
            assert existing is not None
            return existing
        return _prompt(row)

    async def reserve(self, new: NewPrompt, now: datetime, expires_at: datetime) -> Prompt:
        # The placeholder: minus one more than the highest id, read in the INSERT itself
        # (SQLite writes one statement at a time); a row holding -k has an id >= k, so no
        # two placeholders meet.
        row = await self.db.fetchone(
            "INSERT INTO official_prompts (chat_id, message_id, appeal_id, action, outcome, "
            "official_id, official_name, state, created_at, expires_at) "
            "VALUES (?, -(SELECT COALESCE(MAX(id), 0) + 1 FROM official_prompts), "
            f"?, ?, ?, ?, ?, 'posting', ?, ?) RETURNING {COLUMNS}",
            (
                new.chat_id,
                new.appeal_id,
                new.action,
                new.outcome,
                new.official_id,
                new.official_name,
                encode_instant(now),
                encode_instant(expires_at),
            ),
        )
        assert row is not None
        return _prompt(row)

    async def posted(self, prompt_id: int, message_id: int) -> Prompt | None:
        row = await self.db.fetchone(
            "UPDATE official_prompts SET message_id = ?, state = 'open' "
            f"WHERE id = ? AND state = 'posting' RETURNING {COLUMNS}",
            (message_id, prompt_id),
        )
        return _prompt(row) if row else None

    async def unposted(self, chat_id: int, official_id: int) -> list[Prompt]:
        rows = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM official_prompts WHERE chat_id = ? AND official_id = ? "
            "AND state = 'posting' ORDER BY id",
            (chat_id, official_id),
        )
        return [_prompt(row) for row in rows]

    async def by_message(self, chat_id: int, message_id: int) -> Prompt | None:
        row = await self.db.fetchone(
            f"SELECT {COLUMNS} FROM official_prompts WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        )
        return _prompt(row) if row else None

    async def get(self, prompt_id: int) -> Prompt | None:
        row = await self.db.fetchone(
            f"SELECT {COLUMNS} FROM official_prompts WHERE id = ?", (prompt_id,)
        )
        return _prompt(row) if row else None

    async def set_draft(
        self,
        prompt_id: int,
        text: str,
        file_id: str | None,
        expires_at: datetime,
        shown_due: datetime | None = None,
    ) -> bool:
        changed = await self.db.execute(
            "UPDATE official_prompts SET state = 'preview', draft_text = ?, draft_file_id = ?, "
            "preview_message_id = NULL, expires_at = ?, draft_due_at = ? "
            f"WHERE id = ? AND {LIVE_SQL}",
            (
                text,
                file_id,
                encode_instant(expires_at),
                encode_instant(shown_due) if shown_due else None,
                prompt_id,
            ),
        )
        return changed == 1

    async def set_preview_message(self, prompt_id: int, message_id: int) -> None:
        await self.db.execute(
            "UPDATE official_prompts SET preview_message_id = ? WHERE id = ? AND state = 'preview'",
            (message_id, prompt_id),
        )

    async def finish(
        self,
        prompt_id: int,
        state: PromptState,
        *,
        from_states: tuple[PromptState, ...] = LIVE,
    ) -> bool:
        marks = ", ".join("?" for _ in from_states)
        changed = await self.db.execute(
            "UPDATE official_prompts SET state = ?, draft_text = NULL, draft_file_id = NULL "
            f"WHERE id = ? AND state IN ({marks})",
            (state, prompt_id, *from_states),
        )
        return changed == 1

    async def void_for_appeal(self, appeal_id: int) -> list[Prompt]:
        return [_prompt(row) for row in await self.db.fetchall(VOID, (appeal_id,))]

    async def void_for_appeal_in(self, conn: Transaction, appeal_id: int) -> list[Prompt]:
        async with conn.execute(VOID, (appeal_id,)) as cur:
            return [_prompt(row) for row in await cur.fetchall()]

    async def expire_due(
        self, now: datetime, limit: int = 100, *, then: ExpiredThen | None = None
    ) -> list[Prompt]:
        """Live prompts past their time, now expired, earliest first: one UPDATE … RETURNING
        (SQLite 3.35+), so a prompt finished meanwhile by a press is not counted (it is no
        longer live when the statement runs). With `then`, in one transaction with what it
        writes."""
        sql = (
            "UPDATE official_prompts SET state = 'expired', draft_text = NULL, "
            "draft_file_id = NULL WHERE id IN ("
            "SELECT id FROM official_prompts INDEXED BY official_prompts_live "
            f"WHERE {LIVE_SQL} AND expires_at <= ? ORDER BY expires_at LIMIT ?"
            f") RETURNING {COLUMNS}"
        )
        params = (encode_instant(now), limit)
        if then is None:
            return _in_order(await self.db.fetchall(sql, params))
        async with self.db.transaction() as conn:
            async with conn.execute(sql, params) as cur:
                expired = _in_order(await cur.fetchall())
            if not expired:
                return []
            ids = sorted({p.appeal_id for p in expired})
            async with conn.execute(
                f"SELECT id, reference FROM appeals WHERE id IN ({', '.join('?' * len(ids))})",
                ids,
            ) as cur:
                references = {int(r["id"]): r["reference"] for r in await cur.fetchall()}
            await then(conn, expired, references)
        return expired


def _in_order(rows: list[sqlite3.Row]) -> list[Prompt]:
    # RETURNING gives no order of its own.
    return sorted((_prompt(row) for row in rows), key=lambda p: (p.expires_at, p.id))


def _prompt(row: sqlite3.Row) -> Prompt:
    return Prompt(
        id=int(row["id"]),
        chat_id=int(row["chat_id"]),
        message_id=int(row["message_id"]),
        appeal_id=int(row["appeal_id"]),
        action=PromptAction(row["action"]),
        outcome=row["outcome"],
        official_id=int(row["official_id"]),
        official_name=row["official_name"],
        state=PromptState(row["state"]),
        draft_text=row["draft_text"],
        draft_file_id=row["draft_file_id"],
        preview_message_id=row["preview_message_id"],
        expires_at=decode_instant(row["expires_at"]),
        draft_due_at=decode_instant(row["draft_due_at"]) if row["draft_due_at"] else None,
    )
