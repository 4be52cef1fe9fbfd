"""/my paging, /forget, and the error handler, through the real bot."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage.models import Attachment, NewAppeal
from tests.conftest import FrozenClock, Harness
from tests.e2edb import query
from tests.test_e2e_appeal import onboard, reach_review, rows

pytestmark = pytest.mark.e2e


async def file_directly(h: Harness, user: int, count: int, clock: FrozenClock) -> None:
    """Appeals stored through the repository, as if filed earlier, each with an address for a
    written answer."""
    for i in range(count):
        await h.app.repo.create_appeal(
            NewAppeal(
                draft_key=f"{user}-{i}", citizen_id=user, kind="proposal", category="roads",
                region="750000000", district="751110000", text=f"Обращение номер {i} " * 2,
                contact_name="Асель Нурланова", contact_phone="+77010000000", language="ru",
                contact_address=f"asel{i}@mail.kz", contact_address_kind="email",
                created_at=clock.at - timedelta(days=30 - i),
                registered_on=(clock.at - timedelta(days=30 - i)).date(),
                due_at=clock.at + timedelta(days=i - 3),
                attachments=[Attachment("photo", f"p{i}")],
            )
        )  # fmt: skip


async def test_my_appeals_are_paged_and_overdue_is_shown(
    harness: Harness, clock: FrozenClock
) -> None:
    h = harness
    user = 701
    await onboard(h, user, "ru")
    await file_directly(h, user, 7, clock)
    first = await h.say(user, "/my", expect="2026-00007")
    assert "2026-00003" in (first.text or "") and "2026-00002" not in (first.text or "")
    assert "(1 из 2)" in (first.text or "") or "1" in (first.text or "")
    second = await h.click(user, first, "▶️", method="editMessageText")
    assert "2026-00001" in (second.text or "") and "2026-00007" not in (second.text or "")
    # The oldest one was due three days ago.
    assert "просрочено на 3 дня" in (second.text or "")
    detail = await h.click(user, second, "2026-00001")
    assert "Обращение номер 0" in (detail.text or "")


async def test_forget_erases_personal_data_and_keeps_statistics(
    harness: Harness, clock: FrozenClock
) -> None:
    h = harness
    user = 702
    await onboard(h, user, "ru")
    await file_directly(h, user, 2, clock)
    question = await h.say(user, "/forget")
    kept = await h.click(user, question, "Нет", method="editMessageText")
    assert "Ничего не удалено" in (kept.text or "")
    question = await h.say(user, "/forget")
    await h.click(user, question, "Да", method="editMessageText")
    assert rows(h, "SELECT * FROM citizens WHERE id = ?", user) == []
    anonymous = rows(
        h, "SELECT citizen_id, text, contact_name, contact_phone, contact_address, "
        "contact_address_kind, kind, district FROM appeals",
    )  # fmt: skip
    assert [tuple(r) for r in anonymous] == [(None,) * 6 + ("proposal", "751110000")] * 2
    assert rows(h, "SELECT * FROM attachments") == []
    # Back as a stranger: asked for the language again, no appeals.
    await h.say(user, "/start", expect="Тілді таңдаңыз")
    await h.say(user, "/my", expect="")
    assert "2026-0000" not in h.texts_to(user)[-1]


async def test_an_error_is_logged_and_the_citizen_is_told(harness: Harness) -> None:
    h = harness
    user = 703
    await onboard(h, user, "ru")
    # This citizen's chat only: the morning digest may go to the officials' chat meanwhile.
    h.fake.fail_chat(user, "sendMessage", 400, "Bad Request: message text is empty", times=1)
    since = h.fake.mark()
    h.fake.user_message(user, "/help")
    sorry = await h.reply(user, since)
    assert "Извините" in (sorry.text or "") or "ошибк" in (sorry.text or "").lower()


async def test_restart_keeps_the_review_card_working(harness: Harness) -> None:
    """A deploy between the review card and the citizen's confirm files the appeal once."""
    h = harness
    user = 704
    review = await reach_review(h, user)
    await h.restart()
    await h.confirm(user, review, "✅", expect="2026-00001")
    assert query(h.app.settings.database_url, "SELECT COUNT(*) FROM appeals") == [(1,)]
