"""The last places of a slot across two bot processes (`python -m bot`) on one database (a
SQLite file, or with E2E_DATABASE=postgres one PostgreSQL schema: tests/e2edb.py).

Many citizens reach the review card of the same time, half of them through process a and
half through b (the fake routes each citizen's updates to one process, as a load balancer in
front of instances would: FakeTelegram.route), then all press confirm at once. Exactly as
many bookings as there were free places succeed, nobody holds two, the slot is never
oversold, and everyone else is told the time was taken and offered what is still free."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import e2edb
from tests.fakeapi import Call, FakeTelegram, JsonDict
from tests.realbot import RealBot, start_instances

pytestmark = pytest.mark.e2e
FIRST = 8101  # the citizen who books first, through a
RACERS = range(8200, 8212)  # even ids through b, odd through a
STEP = 60.0  # a step's answer, on a loaded machine
TAKEN = "Это время только что заняли. Пожалуйста, выберите другое."
# "10:00 (2 места)": the time and its free places in words.
FREE = re.compile(r"^(\d\d:\d\d) \((\d+) ")


def citizen_of(update: JsonDict) -> int:
    kind = next(k for k in update if k != "update_id")
    return int(update[kind]["from"]["id"])


def through(citizen: int) -> str:
    return "a" if citizen % 2 else "b"


def to(fake: FakeTelegram, user: int, method: str = "sendMessage") -> Callable[[Call], bool]:
    return lambda c: c.method == method and not c.failed and fake.chat_of(c) == user


async def say(fake: FakeTelegram, user: int, text: str, method: str = "sendMessage") -> Call:
    since = fake.mark()
    fake.user_message(user, text)
    return await fake.wait_for(to(fake, user, method), timeout=STEP, since=since)


async def press(
    fake: FakeTelegram, user: int, on: Call, button: str, method: str = "sendMessage"
) -> Call:
    since = fake.mark()
    fake.press(user, on, fake.find_button(on, button))
    return await fake.wait_for(to(fake, user, method), timeout=STEP, since=since)


async def with_button(fake: FakeTelegram, user: int, since: int, button: str) -> Call:
    return await fake.wait_for(
        lambda c: (
            c.method == "sendMessage"
            and fake.chat_of(c) == user
            and any(button in label for label, _ in fake.buttons(c))
        ),
        timeout=STEP,
        since=since,
    )


async def review(fake: FakeTelegram, user: int) -> tuple[Call, str, int]:
    """/start, Russian, consent, then /book up to the review card of the first reception's
    first day's first time. Returns the card, that time and its free places as offered."""
    choose = await say(fake, user, "/start")
    since = fake.mark()
    fake.press(user, choose, fake.find_button(choose, "Русский"))
    consent = await with_button(fake, user, since, "✅")
    await press(fake, user, consent, "✅", method="editMessageText")
    receptions = await say(fake, user, "/book")
    days = await press(fake, user, receptions, fake.buttons(receptions)[0][0])
    times = await press(fake, user, days, fake.buttons(days)[0][0])
    label = fake.buttons(times)[0][0]
    found = FREE.match(label)
    assert found, label
    await press(fake, user, times, label)
    access = await say(fake, user, "Вопрос о назначении пособия")
    await press(fake, user, access, "➡️")
    since = fake.mark()
    fake.user_message(user, "+7 701 111 22 33")
    card = await with_button(fake, user, since, "✅")
    return card, found[1], int(found[2])


async def confirm(fake: FakeTelegram, user: int, card: Call) -> Call:
    """Press ✅ on the card: the card edited into the booking, or the alert that it was taken."""
    since = fake.mark()
    fake.press(user, card, fake.find_button(card, "✅"))
    return await fake.wait_for(
        lambda c: (
            fake.chat_of(c) == user
            and not c.failed
            and (
                c.method == "editMessageText"
                or (c.method == "answerCallbackQuery" and bool(c.params.get("text")))
            )
        ),
        timeout=STEP,
        since=since,
    )


async def test_two_processes_sell_the_last_places_of_a_slot_once(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    fake.route = lambda update: through(citizen_of(update))
    bots: list[RealBot] = await start_instances(fake, tmp_path)
    try:
        # One place of the slot goes first: the racers want what is left of it.
        card, time, places = await review(fake, FIRST)
        assert through(FIRST) == "a" and places >= 2
        assert "✅" in ((await confirm(fake, FIRST, card)).text or "")
        cards = await asyncio.gather(*(review(fake, user) for user in RACERS))
        assert {(t, p) for _, t, p in cards} == {(time, places - 1)}, "the same last places"
        left = places - 1

        since = fake.mark()
        answers = await asyncio.gather(
            *(confirm(fake, user, card) for user, (card, _, _) in zip(RACERS, cards, strict=True))
        )
        won = [u for u, a in zip(RACERS, answers, strict=True) if a.method == "editMessageText"]
        lost = [u for u in RACERS if u not in won]
        assert len(won) == left, answers
        for user, answer in zip(RACERS, answers, strict=True):
            if user in won:
                assert time in (answer.text or "")
            else:
                assert answer.params["text"] == TAKEN and answer.params["show_alert"] is True
        # Both processes answered confirms (each citizen's updates go to one of them).
        confirmed_by = {c.client for c in fake.calls[since:] if c.method == "answerCallbackQuery"}
        assert confirmed_by == {"a", "b"}
        # Whoever lost is offered the days again, with what is still free.
        for user in lost:
            days = await fake.wait_for(
                lambda c, user=user: (  # type: ignore[misc]
                    c.method == "sendMessage"
                    and fake.chat_of(c) == user
                    and any((d or "").startswith("bk:day:") for _, d in fake.buttons(c))
                ),
                timeout=STEP,
                since=since,
            )
            assert days.client == through(user)

        # In the database: the slot holds exactly its places, one per citizen, nobody twice.
        rows = e2edb.query(
            bots[0].database,
            "SELECT citizen_id, slot_start FROM bookings WHERE status = 'booked' ORDER BY id",
        )
        assert sorted(r[0] for r in rows) == sorted([FIRST, *won])
        assert len({r[1] for r in rows}) == 1
        assert len(rows) == places
        for real in bots:
            assert await real.stop() == 0
            assert "Traceback" not in real.log.read_text()
    finally:
        for real in bots:
            await real.kill()
