"""What aiogram's routing (and the database) does per update in ours, under bench.dialogs.

    .venv/bin/python -m bench.routing                 # 20 citizens, one closed-loop run

Runs bench.dialogs with ours started as this module instead of `python -m bot`: the same bot,
with counters wrapped around aiogram's routing (routers entered, handlers whose filters were
checked, filter calls, middleware chains built, handler-data copies made by entering a router;
and SQLite's round trips: quick statements run on the loop's thread, hops to the database
thread) written to a file when the bot exits; prints them per update handled. Counting, not timing:
the counters cost CPU, so this run's updates/s mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

OUT = "BENCH_ROUTING_OUT"


def probe() -> int:
    """Run as the bot: count, run `bot.__main__.main`, write the counts."""
    from aiogram import Dispatcher, Router
    from aiogram.dispatcher.event.handler import FilterObject, HandlerObject
    from aiogram.dispatcher.middlewares.manager import MiddlewareManager

    from bot.__main__ import main
    from storage.sqlite.database import SQLiteDatabase

    counts: Counter[str] = Counter()

    def counted(owner: Any, name: str, key: str, only: Any = None) -> None:
        original = getattr(owner, name)
        if isinstance(original, staticmethod):  # pragma: no cover
            original = original.__func__

        if asyncio.iscoroutinefunction(original):

            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                if only is None or only(*args, **kwargs):
                    counts[key] += 1
                return await original(*args, **kwargs)
        else:

            def wrapper(*args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
                if only is None or only(*args, **kwargs):
                    counts[key] += 1
                return original(*args, **kwargs)

        setattr(owner, name, staticmethod(wrapper) if owner is MiddlewareManager else wrapper)

    counted(Dispatcher, "feed_update", "updates")
    counted(
        Router,
        "propagate_event",
        "routers entered",
        lambda self, update_type, *a, **k: update_type != "update" and type(self) is Router,
    )
    counted(HandlerObject, "check", "filter lists checked")
    counted(FilterObject, "call", "filter calls")
    counted(MiddlewareManager, "wrap_middlewares", "middleware chains built")
    # A quick statement that found the lock goes on to a hop as well (counted in both).
    counted(SQLiteDatabase, "_quick", "SQLite: quick, on the loop")
    counted(SQLiteDatabase, "_hop", "SQLite: database thread hops")
    try:
        return main([])
    finally:
        Path(os.environ[OUT]).write_text(json.dumps(counts))


async def drive(citizens: int, out: Path) -> None:
    from bench import dialogs

    dialogs.MODULES["ours"] = "bench.routing"
    os.environ[OUT] = str(out)
    await dialogs.run(citizens, 1, ["closed"], None, ["sqlite"], [], False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "counts.json"
        asyncio.run(drive(args.citizens, out))
        counts: dict[str, int] = json.loads(out.read_text())
    updates = counts.pop("updates")
    print(f"\nours, per update ({updates} updates, warm-up and script included):")
    for key, value in counts.items():
        print(f"  {key:30} {value / updates:6.1f}")
    print("  (each router entered copies the handler data twice: propagate_event, _wrapped)")


if __name__ == "__main__":
    if os.environ.get(OUT):  # started by `drive` as ours
        sys.exit(probe())
    main()
