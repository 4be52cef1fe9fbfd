"""Every filter and handler the routers hold must be a coroutine.

aiogram runs a synchronous callable (a bare `State`, a magic `F` filter, a plain function)
through `asyncio.to_thread`, one worker-thread hop per check, and a state-filtered handler is
checked on every message of every dialog. bench/dialogs.py found a dozen such hops per update.
"""

from __future__ import annotations

from aiogram import Dispatcher, Router
from aiogram.dispatcher.event.handler import CallableObject

from bot.telegram.middlewares import OfficialsLocale
from handlers import setup_routers


def callables(router: Router) -> list[tuple[str, CallableObject]]:
    found: list[tuple[str, CallableObject]] = []
    for name, observer in router.observers.items():
        for f in observer._handler.filters or []:
            found.append((f"{router.name}.{name} router filter {f.callback!r}", f))
        for handler in observer.handlers:
            label = f"{router.name}.{name} {getattr(handler.callback, '__name__', handler)}"
            found.append((label, handler))
            for f in handler.filters or []:
                found.append((f"{label} filter {f.callback!r}", f))
    for sub in router.sub_routers:
        found.extend(callables(sub))
    return found


def test_no_filter_or_handler_runs_in_a_worker_thread() -> None:
    dp = Dispatcher()
    setup_routers(dp, officials_locale=OfficialsLocale("ru", frozenset()))
    found = callables(dp)
    assert len(found) > 100  # the walk reached the handlers' own filters
    synchronous = [label for label, obj in found if not obj.awaitable]
    assert synchronous == []


def test_the_check_sees_a_synchronous_filter() -> None:
    from handlers.appeal import AppealForm

    router = Router(name="probe")

    async def handler() -> None: ...

    router.message.register(handler, AppealForm.text)
    synchronous = [label for label, obj in callables(router) if not obj.awaitable]
    assert len(synchronous) == 1 and "text" in synchronous[0]
