"""How often does a crash send a message twice? The real bot process (`python -m bot`) drains
a queue of citizens' notices and officials' cards against the fake Bot API (Telegram's limits
on) and is SIGKILLed at a random moment while it sends, again and again; then it runs until
the queue is empty. Every row carries a number, so the fake's record tells per row how many
times Telegram took it: lost must be 0, the rest is the at-least-once cost.

    .venv/bin/python -m bench.kill                 # 200 kills (about 25 minutes: start-up is ~5 s)
    .venv/bin/python -m bench.kill --kills 20
    .venv/bin/python -m bench.kill --kills 20 --database postgres

The database is a new SQLite file by default; --database (or DATABASE_URL) takes any of
bench/databases.py's: `postgres`, or a URL (a PostgreSQL run gets a schema of its own). The
benchmark queues and counts through the stores, as the bot does, on either.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bench import databases
from bot.delivery.outbox import Outbox
from storage.outbox import Outgoing
from storage.stores import open_stores
from tests.conftest import OFFICIALS
from tests.fakeapi import Call, FakeTelegram
from tests.realbot import RealBot

MARK = re.compile(r"bench #(\d+)\b")
CITIZENS = 1000
GROUPS = 20


def now() -> datetime:
    return datetime.now(UTC)


def card_keyboard(number: int) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(text="▶️ Take", callback_data=f"bench:{number}")
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


async def top_up(database_url: str, first: int, backlog: int) -> int:
    """Queue numbered rows until `backlog` are pending; every tenth is a card to a group.
    Returns the next number."""
    stores = await open_stores(database_url)
    try:
        outbox = Outbox(stores.outbox, now)
        missing = backlog - await outbox.store.pending_count()
        batches: list[Outgoing] = []
        for number in range(first, first + max(0, missing)):
            if number % 10 == 0:
                group = -1_000_000 - number % GROUPS
                text = f"🆕 bench #{number} card for the officials"
                batches.append(outbox.text(group, text, reply_markup=card_keyboard(number)))
            else:
                citizen = number % CITIZENS + 1
                batches.append(outbox.text(citizen, f"bench #{number} notice for {citizen}"))
        await outbox.queue(batches)
        return first + max(0, missing)
    finally:
        await stores.database.close()


async def pending(database_url: str) -> int:
    stores = await open_stores(database_url)
    try:
        return await stores.outbox.pending_count()
    finally:
        await stores.database.close()


def first_taken(calls: list[Call]) -> dict[int, float]:
    """When Telegram first took each numbered row (the fake's clock)."""
    first: dict[int, float] = {}
    for call in calls:
        match = MARK.search(call.text or "") if not call.failed else None
        if call.method == "sendMessage" and match:
            first.setdefault(int(match.group(1)), call.ts)
    return first


def around_kill_ms(doubled: list[int], first: dict[int, float], kills: list[float]) -> list[float]:
    """For each row sent twice: when Telegram first took it, relative to the nearest SIGKILL
    (negative: before the kill, its row not yet marked; positive: after it, the request was
    already on its way when the process died)."""
    return sorted(
        (first[n] - min(kills, key=lambda k: abs(k - first[n]))) * 1000
        for n in doubled
        if n in first
    )


def deliveries(calls: list[Call]) -> Counter[int]:
    """How many times Telegram accepted each numbered row."""
    taken: Counter[int] = Counter()
    for call in calls:
        if call.method == "sendMessage" and not call.failed:
            match = MARK.search(call.text or "")
            if match:
                taken[int(match.group(1))] += 1
    return taken


async def run(database: str, kills: int, backlog: int, window: float, seed: int) -> None:
    rng = random.Random(seed)
    fake = FakeTelegram(enforce_limits=True)
    await fake.start()
    started = time.perf_counter()
    doubled_by_kill: list[int] = []
    kills_at: list[float] = []
    async with contextlib.AsyncExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        url = await stack.enter_async_context(databases.fresh(database, tmp, "kill"))
        bot = RealBot(fake, tmp, DATABASE_URL=url, OFFICIALS_CHAT_ID=str(OFFICIALS))
        (tmp / "data").mkdir()
        queued = 0
        for kill in range(1, kills + 1):
            queued = await top_up(url, queued, backlog)
            before = deliveries(fake.calls)
            since = len(fake.arrivals)
            await bot.start()
            # Kill at a random moment of the sending, not of the start-up.
            await fake.wait_for(lambda c: c.method == "sendMessage", since=fake.mark(), timeout=60)
            await asyncio.sleep(rng.uniform(0.0, window))
            kills_at.append(time.time())
            await bot.kill()
            await asyncio.sleep(0.2)  # let the fake finish (or drop) what was in flight
            after = deliveries(fake.calls)
            doubled_by_kill.append(sum(1 for n in after if after[n] > 1 and before[n] <= 1))
            in_flight = len(fake.arrivals) - since
            if kill % 10 == 0 or kill == kills:
                print(f"  kill {kill}/{kills}: {sum(after.values())} deliveries so far, "
                      f"{sum(doubled_by_kill)} rows sent twice, {in_flight} requests this run",
                      flush=True)  # fmt: skip
        # The last run drains everything.
        await bot.start()
        for _ in range(1200):  # at most 10 minutes
            if not await pending(url):
                break
            await asyncio.sleep(0.5)
        assert await bot.stop() == 0, bot.log.read_text()[-2000:]
        left = await pending(url)
    await fake.stop()
    elapsed = time.perf_counter() - started

    taken = deliveries(fake.calls)
    lost = [n for n in range(queued) if taken[n] == 0]
    twice = {n: c for n, c in taken.items() if c > 1}
    extra = sum(c - 1 for c in twice.values())
    delivered = sum(taken.values())
    offsets = around_kill_ms(sorted(twice), first_taken(fake.calls), kills_at)
    ahead = [-o for o in offsets if o < 0]
    after_kill = sum(1 for o in offsets if o >= 0)
    median = sorted(ahead)[len(ahead) // 2] if ahead else 0.0
    unmarked = f"{len(ahead)} (median {median:.1f} ms)" if ahead else "0"
    assert fake.limits is not None
    rows = [
        ("kills (SIGKILL while sending)", f"{kills}"),
        ("rows queued", f"{queued}"),
        ("rows still pending at the end", f"{left}"),
        ("lost (never delivered)", f"{len(lost)}"),
        ("rows delivered more than once", f"{len(twice)}"),
        ("extra deliveries", f"{extra}"),
        ("kills that doubled a row", f"{sum(1 for d in doubled_by_kill if d)}"),
        ("duplicates per kill", f"{extra / kills:.3f}"),
        ("duplicates per 1,000 messages", f"{1000 * extra / max(1, delivered):.2f}"),
        ("  of them taken before the kill, unmarked", unmarked),
        ("  taken after the kill (on the wire)", f"{after_kill}"),
        ("429 answers (limits reset by restarts)", f"{fake.limits.violations}"),
        ("wall time, s", f"{elapsed:.0f}"),
    ]
    width = max(len(k) for k, _ in rows)
    print(
        f"kill: {kills} SIGKILLs, up to {window:.1f} s into the sending, backlog {backlog}, "
        f"on {databases.label(database)}"
    )
    for key, value in rows:
        print(f"  {key:<{width}}  {value:>8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--backlog", type=int, default=300, help="rows pending at each start")
    parser.add_argument("--window", type=float, default=2.0, help="kill within this many s")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument(
        "--database",
        default=os.environ.get("DATABASE_URL", "sqlite"),
        help="sqlite (default), postgres, or a DATABASE_URL (bench/databases.py)",
    )
    args = parser.parse_args()
    [database] = databases.parse(args.database)
    asyncio.run(run(database, args.kills, args.backlog, args.window, args.seed))


if __name__ == "__main__":
    main()
