"""Which asyncio event loop runs the bot: uvloop where it is installed, plain asyncio else.

uvloop is a drop-in loop written on libuv; bench/dialogs.py decides whether it pays (see the
README's Performance section). EVENT_LOOP=asyncio keeps the standard loop, e.g. to rule the
loop out when chasing a bug.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Coroutine
from typing import Any, Literal

LoopChoice = Literal["auto", "uvloop", "asyncio"]


def resolve(choice: LoopChoice) -> Literal["uvloop", "asyncio"]:
    if choice == "asyncio":
        return "asyncio"
    if importlib.util.find_spec("uvloop") is not None:
        return "uvloop"
    if choice == "uvloop":
        raise RuntimeError("EVENT_LOOP=uvloop, but uvloop is not installed")
    return "asyncio"


def run(main: Coroutine[Any, Any, None], choice: LoopChoice = "auto") -> None:
    if resolve(choice) == "uvloop":
        import uvloop

        uvloop.run(main)
    else:
        asyncio.run(main)
