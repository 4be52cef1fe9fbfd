"""`Repository` on SQLite: citizens, appeals, their history, and the updates handled."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, cast

import aiosqlite

from storage.base import AlsoWrite, DependsOn, OpenedUpdate, Repository, UpdateClaim
from storage.codec import decode_instant, decode_optional_instant, encode_instant, encode_json
from storage.fsm import FsmWrite, take_opened
from storage.models import Appeal, Attachment, Citizen, HistoryNote, NewAppeal, Status
from storage.sqlite.database import SQLiteDatabase
from storage.sqlite.transaction import Transaction, read_one


class SQLiteRepository(Repository):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db

    async def close(self) -> None:
        await self.db.close()

    # citizens
    async def get_citizen(self, user_id: int) -> Citizen | None:
        return _citizen(await self.db.fetchone(CITIZEN_SQL, (user_id,), quick=True))

    async def open_update(self, update_id: int, user_id: int | None) -> OpenedUpdate:
        opened = take_opened(update_id, user_id)
        if opened is not None:
            # Read with the dialog's row, in the update's first trip (storage.fsm).
            return cast(OpenedUpdate, opened)

        def work(conn: sqlite3.Connection) -> OpenedUpdate:
            return open_in(update_id, user_id, conn)

        return await self.db.run(work, quick=True)

    async def set_reachable(self, user_id: int) -> None:
        await self.db.execute(
            "UPDATE citizens SET unreachable = 0 WHERE id = ?", (user_id,), quick=True
        )

    async def set_language(self, user_id: int, language: str) -> None:
        await self.db.execute(
            "INSERT INTO citizens (id, language, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET language = excluded.language",
            (user_id, language, encode_instant(datetime.now().astimezone())),
            quick=True,
        )

    async def set_consent(self, user_id: int, at: datetime) -> None:
        await self.db.execute(
            "INSERT INTO citizens (id, consent_at, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET consent_at = excluded.consent_at",
            (user_id, encode_instant(at), encode_instant(at)),
            quick=True,
        )

    # appeals
    async def create_appeal(
        self, new: NewAppeal, also: AlsoWrite | None = None
    ) -> tuple[Appeal, bool]:
        async with self.db.transaction(quick=True) as conn:
            async with conn.execute(
                "SELECT id FROM appeals WHERE draft_key = ?", (new.draft_key,)
            ) as cur:
                existing = await cur.fetchone()
            if existing is None:
                reference = await self._next_reference(conn, new.registered_on)
                appeal_id = await self._insert_appeal(conn, new, reference)
                if also is not None:
                    await also(conn, reference)
        if existing is not None:
            appeal = await self.get_appeal(existing["id"])
            assert appeal is not None
            return appeal, False
        appeal = await self.get_appeal(appeal_id)
        assert appeal is not None
        return appeal, True

    @staticmethod
    async def _next_reference(conn: Transaction, registered_on: date) -> str:
        name = f"appeal:{registered_on.year}"
        async with conn.execute(
            "INSERT INTO counters (name, value) VALUES (?, 1) "
            "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
            (name,),
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        return f"{registered_on.year}-{row[0]:05d}"

    @staticmethod
    async def _insert_appeal(conn: Transaction, new: NewAppeal, reference: str) -> int:
        await conn.execute(
            "INSERT INTO citizens (id, language, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO NOTHING",
            (new.citizen_id, new.language, encode_instant(new.created_at)),
        )
        cur = await conn.execute(
            "INSERT INTO appeals (reference, draft_key, citizen_id, kind, category, region, "
            "district, text, latitude, longitude, contact_name, contact_phone, contact_address, "
            "contact_address_kind, language, status, created_at, registered_on, due_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                reference,
                new.draft_key,
                new.citizen_id,
                new.kind,
                new.category,
                new.region,
                new.district,
                new.text,
                new.latitude,
                new.longitude,
                new.contact_name,
                new.contact_phone,
                new.contact_address,
                new.contact_address_kind,
                new.language,
                Status.REGISTERED,
                encode_instant(new.created_at),
                new.registered_on.isoformat(),
                encode_instant(new.due_at),
            ),
        )
        appeal_id = int(cur.lastrowid or 0)
        await conn.executemany(
            "INSERT INTO attachments (appeal_id, kind, file_id, file_name) VALUES (?, ?, ?, ?)",
            [(appeal_id, a.kind, a.file_id, a.file_name) for a in new.attachments],
        )
        await conn.execute(
            "INSERT INTO status_history (appeal_id, old_status, new_status, actor, at) "
            "VALUES (?, NULL, ?, ?, ?)",
            (
                appeal_id,
                Status.REGISTERED,
                f"citizen:{new.citizen_id}",
                encode_instant(new.created_at),
            ),
        )
        await conn.execute(
            "UPDATE citizens SET full_name = ?, phone = ? WHERE id = ?",
            (new.contact_name, new.contact_phone, new.citizen_id),
        )
        return appeal_id

    async def appeal_by_draft(self, draft_key: str) -> Appeal | None:
        row = await self.db.fetchone(
            "SELECT * FROM appeals WHERE draft_key = ?", (draft_key,), quick=True
        )
        return await self._with_attachments(row)

    async def get_appeal(self, appeal_id: int) -> Appeal | None:
        row = await self.db.fetchone("SELECT * FROM appeals WHERE id = ?", (appeal_id,), quick=True)
        return await self._with_attachments(row)

    async def appeal_references(self, appeal_ids: Collection[int]) -> dict[int, str]:
        if not appeal_ids:
            return {}
        # One statement for any number of ids: the list travels as one JSON parameter, so
        # neither the SQL text nor SQLite's limit on bound variables depends on its length.
        rows = await self.db.fetchall(
            "SELECT id, reference FROM appeals WHERE id IN (SELECT value FROM json_each(?))",
            (encode_json(sorted(set(appeal_ids))),),
        )
        return {int(r["id"]): str(r["reference"]) for r in rows}

    async def _with_attachments(self, row: aiosqlite.Row | None) -> Appeal | None:
        if row is None:
            return None
        appeal = _appeal_row(row)
        rows = await self.db.fetchall(
            "SELECT kind, file_id, file_name FROM attachments WHERE appeal_id = ? ORDER BY id",
            (appeal.id,),
            quick=True,
        )
        appeal.attachments = [Attachment(r["kind"], r["file_id"], r["file_name"]) for r in rows]
        return appeal

    async def citizen_appeals(self, citizen_id: int, limit: int, offset: int) -> list[Appeal]:
        rows = await self.db.fetchall(
            "SELECT * FROM appeals WHERE citizen_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
            (citizen_id, limit, offset),
            quick=True,
        )
        return [_appeal_row(r) for r in rows]

    async def count_citizen_appeals(self, citizen_id: int) -> int:
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM appeals WHERE citizen_id = ?", (citizen_id,)
        )
        return int(row[0]) if row else 0

    async def status_history(self, appeal_id: int) -> list[tuple[Status, str, datetime]]:
        rows = await self.db.fetchall(
            "SELECT new_status, actor, at FROM status_history WHERE appeal_id = ? ORDER BY id",
            (appeal_id,),
        )
        return [(Status(r["new_status"]), r["actor"], decode_instant(r["at"])) for r in rows]

    async def appeal_by_reference(self, reference: str) -> Appeal | None:
        row = await self.db.fetchone("SELECT * FROM appeals WHERE reference = ?", (reference,))
        return await self._with_attachments(row)

    async def unpublished_appeals(self, limit: int) -> list[Appeal]:
        rows = await self.db.fetchall(
            "SELECT * FROM appeals WHERE officials_chat_id IS NULL AND status = ? "
            "ORDER BY id LIMIT ?",
            (Status.REGISTERED, limit),
        )
        return [a for a in [await self._with_attachments(r) for r in rows] if a is not None]

    async def set_officials_chat(self, appeal_id: int, chat_id: int) -> None:
        await self.db.execute(
            "UPDATE appeals SET officials_chat_id = ? WHERE id = ?",
            (chat_id, appeal_id),
            quick=True,
        )

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
        then: Callable[[Transaction, Appeal], Awaitable[object]] | None = None,
        expect: Mapping[str, Any] | None = None,
        depends_on: DependsOn | None = None,
        **fields: Any,
    ) -> Appeal | None:
        """Move an appeal to `new` only if it is still in one of `allowed_from` (and its
        `expect` columns still hold what was seen); the check and the change are one
        statement, so of two officials clicking at once one wins. `then`
        gets the changed appeal inside the same transaction: what the change causes (the
        citizen's notice in the outbox) commits with it or not at all. `depends_on` is read
        under the same write lock (BEGIN IMMEDIATE): nobody changes it before the commit."""
        assignments = ", ".join(f"{name} = ?" for name in fields)
        values = [_column_value(v) for v in fields.values()]
        marks = ", ".join("?" for _ in allowed_from)
        expected = dict(expect or {})
        guards = "".join(_guard(name, value) for name, value in expected.items())
        async with self.db.transaction() as conn:
            if depends_on is not None and not await _still(conn, depends_on):
                return None
            async with conn.execute("SELECT status FROM appeals WHERE id = ?", (appeal_id,)) as cur:
                row = await cur.fetchone()
            cur = await conn.execute(
                f"UPDATE appeals SET status = ?{', ' if fields else ''}{assignments} "
                f"WHERE id = ? AND status IN ({marks}){guards}",
                (new, *values, appeal_id, *allowed_from,
                 *(_column_value(v) for v in expected.values() if v is not None)),
            )  # fmt: skip
            if cur.rowcount == 0 or row is None:
                return None
            await conn.execute(
                "INSERT INTO status_history (appeal_id, old_status, new_status, actor, at, note, "
                "actor_name) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (appeal_id, row["status"], new, actor, encode_instant(at), note, actor_name),
            )
            changed = await appeal_in(conn, appeal_id)
            if then is not None:
                await then(conn, changed)
        return changed

    async def update_if(
        self,
        appeal_id: int,
        expect: Mapping[str, Any],
        *,
        then: Callable[[Transaction, Appeal], Awaitable[object]] | None = None,
        note: HistoryNote | None = None,
        **fields: Any,
    ) -> Appeal | None:
        assignments = ", ".join(f"{name} = ?" for name in fields)
        guards = "".join(_guard(name, value) for name, value in expect.items())
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                f"UPDATE appeals SET {assignments} WHERE id = ?{guards}",
                (*(_column_value(v) for v in fields.values()), appeal_id,
                 *(_column_value(v) for v in expect.values() if v is not None)),
            )  # fmt: skip
            if cur.rowcount == 0:
                return None
            changed = await appeal_in(conn, appeal_id)
            if note is not None:
                await conn.execute(
                    "INSERT INTO status_history (appeal_id, old_status, new_status, actor, at, "
                    "note) VALUES (?, ?, ?, ?, ?, ?)",
                    (appeal_id, changed.status, changed.status, note.actor,
                     encode_instant(note.at), note.note),
                )  # fmt: skip
            if then is not None:
                await then(conn, changed)
        return changed

    async def update_fields(self, appeal_id: int, **fields: Any) -> None:
        assignments = ", ".join(f"{name} = ?" for name in fields)
        await self.db.execute(
            f"UPDATE appeals SET {assignments} WHERE id = ?",
            (*(_column_value(v) for v in fields.values()), appeal_id),
        )

    async def record_contact_view(self, appeal_id: int, official_id: int, at: datetime) -> None:
        await self.db.execute(
            "INSERT INTO contact_views (appeal_id, official_id, at) VALUES (?, ?, ?)",
            (appeal_id, official_id, encode_instant(at)),
        )

    async def contact_views(self, appeal_id: int) -> list[tuple[int, datetime]]:
        rows = await self.db.fetchall(
            "SELECT official_id, at FROM contact_views WHERE appeal_id = ? ORDER BY rowid",
            (appeal_id,),
        )
        return [(r["official_id"], decode_instant(r["at"])) for r in rows]

    # updates
    async def update_seen(self, update_id: int) -> bool:
        return await self.db.fetchone(UPDATE_SEEN_SQL, (update_id,), quick=True) is not None

    async def mark_update(
        self, update_id: int, at: datetime, dialogs: Sequence[FsmWrite] = ()
    ) -> None:
        when = encode_instant(at)
        if not dialogs:
            await self.db.execute(MARK_SQL, (update_id, when), quick=True)
            return
        gone = [(w.key,) for w in dialogs if w.cleared]
        kept = [(w.key, w.user_id, w.state, w.data, when) for w in dialogs if not w.cleared]

        def commit(conn: sqlite3.Connection) -> None:
            # One hop to the database thread, one transaction: the rows and the mark.
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("DELETE FROM fsm WHERE key = ?", gone)
                conn.executemany(FSM_UPSERT_SQL, kept)
                conn.execute(MARK_SQL, (update_id, when))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        await self.db.run(commit, quick=True)

    async def claim_update(self, update_id: int, holder: str, expires_at: datetime) -> None:
        await self.db.execute(CLAIM_SQL, (update_id, holder, encode_instant(expires_at)))

    async def release_update(self, update_id: int, holder: str) -> bool:
        deleted = await self.db.execute(
            "DELETE FROM update_claims WHERE update_id = ? AND holder = ?", (update_id, holder)
        )
        return deleted > 0

    async def prune_updates(self, older_than: timedelta, now: datetime) -> int:
        before = encode_instant(now - older_than)
        await self.db.execute("DELETE FROM update_claims WHERE expires_at < ?", (before,))
        return await self.db.execute("DELETE FROM processed_updates WHERE at < ?", (before,))


def open_in(update_id: int, user_id: int | None, conn: sqlite3.Connection) -> OpenedUpdate:
    """`open_update`'s read, on the database thread: the handled-mark and a claim in one
    statement, then the citizen unless the update was handled."""
    opened = read_one(OPEN_SQL, (update_id,), conn)
    assert opened is not None  # one row always
    if opened["seen"]:
        return OpenedUpdate(True, None)
    claim = None
    if opened["holder"] is not None:
        claim = UpdateClaim(opened["holder"], decode_instant(opened["expires_at"]))
    row = read_one(CITIZEN_SQL, (user_id,), conn) if user_id is not None else None
    return OpenedUpdate(False, _citizen(row), claim)


async def appeal_in(conn: Transaction, appeal_id: int) -> Appeal:
    """The appeal as the open transaction sees it (the database lock is held: no `get_appeal`)."""
    async with conn.execute("SELECT * FROM appeals WHERE id = ?", (appeal_id,)) as cur:
        row = await cur.fetchone()
    assert row is not None
    appeal = _appeal_row(row)
    async with conn.execute(
        "SELECT kind, file_id, file_name FROM attachments WHERE appeal_id = ? ORDER BY id",
        (appeal_id,),
    ) as cur:
        rows = await cur.fetchall()
    appeal.attachments = [Attachment(r["kind"], r["file_id"], r["file_name"]) for r in rows]
    return appeal


async def _still(conn: Transaction, other: DependsOn) -> bool:
    """Whether the appeal a transition depends on is still as the caller saw it."""
    marks = ", ".join("?" for _ in other.statuses)
    guards = "".join(_guard(name, value) for name, value in other.expect.items())
    async with conn.execute(
        f"SELECT 1 FROM appeals WHERE id = ? AND status IN ({marks}){guards}",
        (other.appeal_id, *other.statuses,
         *(_column_value(v) for v in other.expect.values() if v is not None)),
    ) as cur:  # fmt: skip
        return await cur.fetchone() is not None


def _guard(name: str, value: Any) -> str:
    """` AND` the column still holds `value`: NULL as NULL, an instant as the same instant
    whatever offset its text was written with (older rows kept local ones)."""
    if value is None:
        return f" AND {name} IS NULL"
    if isinstance(value, datetime):
        return f" AND julianday({name}) = julianday(?)"
    return f" AND {name} = ?"


def _column_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return encode_instant(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


CITIZEN_SQL = (
    "SELECT id, language, consent_at, full_name, phone, unreachable FROM citizens WHERE id = ?"
)
UPDATE_SEEN_SQL = "SELECT 1 FROM processed_updates WHERE update_id = ?"
# Whether the update was handled, and who claims it if anyone (migration 0024): one
# statement, both looked up by their primary key, a row whatever is found.
OPEN_SQL = (
    "SELECT EXISTS (SELECT 1 FROM processed_updates WHERE update_id = ?1) AS seen, "
    "k.holder, k.expires_at FROM (SELECT 1) LEFT JOIN update_claims k ON k.update_id = ?1"
)
CLAIM_SQL = (
    "INSERT INTO update_claims (update_id, holder, expires_at) VALUES (?, ?, ?) "
    "ON CONFLICT (update_id) DO UPDATE SET holder = excluded.holder, "
    "expires_at = excluded.expires_at"
)
MARK_SQL = "INSERT OR IGNORE INTO processed_updates (update_id, at) VALUES (?, ?)"
FSM_UPSERT_SQL = (
    "INSERT INTO fsm (key, user_id, state, data, updated_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET state = excluded.state, data = excluded.data, "
    "updated_at = excluded.updated_at"
)


def _citizen(row: sqlite3.Row | None) -> Citizen | None:
    if row is None:
        return None
    return Citizen(
        row["id"],
        row["language"],
        decode_optional_instant(row["consent_at"]),
        row["full_name"],
        row["phone"],
        bool(row["unreachable"]),
    )


def _appeal_row(row: aiosqlite.Row) -> Appeal:
    return Appeal(
        id=row["id"],
        reference=row["reference"],
        citizen_id=row["citizen_id"],
        kind=row["kind"],
        category=row["category"],
        region=row["region"],
        district=row["district"],
        text=row["text"],
        language=row["language"],
        status=Status(row["status"]),
        created_at=decode_instant(row["created_at"]),
        registered_on=date.fromisoformat(row["registered_on"]),
        due_at=decode_instant(row["due_at"]),
        contact_name=row["contact_name"],
        contact_phone=row["contact_phone"],
        contact_address=row["contact_address"],
        contact_address_kind=row["contact_address_kind"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        answer_text=row["answer_text"],
        answered_at=decode_optional_instant(row["answered_at"]),
        answer_outcome=row["answer_outcome"],
        answer_file_id=row["answer_file_id"],
        officials_chat_id=row["officials_chat_id"],
        department=row["department"],
        forwarded_at=decode_optional_instant(row["forwarded_at"]),
        taken_by=row["taken_by"],
        taken_by_name=row["taken_by_name"],
        answered_by_name=row["answered_by_name"],
        extension_reason=row["extension_reason"],
        duplicate_of=row["duplicate_of"],
        solved=row["solved"],
        rating=row["rating"],
    )
