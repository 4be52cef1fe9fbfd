"""An update in hand past `answer_within` is handled once across webhook instances
(bot.telegram.claims). Two `python -m bot` processes on one database behind the fake's proxy
(round robin, FakeTelegram.webhook_upstreams), each answering 503 for an update still in hand
after ANSWER_WITHIN seconds (tests/webhookbot.py): Telegram is slow to take one reply, so the
update outlasts that bound in the instance handling it, and the proxy passes its redelivery
to the other instance.

Before the claim the other instance handled the redelivery too, concurrently: the citizen
got the answers of one button press twice. Now the first instance claims the update before
its 503, the other reads the claim with the update's handled-mark and answers 503 without
handling it, and the redelivery after the mark is skipped. A claim whose holder was
SIGKILLed holds nothing off: its pid is gone on this machine, so the other instance handles
the next redelivery at once, not after the claim's expiry.

Both backends: PostgreSQL whatever E2E_DATABASE says (what several instances are deployed
on), and one SQLite file too in the default pass."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests import e2edb
from tests.conftest import OFFICIALS, Harness
from tests.fakeapi import Call, FakeTelegram
from tests.realbot import RealBot
from tests.test_e2e_webhook import PATH, SECRET, free_port

pytestmark = pytest.mark.e2e

USER = 9301
ANSWER_WITHIN = 1.0  # seconds (50 in production)
STALL = 5.0  # Telegram's delay on the one reply: well past ANSWER_WITHIN
# Far below the claim's 30 s: a dead holder's claim is seen through, not waited out.
TAKEOVER = 10.0
BACKENDS = ["postgres"] if e2edb.POSTGRES else ["postgres", "sqlite"]


@dataclass
class Instances:
    bots: dict[str, RealBot]  # by the upstream the proxy passes updates to
    where: str  # the database, as the test reads it (e2edb.query)

    def name(self, upstream: str) -> str:
        """The instance at `upstream`, as its calls name it (Call.client)."""
        return self.bots[upstream].settings["TELEGRAM_API_BASE"].rsplit("/", 1)[1]

    async def kill(self) -> None:
        for real in self.bots.values():
            await real.kill()


async def two_instances(fake: FakeTelegram, tmp_path: Path, backend: str) -> Instances:
    database = tmp_path / "data" / "bot.db"
    database.parent.mkdir(parents=True)
    postgres = backend == "postgres"
    url = e2edb.database_url(database, relative="sqlite:///data/bot.db", postgres=postgres)
    ports = [free_port(), free_port()]
    fake.webhook_upstreams = [f"http://127.0.0.1:{port}" for port in ports]
    instances = Instances({}, url if postgres else f"sqlite:///{database}")
    for name, upstream, port in zip(("a", "b"), fake.webhook_upstreams, ports, strict=True):
        real = RealBot(
            fake,
            tmp_path,
            DATABASE_URL=url,
            OFFICIALS_CHAT_ID=str(OFFICIALS),
            WEBHOOK_URL=f"https://bot.example.kz{PATH}",
            WEBHOOK_SECRET=SECRET,
            WEBHOOK_LISTEN=f"127.0.0.1:{port}",
            TELEGRAM_API_BASE=f"{fake.base_url}/{name}",
            ANSWER_WITHIN=str(ANSWER_WITHIN),
        )
        real.log = tmp_path / f"{name}.log"
        instances.bots[upstream] = real
        await real.start("tests.webhookbot")
    return instances


async def language_buttons(fake: FakeTelegram) -> Call:
    since = fake.mark()
    fake.user_message(USER, "/start")
    return await fake.wait_for(
        lambda c: c.method == "sendMessage" and fake.chat_of(c) == USER and bool(fake.buttons(c)),
        since=since,
        timeout=30,
    )


def replies(fake: FakeTelegram, since: int) -> list[Call]:
    """What the bot asked Telegram to do in the citizen's chat (arrivals: a stalled call
    counts from the moment it was made)."""
    return [c for c in fake.arrivals[since:] if fake.chat_of(c) == USER]


async def first_503(fake: FakeTelegram, update_id: int) -> str:
    """The upstream that answered the update's first POST: 503, still in hand there."""
    await fake.wait_answered(update_id, status=503, timeout=30)
    [first, *_] = [w for w in fake.webhook_attempts if w.update_id == update_id]
    assert first.status == 503, fake.webhook_attempts
    return first.upstream


