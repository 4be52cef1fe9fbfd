"""Shared fixtures: catalog, a fresh SQLite database, and the real bot polling a fake Bot API."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram.fsm.storage.base import BaseStorage
from pydantic import SecretStr

from bot.app import REPORT_MODULES, App, create_app
from bot.domain.catalog import Catalog, load_catalog
from bot.settings import Settings
from bot.telegram import progress
from bot.telegram.isolation import ChatIsolation
from storage.base import Repository
from tests import backends, e2edb
from tests.fakeapi import Call, FakeTelegram

TOKEN = "123456789:AAFakeTokenForTests_0123456789abc"
OFFICIALS = -1001000  # the officials' group chat of the e2e tests
ALMATY = ZoneInfo("Asia/Almaty")


class FrozenClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked every_backend run on each storage backend (tests/backends.py), but for
    those marked sqlite_only (what checks SQLite's own SQL, or a store PostgreSQL lacks);
    those marked postgres_only run on PostgreSQL alone."""
    marked = metafunc.definition.get_closest_marker
    if "backend" not in metafunc.fixturenames:
        return
    if marked("postgres_only"):
        # A race only PostgreSQL's concurrent writers can lose: on SQLite it has no run at all
        # (rather than a skip, which CI's REQUIRE_ALL_TESTS would count as a failure).
        metafunc.parametrize("backend", ("postgres",), indirect=True)
    elif marked("every_backend") and not marked("sqlite_only"):
        metafunc.parametrize("backend", backends.NAMES, indirect=True)


@pytest.fixture(scope="session")
def postgres_missing() -> str | None:
    return backends.postgres_missing()


@pytest.fixture
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_missing: str | None
) -> AsyncIterator[backends.Backend]:
    """SQLite unless the test is marked every_backend (then each of them in turn)."""
    name = getattr(request, "param", "sqlite")
    if name == "postgres" and postgres_missing:
        pytest.skip(postgres_missing)
    async with backends.backend_for(name, tmp_path) as chosen:
        yield chosen


@pytest.fixture
async def repo(backend: backends.Backend) -> AsyncIterator[Repository]:
    """The repository on a fresh database; a SQLiteRepository (with its `db`, for the other
    SQLite stores) in tests not marked every_backend."""
    repository = backend.repository(await backend.open())
    yield repository
    await repository.close()


@pytest.fixture
async def fsm_storage(backend: backends.Backend) -> BaseStorage:
    return backend.fsm(await backend.open())


def make_settings(
    base_url: str, db_path: Path, *, database_url: str | None = None, **extra: Any
) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=SecretStr(TOKEN),
        telegram_api_base=base_url,
        # SQLite at db_path, or (E2E_DATABASE=postgres) a PostgreSQL schema of its own,
        # unless the caller names its database (bench.calls: SQLite, nothing to drop).
        database_url=database_url or e2edb.database_url(db_path),
        **{"officials_chat_id": OFFICIALS, **extra},
    )


