"""`Repository` on PostgreSQL: citizens, appeals, their history, and the updates handled.

The SQL mirrors storage/sqlite/repository.py; where SQLite relied on being the only writer,
the statement itself says what must not interleave (see storage/postgres/database.py)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from storage.base import AlsoWrite, DependsOn, OpenedUpdate, Repository, UpdateClaim
from storage.fsm import FsmWrite
from storage.models import Appeal, Attachment, Citizen, HistoryNote, NewAppeal, Status
from storage.postgres.database import Connection, PostgresDatabase, rowcount

# The first key of the advisory locks on draft keys (the second is the key's hash).
DRAFT_LOCK = 0x4C53
# Columns `transition` and `update_fields` may set: names go into the SQL text, so only these.
_FIELD = re.compile(r"[a-z_]+")


class PostgresRepository(Repository):
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    async def close(self) -> None:
        await self.db.close()

    # citizens
    async def get_citizen(self, user_id: int) -> Citizen | None:
        return _citizen(await self.db.fetchone(CITIZEN_SQL, user_id))

    async def open_update(self, update_id: int, user_id: int | None) -> OpenedUpdate:
        # One round trip: whether the update was handled, who claims it (if anyone) and the
        # citizen row (if any).
        row = await self.db.fetchone(OPEN_SQL, update_id, user_id)
        assert row is not None
        if row["seen"]:
            return OpenedUpdate(True, None)
        claim = None
        if row["claim_holder"] is not None:
            claim = UpdateClaim(row["claim_holder"], row["claim_expires_at"])
        return OpenedUpdate(False, _citizen(row) if row["id"] is not None else None, claim)

    async def set_reachable(self, user_id: int) -> None:
        await self.db.execute("UPDATE citizens SET unreachable = false WHERE id = $1", user_id)

    async def set_language(self, user_id: int, language: str) -> None:
        await self.db.execute(
            "INSERT INTO citizens (id, language, created_at) VALUES ($1, $2, now()) "
            "ON CONFLICT (id) DO UPDATE SET language = excluded.language",
            user_id,
            language,
        )

    async def set_consent(self, user_id: int, at: datetime) -> None:
        await self.db.execute(
            "INSERT INTO citizens (id, consent_at, created_at) VALUES ($1, $2, $2) "
            "ON CONFLICT (id) DO UPDATE SET consent_at = excluded.consent_at",
            user_id,
            at,
        )

    # appeals
    async def create_appeal(
        self, new: NewAppeal, also: AlsoWrite | None = None
    ) -> tuple[Appeal, bool]:
        """Two instances may file the same draft at once (a redelivered confirm): a
        transaction-scoped advisory lock on the draft key makes the second wait for the
        first's commit and then find its appeal, so no reference number is drawn for
        nothing. Different drafts do not wait for each other; their numbers come from the
        counter's row, locked by the upsert until commit."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))", DRAFT_LOCK, new.draft_key
            )
            appeal_id: int | None = None
            existing_id = await conn.fetchval(
                "SELECT id FROM appeals WHERE draft_key = $1", new.draft_key
            )
            if existing_id is None:
                reference = await _next_reference(conn, new.registered_on.year)
                appeal_id = await _insert_appeal(conn, new, reference)
                if also is not None:
                    await also(conn, reference)
        if appeal_id is None:
            existing = await self.appeal_by_draft(new.draft_key)
            assert existing is not None
            return existing, False
        appeal = await self.get_appeal(appeal_id)
        assert appeal is not None
        return appeal, True

    async def appeal_by_draft(self, draft_key: str) -> Appeal | None:
        return await self._appeal_where("draft_key = $1", draft_key)

    async def get_appeal(self, appeal_id: int) -> Appeal | None:
        return await self._appeal_where("id = $1", appeal_id)

    async def appeal_references(self, appeal_ids: Collection[int]) -> dict[int, str]:
        if not appeal_ids:
            return {}
        # One statement for any number of ids: the list is one array parameter.
        rows = await self.db.fetchall(
            "SELECT id, reference FROM appeals WHERE id = ANY($1::bigint[])",
            sorted(set(appeal_ids)),
        )
        return {int(r["id"]): str(r["reference"]) for r in rows}

    async def appeal_by_reference(self, reference: str) -> Appeal | None:
        return await self._appeal_where("reference = $1", reference)

    async def _appeal_where(self, condition: str, value: Any) -> Appeal | None:
        async with self.db.connection() as conn:
            return await _appeal_in(conn, condition, value)

    async def citizen_appeals(self, citizen_id: int, limit: int, offset: int) -> list[Appeal]:
        rows = await self.db.fetchall(
            "SELECT * FROM appeals WHERE citizen_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3",
            citizen_id,
            limit,
            offset,
        )
        return [_appeal_row(r) for r in rows]

    async def count_citizen_appeals(self, citizen_id: int) -> int:
        return int(
            await self.db.fetchval("SELECT count(*) FROM appeals WHERE citizen_id = $1", citizen_id)
        )

    async def status_history(self, appeal_id: int) -> list[tuple[Status, str, datetime]]:
        rows = await self.db.fetchall(
            "SELECT new_status, actor, at FROM status_history WHERE appeal_id = $1 ORDER BY id",
            appeal_id,
        )
        return [(Status(r["new_status"]), r["actor"], r["at"]) for r in rows]

    async def unpublished_appeals(self, limit: int) -> list[Appeal]:
        async with self.db.connection() as conn:
            ids = await conn.fetch(
                "SELECT id FROM appeals WHERE officials_chat_id IS NULL AND status = $1 "
                "ORDER BY id LIMIT $2",
                Status.REGISTERED.value,
                limit,
            )
            found = [await _appeal_in(conn, "id = $1", r["id"]) for r in ids]
        return [a for a in found if a is not None]

    async def set_officials_chat(self, appeal_id: int, chat_id: int) -> None:
        await self.db.execute(
            "UPDATE appeals SET officials_chat_id = $1 WHERE id = $2", chat_id, appeal_id
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
        then: Callable[[Connection, Appeal], Awaitable[object]] | None = None,
        expect: Mapping[str, Any] | None = None,
        depends_on: DependsOn | None = None,
        **fields: Any,
    ) -> Appeal | None:
        """Move an appeal to `new` only if it is still in one of `allowed_from` and its
        `expect` columns still hold what was seen. The row is read FOR UPDATE: of two
        officials clicking at once, the second waits for the first's commit, then sees the
        status (or the due date) it left and changes nothing. `depends_on`'s row is read FOR
        SHARE: a change of it under way (a withdrawal, a «duplicate», a forward, a /forget:
        each locks it FOR UPDATE) is waited for and then seen, and none can start before this
        commits. The two rows are locked in ascending id order (`Repository.transition`)."""
        assignments = "".join(f", {name} = ${i}" for i, name in enumerate(_names(fields), 3))
        expected = dict(expect or {})
        guards, guarded = _guards(expected, 2)
        # The rows in ascending id order: the one depended on first if its id is lower.
        lower = depends_on if depends_on and depends_on.appeal_id < appeal_id else None
        higher = depends_on if depends_on and depends_on.appeal_id >= appeal_id else None
        async with self.db.transaction() as conn:
            if lower is not None and not await _still(conn, lower):
                return None
            old = await conn.fetchval(
                f"SELECT status FROM appeals WHERE id = $1{guards} FOR UPDATE", appeal_id, *guarded
            )
            if old is None or Status(old) not in allowed_from:
                return None
            if higher is not None and not await _still(conn, higher):
                return None
            await conn.execute(
                f"UPDATE appeals SET status = $2{assignments} WHERE id = $1",
                appeal_id,
                new.value,
                *fields.values(),
            )
            await conn.execute(
                "INSERT INTO status_history (appeal_id, old_status, new_status, actor, at, note, "
                "actor_name) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                appeal_id,
                old,
                new.value,
                actor,
                at,
                note,
                actor_name,
            )
            changed = await _appeal_in(conn, "id = $1", appeal_id)
            assert changed is not None
            if then is not None:
                await then(conn, changed)
        return changed

    async def update_if(
        self,
        appeal_id: int,
        expect: Mapping[str, Any],
        *,
        then: Callable[[Connection, Appeal], Awaitable[object]] | None = None,
        note: HistoryNote | None = None,
        **fields: Any,
    ) -> Appeal | None:
        """One UPDATE whose WHERE holds the expectation: of two at once, the second waits for
        the first's row lock, then finds the row no longer matching and changes nothing."""
        names = _names(fields)
        assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, 2))
        guards, guarded = _guards(dict(expect), len(names) + 2)
        async with self.db.transaction() as conn:
            status = await conn.execute(
                f"UPDATE appeals SET {assignments} WHERE id = $1{guards}",
                appeal_id,
                *fields.values(),
                *guarded,
            )
            if rowcount(status) == 0:
                return None
            changed = await _appeal_in(conn, "id = $1", appeal_id)
            assert changed is not None
            if note is not None:
                await conn.execute(
                    "INSERT INTO status_history (appeal_id, old_status, new_status, actor, at, "
                    "note) VALUES ($1, $2, $2, $3, $4, $5)",
                    appeal_id, changed.status.value, note.actor, note.at, note.note,
                )  # fmt: skip
            if then is not None:
                await then(conn, changed)
        return changed

    async def update_fields(self, appeal_id: int, **fields: Any) -> None:
        assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(_names(fields), 2))
        await self.db.execute(
            f"UPDATE appeals SET {assignments} WHERE id = $1", appeal_id, *fields.values()
        )

    async def record_contact_view(self, appeal_id: int, official_id: int, at: datetime) -> None:
        await self.db.execute(
            "INSERT INTO contact_views (appeal_id, official_id, at) VALUES ($1, $2, $3)",
            appeal_id,
            official_id,
            at,
        )

    async def contact_views(self, appeal_id: int) -> list[tuple[int, datetime]]:
        # No rowid here: in time order, which is the order they were recorded in.
        rows = await self.db.fetchall(
            "SELECT official_id, at FROM contact_views WHERE appeal_id = $1 ORDER BY at, ctid",
            appeal_id,
        )
        return [(r["official_id"], r["at"]) for r in rows]

    # updates
    async def update_seen(self, update_id: int) -> bool:
        return await self.db.fetchone(UPDATE_SEEN_SQL, update_id) is not None

    async def mark_update(
        self, update_id: int, at: datetime, dialogs: Sequence[FsmWrite] = ()
    ) -> None:
        if not dialogs:
            await self.db.execute(MARK_SQL, update_id, at)
            return
        kept = [w for w in dialogs if not w.cleared]
        # One statement, so one round trip and one transaction: the rows and the mark.
        await self.db.execute(
            MARK_WITH_DIALOGS_SQL,
            update_id,
            at,
            [w.key for w in dialogs if w.cleared],
            [w.key for w in kept],
            [w.user_id for w in kept],
            [w.state for w in kept],
            [w.data for w in kept],
        )

    async def claim_update(self, update_id: int, holder: str, expires_at: datetime) -> None:
        await self.db.execute(CLAIM_SQL, update_id, holder, expires_at)

    async def release_update(self, update_id: int, holder: str) -> bool:
        deleted = await self.db.execute(
            "DELETE FROM update_claims WHERE update_id = $1 AND holder = $2", update_id, holder
        )
        return deleted > 0

    async def prune_updates(self, older_than: timedelta, now: datetime) -> int:
        await self.db.execute("DELETE FROM update_claims WHERE expires_at < $1", now - older_than)
        return await self.db.execute(
            "DELETE FROM processed_updates WHERE at < $1", now - older_than
        )


