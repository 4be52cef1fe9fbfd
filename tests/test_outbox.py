"""The outbox table and the enqueue API: splitting, dedupe, serialisation, per-chat order."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    LinkPreviewOptions,
    ReplyParameters,
)

from bot.delivery.outbox import (
    TEXT_LIMIT,
    Outbox,
    Unreached,
    answer_key,
    question_key,
    split_text,
    unreached,
)
from storage.outbox import NewMessage, Outgoing
from storage.postgres.outbox import PostgresOutboxStore
from storage.sqlite.database import SQLiteDatabase
from storage.sqlite.outbox import DUE, SQLiteOutboxStore
from tests.backends import Backend

T0 = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
WEEK = timedelta(days=7)


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> datetime:
        return self.at


# Every test of the store and of the Outbox over it runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.every_backend
Store = SQLiteOutboxStore | PostgresOutboxStore


@pytest.fixture
async def db(backend: Backend) -> Any:
    return await backend.open()


@pytest.fixture
def store(backend: Backend, db: Any) -> Store:
    return backend.outbox(db)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outbox(store: Store, clock: Clock) -> Outbox:
    return Outbox(store, clock)


def keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Take", callback_data="take:1")]]
    )


def long_text(chars: int = 10_000) -> str:
    lines = [f"{i:04d} " + "абв " * 20 for i in range(chars // 86 + 1)]
    return "\n".join(lines)[:chars]


async def rows(db: Any) -> list[dict[str, object]]:
    return [dict(r) for r in await db.fetchall("SELECT * FROM outbox ORDER BY id")]


# --------------------------------------------------------------------------- split_text


def test_short_text_is_one_part() -> None:
    assert split_text("hello\nworld") == ["hello\nworld"]
    assert split_text("x" * TEXT_LIMIT) == ["x" * TEXT_LIMIT]


def test_long_text_splits_on_line_ends_in_order() -> None:
    text = long_text()
    parts = split_text(text)
    assert len(parts) == 3
    assert all(len(p) <= TEXT_LIMIT for p in parts)
    # Cut only at line ends: joining with the dropped line breaks gives the text back.
    assert "\n".join(parts) == text


def test_long_line_is_never_cut_inside_bold() -> None:
    line = " ".join(f"<b>Appeal {i} is overdue</b> by {i} days" for i in range(500))
    parts = split_text(line)
    assert len(parts) > 1
    for part in parts:
        assert len(part) <= TEXT_LIMIT
        assert part.count("<b>") == part.count("</b>")
        assert re.fullmatch(r"[^<]*(<b>[^<]*</b>[^<]*)*", part)
    assert " ".join(p.strip() for p in parts) == line


def test_tags_spanning_lines_are_closed_and_reopened() -> None:
    code = "\n".join(f"line {i}: " + "y" * 60 for i in range(200))
    text = (
        f'<a href="https://example.kz">x</a>\n<pre><code class="language-text">{code}</code></pre>'
    )
    parts = split_text(text)
    assert len(parts) >= 3
    for part in parts[1:]:
        assert part.startswith('<pre><code class="language-text">')
    for part in parts:
        assert len(part) <= TEXT_LIMIT
        assert part.count("<pre>") == part.count("</pre>")
        assert part.count("<code") == part.count("</code>")


def test_word_longer_than_a_message_is_cut_but_not_inside_an_entity() -> None:
    text = "&amp;" * 3000
    parts = split_text(text)
    assert all(len(p) <= TEXT_LIMIT and re.fullmatch(r"(&amp;)+", p) for p in parts)
    assert "".join(parts) == text


def test_length_is_counted_in_utf16_units() -> None:
    parts = split_text("😀" * 5000)
    assert [len(p.encode("utf-16-le")) // 2 for p in parts] == [4096, 4096, 1808]


def test_plain_text_ignores_angle_brackets() -> None:
    text = ("a<b " * 1500).strip()
    parts = split_text(text, html=False)
    assert len(parts) == 2
    assert "".join(parts) == text


# --------------------------------------------------------------------------- Outbox


async def test_send_text_splits_into_rows_with_keyboard_on_last(outbox: Outbox, db: Any) -> None:
    text = long_text()
    ids = await outbox.send_text(
        42, text, reply_markup=keyboard(), dedupe_key="ack:7", purpose="card:7"
    )
    assert len(ids) == 3
    assert ids == sorted(ids)
    stored = await rows(db)
    assert [r["id"] for r in stored] == ids
    assert [r["dedupe_key"] for r in stored] == ["ack:7#1", "ack:7#2", "ack:7#3"]
    assert [r["purpose"] for r in stored] == [None, None, "card:7"]
    payloads = [json.loads(str(r["payload"])) for r in stored]
    assert ["reply_markup" in p for p in payloads] == [False, False, True]
    assert payloads[-1]["reply_markup"] == {
        "inline_keyboard": [[{"text": "Take", "callback_data": "take:1"}]]
    }
    assert all(len(p["text"]) < 4096 and p["parse_mode"] == "HTML" for p in payloads)
    assert "\n".join(p["text"] for p in payloads) == text
    assert outbox.wakeup.is_set()


async def test_dedupe_key_makes_one_row(outbox: Outbox, store: Store) -> None:
    first = await outbox.send_text(5, "Your appeal is registered", dedupe_key="reg:1")
    again = await outbox.send_text(5, "Your appeal is registered", dedupe_key="reg:1")
    other = await outbox.send_text(5, "Your appeal is registered", dedupe_key="reg:2")
    assert first == again != other
    assert await store.pending_count() == 2
    loc = {"latitude": 43.2, "longitude": 76.9}
    photo = await outbox.send(5, "sendLocation", loc, dedupe_key="loc:1")
    assert await outbox.send(5, "sendLocation", loc, dedupe_key="loc:1") == photo
    assert await store.pending_count() == 3


async def test_split_text_rows_dedupe_as_a_whole(outbox: Outbox, store: Store) -> None:
    text = long_text()
    assert await outbox.send_text(5, text, dedupe_key="long") == await outbox.send_text(
        5, text, dedupe_key="long"
    )
    assert await store.pending_count() == 3


async def test_payload_objects_are_serialised(outbox: Outbox, db: Any) -> None:
    await outbox.send_text(
        7,
        "hi",
        reply_markup=keyboard(),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        reply_parameters=ReplyParameters(message_id=3),
        parse_mode=None,
    )
    await outbox.send(
        -100,
        "sendMediaGroup",
        {"media": [InputMediaPhoto(media="file-1", caption="a"), InputMediaPhoto(media="f2")]},
    )
    stored = await rows(db)
    text_payload, media_payload = (json.loads(str(r["payload"])) for r in stored)
    assert text_payload == {
        "text": "hi",
        "parse_mode": None,
        "link_preview_options": {"is_disabled": True},
        "reply_parameters": {"message_id": 3},
        "reply_markup": {"inline_keyboard": [[{"text": "Take", "callback_data": "take:1"}]]},
    }
    # aiogram's Default(...) placeholders are left out, so the bot's defaults apply later.
    assert media_payload == {
        "media": [
            {"type": "photo", "media": "file-1", "caption": "a"},
            {"type": "photo", "media": "f2"},
        ]
    }
    # An explicit None is the caller's "no parse mode", unlike a missing key.
    plain = {"document": "doc-1", "caption": "1 < 2", "parse_mode": None}
    await outbox.send(-100, "sendDocument", plain)
    assert json.loads(str((await rows(db))[-1]["payload"])) == plain


async def test_reply_goes_on_first_part_only(outbox: Outbox, db: Any) -> None:
    await outbox.send_text(7, long_text(), reply_parameters=ReplyParameters(message_id=9))
    payloads = [json.loads(str(r["payload"])) for r in await rows(db)]
    assert ["reply_parameters" in p for p in payloads] == [True, False, False]


async def test_send_rejects_what_cannot_be_sent_later(outbox: Outbox, store: Store) -> None:
    with pytest.raises(ValueError, match="unknown Bot API method"):
        await outbox.send(1, "sendTelegram", {})
    with pytest.raises(TypeError, match="file_id or URL"):
        await outbox.send(1, "sendDocument", {"document": BufferedInputFile(b"x", "a.txt")})
    with pytest.raises(ValueError, match="empty"):
        await outbox.send_text(1, " \n")
    with pytest.raises(ValueError, match="chat_id"):
        await outbox.send(1, "sendMessage", {"chat_id": 2, "text": "x"})
    assert await store.pending_count() == 0


# --------------------------------------------------------------------------- OutboxStore


async def test_due_keeps_each_chats_order(store: Store) -> None:
    a1 = await store.add(1, "sendMessage", {"text": "a1"}, now=T0)
    b1 = await store.add(2, "sendMessage", {"text": "b1"}, now=T0)
    a2 = await store.add(1, "sendMessage", {"text": "a2"}, now=T0)
    later = await store.add(3, "sendMessage", {"text": "c"}, now=T0, not_before=T0 + timedelta(1))
    assert [r.id for r in await store.due(T0, 10)] == [a1, b1]

    # a1 waits for a retry: a2 must wait behind it, b1 is not held up.
    await store.reschedule(a1, T0 + timedelta(seconds=30), "502")
    assert [r.id for r in await store.due(T0, 10)] == [b1]
    assert await store.earliest_pending() == T0
    assert await store.earliest_pending(after=T0) == T0 + timedelta(seconds=30)
    due_later = await store.due(T0 + timedelta(seconds=30), 10)
    # Across chats the longest due goes first.
    assert [(r.id, r.attempts) for r in due_later] == [(b1, 0), (a1, 1)]

    await store.mark_sent(a1, 11, T0)
    await store.mark_sent(b1, 12, T0)
    assert [r.id for r in await store.due(T0, 10)] == [a2]
    row = (await store.due(T0, 10))[0]
    assert (row.chat_id, row.method, row.payload, row.purpose) == (
        1,
        "sendMessage",
        {"text": "a2"},
        None,
    )
    assert await store.pending_count() == 2
    assert [r.id for r in await store.due(T0 + timedelta(days=2), 10)] == [a2, later]


async def test_due_uses_the_partial_index(tmp_path: Path) -> None:
    # SQLite's own: INDEXED BY makes it refuse the query outright if the index cannot serve it.
    db = await SQLiteDatabase.open(tmp_path / "plan.db")
    store = SQLiteOutboxStore(db)
    await store.due(T0, 10)
    await store.earliest_pending(after=T0)
    await store.earliest_pending()
    await store.retry_parked(T0)
    await store.message_id_for("x")
    plan = [
        str(r["detail"])
        for r in await db.fetchall(f"EXPLAIN QUERY PLAN {DUE}", ("x", 10, "x", 10, 10))
    ]
    await db.close()
    # Each kind is read in the index's order from its first due row, and stops at the limit:
    # no sort of every due row (only of the two limited batches they merge from).
    scans = [p for p in plan if p.startswith("SEARCH o ")]
    assert scans == ["SEARCH o USING INDEX outbox_pending (bulk=? AND not_before<?)"] * 2, plan
    assert all("outbox_by_chat" in p for p in plan if p.startswith("SEARCH prior")), plan


async def test_an_upgrade_makes_a_broadcast_going_out_bulk(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = await SQLiteDatabase.open(path, migrate_to=18)
    for chat, purpose in ((1, "announce:1"), (2, "announce-progress:1"), (3, None)):
        await db.execute(
            "INSERT INTO outbox (chat_id, method, payload, purpose, created_at, scheduled_at, "
            "not_before) VALUES (?, 'sendMessage', '{\"text\": \"x\"}', ?, ?, ?, ?)",
            (chat, purpose, T0.isoformat(), T0.isoformat(), T0.isoformat()),
        )
    await db.close()
    db = await SQLiteDatabase.open(path)
    due = await SQLiteOutboxStore(db).due(T0, 10)
    await db.close()
    # The announcement's row gives way; its progress edit in the officials' chat does not.
    assert [(r.chat_id, r.bulk) for r in due] == [(2, False), (3, False), (1, True)]


async def test_drop_chat_and_unreachable(store: Store, db: Any, backend: Backend) -> None:
    await backend.repository(db).set_consent(5, T0)
    for text in ("a", "b", "c"):
        await store.add(5, "sendMessage", {"text": text}, now=T0)
    keep = await store.add(6, "sendMessage", {"text": "d"}, now=T0)
    await store.drop(keep, "bad", T0)
    assert len(await store.drop_chat(5, "Forbidden: bot was blocked by the user", T0)) == 3
    await store.mark_unreachable(5)
    assert await store.pending_count() == 0
    citizen = await backend.repository(db).get_citizen(5)
    assert citizen is not None and citizen.unreachable
    errors = [r["last_error"] for r in await rows(db)]
    assert errors == ["Forbidden: bot was blocked by the user"] * 3 + ["bad"]


async def test_drop_chat_writes_its_notes_in_its_transaction(store: Store) -> None:
    """What tells of the dropped rows commits with the drop, or neither does."""
    for key in ("answer:1:x", "other"):
        await store.add(5, "sendMessage", {"text": key}, dedupe_key=key, now=T0)
    assert await store.pending_keys(5) == ["answer:1:x", "other"]

    def note(dropped: list[str]) -> list[Outgoing]:
        assert dropped == ["answer:1:x", "other"]
        return [Outgoing(-100, [NewMessage("sendMessage", {"text": "lost"}, "note:1")], T0)]

    def failing(dropped: list[str]) -> list[Outgoing]:
        raise OSError("disk I/O error")

    with pytest.raises(OSError):
        await store.drop_chat(5, "blocked", T0, failing)
    assert await store.pending_keys(5) == ["answer:1:x", "other"]  # nothing was dropped
    assert await store.drop_chat(5, "blocked", T0, note) == ["answer:1:x", "other"]
    assert await store.pending_keys(5) == []
    assert await store.pending_keys(-100) == ["note:1"]


async def test_migrate_chat_moves_pending_rows_and_future_ones(store: Store) -> None:
    sent = await store.add(-100, "sendMessage", {"text": "old"}, now=T0)
    await store.mark_sent(sent, 1, T0)
    pending = await store.add(-100, "sendMessage", {"text": "pending"}, now=T0)
    assert await store.migrate_chat(-100, -100777, T0) == 1
    assert await store.resolve_chat(-100) == -100777
    assert await store.resolve_chat(-5) == -5
    assert await store.migrated_from(-100777) == [-100]
    assert await store.migrated_from(-100) == []
    later = await store.add(-100, "sendMessage", {"text": "later"}, now=T0)
    assert [(r.id, r.chat_id) for r in await store.due(T0, 10)] == [(pending, -100777)]
    await store.mark_sent(pending, 2, T0)
    assert [(r.id, r.chat_id) for r in await store.due(T0, 10)] == [(later, -100777)]
    sent_row = await store.get(sent)
    assert sent_row is not None and sent_row["chat_id"] == -100  # history stays where it was


async def test_message_id_for_purpose(store: Store) -> None:
    assert await store.message_id_for("card:1") is None
    first = await store.add(-5, "sendMessage", {"text": "v1"}, now=T0, purpose="card:1")
    assert await store.message_id_for("card:1") is None  # not sent yet
    await store.mark_sent(first, 10, T0)
    second = await store.add(-5, "sendMessage", {"text": "v2"}, now=T0, purpose="card:1")
    await store.mark_sent(second, 20, T0)
    assert await store.message_id_for("card:1") == (-5, 20)


async def test_add_many_is_one_transaction(store: Store) -> None:
    with pytest.raises(TypeError):
        await store.add_many(
            1,
            [NewMessage("sendMessage", {"text": "ok"}), NewMessage("sendMessage", {"x": {1, 2}})],
            now=T0,
        )
    assert await store.pending_count() == 0


async def test_a_row_scheduled_later_blocks_nothing_due_before_it(store: Store) -> None:
    second = timedelta(seconds=1)
    reminder = await store.add(1, "sendMessage", {"text": "⏰"}, now=T0, not_before=T0 + WEEK)
    status = await store.add(1, "sendMessage", {"text": "taken"}, now=T0 + second)
    answer = await store.add(1, "sendMessage", {"text": "answer"}, now=T0 + 2 * second)
    now = T0 + 3 * second
    assert [r.id for r in await store.due(now, 10)] == [status]

    # A row that was due and waits for a retry still holds back what came after it.
    await store.reschedule(status, now + timedelta(seconds=60), "502")
    assert await store.due(now, 10) == []
    assert await store.earliest_pending(after=now) == now + timedelta(seconds=60)
    await store.mark_sent(status, 1, now)
    assert [r.id for r in await store.due(now, 10)] == [answer]
    await store.mark_sent(answer, 2, now)
    assert await store.due(now, 10) == []
    assert await store.earliest_pending(after=now) == T0 + WEEK
    assert [r.id for r in await store.due(T0 + WEEK, 10)] == [reminder]


async def test_a_row_that_falls_due_queues_behind_what_was_due_before(
    store: Store,
) -> None:
    reminder = await store.add(2, "sendMessage", {"text": "⏰"}, now=T0, not_before=T0 + MINUTE)
    part1 = await store.add(2, "sendMessage", {"text": "part 1"}, now=T0 + timedelta(seconds=5))
    part2 = await store.add(2, "sendMessage", {"text": "part 2"}, now=T0 + timedelta(seconds=5))
    await store.reschedule(part1, T0 + 2 * MINUTE, "502")
    # The reminder's time has come, but part 1 was due before it and waits for its retry.
    assert await store.due(T0 + MINUTE, 10) == []
    order = []
    for _ in range(3):
        [row] = await store.due(T0 + 2 * MINUTE, 10)
        order.append(row.id)
        await store.mark_sent(row.id, None, T0)
    assert order == [part1, part2, reminder]


async def broadcast(store: Store, chats: range | list[int], at: datetime, n: int = 1) -> list[int]:
    """An announcement's rows, one per chat, queued as `Outbox.queue_in(..., bulk=True)` does."""
    rows = [
        Outgoing(c, [NewMessage("sendMessage", {"text": f"📢 {n}"}, f"announce:{n}:{c}",
                                f"announce:{n}")], at, bulk=True)
        for c in chats
    ]  # fmt: skip
    return await store.add_outgoing(rows)


