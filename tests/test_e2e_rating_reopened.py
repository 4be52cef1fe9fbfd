"""A rating belongs to an answer. A citizen who said «not solved» reopens the appeal and rates
the answer they got; when the officials answer again, the new answer is rated afresh: the
appeal keeps the new rating, the history keeps both, and the officials hear of each."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.telegram.callbacks import FeedbackCb
from tests.conftest import OFFICIALS, Harness
from tests.fakeapi import Call
from tests.test_e2e_appeal import rows
from tests.test_e2e_day_one import ask
from tests.test_e2e_officials import CITIZEN, OFFICIAL, file_and_card, official_reply

pytestmark = pytest.mark.e2e


async def answered(h: Harness, card: Call, text: str) -> Call:
    """An official answers from the card; the citizen's message with the «solved?» buttons."""
    since = h.fake.mark()
    await official_reply(h, card, "✍️", text)
    return await h.with_button(CITIZEN, since, "Нет")


async def rate(h: Harness, on: Call, stars: int) -> Call:
    return await h.click(CITIZEN, on, f"{stars} ⭐", method="editMessageText")


def officials_notes(h: Harness, since: int) -> list[str]:
    return [
        c.text or ""
        for c in h.fake.calls[since:]
        if c.method == "sendMessage" and h.fake.chat_of(c) == OFFICIALS and not c.failed
    ]


async def test_a_reopened_appeal_answered_again_is_rated_again(harness: Harness) -> None:
    h = harness
    card = await file_and_card(h, CITIZEN)
    first = await answered(h, card, "Фонарь заменён.")
    comment = await h.click(CITIZEN, first, "Нет", expect="Пропустить")
    stars = await h.click(CITIZEN, comment, "Пропустить", expect="оцените")
    thanked = await rate(h, stars, 2)
    assert thanked.text == "Спасибо за оценку!"
    assert rows(h, "SELECT status, rating FROM appeals")[0]["rating"] == 2

    h.clock.at += timedelta(days=2)  # the officials look into it again
    since = h.fake.mark()
    second = await answered(h, card, "Фонарь заменён ещё раз, мастер проверил вечером.")
    # The card no longer shows the word on the answer before.
    await h.app.sender.drain()
    cards = [c.text or "" for c in h.fake.calls[since:] if c.method == "editMessageText"
             and c.params.get("message_id") == card.result["message_id"]]  # fmt: skip
    assert "Статус: Дан ответ" in cards[-1] and "Оценка" not in cards[-1], cards[-1]
    since = h.fake.mark()
    stars = await h.click(CITIZEN, second, "Да", expect="оцените")
    # The officials hear the citizen's word on the new answer, not the old answer's rating.
    await h.app.sender.drain()
    [solved_note] = [t for t in officials_notes(h, since) if "2026-00001" in t]
    assert "Гражданин: проблема решена" in solved_note and "Оценка" not in solved_note, solved_note

    since = h.fake.mark()
    thanked = await rate(h, stars, 5)
    assert thanked.text == "Спасибо за оценку!"
    await h.app.sender.drain()
    assert any("Оценка: 5 из 5" in t for t in officials_notes(h, since))
    [appeal] = rows(h, "SELECT status, solved, rating FROM appeals")
    assert tuple(appeal) == ("closed", "yes", 5)
    # The first answer's rating is not lost: the history has one line for each.
    notes = [r["note"] for r in rows(h, "SELECT note FROM status_history ORDER BY id")]
    assert [n for n in notes if (n or "").startswith("rating ")] == ["rating 2", "rating 5"]

    # Rated once per answer: a third press on the new answer's stars changes nothing.
    alert = await h.alert(CITIZEN, stars, h.fake.find_button(stars, "1 ⭐"))
    assert alert == "Вы уже оценили этот ответ."
    assert rows(h, "SELECT rating FROM appeals")[0]["rating"] == 5

    # /stats counts one rating per appeal, its latest answer's.
    stats = await ask(h, OFFICIALS, OFFICIAL, "/stats 7")
    assert "Средняя оценка: 5,0 из 5 (1)" in (stats.text or ""), stats.text
    # /forget keeps the ratings (with no link to the person), as it promises.
    question = await h.say(CITIZEN, "/forget")
    await h.press(CITIZEN, question, h.fake.buttons(question)[0][1] or "", method="editMessageText")
    actors = {r["actor"] for r in rows(h, "SELECT actor FROM status_history")}
    assert f"citizen:{CITIZEN}" not in actors and "citizen" in actors
    assert rows(h, "SELECT rating FROM appeals")[0]["rating"] == 5


