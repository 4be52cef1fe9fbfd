"""A citizen's cancel or move has committed, and offering the place it freed to the waiting
list fails (a database error at the offer's statement): the citizen reads the normal
confirmation, not «something went wrong» about a change that went through, and the
scheduler's tick (`BookingService.offer_free_places`) offers the place as it offers one a
crash lost."""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import FrozenClock, Harness
from tests.test_e2e_appeal import onboard, rows
from tests.test_e2e_booking import KK, RU, book_first_slot, booking, fill_session  # noqa: F401

pytestmark = pytest.mark.e2e
DAY = date(2026, 11, 25)
WRONG = "что-то пошло не так"


async def disk_error(*_: object, **__: object) -> object:
    raise OSError("disk I/O error")


async def booked_with_one_waiting(h: Harness) -> None:
    """RU holds the first place of the full session on DAY; KK waits for that session."""
    service = h.app.dp["bookings"]
    await onboard(h, RU, "ru")
    await book_first_slot(h, RU, "ru", "Вопрос о переоформлении жилищной субсидии")
    await fill_session(h, DAY, rest=True)
    await h.app.repo.set_language(KK, "kk")
    assert await service.join_waitlist(KK, service.receptions.get("deputy_akim"), DAY)


async def the_tick_offers_it(h: Harness, since: int) -> None:
    """Nothing was offered with the change; the next tick offers the freed place to KK."""
    assert [tuple(r) for r in rows(h, "SELECT citizen_id, status FROM waitlist")] == [
        (KK, "waiting")
    ]
    await h.app.dp["bookings"].tick(h.clock())
    h.app.outbox.wakeup.set()
    offer = await h.reply(KK, since, expect="🎉")
    assert "10:00" in (offer.text or "")
    assert [tuple(r) for r in rows(h, "SELECT citizen_id, status FROM waitlist")] == [
        (KK, "offered")
    ]


async def test_a_cancel_whose_offer_fails_is_confirmed(
    booking: tuple[Harness, FrozenClock],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before, the error raised out of `cancel` after its commit: the citizen was told
    «something went wrong» (and pressed «Yes» again to be told it was no longer active)."""
    h, _delivery = booking
    await booked_with_one_waiting(h)
    mine = await h.say(RU, "/my", expect="🗓")
    question = await h.click(RU, mine, "✖️", method="editMessageText")
    since = h.fake.mark()
    with monkeypatch.context() as patched:
        patched.setattr(h.app.dp["bookings"].store, "offer", disk_error)
        done = await h.click(RU, question, "Да", method="editMessageText")
        await h.quiet(0.3)
    assert "Ваша запись отменена" in (done.text or ""), done.text
    assert not [c for c in h.fake.calls[since:] if c.chat_id == RU and WRONG in (c.text or "")]
    [status] = rows(h, "SELECT status FROM bookings WHERE citizen_id = ?", RU)
    assert status["status"] == "cancelled"
    await the_tick_offers_it(h, since)


async def test_a_move_whose_offer_fails_is_confirmed(
    booking: tuple[Harness, FrozenClock],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before, the error raised out of `move` after its commit: the citizen was told
    «something went wrong» though their place was moved."""
    h, _delivery = booking
    await booked_with_one_waiting(h)
    mine = await h.say(RU, "/my", expect="🗓")
    days = await h.click(RU, mine, "🔁", method="editMessageText")
    slots = await h.press(RU, days, h.fake.find_button(days, "2 декабря"), method="editMessageText")
    since = h.fake.mark()
    with monkeypatch.context() as patched:
        patched.setattr(h.app.dp["bookings"].store, "offer", disk_error)
        moved = await h.press(RU, slots, h.fake.buttons(slots)[0][1] or "", expect="🔁")
        await h.quiet(0.3)
    assert "2 декабря" in (moved.text or ""), moved.text
    assert not [c for c in h.fake.calls[since:] if c.chat_id == RU and WRONG in (c.text or "")]
    held = "SELECT session_day FROM bookings WHERE citizen_id = ? AND status = 'booked'"
    assert [str(r["session_day"]) for r in rows(h, held, RU)] == ["2026-12-02"]
    await the_tick_offers_it(h, since)
