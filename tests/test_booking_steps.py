"""The booking dialog's step order and the step of each of its buttons, without Telegram."""

from __future__ import annotations

import pytest

from bot.domain.booking_steps import (
    BUTTON_STEPS,
    STEPS,
    first_step,
    next_step,
    previous_step,
    resume_step,
)


def test_steps_follow_one_another_to_the_review() -> None:
    walked = [first_step(receptions=2)]
    while walked[-1] != "review":
        walked.append(next_step(walked[-1]))
    assert tuple(walked) == STEPS


def test_one_reception_is_chosen_for_the_citizen() -> None:
    assert first_step(receptions=1) == "day"
    # Back from the days leaves the dialog: the reception step was never shown.
    assert previous_step("day", receptions=1) is None
    assert previous_step("day", receptions=3) == "reception"
    assert previous_step("reception", receptions=3) is None


@pytest.mark.parametrize(
    ("step", "previous"),
    [("slot", "day"), ("question", "slot"), ("access", "question"), ("contact", "access"),
     ("review", "contact"), ("access_other", "question")],
)  # fmt: skip
def test_back_goes_one_step_back(step: str, previous: str) -> None:
    assert previous_step(step, receptions=2) == previous


def test_something_else_is_part_of_the_access_step() -> None:
    # /book in the middle shows the access screen again, as does the typed need.
    assert resume_step("access_other") == "access"
    assert resume_step("slot") == "slot"


def test_every_button_belongs_to_a_step_of_the_dialog() -> None:
    assert set(BUTTON_STEPS.values()) <= set(STEPS)
    assert {BUTTON_STEPS[a] for a in ("day", "wait", "held")} == {"day"}
    assert {BUTTON_STEPS[a] for a in ("acc", "acc_other", "acc_done")} == {"access"}
    # The review's Confirm and a booking's own buttons carry what they act on: no step.
    assert not {"confirm", "take", "drop", "move", "back", "cancel"} & set(BUTTON_STEPS)
