"""Announcements and meetings (issue #13) as a careless official, a hostile citizen and a
flaky process exercise them, over HTTP against the fake Bot API: what a button sends is what
its card showed, who may act where is checked at the button, and a meeting's registration
and its reminder live and die together."""

from __future__ import annotations

import pytest

from tests.conftest import Harness
from tests.test_e2e_appeal import onboard, rows
from tests.test_e2e_outreach import (
    ANNA,
    OFFICIAL,
    WAIT,
    announce,
    announcements_to,
    group_reply,
    press,
    subscribe,
)

pytestmark = pytest.mark.e2e


async def test_send_on_an_older_review_card_sends_nothing_else(harness: Harness) -> None:
    """An official gets a first announcement ready, starts /announce again and gets a second
    one ready; «Send» on the first card must not send the second text under the first card
    (the draft in hand is the second one): that card is stale. Its own card sends it."""
    h = harness
    await onboard(h, ANNA, "ru")
    await subscribe(h, ANNA, "ru", "Абайская", "Семей")
    first = await announce(h.fake, kk="Бірінші хабарландыру мәтіні", ru="Первое объявление, текст")
    second = await announce(h.fake, kk="Екінші хабарландыру мәтіні", ru="Второе объявление, текст")
    since = h.fake.mark()
    alert = await h.alert(OFFICIAL, first, h.fake.find_button(first, "📤"))
    assert "больше не действует" in alert
    await h.quiet(1.0)
    assert rows(h, "SELECT COUNT(*) AS n FROM announcements")[0]["n"] == 0
    assert announcements_to(h.fake, ANNA, since) == []
    # The card the draft in hand was shown on sends it, once.
    await press(h.fake, second, "📤", "Объявление № 1")
    await h.fake.wait_for(lambda c: bool(announcements_to(h.fake, ANNA, since)), timeout=WAIT)
    (got,) = announcements_to(h.fake, ANNA, since)
    assert "Второе объявление" in (got.text or "")
    await group_reply(h.fake, since, "Отправлено: 1 из 1", method="editMessageText")