async def test_bulk_rows_give_way_to_every_other_due_row(store: Store) -> None:
    second = timedelta(seconds=1)
    subscribers = list(range(101, 131))
    bulk = dict(zip(subscribers, await broadcast(store, subscribers, T0), strict=True))
    # Queued while the broadcast waits: an officials' card in two parts, a citizen's answer to
    # a subscriber with a broadcast row before it, a registration number, and a reminder that
    # is not due yet.
    card = await store.add_outgoing([Outgoing(-100, [
        NewMessage("sendMessage", {"text": "card, part 1"}, "card:1#1"),
        NewMessage("sendMessage", {"text": "card, part 2"}, "card:1#2", "card:1"),
    ], T0 + second)])  # fmt: skip
    answer = await store.add(105, "sendMessage", {"text": "answer"}, now=T0 + 2 * second)
    number = await store.add(7, "sendMessage", {"text": "№ 2026-00001"}, now=T0 + 3 * second)
    await store.add(8, "sendMessage", {"text": "⏰"}, now=T0, not_before=T0 + WEEK)
    now = T0 + 4 * second

    due = await store.due(now, 100)
    # Every other row first, longest due first, though the broadcast was due before them;
    # then the broadcast's rows, in their order.
    assert [r.id for r in due[:3]] == [card[0], answer, number]
    assert [r.bulk for r in due] == [False] * 3 + [True] * len(subscribers)
    assert [r.id for r in due[3:]] == [bulk[c] for c in subscribers]
    # A batch that the others fill holds no bulk row, however long it waited.
    assert [r.id for r in await store.due(now, 2)] == [card[0], answer]
    assert [r.id for r in await store.due(now, 4)] == [card[0], answer, number, bulk[101]]

    # The parts of the card keep their order, and the broadcast does not come between them.
    await store.mark_sent(card[0], 1, now)
    await store.mark_sent(answer, 2, now)
    await store.mark_sent(number, 3, now)
    assert [r.id for r in (await store.due(now, 100))[:2]] == [card[1], bulk[101]]
    await store.mark_sent(card[1], 4, now)
    assert all(r.bulk for r in await store.due(now, 100))
    assert len(await store.due(now, 100)) == len(subscribers)


