"""`LifecycleStore` on PostgreSQL.

What SQLite's BEGIN IMMEDIATE gives (nobody changes the appeal between reading its status and
writing what depends on it) comes here from reading the status FOR SHARE: a withdrawal or an
answer (`Repository.transition` reads the row FOR UPDATE) waits for this transaction or is
waited for, never interleaves. A repeated «Done» is kept to one addition by an advisory lock
on its draft key, as a repeated confirm is kept to one appeal."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import asyncpg

from storage.lifecycle import Addition, AddOutcome, NewAddition, Question, QuestionThen
from storage.models import Status
from storage.postgres.database import Connection, PostgresDatabase
from storage.prompts import PromptState

QUESTION_COLUMNS = "id, appeal_id, official_id, official_name, text, file_id, asked_at, answered_at"
ADDITION_COLUMNS = "id, appeal_id, question_id, text, files, at"
# The first key of the advisory locks on additions' draft keys.
ADDITION_LOCK = 0x4C41


class PostgresLifecycleStore:
    """`LifecycleStore` on PostgreSQL; what each method promises is written there."""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

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
        async with self.db.transaction() as conn:
            status = await _status(conn, appeal_id)
            if status is None or status not in open_statuses:
                return None
            # The row's lock holds a second «Send» here until this one commits; it then finds
            # the prompt done.
            if prompt_id is not None:
                done = await conn.fetchval(
                    "UPDATE official_prompts SET state = $1, draft_text = NULL, "
                    "draft_file_id = NULL WHERE id = $2 AND state = $3 RETURNING id",
                    PromptState.DONE.value,
                    prompt_id,
                    PromptState.PREVIEW.value,
                )
                if done is None:
                    return None
            row = await conn.fetchrow(
                "INSERT INTO appeal_questions (appeal_id, official_id, official_name, text, "
                f"file_id, asked_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {QUESTION_COLUMNS}",
                appeal_id,
                official_id,
                official_name,
                text,
                file_id,
                at,
            )
            assert row is not None
            await _history(conn, appeal_id, status, f"official:{official_id}", at,
                           f"question {row['id']} asked", official_name)  # fmt: skip
            question = _question(row)
            if then is not None:
                await then(conn, question)
        return question

    async def question(self, question_id: int) -> Question | None:
        row = await self.db.fetchone(
            f"SELECT {QUESTION_COLUMNS} FROM appeal_questions WHERE id = $1", question_id
        )
        return _question(row) if row else None

    async def add(
        self, new: NewAddition, actor: str, at: datetime, open_statuses: Collection[Status]
    ) -> tuple[Addition, AddOutcome]:
        async with self.db.transaction() as conn:
            await conn.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))", ADDITION_LOCK, new.draft_key
            )
            seen = await conn.fetchrow(
                f"SELECT {ADDITION_COLUMNS} FROM appeal_additions WHERE draft_key = $1",
                new.draft_key,
            )
            if seen is not None:
                return _addition(seen), AddOutcome.REPEATED
            status = await _status(conn, new.appeal_id)
            if status is None or status not in open_statuses:
                return _nothing(new, at), AddOutcome.CLOSED
            if new.question_id is not None:
                answered = await conn.fetchval(
                    "UPDATE appeal_questions SET answered_at = $1 "
                    "WHERE id = $2 AND appeal_id = $3 AND answered_at IS NULL RETURNING id",
                    at,
                    new.question_id,
                    new.appeal_id,
                )
                if answered is None:
                    return _nothing(new, at), AddOutcome.ANSWERED
            row = await conn.fetchrow(
                "INSERT INTO appeal_additions (appeal_id, question_id, text, files, at, "
                f"draft_key) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {ADDITION_COLUMNS}",
                new.appeal_id, new.question_id, new.text or None, len(new.files), at,
                new.draft_key,
            )  # fmt: skip
            assert row is not None
            await conn.executemany(
                "INSERT INTO attachments (appeal_id, kind, file_id, file_name, addition_id) "
                "VALUES ($1, $2, $3, $4, $5)",
                [(new.appeal_id, f.kind, f.file_id, f.file_name, row["id"]) for f in new.files],
            )
            what = "answer to question" if new.question_id else "addition"
            note = f"{what} {row['id']}: text {len(new.text)} chars, {len(new.files)} files"
            await _history(conn, new.appeal_id, status, actor, at, note)
        return _addition(row), AddOutcome.ADDED

    async def additions(self, appeal_id: int) -> list[Addition]:
        rows = await self.db.fetchall(
            f"SELECT {ADDITION_COLUMNS} FROM appeal_additions WHERE appeal_id = $1 ORDER BY id",
            appeal_id,
        )
        return [_addition(r) for r in rows]


async def _status(conn: Connection, appeal_id: int) -> Status | None:
    """The appeal's status, which stays so until this transaction ends."""
    found = await conn.fetchval("SELECT status FROM appeals WHERE id = $1 FOR SHARE", appeal_id)
    return Status(found) if found is not None else None


async def _history(
    conn: Connection,
    appeal_id: int,
    status: Status,
    actor: str,
    at: datetime,
    note: str,
    actor_name: str | None = None,
) -> None:
    """A line in the appeal's history that keeps its status (as an extension does)."""
    await conn.execute(
        "INSERT INTO status_history (appeal_id, old_status, new_status, actor, at, note, "
        "actor_name) VALUES ($1, $2, $2, $3, $4, $5, $6)",
        appeal_id,
        status.value,
        actor,
        at,
        note,
        actor_name,
    )


def _nothing(new: NewAddition, at: datetime) -> Addition:
    return Addition(0, new.appeal_id, new.question_id, None, 0, at)


def _question(row: asyncpg.Record) -> Question:
    return Question(
        id=int(row["id"]),
        appeal_id=int(row["appeal_id"]),
        official_id=int(row["official_id"]),
        official_name=row["official_name"],
        text=row["text"],
        file_id=row["file_id"],
        asked_at=row["asked_at"],
        answered_at=row["answered_at"],
    )


def _addition(row: asyncpg.Record) -> Addition:
    return Addition(
        id=int(row["id"]),
        appeal_id=int(row["appeal_id"]),
        question_id=row["question_id"],
        text=row["text"],
        files=int(row["files"]),
        at=row["at"],
    )
