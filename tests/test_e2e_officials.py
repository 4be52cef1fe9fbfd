"""The listening loop over HTTP: a citizen files, the card reaches the officials' group, an
official takes and answers it, the citizen reads the answer in their language and rates it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.domain.catalog import BUNDLED_CATALOG
from bot.telegram.callbacks import CardCb
from storage.models import NewAppeal
from tests.conftest import (
    OFFICIALS,
    FrozenClock,
    Harness,
    make_settings,
    start_bot,
    stop_bot,
)
from tests.fakeapi import Call, FakeTelegram
from tests.test_e2e_appeal import VALID_TEXT, reach_review, rows

VALID_TEXT_START = VALID_TEXT[:30]

pytestmark = pytest.mark.e2e
CITIZEN = 801
OFFICIAL = 900
OTHER_OFFICIAL = 901
STRANGER = 999


async def card_of(h: Harness, reference: str) -> Call:
    return await h.fake.wait_for(
        lambda c: (
            c.method == "sendMessage"
            and h.fake.chat_of(c) == OFFICIALS
            and (c.text or "").startswith("🆕 <b>№")
            and reference in (c.text or "")
            and not c.failed
        )
    )


async def group_alert(h: Harness, user: int, card: Call, label: str) -> str:
    since = h.fake.mark()
    h.fake.press(user, card, h.fake.find_button(card, label), first_name=f"Official{user}")
    call = await h.fake.wait_for(lambda c: c.method == "answerCallbackQuery", since=since)
    return str(call.params.get("text") or "")


async def test_card_take_answer_and_rating(harness: Harness) -> None:
    h = harness
    review = await reach_review(h, CITIZEN)
    await h.confirm(CITIZEN, review, "✅", expect="2026-00001")
    card = await card_of(h, "2026-00001")
    assert "+7 7•• ••• •• 77" in (card.text or "")  # +7 701 555 66 77, masked
    assert "+77015556677" not in (card.text or "")

    h.fake.set_chat_member(OFFICIALS, STRANGER, status="left")
    refusal = await group_alert(h, STRANGER, card, "▶️")
    assert "только" in refusal.lower() or "Only" in refusal
    assert rows(h, "SELECT status FROM appeals")[0]["status"] == "registered"

    since = h.fake.mark()
    taken = await group_alert(h, OFFICIAL, card, "▶️")
    assert taken
    edited = await h.fake.wait_for(
        lambda c: c.method == "editMessageText" and h.fake.chat_of(c) == OFFICIALS, since=since
    )
    assert f"Official{OFFICIAL}" in (edited.text or "")
    await h.reply(CITIZEN, since, expect="2026-00001")  # "under consideration"

    again = await group_alert(h, OTHER_OFFICIAL, card, "▶️")
    assert f"Official{OFFICIAL}" in again

    contact = await group_alert(h, OFFICIAL, card, "👤")
    assert "+77015556677" in contact
    assert len(rows(h, "SELECT * FROM contact_views")) == 1

    since = h.fake.mark()
    h.fake.press(OFFICIAL, card, h.fake.find_button(card, "✍️"), first_name=f"Official{OFFICIAL}")
    outcomes = await h.fake.wait_for(
        lambda c: (
            c.method == "sendMessage"
            and h.fake.chat_of(c) == OFFICIALS
            and "✖️" in str(c.params.get("reply_markup"))
        ),
        since=since,
    )
    since = h.fake.mark()
    h.fake.press(
        OFFICIAL, outcomes, h.fake.buttons(outcomes)[0][1] or "", first_name=f"Official{OFFICIAL}"
    )
    prompt = await h.fake.wait_for(
        lambda c: (
            c.method == "sendMessage"
            and h.fake.chat_of(c) == OFFICIALS
            and "force_reply" in str(c.params.get("reply_markup"))
        ),
        since=since,
    )
    preview = await reply_to(h, prompt, "Фонари на улице Ленина заменены 25 ноября.")
    # The official sees what the citizen will read, and nothing has gone to the citizen yet.
    assert "Фонари на улице Ленина заменены 25 ноября." in (preview.text or "")
    assert "Ответ на ваше обращение № 2026-00001" in (preview.text or "")
    assert not any("Фонари" in t for t in h.texts_to(CITIZEN))
    assert rows(h, "SELECT status FROM appeals")[0]["status"] == "in_progress"
    since = h.fake.mark()
    await send_preview(h, preview)
    answer = await h.reply(CITIZEN, since, expect="Фонари на улице Ленина заменены")
    assert "2026-00001" in (answer.text or "")
    solved = h.fake.find_button(answer, "Да")

    since = h.fake.mark()
    h.fake.press(CITIZEN, answer, solved)
    rating = await h.with_button(CITIZEN, since, "5 ⭐")
    await h.click(CITIZEN, rating, "5 ⭐", method="editMessageText")

    [appeal] = rows(h, "SELECT status, answer_outcome, solved, rating FROM appeals")
    assert tuple(appeal) == ("closed", "satisfied", "yes", 5)
    history = [tuple(r) for r in rows(h, "SELECT new_status, note FROM status_history")]
    assert [status for status, _ in history] == [
        "registered",
        "in_progress",
        "answered",
        "closed",
        "closed",
    ]
    assert history[-1] == ("closed", "rating 5")  # a rating is a line of its own


async def file_and_card(h: Harness, user: int) -> Call:
    review = await reach_review(h, user)
    registered = await h.confirm(user, review, "✅", expect="2026-")
    reference = next(w for w in (registered.text or "").replace("<b>", " ").replace(
        "</b>", " ").split() if w.startswith("2026-"))  # fmt: skip
    return await card_of(h, reference)


async def file_again(h: Harness, appeal_id: int) -> Call:
    """The citizen of appeal `appeal_id` files the same again (a «duplicate» names only the
    same citizen's appeal): stored and its card posted, as after the dialog."""
    first = await h.app.repo.get_appeal(appeal_id)
    assert first is not None and first.citizen_id is not None
    again = NewAppeal(
        draft_key=f"again-{appeal_id}", citizen_id=first.citizen_id, kind=first.kind,
        category=first.category, region=first.region, district=first.district,
        text=first.text or "", contact_name="Иванов Иван Иванович",
        contact_phone="+77015556677", language="ru", created_at=h.clock(),
        registered_on=first.registered_on, due_at=first.due_at,
    )  # fmt: skip
    appeal = (await h.app.repo.create_appeal(again))[0]
    await h.app.dp["officials"].publish(appeal)
    return await card_of(h, appeal.reference)


def is_prompt(h: Harness, call: Call) -> bool:
    return (
        call.method == "sendMessage"
        and h.fake.chat_of(call) == OFFICIALS
        and "force_reply" in str(call.params.get("reply_markup"))
        and not call.failed
    )


async def open_prompt(h: Harness, card: Call, button: str, official: int = OFFICIAL) -> Call:
    """Press a card button that asks for a reply (for ✍️, with the first outcome); returns
    the bot's prompt."""
    since = h.fake.mark()
    h.fake.press(official, card, h.fake.find_button(card, button), first_name=f"Official{official}")
    if button == "✍️":
        outcomes = await h.fake.wait_for(
            lambda c: c.method == "sendMessage" and "card:outcome" in str(c.params), since=since
        )
        since = h.fake.mark()
        h.fake.press(official, outcomes, h.fake.buttons(outcomes)[0][1] or "")
    prompt = await h.fake.wait_for(lambda c: is_prompt(h, c), since=since)
    # The bot stores the prompt once Telegram has taken its message; a reply pushed before
    # that row is committed (a test is faster than any official) would find no prompt.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5.0
    chat, message_id = prompt.params["chat_id"], prompt.result["message_id"]
    while await h.app.dp["prompts"].prompt_at(chat, message_id) is None:
        assert loop.time() < deadline, "the prompt was never stored"
        await asyncio.sleep(0.01)
    return prompt


async def reply_to(
    h: Harness, prompt: Call | dict[str, Any], text: str, official: int = OFFICIAL, **extra: Any
) -> Call:
    """The official replies to the bot's message `prompt`; returns the bot's reply to that
    (the preview, or why not)."""
    since = h.fake.mark()
    target = prompt.result if isinstance(prompt, Call) else prompt
    sent = h.fake.group_message(
        OFFICIALS, official, text, first_name=f"Official{official}", reply_to_message=target,
        **extra,
    )  # fmt: skip
    return await replied(h, sent["message"]["message_id"], since)


async def replied(h: Harness, message_id: int, since: int) -> Call:
    """The bot's first message in the officials' chat replying to message `message_id`."""
    return await h.fake.wait_for(
        lambda c: (
            c.method == "sendMessage"
            and h.fake.chat_of(c) == OFFICIALS
            and (c.params.get("reply_parameters") or {}).get("message_id") == message_id
            and not c.failed
        ),
        since=since,
    )


async def send_preview(h: Harness, preview: Call, official: int = OFFICIAL) -> Call:
    """Press «Send» under a preview; returns the bot's confirmation in the chat."""
    since = h.fake.mark()
    h.fake.press(official, preview, h.fake.find_button(preview, "✅"))
    return await replied(h, preview.result["message_id"], since)


async def official_reply(h: Harness, card: Call, button: str, text: str) -> Call:
    """Open a prompt from a card, reply, and send what the preview shows; returns the bot's
    last word in the chat (the refusal, or the confirmation)."""
    prompt = await open_prompt(h, card, button)
    preview = await reply_to(h, prompt, text)
    if "pr:send" not in str(preview.params.get("reply_markup")):
        return preview
    return await send_preview(h, preview)


async def test_extend_tells_the_citizen_and_keeps_the_two_month_limit(harness: Harness) -> None:
    h = harness
    card = await file_and_card(h, CITIZEN)
    too_late = await official_reply(h, card, "⏳", "25.01.2027\nнужна экспертиза")
    assert "23 января 2027" in (too_late.text or "")  # two months from 23.11.2026
    assert rows(h, "SELECT extension_reason FROM appeals")[0][0] is None

    since = h.fake.mark()
    done = await official_reply(h, card, "⏳", "15.01.2027\nнужна экспертиза дорожного покрытия")
    assert "⏳" in (done.text or "")
    told = await h.reply(CITIZEN, since, expect="15 января 2027")
    assert "нужна экспертиза дорожного покрытия" in (told.text or "")
    [appeal] = rows(h, "SELECT due_at, extension_reason, status FROM appeals")
    assert appeal["due_at"].startswith("2027-01-15")
    assert appeal["status"] == "registered"
    notes = [r["note"] for r in rows(h, "SELECT note FROM status_history")]
    assert any(n and n.startswith("extended to 2027-01-15") for n in notes)


async def test_duplicate_points_the_citizen_to_the_original(harness: Harness) -> None:
    h = harness
    await file_and_card(h, CITIZEN)
    second = await file_again(h, 1)
    wrong = await official_reply(h, second, "🔁", "2026-99999")
    assert "2026-00012" in (wrong.text or "")  # the example in the refusal
    since = h.fake.mark()
    await official_reply(h, second, "🔁", "2026-00001")
    told = await h.reply(CITIZEN, since, expect="2026-00001")
    assert "2026-00002" in (told.text or "")
    [dup] = rows(h, "SELECT status, duplicate_of FROM appeals WHERE reference = '2026-00002'")
    assert tuple(dup) == ("duplicate", 1)


async def test_find_shows_the_card_with_its_history(harness: Harness) -> None:
    h = harness
    card = await file_and_card(h, CITIZEN)
    await group_alert(h, OFFICIAL, card, "▶️")
    since = h.fake.mark()
    h.fake.group_message(OFFICIALS, OFFICIAL, "/find 2026-00001", first_name="Official900")
    found = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and h.fake.chat_of(c) == OFFICIALS
        and "История обращения" in (c.text or ""),
        since=since,
    )  # fmt: skip
    # Who did what, by name; the citizen as «гражданин», never by id or name.
    assert "Official900 · взято в работу" in (found.text or "")
    assert "гражданин · Зарегистрировано" in (found.text or "")
    assert "official:" not in (found.text or "") and "801" not in (found.text or "")
    assert VALID_TEXT_START in (found.text or "")


