"""What a person typed is shown exactly as typed, everywhere it is echoed: escaped once for
Telegram's HTML (the fake refuses what Telegram cannot parse), never twice (a visible "&amp;"),
and not at all in alerts, which are plain text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain.catalog import BUNDLED_CATALOG
from bot.services.officials import Official
from storage.models import Outcome
from tests.conftest import OFFICIALS, FrozenClock, Harness, make_settings, start_bot, stop_bot
from tests.fakeapi import Call, FakeTelegram
from tests.test_e2e_appeal import onboard
from tests.test_e2e_booking import booking  # noqa: F401 - the fixture of the booking tests
from tests.test_e2e_long_texts import file_appeal, shown
from tests.test_e2e_officials import official_reply

pytestmark = pytest.mark.e2e
CITIZEN = 1401
OFFICIAL = 900
OTHER_OFFICIAL = 901
# Unescaped, Telegram refuses it (an unclosed <b>); escaped twice, the reader sees "&lt;b&gt;";
# "&lt;" and "&amp;" show whether an entity a person typed is kept as typed.
PROBE = "<b>&lt;x&amp; 1<2"


def echoes(call: Call, typed: str = PROBE) -> bool:
    return not call.failed and typed in shown(call)


async def test_place_search_echoes_the_query_as_typed(harness: Harness) -> None:
    h = harness
    await onboard(h, CITIZEN, "ru")
    kinds = await h.say(CITIZEN, "/new")
    categories = await h.click(CITIZEN, kinds, "Заявление")
    await h.click(CITIZEN, categories, "Другое")
    for query in ("<b>&amp;", "&lt;i&gt; 1 < 2 & 3"):
        since = h.fake.mark()
        h.fake.user_message(CITIZEN, query)
        reply = await h.fake.wait_for(
            lambda c: c.method == "sendMessage" and h.fake.chat_of(c) == CITIZEN, since=since
        )
        assert reply.error is None
        assert f"«{query}»" in shown(reply)
        assert h.fake.buttons(reply)  # the regions to choose from, as before


async def test_what_people_typed_is_echoed_exactly_once(harness: Harness) -> None:
    h = harness
    address = f"ул. {PROBE}, 5"  # a postal address is free text
    review, card = await file_appeal(h, CITIZEN, f"Яма {PROBE} у дома 5", "Ли Вэй", address)
    assert shown(review).count(PROBE) == 2  # the text and the address
    assert echoes(card) and "Л. В." in shown(card)

    # An official whose Telegram name is the probe takes it: the card names them.
    since = h.fake.mark()
    h.fake.press(OFFICIAL, card, h.fake.find_button(card, "▶️"), first_name=PROBE)
    edited = await h.fake.wait_for(
        lambda c: c.method == "editMessageText" and h.fake.chat_of(c) == OFFICIALS, since=since
    )
    assert echoes(edited)
    # Alerts are plain text: the name and the contact exactly as typed, unescaped.
    since = h.fake.mark()
    h.fake.press(OTHER_OFFICIAL, card, h.fake.find_button(card, "▶️"))
    already = await h.fake.wait_for(lambda c: c.method == "answerCallbackQuery", since=since)
    assert echoes(already)  # plain text: shown() leaves it as sent
    since = h.fake.mark()
    h.fake.press(OFFICIAL, card, h.fake.find_button(card, "👤"))
    contact = await h.fake.wait_for(lambda c: c.method == "answerCallbackQuery", since=since)
    assert contact.params["text"] == f"Ли Вэй\n+77015556677\n{address}"

    # The extension's reason: to the citizen and on the card.
    since = h.fake.mark()
    await official_reply(h, card, "⏳", f"15.01.2027\nэкспертиза {PROBE}")
    told = await h.reply(CITIZEN, since, expect="15 января 2027")
    assert echoes(told)
    found_since = h.fake.mark()
    h.fake.group_message(OFFICIALS, OFFICIAL, "/find 2026-00001")
    found = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and "История обращения" in (c.text or ""),
        since=found_since,
    )
    # The card: the text, who took it, the extension's reason; the history: who took it and
    # the extension's reason (Official900 extended it).
    assert shown(found).count(PROBE) == 5

    # The answer reaches the citizen; their comment on it reaches the officials.
    officials = h.app.dp["officials"]
    since = h.fake.mark()
    await officials.answer(1, Official(OFFICIAL, "Official"), Outcome.PARTLY, f"Ответ {PROBE}")
    answer = await h.reply(CITIZEN, since, expect="Ответ")
    assert echoes(answer)
    since = h.fake.mark()
    h.fake.press(CITIZEN, answer, h.fake.find_button(answer, "Нет"))
    await h.reply(CITIZEN, since)  # what is still not solved?
    since = h.fake.mark()
    h.fake.user_message(CITIZEN, f"Не решено: {PROBE}")
    comment = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and h.fake.chat_of(c) == OFFICIALS
        and "💬" in (c.text or ""),
        since=since,
    )  # fmt: skip
    assert echoes(comment, f"Не решено: {PROBE}")

    # The citizen's own list and appeal.
    mine = await h.say(CITIZEN, "/my", expect="2026-00001")
    assert echoes(mine, f"Ответ {PROBE}")
    since = h.fake.mark()
    h.fake.press(CITIZEN, mine, h.fake.find_button(mine, "2026-00001"))
    opened = await h.reply(CITIZEN, since, expect="Ответ")
    assert shown(opened).count(PROBE) == 2  # the text and the answer


async def test_booking_echoes_what_was_typed(
    booking: tuple[Harness, FrozenClock],  # noqa: F811 - the fixture imported above
) -> None:
    h, _delivery = booking
    user = 1402
    await onboard(h, user, "ru")
    receptions = await h.say(user, "/book")
    days = await h.press(user, receptions, h.fake.buttons(receptions)[0][1] or "")
    slots = await h.press(user, days, h.fake.buttons(days)[0][1] or "")
    question = await h.press(user, slots, h.fake.buttons(slots)[0][1] or "")
    assert "1000" in (question.text or "")
    access = await h.say(user, f"Вопрос {PROBE} о пособии")
    await h.click(user, access, "✍️")
    since = h.fake.mark()
    h.fake.user_message(user, f"Пандус {PROBE}")
    access = await h.with_button(user, since, "➡️")
    contact = await h.click(user, access, "➡️")
    assert any("📱" in b for b, _ in h.fake.buttons(contact))
    since = h.fake.mark()
    h.fake.user_message(user, "+7 701 111 22 33", first_name=PROBE)
    review = await h.with_button(user, since, "✅")
    # The question, the other need and the name, each exactly as typed.
    assert shown(review).count(PROBE) == 3
    await h.confirm(user, review, "✅")

    since = h.fake.mark()
    h.fake.group_message(OFFICIALS, OFFICIAL, "/receptions 25.11.2026")
    session = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and "10:00" in (c.text or ""), since=since
    )
    assert f"Пандус {PROBE}" in shown(session) and f"Вопрос {PROBE}" in shown(session)
    assert shown(session).count(PROBE) == 3  # the full name for the door, the need, the topic


OTHER_CATEGORY = "Другое <прочее> & «ЖКХ»"
RECEPTION = "Приём <зам.> акима & граждан"


@pytest.fixture
async def odd_names(
    fake: FakeTelegram, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[Harness]:
    """An operator's catalog whose names hold what HTML reserves."""
    text = BUNDLED_CATALOG.read_text(encoding="utf-8")
    text = text.replace('ru = "Другое"', f'ru = "{OTHER_CATEGORY}"', 1)
    text = text.replace('ru = "Приём граждан заместителем акима района"', f'ru = "{RECEPTION}"')
    assert OTHER_CATEGORY in text and RECEPTION in text
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(text, encoding="utf-8")
    settings = make_settings(fake.base_url, tmp_path / "bot.db", catalog_path=catalog)
    app, task = await start_bot(fake, settings, clock)
    h = Harness(fake, app, task, clock)
    yield h
    await stop_bot(h.app, h.task)


async def test_catalog_names_are_escaped_where_a_choice_is_kept(odd_names: Harness) -> None:
    """The chosen button is kept in the chat as "✔️ name"; a catalog name is text too."""
    h = odd_names
    await onboard(h, CITIZEN, "ru")
    kinds = await h.say(CITIZEN, "/new")
    categories = await h.click(CITIZEN, kinds, "Заявление")
    since = h.fake.mark()
    h.fake.press(CITIZEN, categories, h.fake.find_button(categories, "Другое"))
    kept = await h.reply(CITIZEN, since, method="editMessageText")
    assert OTHER_CATEGORY in shown(kept)

    other = CITIZEN + 1
    await onboard(h, other, "ru")
    receptions = await h.say(other, "/book")
    since = h.fake.mark()
    h.fake.press(other, receptions, h.fake.find_button(receptions, RECEPTION))
    kept = await h.reply(other, since, method="editMessageText")
    assert RECEPTION in shown(kept)
