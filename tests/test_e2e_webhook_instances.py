"""Issue #12, "Beyond one process": two `python -m bot` processes in webhook mode on one
database, behind a reverse proxy that passes Telegram's POSTs to each in turn
(FakeTelegram.webhook_upstreams), as several instances are deployed.

Telegram posts a chat's next update only once the previous one was answered, and the bot
answers only after handling it, so a chat's updates stay in order whichever instance takes
each; every row is written once (draft keys, the reception's lock, dedupe keys), only the
holder of the sending lease sends from the outbox, and the digest is claimed in the database
though both schedulers tick. SIGKILLed mid-load, an instance's updates in hand are posted
again (the proxy's 502) and handled by the other, which takes over the sending.

The test runs on PostgreSQL whatever E2E_DATABASE says (it is what several instances are
deployed on; without a server it skips, which CI counts as a failure), and on SQLite too in
the default pass (two processes on one file work as well, one writer at a time).

Each process calls the fake under its own prefix (TELEGRAM_API_BASE=…/a, …/b), so every
call says which instance made it (Call.client)."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.domain.catalog import BUNDLED_CATALOG
from storage.codec import decode_instant
from tests import e2edb
from tests.conftest import OFFICIALS
from tests.fakeapi import Call, FakeTelegram
from tests.realbot import RealBot
from tests.test_e2e_appeal import VALID_TEXT
from tests.test_e2e_webhook import PATH, SECRET, free_port

pytestmark = pytest.mark.e2e

# A second officials' chat: the catalog routes landscaping there, so two chats get cards and
# a digest each.
DEPARTMENT = -1002000
CITIZENS = 10  # per round
NUMBER = re.compile(r"\b20\d\d-\d{5}\b")
WAIT = 90.0  # seconds for any one reply: two bots, a loaded machine
# Telegram's public URL for the bot; the proxy passes its path to the instances.
PUBLIC_URL = f"https://bot.example.kz{PATH}"

BACKENDS = ["postgres"] if e2edb.POSTGRES else ["postgres", "sqlite"]


def catalog_file(tmp_path: Path) -> Path:
    """The bundled catalog, with landscaping routed to DEPARTMENT and room at the deputy
    akim's sessions for every citizen of the test in one slot."""
    text = BUNDLED_CATALOG.read_text(encoding="utf-8")
    text = text.replace("categories = {}", f"categories = {{ landscaping = {DEPARTMENT} }}", 1)
    text = text.replace("capacity = 2\n", f"capacity = {3 * CITIZENS}\n", 1)
    path = tmp_path / "catalog.toml"
    path.write_text(text, encoding="utf-8")
    return path


