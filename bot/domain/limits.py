"""How much one citizen may send to the officials in a day (issue #10, item 7). Telegram-free.

The rules, in one place:
- At most `APPEALS_PER_DAY` appeals in any 24 hours. A rolling window, not the local day:
  with a calendar day, five appeals at 23:59 and five more at 00:01 would pass, and "when
  can I file again" has one exact answer (24 hours after the oldest of the counted ones).
- Every appeal filed counts, withdrawn ones too: each has put a card in the officials' chat
  (and a withdrawal puts a notice under it), so filing and withdrawing in a loop must not
  get round the limit. A duplicate counts for the same reason.
- At most `ADDITIONS_PER_DAY` additions (➕ Add to the appeal) in any 24 hours, over all the
  citizen's appeals: each posts up to seven messages under a card. Answers to the officials'
  questions do not count: each question is answered once, so the officials themselves bound
  them, and refusing an answer they asked for would stall their own work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

Clock = Callable[[], datetime]
WINDOW = timedelta(hours=24)


def reopens_at(
    sent: Iterable[datetime], per_day: int, now: datetime, window: timedelta = WINDOW
) -> datetime | None:
    """None when one more may be sent now; otherwise when the next one may be: the moment
    the `per_day`-th newest of `sent` leaves the window. `sent` must hold at least the newest
    `per_day` times (older ones change nothing)."""
    inside = sorted(at for at in sent if at > now - window)
    if len(inside) < per_day:
        return None
    return inside[-per_day] + window


class LimitQueries(Protocol):
    async def latest_appeals(self, citizen_id: int, count: int) -> list[datetime]:
        """When the citizen's newest `count` appeals were filed."""

    async def latest_additions(self, citizen_id: int, count: int) -> list[tuple[datetime, str]]:
        """(when, draft key) of the citizen's newest `count` additions, answers to the
        officials' questions left out."""


@dataclass(frozen=True)
class DailyLimits:
    queries: LimitQueries
    clock: Clock
    appeals_per_day: int
    additions_per_day: int

    async def next_appeal_at(self, citizen_id: int) -> datetime | None:
        """None when the citizen may file an appeal now, else when they may."""
        filed = await self.queries.latest_appeals(citizen_id, self.appeals_per_day)
        return reopens_at(filed, self.appeals_per_day, self.clock())

    async def next_addition_at(self, citizen_id: int, draft_key: str = "") -> datetime | None:
        """None when the citizen may add to an appeal now, else when they may. The addition
        `draft_key` names is one already stored (a repeated «Done»): it is no new one."""
        added = await self.queries.latest_additions(citizen_id, self.additions_per_day)
        if draft_key and any(key == draft_key for _at, key in added):
            return None
        return reopens_at([at for at, _key in added], self.additions_per_day, self.clock())