async def test_official_commands_refuse_citizens(harness: Harness) -> None:
    h = harness
    since = h.fake.mark()
    h.fake.user_message(CITIZEN, "/find 2026-00001")
    refusal = await h.reply(CITIZEN, since)
    assert "должностных лиц" in (refusal.text or "")
    # The morning digest went out at start-up; a stranger's /digest must not add another.
    await h.fake.wait_for(lambda c: "Сводка" in (c.text or "") and not c.failed)
    h.fake.set_chat_member(OFFICIALS, STRANGER, status="left")
    since = h.fake.mark()
    h.fake.group_message(OFFICIALS, STRANGER, "/digest")
    answer = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and h.fake.chat_of(c) == OFFICIALS, since=since
    )
    assert "должностных лиц" in (answer.text or "")
    assert len([c for c in h.fake.sent(OFFICIALS) if "Сводка" in (c.text or "")]) == 1


async def test_digest_on_request_and_once_a_day(harness: Harness) -> None:
    h = harness
    # The bot started at 10:00 local, after DIGEST_TIME: the morning's digest went out once.
    daily = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and h.fake.chat_of(c) == OFFICIALS and not c.failed
    )
    assert "22 ноября 2026" in (daily.text or "")
    await h.restart()
    since = h.fake.mark()
    h.fake.group_message(OFFICIALS, OFFICIAL, "/digest", first_name="Official900")
    asked = await h.fake.wait_for(
        lambda c: (
            c.method == "sendMessage"
            and h.fake.chat_of(c) == OFFICIALS
            and "Сводка" in (c.text or "")
        ),
        since=since,
    )
    assert "22 ноября 2026" in (asked.text or "")
    digests = [c for c in h.fake.sent(OFFICIALS) if "22 ноября 2026" in (c.text or "")]
    assert len(digests) == 2  # the daily one (not repeated by the restart) and the asked one
    assert len(rows(h, "SELECT * FROM digests")) == 1


