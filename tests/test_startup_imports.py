"""`python -m bot` imports what the first update needs and defers the rest (issue #14, item 5).

The bot runs as an operator starts it, in a process of its own against the fake Bot API, on
SQLite; at its first getUpdates the process prints the modules it has imported and stops.
The workbook writer, the PostgreSQL driver and stores, the holiday tables and the plotting
library are imported only when an official's /export, a PostgreSQL DATABASE_URL, the first
working-day question or the first weekly chart needs them; aiohttp's server side only in
webhook mode. This checks which modules are
loaded, not how long anything takes.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import OFFICIALS, TOKEN
from tests.fakeapi import FakeTelegram

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent

# Run in the bot's process: aiogram's polling loop, the first getUpdates and everything after
# it, is replaced by one that prints sys.modules; start-up up to that point is the real one.
CHILD = """
import json, runpy, sys
from aiogram import Dispatcher

if not hasattr(Dispatcher, "_polling"):
    sys.exit("aiogram has no Dispatcher._polling any more: update tests/test_startup_imports.py")


async def first_poll(self, bot, **kwargs):
    print("MODULES " + json.dumps(sorted(sys.modules)), flush=True)


Dispatcher._polling = first_poll
sys.argv = ["bot"]
runpy.run_module("bot", run_name="__main__")
"""

# Top-level packages or modules, and what defers each.
DEFERRED = {
    "xlsxwriter": "bot.views.reports.export_xlsx imports it for the first /export",
    "openpyxl": "only the tests read workbooks",
    "asyncpg": "storage.stores imports the PostgreSQL stores for a postgresql:// URL only",
    "storage.postgres": "storage.stores imports the PostgreSQL stores for a postgresql:// URL",
    "storage.port": "`python -m bot port` only",
    "aiohttp.web": "App.run_webhook imports aiohttp's server side for a WEBHOOK_URL only",
    "bot.telegram.webhook": "App.run_webhook imports the receiver for a WEBHOOK_URL only",
    "holidays": "bot.domain.deadlines.public_holidays imports it on the first question",
    "matplotlib": "bot.views.digest_chart.draw_png imports it for the first weekly chart",
    "PIL": "matplotlib's PNG writer, imported with it",
    "numpy": "matplotlib's arrays, imported with it",
}


async def modules_at_first_poll(fake: FakeTelegram, workdir: Path) -> set[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))},
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": fake.base_url,
        "DATABASE_URL": f"sqlite:///{workdir / 'bot.db'}",
        "OFFICIALS_CHAT_ID": str(OFFICIALS),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, cwd=workdir, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    # Generous: importing aiogram alone takes seconds on a loaded box.
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode(errors="replace")[-3000:]
    lines = [line for line in out.decode().splitlines() if line.startswith("MODULES ")]
    assert len(lines) == 1, out.decode(errors="replace")[-3000:]
    return set(json.loads(lines[0].removeprefix("MODULES ")))


async def test_start_up_imports_only_what_the_first_update_needs(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    modules = await modules_at_first_poll(fake, tmp_path)
    # The snapshot is the started bot's: its handlers, the officials' commands among them,
    # and the SQLite stores are in.
    assert {"bot.app", "handlers.official_commands", "storage.sqlite.repository"} <= modules
    # ... and it was taken where the first getUpdates would go, after the start-up calls.
    methods = {c.method for c in fake.calls}
    assert {"deleteWebhook", "setMyCommands"} <= methods
    assert "getUpdates" not in methods
    loaded = {
        name: why
        for name, why in DEFERRED.items()
        if any(m == name or m.startswith(name + ".") for m in modules)
    }
    assert loaded == {}
