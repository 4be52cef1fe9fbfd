"""Adversarial review of the officials' side of an appeal (rev1): what a department that
passes an appeal on, a group that became a supergroup and a citizen's rating do, over HTTP
against the fake Bot API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import storage.postgres.outbox
import storage.sqlite.outbox
from bot.domain.catalog import BUNDLED_CATALOG
from bot.telegram.callbacks import CardCb, FeedbackCb
from storage.models import Status
from storage.outbox import NewMessage
from tests.conftest import OFFICIALS, FrozenClock, Harness, make_settings, start_bot, stop_bot
from tests.fakeapi import Call, FakeTelegram
from tests.test_e2e_appeal import VALID_TEXT, onboard, reach_review, rows
from tests.test_e2e_officials import (
    CITIZEN,
    OFFICIAL,
    file_and_card,
    group_alert,
    open_prompt,
    reply_to,
    send_preview,
)

pytestmark = pytest.mark.e2e
EMPLOYMENT = -1002000  # the employment department's own chat
DEPARTMENT_MEMBER = 950


@pytest.fixture
async def departments(
    fake: FakeTelegram, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[Harness]:
    """Two departments: employment with a chat of its own, roads served by the main chat."""
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        BUNDLED_CATALOG.read_text(encoding="utf-8")
        + '\n[[departments]]\ncode = "employment"\nkk = "Жұмыспен қамту бөлімі"\n'
        f'ru = "Отдел занятости"\nchat_id = {EMPLOYMENT}\n'
        '\n[[departments]]\ncode = "roads"\nkk = "Жол бөлімі"\nru = "Отдел дорог"\n',
        encoding="utf-8",
    )
    settings = make_settings(fake.base_url, tmp_path / "bot.db", catalog_path=catalog)
    app, task = await start_bot(fake, settings, clock)
    h = Harness(fake, app, task, clock)
    yield h
    await stop_bot(h.app, h.task)


async def forward(h: Harness, card: Call, official: int, department: str) -> int:
    """Press «↪️ Forward» on `card` and pick `department`; returns the mark before the pick."""
    since = h.fake.mark()
    h.fake.press(official, card, h.fake.find_button(card, "↪️"), first_name=f"Official{official}")
    picker = await h.fake.wait_for(lambda c: "card:fwd" in str(c.params), since=since)
    since = h.fake.mark()
    h.fake.press(
        official, picker, h.fake.find_button(picker, department), first_name=f"Official{official}"
    )
    await h.fake.wait_for(
        lambda c: c.method == "answerCallbackQuery" and "Переадресовано" in str(c.params),
        since=since,
    )
    return since


async def test_an_appeal_passed_on_again_reaches_its_chat_and_the_citizen_hears_of_it(
    departments: Harness,
) -> None:
    """The main chat forwards to employment; employment takes it, finds it is the roads
    department's (served by the main chat) and forwards it there. The citizen hears of the
    second forward too, and the main chat gets a card with working buttons again: the
    appeal is not left with a chat that has no card to act on."""
    h = departments
    card = await file_and_card(h, CITIZEN)
    since = await forward(h, card, OFFICIAL, "Отдел занятости")
    moved = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and h.fake.chat_of(c) == EMPLOYMENT, since=since
    )
    await h.reply(CITIZEN, since, expect="Отдел занятости")
    assert await group_alert(h, DEPARTMENT_MEMBER, moved, "▶️") == "Взято в работу."
    taken = await h.fake.wait_for(
        lambda c: c.method == "editMessageText" and h.fake.chat_of(c) == EMPLOYMENT
        and "↪️" in str(c.params.get("reply_markup")),
    )  # fmt: skip
    h.clock.at += timedelta(minutes=5)
    since = await forward(h, taken, DEPARTMENT_MEMBER, "Отдел дорог")
    told = await h.reply(CITIZEN, since, expect="Отдел дорог")
    assert "2026-00001" in (told.text or "")
    back = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and h.fake.chat_of(c) == OFFICIALS
        and (c.text or "").startswith("🆕") and not c.failed,
        since=since,
    )  # fmt: skip
    assert any("✍️" in label for label, _ in h.fake.buttons(back))
    [appeal] = rows(h, "SELECT status, department, officials_chat_id FROM appeals")
    assert tuple(appeal) == ("forwarded", "roads", OFFICIALS)
    # The new card acts: the main chat answers it.
    assert await group_alert(h, OFFICIAL, back, "▶️") == "Взято в работу."


SUPERGROUP = -1009000555  # the officials' group after Telegram made it a supergroup
UPGRADED = "Bad Request: group chat was upgraded to a supergroup chat"


async def card_in(h: Harness, chat: int, since: int = 0) -> Call:
    return await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and h.fake.chat_of(c) == chat
        and (c.text or "").startswith("🆕") and not c.failed,
        since=since,
    )  # fmt: skip


async def in_chat(h: Harness, chat: int, since: int, what: str) -> Call:
    return await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and h.fake.chat_of(c) == chat and not c.failed
        and what in str(c.params),
        since=since,
    )  # fmt: skip


async def test_officials_act_on_appeals_after_their_group_became_a_supergroup(
    harness: Harness,
) -> None:
    """OFFICIALS_CHAT_ID names a group that Telegram has since made a supergroup (a new chat
    id). The card follows it there; the officials take, answer and find the appeal there as
    before, instead of being told they are not officials of this chat."""
    h = harness
    await h.fake.wait_for(lambda c: "Сводка" in (c.text or "") and not c.failed)
    for method in ("sendMessage", "editMessageText"):
        h.fake.fail_chat(OFFICIALS, method, 400, UPGRADED, {"migrate_to_chat_id": SUPERGROUP})
    since = h.fake.mark()
    review = await reach_review(h, CITIZEN)
    await h.confirm(CITIZEN, review, "✅", expect="2026-00001")
    card = await card_in(h, SUPERGROUP, since)
    assert await group_alert(h, OFFICIAL, card, "▶️") == "Взято в работу."
    taken = await h.fake.wait_for(
        lambda c: c.method == "editMessageText" and h.fake.chat_of(c) == SUPERGROUP
        and not c.failed and "На рассмотрении" in (c.text or ""),
        since=since,
    )  # fmt: skip
    assert any("✍️" in label for label, _ in h.fake.buttons(taken))  # still acted on here
    since = h.fake.mark()
    h.fake.press(OFFICIAL, card, h.fake.find_button(card, "✍️"), first_name="Official900")
    outcomes = await in_chat(h, SUPERGROUP, since, "card:outcome")
    since = h.fake.mark()
    h.fake.press(OFFICIAL, outcomes, h.fake.buttons(outcomes)[0][1] or "")
    prompt = await in_chat(h, SUPERGROUP, since, "force_reply")
    await h.quiet()  # the prompt is stored once Telegram took it
    since = h.fake.mark()
    h.fake.group_message(
        SUPERGROUP, OFFICIAL, "Фонари заменены.", first_name="Official900",
        reply_to_message=prompt.result,
    )  # fmt: skip
    preview = await in_chat(h, SUPERGROUP, since, "pr:send")
    since = h.fake.mark()
    h.fake.press(OFFICIAL, preview, h.fake.find_button(preview, "✅"))
    await h.reply(CITIZEN, since, expect="Фонари заменены.")
    since = h.fake.mark()
    h.fake.group_message(SUPERGROUP, OFFICIAL, "/find 2026-00001", first_name="Official900")
    found = await in_chat(h, SUPERGROUP, since, "2026-00001")
    assert "Дан ответ" in (found.text or ""), found.text


async def test_the_upgrade_message_alone_lets_the_supergroup_act(harness: Harness) -> None:
    """Telegram's service message in the new supergroup (migrate_from_chat_id) is the first
    the bot hears of it, before any send to the old id: /find there shows the card with
    its buttons, and they work."""
    h = harness
    card = await file_and_card(h, CITIZEN)
    h.fake.push_update(
        {
            "message": {
                "message_id": 1,
                "date": 1796000000,
                "chat": {"id": SUPERGROUP, "type": "supergroup", "title": "Officials"},
                "from": {"id": OFFICIAL, "is_bot": False, "first_name": "Official900"},
                "migrate_from_chat_id": OFFICIALS,
            }
        }
    )
    since = h.fake.mark()
    h.fake.group_message(SUPERGROUP, OFFICIAL, "/find 2026-00001", first_name="Official900")
    found = await in_chat(h, SUPERGROUP, since, "2026-00001")
    assert any("▶️" in label for label, _ in h.fake.buttons(found)), found.params
    assert await group_alert(h, OFFICIAL, found, "▶️") == "Взято в работу."
    # The card posted before the upgrade is edited where the chat now is.
    edited = await h.fake.wait_for(
        lambda c: c.method == "editMessageText" and h.fake.chat_of(c) == SUPERGROUP
        and c.params.get("message_id") == card.result["message_id"],
        since=since,
    )  # fmt: skip
    assert any("✍️" in label for label, _ in h.fake.buttons(edited))


async def test_an_appeal_not_answered_yet_cannot_be_rated(harness: Harness) -> None:
    """A rating button pressed on the citizen's own appeal before any answer (forged, since
    the bot offers it only under an answer) rates nothing: the officials read no «rated 1 of
    5» and the card, /stats and /export show no rating for an answer never given."""
    h = harness
    card = await file_and_card(h, CITIZEN)
    assert card
    [confirmation] = [
        c for c in h.fake.calls if c.method == "editMessageText" and h.fake.chat_of(c) == CITIZEN
        and "2026-00001" in (c.text or "")
    ]  # fmt: skip
    since = h.fake.mark()
    h.fake.press(CITIZEN, confirmation, FeedbackCb(appeal=1, rating=1).pack())
    answered = await h.fake.wait_for(lambda c: c.method == "answerCallbackQuery", since=since)
    assert "больше не действует" in str(answered.params.get("text")), answered.params
    await h.quiet()
    assert rows(h, "SELECT rating FROM appeals")[0]["rating"] is None
    assert not [c for c in h.fake.calls[since:] if h.fake.chat_of(c) == OFFICIALS
                and c.method == "sendMessage"]  # fmt: skip


@pytest.mark.parametrize("action", ["drop", "fwd", "outcome"])
async def test_a_forged_cancel_department_or_outcome_on_the_card_leaves_it(
    departments: Harness, action: str
) -> None:
    """«✖️ Cancel», a department and an outcome are buttons of the outcome question and the
    department list, which are deleted or edited once used. Pressed on the card itself
    (forged data: a member who may not delete the bot's messages), they deleted the card,
    or turned it into the question without its buttons: the chat's one place to act on the
    appeal."""
    h = departments
    card = await file_and_card(h, CITIZEN)
    since = h.fake.mark()
    arg = {"fwd": "employment", "outcome": "satisfied"}.get(action, "")
    h.fake.press(OFFICIAL, card, CardCb(action=action, appeal=1, arg=arg).pack())
    await h.fake.wait_for(lambda c: c.method == "answerCallbackQuery", since=since)
    await h.quiet()
    assert not [
        c for c in h.fake.calls[since:]
        if c.method in ("deleteMessage", "editMessageText", "editMessageReplyMarkup")
    ]  # fmt: skip
    assert h.fake.message(OFFICIALS, card.result["message_id"]) is not None
    assert rows(h, "SELECT status FROM appeals")[0]["status"] == "registered"


async def test_an_answer_after_forget_is_not_said_to_reach_the_citizen(harness: Harness) -> None:
    """The citizen used /forget; the card still offers «✍️ Answer» (the appeal stays, without
    them). The preview and the confirmation said the citizen would receive and had received
    the answer, which went nowhere; they now say nobody receives it."""
    h = harness
    card = await file_and_card(h, CITIZEN)
    question = await h.say(CITIZEN, "/forget")
    await h.press(CITIZEN, question, h.fake.buttons(question)[0][1] or "", method="editMessageText")
    await h.app.sender.drain()
    prompt = await open_prompt(h, card, "✍️")
    preview = await reply_to(h, prompt, "Фонари заменены.")
    assert "pr:send" in str(preview.params.get("reply_markup"))
    assert "Гражданин получит" not in (preview.text or ""), preview.text
    assert "удалил свои персональные данные" in (preview.text or ""), preview.text
    done = await send_preview(h, preview)
    assert "отправлен гражданину" not in (done.text or ""), done.text
    assert "удалил свои персональные данные" in (done.text or ""), done.text
    assert rows(h, "SELECT status FROM appeals")[0]["status"] == "answered"
    assert h.texts_to(CITIZEN, since=h.fake.mark()) == []


async def test_the_officials_hear_when_the_answer_never_reached_a_blocked_citizen(
    harness: Harness,
) -> None:
    """The citizen blocked the bot before the answer came. Telegram refuses it (403), the
    outbox gives up on that chat, as it must; but the officials had been told «sent to the
    citizen» and learned nothing more. Now the chat hears it under the card, once."""
    h = harness
    card = await file_and_card(h, CITIZEN)
    await h.app.sender.drain()
    h.fake.fail_chat(CITIZEN, "sendMessage", 403, "Forbidden: bot was blocked by the user")
    preview = await reply_to(h, await open_prompt(h, card, "✍️"), "Фонари заменены.")
    since = h.fake.mark()
    await send_preview(h, preview)
    note = await in_chat(h, OFFICIALS, since, "не дошёл до гражданина")
    assert "2026-00001" in (note.text or "")
    assert note.params["reply_parameters"]["message_id"] == card.result["message_id"]
    await h.app.sender.drain()
    notes = [c for c in h.fake.calls[since:] if "не дошёл" in (c.text or "") and not c.failed]
    assert len(notes) == 1


async def test_a_rating_and_its_note_to_the_officials_commit_together(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The officials' note of a rating cannot be written once (a disk error at that row): the
    rating is not kept either, so the citizen's next press rates and the officials hear of it
    once (it was kept, the note lost, and the next press refused as «already rated»)."""
    h = harness
    card = await file_and_card(h, CITIZEN)
    assert card
    [confirmation] = [
        c for c in h.fake.calls if c.method == "editMessageText" and h.fake.chat_of(c) == CITIZEN
        and "2026-00001" in (c.text or "")
    ]  # fmt: skip
    now = h.clock()
    answered = await h.app.repo.transition(
        1, frozenset({Status.REGISTERED}), Status.ANSWERED, f"official:{OFFICIAL}", now,
        answer_text="Фонарь заменён.", answered_at=now, answered_by=OFFICIAL,
        answered_by_name=f"Official{OFFICIAL}",
    )  # fmt: skip
    assert answered is not None and answered.officials_chat_id == OFFICIALS
    # The citizen said it solved the problem: the stars come after that word.
    assert (await h.app.dp["officials"].citizen_says_solved(1, CITIZEN, "yes")).done
    failures = [OSError("disk I/O error")]
    for module in (storage.sqlite.outbox, storage.postgres.outbox):

        async def insert(
            conn: Any, chat_id: int, message: NewMessage, *rest: Any, real: Any = module._insert
        ) -> int:
            if failures and "Оценка:" in str(message.payload.get("text")):
                raise failures.pop()
            result: int = await real(conn, chat_id, message, *rest)
            return result

        monkeypatch.setattr(module, "_insert", insert)
    since = h.fake.mark()
    h.fake.press(CITIZEN, confirmation, FeedbackCb(appeal=1, rating=4).pack())
    await h.quiet()
    assert not failures
    assert rows(h, "SELECT rating FROM appeals")[0]["rating"] is None
    h.fake.press(CITIZEN, confirmation, FeedbackCb(appeal=1, rating=4).pack())
    await h.fake.wait_for(
        lambda c: h.fake.chat_of(c) == OFFICIALS and "Оценка: 4 из 5" in (c.text or ""),
        since=since,
    )
    await h.quiet()
    assert rows(h, "SELECT rating FROM appeals")[0]["rating"] == 4
    notes = [c for c in h.fake.calls[since:] if h.fake.chat_of(c) == OFFICIALS
             and c.method == "sendMessage" and "Оценка:" in (c.text or "")]  # fmt: skip
    assert len(notes) == 1


@pytest.fixture(params=["ru", "kk"])
async def officials_speak(
    request: pytest.FixtureRequest, fake: FakeTelegram, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[tuple[Harness, str]]:
    """The bot with the officials' chat in Russian or in Kazakh."""
    lang = request.param
    settings = make_settings(fake.base_url, tmp_path / "bot.db", officials_language=lang)
    app, task = await start_bot(fake, settings, clock)
    h = Harness(fake, app, task, clock)
    yield h, lang
    await stop_bot(h.app, h.task)


async def test_the_officials_hear_when_a_question_never_reached_a_blocked_citizen(
    officials_speak: tuple[Harness, str],
) -> None:
    """As with an answer: the citizen blocked the bot, the officials' question (sent from the
    card with «❓», its file first) is refused (403) and given up on. The officials had read
    «sent» and waited for a reply that could not come; now the chat hears it under the card,
    once, in its language."""
    h, lang = officials_speak
    card = await file_and_card(h, CITIZEN)
    await h.app.sender.drain()
    h.fake.fail_chat(CITIZEN, "sendMessage", 403, "Forbidden: bot was blocked by the user")
    preview = await reply_to(h, await open_prompt(h, card, "❓"), "У какого подъезда фонарь?")
    since = h.fake.mark()
    await send_preview(h, preview)
    said = {"ru": "Вопрос по обращению № 2026-00001 не дошёл до гражданина",
            "kk": "№ 2026-00001 өтініш бойынша сұрақ азаматқа жетпеді"}[lang]  # fmt: skip
    note = await in_chat(h, OFFICIALS, since, said)
    assert note.params["reply_parameters"]["message_id"] == card.result["message_id"]
    await h.app.sender.drain()
    notes = [c for c in h.fake.calls[since:] if said in (c.text or "") and not c.failed]
    assert len(notes) == 1
    assert not [c for c in h.fake.calls[since:] if "Ответ на обращение" in (c.text or "")]


@pytest.mark.parametrize(
    ("button", "said"),
    [
        ("✍️", "Ответ на обращение № 2026-00001 не дошёл"),
        ("❓", "Вопрос по обращению № 2026-00001 не дошёл"),
    ],
    ids=["answer", "question"],
)
async def test_the_citizen_unreachable_note_commits_with_the_drop(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, button: str, said: str
) -> None:
    """The note was written after the drop had committed: a fault (or a crash) between the
    two lost it for good, as the rows it tells of were gone. Now the note is written in the
    drop's transaction: a disk error at the note's row keeps neither, the row is tried again,
    refused again, and the drop and the note are kept together; the officials hear once."""
    h = harness
    h.app.sender.base_backoff = 0.01  # the retry after the fault, without waiting a second
    card = await file_and_card(h, CITIZEN)
    await h.app.sender.drain()
    h.fake.fail_chat(CITIZEN, "sendMessage", 403, "Forbidden: bot was blocked by the user")
    failures = [OSError("disk I/O error")]
    for module in (storage.sqlite.outbox, storage.postgres.outbox):

        async def insert(
            conn: Any, chat_id: int, message: NewMessage, *rest: Any, real: Any = module._insert
        ) -> int:
            if failures and "не дошёл до гражданина" in str(message.payload.get("text")):
                raise failures.pop()
            result: int = await real(conn, chat_id, message, *rest)
            return result

        monkeypatch.setattr(module, "_insert", insert)
    preview = await reply_to(h, await open_prompt(h, card, button), "Фонари заменены?")
    since = h.fake.mark()
    await send_preview(h, preview)
    note = await in_chat(h, OFFICIALS, since, said)
    assert not failures
    assert note.params["reply_parameters"]["message_id"] == card.result["message_id"]
    await h.app.sender.drain(all_pending=True)
    notes = [c for c in h.fake.calls[since:] if "не дошёл" in (c.text or "") and not c.failed]
    assert len(notes) == 1
    assert rows(h, "SELECT COUNT(*) FROM outbox WHERE chat_id = ? AND dropped_at IS NULL "
                   "AND sent_at IS NULL", CITIZEN)[0][0] == 0  # fmt: skip


ADMIN = 4242


@pytest.fixture
async def admin(fake: FakeTelegram, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Harness]:
    settings = make_settings(fake.base_url, tmp_path / "bot.db", admin_ids=str(ADMIN))
    app, task = await start_bot(fake, settings, clock)
    h = Harness(fake, app, task, clock)
    yield h
    await stop_bot(h.app, h.task)


async def private_prompt(h: Harness, card: Call) -> Call:
    """The administrator presses «✍️» (then the first outcome) on a card /find showed in
    private; returns the prompt, once stored."""
    since = h.fake.mark()
    h.fake.press(ADMIN, card, h.fake.find_button(card, "✍️"), first_name="Admin")
    outcomes = await h.fake.wait_for(lambda c: "card:outcome" in str(c.params), since=since)
    since = h.fake.mark()
    h.fake.press(ADMIN, outcomes, h.fake.buttons(outcomes)[0][1] or "", first_name="Admin")
    prompt = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and h.fake.chat_of(c) == ADMIN and not c.failed
        and "force_reply" in str(c.params.get("reply_markup")),
        since=since,
    )  # fmt: skip
    # Stored once Telegram has taken the prompt: the reply must not come before (as in
    # tests.test_e2e_officials.open_prompt).
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5.0
    while await h.app.dp["prompts"].prompt_at(ADMIN, prompt.result["message_id"]) is None:
        assert loop.time() < deadline, "the prompt was never stored"
        await asyncio.sleep(0.01)
    await h.settled(ADMIN)  # the templates' buttons after the prompt, too
    await h.app.sender.drain()
    return prompt


async def announce_text_step(h: Harness) -> str:
    kinds = await h.say(ADMIN, "/announce", expect="Новое объявление")
    districts = await h.click(ADMIN, kinds, "📄", method="editMessageText")
    chosen = await h.click(ADMIN, districts, "г. Семей", method="editMessageText")
    await h.click(ADMIN, chosen, "Далее", expect="казахском")
    return "Ертең сағат 10:00-де жиналыс болады."  # the step's text: the Kazakh one


async def appeal_text_step(h: Harness) -> str:
    since = h.fake.mark()
    h.fake.user_message(ADMIN, "/new")
    kinds = await h.with_button(ADMIN, since, "Заявление")
    categories = await h.click(ADMIN, kinds, "Заявление")
    await h.click(ADMIN, categories, "Другое")
    await h.say(ADMIN, "Шымкент", expect="Шымкент")
    await h.say(ADMIN, "Каратау", expect="3500")
    return VALID_TEXT


@pytest.mark.parametrize("dialog", [announce_text_step, appeal_text_step], ids=["announce", "new"])
async def test_an_administrators_reply_to_a_prompt_in_private_is_the_answer_whatever_is_open(
    admin: Harness, dialog: Callable[[Harness], Awaitable[str]]
) -> None:
    """In private any message answers an open dialog's step (/announce's text, /new's text),
    and those dialogs were matched before the prompts: an administrator's reply to a card's
    prompt (from /find) was taken as the announcement's or the appeal's text, the answer never
    captured. A reply to the prompt goes to the prompt whatever is open; the dialog's step and
    data stay as they were, and its next message still answers it."""
    h = admin
    card = await file_and_card(h, CITIZEN)
    assert card
    await onboard(h, ADMIN, "ru")
    found = await h.say(ADMIN, "/find 2026-00001", expect="2026-00001")
    prompt = await private_prompt(h, found)
    step_text = await dialog(h)
    before = rows(h, "SELECT key, state, data FROM fsm WHERE user_id = ? ORDER BY key", ADMIN)
    since = h.fake.mark()
    h.fake.user_message(ADMIN, "Фонари заменены.", reply_to_message=prompt.result)
    preview = await h.reply(ADMIN, since)
    assert "pr:send" in str(preview.params.get("reply_markup")), preview.text
    assert "Фонари заменены." in (preview.text or "")
    after = rows(h, "SELECT key, state, data FROM fsm WHERE user_id = ? ORDER BY key", ADMIN)
    assert [tuple(r) for r in after] == [tuple(r) for r in before]
    # Nothing else answered it: no announcement's preview, no appeal's next step.
    assert [c for c in h.fake.calls[since:] if c.method == "sendMessage"] == [preview]
    # The answer goes out from its preview; the dialog goes on with its own next message.
    done = await send_preview_in(h, preview)
    assert "отправлен гражданину" in (done.text or ""), done.text
    assert rows(h, "SELECT status FROM appeals WHERE id = 1")[0]["status"] == "answered"
    since = h.fake.mark()
    h.fake.user_message(ADMIN, step_text)
    next_step = await h.reply(ADMIN, since)
    assert "pr:" not in str(next_step.params.get("reply_markup"))
    changed = rows(h, "SELECT key, state FROM fsm WHERE user_id = ? ORDER BY key", ADMIN)
    assert changed[0]["state"] != before[0]["state"]  # the step took its text


async def send_preview_in(h: Harness, preview: Call) -> Call:
    since = h.fake.mark()
    h.fake.press(ADMIN, preview, h.fake.find_button(preview, "✅"), first_name="Admin")
    return await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and h.fake.chat_of(c) == ADMIN and not c.failed
        and (c.params.get("reply_parameters") or {}).get("message_id")
        == preview.result["message_id"],
        since=since,
    )  # fmt: skip