async def _next_reference(conn: Connection, year: int) -> str:
    """The year's next number. The upsert locks the counter's row until the transaction ends,
    so two appeals filed at once get consecutive numbers, never the same one."""
    value = await conn.fetchval(
        "INSERT INTO counters (name, value) VALUES ($1, 1) "
        "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
        f"appeal:{year}",
    )
    return f"{year}-{int(value):05d}"


async def _insert_appeal(conn: Connection, new: NewAppeal, reference: str) -> int:
    """The appeal, its files, its first history row; the citizen (and their contact)."""
    await conn.execute(
        "INSERT INTO citizens (id, language, created_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (id) DO NOTHING",
        new.citizen_id,
        new.language,
        new.created_at,
    )
    appeal_id = int(
        await conn.fetchval(
            "INSERT INTO appeals (reference, draft_key, citizen_id, kind, category, region, "
            "district, text, latitude, longitude, contact_name, contact_phone, "
            "contact_address, contact_address_kind, language, status, created_at, "
            "registered_on, due_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
            "$12, $13, $14, $15, $16, $17, $18, $19) RETURNING id",
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
            Status.REGISTERED.value,
            new.created_at,
            new.registered_on,
            new.due_at,
        )
    )
    await conn.executemany(
        "INSERT INTO attachments (appeal_id, kind, file_id, file_name) VALUES ($1, $2, $3, $4)",
        [(appeal_id, a.kind, a.file_id, a.file_name) for a in new.attachments],
    )
    await conn.execute(
        "INSERT INTO status_history (appeal_id, old_status, new_status, actor, at) "
        "VALUES ($1, NULL, $2, $3, $4)",
        appeal_id,
        Status.REGISTERED.value,
        f"citizen:{new.citizen_id}",
        new.created_at,
    )
    await conn.execute(
        "UPDATE citizens SET full_name = $1, phone = $2 WHERE id = $3",
        new.contact_name,
        new.contact_phone,
        new.citizen_id,
    )
    return appeal_id


