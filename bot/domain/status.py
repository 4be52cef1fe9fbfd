"""Appeal status rules (docs/architecture.md → Statuses): the one table every service, view
and handler asks. Overdue is derived, never stored."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from storage.models import Appeal, Status

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.REGISTERED: frozenset(
        {Status.IN_PROGRESS, Status.ANSWERED, Status.FORWARDED, Status.WITHDRAWN, Status.DUPLICATE}
    ),
    Status.IN_PROGRESS: frozenset(
        {Status.ANSWERED, Status.FORWARDED, Status.WITHDRAWN, Status.DUPLICATE}
    ),
    # A forwarded appeal is worked on where it went (taken, answered); it is neither
    # forwarded on from there nor marked a duplicate: a repeat is caught by the chat it
    # reached first, before it is forwarded.
    Status.FORWARDED: frozenset({Status.IN_PROGRESS, Status.ANSWERED, Status.WITHDRAWN}),
    # A citizen who says "not solved" re-opens the appeal.
    Status.ANSWERED: frozenset({Status.CLOSED, Status.IN_PROGRESS}),
    Status.CLOSED: frozenset(),
    Status.WITHDRAWN: frozenset(),
    Status.DUPLICATE: frozenset(),
}

OPEN_STATUSES = frozenset({Status.REGISTERED, Status.IN_PROGRESS, Status.FORWARDED})


class Action(StrEnum):
    """What an official can do to an appeal (the buttons of its card). The values are the
    card's callback actions."""

    TAKE = "take"
    ANSWER = "answer"
    FORWARD = "forward"
    DUPLICATE = "dup"
    EXTEND = "extend"
    ASK = "ask"


# Where each action moves the appeal; extending the deadline and asking the citizen a
# question move it nowhere.
TARGETS: dict[Action, Status | None] = {
    Action.TAKE: Status.IN_PROGRESS,
    Action.ANSWER: Status.ANSWERED,
    Action.FORWARD: Status.FORWARDED,
    Action.DUPLICATE: Status.DUPLICATE,
    Action.EXTEND: None,
    Action.ASK: None,
}


def can_transition(old: Status, new: Status) -> bool:
    return new in TRANSITIONS[old]


def is_open(status: Status) -> bool:
    """Open appeals can become overdue; answered or finished ones cannot."""
    return status in OPEN_STATUSES


def sources_of(new: Status) -> frozenset[Status]:
    """The statuses an appeal may be in to move to `new`: a service's conditional update
    takes them from the table instead of repeating it."""
    return frozenset(old for old, targets in TRANSITIONS.items() if new in targets)


def allows(status: Status, action: Action) -> bool:
    """May an official do `action` to an appeal in `status`? Officials act on open appeals
    only (once answered, the next move is the citizen's: solved or not), and an action that
    moves the status needs the table's edge."""
    if not is_open(status):
        return False
    target = TARGETS[action]
    return target is None or can_transition(status, target)


def actions_for(status: Status) -> frozenset[Action]:
    """Everything an official may do to an appeal in `status`: what its card offers."""
    return frozenset(action for action in Action if allows(status, action))


def sources_for(action: Action) -> frozenset[Status]:
    """The statuses in which an official may do `action`: the `allowed_from` of its
    conditional update, so two officials pressing at once still get one change."""
    return frozenset(status for status in Status if allows(status, action))


def verdict_sources(solved: bool) -> frozenset[Status]:
    """Where the citizen's word on an answer moves the appeal from: the statuses the table
    lets close (the answered one); «not solved» only those that may also go back to work."""
    closing = sources_of(Status.CLOSED)
    return closing if solved else closing & sources_of(Status.IN_PROGRESS)


# Where an original's citizen would wait for nothing: a withdrawn appeal is answered nowhere,
# and a duplicate is answered under the appeal it repeats (which this one should name).
NOT_ORIGINALS = frozenset({Status.WITHDRAWN, Status.DUPLICATE})


