"""The routers register one handler per (step, action): every button the views draw, and
every button of the booking step table, finds its handler at its step."""

from __future__ import annotations

from collections.abc import Mapping

from aiogram import Router
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter

from bot.domain.booking_steps import BUTTON_STEPS
from bot.telegram.callbacks import BookingCb, CardCb, PromptCb
from handlers import booking, officials

# What bot/views/card.py and bot/views/prompts.py put on an officials' card and its preview.
CARD_ACTIONS = {
    "take", "answer", "outcome", "tpl", "extend", "dup", "ask", "forward", "fwd", "drop",
    "contact", "full",
}  # fmt: skip
PREVIEW_ACTIONS = {"send", "edit", "cancel"}


def actions_handled(
    router: Router, data: type[CallbackData], probe: Mapping[str, CallbackData]
) -> dict[str, list[str]]:
    """For each probed action, the handlers whose filter on `data` with a rule accepts it."""
    found: dict[str, list[str]] = {action: [] for action in probe}
    for handler in router.callback_query.handlers:
        for f in handler.filters or []:
            rule = getattr(f.callback, "rule", None)
            if isinstance(f.callback, CallbackQueryFilter) and f.callback.callback_data is data:
                for action, sample in probe.items():
                    if rule is not None and rule.resolve(sample):
                        found[action].append(handler.callback.__name__)
    return found


def test_every_card_and_preview_button_has_one_handler() -> None:
    router = officials.create_router()
    card = {a: CardCb(action=a, appeal=1) for a in CARD_ACTIONS}
    assert all(len(h) == 1 for h in actions_handled(router, CardCb, card).values())
    preview = {a: PromptCb(action=a, prompt=1) for a in PREVIEW_ACTIONS}
    assert all(len(h) == 1 for h in actions_handled(router, PromptCb, preview).values())


def test_every_booking_button_has_one_handler_at_its_step() -> None:
    router = booking.create_router()
    [buttons] = [r for r in router.sub_routers if r.name == "booking-buttons"]
    probe = {a: BookingCb(action=a) for a in BUTTON_STEPS}
    handled = actions_handled(buttons, BookingCb, probe)
    assert all(len(h) == 1 for h in handled.values()), handled
    # Each registered for the step the table gives it.
    for handler in buttons.callback_query.handlers:
        states = [f.callback.states for f in handler.filters or [] if hasattr(f.callback, "states")]
        data = [
            f.callback for f in handler.filters or [] if isinstance(f.callback, CallbackQueryFilter)
        ]
        for action, step in BUTTON_STEPS.items():
            if data[0].rule is not None and data[0].rule.resolve(probe[action]):
                assert states == [(booking.STATE_OF[step],)], action
