"""The dispatcher skips a router whose gate refuses an event (bot/telegram/routing.py). A gate
must never refuse what one of the router's handlers would take: for every kind of message and
button press the bot meets, at every state of every dialog, in private and group chats, each
handler's filters that a gate reads are run for real (a callback data filter as "the data
unpacks into its class", which takes more than the filter with its rule), and wherever they
all pass along a router's path, that router's gate must admit the event."""

from __future__ import annotations

import asyncio
import datetime
import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from aiogram import Dispatcher, Router
from aiogram.dispatcher.event.handler import FilterObject
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    Chat,
    Contact,
    Document,
    InaccessibleMessage,
    Location,
    Message,
    PhotoSize,
    User,
)

from bot.telegram.dispatcher import UpdateScopedDispatcher
from bot.telegram.filters import CallbackPrefix, Has, IsCommand, PrivateChat, TextIn
from bot.telegram.menu import MenuButton, _menu_index
from bot.telegram.middlewares import OfficialsLocale
from bot.telegram.routing import GATED, Gate, HandlerGates
from handlers import setup_routers
from i18n.core import PoI18n

KNOWN = (StateFilter, CallbackQueryFilter, CallbackPrefix, Command, IsCommand, MenuButton,
         TextIn, Has, PrivateChat)  # fmt: skip

