"""`PromptStore` on PostgreSQL: every change of state is one conditional UPDATE, which under
READ COMMITTED re-checks its condition on a row another transaction changed meanwhile; so of
two presses (or two instances) finishing a prompt, one wins."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from storage.postgres.database import Connection, PostgresDatabase
from storage.prompts import (
    LIVE,
    ExpiredThen,
    NewPrompt,
    Prompt,
    PromptAction,
    PromptState,
)

# The same states as storage.prompts.LIVE, spelled as the partial index has them.
LIVE_SQL = "state IN ('open', 'preview')"
COLUMNS = (
    "id, chat_id, message_id, appeal_id, action, outcome, official_id, official_name, state, "
    "draft_text, draft_file_id, preview_message_id, expires_at, draft_due_at"
)

# An appeal's live prompts end (`PromptStore.void_for_appeal`); one parameter: the appeal.
VOID = (
    "UPDATE official_prompts SET state = 'void', draft_text = NULL, draft_file_id = NULL "
    f"WHERE appeal_id = $1 AND {LIVE_SQL} RETURNING {COLUMNS}"
)


class PostgresPromptStore:
    """`PromptStore` on PostgreSQL; what each method promises is written there."""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    async def add(self, new: NewPrompt, now: datetime, expires_at: datetime) -> Prompt:
        row = await self.db.fetchone(
            "INSERT INTO official_prompts (chat_id, message_id, appeal_id, action, outcome, "
            "official_id, official_name, created_at, expires_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
            "ON CONFLICT (chat_id, message_id) DO NOTHING "
            f"RETURNING {COLUMNS}",
            new.chat_id,
            new.message_id,
            new.appeal_id,
            new.action.value,
            new.outcome,
            new.official_id,
            new.official_name,
            now,
            expires_at,
        )
        if row is None:  # the same message recorded before (a redelivered update)
            existing = await self.by_message(new.chat_id, new.message_id)
            assert existing is not None
            return existing
        return _prompt(row)

    async def reserve(self, new: NewPrompt, now: datetime, expires_at: datetime) -> Prompt:
        # The placeholder: minus a value of the ids' own sequence, taken for it alone, so
        # no two placeholders meet whatever runs at the same time.
        row = await self.db.fetchone(
            "INSERT INTO official_prompts (chat_id, message_id, appeal_id, action, outcome, "
            "official_id, official_name, state, created_at, expires_at) "
            "VALUES ($1, -nextval(pg_get_serial_sequence('official_prompts', 'id')), "
            f"$2, $3, $4, $5, $6, 'posting', $7, $8) RETURNING {COLUMNS}",
            new.chat_id,
            new.appeal_id,
            new.action.value,
            new.outcome,
            new.official_id,
            new.official_name,
            now,
            expires_at,
        )
        assert row is not None
        return _prompt(row)

    async def posted(self, prompt_id: int, message_id: int) -> Prompt | None:
        row = await self.db.fetchone(
            "UPDATE official_prompts SET message_id = $1, state = 'open' "
            f"WHERE id = $2 AND state = 'posting' RETURNING {COLUMNS}",
            message_id,
            prompt_id,
        )
        return _prompt(row) if row else None

    async def unposted(self, chat_id: int, official_id: int) -> list[Prompt]:
        rows = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM official_prompts WHERE chat_id = $1 AND official_id = $2 "
            "AND state = 'posting' ORDER BY id",
            chat_id,
            official_id,
        )
        return [_prompt(row) for row in rows]

    async def by_message(self, chat_id: int, message_id: int) -> Prompt | None:
        row = await self.db.fetchone(
            f"SELECT {COLUMNS} FROM official_prompts WHERE chat_id = $1 AND message_id = $2",
            chat_id,
            message_id,
        )
        return _prompt(row) if row else None

    async def get(self, prompt_id: int) -> Prompt | None:
        row = await self.db.fetchone(
            f"SELECT {COLUMNS} FROM official_prompts WHERE id = $1", prompt_id
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
            "UPDATE official_prompts SET state = 'preview', draft_text = $1, draft_file_id = $2, "
            "preview_message_id = NULL, expires_at = $3, draft_due_at = $4 "
            f"WHERE id = $5 AND {LIVE_SQL}",
            text,
            file_id,
            expires_at,
            shown_due,
            prompt_id,
        )
        return changed == 1

    async def set_preview_message(self, prompt_id: int, message_id: int) -> None:
        await self.db.execute(
            "UPDATE official_prompts SET preview_message_id = $1 "
            "WHERE id = $2 AND state = 'preview'",
            message_id,
            prompt_id,
        )

    async def finish(
        self,
        prompt_id: int,
        state: PromptState,
        *,
        from_states: tuple[PromptState, ...] = LIVE,
    ) -> bool:
        changed = await self.db.execute(
            "UPDATE official_prompts SET state = $1, draft_text = NULL, draft_file_id = NULL "
            "WHERE id = $2 AND state = ANY($3::text[])",
            state.value,
            prompt_id,
            [s.value for s in from_states],
        )
        return changed == 1

    async def void_for_appeal(self, appeal_id: int) -> list[Prompt]:
        return [_prompt(row) for row in await self.db.fetchall(VOID, appeal_id)]

    async def void_for_appeal_in(self, conn: Connection, appeal_id: int) -> list[Prompt]:
        return [_prompt(row) for row in await conn.fetch(VOID, appeal_id)]

    async def expire_due(
        self, now: datetime, limit: int = 100, *, then: ExpiredThen | None = None
    ) -> list[Prompt]:
        """Live prompts past their time, now expired, earliest first. SKIP LOCKED: a prompt
        another instance is expiring (or a press is finishing) right now is left to it, so
        each expired prompt is returned, and its notice sent, by one instance only. With
        `then`, in one transaction with what it writes."""
        sql = (
            "UPDATE official_prompts SET state = 'expired', draft_text = NULL, "
            "draft_file_id = NULL WHERE id IN ("
            f"SELECT id FROM official_prompts WHERE {LIVE_SQL} AND expires_at <= $1 "
            "ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED"
            f") AND {LIVE_SQL} RETURNING {COLUMNS}"
        )
        if then is None:
            return _in_order(await self.db.fetchall(sql, now, limit))
        async with self.db.transaction() as conn:
            expired = _in_order(await conn.fetch(sql, now, limit))
            if not expired:
                return []
            rows = await conn.fetch(
                "SELECT id, reference FROM appeals WHERE id = ANY($1::bigint[])",
                sorted({p.appeal_id for p in expired}),
            )
            await then(conn, expired, {int(r["id"]): r["reference"] for r in rows})
        return expired


def _in_order(rows: list[asyncpg.Record]) -> list[Prompt]:
    # RETURNING gives no order of its own.
    return sorted((_prompt(row) for row in rows), key=lambda p: (p.expires_at, p.id))


def _prompt(row: asyncpg.Record) -> Prompt:
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
        expires_at=row["expires_at"],
        draft_due_at=row["draft_due_at"],
    )
