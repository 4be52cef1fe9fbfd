"""aiogram's objects bind themselves to the bot in one step instead of a dozen (issue #14).

Every aiogram type and method keeps the bot it came with in a private attribute, `_bot`,
set by `BotContextController.model_post_init`. pydantic wraps that method once more in every
subclass that has private attributes, so an object of a class three levels down runs three
wrappers, each calling pydantic's `init_private_attributes`, and then sets the attribute through
`BaseModel.__setattr__`: about half the time of parsing an answer (a getUpdates with a dozen
updates builds some 80 objects) and of building a method or a keyboard, measured with
cProfile and py-spy under bench/dialogs.py.

`bind_directly()` gives each class whose chain ends in aiogram's own `model_post_init`, and
whose only private attribute is `_bot` without a default, a `model_post_init` that leaves
the object exactly as that chain does: `__pydantic_private__ == {"_bot": context's bot or
None}`. A class anyone defines later, or one with a `model_post_init` or private attributes
of its own, keeps pydantic's wrappers (around this one for a subclass: still correct).
tests/test_session_codec.py compares the objects built both ways.
"""

from __future__ import annotations

import inspect
from typing import Any

from aiogram.client.context_controller import BotContextController
from pydantic_core import PydanticUndefined

_AIOGRAMS = inspect.unwrap(BotContextController.model_post_init)
# Each class given `_bind`, with the model_post_init it had.
_replaced: dict[type[BotContextController], Any] = {}


def _bind(self: BotContextController, context: Any, /) -> None:
    bot = context.get("bot") if context else None
    private = getattr(self, "__pydantic_private__", None)
    if private is None:
        object.__setattr__(self, "__pydantic_private__", {"_bot": bot})
    else:
        private["_bot"] = bot


def _binds_as_aiogram(kind: type[BotContextController]) -> bool:
    """Whether aiogram's model_post_init behind pydantic's wrappers is all `kind` runs."""
    private = kind.__private_attributes__
    if private.keys() != {"_bot"}:
        return False
    attribute = private["_bot"]
    if attribute.default is not PydanticUndefined or attribute.default_factory is not None:
        return False
    return inspect.unwrap(kind.model_post_init) is _AIOGRAMS


def _classes() -> list[type[BotContextController]]:
    found: list[type[BotContextController]] = []
    stack: list[type[BotContextController]] = [BotContextController]
    while stack:
        kind = stack.pop()
        if kind not in found:
            found.append(kind)
            stack.extend(kind.__subclasses__())
    return found


def bind_directly() -> int:
    """Give every aiogram class defined so far the one-step binding; how many now have it."""
    for kind in _classes():
        if kind not in _replaced and _binds_as_aiogram(kind):
            _replaced[kind] = kind.__dict__.get("model_post_init")
            kind.model_post_init = _bind  # type: ignore[method-assign,assignment]
    return len(_replaced)


def binds_directly() -> bool:
    """Whether `bind_directly` is in force (bench.calls puts back what it found)."""
    return bool(_replaced)


def bind_as_aiogram() -> None:
    """pydantic's wrappers back (for tests comparing the two)."""
    for kind, original in _replaced.items():
        if original is None:
            del kind.model_post_init
        else:
            kind.model_post_init = original  # type: ignore[method-assign]
    _replaced.clear()