class Harness:
    """Plays citizens against the running bot and waits for its replies."""

    def __init__(
        self,
        fake: FakeTelegram,
        app: App,
        task: asyncio.Task[None],
        clock: Any,
        delivery_clock: Any = None,
    ) -> None:
        self.fake = fake
        self.app = app
        self.task = task
        self.clock = clock
        self.delivery_clock = delivery_clock

    async def restart(self) -> None:
        """Stop the bot and start a new one on the same database, as after a deploy."""
        settings = self.app.settings
        await stop_bot(self.app, self.task)
        self.app, self.task = await start_bot(self.fake, settings, self.clock, self.delivery_clock)

    async def say(
        self,
        user: int,
        text: str | None = None,
        *,
        lang: str = "ru",
        expect: str | None = None,
        **extra: Any,
    ) -> Call:
        since = self.fake.mark()
        self.fake.user_message(user, text, language_code=lang, **extra)
        return await self.reply(user, since, expect)

    async def reply(
        self, user: int, since: int, expect: str | None = None, method: str = "sendMessage"
    ) -> Call:
        def matches(call: Call) -> bool:
            return (
                call.method == method
                and not call.failed
                and self.fake.chat_of(call) == user
                and (expect is None or expect in (call.text or ""))
            )

        found = await self.fake.wait_for(matches, since=since)
        await self.settled(user)
        return found

    async def settled(self, chat: int) -> None:
        """Until no update of the chat is in hand: a dialog step's rows are committed at the
        end of its update, after its replies (storage.fsm), so a test that reads them (or
        sends the next update to another instance) waits for that end, as a person reading
        the question does."""
        isolation = self.app.dp.fsm.events_isolation
        assert isinstance(isolation, ChatIsolation)
        async with asyncio.timeout(30):
            while isolation.in_hand(chat):  # noqa: ASYNC110 - the bot's own lock, no event
                await asyncio.sleep(0.005)

    async def with_button(self, user: int, since: int, button: str) -> Call:
        """The first message to `user` after `since` that has a button labelled with `button`."""
        found = await self.fake.wait_for(
            lambda c: (
                c.method == "sendMessage"
                and self.fake.chat_of(c) == user
                and any(button in label for label, _ in self.fake.buttons(c))
            ),
            since=since,
        )
        await self.settled(user)
        return found

    async def click(
        self,
        user: int,
        on: Call,
        button: str,
        *,
        expect: str | None = None,
        method: str = "sendMessage",
        lang: str = "ru",
    ) -> Call:
        """Press the inline button whose label contains `button` on the message `on`."""
        data = self.fake.find_button(on, button)
        return await self.press(user, on, data, expect=expect, method=method, lang=lang)

    async def confirm(
        self, user: int, review: Call, button: str = "✅", *, expect: str | None = None,
        lang: str = "ru",
    ) -> Call:  # fmt: skip
        """Press confirm on a review card: the card turns into the confirmation (returned),
        then the main menu comes back as a message of its own."""
        since = self.fake.mark()
        edited = await self.click(
            user, review, button, expect=expect, method="editMessageText", lang=lang
        )
        await self.main_menu(user, since)
        return edited

    async def main_menu(self, user: int, since: int) -> Call:
        found = await self.fake.wait_for(
            lambda c: (
                c.method == "sendMessage"
                and not c.failed
                and self.fake.chat_of(c) == user
                and "keyboard" in (c.params.get("reply_markup") or {})
            ),
            since=since,
        )
        await self.settled(user)
        return found

    async def press(
        self,
        user: int,
        on: Call,
        data: str,
        *,
        expect: str | None = None,
        method: str = "sendMessage",
        lang: str = "ru",
    ) -> Call:
        since = self.fake.mark()
        self.fake.press(user, on, data, language_code=lang)
        return await self.reply(user, since, expect, method=method)

    async def alert(self, user: int, on: Call, data: str) -> str:
        since = self.fake.mark()
        self.fake.press(user, on, data)
        call = await self.fake.wait_for(
            lambda c: c.method == "answerCallbackQuery" and bool(c.params.get("text")),
            since=since,
        )
        await self.settled(user)
        return str(call.params["text"])

    async def quiet(self, seconds: float = 0.3) -> None:
        """For inputs that must get no answer: let the bot run, then the test checks."""
        await asyncio.sleep(seconds)

    def texts_to(self, user: int, since: int = 0) -> list[str]:
        return [
            c.text or ""
            for c in self.fake.calls[since:]
            if c.method == "sendMessage" and not c.failed and self.fake.chat_of(c) == user
        ]


async def start_bot(
    fake: FakeTelegram, settings: Settings, clock: Any = None, delivery_clock: Any = None
) -> tuple[App, Any]:
    since = fake.mark()
    kwargs = {"clock": clock} if clock else {}
    if delivery_clock:
        kwargs["delivery_clock"] = delivery_clock
    app = await create_app(settings, **kwargs)
    task = asyncio.create_task(app.run_polling(handle_signals=False, polling_timeout=1))
    await fake.wait_for(lambda c: c.method == "getUpdates", since=since)
    return app, task


async def stop_bot(app: App, task: asyncio.Task[None]) -> None:
    await app.dp.stop_polling()
    await asyncio.wait_for(task, 10)


@pytest.fixture(scope="session")
def report_server() -> None:
    """The report worker's fork server, started once for the session (its imports take
    seconds): a test's first /export then takes the time every later one in the bot does."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(REPORT_MODULES))
    process = context.Process(target=os.getpid)
    process.start()
    process.join()


@pytest.fixture(autouse=True)
def no_progress_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether a report takes longer than a second depends on the machine: a test sees its
    progress message only when it asks for one (tests/test_report_worker.py)."""
    monkeypatch.setattr(progress, "PROGRESS_AFTER", 120.0)


@pytest.fixture
async def fake(report_server: None) -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram(detect_not_modified=True)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def clock() -> FrozenClock:
    # Monday 23 November 2026, 10:00 in Almaty: inside working hours.
    return FrozenClock(datetime(2026, 11, 23, 10, 0, tzinfo=ALMATY).astimezone(UTC))


@pytest.fixture
async def harness(fake: FakeTelegram, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Harness]:
    app, task = await start_bot(fake, make_settings(fake.base_url, tmp_path / "bot.db"), clock)
    h = Harness(fake, app, task, clock)
    yield h
    await stop_bot(h.app, h.task)


@pytest.fixture(autouse=True)
def drop_e2e_schemas() -> Iterator[None]:
    """The PostgreSQL schemas a test's bot ran on (tests/e2edb.py) go when it ends."""
    yield
    e2edb.drop_created()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With E2E_DATABASE=postgres the e2e tests that check SQLite itself (its locks, its
    file) are left out, not skipped: they have nothing to check there."""
    if not e2edb.POSTGRES:
        return
    kept = [i for i in items if not i.get_closest_marker("sqlite_only")]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """With REQUIRE_ALL_TESTS set (CI), a skipped test is a failed one: CI has every service
    a test may need, so a skip there means a test silently did not run."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("REQUIRE_ALL_TESTS") and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, but REQUIRE_ALL_TESTS is set: {report.longrepr}"