DEPARTMENT_CHAT = -1002000


@pytest.fixture
async def forwarding(
    fake: FakeTelegram, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[Harness]:
    """The bundled catalog plus one department with its own officials' chat."""
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        BUNDLED_CATALOG.read_text(encoding="utf-8")
        + '\n[[departments]]\ncode = "employment"\nkk = "Жұмыспен қамту бөлімі"\n'
        f'ru = "Отдел занятости"\nchat_id = {DEPARTMENT_CHAT}\n',
        encoding="utf-8",
    )
    settings = make_settings(fake.base_url, tmp_path / "bot.db", catalog_path=catalog)
    app, task = await start_bot(fake, settings, clock)
    h = Harness(fake, app, task, clock)
    yield h
    await stop_bot(h.app, h.task)


async def test_forward_moves_the_card_to_the_department(forwarding: Harness) -> None:
    h = forwarding
    card = await file_and_card(h, CITIZEN)
    since = h.fake.mark()
    h.fake.press(OFFICIAL, card, h.fake.find_button(card, "↪️"), first_name="Official900")
    picker = await h.fake.wait_for(
        lambda c: (
            c.method == "sendMessage"
            and h.fake.chat_of(c) == OFFICIALS
            and "Отдел занятости" in str(c.params.get("reply_markup"))
        ),
        since=since,
    )
    since = h.fake.mark()
    h.fake.press(OFFICIAL, picker, h.fake.find_button(picker, "Отдел занятости"))
    moved = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and h.fake.chat_of(c) == DEPARTMENT_CHAT, since=since
    )
    assert "2026-00001" in (moved.text or "")
    assert any("✍️" in b for b, _ in h.fake.buttons(moved))
    old_card = await h.fake.wait_for(
        lambda c: c.method == "editMessageText" and h.fake.chat_of(c) == OFFICIALS, since=since
    )
    assert not any("✍️" in b for b, _ in h.fake.buttons(old_card))  # acted on over there now
    await h.reply(CITIZEN, since, expect="2026-00001")
    [appeal] = rows(h, "SELECT status, department, officials_chat_id FROM appeals")
    assert tuple(appeal) == ("forwarded", "employment", DEPARTMENT_CHAT)
    # A member of the department's chat can answer it there.
    taken = await group_alert(h, 950, moved, "✍️")
    assert taken == ""


