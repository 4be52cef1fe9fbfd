"""A citizen cannot be at two receptions at once: booked at one reception, they are not
booked at another whose time overlaps (the booking service refuses, with the place they
hold), nor moved onto such a time; a time that does not overlap is booked as before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain.catalog import BUNDLED_CATALOG
from tests.conftest import FrozenClock, Harness, make_settings, start_bot, stop_bot
from tests.fakeapi import FakeTelegram
from tests.test_e2e_appeal import onboard, rows
from tests.test_e2e_booking import RU, book_first_slot

pytestmark = pytest.mark.e2e
OPEN_DAY = "Личный приём граждан акимом района"


@pytest.fixture
async def two_receptions(
    fake: FakeTelegram, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[Harness]:
    """The bundled catalog, with the akim's open day also on Wednesdays from 10:00, when the
    deputy receives: two receptions at the same hour."""
    text = BUNDLED_CATALOG.read_text(encoding="utf-8")
    open_day = text.index('code = "akim_open_day"')
    head, tail = text[:open_day], text[open_day:]
    tail = tail.replace("weekdays = []", "weekdays = [2]", 1)
    tail = tail.replace('start = "15:00"', 'start = "10:00"', 1)
    tail = tail.replace('end = "17:00"', 'end = "12:00"', 1)
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(head + tail, encoding="utf-8")
    settings = make_settings(fake.base_url, tmp_path / "bot.db", catalog_path=catalog)
    app, task = await start_bot(fake, settings, clock)
    h = Harness(fake, app, task, clock)
    yield h
    await stop_bot(h.app, h.task)


async def test_a_second_reception_at_the_same_hour_is_refused(two_receptions: Harness) -> None:
    h = two_receptions
    await onboard(h, RU, "ru")
    booked = await book_first_slot(h, RU, "ru", "Вопрос о назначении пособия по инвалидности")
    assert "25 ноября 2026" in (booked.text or "") and "10:00" in (booked.text or "")

    receptions = await h.say(RU, "/book")
    days = await h.click(RU, receptions, OPEN_DAY)
    slots = await h.press(RU, days, h.fake.buttons(days)[0][1] or "")
    assert any("10:00" in label for label, _ in h.fake.buttons(slots))
    prompt = await h.click(RU, slots, "10:00")
    assert "1000" in (prompt.text or "")
    access = await h.say(RU, "Вопрос о ремонте дороги на улице Абая")
    contact = await h.click(RU, access, "➡️")
    assert contact
    since = h.fake.mark()
    h.fake.user_message(RU, "+7 701 111 22 33")
    review = await h.with_button(RU, since, "✅")
    since = h.fake.mark()
    alert = await h.alert(RU, review, h.fake.find_button(review, "✅"))
    assert alert.startswith("На это время вы уже записаны на другой приём:"), alert
    assert "Приём граждан заместителем акима района, 25.11 10:00" in alert
    assert [r["reception"] for r in rows(h, "SELECT reception FROM bookings")] == ["deputy_akim"]
    # The citizen is offered the days again, to choose another time.
    again = await h.with_button(RU, since, "25 ноября")
    assert again
