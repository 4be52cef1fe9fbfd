"""The rules of polls (bot/domain/polls.py): the question, the options in both languages,
what a vote means, and the tally by option and by district."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.polls import (
    OPTION_MAX,
    OPTIONS_MAX,
    QUESTION_MAX,
    PollProblem,
    VoteAction,
    check_options,
    check_question,
    judge_vote,
    tally,
)

NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)


def test_a_question_is_one_line_within_telegrams_limit() -> None:
    checked = check_question("  Нужен ли\nновый   парк?  ")
    assert checked == check_question("Нужен ли новый парк?")
    assert checked.text == "Нужен ли новый парк?" and checked.problem is None
    assert check_question("").problem == PollProblem.EMPTY
    assert check_question(None).problem == PollProblem.EMPTY
    assert check_question("Да?").problem == PollProblem.TOO_SHORT
    assert check_question("я" * QUESTION_MAX).problem is None
    assert check_question("я" * (QUESTION_MAX + 1)).problem == PollProblem.TOO_LONG
    # Telegram counts UTF-16 units: an emoji is two.
    assert check_question("😀" * (QUESTION_MAX // 2 + 1)).problem == PollProblem.TOO_LONG


def test_options_one_a_line_bullets_and_numbers_dropped() -> None:
    checked = check_options("1. Да\n\n2) Нет\n- Не знаю\n• 1.5 часа")
    assert checked.options == ("Да", "Нет", "Не знаю", "1.5 часа")
    assert checked.problem is None


@pytest.mark.parametrize(
    ("raw", "expected", "problem"),
    [
        ("", None, PollProblem.EMPTY),
        ("Да", None, PollProblem.TOO_FEW),
        ("\n".join(f"Вариант {n}" for n in range(OPTIONS_MAX + 1)), None, PollProblem.TOO_MANY),
        ("Да\n" + "я" * (OPTION_MAX + 1), None, PollProblem.OPTION_TOO_LONG),
        ("Да\nда", None, PollProblem.DUPLICATE),
        ("Иә\nЖоқ", 3, PollProblem.COUNT_MISMATCH),
        ("Иә\nЖоқ\nБілмеймін", 3, None),
        ("\n".join(f"Вариант {n}" for n in range(OPTIONS_MAX)), None, None),
    ],
)
def test_what_options_are_refused(raw: str, expected: int | None, problem: PollProblem) -> None:
    assert check_options(raw, expected).problem == problem


def test_a_vote_a_change_a_retraction_and_a_late_vote() -> None:
    closes = NOW + timedelta(hours=1)
    vote = judge_vote([1], 3, NOW, closes, closed=False)
    assert vote.action == VoteAction.CAST and vote.option == 1
    assert judge_vote([], 3, NOW, closes, closed=False).action == VoteAction.RETRACT
    assert judge_vote([0], 3, closes, closes, closed=False).action == VoteAction.LATE
    assert judge_vote([0], 3, NOW, closes, closed=True).action == VoteAction.LATE
    assert judge_vote([], 3, closes, closes, closed=False).action == VoteAction.LATE
    assert judge_vote([3], 3, NOW, closes, closed=False).action == VoteAction.INVALID
    assert judge_vote([0, 1], 3, NOW, closes, closed=False).action == VoteAction.INVALID


def test_the_tally_by_option_and_by_district() -> None:
    counted = tally(
        [("101000000", 0, 1), ("101000000", 1, 1), ("101800000", 0, 1), ("x", 7, 5)],
        3,
        ("101000000", "101800000", "102000000"),
    )
    assert counted.by_option == (2, 1, 0)
    assert counted.total == 3
    assert [counted.share(n) for n in range(3)] == [67, 33, 0]
    assert counted.by_district == (
        ("101000000", (1, 1, 0)),
        ("101800000", (1, 0, 0)),
        ("102000000", (0, 0, 0)),
    )
    assert tally([], 2).share(0) == 0