async def test_within_a_chat_only_the_others_overtake_bulk_rows(store: Store) -> None:
    second = timedelta(seconds=1)
    # Two announcements to one subscriber: the second waits for the first.
    [first] = await broadcast(store, [5], T0, 1)
    [again] = await broadcast(store, [5], T0 + second, 2)
    answer = await store.add(5, "sendMessage", {"text": "answer"}, now=T0 + 2 * second)
    notice = await store.add(5, "sendMessage", {"text": "notice"}, now=T0 + 3 * second)
    now = T0 + 4 * second
    # The answer overtakes the announcements queued before it; the notice stays behind it.
    assert [r.id for r in await store.due(now, 10)] == [answer, first]

    # An answer waiting for its retry does not let the announcements pass it either way: the
    # one queued before it may go, the notice after it waits.
    await store.reschedule(answer, now + timedelta(seconds=30), "502")
    assert [r.id for r in await store.due(now, 10)] == [first]
    assert await store.earliest_pending(after=now) == now + timedelta(seconds=30)
    await store.mark_sent(first, 1, now)
    # The second announcement was queued before the answer: it may go; the notice may not.
    assert [r.id for r in await store.due(now, 10)] == [again]
    await store.mark_sent(again, 2, now)
    assert await store.due(now, 10) == []
    assert [r.id for r in await store.due(now + timedelta(seconds=30), 10)] == [answer]
    await store.mark_sent(answer, 3, now)
    assert [r.id for r in await store.due(now, 10)] == [notice]

    # An announcement queued after a row that waits for its retry waits behind it: a bulk row
    # never overtakes anything of its chat.
    await store.reschedule(notice, now + timedelta(seconds=60), "502")
    [late] = await broadcast(store, [5], now, 3)
    assert await store.due(now, 10) == []
    assert await store.earliest_pending(after=now) == now + timedelta(seconds=60)
    await store.mark_sent(notice, 4, now)
    assert [r.id for r in await store.due(now, 10)] == [late]

    # A bulk row waiting for its retry holds back the broadcast's later rows of its chat, but
    # not a row that is not bulk.
    await store.reschedule(late, now + timedelta(seconds=90), "502")
    [fourth] = await broadcast(store, [5], now + second, 4)
    number = await store.add(5, "sendMessage", {"text": "№"}, now=now + 2 * second)
    assert [r.id for r in await store.due(now + 3 * second, 10)] == [number]
    await store.mark_sent(number, 5, now)
    assert await store.due(now + 3 * second, 10) == []
    assert await store.earliest_pending(after=now + 3 * second) == now + timedelta(seconds=90)
    assert [r.id for r in await store.due(now + timedelta(seconds=90), 10)] == [late]
    await store.mark_sent(late, 6, now)
    assert [r.id for r in await store.due(now + timedelta(seconds=90), 10)] == [fourth]


