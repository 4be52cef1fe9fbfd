"""`LifecycleStore` on SQLite: each write that must happen once is one conditional statement
or one BEGIN IMMEDIATE transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from datetime import datetime

from storage.codec import decode_instant, decode_optional_instant, encode_instant
from storage.lifecycle import Addition, AddOutcome, NewAddition, Question, QuestionThen
from storage.models import Status
from storage.prompts import PromptState
from storage.sqlite.database import SQLiteDatabase
from storage.sqlite.transaction import Transaction

QUESTION_COLUMNS = "id, appeal_id, official_id, official_name, text, file_id, asked_at, answered_at"
ADDITION_COLUMNS = "id, appeal_id, question_id, text, files, at"


class SQLiteLifecycleStore:
    """`LifecycleStore` on SQLite; what each method promises is written there."""

    def __init__(self, db: SQLiteDatabase) -> None:
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
            cur = await conn.execute("SELECT status FROM appeals WHERE id = ?", (appeal_id,))
            appeal = await cur.fetchone()
            if appeal is None or Status(appeal["status"]) not in open_statuses:
                return None
            if prompt_id is not None:
                cur = await conn.execute(
                    "UPDATE official_prompts SET state = ?, draft_text = NULL, "
                    "draft_file_id = NULL WHERE id = ? AND state = ?",
                    (PromptState.DONE, prompt_id, PromptState.PREVIEW),
                )
                if cur.rowcount == 0:
                    return None
            cur = await conn.execute(
                "INSERT INTO appeal_questions (appeal_id, official_id, official_name, text, "
                f"file_id, asked_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING {QUESTION_COLUMNS}",
                (appeal_id, official_id, official_name, text, file_id, encode_instant(at)),
            )
            row = await cur.fetchone()
            assert row is not None
            await _history(conn, appeal_id, Status(appeal["status"]), f"official:{official_id}",
                           at, f"question {row['id']} asked", official_name)  # fmt: skip
            question = _question(row)
            if then is not None:
                await then(conn, question)
        return question

    async def question(self, question_id: int) -> Question | None:
        row = await self.db.fetchone(
            f"SELECT {QUESTION_COLUMNS} FROM appeal_questions WHERE id = ?", (question_id,)
        )
        return _question(row) if row else None

    async def add(
        self, new: NewAddition, actor: str, at: datetime, open_statuses: Collection[Status]
    ) -> tuple[Addition, AddOutcome]:
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                f"SELECT {ADDITION_COLUMNS} FROM appeal_additions WHERE draft_key = ?",
                (new.draft_key,),
            )
            seen = await cur.fetchone()
            if seen is not None:
                return _addition(seen), AddOutcome.REPEATED
            cur = await conn.execute("SELECT status FROM appeals WHERE id = ?", (new.appeal_id,))
            appeal = await cur.fetchone()
            if appeal is None or Status(appeal["status"]) not in open_statuses:
                return _nothing(new, at), AddOutcome.CLOSED
            status = Status(appeal["status"])
            if new.question_id is not None:
                cur = await conn.execute(
                    "UPDATE appeal_questions SET answered_at = ? "
                    "WHERE id = ? AND appeal_id = ? AND answered_at IS NULL",
                    (encode_instant(at), new.question_id, new.appeal_id),
                )
                if cur.rowcount == 0:
                    return _nothing(new, at), AddOutcome.ANSWERED
            cur = await conn.execute(
                "INSERT INTO appeal_additions (appeal_id, question_id, text, files, at, "
                f"draft_key) VALUES (?, ?, ?, ?, ?, ?) RETURNING {ADDITION_COLUMNS}",
                (new.appeal_id, new.question_id, new.text or None, len(new.files),
                 encode_instant(at), new.draft_key),
            )  # fmt: skip
            row = await cur.fetchone()
            assert row is not None
            await conn.executemany(
                "INSERT INTO attachments (appeal_id, kind, file_id, file_name, addition_id) "
                "VALUES (?, ?, ?, ?, ?)",
                [(new.appeal_id, f.kind, f.file_id, f.file_name, row["id"]) for f in new.files],
            )
            what = "answer to question" if new.question_id else "addition"
            note = f"{what} {row['id']}: text {len(new.text)} chars, {len(new.files)} files"
            await _history(conn, new.appeal_id, status, actor, at, note)
        return _addition(row), AddOutcome.ADDED

    async def additions(self, appeal_id: int) -> list[Addition]:
        rows = await self.db.fetchall(
            f"SELECT {ADDITION_COLUMNS} FROM appeal_additions WHERE appeal_id = ? ORDER BY id",
            (appeal_id,),
        )
        return [_addition(r) for r in rows]


async def _history(
    conn: Transaction,
    appeal_id: int,
    status: Status,
    actor: str,
    at: datetime,
    note: str,
    actor_name: str | None = None,
) -> None:
    """A line in the appeal's history that keeps its status (as an extension does); an
    official's name is kept with it, as `Repository.transition` keeps it."""
    await conn.execute(
        "INSERT INTO status_history (appeal_id, old_status, new_status, actor, at, note, "
        "actor_name) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (appeal_id, status, status, actor, encode_instant(at), note, actor_name),
    )


def _nothing(new: NewAddition, at: datetime) -> Addition:
    return Addition(0, new.appeal_id, new.question_id, None, 0, at)


def _question(row: sqlite3.Row) -> Question:
    return Question(
        id=int(row["id"]),
        appeal_id=int(row["appeal_id"]),
        official_id=int(row["official_id"]),
        official_name=row["official_name"],
        text=row["text"],
        file_id=row["file_id"],
        asked_at=decode_instant(row["asked_at"]),
        answered_at=decode_optional_instant(row["answered_at"]),
    )


def _addition(row: sqlite3.Row) -> Addition:
    return Addition(
        id=int(row["id"]),
        appeal_id=int(row["appeal_id"]),
        question_id=row["question_id"],
        text=row["text"],
        files=int(row["files"]),
        at=decode_instant(row["at"]),
    )
