"""An update's claim (webhook mode, several instances; bot.telegram.claims): the rows on
both backends, read with the handled-mark in `open_update`; the rules of whether a claim
holds an update off (bot.domain.claims); and the keeper that writes a claim, renews it while
the handling goes on and releases it when the handling ends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.claims import ClaimTerms, claim_counts
from bot.domain.lease import InstanceId
from bot.telegram.claims import UpdateClaims
from storage.base import Repository, UpdateClaim
from storage.fsm import update_scope
from tests.backends import Backend

T0 = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
LATER = T0 + timedelta(seconds=30)
ME = InstanceId("host-1", "4026531836", 100, "aaaa")
# Another process on this machine and PID namespace, another on another machine.
NEIGHBOUR = InstanceId("host-1", "4026531836", 200, "bbbb")
FAR = InstanceId("host-2", "4026531836", 200, "cccc")


# ------------------------------------------------------------------------ the rows


@pytest.mark.every_backend
async def test_a_claim_is_read_with_the_handled_mark_until_it_is_released(
    repo: Repository,
) -> None:
    await repo.set_language(5, "kk")
    assert (await repo.open_update(100, 5)).claim is None
    await repo.claim_update(100, "A", LATER)
    seen, citizen, claim = await repo.open_update(100, 5)
    assert not seen and citizen is not None and citizen.language == "kk"
    assert claim == UpdateClaim("A", LATER)
    assert (await repo.open_update(100, None)).claim == UpdateClaim("A", LATER)
    assert (await repo.open_update(101, 5)).claim is None  # another update
    # Renewed: the expiry moves on; claimed by another holder, the row is theirs.
    await repo.claim_update(100, "A", LATER + timedelta(seconds=10))
    assert (await repo.open_update(100, 5)).claim == UpdateClaim("A", LATER + timedelta(seconds=10))
    await repo.claim_update(100, "B", LATER)
    assert (await repo.open_update(100, 5)).claim == UpdateClaim("B", LATER)
    # Only its holder releases it.
    assert not await repo.release_update(100, "A")
    assert (await repo.open_update(100, 5)).claim == UpdateClaim("B", LATER)
    assert await repo.release_update(100, "B")
    assert (await repo.open_update(100, 5)).claim is None
    assert not await repo.release_update(100, "B")


@pytest.mark.every_backend
async def test_once_the_update_is_marked_its_claim_is_not_read(repo: Repository) -> None:
    await repo.claim_update(100, "A", LATER)
    await repo.mark_update(100, T0)
    assert await repo.open_update(100, 5) == (True, None, None)


@pytest.mark.every_backend
async def test_the_updates_first_fsm_read_reads_the_claim_too(
    backend: Backend, repo: Repository
) -> None:
    """On SQLite the update's first FSM read opens it (storage.fsm): the claim comes with it."""
    from aiogram.fsm.storage.base import StorageKey

    key = StorageKey(bot_id=1, chat_id=5, user_id=5)
    storage = backend.fsm(repo.db)  # type: ignore[attr-defined]
    await repo.claim_update(100, "A", LATER)
    with update_scope(100):
        assert await storage.get_state(key) is None
        assert (await repo.open_update(100, 5)).claim == UpdateClaim("A", LATER)
    with update_scope(101):
        assert await storage.get_state(key) is None
        assert (await repo.open_update(101, 5)).claim is None


@pytest.mark.every_backend
async def test_a_claim_one_instance_writes_is_read_by_another(backend: Backend) -> None:
    """Two connections to one database (on PostgreSQL, two pools): two instances."""
    a = backend.repository(await backend.open())
    b = backend.repository(await backend.open())
    await a.claim_update(100, str(ME), LATER)
    assert (await b.open_update(100, 5)).claim == UpdateClaim(str(ME), LATER)
    await a.mark_update(100, T0)
    assert (await b.open_update(100, 5)).seen


@pytest.mark.every_backend
async def test_pruning_drops_claims_expired_long_ago(repo: Repository) -> None:
    await repo.claim_update(1, "A", T0 - timedelta(days=8))
    await repo.claim_update(2, "A", T0 - timedelta(days=1))
    await repo.prune_updates(timedelta(days=7), T0)
    assert (await repo.open_update(1, None)).claim is None
    assert (await repo.open_update(2, None)).claim is not None


# ------------------------------------------------------------------------ the rules


