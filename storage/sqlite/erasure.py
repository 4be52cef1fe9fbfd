"""`ErasureStore` on SQLite: /forget in one transaction (what goes and what stays:
`storage.erasure`), then a checkpoint.

`secure_delete` (set on every connection, `storage.sqlite.database`) zeroes what is deleted or
overwritten inside the database file; the checkpoint afterwards moves the erased pages out of
the WAL and truncates it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.codec import decode_json, decode_optional_instant, encode_instant, encode_json
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
from storage.sqlite.database import SQLiteDatabase
from storage.sqlite.outbox import write
from storage.sqlite.repository import appeal_in
from storage.sqlite.transaction import Transaction

log = logging.getLogger(__name__)


_METHOD_KINDS = {
    "sendMessage": "text",
    "sendPhoto": "media",
    "sendDocument": "media",
    "sendMediaGroup": "media",
    "sendLocation": "location",
}


class SQLiteErasureStore:
    """`ErasureStore` on SQLite; what each method promises is written there."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db

    async def record_copy(
        self, appeal_id: int, chat_id: int, message_ids: Iterable[int], at: datetime
    ) -> None:
        async with self.db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO appeal_copies (appeal_id, chat_id, message_id, at) "
                "VALUES (?, ?, ?, ?)",
                [
                    (appeal_id, chat_id, message_id, encode_instant(at))
                    for message_id in message_ids
                ],
            )

    async def erase(
        self, citizen_id: int, now: datetime, redact: Redact, plan: Plan | None = None
    ) -> list[ErasedAppeal]:
        async with self.db.transaction() as conn:
            appeal_ids = await _ids(
                conn, "SELECT id FROM appeals WHERE citizen_id = ? ORDER BY id", citizen_id
            )
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
        if not await self.db.checkpoint():
            log.warning(
                "after /forget another process kept the WAL from being emptied; it still "
                "holds old pages until the next checkpoint or the bot's shutdown"
            )
        return erased


@dataclass
class _Found:
    posted: tuple[Posted, ...]
    unsent_cards: tuple[tuple[int, int], ...]
    rows: list[tuple[int, bool]]  # (outbox row id, sent)


async def _ids(conn: Transaction, sql: str, *params: Any) -> list[int]:
    cur = await conn.execute(sql, params)
    return [int(row[0]) for row in cur.rows]


async def _identifiers(conn: Transaction, citizen_id: int) -> Identifiers:
    cur = await conn.execute(
        "SELECT contact_name, contact_phone, contact_address FROM appeals WHERE citizen_id = ? "
        "UNION SELECT full_name, phone, NULL FROM citizens WHERE id = ? "
        "UNION SELECT contact_name, contact_phone, NULL FROM bookings WHERE citizen_id = ?",
        (citizen_id, citizen_id, citizen_id),
    )

    def distinct(index: int) -> tuple[str, ...]:
        return tuple(sorted({row[index] for row in cur.rows if row[index]}))

    return Identifiers(distinct(0), distinct(1), distinct(2))


async def _messages_of(conn: Transaction, appeal_id: int) -> _Found:
    """The outbox rows that carry the appeal's citizen data in officials' chats (by purpose,
    plus the earlier parts of a text split in several: only the last part has the purpose),
    and the copies posted directly."""
    purposes = (card_purpose(appeal_id), card_edit_purpose(appeal_id), personal_purpose(appeal_id))
    cur = await conn.execute(
        "SELECT id, chat_id, method, purpose, dedupe_key, message_id, message_ids, sent_at "
        "FROM outbox INDEXED BY outbox_by_purpose WHERE purpose IN (?, ?, ?) ORDER BY id",
        purposes,
    )
    rows = list(cur.rows)
    for key in {r["dedupe_key"] for r in rows if r["dedupe_key"] and "#" in r["dedupe_key"]}:
        base = key.rsplit("#", 1)[0]
        parts = await conn.execute(
            "SELECT id, chat_id, method, ? AS purpose, dedupe_key, message_id, message_ids, "
            "sent_at FROM outbox WHERE dedupe_key > ? AND dedupe_key < ?",
            (personal_purpose(appeal_id), f"{base}#", f"{base}$"),  # '$' follows '#'
        )
        rows += [r for r in parts.rows if r["dedupe_key"] != key]
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
        sent_at = decode_optional_instant(row["sent_at"])
        assert sent_at is not None
        posted.append(Posted(int(row["chat_id"]), tuple(int(i) for i in ids), kind, sent_at))
    copies = await conn.execute(
        "SELECT chat_id, message_id, at FROM appeal_copies WHERE appeal_id = ? ORDER BY rowid",
        (appeal_id,),
    )
    for copy in copies.rows:
        at = decode_optional_instant(copy["at"])
        assert at is not None
        posted.append(Posted(int(copy["chat_id"]), (int(copy["message_id"]),), "text", at))
    found = [(int(r["id"]), r["sent_at"] is not None) for r in rows]
    return _Found(tuple(posted), tuple(unsent), found)


