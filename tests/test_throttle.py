"""The burst rule (bot.telegram.throttle): a dialog at any speed passes, a burst gets one notice."""

from __future__ import annotations

import pytest

from bot.telegram.throttle import SWEEP_EVERY, BurstGuard, Verdict

CITIZEN = 7
T0 = 1_000_000.0


def test_one_after_another_is_never_a_burst_however_fast() -> None:
    guard = BurstGuard(limit=5)
    for _ in range(1000):  # all at the same instant: the tests' citizens are that quick
        verdict = guard.arrive(CITIZEN, T0)
        assert verdict is Verdict.HANDLE
        guard.leave(CITIZEN, verdict)
    assert guard.tracked == 0


def test_a_burst_handles_the_first_then_tells_once_then_drops() -> None:
    guard = BurstGuard(limit=5, quiet=1.0)
    verdicts = [guard.arrive(CITIZEN, T0) for _ in range(30)]
    assert verdicts[:5] == [Verdict.HANDLE] * 5
    assert verdicts[5] is Verdict.NOTIFY
    assert verdicts[6:] == [Verdict.DROP] * 24


def test_up_to_the_limit_at_once_is_no_burst() -> None:
    guard = BurstGuard(limit=5)
    assert [guard.arrive(CITIZEN, T0) for _ in range(5)] == [Verdict.HANDLE] * 5
    for _ in range(5):
        guard.leave(CITIZEN, Verdict.HANDLE)
    assert guard.arrive(CITIZEN, T0) is Verdict.HANDLE


def test_a_double_tap_is_handled_twice() -> None:
    guard = BurstGuard(limit=5)
    assert [guard.arrive(CITIZEN, T0), guard.arrive(CITIZEN, T0)] == [Verdict.HANDLE] * 2


def test_the_burst_ends_after_a_pause_and_goes_on_while_the_flood_does() -> None:
    guard = BurstGuard(limit=2, quiet=1.0)
    handled = [guard.arrive(CITIZEN, T0) for _ in range(2)]
    assert guard.arrive(CITIZEN, T0) is Verdict.NOTIFY
    for verdict in handled:
        guard.leave(CITIZEN, verdict)  # the handled ones are done meanwhile
    # The flood keeps coming faster than the pause: still dropped, no second notice.
    for step in range(1, 20):
        assert guard.arrive(CITIZEN, T0 + step * 0.5) is Verdict.DROP
    last = T0 + 19 * 0.5
    assert guard.arrive(CITIZEN, last + 0.9) is Verdict.DROP
    # A second of nothing: the citizen is heard again, and a new burst is told again.
    assert guard.arrive(CITIZEN, last + 0.9 + 1.0) is Verdict.HANDLE


def test_an_album_counts_once() -> None:
    guard = BurstGuard(limit=2)
    verdicts = [guard.arrive(CITIZEN, T0, album="a1") for _ in range(10)]
    assert verdicts == [Verdict.HANDLE] + [Verdict.ALBUM] * 9
    # One more counted update fits; the one after would make it a burst.
    assert guard.arrive(CITIZEN, T0) is Verdict.HANDLE
    assert guard.arrive(CITIZEN, T0, album="a2") is Verdict.NOTIFY
    for verdict in verdicts:
        guard.leave(CITIZEN, verdict)
    guard.leave(CITIZEN, Verdict.HANDLE)


def test_citizens_are_counted_apart() -> None:
    guard = BurstGuard(limit=1)
    assert guard.arrive(1, T0) is Verdict.HANDLE
    assert guard.arrive(2, T0) is Verdict.HANDLE
    assert guard.arrive(1, T0) is Verdict.NOTIFY
    assert guard.arrive(2, T0) is Verdict.NOTIFY


def test_nothing_is_kept_for_citizens_once_done() -> None:
    guard = BurstGuard(limit=1, quiet=1.0)
    for citizen in range(100):
        verdict = guard.arrive(citizen, T0)
        guard.leave(citizen, verdict)
    assert guard.tracked == 0
    # Bursts that ended are swept even if their citizens never write again.
    for citizen in range(100):
        guard.arrive(citizen, T0)
        guard.arrive(citizen, T0)  # NOTIFY: a quiet period begins
        guard.leave(citizen, Verdict.HANDLE)
    assert guard.tracked == 100
    guard.arrive(10_000, T0 + SWEEP_EVERY + 2)
    assert guard.tracked == 1


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        BurstGuard(limit=0)
