"""The officials' service without Telegram: who may act, what each action changes, and what
it tells the citizen and the officials."""

from __future__ import annotations

import ast
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import bot.services.notifiers as notifiers_module
import bot.services.officials as officials_module
from bot.delivery.outbox import Outbox
from bot.domain.catalog import Catalog
from bot.services.officials import ActionResult, Official, OfficialsService
from bot.views.officials_notices import OfficialsNotices
from i18n.core import PoI18n
from storage.base import Repository
from storage.models import Appeal, Outcome, Status
from storage.outbox import Outgoing
from tests.backends import beside
from tests.conftest import ALMATY, FrozenClock
from tests.test_storage import NOW, new_appeal

CHAT = -100500


class Recorder:
    """The real outbox, writing to the test database, with a record of what was queued and a
    fault to inject into the write that commits with a status change."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.sent: list[tuple[int, str, Any]] = []
        self.fail = 0
        # A row the outbox already holds (same dedupe key) is not queued twice: record it once.
        self.seen: set[int] = set()

    def text(self, chat_id: int, text: str, **kw: Any) -> Outgoing:
        return self.outbox.text(chat_id, text, **kw)

    def message(self, chat_id: int, method: str, payload: dict[str, Any], **kw: Any) -> Outgoing:
        return self.outbox.message(chat_id, method, payload, **kw)

    async def queue_in(self, conn: Any, batches: Sequence[Outgoing]) -> list[int]:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("disk I/O error")
        ids = await self.outbox.queue_in(conn, batches)
        self._record(batches, ids)
        return ids

    async def queue(self, batches: Sequence[Outgoing]) -> list[int]:
        ids = await self.outbox.queue(batches)
        self._record(batches, ids)
        return ids

    def poke(self) -> None:
        self.outbox.poke()

    async def send_text(self, chat_id: int, text: str, **kw: Any) -> list[int]:
        return await self.queue([self.text(chat_id, text, **kw)])

    async def send(self, chat_id: int, method: str, payload: dict[str, Any], **kw: Any) -> int:
        return (await self.queue([self.message(chat_id, method, payload, **kw)]))[0]

    def _record(self, batches: Sequence[Outgoing], ids: Sequence[int]) -> None:
        rows = iter(ids)
        for batch in batches:
            for m in batch.messages:
                row = next(rows)
                if row in self.seen:
                    continue
                self.seen.add(row)
                shown = m.payload["text"] if m.method == "sendMessage" else m.method
                self.sent.append((batch.chat_id, shown, m.payload))

    def to(self, chat_id: int) -> list[str]:
        return [text for chat, text, _ in self.sent if chat == chat_id]


# The service over each backend's repository and outbox.
pytestmark = pytest.mark.every_backend


def service(
    repo: Repository, catalog: Catalog, clock: FrozenClock, statuses: dict[int, str]
) -> tuple[OfficialsService, Recorder]:
    async def member_status(chat_id: int, user_id: int) -> str | None:
        return statuses.get(user_id)

    async def locate(purpose: str) -> tuple[int, int] | None:
        return None

    recorder = Recorder(Outbox(beside("outbox", repo), clock))
    return OfficialsService(
        repo, catalog, recorder, clock, PoI18n(), default_chat=CHAT, admin_ids=frozenset({7}),
        language="ru", tz=ALMATY, member_status=member_status, locate=locate,
        notifier=OfficialsNotices(recorder.outbox, PoI18n(), catalog, language="ru", tz=ALMATY),
    ), recorder  # fmt: skip


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


async def test_who_may_act(repo: Repository, catalog: Catalog, clock: FrozenClock) -> None:
    officials, _ = service(repo, catalog, clock, {1: "member", 2: "administrator", 3: "left",
                                                  4: "kicked", 5: "restricted"})  # fmt: skip
    assert await officials.may_act(CHAT, 1)
    assert await officials.may_act(CHAT, 2)
    assert not await officials.may_act(CHAT, 3)
    assert not await officials.may_act(CHAT, 4)
    assert not await officials.may_act(CHAT, 5)
    assert not await officials.may_act(-999, 1)  # not an officials' chat
    # ADMIN_IDS act in private; in a stranger's group nobody does, an administrator neither.
    assert await officials.may_act(7, 7)
    assert not await officials.may_act(1, 1)
    assert not await officials.may_act(-999, 7)
    assert not await officials.may_act(CHAT, 7)  # not a member of the officials' chat


async def test_a_chat_acts_only_on_the_appeals_routed_to_it(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> None:
    officials, _ = service(repo, catalog, clock, {1: "member"})
    here, _ = await repo.create_appeal(new_appeal("here"))
    await repo.set_officials_chat(here.id, CHAT)
    there, _ = await repo.create_appeal(new_appeal("there"))
    await repo.set_officials_chat(there.id, -100600)  # a department's chat
    routed_here = await repo.get_appeal(here.id)
    routed_there = await repo.get_appeal(there.id)
    assert routed_here is not None and routed_there is not None
    assert await officials.may_act(CHAT, 1, routed_here)
    assert not await officials.may_act(CHAT, 1, routed_there)
    assert await officials.may_act(7, 7, routed_there)  # an administrator in private: any appeal


async def test_a_membership_change_is_asked_again_at_once(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> None:
    statuses = {1: "member"}
    officials, _ = service(repo, catalog, clock, statuses)
    assert await officials.may_act(CHAT, 1)
    statuses[1] = "kicked"
    assert await officials.may_act(CHAT, 1)  # cached for a short while…
    officials.membership_changed(CHAT, 1)  # …unless Telegram says it changed
    assert not await officials.may_act(CHAT, 1)


async def test_take_once_then_answer_reaches_the_citizen_in_their_language(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> None:
    officials, sent = service(repo, catalog, clock, {})
    appeal, _ = await repo.create_appeal(new_appeal("a", language="kk"))
    first = await officials.take(appeal.id, Official(10, "Асқар"))
    second = await officials.take(appeal.id, Official(11, "Бота"))
    assert first.done and not second.done and second.reason == "already"
    assert second.appeal is not None and second.appeal.taken_by_name == "Асқар"
    answered = await officials.answer(appeal.id, Official(10, "Асқар"), Outcome.PARTLY, "Жауап")
    assert answered.done
    citizen_texts = sent.to(1)
    assert "Қаралуда" in citizen_texts[0]  # in Kazakh: the appeal's language
    assert "Жауап" in citizen_texts[-1] and "ішінара" in citizen_texts[-1].lower()
    history = [s for s, _, _ in await repo.status_history(appeal.id)]
    assert history == [Status.REGISTERED, Status.IN_PROGRESS, Status.ANSWERED]
    again = await officials.answer(appeal.id, Official(11, "Бота"), Outcome.SATISFIED, "Тағы")
    assert not again.done


async def test_not_solved_reopens_and_the_comment_reaches_the_officials(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> None:
    officials, sent = service(repo, catalog, clock, {})
    appeal, _ = await repo.create_appeal(new_appeal("b", language="ru"))
    await repo.set_officials_chat(appeal.id, CHAT)
    await officials.answer(appeal.id, Official(10, "Асель"), Outcome.SATISFIED, "Готово")
    assert not (await officials.citizen_says_solved(appeal.id, 999, "no")).done  # not theirs
    reopened = await officials.citizen_says_solved(appeal.id, 1, "no")
    assert reopened.done and reopened.appeal is not None
    assert reopened.appeal.status == Status.IN_PROGRESS
    assert await officials.citizen_comment(appeal.id, 1, "Фонарь всё ещё не горит")
    # Run again (a redelivered update whose first run's end was lost): one note.
    assert await officials.citizen_comment(appeal.id, 1, "Фонарь всё ещё не горит")
    assert len([t for t in sent.to(CHAT) if "Фонарь всё ещё не горит" in t]) == 1
    assert (await officials.rate(appeal.id, 1, 2)).done
    assert not (await officials.rate(appeal.id, 1, 5)).done  # rated once


async def test_a_new_answer_after_a_reopening_is_asked_about_and_rated_afresh(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> None:
    """A rating is on an answer: the first one's stays in the history, the appeal holds the
    latest (what /stats and the digest count), and each is rated once."""
    officials, sent = service(repo, catalog, clock, {})
    appeal, _ = await repo.create_appeal(new_appeal("r", language="ru"))
    await repo.set_officials_chat(appeal.id, CHAT)
    await officials.answer(appeal.id, Official(10, "Асель"), Outcome.SATISFIED, "Готово")
    assert (await officials.citizen_says_solved(appeal.id, 1, "no")).done
    assert (await officials.rate(appeal.id, 1, 2)).done
    again = await officials.answer(appeal.id, Official(10, "Асель"), Outcome.SATISFIED, "Снова")
    assert again.done and again.appeal is not None
    assert again.appeal.rating is None and again.appeal.solved is None
    assert (await officials.citizen_says_solved(appeal.id, 1, "yes")).done
    assert "Оценка" not in sent.to(CHAT)[-1]  # the note is about «solved», not the old rating
    rated = await officials.rate(appeal.id, 1, 5)
    assert rated.done and rated.appeal is not None and rated.appeal.rating == 5
    assert "Оценка: 5 из 5" in sent.to(CHAT)[-1]
    assert not (await officials.rate(appeal.id, 1, 4)).done  # this answer is rated
    history = await repo.status_history(appeal.id)
    assert [s for s, actor, _ in history if actor == "citizen:1"][1:] == [
        Status.IN_PROGRESS,
        Status.IN_PROGRESS,
        Status.CLOSED,
        Status.CLOSED,
    ]  # after filing: not solved, rated 2, solved, rated 5


async def test_extension_limit_and_notice(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> None:
    officials, sent = service(repo, catalog, clock, {})
    appeal, _ = await repo.create_appeal(new_appeal("c", language="ru"))
    assert officials.latest_extension(appeal) == date(2027, 1, 23)
    too_late = await officials.extend(appeal.id, Official(1, "A"), date(2027, 1, 24), "why")
    assert too_late.reason == "too_late"
    earlier = await officials.extend(appeal.id, Official(1, "A"), date(2026, 12, 1), "why")
    assert earlier.reason == "not_later"
    done = await officials.extend(appeal.id, Official(1, "A"), date(2027, 1, 20), "экспертиза")
    assert done.done and done.appeal is not None
    assert done.appeal.due_at.astimezone(ALMATY).date() == date(2027, 1, 20)
    assert "20 января 2027" in sent.to(1)[-1] and "экспертиза" in sent.to(1)[-1]


def test_two_months_from_the_end_of_a_month(catalog: Catalog) -> None:
    officials = OfficialsService.__new__(OfficialsService)
    officials.catalog = catalog
    appeal = type("A", (), {"registered_on": date(2026, 12, 31)})()
    assert officials.latest_extension(appeal) == date(2027, 2, 28)


async def test_forward_deadline_warning(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> None:
    officials, _ = service(repo, catalog, clock, {})
    appeal, _ = await repo.create_appeal(new_appeal("d"))  # registered Monday 23.11.2026
    clock.at = datetime(2026, 11, 26, 12, tzinfo=UTC)  # Thursday: 3 working days later
    assert not officials.forward_overdue(appeal)
    with officials.speaking("ru"):
        assert "⚠️" not in officials.render_card(appeal)
    clock.at += timedelta(days=1)  # Friday: the 4th working day
    assert officials.forward_overdue(appeal)
    with officials.speaking("ru"):
        assert "⚠️ Прошли 3 рабочих дня" in officials.render_card(appeal)


async def test_duplicate_needs_a_real_earlier_appeal(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> None:
    officials, sent = service(repo, catalog, clock, {1: "member"})
    first, _ = await repo.create_appeal(new_appeal("e1", citizen_id=2))
    second, _ = await repo.create_appeal(new_appeal("e2", citizen_id=2))
    others, _ = await repo.create_appeal(new_appeal("e3", citizen_id=3))
    official = Official(1, "A")

    async def mark(appeal: Appeal, reference: str) -> ActionResult:
        return await officials.mark_duplicate(appeal.id, official, reference, chat_id=CHAT)

    assert (await mark(second, "2026-99999")).reason == "no_original"
    assert (await mark(second, second.reference)).reason == "no_original"
    assert (await mark(others, first.reference)).reason == "no_original"  # another citizen's
    done = await mark(second, first.reference)
    assert done.done and done.appeal is not None and done.appeal.duplicate_of == first.id
    assert first.reference in sent.to(2)[-1]
    assert (await mark(first, second.reference)).reason == "no_original"  # a duplicate


async def test_a_status_change_and_its_notice_commit_together(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> None:
    officials, sent = service(repo, catalog, clock, {})
    appeal, _ = await repo.create_appeal(new_appeal("f", language="ru"))
    outbox = beside("outbox", repo)
    actions: list[Callable[[], Awaitable[ActionResult]]] = [
        lambda: officials.take(appeal.id, Official(10, "Асель")),
        lambda: officials.extend(appeal.id, Official(10, "Асель"), date(2027, 1, 20), "экспертиза"),
        lambda: officials.answer(appeal.id, Official(10, "Асель"), Outcome.SATISFIED, "Готово"),
    ]
    for number, act in enumerate(actions, start=1):
        before = await repo.get_appeal(appeal.id)
        history = await repo.status_history(appeal.id)
        sent.fail = 1  # the notice cannot be written: the change must not stay either
        with pytest.raises(RuntimeError):
            await act()
        assert await repo.get_appeal(appeal.id) == before
        assert await repo.status_history(appeal.id) == history
        assert await outbox.pending_count() == number - 1
        assert (await act()).done  # tried again, both happen
        assert await outbox.pending_count() == number
    [status, extended, answer] = sent.to(1)
    assert "на рассмотрении" in status.lower() and "20 января 2027" in extended
    assert "Готово" in answer


@pytest.mark.parametrize("module", [officials_module, notifiers_module])
def test_the_service_speaks_no_telegram(module: ModuleType) -> None:
    """Texts, keyboards and Bot API payloads are the notifier's (bot/telegram, bot/views):
    the service imports neither them nor aiogram, and translates nothing itself."""
    tree = ast.parse(Path(str(module.__file__)).read_text(encoding="utf-8"))
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    telegram = ("aiogram", "bot.views", "bot.telegram")
    assert not [m for m in imported if m.split(".")[0] == "aiogram" or m.startswith(telegram)]
    calls = [n.func for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert not [f for f in calls if isinstance(f, ast.Name) and f.id in {"_", "gettext"}]