USER = User(id=5, is_bot=False, first_name="A")
WHEN = datetime.datetime(2026, 11, 30, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def i18n() -> Iterator[None]:
    with PoI18n().context():  # the menu's labels in every language
        yield


def sealed() -> UpdateScopedDispatcher:
    dp = UpdateScopedDispatcher()
    setup_routers(dp, officials_locale=OfficialsLocale("ru", frozenset()))
    dp.seal_routers()
    return dp


def walk_filters(router: Router, event: str) -> Iterator[FilterObject]:
    observer = router.observers[event]
    yield from observer._handler.filters or []
    for handler in observer.handlers:
        yield from handler.filters or []
    for sub in router.sub_routers:
        yield from walk_filters(sub, event)


def sample(kind: type[CallbackData]) -> str:
    values: dict[str, Any] = {}
    for name, info in kind.model_fields.items():
        samples: dict[Any, Any] = {int: 1, bool: True}
        values[name] = samples.get(info.annotation, "x")
    return kind(**values).pack()


def every_state(dp: Dispatcher) -> set[str | None]:
    states: set[str | None] = {None, "Elsewhere:step"}
    for event in GATED:
        for f in walk_filters(dp, event):
            if isinstance(f.callback, StateFilter):
                for s in f.callback.states:
                    if inspect.isclass(s) and issubclass(s, StatesGroup):
                        states.update(s.__all_states_names__)
                    elif isinstance(s, str) or s is None:
                        states.add(s)
                    elif isinstance(s, State):
                        states.add(s.state)
    return states


def message(chat: str, **parts: Any) -> Message:
    return Message(
        message_id=1,
        date=WHEN,
        chat=Chat(id=5 if chat == "private" else -100, type=chat),
        from_user=USER,
        **parts,
    )


def messages() -> list[Message]:
    parts: list[dict[str, Any]] = [
        {"text": t}
        for t in (
            "/start",
            "/new",
            "/book",
            "/announce",
            "/receptions",
            "/nope",
            "/",
            "hello",
            "Алматы",
            "",
        )
    ]
    parts += [{"text": label} for label in _menu_index()]
    parts += [
        {"photo": [PhotoSize(file_id="p", file_unique_id="p", width=1, height=1)]},
        {
            "photo": [PhotoSize(file_id="p", file_unique_id="p", width=1, height=1)],
            "caption": "/new",
        },
        {"document": Document(file_id="d", file_unique_id="d")},
        {"contact": Contact(phone_number="+77011234567", first_name="A", user_id=5)},
        {"location": Location(latitude=43.2, longitude=76.9)},
        {"sticker_placeholder": None},
    ]
    return [
        message(chat, **{k: v for k, v in p.items() if k != "sticker_placeholder"})
        for chat in ("private", "group", "supergroup")
        for p in parts
    ]


def queries(dp: Dispatcher) -> list[CallbackQuery]:
    kinds = {
        f.callback.callback_data
        for f in walk_filters(dp, "callback_query")
        if isinstance(f.callback, CallbackQueryFilter)
    }
    data = [sample(kind) for kind in kinds] + ["zzz", "w", "w:", "", "my:1"]
    found = []
    for d in data:
        gone = InaccessibleMessage(chat=Chat(id=5, type="private"), message_id=1)
        for where in (message("private"), message("supergroup"), gone, None):
            found.append(
                CallbackQuery(id="1", from_user=USER, chat_instance="c", data=d, message=where)
            )
    return found


async def passes(f: FilterObject, event: Any, state: str | None) -> bool:
    """A known filter run for real; a callback data filter as "its data unpacks"."""
    if isinstance(f.callback, CallbackQueryFilter):
        try:
            f.callback.callback_data.unpack(event.data or "")
        except (TypeError, ValueError):
            return False
        return True
    return bool(await f.call(event, raw_state=state, bot=None))


async def known_pass(filters: list[FilterObject], event: Any, state: str | None) -> bool:
    for f in filters:
        if isinstance(f.callback, KNOWN) and not await passes(f, event, state):
            return False
    return True


async def could_take(router: Router, kind: str, event: Any, state: str | None) -> bool:
    observer = router.observers[kind]
    if not await known_pass(observer._handler.filters or [], event, state):
        return False
    for handler in observer.handlers:
        if await known_pass(handler.filters or [], event, state):
            return True
    for sub in router.sub_routers:
        if await could_take(sub, kind, event, state):
            return True
    return False


def test_a_gate_never_refuses_what_a_handler_would_take() -> None:
    dp = sealed()
    assert dp._gates is not None
    states = every_state(dp)
    assert len(states) > 40
    refused = admitted = 0

    async def check() -> None:
        nonlocal refused, admitted
        events: dict[str, list[Any]] = {"message": messages(), "callback_query": queries(dp)}
        for kind in GATED:
            walk: list[tuple[Router, Gate]] = dp._gates[kind]  # type: ignore[index]
            assert [router for router, _ in walk] == dp.sub_routers
            for event in events[kind]:
                for state in states:
                    for router, gate in walk:
                        if gate.admits(event, state):
                            admitted += 1
                        else:
                            refused += 1
                            assert not await could_take(router, kind, event, state), (
                                router.name,
                                kind,
                                event,
                                state,
                            )

    asyncio.run(check())
    assert refused > 5 * admitted  # most routers are skipped for most events


@pytest.mark.parametrize(
    ("event", "state", "reached"),
    [
        # A typed answer at an appeal step: the dialog switch first (it looks at /book and
        # the menu), then the appeal's steps; the officials' cards and the last resort stay
        # in the walk, after them. The reply-to-a-prompt router, before the dialogs, is
        # skipped: the message replies to nothing.
        (message("private", text="Алматы"), "AppealForm:region", ["switch", "appeal"]),
        (
            CallbackQuery(
                id="1",
                from_user=USER,
                chat_instance="c",
                data="w:pick:3",
                message=message("private"),
            ),
            "AppealForm:kind",
            ["appeal"],
        ),
        (
            CallbackQuery(
                id="1",
                from_user=USER,
                chat_instance="c",
                data="bk:day:20261201",
                message=message("private"),
            ),
            "BookingForm:day",
            ["booking"],
        ),
        (
            message("private", text="/new"),
            None,
            [
                "common",
                "official_commands",
                "announce",
                "official_receptions",
                "forget",
                "my_appeals",
                "subscriptions",
                "switch",
                "appeal",
                "booking",
            ],
        ),
    ],
)
def test_the_hot_paths_skip_the_other_routers(event: Any, state: str, reached: list[str]) -> None:
    dp = sealed()
    kind = "message" if isinstance(event, Message) else "callback_query"
    walk: list[tuple[Router, Gate]] = dp._gates[kind]  # type: ignore[index]
    admitted = [router.name for router, gate in walk if gate.admits(event, state)]
    last_resort = [name for name in admitted if name not in reached]
    assert admitted[: len(reached)] == reached
    assert set(last_resort) <= {"officials", "feedback", "fallback"}


def observers(router: Router, kind: str) -> Iterator[Any]:
    yield router.observers[kind]
    for sub in router.sub_routers:
        yield from observers(sub, kind)


def test_a_handler_gate_never_skips_a_handler_that_would_take_the_event() -> None:
    # Within a router, `HandlerGates` skips a handler whose need refuses the event before its
    # filters run: wherever a handler's known filters all pass, its need must admit.
    dp = sealed()
    states = every_state(dp)
    skipped = checked = 0

    async def check() -> None:
        nonlocal skipped, checked
        events: dict[str, list[Any]] = {"message": messages(), "callback_query": queries(dp)}
        for kind in GATED:
            for observer in observers(dp, kind):
                gated = observer.trigger
                if not isinstance(gated, HandlerGates):
                    assert len(observer.handlers) <= 1
                    continue
                assert [h for h, _ in gated.handlers] == observer.handlers
                for handler, need in gated.handlers:
                    for event in events[kind]:
                        for state in states:
                            if need is None or need.admits(event, state):
                                checked += 1
                                continue
                            skipped += 1
                            assert not await known_pass(handler.filters or [], event, state), (
                                handler.callback,
                                event,
                                state,
                            )

    asyncio.run(check())
    assert skipped > 5 * checked  # most handlers' filters are never run for most events