def counts(holder: str, expires_at: datetime = LATER, alive: bool = True) -> bool:
    return claim_counts(holder, expires_at, T0, ME, lambda pid: alive)


def test_another_live_instances_claim_holds_the_update_off_until_it_expires() -> None:
    assert counts(str(NEIGHBOUR)) and counts(str(FAR))
    assert not counts(str(NEIGHBOUR), expires_at=T0)
    assert not counts(str(FAR), expires_at=T0 - timedelta(seconds=1))


def test_a_claim_of_our_own_holds_nothing_off() -> None:
    assert not counts(str(ME))


def test_a_dead_holder_on_this_machine_is_seen_at_once_one_elsewhere_is_waited_out() -> None:
    assert not counts(str(NEIGHBOUR), alive=False)
    assert counts(str(FAR), alive=False)  # its pid means nothing here
    # Our own pid under another name: an earlier process that had it.
    assert not counts(str(InstanceId("host-1", "4026531836", 100, "old0")))
    # Another PID namespace on this host (another container), or one we could not read.
    assert counts(str(InstanceId("host-1", "999", 200, "dddd")), alive=False)
    unknown = InstanceId("host-1", "", 100, "eeee")
    assert claim_counts(str(NEIGHBOUR), LATER, T0, unknown, lambda pid: False)
    assert counts("not an instance id", alive=False)


def test_claim_terms_keep_two_renewals_inside_a_claim() -> None:
    terms = ClaimTerms()
    assert terms.expires_at(T0) == T0 + timedelta(seconds=30)
    with pytest.raises(ValueError, match="two renewal"):
        ClaimTerms(length=10, renew_every=5)
    with pytest.raises(ValueError, match="positive"):
        ClaimTerms(write_within=0)


# ------------------------------------------------------------------------ the keeper


class Recording:
    """What the keeper asks of the repository, in order."""

    def __init__(self, fail: int = 0) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.fail = fail

    async def claim_update(self, update_id: int, holder: str, expires_at: datetime) -> None:
        self.calls.append(("claim", update_id, holder, expires_at))
        if self.fail:
            self.fail -= 1
            raise ConnectionError("database gone")

    async def release_update(self, update_id: int, holder: str) -> bool:
        self.calls.append(("release", update_id, holder))
        return True


async def test_the_keeper_claims_before_returning_renews_and_releases() -> None:
    repo = Recording()
    terms = ClaimTerms(length=0.5, renew_every=0.1, write_within=1)
    claims = UpdateClaims(repo, me=ME, terms=terms, wall=lambda: T0)  # type: ignore[arg-type]
    handling: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    await claims.hold(7, handling)
    assert repo.calls == [("claim", 7, str(ME), T0 + timedelta(seconds=0.5))]
    assert claims.holds(7)
    await claims.hold(7, handling)  # a redelivery that timed out again: once per update
    await asyncio.sleep(0.35)
    renewals = [c for c in repo.calls if c[0] == "claim"]
    assert 3 <= len(renewals) <= 5, repo.calls
    handling.set_result(True)
    await asyncio.sleep(0.05)
    assert repo.calls[-1] == ("release", 7, str(ME))
    assert not claims.holds(7)
    # A handling that ended already is not claimed.
    await claims.hold(8, handling)
    assert not [c for c in repo.calls if c[1] == 8]


async def test_a_claim_that_cannot_be_written_does_not_hold_the_answer_up() -> None:
    repo = Recording(fail=1)
    claims = UpdateClaims(repo, me=ME, wall=lambda: T0)  # type: ignore[arg-type]
    handling: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    await claims.hold(7, handling)  # logged; the 503 goes anyway
    assert repo.calls == [("claim", 7, str(ME), T0 + timedelta(seconds=30))]
    handling.set_result(True)
    await asyncio.sleep(0.05)
    assert repo.calls[-1] == ("release", 7, str(ME))


async def test_held_elsewhere_judges_a_claim_read_with_the_mark() -> None:
    claims = UpdateClaims(Recording(), me=ME, wall=lambda: T0, alive=lambda pid: pid != 200)  # type: ignore[arg-type]
    assert claims.held_elsewhere(UpdateClaim(str(FAR), LATER))
    assert not claims.held_elsewhere(UpdateClaim(str(NEIGHBOUR), LATER))  # pid 200 is gone
    assert not claims.held_elsewhere(UpdateClaim(str(FAR), T0))
