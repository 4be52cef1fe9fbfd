"""The rules of the sending lease, Telegram-free: how long a lease lasts, when its holder renews
it, when a holder must stop sending, how often an instance without it tries to take it, and how
an instance names itself.

Telegram's ~30 messages a second are per bot, not per process, so of several `python -m bot`
processes on one database only the lease's holder sends from the outbox. The database row says
until when the holder holds it (wall-clock time, the only clock instances share); the holder
itself counts on its own monotonic clock, from the moment it *sent* the statement that took or
renewed the lease, and stops sending `margin` seconds before the row can expire. So by the time
another instance may take the lease over, the old holder has stopped starting sends for
`margin` seconds, whether it renewed in time, failed, or hung.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

SENDER_LEASE = "outbox-sender"


@dataclass(frozen=True, slots=True)
class LeaseTerms:
    """Seconds. Defaults: a 15 s lease renewed every 5 s; the holder stops sending 3 s before
    its lease could expire; an instance without it tries every 5 s; the holder looks at the
    outbox every second (rows queued by another instance wake nobody here)."""

    length: float = 15.0
    renew_every: float = 5.0
    margin: float = 3.0
    take_every: float = 5.0
    look_every: float = 1.0

    def __post_init__(self) -> None:
        if min(self.length, self.renew_every, self.take_every, self.look_every) <= 0:
            raise ValueError("lease times must be positive")
        if not 0 < self.margin < self.length:
            raise ValueError("the margin must be shorter than the lease")
        # Two renewals fit in what the holder counts as held: one failed renewal alone does
        # not stop the sending, yet a holder that cannot renew stops well before the expiry.
        if 2 * self.renew_every > self.length - self.margin:
            raise ValueError("the lease must outlast two renewal intervals plus the margin")

    def expires_at(self, now: datetime) -> datetime:
        """What the row says, for a take or renewal sent at wall-clock `now`."""
        return now + timedelta(seconds=self.length)


class LeaseState:
    """One instance's own view of the lease, on its monotonic clock (seconds): whether it may
    send, when to try the database next, and how long a try may take. Every outcome of a try
    is reported here: granted, refused, or failed (an error or a try that ran out of time)."""

    def __init__(self, terms: LeaseTerms) -> None:
        self.terms = terms
        self._held_until: float | None = None
        self._next_try = -math.inf

    def holds(self, mono: float) -> bool:
        """May this instance start a send now."""
        return self._held_until is not None and mono < self._held_until

    def try_due(self, mono: float) -> bool:
        return mono >= self._next_try

    def next_try(self) -> float:
        return self._next_try

    def try_timeout(self, started: float) -> float:
        """How long a try begun at `started` may take. A holder's renewal must be answered
        before its lease runs out here (past that, it has stopped sending anyway); a
        non-holder's try, within the lease's length."""
        if self._held_until is not None and started < self._held_until:
            return self._held_until - started
        return self.terms.length

    def granted(self, started: float) -> None:
        """The try begun at `started` was granted: the row expires `length` after the moment
        we sent it (or later), so counting from `started` never overestimates."""
        self._held_until = started + self.terms.length - self.terms.margin
        self._next_try = started + self.terms.renew_every

    def refused(self, started: float) -> None:
        """Another instance holds it: stop sending at once, try again later."""
        self._held_until = None
        self._next_try = started + self.terms.take_every

    def failed(self, started: float) -> None:
        """The try raised or ran out of time: whether the database took it is unknown, so the
        safe reading is that we do not hold it. Sending stops at once; the next try (which
        names us as the holder, so it renews if the row is still ours) follows soon."""
        self._held_until = None
        self._next_try = started + min(self.terms.renew_every, self.terms.take_every)

    def released(self) -> None:
        self._held_until = None
        self._next_try = math.inf


@dataclass(frozen=True, slots=True)
class InstanceId:
    """`host/pid-namespace/pid/token`: unique per process start (the token), and telling
    whether a holder ran on this machine in this PID namespace, where its death can be seen
    (its pid is gone) and its lease taken over without waiting for the expiry."""

    host: str
    namespace: str
    pid: int
    token: str

    def __str__(self) -> str:
        return f"{self.host}/{self.namespace}/{self.pid}/{self.token}"

    @classmethod
    def parse(cls, text: str) -> InstanceId | None:
        parts = text.rsplit("/", 3)
        if len(parts) != 4 or not parts[2].isdigit():
            return None
        return cls(parts[0], parts[1], int(parts[2]), parts[3])

    def same_process_space(self, other: InstanceId) -> bool:
        """`other`'s pid means the same process here: same host and PID namespace, and we
        know the namespace (an empty one is unknown: never assume)."""
        return bool(self.namespace) and (self.host, self.namespace) == (
            other.host,
            other.namespace,
        )
