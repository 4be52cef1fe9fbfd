"""The bot as its own process (`python -m bot`) against the fake Bot API: started, stopped
with SIGTERM, killed with SIGKILL. Shared by the crash tests and bench/kill.py."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from tests import e2edb
from tests.conftest import OFFICIALS, TOKEN
from tests.fakeapi import Call, FakeTelegram

ROOT = Path(__file__).resolve().parent.parent


class RealBot:
    def __init__(self, fake: FakeTelegram, workdir: Path, **settings: str) -> None:
        self.fake = fake
        self.workdir = workdir
        self.settings = settings
        self.log = workdir / "bot.log"
        self.database = workdir / "data" / "bot.db"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, module: str = "bot", *, wait: bool = True, **extra: str) -> None:
        """Start `python -m module` (bot, or a test's wrapper of it) and wait for its first
        getUpdates (in webhook mode: its setWebhook) unless told not to."""
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))},
            "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE": self.fake.base_url,
            # data/bot.db under its working directory, or its own PostgreSQL schema.
            "DATABASE_URL": e2edb.database_url(self.database, relative="sqlite:///data/bot.db"),
            **self.settings,
            **extra,
        }
        since = self.fake.mark()
        with self.log.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", module, cwd=self.workdir, env=env, stdout=log, stderr=log
            )
        ready = "setWebhook" if env.get("WEBHOOK_URL") else "getUpdates"
        if wait:
            await self.ready(lambda c: c.method == ready, since)

    async def ready(self, predicate: Callable[[Call], bool], since: int) -> None:
        """Wait for the process's first call matching `predicate`; a process that exits
        first (a configuration error) fails at once, with the end of its log."""
        assert self.proc is not None
        called = asyncio.ensure_future(self.fake.wait_for(predicate, since=since, timeout=30))
        exited = asyncio.ensure_future(self.proc.wait())
        try:
            await asyncio.wait({called, exited}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            exited.cancel()
        if not called.done():
            called.cancel()
            tail = self.log.read_text(errors="replace")[-2000:]
            raise AssertionError(f"the bot exited with {self.proc.returncode}:\n{tail}")
        called.result()

    async def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), 20)

    async def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing is flushed or marked."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()

    async def exited(self, timeout: float = 30) -> int:  # noqa: ASYNC109 - a plain bound
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), timeout)


async def start_instances(
    fake: FakeTelegram, workdir: Path, names: tuple[str, ...] = ("a", "b")
) -> list[RealBot]:
    """Several bot processes on one database (workdir's data/bot.db, or its PostgreSQL
    schema), one after another, each calling the fake under its own prefix
    (TELEGRAM_API_BASE=…/a, …/b: Call.client names the process) and logging to its own file."""
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    bots = []
    for name in names:
        real = RealBot(
            fake,
            workdir,
            OFFICIALS_CHAT_ID=str(OFFICIALS),
            TELEGRAM_API_BASE=f"{fake.base_url}/{name}",
        )
        real.log = workdir / f"{name}.log"
        since = fake.mark()
        await real.start(wait=False)
        await real.ready(
            lambda c, name=name: c.method == "getUpdates" and c.client == name,  # type: ignore[misc]
            since,
        )
        bots.append(real)
    return bots
