"""Rules of polls (issue #13), Telegram-free.

A poll is an announcement of kind «poll»: a short question and 2 to 10 options, each in Kazakh
and in Russian (the same options in the same order, so a vote counts the same whichever
language the citizen read it in), sent to the subscribers of some districts as a native
Telegram poll that is not anonymous to the bot, and closed at its end time. Telegram's own
limits bound the lengths: a poll's question is at most 300 characters, an option at most 100.

A citizen has one vote per poll: a new answer replaces the old one, a retracted answer (no
option chosen) removes it, and an answer after the end time is not counted. Votes count by
option and by district: the district is the one the poll reached the citizen for (the lowest
code among their subscribed districts the poll went to, fixed when it was sent).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.validation import one_line, utf16_len

QUESTION_MIN = 5
QUESTION_MAX = 300  # Bot API sendPoll: question, 1-300 characters
OPTIONS_MIN = 2
OPTIONS_MAX = 10
OPTION_MAX = 100  # Bot API InputPollOption: text, 1-100 characters


class PollProblem(StrEnum):
    EMPTY = "empty"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    TOO_FEW = "too_few"
    TOO_MANY = "too_many"
    OPTION_TOO_LONG = "option_too_long"
    DUPLICATE = "duplicate"
    COUNT_MISMATCH = "count_mismatch"  # not as many options as in the other language


@dataclass(frozen=True, slots=True)
class PollQuestion:
    text: str
    problem: PollProblem | None


def check_question(raw: str | None) -> PollQuestion:
    """One line (spaces and line breaks collapse), `QUESTION_MIN` to `QUESTION_MAX`
    characters (UTF-16 units, as Telegram counts)."""
    text = one_line(raw)
    if not text:
        return PollQuestion(text, PollProblem.EMPTY)
    if len(text) < QUESTION_MIN:
        return PollQuestion(text, PollProblem.TOO_SHORT)
    if utf16_len(text) > QUESTION_MAX:
        return PollQuestion(text, PollProblem.TOO_LONG)
    return PollQuestion(text, None)


@dataclass(frozen=True, slots=True)
class PollOptions:
    options: tuple[str, ...]
    problem: PollProblem | None


def check_options(raw: str | None, expected: int | None = None) -> PollOptions:
    """One option a line, a leading bullet or number dropped, empty lines skipped;
    `OPTIONS_MIN` to `OPTIONS_MAX` of them, each at most `OPTION_MAX` characters, no two the
    same (Telegram refuses that); `expected`: the count the other language has."""
    options: list[str] = []
    for line in (raw or "").splitlines():
        option = one_line(re.sub(r"^\s*(?:[-•*–—]|\d+[.)])\s+", "", line))
        if option:
            options.append(option)
    found = tuple(options)
    if not found:
        return PollOptions(found, PollProblem.EMPTY)
    if len(found) < OPTIONS_MIN:
        return PollOptions(found, PollProblem.TOO_FEW)
    if len(found) > OPTIONS_MAX:
        return PollOptions(found, PollProblem.TOO_MANY)
    if any(utf16_len(o) > OPTION_MAX for o in found):
        return PollOptions(found, PollProblem.OPTION_TOO_LONG)
    if len({o.casefold() for o in found}) < len(found):
        return PollOptions(found, PollProblem.DUPLICATE)
    if expected is not None and len(found) != expected:
        return PollOptions(found, PollProblem.COUNT_MISMATCH)
    return PollOptions(found, None)


class VoteAction(StrEnum):
    CAST = "cast"  # record (or replace) the citizen's vote for `option`
    RETRACT = "retract"  # the citizen took their vote back
    LATE = "late"  # after the end time, or the poll was closed: not counted
    INVALID = "invalid"  # an option the poll does not have (or several): not counted


@dataclass(frozen=True, slots=True)
class VoteDecision:
    action: VoteAction
    option: int | None = None


def judge_vote(
    option_ids: Sequence[int],
    options: int,
    now: datetime,
    closes_at: datetime,
    closed: bool,
) -> VoteDecision:
    """What a poll_answer means for the count. The polls are single-choice: exactly one
    option is a vote, none is a retraction."""
    if closed or now >= closes_at:
        return VoteDecision(VoteAction.LATE)
    if not option_ids:
        return VoteDecision(VoteAction.RETRACT)
    if len(option_ids) != 1 or not 0 <= option_ids[0] < options:
        return VoteDecision(VoteAction.INVALID)
    return VoteDecision(VoteAction.CAST, option_ids[0])


@dataclass(frozen=True, slots=True)
class Tally:
    """A poll's votes: per option, and per district and option."""

    options: int
    by_option: tuple[int, ...]
    by_district: tuple[tuple[str, tuple[int, ...]], ...]  # districts in the given order

    @property
    def total(self) -> int:
        return sum(self.by_option)

    def share(self, option: int) -> int:
        """The option's share of the votes, in whole percent (0 with no votes)."""
        return round(100 * self.by_option[option] / self.total) if self.total else 0


def tally(
    votes: Iterable[tuple[str, int, int]], options: int, districts: Sequence[str] = ()
) -> Tally:
    """`votes`: (district, option, count) rows. Every district of `districts` is listed, with
    noughts where nobody voted; a district not among them (it cannot happen unless the data
    were edited by hand) comes after them."""
    by_option = [0] * options
    per: dict[str, list[int]] = {d: [0] * options for d in districts}
    for district, option, count in votes:
        if not 0 <= option < options:
            continue
        by_option[option] += count
        per.setdefault(district, [0] * options)[option] += count
    return Tally(options, tuple(by_option), tuple((d, tuple(counts)) for d, counts in per.items()))