async def test_a_refusing_group_is_parked_until_it_is_back(store: Store, db: Any) -> None:
    later = T0 + WEEK
    first = await store.add(-5, "sendMessage", {"text": "card 1"}, now=T0)
    second = await store.add(-5, "sendMessage", {"text": "card 2"}, now=T0)
    other = await store.add(-6, "sendMessage", {"text": "other group"}, now=T0)
    alert = [Outgoing(77, [NewMessage("sendMessage", {"text": "⚠️"})], T0)]
    assert await store.park_chat(-5, "Forbidden: bot was kicked", T0, alert)
    assert not await store.park_chat(-5, "Forbidden: bot was kicked", T0, alert)  # one incident
    due = await store.due(later, 10)
    assert [(r.chat_id, r.payload["text"]) for r in due] == [(-6, "other group"), (77, "⚠️")]
    third = await store.add(-5, "sendMessage", {"text": "card 3"}, now=T0)
    assert [r.id for r in await store.due(later, 10) if r.chat_id == -5] == []  # behind them
    assert await store.earliest_pending(after=T0) is not None  # parked rows are still pending
    assert await store.pending_count() == 5

    # Start-up: tried once more; refused again, the incident is the same one.
    assert await store.retry_parked(T0) == [-5]
    assert [r.id for r in await store.due(T0, 10) if r.chat_id == -5] == [first]
    assert not await store.park_chat(-5, "Forbidden: bot was kicked", T0, alert)
    assert await store.refused_chats() == [-5]

    assert await store.resume_chat(-5, T0) == 3  # everything the group had waiting
    assert await store.refused_chats() == []
    sent = []
    for _ in range(3):
        [row] = [r for r in await store.due(T0, 10) if r.chat_id == -5]
        sent.append(row.id)
        await store.mark_sent(row.id, None, T0)
    assert sent == [first, second, third]
    assert len(await db.fetchall("SELECT id FROM outbox WHERE chat_id = 77")) == 1
    stored = await store.get(other)
    assert stored is not None and stored["dropped_at"] is None