async def test_an_earlier_answers_stars_do_not_rate_the_new_answer(harness: Harness) -> None:
    """The stars the citizen was shown after «not solved» stay in the chat. Pressed once the
    officials answered again, they rated the new answer, which the citizen had not yet been
    asked about, and its own stars then said «already rated». They are refused until the
    citizen says whether the new answer solved the problem; the new answer is rated by them."""
    h = harness
    card = await file_and_card(h, CITIZEN)
    first = await answered(h, card, "Фонарь заменён.")
    comment = await h.click(CITIZEN, first, "Нет", expect="Пропустить")
    old_stars = await h.click(CITIZEN, comment, "Пропустить", expect="оцените")  # not pressed

    h.clock.at += timedelta(days=2)
    second = await answered(h, card, "Фонарь заменён ещё раз, мастер проверил вечером.")
    since = h.fake.mark()
    alert = await h.alert(CITIZEN, old_stars, h.fake.find_button(old_stars, "1 ⭐"))
    assert "под последним ответом" in alert, alert
    assert rows(h, "SELECT rating FROM appeals")[0]["rating"] is None
    await h.app.sender.drain()
    assert not [t for t in officials_notes(h, since) if "Оценка" in t]

    stars = await h.click(CITIZEN, second, "Да", expect="оцените")
    thanked = await rate(h, stars, 5)
    assert thanked.text == "Спасибо за оценку!"
    assert tuple(rows(h, "SELECT solved, rating FROM appeals")[0]) == ("yes", 5)
    notes = [r["note"] for r in rows(h, "SELECT note FROM status_history ORDER BY id")]
    assert [n for n in notes if (n or "").startswith("rating ")] == ["rating 5"]


async def test_a_comment_on_an_answer_replaced_since_is_not_said_to_be_sent(
    harness: Harness,
) -> None:
    """«Not solved» asks what is still unsolved and waits for it. When the officials answer
    again before the citizen writes, the comment is about an answer that is no longer the
    latest: it was dropped (the word it belonged to was cleared by the new answer), while the
    citizen read «the officials will see your comment». They are now told it was not sent
    and where to give their word on the new answer."""
    h = harness
    card = await file_and_card(h, CITIZEN)
    first = await answered(h, card, "Фонарь заменён.")
    await h.click(CITIZEN, first, "Нет", expect="Пропустить")  # the comment not written yet
    h.clock.at += timedelta(hours=3)
    second = await answered(h, card, "Фонарь заменён ещё раз, мастер проверил вечером.")
    since = h.fake.mark()
    reply = await h.say(CITIZEN, "Всё ещё темно во дворе.")
    await h.app.sender.drain()
    assert "увидят" not in (reply.text or "") and "не отправлен" in (reply.text or ""), reply.text
    assert not h.fake.buttons(reply)  # no stars of the earlier answer
    assert not [t for t in officials_notes(h, since) if "Всё ещё темно" in t]
    # Said under the new answer, the word and its comment reach the officials.
    comment = await h.click(CITIZEN, second, "Нет", expect="Пропустить")
    assert comment
    since = h.fake.mark()
    thanked = await h.say(CITIZEN, "Всё ещё темно во дворе.")
    assert "увидят" in (thanked.text or "")
    await h.app.sender.drain()
    assert [t for t in officials_notes(h, since) if "Всё ещё темно" in t]


async def test_an_earlier_answers_stars_do_not_rate_the_new_answer_once_it_is_said_on(
    harness: Harness,
) -> None:
    """Once the citizen has said «solved?» under the new answer, the stars left under the
    earlier one named only the appeal, and rated the new answer (its own stars then said
    «already rated»). Stars now name the answer they rate: the earlier answer's are refused
    with the «earlier answer» alert; stars sent before they did keep rating the latest."""
    h = harness
    card = await file_and_card(h, CITIZEN)
    first = await answered(h, card, "Фонарь заменён.")
    comment = await h.click(CITIZEN, first, "Нет", expect="Пропустить")
    old_stars = await h.click(CITIZEN, comment, "Пропустить", expect="оцените")  # not pressed
    data = h.fake.find_button(old_stars, "1 ⭐")
    assert len(data.encode()) <= 64, data

    h.clock.at += timedelta(days=2)
    second = await answered(h, card, "Фонарь заменён ещё раз, мастер проверил вечером.")
    stars = await h.click(CITIZEN, second, "Да", expect="оцените")
    since = h.fake.mark()
    alert = await h.alert(CITIZEN, old_stars, h.fake.find_button(old_stars, "1 ⭐"))
    assert "под последним ответом" in alert, alert
    assert tuple(rows(h, "SELECT solved, rating FROM appeals")[0]) == ("yes", None)
    await h.app.sender.drain()
    assert not [t for t in officials_notes(h, since) if "Оценка" in t]

    thanked = await rate(h, stars, 5)  # the new answer's own stars rate it
    assert thanked.text == "Спасибо за оценку!"
    assert tuple(rows(h, "SELECT solved, rating FROM appeals")[0]) == ("yes", 5)
    notes = [r["note"] for r in rows(h, "SELECT note FROM status_history ORDER BY id")]
    assert [n for n in notes if (n or "").startswith("rating ")] == ["rating 5"]


async def test_stars_sent_before_they_named_their_answer_rate_the_latest_as_before(
    harness: Harness,
) -> None:
    """Buttons already in citizens' chats (FeedbackCb with a rating, the appeal only) keep
    today's rule: the latest answer, once the word on it is said, once."""
    h = harness
    card = await file_and_card(h, CITIZEN)
    first = await answered(h, card, "Фонарь заменён.")
    await h.click(CITIZEN, first, "Да", expect="оцените")
    old = FeedbackCb(appeal=1, rating=4).pack()
    since = h.fake.mark()
    h.fake.press(CITIZEN, first, old)
    await h.fake.wait_for(lambda c: c.method == "answerCallbackQuery", since=since)
    await h.settled(CITIZEN)
    assert rows(h, "SELECT rating FROM appeals")[0]["rating"] == 4
    alert = await h.alert(CITIZEN, first, old)
    assert alert == "Вы уже оценили этот ответ."
