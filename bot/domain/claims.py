"""The rules of an update's claim, Telegram-free (webhook mode, several instances).

An update still in hand after `answer_within` is answered 503, and Telegram posts it again,
perhaps to another instance. Before that answer the instance handling it claims it in the
database (storage: `Repository.claim_update`), for `length` seconds, renewed every
`renew_every` seconds while it handles, and released when the handling ends. Another
instance that receives the redelivery reads the claim with the update's handled-mark
(`Repository.open_update`) and, while the claim counts, answers 503 without handling it.

A claim counts while its holder may still be handling the update: it is another instance's,
its expiry has not passed, and its holder is not known dead. As with the sending lease
(bot.domain.lease), a holder that ran on this machine in this PID namespace and whose pid is
gone is dead at once (a crash, SIGKILL); a holder elsewhere, or alive but hung, is waited out
until the expiry. The expiry is wall-clock time written by the holder: keep the hosts on NTP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.lease import InstanceId


@dataclass(frozen=True, slots=True)
class ClaimTerms:
    """Seconds. Defaults: a claim lasts 30 s and is renewed every 10 s (two renewals may fail
    before it runs out); writing it may take `write_within` before the 503 goes regardless
    (Telegram gives up on the request at about 60 s, and `answer_within` is 50 s)."""

    length: float = 30.0
    renew_every: float = 10.0
    write_within: float = 5.0

    def __post_init__(self) -> None:
        if min(self.length, self.renew_every, self.write_within) <= 0:
            raise ValueError("claim times must be positive")
        if 2 * self.renew_every >= self.length:
            raise ValueError("the claim must outlast two renewal intervals")

    def expires_at(self, now: datetime) -> datetime:
        """What the row says, for a claim or renewal sent at wall-clock `now`."""
        return now + timedelta(seconds=self.length)


def claim_counts(
    holder: str,
    expires_at: datetime,
    now: datetime,
    me: InstanceId,
    alive: Callable[[int], bool],
) -> bool:
    """Whether a claim by `holder` until `expires_at` holds off the update's handling by `me`
    at wall-clock `now`: not its own, not expired, its holder not known dead."""
    if holder == str(me) or expires_at <= now:
        return False
    other = InstanceId.parse(holder)
    if other is None or not me.same_process_space(other):
        return True  # elsewhere (or unreadable): waited out until the expiry
    # Our own pid under another name is an earlier process that had it: gone.
    return other.pid != me.pid and alive(other.pid)
