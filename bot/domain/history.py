"""An appeal's history as officials read it: who did what, with what note.

The history table keeps what each action wrote (`note`: an outcome, "extended to <date>:
<reason>", "to <department>", "duplicate of <number>", "not solved", "solved: <word>"); this
reads those notes back into events, names the official of each (the name kept with the row
since migration 0011) and attaches the citizen's comment to the reopening it belongs to.
Telegram-free; bot/views/history.py renders it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime

from bot.domain.status import RATING_NOTE
from storage.models import Appeal, Status
from storage.reports import HistoryRow

REGISTERED = "registered"
TAKEN = "taken"
ANSWERED = "answered"
EXTENDED = "extended"
FORWARDED = "forwarded"
DUPLICATE = "duplicate"
REOPENED = "reopened"
CLOSED = "closed"
ASKED = "asked"  # an official asked the citizen a question
ADDED = "added"  # the citizen added to the appeal
REPLIED = "replied"  # the citizen answered the officials' question
RATED = "rated"  # the citizen rated an answer (one line per answer: a new answer is rated anew)
STATUS = "status"  # any other change: shown by its status

_EXTENDED = re.compile(r"extended to (\d{4}-\d{2}-\d{2}): ?(.*)", re.DOTALL)
# Lines that keep the status (storage/lifecycle.py): what they are is in the note alone.
_SAME_STATUS = (
    ("question ", ASKED),
    ("answer to question ", REPLIED),
    ("addition ", ADDED),
    (RATING_NOTE, RATED),
)


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str
    status: Status
    # Who acted: the citizen (never named: a department may not see their contact), or an
    # official by name; `official_id` for an official whose name was never kept.
    by_citizen: bool
    official: str | None = None
    official_id: int | None = None
    outcome: str | None = None
    new_due: date | None = None
    reason: str | None = None
    department: str | None = None
    original: str | None = None
    comment: str | None = None
    solved: str | None = None
    rating: int | None = None


def events(rows: list[HistoryRow], appeal: Appeal, comment: str | None = None) -> list[Event]:
    """`comment`: what the citizen said was still unsolved, which the appeal keeps for its
    latest reopening only (a reopening clears it)."""
    found = [_event(row, appeal) for row in rows]
    if comment:
        reopenings = [i for i, event in enumerate(found) if event.kind == REOPENED]
        if reopenings:
            found[reopenings[-1]] = replace(found[reopenings[-1]], comment=comment)
    return found


def _event(row: HistoryRow, appeal: Appeal) -> Event:
    role, _, person = row.actor.partition(":")
    by_citizen = role != "official"
    event = Event(row.at, STATUS, row.new_status, by_citizen)
    if not by_citizen:
        official_id = int(person) if person.isdigit() else None
        event = replace(event, official_id=official_id, official=_name(official_id, row, appeal))
    note = row.note or ""
    extended = _EXTENDED.fullmatch(note)
    if row.new_status == Status.REGISTERED and row.old_status is None:
        return replace(event, kind=REGISTERED)
    if extended:
        return replace(
            event, kind=EXTENDED, new_due=date.fromisoformat(extended[1]), reason=extended[2]
        )
    if row.old_status == row.new_status:
        kind = next((k for prefix, k in _SAME_STATUS if note.startswith(prefix)), STATUS)
        if kind == RATED:
            stars = note.removeprefix(RATING_NOTE)
            return replace(event, kind=kind, rating=int(stars) if stars.isdigit() else None)
        return replace(event, kind=kind)
    if row.new_status == Status.ANSWERED:
        return replace(event, kind=ANSWERED, outcome=note or appeal.answer_outcome)
    if row.new_status == Status.FORWARDED:
        return replace(event, kind=FORWARDED, department=note.removeprefix("to ") or None)
    if row.new_status == Status.DUPLICATE:
        return replace(event, kind=DUPLICATE, original=note.removeprefix("duplicate of ") or None)
    if row.new_status == Status.IN_PROGRESS and row.old_status == Status.ANSWERED:
        return replace(event, kind=REOPENED)
    if row.new_status == Status.IN_PROGRESS and row.old_status == Status.REGISTERED:
        return replace(event, kind=TAKEN)
    if row.new_status == Status.CLOSED:
        return replace(event, kind=CLOSED, solved=note.removeprefix("solved: ") or None)
    return event


def _name(official_id: int | None, row: HistoryRow, appeal: Appeal) -> str | None:
    """The name kept with the row (migration 0011 filled it in for older rows from what the
    appeal and the prompts knew); else the taker's, which the appeal keeps with their id."""
    if row.actor_name:
        return row.actor_name
    if official_id is not None and official_id == appeal.taken_by and appeal.taken_by_name:
        return appeal.taken_by_name
    return None
