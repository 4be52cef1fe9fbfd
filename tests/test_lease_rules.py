"""The sending lease's rules (bot/domain/lease.py) on a frozen clock: the monotonic seconds are
plain numbers the test moves by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.lease import InstanceId, LeaseState, LeaseTerms

TERMS = LeaseTerms()  # 15 s lease, renewed every 5 s, 3 s margin, non-holder tries every 5 s


def test_default_terms_are_a_15_second_lease_renewed_every_5() -> None:
    assert (TERMS.length, TERMS.renew_every, TERMS.margin, TERMS.take_every) == (15, 5, 3, 5)
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert TERMS.expires_at(now) == now + timedelta(seconds=15)


@pytest.mark.parametrize(
    "terms",
    [
        {"length": 0},
        {"margin": 0},
        {"margin": 15},
        {"renew_every": 7},  # 2 × 7 > 15 - 3: one late renewal would stop the sending
        {"look_every": -1},
    ],
)
def test_inconsistent_terms_are_refused(terms: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        LeaseTerms(**terms)


def test_a_new_instance_tries_at_once_and_holds_nothing_before() -> None:
    state = LeaseState(TERMS)
    assert state.try_due(0.0)
    assert not state.holds(0.0)


def test_granted_holds_until_the_margin_before_expiry_counted_from_the_try() -> None:
    state = LeaseState(TERMS)
    state.granted(started=100.0)
    assert state.holds(100.0)
    assert state.holds(111.999)
    # The row expires at 115 (or later: it was written after 100); sending stops at 112.
    assert not state.holds(112.0)
    assert not state.try_due(104.9)
    assert state.try_due(105.0)


def test_renewals_in_time_keep_the_lease_without_a_gap() -> None:
    state = LeaseState(TERMS)
    for start in (0.0, 5.0, 10.0, 15.0, 20.0):
        assert state.try_due(start)
        state.granted(start)
        assert state.holds(start + 4.99)


def test_a_refused_renewal_stops_sending_at_once() -> None:
    state = LeaseState(TERMS)
    state.granted(0.0)
    state.refused(5.0)
    assert not state.holds(5.0)
    assert state.try_due(10.0) and not state.try_due(9.9)


def test_a_failed_renewal_stops_sending_at_once_and_tries_again_soon() -> None:
    state = LeaseState(TERMS)
    state.granted(0.0)
    state.failed(5.0)
    assert not state.holds(5.0)
    assert state.try_due(10.0)


def test_a_renewal_may_not_outlast_what_is_left_of_the_lease() -> None:
    state = LeaseState(TERMS)
    state.granted(0.0)
    # Begun at 5 with validity until 12: past 7 s it counts as failed, before the expiry.
    assert state.try_timeout(5.0) == pytest.approx(7.0)
    # A non-holder's try is bounded by the lease's length.
    assert LeaseState(TERMS).try_timeout(0.0) == TERMS.length


def test_a_holder_that_stops_renewing_stops_sending_before_another_may_take_over() -> None:
    """The row's expiry (wall clock, written at the try) is `length` after the try; the holder
    stops `margin` earlier on its own clock, whatever happened to its renewals."""
    state = LeaseState(TERMS)
    state.granted(50.0)
    expiry_seen_by_others = 50.0 + TERMS.length
    last_send_start = 50.0 + TERMS.length - TERMS.margin
    assert not state.holds(last_send_start)
    assert expiry_seen_by_others - last_send_start == TERMS.margin


def test_released_never_tries_again() -> None:
    state = LeaseState(TERMS)
    state.granted(0.0)
    state.released()
    assert not state.holds(1.0)
    assert not state.try_due(1e9)


def test_instance_id_round_trips_and_knows_its_process_space() -> None:
    me = InstanceId("host-a", "4026531836", 1234, "abcd")
    assert InstanceId.parse(str(me)) == me
    assert me.same_process_space(InstanceId("host-a", "4026531836", 99, "ffff"))
    assert not me.same_process_space(InstanceId("host-b", "4026531836", 99, "ffff"))
    # Another container on the same host name, with its own pid numbers.
    assert not me.same_process_space(InstanceId("host-a", "4026532000", 99, "ffff"))
    # Unknown namespace (not Linux): never read a pid as ours.
    unknown = InstanceId("host-a", "", 1, "x")
    assert not unknown.same_process_space(InstanceId("host-a", "", 2, "y"))
    assert InstanceId.parse("not an id") is None