async def _appeal_in(conn: Connection, condition: str, value: Any) -> Appeal | None:
    """One appeal with its attachments, as `conn` (maybe an open transaction) sees it."""
    row = await conn.fetchrow(f"SELECT * FROM appeals WHERE {condition}", value)
    if row is None:
        return None
    appeal = _appeal_row(row)
    files = await conn.fetch(
        "SELECT kind, file_id, file_name FROM attachments WHERE appeal_id = $1 ORDER BY id",
        appeal.id,
    )
    appeal.attachments = [Attachment(r["kind"], r["file_id"], r["file_name"]) for r in files]
    return appeal


async def appeal_in(conn: Connection, appeal_id: int) -> Appeal:
    """The appeal as the open transaction `conn` sees it (for the other stores)."""
    appeal = await _appeal_in(conn, "id = $1", appeal_id)
    assert appeal is not None
    return appeal


async def _still(conn: Connection, other: DependsOn) -> bool:
    """Whether the appeal a transition depends on is still as the caller saw it; its row is
    locked FOR SHARE until the transaction ends."""
    guards, guarded = _guards(dict(other.expect), 3)
    found = await conn.fetchval(
        f"SELECT 1 FROM appeals WHERE id = $1 AND status = ANY($2::text[]){guards} FOR SHARE",
        other.appeal_id,
        [s.value for s in other.statuses],
        *guarded,
    )
    return found is not None