async def forward_to_department(h: Harness) -> Call:
    """File an appeal and forward it to the department; its new card there."""
    card = await file_and_card(h, CITIZEN)
    since = h.fake.mark()
    h.fake.press(OFFICIAL, card, h.fake.find_button(card, "↪️"), first_name="Official900")
    picker = await h.fake.wait_for(
        lambda c: (
            c.method == "sendMessage" and "Отдел занятости" in str(c.params.get("reply_markup"))
        ),
        since=since,
    )
    since = h.fake.mark()
    h.fake.press(OFFICIAL, picker, h.fake.find_button(picker, "Отдел занятости"))
    moved = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and h.fake.chat_of(c) == DEPARTMENT_CHAT, since=since
    )
    await h.reply(CITIZEN, since, expect="2026-00001")  # the citizen is told where it went
    await h.quiet()
    return moved


async def test_a_stale_forward_on_a_forwarded_card_is_answered_and_changes_nothing(
    forwarding: Harness,
) -> None:
    """The table forbids FORWARDED → FORWARDED and FORWARDED → DUPLICATE: the card no longer
    offers them, and a press of such a button left on an older card (or a forged one) gets an
    alert instead of silence, with no department picker or prompt behind it."""
    h = forwarding
    moved = await forward_to_department(h)
    labels = [b for b, _ in h.fake.buttons(moved)]
    assert not any("↪️" in b or "🔁" in b for b in labels), labels
    assert any("▶️" in b for b in labels) and any("✍️" in b for b in labels)
    before = [tuple(r) for r in rows(h, "SELECT * FROM appeals")]
    for action in ("forward", "dup", "fwd"):
        since = h.fake.mark()
        data = CardCb(action=action, appeal=1, arg="employment" if action == "fwd" else "").pack()
        h.fake.press(950, moved, data, first_name="Official950")
        alert = await h.fake.wait_for(lambda c: c.method == "answerCallbackQuery", since=since)
        assert alert.params.get("show_alert") is True, (action, alert.params)
        assert "недоступно" in str(alert.params.get("text")), alert.params
        assert "Передано в профильный отдел" in str(alert.params.get("text"))
        # The card is put right (still without the stale button); nothing else is sent.
        edit = await h.fake.wait_for(
            lambda c: c.method == "editMessageText" and h.fake.chat_of(c) == DEPARTMENT_CHAT,
            since=since,
        )
        assert not any("↪️" in b for b, _ in h.fake.buttons(edit))
        await h.quiet()
        assert not [c for c in h.fake.calls[since:] if c.method == "sendMessage"], action
    assert [tuple(r) for r in rows(h, "SELECT * FROM appeals")] == before


