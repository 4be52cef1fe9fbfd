"""An official's reply reaches the right citizen, and only once confirmed (issue #9, items 1,
3 and 10): the appeal comes from the prompt replied to, several prompts may be open at once,
a chat message is never an answer, prompts expire, and a preview shows exactly what the
citizen will receive before «Send»."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from storage.models import Appeal, NewAppeal
from tests.conftest import OFFICIALS, FrozenClock, Harness
from tests.fakeapi import Call
from tests.test_e2e_appeal import rows
from tests.test_e2e_officials import (
    OFFICIAL,
    OTHER_OFFICIAL,
    card_of,
    is_prompt,
    open_prompt,
    replied,
    reply_to,
    send_preview,
)

pytestmark = pytest.mark.e2e
ANNA, BOLAT = 811, 812  # two citizens


async def filed(
    h: Harness, user: int, lang: str = "ru", text: str | None = None, key: str | None = None
) -> Appeal:
    """An appeal stored and its card posted, as after the citizen's dialog (which the
    appeal tests drive); here the officials' side is what is tested."""
    now = h.clock()
    appeal, _created = await h.app.repo.create_appeal(
        NewAppeal(
            draft_key=key or f"draft-{user}", citizen_id=user, kind="application", category="other",
            region="750000000", district="751110000",
            text=text or f"Обращение гражданина {user}: во дворе не горит фонарь.",
            contact_name="Асель Нурланова", contact_phone="+77015556677", language=lang,
            created_at=now, registered_on=now.date(), due_at=now + timedelta(days=20),
        )
    )  # fmt: skip
    await h.app.dp["officials"].publish(appeal)
    return appeal


async def card(h: Harness, appeal: Appeal) -> Call:
    return await card_of(h, appeal.reference)


def citizen_texts(h: Harness, user: int) -> str:
    return "\n".join(h.texts_to(user))


def has_send(call: Call) -> bool:
    return "pr:send" in str(call.params.get("reply_markup"))


async def test_the_answer_goes_to_the_appeal_whose_prompt_was_replied_to(
    harness: Harness,
) -> None:
    h = harness
    anna = await filed(h, ANNA)
    bolat = await filed(h, BOLAT)
    prompt_a = await open_prompt(h, await card(h, anna), "✍️")
    prompt_b = await open_prompt(h, await card(h, bolat), "✍️")  # opened last
    assert anna.reference in (prompt_a.text or "") and bolat.reference in (prompt_b.text or "")

    preview = await reply_to(h, prompt_a, "Фонарь во дворе заменён.")
    assert anna.reference in (preview.text or "")
    assert bolat.reference not in (preview.text or "")
    since = h.fake.mark()
    done = await send_preview(h, preview)
    assert anna.reference in (done.text or "")
    await h.reply(ANNA, since, expect="Фонарь во дворе заменён.")
    assert "Фонарь во дворе заменён." not in citizen_texts(h, BOLAT)
    statuses = {
        r["reference"]: r["status"] for r in rows(h, "SELECT reference, status FROM appeals")
    }
    assert statuses == {anna.reference: "answered", bolat.reference: "registered"}

    # The other prompt is still open and still Bolat's.
    preview = await reply_to(h, prompt_b, "Ремонт освещения запланирован на декабрь.")
    assert bolat.reference in (preview.text or "")
    since = h.fake.mark()
    await send_preview(h, preview)
    await h.reply(BOLAT, since, expect="Ремонт освещения запланирован на декабрь.")

    # A reply to a prompt that was used already is explained, and changes nothing.
    late = await reply_to(h, prompt_a, "Ещё одно уточнение.")
    assert "больше не ждёт ответа" in (late.text or "")
    assert "Ещё одно уточнение." not in citizen_texts(h, ANNA)


async def test_a_chat_message_is_never_an_answer(harness: Harness) -> None:
    h = harness
    anna = await filed(h, ANNA)
    the_card = await card(h, anna)
    prompt = await open_prompt(h, the_card, "✍️")
    await h.fake.wait_for(lambda c: "card:tpl" in str(c.params), since=h.fake.calls.index(prompt))
    since = h.fake.mark()
    # While the prompt waits: a message to colleagues, and a reply to the card itself.
    lunch = h.fake.group_message(OFFICIALS, OFFICIAL, "Коллеги, кто идёт на обед?", first_name="O")
    urgent = h.fake.group_message(
        OFFICIALS, OFFICIAL, "Это срочно", first_name="O", reply_to_message=the_card.result
    )
    # The chat's updates are handled in order: once /find is answered, both were seen.
    h.fake.group_message(OFFICIALS, OFFICIAL, f"/find {anna.reference}", first_name="O")
    await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and "official:" not in (c.text or "")
        and anna.reference in (c.text or ""),
        since=since,
    )  # fmt: skip
    assert h.texts_to(ANNA, since) == []
    # No preview, no reply to either message (the morning digest may still be on its way).
    answered = {lunch["message"]["message_id"], urgent["message"]["message_id"]}
    assert not [
        c
        for c in h.fake.calls[since:]
        if has_send(c) or (c.params.get("reply_parameters") or {}).get("message_id") in answered
    ]
    assert rows(h, "SELECT status, answer_text FROM appeals")[0]["answer_text"] is None


