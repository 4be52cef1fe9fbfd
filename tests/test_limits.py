"""The daily limits (bot.domain.limits) over the real storage, without Telegram;
tests/test_e2e_abuse.py drives them through the bot."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.catalog import Catalog
from bot.domain.limits import WINDOW, DailyLimits, reopens_at
from bot.services.lifecycle import AppealLifecycle, Refused
from bot.views.lifecycle_notices import LifecycleNotices
from i18n.core import PoI18n
from storage.base import Repository
from storage.lifecycle import AddOutcome
from storage.models import Status
from tests.backends import beside
from tests.conftest import FrozenClock
from tests.test_lifecycle import ASKER, addition
from tests.test_officials_service import CHAT, service
from tests.test_storage import NOW, new_appeal

HOUR = timedelta(hours=1)


def test_under_the_limit_nothing_waits() -> None:
    assert reopens_at([], 5, NOW) is None
    assert reopens_at([NOW - HOUR] * 4, 5, NOW) is None


def test_at_the_limit_the_oldest_counted_one_says_when() -> None:
    sent = [NOW - 20 * HOUR, NOW - 3 * HOUR, NOW - 2 * HOUR, NOW - HOUR, NOW]
    assert reopens_at(sent, 5, NOW) == NOW + 4 * HOUR
    # Order does not matter; older ones than the newest five change nothing.
    assert reopens_at([NOW - 30 * HOUR, *reversed(sent)], 5, NOW) == NOW + 4 * HOUR
    # With a limit of 3 the third newest decides.
    assert reopens_at(sent, 3, NOW) == NOW - 2 * HOUR + WINDOW


def test_the_window_is_24_hours_rolling_not_the_calendar_day() -> None:
    sent = [NOW - 24 * HOUR, *[NOW - HOUR] * 4]
    assert reopens_at(sent, 5, NOW) is None  # the oldest left the window this instant
    just_inside = [NOW - 24 * HOUR + timedelta(seconds=1), *[NOW - HOUR] * 4]
    assert reopens_at(just_inside, 5, NOW) == NOW + timedelta(seconds=1)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


# The limits over each backend's stores.
pytestmark = pytest.mark.every_backend


def limits_of(repo: Repository, clock: FrozenClock, per_day: int = 3) -> DailyLimits:
    return DailyLimits(beside("limits", repo), clock, per_day, per_day)


async def test_appeals_count_per_citizen_withdrawn_ones_too(
    repo: Repository, clock: FrozenClock
) -> None:
    limits = limits_of(repo, clock)
    times = [NOW - 30 * HOUR, NOW - 5 * HOUR, NOW - 2 * HOUR]
    for n, at in enumerate(times):
        await repo.create_appeal(new_appeal(f"c1-{n}", citizen_id=1, created_at=at))
    await repo.create_appeal(new_appeal("c2", citizen_id=2, created_at=NOW))
    assert await limits.next_appeal_at(1) is None  # one of the three is a day and more old
    third, _ = await repo.create_appeal(new_appeal("c1-3", citizen_id=1, created_at=NOW))
    assert await limits.next_appeal_at(1) == NOW - 5 * HOUR + WINDOW
    assert await limits.next_appeal_at(2) is None
    await repo.update_fields(third.id, status=Status.WITHDRAWN)
    assert await limits.next_appeal_at(1) == NOW - 5 * HOUR + WINDOW


async def test_additions_count_per_citizen_and_answers_do_not(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> None:
    officials, _sent = service(repo, catalog, clock, {})
    limits = limits_of(repo, clock, per_day=2)
    lifecycle = AppealLifecycle(
        officials, beside("lifecycle", repo), beside("prompts", repo), clock, limits,
        notices=LifecycleNotices(_sent.outbox, PoI18n(), "ru"),
    )  # fmt: skip
    mine, _ = await repo.create_appeal(new_appeal("m", citizen_id=1))
    other, _ = await repo.create_appeal(new_appeal("o", citizen_id=2))
    for appeal in (mine, other):
        await repo.set_officials_chat(appeal.id, CHAT)
    assert (await lifecycle.add(2, addition(other.id, "o1"))).done
    assert (await lifecycle.add(1, addition(mine.id, "k1"))).done
    clock.at = NOW + HOUR
    assert (await lifecycle.add(1, addition(mine.id, "k2"))).done
    refused = await lifecycle.add(1, addition(mine.id, "k3"))
    assert refused.refused is Refused.DAILY_LIMIT and refused.outcome is None
    assert refused.reopens_at == NOW + WINDOW
    # «Done» pressed again on one that was stored is that one, not a new one.
    again = await lifecycle.add(1, addition(mine.id, "k2"))
    assert again.outcome is AddOutcome.REPEATED
    # An answer to an officials' question is never held back.
    assert (await lifecycle.ask(mine.id, ASKER, "Какой номер дома?")).done
    answer = await lifecycle.add(1, addition(mine.id, "a1", question_id=1))
    assert answer.outcome is AddOutcome.ADDED
    assert await lifecycle.next_addition_at(1) == NOW + WINDOW
    assert await lifecycle.next_addition_at(2) is None
    clock.at = NOW + WINDOW
    assert (await lifecycle.add(1, addition(mine.id, "k3"))).done
