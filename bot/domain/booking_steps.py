"""The booking dialog's step order, and the step at which each of its buttons is valid, kept
apart from Telegram so they can be tested alone (as bot.domain.wizard for the appeal)."""

from __future__ import annotations

STEPS = ("reception", "day", "slot", "question", "access", "contact", "review")

# «✍️ Something else» at the access step waits for one typed message; the dialog is still at
# the access step, whose screen comes back after it.
TYPING = {"access_other": "access"}

# The step at which each of the dialog's buttons is valid; pressed at any other (an earlier
# prompt, a finished dialog) it is stale. Back and Cancel carry their step in the button.
BUTTON_STEPS = {
    "rec": "reception",
    "day": "day",
    "wait": "day",  # a full day: join its waiting list
    "held": "day",  # a day the citizen holds a place on already
    "slot": "slot",
    "about": "question",  # «It is about my appeal…»
    "appeal": "question",
    "acc": "access",
    "acc_other": "access",
    "acc_done": "access",
}


def first_step(receptions: int) -> str:
    """One reception only: its step is never shown, the dialog opens at its days."""
    return "day" if receptions == 1 else "reception"


def next_step(step: str) -> str:
    return STEPS[STEPS.index(step) + 1]


def previous_step(step: str, receptions: int) -> str | None:
    """None when the citizen steps back out of the dialog."""
    index = STEPS.index(TYPING.get(step, step)) - 1
    if index < 0 or (STEPS[index] == "reception" and receptions == 1):
        return None
    return STEPS[index]


def resume_step(step: str) -> str:
    """The step whose screen /book shows again to a citizen in the middle of a booking."""
    return TYPING.get(step, step)
