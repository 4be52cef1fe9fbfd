"""/forget in the database: one transaction erases or anonymises every row about a citizen,
then the WAL is checkpointed so that nothing erased can be read back from the files.

What goes, what is anonymised and what stays (README, «What /forget erases»):
- erased: the citizens row, the FSM rows (dialog drafts), the waiting list, every outbox row to
  the citizen's chat, the appeals' files, what the citizen added and was asked, the drafts of
  officials' replies, the records of the card's copies; the text, location, contact, address
  and comment of each appeal; a booking's contact, question and «anything else» (the trigger
  of migration 0004);
- anonymised: appeals, bookings and their history keep what statistics need (kind, category,
  place, dates, status, outcome, rating, access needs) with no link to the person: no
  Telegram id (the history's actor becomes plain «citizen»), and the texts the akimat keeps
  (the official's answer, an extension's reason) without the citizen's name, phone or address;
- the messages the bot posted in officials' chats with the citizen's data are returned to the
  caller, whose `cleanup` says how to edit or delete them there; their outbox rows keep no
  payload (a pending card keeps its place in the queue and gets the erased version instead).

`secure_delete` (set on every connection, `storage/sqlite.py`) zeroes what is deleted or
overwritten inside the database file; the checkpoint afterwards moves the erased pages out of
the WAL and truncates it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage.models import Appeal
from storage.outbox import Outgoing, write
from storage.sqlite import SQLiteDatabase, _appeal_in, _dt, _ts
from storage.transaction import Transaction

log = logging.getLogger(__name__)


def card_purpose(appeal_id: int) -> str:
    """The appeal's card in an officials' chat (one per chat it was routed to)."""
    return f"card:{appeal_id}"


def card_edit_purpose(appeal_id: int) -> str:
    """An edit of the card: it carries the card's text, not a message of its own."""
    return f"card-edit:{appeal_id}"


def personal_purpose(appeal_id: int) -> str:
    """Any other message in an officials' chat with the citizen's data in it: the card's
    files and map pin, what the citizen added or answered, their comment."""
    return f"appeal:{appeal_id}"


@dataclass(frozen=True)
class Identifiers:
    """What identified the citizen, as stored before the erasure: the texts the akimat keeps
    are cleaned of it (`bot.services.erasure.redact`)."""

    names: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Posted:
    """A message the bot posted in an officials' chat about the appeal."""

    chat_id: int
    message_ids: tuple[int, ...]  # a media group is several messages
    kind: str  # "card" | "text" | "media" | "location"
    sent_at: datetime


@dataclass(frozen=True)
class LivePreview:
    """An official's preview that was waiting for «Send»: its buttons must go."""

    prompt_id: int
    chat_id: int
    message_id: int


@dataclass(frozen=True)
class ErasedAppeal:
    appeal: Appeal  # as it is now: anonymised
    posted: tuple[Posted, ...] = ()
    unsent_cards: tuple[tuple[int, int], ...] = ()  # (outbox row id, chat id) not yet sent
    previews: tuple[LivePreview, ...] = ()


@dataclass
class Cleanup:
    """What the caller wants done about the erased appeals' messages: rows to queue, and the
    payloads that replace those of unsent cards (by outbox row id)."""

    rows: list[Outgoing] = field(default_factory=list)
    cards: dict[int, dict[str, Any]] = field(default_factory=dict)


Redact = Callable[[str, Identifiers], str]
Plan = Callable[[Sequence[ErasedAppeal]], Cleanup]

_METHOD_KINDS = {
    "sendMessage": "text",
    "sendPhoto": "media",
    "sendDocument": "media",
    "sendMediaGroup": "media",
    "sendLocation": "location",
}


class ErasureStore:
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db

    async def record_copy(
        self, appeal_id: int, chat_id: int, message_ids: Iterable[int], at: datetime
    ) -> None:
        """The card posted directly in an officials' chat (📄 Show all, /find)."""
        async with self.db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO appeal_copies (appeal_id, chat_id, message_id, at) "
                "VALUES (?, ?, ?, ?)",
                [(appeal_id, chat_id, message_id, _ts(at)) for message_id in message_ids],
            )

    async def erase(
        self, citizen_id: int, now: datetime, redact: Redact, plan: Plan | None = None
    ) -> list[ErasedAppeal]:
        """Erase and anonymise everything about the citizen in one transaction, with the rows
        `plan` asks for (edits and deletions in officials' chats) committed in the same one.
        Returns the appeals anonymised."""
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
                ErasedAppeal(await _appeal_in(conn, appeal_id), messages.posted,
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
        ids = json.loads(row["message_ids"]) if row["message_ids"] else [row["message_id"]]
        sent_at = _dt(row["sent_at"])
        assert sent_at is not None
        posted.append(Posted(int(row["chat_id"]), tuple(int(i) for i in ids), kind, sent_at))
    copies = await conn.execute(
        "SELECT chat_id, message_id, at FROM appeal_copies WHERE appeal_id = ? ORDER BY rowid",
        (appeal_id,),
    )
    for copy in copies.rows:
        at = _dt(copy["at"])
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
                (json.dumps(cleanup.cards[row_id], ensure_ascii=False), row_id),
            )
        elif sent:
            await conn.execute("UPDATE outbox SET payload = '{}' WHERE id = ?", (row_id,))
        else:
            await conn.execute(
                "UPDATE outbox SET payload = '{}', dropped_at = COALESCE(dropped_at, ?), "
                "last_error = COALESCE(last_error, 'the citizen used /forget') WHERE id = ?",
                (_ts(now), row_id),
            )