def test_only_an_answer_or_a_question_is_reported_unreached_whatever_part_was_dropped() -> None:
    """`unreached` is the one rule of which given-up rows the officials hear of."""
    assert unreached(answer_key(7, "2026-11-23 10:00:00+00:00")) == Unreached(
        Unreached.ANSWER, 7, "2026-11-23 10:00:00+00:00"
    )
    assert unreached(question_key(7, 3)) == Unreached(Unreached.QUESTION, 7, "3")
    assert unreached(question_key(7, 3) + "#2") == Unreached(Unreached.QUESTION, 7, "3")
    for other in ("", "question:3", "question-file:3", "answer-file:7:x", "extended:7:x", "x"):
        assert unreached(other) is None, other


async def test_a_row_in_every_language_is_sent_in_the_one_the_citizen_has_then(
    outbox: Outbox, store: Store, clock: Clock
) -> None:
    """A reminder queued days ahead follows a /lang: the row holds each language's version
    and the sender's renderer picks by the language read when the row goes out."""
    from bot.delivery.outbox import IN_LANGUAGE_KIND, RENDER_KEY, in_language_renderer

    versions = {"kk": ("<b>Еске салу</b>", keyboard()), "ru": ("<b>Напоминание</b>", None)}
    batch = outbox.in_language(7, versions, "ru", dedupe_key="remind:1:day", not_before=T0)
    await outbox.queue([batch])
    [row] = batch.messages
    spec = row.payload[RENDER_KEY]
    assert spec["kind"] == IN_LANGUAGE_KIND and row.payload["parse_mode"] == "HTML"
    json.dumps(row.payload)  # a row is JSON

    languages: dict[int, str | None] = {7: "kk"}

    async def language_of(chat: int) -> str | None:
        return languages[chat]

    render = in_language_renderer(language_of)
    kk = await render(spec["data"])
    assert kk["text"] == "<b>Еске салу</b>" and kk["reply_markup"]["inline_keyboard"]
    languages[7] = "ru"
    assert await render(spec["data"]) == {"text": "<b>Напоминание</b>"}
    languages[7] = None  # no language (yet): the one of the booking
    assert (await render(spec["data"]))["text"] == "<b>Напоминание</b>"

    async def broken(chat: int) -> str | None:
        raise OSError("database is locked")

    # A language that cannot be read sends the fallback, rather than dropping a reminder.
    assert (await in_language_renderer(broken)(spec["data"]))["text"] == "<b>Напоминание</b>"


def test_a_text_too_long_for_one_message_goes_in_parts_in_the_fallback_language(
    outbox: Outbox,
) -> None:
    from bot.delivery.outbox import RENDER_KEY

    versions = {"kk": (long_text(), None), "ru": ("Коротко", None)}
    batch = outbox.in_language(7, versions, "kk", dedupe_key="k")
    assert len(batch.messages) > 1 and all(RENDER_KEY not in m.payload for m in batch.messages)
    with pytest.raises(ValueError):
        outbox.in_language(7, {"kk": ("Қысқа", None)}, "ru")
