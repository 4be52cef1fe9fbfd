from __future__ import annotations

import asyncio
import importlib.util

import pytest

from bot.telegram import eventloop


def test_asyncio_is_kept_when_asked_for() -> None:
    assert eventloop.resolve("asyncio") == "asyncio"


def test_auto_takes_uvloop_where_it_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    installed = importlib.util.find_spec("uvloop") is not None
    assert eventloop.resolve("auto") == ("uvloop" if installed else "asyncio")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert eventloop.resolve("auto") == "asyncio"
    with pytest.raises(RuntimeError, match="uvloop is not installed"):
        eventloop.resolve("uvloop")


def test_run_drives_a_coroutine_on_the_chosen_loop() -> None:
    seen: list[str] = []

    async def main() -> None:
        seen.append(type(asyncio.get_running_loop()).__module__.split(".")[0])

    eventloop.run(main(), "asyncio")
    eventloop.run(main(), "auto")
    assert seen[0] == "asyncio"
    assert seen[1] == eventloop.resolve("auto")