@pytest.fixture
async def forwarding_here(
    fake: FakeTelegram, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[Harness]:
    """The bundled catalog plus one department without a chat of its own: its appeals stay
    in the officials' chat."""
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        BUNDLED_CATALOG.read_text(encoding="utf-8")
        + '\n[[departments]]\ncode = "employment"\nkk = "Жұмыспен қамту бөлімі"\n'
        'ru = "Отдел занятости"\n',
        encoding="utf-8",
    )
    settings = make_settings(fake.base_url, tmp_path / "bot.db", catalog_path=catalog)
    app, task = await start_bot(fake, settings, clock)
    h = Harness(fake, app, task, clock)
    yield h
    await stop_bot(h.app, h.task)


async def test_a_duplicate_prompt_is_refused_once_the_appeal_is_forwarded(
    forwarding_here: Harness,
) -> None:
    """A «Duplicate of…» prompt opened before the forward: the reply to it is refused at
    once (the table forbids FORWARDED → DUPLICATE), not turned into a preview to send."""
    h = forwarding_here
    await file_and_card(h, CITIZEN)
    card = await file_and_card(h, CITIZEN + 1)
    prompt = await open_prompt(h, card, "🔁")
    since = h.fake.mark()
    h.fake.press(OFFICIAL, card, h.fake.find_button(card, "↪️"), first_name="Official900")
    picker = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and "Отдел занятости" in str(c.params),
        since=since,
    )
    since = h.fake.mark()
    h.fake.press(OFFICIAL, picker, h.fake.find_button(picker, "Отдел занятости"))
    await h.reply(CITIZEN + 1, since, expect="2026-00002")  # told of the forward
    refused = await reply_to(h, prompt, "2026-00001")
    assert "pr:send" not in str(refused.params.get("reply_markup"))
    assert "Передано в профильный отдел" in (refused.text or ""), refused.text
    [second] = rows(h, "SELECT status, duplicate_of FROM appeals WHERE reference = '2026-00002'")
    assert tuple(second) == ("forwarded", None)