def handled_once(fake: FakeTelegram, since: int) -> set[str]:
    """The press was handled once: one answer to it, one edit of the language message (then
    the greeting and the consent question); the instances that did it."""
    done = replies(fake, since)
    methods = Counter(c.method for c in done)
    assert methods["answerCallbackQuery"] == 1, done
    assert methods["editMessageText"] == 1, done
    return {c.client for c in done}


@pytest.mark.parametrize("backend", BACKENDS)
async def test_an_update_past_answer_within_is_handled_once_across_instances(
    fake: FakeTelegram, tmp_path: Path, backend: str
) -> None:
    instances = await two_instances(fake, tmp_path, backend)
    try:
        choose = await language_buttons(fake)
        since = len(fake.arrivals)
        fake.slow_next("answerCallbackQuery", STALL)  # whichever instance takes the press
        loop = asyncio.get_running_loop()
        pressed = fake.press(USER, choose, fake.find_button(choose, "Русский"))
        stalled = loop.time()
        update_id = pressed["update_id"]
        holder = await first_503(fake, update_id)
        statuses = await fake.wait_answered(update_id, timeout=STALL + 30)
        assert statuses[-1] == 200, statuses
        # Past the stall, and a second more: anything a second handling would do is done.
        await asyncio.sleep(max(0.0, stalled + STALL + 1.0 - loop.time()))
        assert handled_once(fake, since) == {instances.name(holder)}
        # The redelivery reached the other instance while the first still had the update,
        # and was answered 503 there, not handled.
        attempts = [w for w in fake.webhook_attempts if w.update_id == update_id]
        elsewhere = [w for w in attempts if w.upstream != holder]
        assert elsewhere and elsewhere[0].status == 503, attempts
        rows = e2edb.query(instances.where, "SELECT language FROM citizens WHERE id = ?", USER)
        assert rows == [("ru",)]
        # The claim went with the handling.
        assert e2edb.query(instances.where, "SELECT update_id FROM update_claims") == []
        for real in instances.bots.values():
            assert await real.stop() == 0, real.log.read_text()
    finally:
        await instances.kill()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_claim_of_a_killed_holder_does_not_hold_the_update_off(
    fake: FakeTelegram, tmp_path: Path, backend: str
) -> None:
    instances = await two_instances(fake, tmp_path, backend)
    try:
        choose = await language_buttons(fake)
        # Telegram does not answer the holder's reply before it dies.
        fake.slow_next("answerCallbackQuery", 10 * STALL)
        pressed = fake.press(USER, choose, fake.find_button(choose, "Русский"))
        update_id = pressed["update_id"]
        holder = await first_503(fake, update_id)
        claims = e2edb.query(instances.where, "SELECT update_id FROM update_claims")
        assert claims == [(update_id,)]
        [survivor] = [u for u in instances.bots if u != holder]
        since = len(fake.arrivals)
        await instances.bots[holder].kill()
        loop = asyncio.get_running_loop()
        killed = loop.time()
        await fake.wait_answered(update_id, timeout=TAKEOVER + 20)
        assert loop.time() - killed < TAKEOVER  # the claim's 30 s were not waited out
        last = [w for w in fake.webhook_attempts if w.update_id == update_id][-1]
        assert (last.status, last.upstream) == (200, survivor)
        # The survivor handled it.
        assert handled_once(fake, since) == {instances.name(survivor)}
        marked = "SELECT 1 FROM processed_updates WHERE update_id = ?"
        assert e2edb.query(instances.where, marked, update_id) == [(1,)]
        assert await instances.bots[survivor].stop() == 0
    finally:
        await instances.kill()


async def test_in_polling_mode_a_claim_left_in_the_database_is_not_looked_at(
    harness: Harness, fake: FakeTelegram
) -> None:
    """Claims are the webhook's: a claim a webhook run left behind (its holder elsewhere, its
    expiry far) does not hold an update off in polling mode, where nothing would redeliver
    it."""
    update_id = fake._next_update_id
    far = datetime.now(UTC) + timedelta(hours=1)
    await harness.app.repo.claim_update(update_id, "host-elsewhere/1/2/abcd", far)
    reply = await harness.say(USER, "/start")
    assert fake.buttons(reply)
    assert (await harness.app.repo.open_update(update_id, USER)).seen
