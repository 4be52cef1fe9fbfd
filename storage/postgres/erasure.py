"""`ErasureStore` on PostgreSQL: /forget in one transaction (what goes and what stays:
`storage.erasure`), then a VACUUM of the tables it touched.

The statements are SQLite's (storage/sqlite/erasure.py). The citizen's appeals are read FOR
UPDATE first, so an official's action on one of them waits for the erasure (or the erasure
for it) instead of writing into a half-erased appeal.

What PostgreSQL keeps of erased rows is not SQLite's WAL file: a deleted or overwritten row
stays in its table's pages as a dead tuple until VACUUM removes it, which is run here right
after the commit. Copies outside the tables are the operator's to bound: the server's WAL
segments (recycled after checkpoints; archived ones, and backups, live as long as the
operator keeps them). README's «What /forget erases» says so for PostgreSQL deployments.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from storage.codec import decode_json, encode_json
from storage.erasure import (
    Cleanup,
    ErasedAppeal,
    Identifiers,
    LivePreview,
    Plan,
    Posted,
    Redact,
    card_edit_purpose,
    card_purpose,
    personal_purpose,
)
from storage.postgres.database import Connection, PostgresDatabase
from storage.postgres.outbox import write
from storage.postgres.repository import appeal_in

log = logging.getLogger(__name__)

_METHOD_KINDS = {
    "sendMessage": "text",
    "sendPhoto": "media",
    "sendDocument": "media",
    "sendMediaGroup": "media",
    "sendLocation": "location",
}
# Every table /forget deletes from or overwrites in: vacuumed afterwards.
TOUCHED = (
    "citizens", "appeals", "attachments", "appeal_additions", "appeal_questions",
    "appeal_copies", "official_prompts", "status_history", "outbox", "fsm", "bookings",
    "waitlist",
    "poll_votes", "poll_sends",
)  # fmt: skip


class PostgresErasureStore:
    """`ErasureStore` on PostgreSQL; what each method promises is written there."""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    async def record_copy(
        self, appeal_id: int, chat_id: int, message_ids: Iterable[int], at: datetime
    ) -> None:
        async with self.db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO appeal_copies (appeal_id, chat_id, message_id, at) "
                "VALUES ($1, $2, $3, $4)",
                [(appeal_id, chat_id, message_id, at) for message_id in message_ids],
            )

    async def erase(
        self, citizen_id: int, now: datetime, redact: Redact, plan: Plan | None = None
    ) -> list[ErasedAppeal]:
        async with self.db.transaction() as conn:
            # The citizen's row first: what writes to their chat after reading them (an
            # announcement's subscribers, a meeting's attendees, a waiting-list offer's
            # citizen: FOR SHARE) either committed before this, and is erased below, or
            # waits and finds them gone.
            await conn.execute("SELECT 1 FROM citizens WHERE id = $1 FOR UPDATE", citizen_id)
            appeal_ids = [
                int(r["id"])
                for r in await conn.fetch(
                    "SELECT id FROM appeals WHERE citizen_id = $1 ORDER BY id FOR UPDATE",
                    citizen_id,
                )
            ]
            who = await _identifiers(conn, citizen_id)
            found = [await _messages_of(conn, appeal_id) for appeal_id in appeal_ids]
            previews = [await _live_previews(conn, appeal_id) for appeal_id in appeal_ids]
            for appeal_id in appeal_ids:
                await _erase_appeal(conn, appeal_id, citizen_id, who, redact)
            await _erase_citizen(conn, citizen_id)
            erased = [
                ErasedAppeal(await appeal_in(conn, appeal_id), messages.posted,
                             messages.unsent_cards, tuple(live))
                for appeal_id, messages, live in zip(appeal_ids, found, previews, strict=True)
            ]  # fmt: skip
            cleanup = plan(erased) if plan is not None else Cleanup()
            await _blank(conn, [row for messages in found for row in messages.rows], now, cleanup)
            await write(conn, cleanup.rows)
        await self._vacuum()
        return erased

    async def _vacuum(self) -> None:
        """Dead tuples of the erased rows out of the tables' pages (outside a transaction,
        as VACUUM must be). A failure leaves them to autovacuum: the erasure itself stands."""
        try:
            async with self.db.connection() as conn:
                await conn.execute(f"VACUUM {', '.join(TOUCHED)}")
        except (asyncpg.PostgresError, OSError) as exc:
            log.warning("after /forget VACUUM failed (%s); autovacuum will clear the rows", exc)


@dataclass
class _Found:
    posted: tuple[Posted, ...]
    unsent_cards: tuple[tuple[int, int], ...]
    rows: list[tuple[int, bool]]  # (outbox row id, sent)


async def _identifiers(conn: Connection, citizen_id: int) -> Identifiers:
    rows = await conn.fetch(
        "SELECT contact_name, contact_phone, contact_address FROM appeals WHERE citizen_id = $1 "
        "UNION SELECT full_name, phone, NULL FROM citizens WHERE id = $1 "
        "UNION SELECT contact_name, contact_phone, NULL FROM bookings WHERE citizen_id = $1",
        citizen_id,
    )

    def distinct(index: int) -> tuple[str, ...]:
        return tuple(sorted({row[index] for row in rows if row[index]}))

    return Identifiers(distinct(0), distinct(1), distinct(2))


async def _messages_of(conn: Connection, appeal_id: int) -> _Found:
    """The outbox rows that carry the appeal's citizen data in officials' chats (by purpose,
    plus the earlier parts of a text split in several: only the last part, `key#n`, has the
    purpose, and the others are `key#1` … `key#n-1`), and the copies posted directly."""
    purposes = [card_purpose(appeal_id), card_edit_purpose(appeal_id), personal_purpose(appeal_id)]
    columns = "id, chat_id, method, purpose, dedupe_key, message_id, message_ids, sent_at"
    rows: list[Any] = list(
        await conn.fetch(
            f"SELECT {columns} FROM outbox WHERE purpose = ANY($1::text[]) ORDER BY id",
            purposes,
        )
    )
    earlier: list[str] = []
    for key in {r["dedupe_key"] for r in rows if r["dedupe_key"] and "#" in r["dedupe_key"]}:
        base, last = key.rsplit("#", 1)
        if last.isdigit():
            earlier += [f"{base}#{n}" for n in range(1, int(last))]
    if earlier:
        parts = await conn.fetch(
            f"SELECT {columns} FROM outbox WHERE dedupe_key = ANY($1::text[]) ORDER BY id",
            earlier,
        )
        rows += [{**dict(r), "purpose": personal_purpose(appeal_id)} for r in parts]
    posted: list[Posted] = []
    unsent: list[tuple[int, int]] = []
    for row in rows:
        is_card = row["purpose"] == card_purpose(appeal_id)
        if row["sent_at"] is None:
            if is_card:
                unsent.append((int(row["id"]), int(row["chat_id"])))
            continue
        kind = "card" if is_card else _METHOD_KINDS.get(row["method"])
        if kind is None or row["message_id"] is None:
            continue  # an edit: it made no message of its own
        ids = decode_json(row["message_ids"]) if row["message_ids"] else [row["message_id"]]
        posted.append(Posted(int(row["chat_id"]), tuple(int(i) for i in ids), kind, row["sent_at"]))
    copies = await conn.fetch(
        "SELECT chat_id, message_id, at FROM appeal_copies WHERE appeal_id = $1 ORDER BY at, ctid",
        appeal_id,
    )
    for copy in copies:
        posted.append(Posted(int(copy["chat_id"]), (int(copy["message_id"]),), "text", copy["at"]))
    found = [(int(r["id"]), r["sent_at"] is not None) for r in rows]
    return _Found(tuple(posted), tuple(unsent), found)


async def _live_previews(conn: Connection, appeal_id: int) -> list[LivePreview]:
    rows = await conn.fetch(
        "SELECT id, chat_id, preview_message_id FROM official_prompts WHERE appeal_id = $1 "
        "AND state IN ('open', 'preview') AND preview_message_id IS NOT NULL",
        appeal_id,
    )
    return [LivePreview(int(r[0]), int(r[1]), int(r[2])) for r in rows]


async def _erase_appeal(
    conn: Connection, appeal_id: int, citizen_id: int, who: Identifiers, redact: Redact
) -> None:
    for sql in (
        "DELETE FROM attachments WHERE appeal_id = $1",
        # What the citizen added and answered, and the questions put to them.
        "DELETE FROM appeal_additions WHERE appeal_id = $1",
        "DELETE FROM appeal_questions WHERE appeal_id = $1",
        "DELETE FROM appeal_copies WHERE appeal_id = $1",
        # Officials' drafts may quote the citizen; a live prompt ends (nobody to send it to).
        "UPDATE official_prompts SET draft_text = NULL, draft_file_id = NULL, "
        "state = CASE WHEN state IN ('open', 'preview') THEN 'void' ELSE state END "
        "WHERE appeal_id = $1",
    ):
        await conn.execute(sql, appeal_id)
    kept = await conn.fetchrow(
        "SELECT answer_text, extension_reason FROM appeals WHERE id = $1", appeal_id
    )
    assert kept is not None
    await conn.execute(
        "UPDATE appeals SET citizen_id = NULL, draft_key = NULL, text = NULL, latitude = NULL, "
        "longitude = NULL, contact_name = NULL, contact_phone = NULL, contact_address = NULL, "
        "contact_address_kind = NULL, feedback = NULL, answer_text = $1, extension_reason = $2 "
        "WHERE id = $3",
        _redacted(kept[0], who, redact),
        _redacted(kept[1], who, redact),
        appeal_id,
    )
    # The history keeps who did what, but the citizen only as «citizen», and the notes (an
    # extension's reason is the official's words) without the citizen's name.
    await conn.execute(
        "UPDATE status_history SET actor = 'citizen' WHERE appeal_id = $1 AND actor = $2",
        appeal_id,
        f"citizen:{citizen_id}",
    )
    notes = await conn.fetch(
        "SELECT id, note FROM status_history WHERE appeal_id = $1 AND note IS NOT NULL",
        appeal_id,
    )
    redacted = [(redact(r["note"], who), r["note"], r["id"]) for r in notes]
    await conn.executemany(
        "UPDATE status_history SET note = $1 WHERE id = $2",
        [(new, row_id) for new, old, row_id in redacted if new != old],
    )


def _redacted(text: str | None, who: Identifiers, redact: Redact) -> str | None:
    return redact(text, who) if text else text


async def _erase_citizen(conn: Connection, citizen_id: int) -> None:
    for sql in (
        # Everything to their chat: notices, answers, reminders, confirmations, sent or not.
        "DELETE FROM outbox WHERE chat_id = $1",
        "DELETE FROM fsm WHERE user_id = $1",
        # What they subscribed to (also ON DELETE CASCADE; said here, not left to it).
        "DELETE FROM subscriptions WHERE citizen_id = $1",
        # Their «I will come» and advance questions to meetings (also ON DELETE CASCADE).
        "DELETE FROM meeting_attendees WHERE citizen_id = $1",
        "DELETE FROM meeting_questions WHERE citizen_id = $1",
        # Their votes in polls and which Telegram poll went to them (the poll ids are on the
        # outbox rows to their chat, erased above; also ON DELETE CASCADE).
        "DELETE FROM poll_votes WHERE citizen_id = $1",
        "DELETE FROM poll_sends WHERE citizen_id = $1",
        # The trigger bookings_forget_citizen erases a booking's contact and question first;
        # the waiting list goes with the row (ON DELETE CASCADE).
        "DELETE FROM citizens WHERE id = $1",
    ):
        await conn.execute(sql, citizen_id)


async def _blank(
    conn: Connection, rows: list[tuple[int, bool]], now: datetime, cleanup: Cleanup
) -> None:
    """The rows found keep no payload: a pending one is dropped, unless it is a card not yet
    sent, which is sent in its erased version (officials still need to see the appeal)."""
    for row_id, sent in rows:
        if row_id in cleanup.cards:
            await conn.execute(
                "UPDATE outbox SET payload = $1 WHERE id = $2",
                encode_json(cleanup.cards[row_id]),
                row_id,
            )
        elif sent:
            await conn.execute("UPDATE outbox SET payload = '{}' WHERE id = $1", row_id)
        else:
            await conn.execute(
                "UPDATE outbox SET payload = '{}', dropped_at = COALESCE(dropped_at, $1), "
                "last_error = COALESCE(last_error, 'the citizen used /forget') WHERE id = $2",
                now,
                row_id,
            )
