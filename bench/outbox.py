"""Outgoing limits: queue notifications for many citizens and digests for a few groups,
deliver them through the outbox against the fake Bot API enforcing Telegram's limits, and
print the achieved rate, 429s, time to drain, losses and duplicates.

    .venv/bin/python -m bench.outbox                     # 3,000 for 1,000 citizens + 3 groups
    .venv/bin/python -m bench.outbox --citizens 100 --per-citizen 3

With --broadcast N: an announcement to N subscribers (bulk rows) goes out while the bot keeps
working: replies sent directly (outside the outbox's pacing, --direct per second) and outbox
rows that are not bulk (cards, answers: two a second). Prints the broadcast's rate, how long
those rows waited, and the 429s the direct replies met; --bulk-rate sets the broadcast's pace
(the sender's default if not given).

    .venv/bin/python -m bench.outbox --broadcast 1500 --direct 3 --bulk-rate 29
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from aiogram.exceptions import TelegramRetryAfter

from bot.delivery import sender as sender_module
from bot.delivery.outbox import Outbox
from bot.delivery.sender import OutboxSender
from storage.sqlite.database import SQLiteDatabase
from storage.sqlite.outbox import SQLiteOutboxStore
from tests.fakeapi import FakeTelegram


def now() -> datetime:
    return datetime.now(UTC)


async def run(citizens: int, per_citizen: int, groups: int) -> None:
    fake = FakeTelegram(enforce_limits=True)
    await fake.start()
    bot = fake.make_bot()
    with tempfile.TemporaryDirectory() as tmp:
        db = await SQLiteDatabase.open(Path(tmp) / "bench.db")
        store = SQLiteOutboxStore(db)
        outbox = Outbox(store, now)
        for n in range(per_citizen):
            for citizen in range(1, citizens + 1):
                await outbox.send_text(
                    citizen, f"notice {n} for {citizen}", dedupe_key=f"{citizen}:{n}"
                )
        for group in range(1, groups + 1):
            await outbox.send_text(
                -1000 - group, "digest\n" + "line\n" * 300, dedupe_key=f"g{group}"
            )
        queued = await store.pending_count()
        # What every tick of the sender reads, holding the database meanwhile.
        probe = time.perf_counter()
        for _ in range(20):
            await store.due(now(), 100)
        due_ms = (time.perf_counter() - probe) / 20 * 1000
        sender = OutboxSender(bot, store, outbox, now)
        started = time.perf_counter()
        sender.start()
        await sender.drain(timeout=3600, all_pending=True)
        elapsed = time.perf_counter() - started
        await sender.stop()
        sent = [c for c in fake.calls if c.method == "sendMessage" and not c.failed]
        dupes = sum(n - 1 for n in Counter((c.chat_id, c.text) for c in sent).values() if n > 1)
        lost = await store.pending_count()
        dropped = await db.fetchone("SELECT COUNT(*) FROM outbox WHERE dropped_at IS NOT NULL")
        await db.close()
    await bot.session.close()
    await fake.stop()
    assert fake.limits is not None
    rows = [
        ("rows queued", f"{queued}"),
        ("one tick's due() at that queue, ms", f"{due_ms:.2f}"),
        ("messages delivered", f"{len(sent)}"),
        ("time to drain, s", f"{elapsed:.1f}"),
        ("achieved messages/s", f"{len(sent) / elapsed:.1f}"),
        ("429 answers received", f"{fake.limits.violations}"),
        ("lost (still pending)", f"{lost}"),
        ("dropped", f"{dropped[0] if dropped else 0}"),
        ("sent twice", f"{dupes}"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"outbox: {citizens} citizens x {per_citizen} + {groups} group digests, limits on")
    for key, value in rows:
        print(f"  {key:<{width}}  {value:>8}")


async def broadcast(subscribers: int, direct_rate: float, bulk_rate: float | None) -> None:
    fake = FakeTelegram(enforce_limits=True)
    await fake.start()
    bot = fake.make_bot()
    with tempfile.TemporaryDirectory() as tmp:
        db = await SQLiteDatabase.open(Path(tmp) / "bench.db")
        store = SQLiteOutboxStore(db)
        outbox = Outbox(store, now)
        rows = [
            outbox.text(citizen, f"📢 announcement to {citizen}", dedupe_key=f"a:{citizen}")
            for citizen in range(1, subscribers + 1)
        ]
        await outbox.queue(rows, bulk=True)
        sender = OutboxSender(
            bot, store, outbox, now, bulk_per_second=bulk_rate or sender_module.BULK_PER_SECOND
        )
        queued_at: dict[str, float] = {}
        direct = {"sent": 0, "429": 0}

        async def interactive() -> None:
            """Direct replies at `direct_rate` a second, and an outbox card or answer every
            half second, as long as the broadcast lasts."""
            n = 0
            step = 1 / direct_rate if direct_rate > 0 else 0.5
            next_row = 0.0
            clock = time.perf_counter()
            while await store.pending_count() > 0:
                n += 1
                if direct_rate > 0:
                    try:
                        await bot.send_message(2_000_000 + n, f"reply {n}")
                        direct["sent"] += 1
                    except TelegramRetryAfter:
                        direct["429"] += 1
                if time.perf_counter() - clock >= next_row:
                    next_row += 0.5
                    # A card to one of many groups (20 a minute each), or a citizen's answer.
                    chat = -1_000_000 - n if n % 2 else 3_000_000 + n
                    text = f"row {n}"
                    queued_at[text] = time.time()
                    await outbox.send_text(chat, text)
                await asyncio.sleep(step)

        started = time.perf_counter()
        sender.start()
        load = asyncio.create_task(interactive())
        await sender.drain(timeout=3600, all_pending=True)
        elapsed = time.perf_counter() - started
        await load
        await sender.stop()
        await db.close()
    await bot.session.close()
    await fake.stop()
    sent = [c for c in fake.calls if c.method == "sendMessage" and not c.failed]
    announced = [c for c in sent if (c.text or "").startswith("📢")]
    waits = sorted(c.ts - queued_at[c.text or ""] for c in sent if (c.text or "") in queued_at)
    assert fake.limits is not None
    outbox_429 = fake.limits.violations - direct["429"]
    lines = [
        ("announcements delivered", f"{len(announced)}"),
        ("broadcast drained in, s", f"{elapsed:.1f}"),
        ("broadcast messages/s", f"{len(announced) / elapsed:.1f}"),
        ("other outbox rows sent meanwhile", f"{len(waits)}"),
        ("their wait, median ms", f"{waits[len(waits) // 2] * 1000:.0f}" if waits else "-"),
        ("their wait, max ms", f"{waits[-1] * 1000:.0f}" if waits else "-"),
        ("direct replies sent", f"{direct['sent']}"),
        ("direct replies refused (429)", f"{direct['429']}"),
        ("outbox rows refused (429)", f"{outbox_429}"),
    ]
    width = max(len(k) for k, _ in lines)
    pace = f"{bulk_rate or sender_module.BULK_PER_SECOND}/s"
    print(f"outbox: broadcast to {subscribers}, bulk pace {pace}, {direct_rate} direct replies/s")
    for key, value in lines:
        print(f"  {key:<{width}}  {value:>8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=1000)
    parser.add_argument("--per-citizen", type=int, default=3)
    parser.add_argument("--groups", type=int, default=3)
    parser.add_argument("--broadcast", type=int, default=0, help="subscribers (bulk rows)")
    parser.add_argument("--direct", type=float, default=3.0, help="direct replies a second")
    parser.add_argument("--bulk-rate", type=float, default=None, help="the broadcast's pace")
    args = parser.parse_args()
    if args.broadcast:
        asyncio.run(broadcast(args.broadcast, args.direct, args.bulk_rate))
    else:
        asyncio.run(run(args.citizens, args.per_citizen, args.groups))


if __name__ == "__main__":
    main()