async def test_nothing_reaches_the_citizen_before_send(harness: Harness) -> None:
    h = harness
    anna = await filed(h, ANNA)
    prompt = await open_prompt(h, await card(h, anna), "✍️")
    first = await reply_to(h, prompt, "Первый вариант ответа.")
    assert has_send(first)

    # «Edit»: a new prompt; its reply is a new preview; the old preview no longer sends.
    since = h.fake.mark()
    h.fake.press(OFFICIAL, first, h.fake.find_button(first, "✏️"))
    again = await h.fake.wait_for(lambda c: is_prompt(h, c), since=since)
    second = await reply_to(h, again, "Исправленный вариант ответа.")
    assert "Исправленный вариант ответа." in (second.text or "")
    alert = await h.alert(OFFICIAL, first, h.fake.find_button(first, "✅"))
    assert "больше не ждёт" in alert

    # «Cancel»: nothing was sent, and the appeal is as it was.
    since = h.fake.mark()
    h.fake.press(OFFICIAL, second, h.fake.find_button(second, "✖️"))
    cancelled = await replied(h, second.result["message_id"], since)
    assert "ничего не отправлено" in (cancelled.text or "")
    assert h.texts_to(ANNA) == []
    assert rows(h, "SELECT status FROM appeals")[0]["status"] == "registered"
    # Its «Send», pressed late, sends nothing either.
    alert = await h.alert(OFFICIAL, second, h.fake.find_button(second, "✅"))
    assert "больше не ждёт" in alert
    assert h.texts_to(ANNA) == []


async def test_the_preview_is_what_the_citizen_reads_in_their_language(harness: Harness) -> None:
    h = harness
    anna = await filed(h, ANNA, lang="kk", text="Аулада шам жанбайды, кешке қараңғы.")
    preview = await reply_to(h, await open_prompt(h, await card(h, anna), "✍️"), "Шам ауыстырылды.")
    assert "на казахском" in (preview.text or "")  # the officials read Russian
    assert f"№ {anna.reference} өтінішіңізге жауап" in (preview.text or "")
    since = h.fake.mark()
    await send_preview(h, preview)
    told = await h.reply(ANNA, since, expect="Шам ауыстырылды.")
    # The citizen's message is the preview's quoted part, word for word.
    body = (told.text or "").strip()
    assert body in (preview.text or "")


async def test_only_the_official_who_opened_a_prompt_replies_to_it(harness: Harness) -> None:
    h = harness
    anna = await filed(h, ANNA)
    prompt = await open_prompt(h, await card(h, anna), "✍️")
    other = await reply_to(h, prompt, "Я отвечу за коллегу.", official=OTHER_OFFICIAL)
    assert "Official900" in (other.text or "")
    assert not has_send(other)
    preview = await reply_to(h, prompt, "Отвечаю сам.")
    alert = await h.alert(OTHER_OFFICIAL, preview, h.fake.find_button(preview, "✅"))
    assert "Official900" in alert
    assert h.texts_to(ANNA) == []


async def test_a_prompt_expires_and_says_so(harness: Harness, clock: FrozenClock) -> None:
    h = harness
    anna = await filed(h, ANNA)
    the_card = await card(h, anna)
    stale = await open_prompt(h, the_card, "✍️")
    clock.at += timedelta(minutes=31)
    late = await reply_to(h, stale, "Ответ через час.")
    assert "истёк" in (late.text or "") or "30 минут" in (late.text or "")
    assert not has_send(late)

    # A prompt nobody replied to: the chat is told when it expires (on the next tick, here
    # the one at start-up), and a preview nobody sent loses its buttons.
    waiting = await open_prompt(h, the_card, "⏳")
    preview = await reply_to(h, await open_prompt(h, the_card, "🔁"), "2026-99999")
    assert not has_send(preview)  # no such appeal: refused, the prompt stays open
    clock.at += timedelta(minutes=31)
    since = h.fake.mark()
    await h.restart()
    notice = await replied(h, waiting.result["message_id"], since)
    assert "30 минут" in (notice.text or "")
    assert h.texts_to(ANNA) == []
    assert rows(h, "SELECT count(*) FROM official_prompts WHERE state = 'open'")[0][0] == 0


async def test_extension_and_duplicate_are_previewed_too(harness: Harness) -> None:
    h = harness
    first = await filed(h, BOLAT, key="earlier")  # a duplicate repeats its citizen's own
    second = await filed(h, BOLAT)
    preview = await reply_to(
        h, await open_prompt(h, await card(h, second), "⏳"), "15.12.2026\nнужна экспертиза"
    )
    assert "15 декабря 2026" in (preview.text or "") and "нужна экспертиза" in (preview.text or "")
    assert rows(h, "SELECT extension_reason FROM appeals WHERE id = ?", second.id)[0][0] is None
    since = h.fake.mark()
    await send_preview(h, preview)
    await h.reply(BOLAT, since, expect="15 декабря 2026")

    preview = await reply_to(h, await open_prompt(h, await card(h, second), "🔁"), first.reference)
    assert first.reference in (preview.text or "")
    assert rows(h, "SELECT status FROM appeals WHERE id = ?", second.id)[0][0] == "registered"
    since = h.fake.mark()
    await send_preview(h, preview)
    await h.reply(BOLAT, since, expect=first.reference)
    assert rows(h, "SELECT status FROM appeals WHERE id = ?", second.id)[0][0] == "duplicate"


