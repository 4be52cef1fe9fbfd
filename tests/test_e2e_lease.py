"""Two real bot processes (`python -m bot`) on one database (a SQLite file, or with
E2E_DATABASE=postgres one PostgreSQL schema: tests/e2edb.py) and one fake Bot API:
only the holder of the sending lease sends; when it is SIGKILLed, or hangs (SIGSTOP), the
other takes over, and every queued notice arrives, once.

Each process calls the fake under its own prefix (TELEGRAM_API_BASE=…/a, …/b), so every
sendMessage says which process made it (Call.client)."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.delivery.outbox import Outbox
from bot.domain.lease import LeaseTerms
from storage.codec import decode_instant
from storage.sqlite.outbox import PENDING
from storage.stores import open_stores
from tests import e2edb
from tests.fakeapi import Call, FakeTelegram
from tests.realbot import RealBot, start_instances

pytestmark = pytest.mark.e2e
NUMBER = re.compile(r"notice #(\d+)\b")
TERMS = LeaseTerms()  # the timings the processes run with


def now() -> datetime:
    return datetime.now(UTC)


async def queue_notices(
    database: Path, numbers: range, *, spread: timedelta = timedelta(0)
) -> None:
    """Citizens' notices written straight into the shared database (as another instance
    handling their updates would), one citizen each, due `spread` apart from now on. Nobody
    pokes the sender: the holder finds them on its own."""
    stores = await open_stores(e2edb.database_url(database))
    try:
        outbox = Outbox(stores.outbox, now)
        start = now()
        await outbox.queue(
            [
                outbox.text(5000 + n, f"notice #{n} for you", not_before=start + spread * (i + 1))
                for i, n in enumerate(numbers)
            ]
        )
    finally:
        await stores.database.close()


def notices(fake: FakeTelegram) -> list[Call]:
    return [c for c in fake.sent(method="sendMessage") if NUMBER.search(c.text or "")]


def number(call: Call) -> int:
    found = NUMBER.search(call.text or "")
    assert found
    return int(found.group(1))


def query(database: Path, sql: str) -> list[tuple[object, ...]]:
    """On either backend, instants as SQLite stores them (UTC ISO text)."""
    return e2edb.query(database, sql)


async def nothing_pending(database: Path) -> None:
    """The last send's mark commits a moment after the fake has recorded the call."""
    sql = f"SELECT id, chat_id, method, payload FROM outbox WHERE {PENDING}"
    for _ in range(50):
        if not query(database, sql):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"still pending: {query(database, sql)}")


async def wait_notices(fake: FakeTelegram, count: int, timeout: float) -> None:  # noqa: ASYNC109
    await fake.wait_for(lambda _: len({number(c) for c in notices(fake)}) >= count, timeout)


async def start_two(fake: FakeTelegram, workdir: Path) -> tuple[RealBot, RealBot]:
    """a first (it takes the lease at start-up), then b."""
    a, b = await start_instances(fake, workdir)
    return a, b


async def test_one_process_sends_and_the_other_takes_over_after_a_sigkill(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    a, b = await start_two(fake, tmp_path)
    database = a.database
    try:
        # Both run; only a (which took the lease first) sends.
        await queue_notices(database, range(0, 20))
        await wait_notices(fake, 20, timeout=15)
        assert {c.client for c in notices(fake)} == {"a"}
        assert query(database, "SELECT holder FROM leases")[0][0] != ""

        # Notices due one after another while a sends them; a dies mid-way.
        await queue_notices(database, range(20, 80), spread=timedelta(seconds=0.1))
        await wait_notices(fake, 35, timeout=15)
        await a.kill()
        killed = time.time()
        await wait_notices(fake, 80, timeout=TERMS.length + TERMS.take_every + 10)

        calls = notices(fake)
        before = [c for c in calls if c.ts < killed]
        after = [c for c in calls if c.ts >= killed]
        assert {c.client for c in before} == {"a"}
        assert after and {c.client for c in after} == {"b"}
        # b took over within the lease time of the kill (a dead process on this machine is
        # seen at b's next try; a holder elsewhere would be waited out to the expiry).
        assert after[0].ts - killed < TERMS.length
        # Nothing lost; sent twice at most the one notice a had on the wire when it died (the
        # outbox is at-least-once: README "Reliability").
        counts = Counter(number(c) for c in calls)
        assert set(counts) == set(range(80))
        doubled = [n for n, k in counts.items() if k > 1]
        assert len(doubled) <= 1, doubled
        for n in doubled:
            first = min(c.ts for c in calls if number(c) == n)
            assert killed - 2 < first < killed, "only a send in flight at the kill may repeat"
        await nothing_pending(database)

        # A clean stop of the holder releases the lease: nobody holds it afterwards.
        assert await b.stop() == 0
        assert query(database, "SELECT COUNT(*) FROM leases") == [(0,)]
        assert "holds the sending lease" in b.log.read_text()
    finally:
        for real in (a, b):
            await real.kill()


async def test_a_hung_holder_is_taken_over_after_its_lease_expired_and_sends_no_more(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    """SIGSTOP: the holder's process is alive but does nothing, so the other waits for the
    lease to expire. Woken (SIGCONT), the old holder finds its lease gone and sends nothing."""
    a, b = await start_two(fake, tmp_path)
    database = a.database
    assert a.proc is not None
    try:
        await queue_notices(database, range(0, 10))
        await wait_notices(fake, 10, timeout=15)
        assert {c.client for c in notices(fake)} == {"a"}
        # Stopped with nothing on its way (a send answered but not yet marked would be sent
        # again by b: the at-least-once case, not what this test is about).
        await nothing_pending(database)

        a.proc.send_signal(signal.SIGSTOP)
        stopped = time.time()
        [(holder, expires)] = query(database, "SELECT holder, expires_at FROM leases")
        expires_at = decode_instant(str(expires))
        await queue_notices(database, range(10, 30))
        await wait_notices(fake, 30, timeout=TERMS.length + TERMS.take_every + 10)
        after = [c for c in notices(fake) if c.ts >= stopped]
        assert {c.client for c in after} == {"b"}
        # Not before a's lease had expired.
        assert datetime.fromtimestamp(after[0].ts, UTC) > expires_at
        assert query(database, "SELECT holder FROM leases")[0][0] != holder

        a.proc.send_signal(signal.SIGCONT)
        await asyncio.sleep(TERMS.renew_every + 1)  # a's next try: refused
        await queue_notices(database, range(30, 40))
        await wait_notices(fake, 40, timeout=10)
        await asyncio.sleep(1)
        woken = [c for c in notices(fake) if c.ts >= stopped and c.client == "a"]
        assert woken == []
        counts = Counter(number(c) for c in notices(fake))
        assert counts == Counter(range(40)), "each notice exactly once"
        assert "sending stops" in a.log.read_text()
        assert await a.stop() == 0
        assert await b.stop() == 0
    finally:
        for real in (a, b):
            if real.proc is not None and real.proc.returncode is None:
                real.proc.send_signal(signal.SIGCONT)
            await real.kill()
