"""The real process (`python -m bot`) killed at the worst moments: a card on its way to
Telegram, and crashes between two writes that must commit together."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.models import NewAppeal
from storage.prompts import NewPrompt, PromptAction
from storage.stores import open_stores
from tests import e2edb
from tests.conftest import OFFICIALS
from tests.crashpoint import CRASHED
from tests.fakeapi import Call, FakeTelegram
from tests.realbot import RealBot

pytestmark = pytest.mark.e2e
CITIZEN = 1301
OFFICIAL = 900


async def seed_appeal(database: Path, draft_key: str = "seed") -> None:
    """An appeal filed before the process starts; its card is posted at start-up."""
    database.parent.mkdir(parents=True, exist_ok=True)
    stores = await open_stores(e2edb.database_url(database))
    repo = stores.repository
    now = datetime.now(UTC)
    await repo.create_appeal(
        NewAppeal(
            draft_key=draft_key, citizen_id=CITIZEN, kind="proposal", category="roads",
            region="750000000", district="751110000", text="Во дворе яма на дороге, уже месяц.",
            contact_name="Асель", contact_phone="+77010000000", language="ru",
            created_at=now, registered_on=now.date(), due_at=now + timedelta(days=21),
            attachments=[],
        )
    )  # fmt: skip
    await stores.database.close()


def query(database: Path, sql: str) -> list[tuple[object, ...]]:
    return e2edb.query(database, sql)


def is_card(fake: FakeTelegram, call: Call) -> bool:
    return (
        call.method == "sendMessage"
        and fake.chat_of(call) == OFFICIALS
        and (call.text or "").startswith("🆕")
    )


def officials_bot(fake: FakeTelegram, workdir: Path) -> RealBot:
    # DIGEST_TIME 00:00: the morning digest is due whenever the test runs.
    return RealBot(fake, workdir, OFFICIALS_CHAT_ID=str(OFFICIALS), DIGEST_TIME="00:00")


async def test_a_card_in_flight_when_the_process_is_killed_is_delivered_after_restart(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    bot = officials_bot(fake, tmp_path)
    await seed_appeal(bot.database)
    fake.slow_next("sendMessage", 60)  # Telegram is slow to answer the card …
    await bot.start()
    await fake.wait_arrival(lambda c: is_card(fake, c))
    await bot.kill()  # … and the process dies with the card in flight.
    assert [c for c in fake.calls if is_card(fake, c) and not c.failed] == []
    card_row = "SELECT COUNT(*) FROM outbox WHERE purpose = 'card:1' AND sent_at IS NULL"
    assert query(bot.database, card_row) == [(1,)]

    await bot.start()
    card = await fake.wait_for(lambda c: is_card(fake, c) and not c.failed, timeout=15)
    assert any("▶️" in label for label, _ in fake.buttons(card))
    assert await bot.stop() == 0
    assert len([c for c in fake.calls if is_card(fake, c) and not c.failed]) == 1
    assert query(bot.database, card_row) == [(0,)]


async def test_a_crash_between_the_digest_claim_and_its_row_loses_neither(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    bot = officials_bot(fake, tmp_path)
    await bot.start("tests.crashpoint", wait=False, CRASH_BEFORE="digest:")
    assert await bot.exited() == CRASHED
    assert query(bot.database, "SELECT COUNT(*) FROM digests") == [(0,)]

    await bot.start()
    digest = await fake.wait_for(
        lambda c: fake.chat_of(c) == OFFICIALS and "Сводка" in (c.text or "") and not c.failed,
        timeout=15,
    )
    assert await bot.stop() == 0
    assert "Сводка" in (digest.text or "")
    assert query(bot.database, "SELECT COUNT(*) FROM digests") == [(1,)]


async def test_a_crash_between_take_and_the_citizens_notice_loses_neither(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    bot = officials_bot(fake, tmp_path)
    await seed_appeal(bot.database)
    await bot.start("tests.crashpoint", CRASH_BEFORE="status:")
    card = await fake.wait_for(lambda c: is_card(fake, c) and not c.failed, timeout=15)
    fake.press(OFFICIAL, card, fake.find_button(card, "▶️"), first_name="Official900")
    assert await bot.exited() == CRASHED  # right after the status change, before the notice
    assert query(bot.database, "SELECT status FROM appeals") == [("registered",)]

    await bot.start()
    # Whether or not Telegram hands the press over again, the official can press again.
    since = fake.mark()
    fake.press(OFFICIAL, card, fake.find_button(card, "▶️"), first_name="Official900")
    await fake.wait_for(lambda c: c.method == "answerCallbackQuery", since=since, timeout=10)
    notice = await fake.wait_sent(CITIZEN, method="sendMessage", timeout=10)
    assert await bot.stop() == 0
    assert "рассмотрении" in (notice.text or "").lower()
    assert len(fake.sent(CITIZEN, "sendMessage")) == 1
    assert query(bot.database, "SELECT status FROM appeals") == [("in_progress",)]


async def test_a_crash_between_a_prompts_expiry_and_its_notice_loses_neither(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    """An official's prompt left unanswered past its time when the process starts: the first
    tick expires it and tells the chat. Killed between the two, the restarted process still
    tells (before, the expiry had committed on its own and the notice was never written)."""
    bot = officials_bot(fake, tmp_path)
    await seed_appeal(bot.database)
    stores = await open_stores(e2edb.database_url(bot.database))
    past = datetime.now(UTC) - timedelta(hours=2)
    new = NewPrompt(OFFICIALS, 77, 1, PromptAction.ANSWER, OFFICIAL, "Official900")
    await stores.prompts.add(new, past, past + timedelta(minutes=30))
    await stores.database.close()

    await bot.start("tests.crashpoint", wait=False, CRASH_BEFORE="prompt-expired:")
    assert await bot.exited() == CRASHED
    live = "SELECT state FROM official_prompts"
    assert query(bot.database, live) == [("open",)]

    await bot.start()
    notice = await fake.wait_for(
        lambda c: c.method == "sendMessage" and "2026-00001" in (c.text or "")
        and "⌛" in (c.text or "") and not c.failed,
        timeout=15,
    )  # fmt: skip
    assert await bot.stop() == 0
    assert fake.chat_of(notice) == OFFICIALS
    assert query(bot.database, live) == [("expired",)]
