"""Appeal status rules (docs/architecture.md → Statuses). Overdue is derived, never stored."""

from __future__ import annotations

from storage.models import Status

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.REGISTERED: frozenset(
        {Status.IN_PROGRESS, Status.ANSWERED, Status.FORWARDED, Status.WITHDRAWN, Status.DUPLICATE}
    ),
    Status.IN_PROGRESS: frozenset(
        {Status.ANSWERED, Status.FORWARDED, Status.WITHDRAWN, Status.DUPLICATE}
    ),
    Status.FORWARDED: frozenset({Status.IN_PROGRESS, Status.ANSWERED, Status.WITHDRAWN}),
    # A citizen who says "not solved" re-opens the appeal.
    Status.ANSWERED: frozenset({Status.CLOSED, Status.IN_PROGRESS}),
    Status.CLOSED: frozenset(),
    Status.WITHDRAWN: frozenset(),
    Status.DUPLICATE: frozenset(),
}

OPEN_STATUSES = frozenset({Status.REGISTERED, Status.IN_PROGRESS, Status.FORWARDED})


def can_transition(old: Status, new: Status) -> bool:
    return new in TRANSITIONS[old]


def is_open(status: Status) -> bool:
    """Open appeals can become overdue; answered or finished ones cannot."""
    return status in OPEN_STATUSES


def sources_of(new: Status) -> frozenset[Status]:
    """The statuses an appeal may be in to move to `new`: a service's conditional update
    takes them from the table instead of repeating it."""
    return frozenset(old for old, targets in TRANSITIONS.items() if new in targets)