def _guards(expected: dict[str, Any], first: int) -> tuple[str, list[Any]]:
    """` AND` each column still holds its value (NULL as NULL), numbered from `first`."""
    sql, values = "", []
    for name in _names(expected):
        if expected[name] is None:
            sql += f" AND {name} IS NULL"
        else:
            values.append(expected[name])
            sql += f" AND {name} = ${first + len(values) - 1}"
    return sql, values


def _names(fields: dict[str, Any]) -> list[str]:
    for name in fields:
        if not _FIELD.fullmatch(name):
            raise ValueError(f"not a column name: {name!r}")
    return list(fields)


CITIZEN_SQL = (
    "SELECT id, language, consent_at, full_name, phone, unreachable FROM citizens WHERE id = $1"
)
UPDATE_SEEN_SQL = "SELECT 1 FROM processed_updates WHERE update_id = $1"
# Whether the update was handled, who claims it (migration 0024), and the citizen: one row
# whatever is found, each looked up by its primary key.
OPEN_SQL = (
    "SELECT EXISTS (SELECT 1 FROM processed_updates WHERE update_id = $1) AS seen, "
    "k.holder AS claim_holder, k.expires_at AS claim_expires_at, c.* "
    "FROM (SELECT 1) one LEFT JOIN update_claims k ON k.update_id = $1 LEFT JOIN ("
    f"{CITIZEN_SQL.replace('$1', '$2')}) c ON true"
)
CLAIM_SQL = (
    "INSERT INTO update_claims (update_id, holder, expires_at) VALUES ($1, $2, $3) "
    "ON CONFLICT (update_id) DO UPDATE SET holder = excluded.holder, "
    "expires_at = excluded.expires_at"
)
MARK_SQL = (
    "INSERT INTO processed_updates (update_id, at) VALUES ($1, $2) "
    "ON CONFLICT (update_id) DO NOTHING"
)
# $3 the dialogs cleared (their rows go), $4..$7 the others' key, user, state and data.
MARK_WITH_DIALOGS_SQL = """
WITH gone AS (
    DELETE FROM fsm WHERE key = ANY($3::text[])
), kept AS (
    INSERT INTO fsm (key, user_id, state, data, updated_at)
    SELECT k, u, s, d, $2 FROM unnest($4::text[], $5::bigint[], $6::text[], $7::text[])
        AS r (k, u, s, d)
    ON CONFLICT (key) DO UPDATE SET state = excluded.state, data = excluded.data,
        updated_at = excluded.updated_at
)
INSERT INTO processed_updates (update_id, at) VALUES ($1, $2)
ON CONFLICT (update_id) DO NOTHING
"""


def _citizen(row: asyncpg.Record | None) -> Citizen | None:
    if row is None:
        return None
    return Citizen(
        row["id"],
        row["language"],
        row["consent_at"],
        row["full_name"],
        row["phone"],
        row["unreachable"],
    )


def _appeal_row(row: asyncpg.Record) -> Appeal:
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
        created_at=row["created_at"],
        registered_on=row["registered_on"],
        due_at=row["due_at"],
        contact_name=row["contact_name"],
        contact_phone=row["contact_phone"],
        contact_address=row["contact_address"],
        contact_address_kind=row["contact_address_kind"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        answer_text=row["answer_text"],
        answered_at=row["answered_at"],
        answer_outcome=row["answer_outcome"],
        answer_file_id=row["answer_file_id"],
        officials_chat_id=row["officials_chat_id"],
        department=row["department"],
        forwarded_at=row["forwarded_at"],
        taken_by=row["taken_by"],
        taken_by_name=row["taken_by_name"],
        answered_by_name=row["answered_by_name"],
        extension_reason=row["extension_reason"],
        duplicate_of=row["duplicate_of"],
        solved=row["solved"],
        rating=row["rating"],
    )
