"""A citizen's burst of updates gets one answer, not hundreds (issue #10, item 7).
Telegram-free: the middlewares in `bot.telegram.middlewares` apply it to private chats.

What a burst is. A citizen in a dialog waits for the bot's answer before the next message or
press, however quick they are: the tests' and benchmarks' citizens answer within milliseconds
and must never be held up, so speed alone cannot tell a dialog from a flood. What does is
arriving *while the earlier ones are still in hand*: a paste Telegram splits into parts, a
forwarded conversation, a client that resends, a script, a finger on a stuck button. So a
burst is more than `limit` of one citizen's updates in hand at once (waiting for their turn
or being handled). An album (messages sharing a media_group_id) counts once, whatever its
size. A double tap is two: handled both, as before (the buttons are idempotent).

What happens. The first `limit` are handled in order; the next one is answered «Please slow
down» once, and it and whatever else the citizen sends are dropped unhandled until they
pause for `quiet` seconds. A flood paced exactly at the bot's speed never overlaps; it cannot
reach the officials past the daily limits (`bot.domain.limits`), and in production Telegram's limit
on the bot's replies to one chat (about one a second) slows the answers down until it does
overlap.

State lives in this process only, one small entry per citizen with updates in hand or in a
quiet period; entries go when they end. Several instances behind one webhook would each see
only their share of a citizen's updates: they need the counts in a shared store (Redis: an
INCR per citizen with a short expiry), or a balancer that sends a chat's updates to one
instance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

# Seconds without anything from the citizen that end a burst. Short enough that someone who
# reads the «slow down» notice and then goes on is not ignored; a flood keeps sending faster.
QUIET = 1.0
# How often (seconds of the clock given to `arrive`) entries left by ended bursts are swept.
SWEEP_EVERY = 60.0


class Verdict(Enum):
    HANDLE = "handle"  # counted toward the limit; call `leave` when done
    ALBUM = "album"  # another part of an album in hand: handled, not counted; `leave` too
    NOTIFY = "notify"  # the update that makes it a burst: not handled, the citizen is told
    DROP = "drop"  # inside a burst: not handled, nothing said


@dataclass(slots=True)
class _Citizen:
    in_hand: int = 0  # handled updates not finished yet, album parts included
    load: int = 0  # of those, the ones counted toward the limit
    albums: set[str] = field(default_factory=set)
    quiet_until: float | None = None  # set while in a burst


class BurstGuard:
    def __init__(self, limit: int, quiet: float = QUIET) -> None:
        if limit < 1:
            raise ValueError("a burst limit below 1 would drop every update")
        self.limit = limit
        self.quiet = quiet
        self._citizens: dict[int, _Citizen] = {}
        self._next_sweep = 0.0

    def arrive(self, citizen: int, now: float, album: str | None = None) -> Verdict:
        """An update of `citizen` arrived at `now` (seconds); `album`: its media_group_id."""
        if now >= self._next_sweep:
            self._sweep(now)
        state = self._citizens.get(citizen)
        if state is None:
            state = self._citizens[citizen] = _Citizen()
        if state.quiet_until is not None:
            if now < state.quiet_until:
                state.quiet_until = now + self.quiet
                return Verdict.DROP
            state.quiet_until = None
        if album is not None and album in state.albums:
            state.in_hand += 1
            return Verdict.ALBUM
        if state.load >= self.limit:
            state.quiet_until = now + self.quiet
            return Verdict.NOTIFY
        state.in_hand += 1
        state.load += 1
        if album is not None:
            state.albums.add(album)
        return Verdict.HANDLE

    def leave(self, citizen: int, verdict: Verdict) -> None:
        """A HANDLE or ALBUM update of `citizen` is done."""
        state = self._citizens.get(citizen)
        if state is None:
            return
        state.in_hand -= 1
        if verdict is Verdict.HANDLE:
            state.load -= 1
        if state.in_hand <= 0 and state.quiet_until is None:
            del self._citizens[citizen]

    @property
    def tracked(self) -> int:
        """Citizens with an entry: updates in hand, or a burst not yet over."""
        return len(self._citizens)

    def _sweep(self, now: float) -> None:
        """Forget bursts that ended with nothing in hand (their citizen sent nothing since)."""
        self._next_sweep = now + SWEEP_EVERY
        ended = [
            citizen
            for citizen, state in self._citizens.items()
            if state.in_hand <= 0 and state.quiet_until is not None and state.quiet_until <= now
        ]
        for citizen in ended:
            del self._citizens[citizen]