def may_repeat(duplicate: Appeal, original: Appeal, *, held_here: bool) -> bool:
    """May `duplicate` be marked as repeating `original` («🔁 Duplicate of…»)? Its citizen is
    told «it will be answered there, /my shows its status», so the original must be the same
    citizen's appeal (/my lists only theirs; an appeal whose citizen used /forget is nobody's),
    one that will be or was answered (not withdrawn, not a duplicate itself), and never the
    appeal itself. `held_here`: whether the chat marking it may act on the original
    (`OfficialsService.may_act`): a department never marks against, nor learns of, an appeal
    another department's chat holds. Anything else is refused as a number that does not
    exist, so the refusal tells nothing of other citizens' or chats' appeals."""
    return (
        held_here
        and original.id != duplicate.id
        and duplicate.citizen_id is not None
        and original.citizen_id == duplicate.citizen_id
        and original.status not in NOT_ORIGINALS
    )


# What an original may be in when its repeat is marked (`may_repeat`, `original_expects`).
ORIGINAL_STATUSES = frozenset(Status) - NOT_ORIGINALS


def original_expects(original: Appeal) -> dict[str, object]:
    """What `may_repeat` decided on that must still hold of the original when its repeat is
    marked, checked in the transaction that marks it (with its status among
    ORIGINAL_STATUSES): still its citizen's (a /forget meanwhile makes it nobody's) and not
    forwarded since (the chat that named it held it then). Between the check and the write
    an original withdrawn, marked a duplicate, erased or forwarded away would otherwise be
    named to the citizen as the appeal that will be answered."""
    return {"citizen_id": original.citizen_id, "forwarded_at": original.forwarded_at}


def may_rate(answered: bool, said: bool, rated: bool) -> bool:
    """The citizen rates an answer they were given, once: not an appeal no official has
    answered (a rating button is only ever shown under an answer; one pressed elsewhere is
    forged), nor the same answer a second time. `rated` and `said` (whether they said if it
    solved their problem) are about the appeal's latest answer: a new answer clears the word
    on the one before (`answer_clears`). The stars are shown only once that word is said; so
    an earlier answer's stars, still in the chat and pressed after a new answer came, would
    rate one the citizen was not yet asked about, and take its own stars' place: refused
    until the word on the new answer is said."""
    return answered and said and not rated


def answer_mark(answered_at: datetime) -> int:
    """Which answer a rating button rates, compactly (its callback data has 64 bytes): the
    instant it was given, in whole seconds. An official's next answer comes through a prompt
    and its preview, never within the same second."""
    return int(answered_at.timestamp())


def rates_latest(mark: int | None, answered_at: datetime | None) -> bool:
    """A rating button is for the appeal's latest answer: stars that name another one (an
    earlier answer's, still in the chat) do not rate the latest. `mark` None: stars sent
    before they named their answer, held to `may_rate` alone, as then."""
    return mark is None or (answered_at is not None and answer_mark(answered_at) == mark)


def answer_clears() -> dict[str, None]:
    """What an official's answer resets on the appeal: the citizen's word (solved or not, the
    rating) is on an answer. After «not solved» reopens an appeal, the officials' next answer
    is asked about and rated afresh; the word on the earlier one stays in the appeal's history
    (its "not solved" and `rating_note` lines). The appeal's own columns, which /stats, the
    digest and /export count, hold the word on its latest answer: one rating per appeal."""
    return {"solved": None, "rating": None}


RATING_NOTE = "rating "


def rating_note(rating: int) -> str:
    """The history line of a rating ("rating 4"): the appeal's column keeps only the latest."""
    return f"{RATING_NOTE}{rating}"


def rating_expects(answered_at: datetime) -> dict[str, datetime | None]:
    """The condition of the rating's conditional update: no rating stored yet (`may_rate`'s
    "not a second time", checked in the write itself), so of two presses at once, or on two
    instances, one rating is kept and the officials hear of it once; and on the answer that
    was read (`answered_at`), so a new answer committed between the read and the write is not
    rated with the stars meant for the one before."""
    return {"rating": None, "answered_at": answered_at}


def comment_expects(answered_at: datetime | None) -> dict[str, object]:
    """The condition of the write of the citizen's «not solved» comment: the appeal is still
    «not solved» on the answer that was read. A new answer clears that word, and a comment
    written after it came is not about it (nor is one meant for an earlier reopening)."""
    return {"solved": "no", "answered_at": answered_at}