async def test_a_card_lost_to_a_crash_is_posted_at_start_up(harness: Harness) -> None:
    """An appeal stored just before a crash, its card never queued, is published on restart."""
    h = harness
    from tests.test_e2e_account import file_directly

    await file_directly(h, CITIZEN, 1, h.clock)
    await h.restart()
    card = await card_of(h, "2026-00001")
    assert any("▶️" in b for b, _ in h.fake.buttons(card)), card
    await h.restart()
    await h.quiet(0.3)
    cards = [c for c in h.fake.sent(OFFICIALS) if (c.text or "").startswith("🆕 <b>№")]
    assert len(cards) == 1


async def answer_appeal(h: Harness, card: Call, user: int, text: str) -> Call:
    """An official answers «satisfied» from a template prompt; returns the citizen's message."""
    since = h.fake.mark()
    h.fake.press(OFFICIAL, card, h.fake.find_button(card, "✍️"), first_name="Official900")
    outcomes = await h.fake.wait_for(
        lambda c: (
            c.method == "sendMessage"
            and h.fake.chat_of(c) == OFFICIALS
            and "✖️" in str(c.params.get("reply_markup"))
        ),
        since=since,
    )
    since = h.fake.mark()
    h.fake.press(OFFICIAL, outcomes, h.fake.buttons(outcomes)[0][1] or "")
    templates = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and any("📝" in b for b, _ in h.fake.buttons(c)),
        since=since,
    )
    prompt = next(
        c for c in h.fake.calls[since:]
        if c.method == "sendMessage" and "force_reply" in str(c.params.get("reply_markup"))
    )  # fmt: skip
    since = h.fake.mark()
    h.fake.press(OFFICIAL, templates, h.fake.buttons(templates)[0][1] or "")
    copy = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and "<code>" in (c.text or ""), since=since
    )
    assert "Ваше обращение рассмотрено" in (copy.text or "")  # the appeal is in Russian
    preview = await reply_to(h, prompt, text)
    since = h.fake.mark()
    await send_preview(h, preview)
    return await h.reply(user, since, expect=text)


async def test_not_solved_reopens_with_the_citizens_comment(harness: Harness) -> None:
    h = harness
    card = await file_and_card(h, CITIZEN)
    answer = await answer_appeal(h, card, CITIZEN, "Работы запланированы на декабрь.")
    since = h.fake.mark()
    h.fake.press(CITIZEN, answer, h.fake.find_button(answer, "Нет"))
    ask = await h.with_button(CITIZEN, since, "Пропустить")
    assert "нерешённым" in (ask.text or "")
    since = h.fake.mark()
    h.fake.user_message(CITIZEN, "Во дворе до сих пор темно")
    await h.with_button(CITIZEN, since, "5 ⭐")
    told = await h.fake.wait_for(
        lambda c: (
            c.method == "sendMessage"
            and h.fake.chat_of(c) == OFFICIALS
            and "Во дворе до сих пор темно" in (c.text or "")
        ),
        since=since,
    )
    assert "2026-00001" in (told.text or "")
    [appeal] = rows(h, "SELECT status, solved, feedback FROM appeals")
    assert tuple(appeal) == ("in_progress", "no", "Во дворе до сих пор темно")
