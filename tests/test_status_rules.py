"""The status table is the one place an officials' action is decided: the service's
conditional updates, the card's buttons and the answer to a stale press all ask it
(issue #11, item 1)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.domain.catalog import Catalog, Department
from bot.domain.status import (
    OPEN_STATUSES,
    TARGETS,
    TRANSITIONS,
    Action,
    actions_for,
    allows,
    may_rate,
    sources_for,
    sources_of,
    verdict_sources,
)
from bot.services.officials import Official
from bot.telegram.callbacks import CardCb
from bot.views.card import CALLBACK_ACTIONS, card_keyboard
from i18n.core import PoI18n
from storage.models import Appeal, Status
from storage.sqlite.repository import SQLiteRepository
from tests.conftest import FrozenClock
from tests.test_officials_service import CHAT, service
from tests.test_storage import NOW, new_appeal

OFFICIAL = Official(10, "Асель")
DEPARTMENT = Department("employment", "Жұмыспен қамту бөлімі", "Отдел занятости", -100700)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def with_department(catalog: Catalog) -> Catalog:
    return replace(catalog, departments=(DEPARTMENT,))


def test_what_an_official_may_do_in_each_status() -> None:
    every = frozenset(Action)
    assert actions_for(Status.REGISTERED) == every
    assert actions_for(Status.IN_PROGRESS) == every - {Action.TAKE}
    # Forwarded: worked on where it went (taken, answered, extended, asked), neither
    # forwarded on nor marked a duplicate.
    assert actions_for(Status.FORWARDED) == every - {Action.FORWARD, Action.DUPLICATE}
    for status in set(Status) - OPEN_STATUSES:  # answered or finished: the citizen's move
        assert actions_for(status) == frozenset()


def test_the_actions_follow_the_transition_table() -> None:
    for status in Status:
        for action in Action:
            target = TARGETS[action]
            expected = status in OPEN_STATUSES and (target is None or target in TRANSITIONS[status])
            assert allows(status, action) == expected, (status, action)
            assert (status in sources_for(action)) == expected
    # The citizen's word on an answer: from the answered status only.
    assert verdict_sources(solved=True) == sources_of(Status.CLOSED) == {Status.ANSWERED}
    assert verdict_sources(solved=False) == {Status.ANSWERED}


def shown(appeal: Appeal, catalog: Catalog, chat: int = CHAT) -> frozenset[Action]:
    with PoI18n().context():
        markup = card_keyboard(appeal, catalog, chat)
    actions = [CardCb.unpack(b.callback_data or "").action for row in markup.inline_keyboard
               for b in row]  # fmt: skip
    return frozenset(CALLBACK_ACTIONS[a] for a in actions if a in CALLBACK_ACTIONS)


@pytest.mark.parametrize("status", list(Status))
async def test_the_card_offers_exactly_what_the_table_allows(
    repo: SQLiteRepository, with_department: Catalog, status: Status
) -> None:
    appeal, _ = await repo.create_appeal(new_appeal("card"))
    appeal = replace(appeal, status=status, officials_chat_id=CHAT)
    assert shown(appeal, with_department) == actions_for(status)


async def test_a_forwarded_card_offers_take_not_forward_or_duplicate(
    repo: SQLiteRepository, with_department: Catalog
) -> None:
    appeal, _ = await repo.create_appeal(new_appeal("fwd"))
    forwarded = replace(appeal, status=Status.FORWARDED, officials_chat_id=CHAT)
    offered = shown(forwarded, with_department)
    assert Action.FORWARD not in offered and Action.DUPLICATE not in offered
    assert {Action.TAKE, Action.ANSWER, Action.EXTEND, Action.ASK} <= offered


async def test_the_card_leaves_out_what_cannot_be_done_there(
    repo: SQLiteRepository, catalog: Catalog, with_department: Catalog
) -> None:
    appeal, _ = await repo.create_appeal(new_appeal("here"))
    appeal = replace(appeal, officials_chat_id=CHAT)
    assert Action.FORWARD not in shown(appeal, catalog)  # no departments to forward to
    assert Action.ASK not in shown(replace(appeal, citizen_id=None), with_department)
    assert shown(appeal, with_department, chat=-999) == frozenset()  # forwarded away from


async def forwarded_appeal(
    repo: SQLiteRepository, catalog: Catalog, clock: FrozenClock, name: str
) -> tuple[Appeal, Appeal]:
    officials, _ = service(repo, catalog, clock, {})
    earlier, _ = await repo.create_appeal(new_appeal(f"{name}-earlier"))
    appeal, _ = await repo.create_appeal(new_appeal(name))
    result = await officials.forward(appeal.id, OFFICIAL, DEPARTMENT.code)
    assert result.done and result.appeal is not None
    assert result.appeal.status == Status.FORWARDED
    return earlier, result.appeal


async def test_a_forwarded_appeal_is_not_marked_a_duplicate(
    repo: SQLiteRepository, with_department: Catalog, clock: FrozenClock
) -> None:
    """The service used to allow FORWARDED → DUPLICATE against the table."""
    officials, sent = service(repo, with_department, clock, {OFFICIAL.id: "member"})
    earlier, appeal = await forwarded_appeal(repo, with_department, clock, "dup")
    before = len(sent.sent)
    result = await officials.mark_duplicate(appeal.id, OFFICIAL, earlier.reference, chat_id=CHAT)
    assert not result.done and result.reason == "already"
    stored = await repo.get_appeal(appeal.id)
    assert stored is not None and stored.status == Status.FORWARDED
    assert stored.duplicate_of is None
    assert len(sent.sent) == before  # the citizen is told nothing


async def test_a_forwarded_appeal_is_not_forwarded_again(
    repo: SQLiteRepository, with_department: Catalog, clock: FrozenClock
) -> None:
    officials, sent = service(repo, with_department, clock, {})
    _, appeal = await forwarded_appeal(repo, with_department, clock, "again")
    result = await officials.forward(appeal.id, OFFICIAL, DEPARTMENT.code)
    assert not result.done and result.reason == "already"
    assert result.appeal is not None and result.appeal.status == Status.FORWARDED
    assert sent.sent == []


async def test_a_forwarded_appeal_is_taken_where_it_went(
    repo: SQLiteRepository, with_department: Catalog, clock: FrozenClock
) -> None:
    """The table lets FORWARDED → IN_PROGRESS; the service used to allow a take only from
    REGISTERED, and the card offered none."""
    officials, sent = service(repo, with_department, clock, {})
    _, appeal = await forwarded_appeal(repo, with_department, clock, "take")
    taken = await officials.take(appeal.id, Official(20, "Бота"))
    assert taken.done and taken.appeal is not None
    assert taken.appeal.status == Status.IN_PROGRESS and taken.appeal.taken_by_name == "Бота"
    assert taken.appeal.department == DEPARTMENT.code  # where it went stays recorded
    assert any("Қаралуда" in text for text in sent.to(1))  # the citizen hears, in Kazakh
    again = await officials.take(appeal.id, Official(21, "Ерлан"))
    assert not again.done and again.reason == "already"


def test_only_an_answer_given_is_rated_and_once() -> None:
    assert may_rate(answered=True, said=True, rated=False)
    assert not may_rate(answered=True, said=True, rated=True)
    assert not may_rate(answered=False, said=False, rated=False)  # no answer yet: nothing to rate
    # Not asked about yet (the stars come after «solved?»): an earlier answer's stars.
    assert not may_rate(answered=True, said=False, rated=False)


def test_a_rating_is_on_an_answer_and_a_new_answer_clears_the_citizens_word() -> None:
    from bot.domain.status import answer_clears, may_rate, rating_expects, rating_note

    assert may_rate(answered=True, said=True, rated=False)
    assert not may_rate(answered=True, said=True, rated=True)
    assert not may_rate(answered=False, said=False, rated=False)
    # What the rating's write expects is what an answer leaves: a new answer may be rated,
    # once the citizen said whether it solved the problem (the word it clears).
    answered_at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert answer_clears()["rating"] == rating_expects(answered_at)["rating"] is None
    assert rating_expects(answered_at)["answered_at"] == answered_at  # that answer, no other
    assert "solved" in answer_clears()
    assert rating_note(4) == "rating 4"
