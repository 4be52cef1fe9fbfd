"""Gates: which top-level routers an update could reach, found in one cheap check each.

aiogram hands every message and button press to each router in turn: a router that turns out
to have nothing for it still costs a copy of the ~35 entries of the handler data (twice), a
middleware chain built with `functools.partial`, its root filters and every handler's filters
(each `Command` parses the text, each `CallbackData` filter unpacks the data into a model).
With 18 routers that walk was the largest part of the bot's own CPU (README, "Performance").

A `Gate` is a condition an event must meet for some handler of a router, or of its
sub-routers, to accept it, read off the filters the handlers were registered with: a callback
data filter needs its prefix, a state filter its states, a command filter a command, a menu
button filter that button's text, `Has` one of its parts, `PrivateChat` a private chat. A
filter it does not know (any other filter: `~F…`, a database check) restricts nothing, so the
gate only ever lets through more than the handlers take, never less, and a router whose
middlewares must see every event (an outer middleware) is never gated. The dispatcher
(`bot.telegram.dispatcher`) skips a router whose gate refuses the event and hands the others
the event exactly as aiogram would, in the same order, so which handler runs is unchanged;
tests/test_routing.py checks that for every kind of update the dialogs and the officials send.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.bases import UNHANDLED, SkipHandler
from aiogram.dispatcher.event.handler import FilterObject, HandlerObject
from aiogram.dispatcher.event.telegram import TelegramEventObserver
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.telegram.filters import CallbackPrefix, Has, IsCommand, PrivateChat, TextIn
from bot.telegram.menu import MenuButton, menu_key

# The events whose routers are gated; any other kind goes through aiogram's own walk.
GATED = ("message", "callback_query")


@dataclass
class Need:
    """What one handler (or a router's root filters) needs, as far as its filters tell. Each
    field set is one condition; all of them must hold. None: that filter kind says nothing."""

    states: frozenset[str | None] | None = None
    prefixes: tuple[str, ...] | None = None  # callback data starts with one of these
    exact: frozenset[str] = frozenset()  # or is one of these (a CallbackData without fields)
    command: str | None = None  # the text or caption starts with one of these characters
    menu: frozenset[str] | None = None
    texts: frozenset[str] | None = None
    parts: tuple[str, ...] | None = None
    private: bool = False

    def admits(self, event: TelegramObject, raw_state: str | None) -> bool:
        if self.states is not None and raw_state not in self.states:
            return False
        if self.private and not _private(event):
            return False
        if self.prefixes is not None:
            data = event.data if isinstance(event, CallbackQuery) else None
            if data is None or not (data.startswith(self.prefixes) or data in self.exact):
                return False
        if self.command is not None or self.menu is not None or self.texts is not None:
            if not isinstance(event, Message):
                return False
            if self.command is not None:
                text = event.text or event.caption
                if not text or text[0] not in self.command:
                    return False
            if self.menu is not None and menu_key(event.text) not in self.menu:
                return False
            if self.texts is not None and event.text not in self.texts:
                return False
        return self.parts is None or any(
            getattr(event, part, None) is not None for part in self.parts
        )


def _private(event: TelegramObject) -> bool:
    """As `PrivateChat`: a press on a message too old to reach (InaccessibleMessage) counts."""
    message = event.message if isinstance(event, CallbackQuery) else event
    chat = getattr(message, "chat", None)
    return chat is not None and chat.type == "private"


def _state_names(items: Iterable[Any]) -> frozenset[str | None] | None:
    """The raw states a StateFilter accepts; None when it accepts any ("*", an unknown kind)."""
    names: set[str | None] = set()
    for item in items:
        if item is None or isinstance(item, str):
            if item == "*":
                return None
            names.add(item)
        elif isinstance(item, State):
            if item.state == "*":
                return None
            names.add(item.state)
        elif isinstance(item, StatesGroup):
            names.update(type(item).__all_states_names__)
        elif inspect.isclass(item) and issubclass(item, StatesGroup):
            names.update(item.__all_states_names__)
        else:
            return None
    return frozenset(names)


def _prefix_of(kind: type[CallbackData]) -> tuple[str, str]:
    """(data of this kind starts with, data of this kind without fields equals)."""
    return kind.__prefix__ + kind.__separator__, kind.__prefix__


def need_of(filters: Iterable[FilterObject]) -> Need:
    """All the known filters of one handler (or one router's root), as one Need."""
    need = Need()
    for item in filters:
        f = item.callback
        if isinstance(f, StateFilter):
            states = _state_names(f.states)
            if states is not None:
                need.states = states if need.states is None else need.states & states
        elif isinstance(f, (CallbackQueryFilter, CallbackPrefix)):
            if isinstance(f, CallbackQueryFilter):
                prefix, exact = _prefix_of(f.callback_data)
            else:
                prefix, exact = f.prefix, f.prefix[:-1]
            if need.prefixes is None:
                need.prefixes, need.exact = (prefix,), frozenset({exact})
            elif prefix not in need.prefixes:  # two different kinds at once: nothing fits
                need.prefixes, need.exact = (), frozenset()
        elif isinstance(f, Command):
            need.command = (need.command or "") + f.prefix
        elif isinstance(f, IsCommand):
            need.command = (need.command or "") + "/"
        elif isinstance(f, MenuButton):
            need.menu = frozenset({f.key}) if need.menu is None else need.menu & {f.key}
        elif isinstance(f, TextIn):
            need.texts = f.labels if need.texts is None else need.texts & f.labels
        elif isinstance(f, Has):
            need.parts = f.parts if need.parts is None else need.parts
        elif isinstance(f, PrivateChat):
            need.private = True
    return need


@dataclass
class Gate:
    """A router's root need, and then any of its handlers' needs or its sub-routers' gates.
    `always`: some handler needs nothing known, or the router's middlewares see every event."""

    root: Need
    always: bool = False
    handlers: list[Need] = field(default_factory=list)
    subs: list[Gate] = field(default_factory=list)

    def admits(self, event: TelegramObject, raw_state: str | None) -> bool:
        if not self.root.admits(event, raw_state):
            return False
        if self.always:
            return True
        return any(n.admits(event, raw_state) for n in self.handlers) or any(
            g.admits(event, raw_state) for g in self.subs
        )


def gate_of(router: Router, event: str) -> Gate:
    observer = router.observers[event]
    gate = Gate(root=need_of(observer._handler.filters or []))
    if len(observer.outer_middleware):
        gate.always = True
        return gate
    for handler in observer.handlers:
        need = need_of(handler.filters or [])
        if need == Need():
            gate.always = True
            return gate
        gate.handlers.append(need)
    gate.subs = [gate_of(sub, event) for sub in router.sub_routers]
    if any(sub.always and sub.root == Need() for sub in gate.subs):
        gate.always = True
    return gate


def gates(root: Router) -> dict[str, list[tuple[Router, Gate]]]:
    """For each gated event, the root's sub-routers in their order, each with its gate; and
    within every router, each handler's need checked before its filters (`HandlerGates`)."""
    for router in root.chain_tail:
        for event in GATED:
            observer = router.observers[event]
            if len(observer.handlers) > 1:
                observer.trigger = HandlerGates(observer)  # type: ignore[method-assign]
    return {event: [(sub, gate_of(sub, event)) for sub in root.sub_routers] for event in GATED}


class HandlerGates:
    """An observer's `trigger` (aiogram's loop over its handlers, first match wins) that skips
    a handler whose need (`need_of` its filters) refuses the event, before running its
    filters: within a router of a dozen step handlers (the appeal's presses) the state and
    prefix checks are a few comparisons, where each handler's filters are an awaited call each
    (a callback data filter unpacks the data into a model). As with the routers' gates, a need
    only refuses what the handler's own filters would; a handler added after sealing is not
    known here, so the observer then goes back to aiogram's own loop."""

    def __init__(self, observer: TelegramEventObserver) -> None:
        self.observer = observer
        self.handlers: list[tuple[HandlerObject, Need | None]] = []
        for handler in observer.handlers:
            need = need_of(handler.filters or [])
            self.handlers.append((handler, None if need == Need() else need))

    async def __call__(self, event: TelegramObject, **kwargs: Any) -> Any:
        observer = self.observer
        if len(observer.handlers) != len(self.handlers):
            return await TelegramEventObserver.trigger(observer, event, **kwargs)
        raw_state = kwargs.get("raw_state")
        for handler, need in self.handlers:
            if need is not None and not need.admits(event, raw_state):
                continue
            # From here on aiogram's TelegramEventObserver.trigger, as it is.
            kwargs["handler"] = handler
            result, data = await handler.check(event, **kwargs)
            if result:
                kwargs.update(data)
                try:
                    wrapped_inner = observer.outer_middleware.wrap_middlewares(
                        observer._resolve_middlewares(),
                        handler.call,
                    )
                    return await wrapped_inner(event, kwargs)
                except SkipHandler:
                    continue
        return UNHANDLED