class Citizen:
    """One citizen's dialog, waiting for each reply in their own chat."""

    def __init__(self, fake: FakeTelegram, user: int) -> None:
        self.fake = fake
        self.user = user
        # Where the citizen's previous and latest actions began (fake.mark()).
        self.previous = self.latest = fake.mark()

    def act(self) -> int:
        self.previous, self.latest = self.latest, self.fake.mark()
        return self.latest

    def asked_again(self, call: Call) -> bool:
        """A message of the previous step sent again: an instance killed after replying to
        it and before marking it handled, whose redelivery the other instance handled from
        the same dialog state (the at-least-once side, README "Reliability"). The citizen
        has acted on it already and waits for the answer to the latest action."""

        def same(earlier: Call) -> bool:
            return (earlier.method, earlier.params) == (call.method, call.params)

        return any(
            same(c) and self.fake.chat_of(c) == self.user
            for c in self.fake.calls[self.previous : self.latest]
        )

    async def reply(
        self, since: int, method: str = "sendMessage", check: Callable[[Call], bool] = bool
    ) -> Call:
        return await self.fake.wait_for(
            lambda c: (
                c.method == method
                and not c.failed
                and self.fake.chat_of(c) == self.user
                and check(c)
                and not self.asked_again(c)
            ),
            since=since,
            timeout=WAIT,
        )

    async def say(self, text: str, check: Callable[[Call], bool] = bool) -> Call:
        since = self.act()
        self.fake.user_message(self.user, text)
        return await self.reply(since, check=check)

    async def press(
        self,
        on: Call,
        label: str,
        method: str = "sendMessage",
        check: Callable[[Call], bool] = bool,
    ) -> Call:
        since = self.act()
        self.fake.press(self.user, on, self.fake.find_button(on, label))
        return await self.reply(since, method, check)

    def button(self, label: str) -> Callable[[Call], bool]:
        return lambda c: any(label in b for b, _ in self.fake.buttons(c))

    async def onboard(self) -> None:
        choose = await self.say("/start", check=self.button("Русский"))
        consent = await self.press(choose, "Русский", check=self.button("✅"))
        await self.press(consent, "✅", method="editMessageText")

    async def appeal(self, category: str) -> str:
        """/new to the confirmation; the registration number."""
        kinds = await self.say("/new", check=self.button("Предложение"))
        categories = await self.press(kinds, "Предложение", check=self.button(category))
        await self.press(categories, category)
        await self.say("Шымкент")  # the city itself …
        await self.say("Туран", check=lambda c: "3500" in (c.text or ""))  # … its district
        files = await self.say(VALID_TEXT, check=self.button("Пропустить"))
        location = await self.press(files, "Пропустить", check=self.button("📍"))
        skip = self.fake.buttons(location)[1][0]
        await self.say(skip)  # no location: the name is asked
        await self.say("Серікова Айгүл")  # the phone is asked
        await self.say("+7 702 000 11 22")  # an address for a written answer, or not
        review = await self.say(skip, check=self.button("✅"))
        since = self.fake.mark()
        registered = await self.press(
            review,
            "✅",
            method="editMessageText",
            check=lambda c: bool(NUMBER.search(c.text or "")),
        )
        await self.reply(since, check=lambda c: "keyboard" in (c.params.get("reply_markup") or {}))
        found = NUMBER.search(registered.text or "")
        assert found
        return found.group(0)

    async def book(self) -> Call:
        """/book: the first reception, day and time, to the confirmation."""
        receptions = await self.say("/book", check=lambda c: bool(self.fake.buttons(c)))
        days = await self.press(receptions, self.fake.buttons(receptions)[0][0])
        slots = await self.press(days, self.fake.buttons(days)[0][0])
        question = await self.press(slots, self.fake.buttons(slots)[0][0])
        assert "1000" in (question.text or "")
        access = await self.say("Вопрос о назначении пособия", check=self.button("♿"))
        await self.press(access, "♿", method="editMessageReplyMarkup")
        await self.press(access, "➡️", check=self.button("📱"))
        review = await self.say("+7 701 111 22 33", check=self.button("✅"))
        since = self.fake.mark()
        done = await self.press(review, "✅", method="editMessageText")
        await self.reply(since, check=lambda c: "keyboard" in (c.params.get("reply_markup") or {}))
        return done

    async def everything(self, category: str) -> tuple[str, Call]:
        await self.onboard()
        number = await self.appeal(category)
        return number, await self.book()


def instance(
    fake: FakeTelegram, workdir: Path, name: str, port: int, env: dict[str, str]
) -> RealBot:
    real = RealBot(
        fake,
        workdir,
        WEBHOOK_URL=PUBLIC_URL,
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_LISTEN=f"127.0.0.1:{port}",
        TELEGRAM_API_BASE=f"{fake.base_url}/{name}",
        **env,
    )
    real.log = workdir / f"{name}.log"
    return real


def cards(fake: FakeTelegram, since: int = 0) -> list[Call]:
    """The officials' cards: a new message in an officials' chat with an appeal's number."""
    return [
        c
        for c in fake.calls[since:]
        if c.method == "sendMessage"
        and not c.failed
        and fake.chat_of(c) in (OFFICIALS, DEPARTMENT)
        and NUMBER.search(c.text or "")
    ]


def doubled_calls(fake: FakeTelegram, counts: Counter[str]) -> list[tuple[Any, ...]]:
    """For a failure's message: every call that mentions a number carded more than once, with
    when, by which process and how it ended, so a doubled card can be traced to its cause (a
    send repeated after a late answer, or two senders)."""
    doubled = {n for n, k in counts.items() if k > 1}
    return [
        (round(c.ts, 3), c.client, c.method, fake.chat_of(c), c.failed, c.dropped, c.text)
        for c in fake.calls
        if any(n in (c.text or "") for n in doubled)
    ]


def digests(fake: FakeTelegram) -> list[Call]:
    return [
        c
        for c in fake.sent(method="sendMessage")
        if fake.chat_of(c) in (OFFICIALS, DEPARTMENT) and "📊" in (c.text or "")
    ]