async def test_a_long_answer_reaches_the_citizen_whole(harness: Harness) -> None:
    h = harness
    anna = await filed(h, ANNA)
    # Near Telegram's 4,096: with the header the citizen's message is longer than one
    # message may be, and the preview longer still.
    answer = ("Проведено обследование освещения. " * 115).strip() + " КОНЕЦ"
    assert len(answer) < 4096
    since = h.fake.mark()
    await reply_to(h, await open_prompt(h, await card(h, anna), "✍️"), answer)
    last_part = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and has_send(c), since=since
    )
    since = h.fake.mark()
    await send_preview(h, last_part)
    await h.reply(ANNA, since, expect="КОНЕЦ")
    received = "".join(h.texts_to(ANNA, since))
    assert answer.replace(" ", "") in received.replace(" ", "").replace("\n", "")


async def test_two_officials_extending_at_once_extend_once(harness: Harness) -> None:
    """Two officials' previews of an extension, both «Send» at the same instant: each read the
    appeal with the deadline it had before either wrote (the fault injected: both reach the
    write before either commits). One extension is kept, the other official is refused, and
    the citizen hears of one new deadline."""
    h = harness
    appeal = await filed(h, ANNA)
    shown = await card(h, appeal)
    first = await reply_to(h, await open_prompt(h, shown, "⏳"), "15.12.2026\nнужна экспертиза")
    second = await reply_to(
        h,
        await open_prompt(h, shown, "⏳", official=OTHER_OFFICIAL),
        "20.12.2026\nнужен выезд",
        official=OTHER_OFFICIAL,
    )
    assert has_send(first) and has_send(second)
    repo = h.app.repo
    write = repo.transition
    arrived: list[int] = []
    both = asyncio.Event()

    async def together(*args: Any, **kwargs: Any) -> Any:
        arrived.append(args[0])
        if len(arrived) >= 2:
            both.set()
        await both.wait()
        return await write(*args, **kwargs)

    repo.transition = together  # type: ignore[method-assign]
    since = h.fake.mark()
    h.fake.press(OFFICIAL, first, h.fake.find_button(first, "✅"))
    h.fake.press(OTHER_OFFICIAL, second, h.fake.find_button(second, "✅"))
    answers = [
        await replied(h, first.result["message_id"], since),
        await replied(h, second.result["message_id"], since),
    ]
    assert len(arrived) == 2
    notices = rows(
        h, "SELECT payload FROM outbox WHERE chat_id = ? AND dedupe_key LIKE 'extended:%'", ANNA
    )
    assert len(notices) == 1, notices  # the citizen is told once
    kept = "15 декабря 2026" if "15 декабря 2026" in notices[0][0] else "20 декабря 2026"
    await h.reply(ANNA, since, expect=kept)
    due = rows(h, "SELECT due_at FROM appeals WHERE id = ?", appeal.id)[0][0]
    assert str(due).startswith("2026-12-15" if kept.startswith("15") else "2026-12-20")
    texts = [a.text or "" for a in answers]
    assert sum("продлён; гражданину сообщено" in t for t in texts) == 1  # the one kept
    assert sum("тем временем продлило другое должностное лицо" in t for t in texts) == 1


async def test_a_refusal_naming_a_long_name_still_reaches_the_official(harness: Harness) -> None:
    """Telegram takes at most 200 characters in an alert and refuses a longer one; a failed
    alert is let pass (RetryPolicy), so the official pressing «Send» on a colleague's preview
    saw nothing at all, as if it had gone. The colleague's name is theirs on Telegram, up to
    64 + 64 characters: the refusal naming it is still said, cut to the limit."""
    h = harness
    anna = await filed(h, ANNA)
    first, last = "Айгерим-" + "ә" * 56, "Нұрсұлтанқызы-" + "ы" * 50
    assert len(first) == len(last) == 64
    h.fake.group_message(OFFICIALS, OFFICIAL, "Беру.", first_name=first, last_name=last)
    prompt = await open_prompt(h, await card(h, anna), "✍️")
    preview = await reply_to(h, prompt, "Фонарь заменён.")
    since = h.fake.mark()
    h.fake.press(OTHER_OFFICIAL, preview, h.fake.find_button(preview, "✅"))
    alert = await h.fake.wait_for(
        lambda c: c.method == "answerCallbackQuery" and bool(c.params.get("text")), since=since
    )
    await h.settled(OTHER_OFFICIAL)
    assert not alert.failed, alert.error
    text = str(alert.params["text"])
    assert len(text.encode("utf-16-le")) // 2 <= 200
    assert first in text and "тот, кто нажал кнопку" in text
    assert h.texts_to(ANNA) == []