async def _live_previews(conn: Transaction, appeal_id: int) -> list[LivePreview]:
    cur = await conn.execute(
        "SELECT id, chat_id, preview_message_id FROM official_prompts "
        "WHERE appeal_id = ? AND state IN ('open', 'preview') AND preview_message_id IS NOT NULL",
        (appeal_id,),
    )
    return [LivePreview(int(r[0]), int(r[1]), int(r[2])) for r in cur.rows]


async def _erase_appeal(
    conn: Transaction, appeal_id: int, citizen_id: int, who: Identifiers, redact: Redact
) -> None:
    for sql in (
        "DELETE FROM attachments WHERE appeal_id = ?",
        # What the citizen added and answered, and the questions put to them.
        "DELETE FROM appeal_additions WHERE appeal_id = ?",
        "DELETE FROM appeal_questions WHERE appeal_id = ?",
        "DELETE FROM appeal_copies WHERE appeal_id = ?",
        # Officials' drafts may quote the citizen; a live prompt ends (nobody to send it to).
        "UPDATE official_prompts SET draft_text = NULL, draft_file_id = NULL, "
        "state = CASE WHEN state IN ('open', 'preview') THEN 'void' ELSE state END "
        "WHERE appeal_id = ?",
    ):
        await conn.execute(sql, (appeal_id,))
    cur = await conn.execute(
        "SELECT answer_text, extension_reason FROM appeals WHERE id = ?", (appeal_id,)
    )
    kept = cur.rows[0]
    await conn.execute(
        "UPDATE appeals SET citizen_id = NULL, draft_key = NULL, text = NULL, latitude = NULL, "
        "longitude = NULL, contact_name = NULL, contact_phone = NULL, contact_address = NULL, "
        "contact_address_kind = NULL, feedback = NULL, answer_text = ?, extension_reason = ? "
        "WHERE id = ?",
        (_redacted(kept[0], who, redact), _redacted(kept[1], who, redact), appeal_id),
    )
    # The history keeps who did what, but the citizen only as «citizen», and the notes (an
    # extension's reason is the official's words) without the citizen's name.
    await conn.execute(
        "UPDATE status_history SET actor = 'citizen' WHERE appeal_id = ? AND actor = ?",
        (appeal_id, f"citizen:{citizen_id}"),
    )
    notes = await conn.execute(
        "SELECT id, note FROM status_history WHERE appeal_id = ? AND note IS NOT NULL",
        (appeal_id,),
    )
    redacted = [(redact(r["note"], who), r["note"], r["id"]) for r in notes.rows]
    await conn.executemany(
        "UPDATE status_history SET note = ? WHERE id = ?",
        [(new, row_id) for new, old, row_id in redacted if new != old],
    )


def _redacted(text: str | None, who: Identifiers, redact: Redact) -> str | None:
    return redact(text, who) if text else text


async def _erase_citizen(conn: Transaction, citizen_id: int) -> None:
    for sql in (
        # Everything to their chat: notices, answers, reminders, confirmations, sent or not.
        "DELETE FROM outbox WHERE chat_id = ?",
        "DELETE FROM fsm WHERE user_id = ?",
        # What they subscribed to (also ON DELETE CASCADE; said here, not left to it).
        "DELETE FROM subscriptions WHERE citizen_id = ?",
        # Their «I will come» and advance questions to meetings (also ON DELETE CASCADE).
        "DELETE FROM meeting_attendees WHERE citizen_id = ?",
        "DELETE FROM meeting_questions WHERE citizen_id = ?",
        # Their votes in polls and which Telegram poll went to them (the poll ids are on the
        # outbox rows to their chat, erased above; also ON DELETE CASCADE).
        "DELETE FROM poll_votes WHERE citizen_id = ?",
        "DELETE FROM poll_sends WHERE citizen_id = ?",
        # The trigger bookings_forget_citizen erases a booking's contact and question first;
        # the waiting list goes with the row (ON DELETE CASCADE).
        "DELETE FROM citizens WHERE id = ?",
    ):
        await conn.execute(sql, (citizen_id,))


async def _blank(
    conn: Transaction, rows: list[tuple[int, bool]], now: datetime, cleanup: Cleanup
) -> None:
    """The rows found keep no payload: a pending one is dropped, unless it is a card not yet
    sent, which is sent in its erased version (officials still need to see the appeal)."""
    for row_id, sent in rows:
        if row_id in cleanup.cards:
            await conn.execute(
                "UPDATE outbox SET payload = ? WHERE id = ?",
                (encode_json(cleanup.cards[row_id]), row_id),
            )
        elif sent:
            await conn.execute("UPDATE outbox SET payload = '{}' WHERE id = ?", (row_id,))
        else:
            await conn.execute(
                "UPDATE outbox SET payload = '{}', dropped_at = COALESCE(dropped_at, ?), "
                "last_error = COALESCE(last_error, 'the citizen used /forget') WHERE id = ?",
                (encode_instant(now), row_id),
            )