def carrying(fake: FakeTelegram, user: int, number: str) -> list[Call]:
    """Every message or edit in the citizen's chat that shows this number."""
    return [
        c
        for c in fake.calls
        if not c.failed and fake.chat_of(c) == user and number in (c.text or "")
    ]


def message_of(call: Call) -> object:
    """The message a call made or edited."""
    if call.method.startswith("edit"):
        return call.params.get("message_id")
    return (call.result or {}).get("message_id")


async def settle(url: str) -> None:
    """Nothing due left in the outbox (the bookings' reminders wait for their day): the last
    send's mark commits just after the fake saw it."""
    sql = "SELECT id, not_before FROM outbox WHERE sent_at IS NULL AND dropped_at IS NULL"

    def due() -> list[int]:
        now = datetime.now(UTC)
        return [row[0] for row in e2edb.query(url, sql) if decode_instant(str(row[1])) <= now]

    for _ in range(300):
        if not due():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"still due: {due()}")


@pytest.mark.parametrize("backend", BACKENDS)
async def test_two_webhook_instances_share_the_load_and_survive_a_sigkill(
    fake: FakeTelegram, tmp_path: Path, backend: str
) -> None:
    database = tmp_path / "data" / "bot.db"
    database.parent.mkdir(parents=True)
    postgres = backend == "postgres"
    url = e2edb.database_url(database, relative="sqlite:///data/bot.db", postgres=postgres)
    # Where the test reads it (the processes open SQLite from their working directory).
    where = url if postgres else f"sqlite:///{database}"
    env = {
        "DATABASE_URL": url,
        "OFFICIALS_CHAT_ID": str(OFFICIALS),
        "CATALOG_PATH": str(catalog_file(tmp_path)),
        # The digest is due at once: both schedulers tick at start-up and every minute.
        "DIGEST_TIME": "00:00",
    }
    ports = {"a": free_port(), "b": free_port()}
    a_url, b_url = (f"http://127.0.0.1:{port}" for port in ports.values())
    fake.webhook_upstreams = [a_url, b_url]
    a = instance(fake, tmp_path, "a", ports["a"], env)
    b = instance(fake, tmp_path, "b", ports["b"], env)
    # a first (it takes the sending lease at start-up), then b.
    await a.start()
    await b.start()
    try:
        # ---- Round 1: citizens in both instances at once -------------------------------
        round1 = [Citizen(fake, 7000 + i) for i in range(CITIZENS)]
        results = await asyncio.gather(
            *(c.everything("Благоустройство" if i % 2 else "Дороги") for i, c in enumerate(round1))
        )
        numbers = [n for n, _ in results]
        assert len(set(numbers)) == CITIZENS, numbers
        # Both instances handled updates: the proxy passed them in turn.
        served = Counter(a.upstream for a in fake.webhook_attempts if a.status == 200)
        assert set(served) == set(fake.webhook_upstreams), served
        await settle(where)

        # One row each: the appeal, the booking.
        appeals = e2edb.query(where, "SELECT citizen_id, reference FROM appeals")
        assert sorted(appeals) == sorted((c.user, n) for c, n in zip(round1, numbers, strict=True))
        booked = e2edb.query(where, "SELECT citizen_id FROM bookings WHERE status = 'booked'")
        assert sorted(booked) == sorted((c.user,) for c in round1)
        # Each number reached its citizen once (the review card edited into it, no
        # confirmation from the outbox as well) and one card in the chat it is routed to.
        for citizen, number in zip(round1, numbers, strict=True):
            assert len(carrying(fake, citizen.user, number)) == 1, number
        card_counts = Counter(NUMBER.findall(c.text or "")[0] for c in cards(fake))
        assert card_counts == Counter(numbers), (card_counts, doubled_calls(fake, card_counts))
        # Only the lease's holder sends from the outbox; both handled updates.
        holder = {c.client for c in cards(fake)}
        assert holder == {"a"}, holder
        assert {c.client for c in fake.calls if c.method == "editMessageText"} == {"a", "b"}
        # One digest per officials' chat though both schedulers ticked.
        assert Counter(fake.chat_of(c) for c in digests(fake)) == {OFFICIALS: 1, DEPARTMENT: 1}
        assert e2edb.query(where, "SELECT COUNT(*) FROM digests") == [(2,)]

        # ---- Round 2: the sending instance is SIGKILLed mid-load -----------------------
        round2 = [Citizen(fake, 8000 + i) for i in range(CITIZENS)]
        started = len(fake.webhook_attempts)
        load = asyncio.gather(
            *(c.everything("Благоустройство" if i % 2 else "Дороги") for i, c in enumerate(round2))
        )
        # A third of the round's updates in, then a's next answer to a button press hangs
        # (Telegram slow to take it): that update is in a's hands when a dies, as are the
        # others a is handling at that moment.
        total = CITIZENS * 28
        deadline = time.monotonic() + 5 * WAIT
        while len(fake.webhook_attempts) - started < total // 3:
            assert time.monotonic() < deadline, "the load did not start"
            await asyncio.sleep(0.05)
        since = len(fake.arrivals)
        fake.slow_next("answerCallbackQuery", 10 * WAIT, client="a")
        await fake.wait_for(
            lambda _: any(
                c.method == "answerCallbackQuery" and c.client == "a" for c in fake.arrivals[since:]
            ),
            timeout=WAIT,
        )
        in_hand = {u for u, upstream in fake.webhook_in_flight.items() if upstream == a_url}
        await a.kill()
        killed = time.time()
        # … less what a still finished and answered between that look and the kill.
        in_hand -= {
            w.update_id for w in fake.webhook_attempts if w.upstream == a_url and w.status == 200
        }
        fake.recover()
        results2 = await load
        numbers2 = [n for n, _ in results2]
        assert len(set(numbers + numbers2)) == 2 * CITIZENS
        await settle(where)

        # No update lost: every dialog of the round completed (above), every row once.
        appeals = e2edb.query(where, "SELECT citizen_id, reference FROM appeals")
        assert sorted(appeals) == sorted(
            [(c.user, n) for c, n in zip(round1, numbers, strict=True)]
            + [(c.user, n) for c, n in zip(round2, numbers2, strict=True)]
        )
        booked = e2edb.query(where, "SELECT citizen_id FROM bookings WHERE status = 'booked'")
        assert sorted(booked) == sorted((c.user,) for c in round1 + round2)
        # Each citizen's number is on one message (an update handled again by b may edit
        # the same card again; a second message with it would be a duplicate).
        for citizen, number in zip(round2, numbers2, strict=True):
            assert len({message_of(c) for c in carrying(fake, citizen.user, number)}) == 1
        # What a had in hand was dropped mid-request (the proxy's 502) and handled by b.
        assert in_hand
        for update_id in in_hand:
            attempts = [w for w in fake.webhook_attempts if w.update_id == update_id]
            assert attempts[-1].status == 200 and attempts[-1].upstream == b_url, attempts
        assert any(502 in fake.webhook_statuses(u) for u in in_hand)
        # The proxy's 502s: what a was handling or was given after the kill went to b.
        after_kill = [w for w in fake.webhook_attempts if w.ts >= killed]
        assert {w.upstream for w in after_kill if w.status == 200} == {b_url}
        # b took over the sending: the cards of round 2 after the kill are b's; each card
        # once, but for at most the one a had on the wire to each chat when it died
        # (at-least-once; the sender keeps one send in flight per chat, and round 2's cards
        # go to two chats).
        round2_cards = [c for c in cards(fake) if NUMBER.findall(c.text or "")[0] in numbers2]
        assert {c.client for c in round2_cards if c.ts > killed} == {"b"}
        card_counts = Counter(NUMBER.findall(c.text or "")[0] for c in round2_cards)
        assert set(card_counts) == set(numbers2)
        doubled = [n for n, k in card_counts.items() if k > 1]
        doubled_in = Counter(
            fake.chat_of(c) for n in doubled for c in round2_cards if n in (c.text or "")
        )
        assert all(k <= 2 for k in doubled_in.values()), doubled_in
        assert len(doubled) <= len({fake.chat_of(c) for c in round2_cards}), doubled
        for n in doubled:
            first = min(c.ts for c in round2_cards if n in (c.text or ""))
            assert first < killed, "only a send in flight at the kill may repeat"
        # Still one digest per chat.
        assert Counter(fake.chat_of(c) for c in digests(fake)) == {OFFICIALS: 1, DEPARTMENT: 1}
        assert await b.stop() == 0, b.log.read_text()
    finally:
        for real in (a, b):
            await real.kill()
