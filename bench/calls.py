"""The CPU cost of each Bot API call's two ends in the bot's session, before and after issue #14.

One citizen goes through a dialog like `bench.dialogs`' — onboarding, an appeal
(/new up to confirm, quickest path: tests/test_e2e_appeal.py's `reach_review`) and a booking
(/book up to confirm: tests/test_e2e_booking.py's `book_first_slot`) — driving the real bot
in this process against the tests' fake Bot API on 127.0.0.1, on SQLite and the tests' frozen
clock. Every call the bot's session made from its first getUpdates to the end of the dialog
is recorded: the method object the bot built and the answer's JSON as received (start-up's
getMe, setMyCommands and so on are left out; empty getUpdates answers are in, as in the bot,
and so is the day's digest the scheduler sends the officials' chat meanwhile). The number of
getUpdates depends a little on timing; the table gives each kind's count.
The bot is stopped, then the calls are replayed without a network, CPU only (process time,
best of --repeats, per kind of call; a sample runs a kind's calls at least 100 times):

- request body: aiogram's stock `AiohttpSession.build_form_data` (the urlencoded form, encoded
  as aiohttp would), the body before issue #14 (`BotApiSession._prepared_json`: model_dump,
  aiogram's prepare_value on every field, json.dumps) and ours (`BotApiSession.build_form_data`,
  pydantic-core writing the JSON in one go where every value is plain);
- answer: aiogram's stock `check_response` with pydantic's wrappers around aiogram's
  `model_post_init` (`binding.bind_as_aiogram`) against ours with the one-step binding
  (`binding.bind_directly`).

Every `Response[...]` class is built once before timing and kept (ours keeps them for the
bot's life; pydantic caches them only weakly), so neither side pays for one. The binding in
force when `measure` started is put back at the end (the bot's `create_app` binds
directly).

    .venv/bin/python -m bench.calls                 # best of 20
    .venv/bin/python -m bench.calls --repeats 50
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods.base import TelegramMethod

from bot.telegram import binding
from bot.telegram.session import BotApiSession
from tests.conftest import ALMATY, FrozenClock, Harness, make_settings, start_bot, stop_bot
from tests.fakeapi import FakeTelegram
from tests.test_e2e_appeal import reach_review
from tests.test_e2e_booking import book_first_slot

CITIZEN = 7001
QUESTION = "Вопрос о назначении пособия по инвалидности"
# The tests' clock: Monday 23 November 2026, 10:00 in Almaty, inside working hours.
CLOCK_AT = datetime(2026, 11, 23, 10, 0, tzinfo=ALMATY).astimezone(UTC)
# A sample runs a kind's calls at least this many times over, so that one of a kind seen
# once or twice is not timed in a few microseconds.
MIN_CALLS_PER_SAMPLE = 100


@dataclass(frozen=True)
class Recorded:
    bot: Bot
    method: TelegramMethod[Any]
    content: str  # the answer's JSON, as the session received it


@dataclass(frozen=True)
class Row:
    """µs of process time per call of one kind (best sample)."""

    kind: str
    calls: int
    body_form: float  # aiogram's stock form
    body_before: float  # model_dump + prepare_value + json.dumps
    body_ours: float
    answer_before: float  # aiogram's check_response, pydantic's wrappers
    answer_ours: float  # ours, the one-step binding


async def record_dialog() -> list[Recorded]:
    """The calls the bot's session made during one citizen's appeal and booking."""
    calls: list[Recorded] = []
    fake = FakeTelegram(detect_not_modified=True)
    await fake.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-calls-") as tmp:
            clock = FrozenClock(CLOCK_AT)
            # SQLite whatever E2E_DATABASE says: the tests' settings would otherwise put the
            # bot in a PostgreSQL schema that nothing here drops.
            db_path = Path(tmp) / "bot.db"
            settings = make_settings(fake.base_url, db_path, database_url=f"sqlite:///{db_path}")
            app, task = await start_bot(fake, settings, clock, FrozenClock(CLOCK_AT))
            session = app.bot.session
            check_response = session.check_response

            def recording(
                bot: Bot, method: TelegramMethod[Any], status_code: int, content: str
            ) -> Any:
                if status_code == 200:
                    calls.append(Recorded(bot, method, content))
                return check_response(bot, method, status_code, content)

            setattr(session, "check_response", recording)  # noqa: B010 - mypy: a method
            try:
                h = Harness(fake, app, task, clock)
                review = await reach_review(h, CITIZEN)  # onboarding included
                await h.confirm(CITIZEN, review)
                await book_first_slot(h, CITIZEN, "ru", QUESTION)
            finally:
                await stop_bot(app, task)
                delattr(session, "check_response")
    finally:
        await fake.stop()
    return calls


def restore_binding(direct: bool) -> None:
    if direct:
        binding.bind_directly()
    else:
        binding.bind_as_aiogram()


def best_per_call(
    calls: Sequence[Recorded], do: Callable[[Recorded], object], repeats: int
) -> float:
    """µs of process time per call: the best of `repeats` samples."""
    rounds = max(1, -(-MIN_CALLS_PER_SAMPLE // len(calls)))
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        for _ in range(rounds):
            for call in calls:
                do(call)
        best = min(best, time.process_time() - started)
    return best / (rounds * len(calls)) * 1e6


def replay(calls: Sequence[Recorded], repeats: int) -> list[Row]:
    """One row per kind of call, then "all" (weighted by the calls of each kind)."""
    ours = BotApiSession()
    stock = AiohttpSession()
    kinds: dict[str, list[Recorded]] = {}
    for call in calls:
        kinds.setdefault(type(call.method).__name__, []).append(call)

    def form(c: Recorded) -> object:
        return stock.build_form_data(c.bot, c.method)()

    def prepared(c: Recorded) -> object:
        return ours._prepared_json(c.bot, c.method)

    def built(c: Recorded) -> object:
        return ours.build_form_data(c.bot, c.method)

    def parse_stock(c: Recorded) -> object:
        return stock.check_response(c.bot, c.method, 200, c.content)

    def parse_ours(c: Recorded) -> object:
        return ours.check_response(c.bot, c.method, 200, c.content)

    was_direct = binding.binds_directly()
    rows: list[Row] = []
    try:
        for call in calls:  # every Response[...] built once and kept by `ours`
            parse_ours(call)
        timed: dict[str, dict[str, float]] = {kind: {} for kind in kinds}
        for label, bind, ways in (
            (
                "before",
                binding.bind_as_aiogram,
                {"form": form, "body": prepared, "answer": parse_stock},
            ),
            ("ours", binding.bind_directly, {"body": built, "answer": parse_ours}),
        ):
            bind()
            for kind, group in kinds.items():
                for what, do in ways.items():
                    timed[kind][f"{what} {label}"] = best_per_call(group, do, repeats)
        for kind, group in sorted(kinds.items(), key=lambda item: -len(item[1])):
            t = timed[kind]
            rows.append(
                Row(
                    kind,
                    len(group),
                    t["form before"],
                    t["body before"],
                    t["body ours"],
                    t["answer before"],
                    t["answer ours"],
                )
            )
    finally:
        restore_binding(was_direct)
    total = sum(r.calls for r in rows)

    def mean(field: str) -> float:
        return float(sum(getattr(r, field) * r.calls for r in rows)) / total

    fields = ("body_form", "body_before", "body_ours", "answer_before", "answer_ours")
    rows.append(Row("all", total, *(mean(f) for f in fields)))
    return rows


async def measure(repeats: int) -> list[Row]:
    """The bench's core: record the dialog's calls, then time them (one row per kind, "all")."""
    was_direct = binding.binds_directly()
    try:
        calls = await record_dialog()  # create_app binds directly
        if not calls:
            raise SystemExit("the dialog made no Bot API call")
        return replay(calls, repeats)
    finally:
        restore_binding(was_direct)


def print_table(rows: Sequence[Row], repeats: int) -> None:
    total = rows[-1].calls
    print(
        f"{total} Bot API calls of one appeal + booking; µs of process time per call, "
        f"best of {repeats}"
    )
    print(
        f"{'call':<24}{'n':>4}  {'body: form':>10}{'before':>8}{'ours':>7}{'ratio':>7}"
        f"  {'answer: before':>14}{'ours':>7}{'ratio':>7}"
    )
    for r in rows:
        print(
            f"{r.kind:<24}{r.calls:>4}  {r.body_form:>10.1f}{r.body_before:>8.1f}"
            f"{r.body_ours:>7.1f}{r.body_ours / r.body_before:>7.2f}"
            f"  {r.answer_before:>14.1f}{r.answer_ours:>7.1f}"
            f"{r.answer_ours / r.answer_before:>7.2f}"
        )
    print(
        "body: form = aiogram's stock urlencoded form, before = model_dump + prepare_value + "
        "json.dumps, ours = build_form_data;\nanswer: before = aiogram's check_response with "
        "pydantic's wrappers, ours = with the one-step binding; ratio = ours / before"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=20, help="samples per kind (best kept)")
    args = parser.parse_args()
    rows = asyncio.run(measure(args.repeats))
    print_table(rows, args.repeats)


if __name__ == "__main__":
    main()
