"""Outgoing limits: queue notifications for many citizens and digests for a few groups,
deliver them through the outbox against the fake Bot API enforcing Telegram's limits, and
print the achieved rate, 429s, time to drain, losses and duplicates.

    .venv/bin/python -m bench.outbox                     # 3,000 for 1,000 citizens + 3 groups
    .venv/bin/python -m bench.outbox --citizens 100 --per-citizen 3
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=1000)
    parser.add_argument("--per-citizen", type=int, default=3)
    parser.add_argument("--groups", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.citizens, args.per_citizen, args.groups))


if __name__ == "__main__":
    main()