async def test_an_extension_preview_shown_before_another_extension_is_refused(
    harness: Harness,
) -> None:
    """Two «⏳» prompts on one appeal, each replied to: both previews show the deadline as it
    was (14 December) moved to their date. The first «Send» moves it to 10 January; the second,
    sent after, moved it again to 15 January, though its preview said it moved 14 December,
    and the citizen heard of two extensions. The preview keeps the deadline it showed: sent
    when that is no longer the deadline, it is refused and says so; the deadline stays."""
    h = harness
    card = await file_and_card(h, CITIZEN)
    first = await reply_to(h, await open_prompt(h, card, "⏳"), "10.01.2027\nнужна экспертиза")
    second = await reply_to(h, await open_prompt(h, card, "⏳"), "15.01.2027\nнужна экспертиза")
    assert "pr:send" in str(first.params.get("reply_markup"))
    assert "pr:send" in str(second.params.get("reply_markup"))
    since = h.fake.mark()
    done = await send_preview(h, first)
    assert "⏳" in (done.text or "")
    await h.reply(CITIZEN, since, expect="10 января 2027")
    since = h.fake.mark()
    h.fake.press(OFFICIAL, second, h.fake.find_button(second, "✅"))
    refused = await h.fake.wait_for(
        lambda c: c.method == "answerCallbackQuery" and bool(c.params.get("text")) and not c.failed,
        since=since,
    )
    assert "10 января 2027" in refused.params["text"], refused.params
    await h.app.sender.drain()
    assert rows(h, "SELECT due_at FROM appeals")[0]["due_at"].startswith("2027-01-10")
    assert not [t for t in h.texts_to(CITIZEN, since=since) if "15 января" in t]
