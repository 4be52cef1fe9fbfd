"""An operator mistake is loud (issue #10, item 9): without OFFICIALS_CHAT_ID, start-up goes
on only when the catalog's [routing] gives every appeal a chat; an empty BOT_TOKEN says it is
empty. Each refusal is one line from a real `python -m bot`, before anything reaches Telegram."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain.catalog import BUNDLED_CATALOG, load_catalog
from bot.settings import ConfigError, check_officials_chat, load_settings
from tests.conftest import TOKEN, FrozenClock, Harness, make_settings, start_bot, stop_bot
from tests.fakeapi import FakeTelegram
from tests.test_e2e_appeal import onboard
from tests.test_e2e_language import file_appeal

ROOT = Path(__file__).resolve().parent.parent
CATEGORY_CHATS = {
    category.code: -1003000 - n for n, category in enumerate(load_catalog().categories)
}
SHYMKENT_DISTRICTS = ("T77215757", "791710000")  # Туран and Қаратау districts of Shymkent


def catalog_file(
    tmp_path: Path,
    categories: dict[str, int] | None = None,
    districts: dict[str, int] | None = None,
    territory: tuple[str, ...] = (),
) -> Path:
    """The bundled catalog with the given [routing] and, if any, a territory of `territory`."""

    def table(routes: dict[str, int] | None) -> str:
        return "{" + ", ".join(f'"{k}" = {v}' for k, v in (routes or {}).items()) + "}"

    text = BUNDLED_CATALOG.read_text(encoding="utf-8")
    text = text.replace(
        "categories = {}\ndistricts = {}",
        f"categories = {table(categories)}\ndistricts = {table(districts)}",
    )
    if territory:
        codes = ", ".join(f'"{c}"' for c in territory)
        text = text.replace("districts = []", f"districts = [{codes}]")
    path = tmp_path / "catalog.toml"
    path.write_text(text, encoding="utf-8")
    return path


# The rule, without Telegram.


def test_the_bundled_catalog_routes_nothing() -> None:
    assert load_catalog().unrouted_appeal() is not None


def test_every_category_routed_covers_every_appeal(tmp_path: Path) -> None:
    assert load_catalog(catalog_file(tmp_path, CATEGORY_CHATS)).unrouted_appeal() is None


def test_one_category_left_out_is_named(tmp_path: Path) -> None:
    routes = {code: chat for code, chat in CATEGORY_CHATS.items() if code != "roads"}
    catalog = load_catalog(catalog_file(tmp_path, routes))
    unrouted = catalog.unrouted_appeal()
    assert unrouted is not None and unrouted[1].code == "roads"


def test_every_district_of_the_territory_routed_covers_every_appeal(tmp_path: Path) -> None:
    both = dict.fromkeys(SHYMKENT_DISTRICTS, -1004000)
    covered = load_catalog(catalog_file(tmp_path, districts=both, territory=SHYMKENT_DISTRICTS))
    assert covered.unrouted_appeal() is None
    one = {SHYMKENT_DISTRICTS[0]: -1004000}
    partly = load_catalog(catalog_file(tmp_path, districts=one, territory=SHYMKENT_DISTRICTS))
    unrouted = partly.unrouted_appeal()
    assert unrouted is not None and unrouted[0].code == SHYMKENT_DISTRICTS[1]


def test_mixed_routing_covers_when_the_gaps_never_meet(tmp_path: Path) -> None:
    """A district left out is still covered if every category is routed, and the other way
    round; only an unrouted district with an unrouted category leaves an appeal alone."""
    catalog = load_catalog(
        catalog_file(
            tmp_path,
            categories=CATEGORY_CHATS,
            districts={SHYMKENT_DISTRICTS[0]: -1004000},
            territory=SHYMKENT_DISTRICTS,
        )
    )
    assert catalog.unrouted_appeal() is None
    assert catalog.routed_chat(SHYMKENT_DISTRICTS[0], "roads") == -1004000  # district wins
    assert catalog.routed_chat(SHYMKENT_DISTRICTS[1], "roads") == CATEGORY_CHATS["roads"]
    assert load_catalog().routed_chat(SHYMKENT_DISTRICTS[1], "roads") is None


def test_the_check_names_the_setting_in_one_line(tmp_path: Path) -> None:
    without = load_settings(_env_file=None, bot_token=TOKEN)
    with pytest.raises(ConfigError) as error:
        check_officials_chat(without, load_catalog())
    [line] = str(error.value).splitlines()
    assert line.startswith("Configuration error: OFFICIALS_CHAT_ID is not set")
    assert "catalog.toml" in line
    check_officials_chat(without, load_catalog(catalog_file(tmp_path, CATEGORY_CHATS)))
    with_chat = load_settings(_env_file=None, bot_token=TOKEN, officials_chat_id="-1001")
    check_officials_chat(with_chat, load_catalog())


@pytest.mark.parametrize("empty", ["", "   "])
def test_an_empty_token_says_it_is_empty(empty: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(_env_file=None, bot_token=empty)
    assert str(error.value).startswith("Configuration error: BOT_TOKEN is empty")


# A real `python -m bot`, pointed at the fake Bot API.


async def run_bot(
    fake: FakeTelegram, workdir: Path, env: dict[str, str]
) -> asyncio.subprocess.Process:
    operator_settings = ("BOT_", "TELEGRAM_", "OFFICIALS_", "CATALOG_", "DATABASE_")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(operator_settings)}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=workdir,
        env={**clean, "PYTHONPATH": str(ROOT), "TELEGRAM_API_BASE": fake.base_url, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def ended(proc: asyncio.subprocess.Process) -> None:
    """A bot that did not stop by itself (the test failed) is not left running."""
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


async def refused(fake: FakeTelegram, workdir: Path, env: dict[str, str]) -> str:
    """Runs the bot expecting it to refuse to start; returns its one line."""
    proc = await run_bot(fake, workdir, env)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        await ended(proc)
    assert proc.returncode == 2
    lines = err.decode().splitlines()
    assert len(lines) == 1, err.decode()
    assert "Traceback" not in err.decode() and not out
    assert TOKEN not in err.decode() and TOKEN.split(":")[1] not in err.decode()
    assert fake.calls == []  # stopped before the first request to Telegram
    return lines[0]


@pytest.mark.e2e
async def test_start_up_without_a_chat_for_every_appeal_stops(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    line = await refused(fake, tmp_path, {"BOT_TOKEN": TOKEN})
    assert line.startswith("Configuration error: OFFICIALS_CHAT_ID is not set")
    assert str(BUNDLED_CATALOG) in line

    routes = {code: chat for code, chat in CATEGORY_CHATS.items() if code != "roads"}
    env = {"BOT_TOKEN": TOKEN, "CATALOG_PATH": str(catalog_file(tmp_path, routes))}
    line = await refused(fake, tmp_path, env)
    assert line.startswith("Configuration error: OFFICIALS_CHAT_ID is not set")
    assert "'roads'" in line


@pytest.mark.e2e
async def test_an_empty_token_in_env_file_stops_start_up(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("BOT_TOKEN=\nOFFICIALS_CHAT_ID=-1001000\n", encoding="utf-8")
    line = await refused(fake, tmp_path, {})
    assert line.startswith("Configuration error: BOT_TOKEN is empty")


@pytest.mark.e2e
async def test_routing_of_every_appeal_needs_no_default_chat(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    env = {"BOT_TOKEN": TOKEN, "CATALOG_PATH": str(catalog_file(tmp_path, CATEGORY_CHATS))}
    proc = await run_bot(fake, tmp_path, env)
    try:
        await fake.wait_for(lambda c: c.method == "getUpdates", timeout=30)
        proc.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        await ended(proc)
    assert proc.returncode == 0, err.decode()
    assert "Configuration error" not in err.decode()


@pytest.fixture
async def routed(fake: FakeTelegram, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Harness]:
    """No OFFICIALS_CHAT_ID; every category has its officials' chat."""
    settings = make_settings(
        fake.base_url,
        tmp_path / "bot.db",
        officials_chat_id=None,
        catalog_path=catalog_file(tmp_path, CATEGORY_CHATS),
    )
    app, task = await start_bot(fake, settings, clock)
    h = Harness(fake, app, task, clock)
    yield h
    await stop_bot(h.app, h.task)


@pytest.mark.e2e
@pytest.mark.parametrize(("user", "lang"), [(1401, "ru"), (1402, "kk")])
async def test_each_appeal_reaches_its_categorys_chat(
    routed: Harness, user: int, lang: str
) -> None:
    h = routed
    await onboard(h, user, lang)
    since = h.fake.mark()
    await file_appeal(h, user, lang)  # the first category offered: utilities
    card = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and (c.text or "").startswith("🆕"), since=since
    )
    assert h.fake.chat_of(card) == CATEGORY_CHATS["utilities"]
