"""The rules of withdrawing, adding to an appeal and officials' questions, without Telegram
(issue #10, items 2-4); tests/test_e2e_lifecycle.py drives the same through the bot."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, datetime

import pytest

from bot.domain.catalog import Catalog, Department
from bot.domain.status import OPEN_STATUSES, TRANSITIONS, sources_of
from bot.services.erasure import redact
from bot.services.lifecycle import AppealLifecycle, Refused
from bot.services.officials import Official
from bot.views import notices
from bot.views.lifecycle_notices import LifecycleNotices
from bot.views.my_appeals import appeal_status_label, status_label
from i18n.core import PoI18n
from storage.base import Repository
from storage.lifecycle import AddOutcome, LifecycleStore, NewAddition
from storage.models import Appeal, Attachment, Outcome, Status
from storage.prompts import NewPrompt, PromptAction, PromptState
from tests.backends import beside
from tests.conftest import ALMATY, FrozenClock
from tests.test_officials_service import CHAT, Recorder, service
from tests.test_storage import NOW, new_appeal

ASKER = Official(10, "Асқар")
# The store and service tests run on SQLite and on PostgreSQL, but for those marked otherwise.
pytestmark = pytest.mark.every_backend


def lifecycle_store(repo: Repository) -> LifecycleStore:
    return beside("lifecycle", repo)  # type: ignore[no-any-return]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


def lifecycle_of(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> tuple[AppealLifecycle, Recorder]:
    officials, sent = service(repo, catalog, clock, {})
    notices = LifecycleNotices(sent.outbox, PoI18n(), "ru")
    lifecycle = AppealLifecycle(
        officials, beside("lifecycle", repo), beside("prompts", repo), clock, notices=notices
    )
    return lifecycle, sent


def addition(appeal_id: int, key: str, question_id: int | None = None) -> NewAddition:
    return NewAddition(
        appeal_id, key, "Дом 12", (Attachment("photo", f"{key}-p"),), question_id=question_id
    )


def test_withdrawn_is_reached_only_from_an_open_appeal() -> None:
    assert sources_of(Status.WITHDRAWN) == {
        Status.REGISTERED,
        Status.IN_PROGRESS,
        Status.FORWARDED,
    }
    assert sources_of(Status.CLOSED) == {Status.ANSWERED}
    assert TRANSITIONS[Status.WITHDRAWN] == frozenset()  # and nothing follows it


@pytest.mark.parametrize("status", [Status.REGISTERED, Status.IN_PROGRESS, Status.FORWARDED])
async def test_an_open_appeal_is_withdrawn_by_its_citizen_only(
    repo: Repository, catalog: Catalog, clock: FrozenClock, status: Status
) -> None:
    lifecycle, sent = lifecycle_of(repo, catalog, clock)
    appeal, _ = await repo.create_appeal(new_appeal("w"))
    await repo.set_officials_chat(appeal.id, CHAT)
    await repo.update_fields(appeal.id, status=status)
    assert (await lifecycle.withdraw(appeal.id, citizen_id=2)).reason == "missing"
    done = await lifecycle.withdraw(appeal.id, citizen_id=1)
    assert done.done and done.appeal is not None and done.appeal.status == Status.WITHDRAWN
    assert any("отозвал обращение" in text for text in sent.to(CHAT))
    again = await lifecycle.withdraw(appeal.id, citizen_id=1)
    assert not again.done and again.reason == "already"
    # Officials can no longer answer it.
    answered = await lifecycle.officials.answer(appeal.id, ASKER, Outcome.SATISFIED, "Готово")
    assert not answered.done


@pytest.mark.parametrize("status", [Status.ANSWERED, Status.CLOSED, Status.DUPLICATE])
async def test_a_finished_appeal_is_not_withdrawn(
    repo: Repository, catalog: Catalog, clock: FrozenClock, status: Status
) -> None:
    lifecycle, _ = lifecycle_of(repo, catalog, clock)
    appeal, _ = await repo.create_appeal(new_appeal("f"))
    await repo.update_fields(appeal.id, status=status)
    result = await lifecycle.withdraw(appeal.id, citizen_id=1)
    assert not result.done and result.appeal is not None and result.appeal.status == status


async def test_withdrawing_voids_the_prompts_waiting_on_the_appeal(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> None:
    lifecycle, sent = lifecycle_of(repo, catalog, clock)
    appeal, _ = await repo.create_appeal(new_appeal("v"))
    other, _ = await repo.create_appeal(new_appeal("o", citizen_id=2))
    store = lifecycle.prompts
    for message_id, appeal_id in ((50, appeal.id), (51, appeal.id), (52, other.id)):
        new = NewPrompt(CHAT, message_id, appeal_id, PromptAction.ANSWER, 10, "Асқар")
        await store.add(new, NOW, NOW)
    waiting = await store.by_message(CHAT, 51)
    assert waiting is not None
    await store.set_draft(waiting.id, "Ответ", None, NOW)
    await store.set_preview_message(waiting.id, 60)
    await lifecycle.withdraw(appeal.id, citizen_id=1)
    states = {m: (await store.by_message(CHAT, m)).state for m in (50, 51, 52)}  # type: ignore[union-attr]
    assert states == {50: PromptState.VOID, 51: PromptState.VOID, 52: PromptState.OPEN}
    retired = [p for chat, method, p in sent.sent if method == "editMessageReplyMarkup"]
    assert retired == [{"message_id": 60}]  # the preview loses its «Send»


async def test_a_withdrawal_whose_rows_fail_to_be_written_is_not_withdrawn(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> None:
    """A disk error as the withdrawal's rows are written (the preview retired, the note to
    the chat): `withdrawn` and the prompts' end go with them, so the citizen's next «Yes»
    does all of it, and the chat is told once. Before, the appeal stayed withdrawn with
    its prompts open and the chat never told, and the next «Yes» said «already»."""
    lifecycle, sent = lifecycle_of(repo, catalog, clock)
    appeal, _ = await repo.create_appeal(new_appeal("d"))
    await repo.set_officials_chat(appeal.id, CHAT)
    new = NewPrompt(CHAT, 50, appeal.id, PromptAction.ANSWER, 10, "Асқар")
    prompt = await lifecycle.prompts.add(new, NOW, NOW)
    await lifecycle.prompts.set_draft(prompt.id, "Ответ", None, NOW)
    await lifecycle.prompts.set_preview_message(prompt.id, 60)

    sent.fail = 1
    with pytest.raises(RuntimeError, match="disk I/O error"):
        await lifecycle.withdraw(appeal.id, citizen_id=1)
    stored = await repo.get_appeal(appeal.id)
    assert stored is not None and stored.status is Status.REGISTERED
    waiting = await lifecycle.prompts.get(prompt.id)
    assert waiting is not None and waiting.state is PromptState.PREVIEW
    assert sent.sent == []

    assert (await lifecycle.withdraw(appeal.id, citizen_id=1)).done
    assert (await lifecycle.withdraw(appeal.id, citizen_id=1)).reason == "already"
    assert len([t for t in sent.to(CHAT) if "отозвал обращение" in t]) == 1
    assert [p for _, method, p in sent.sent if method == "editMessageReplyMarkup"] == [
        {"message_id": 60}
    ]
    ended = await lifecycle.prompts.get(prompt.id)
    assert ended is not None and ended.state is PromptState.VOID


async def test_an_addition_is_stored_once_and_only_while_the_appeal_is_open(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> None:
    lifecycle, sent = lifecycle_of(repo, catalog, clock)
    appeal, _ = await repo.create_appeal(new_appeal("a"))
    await repo.set_officials_chat(appeal.id, CHAT)
    assert (await lifecycle.add(2, addition(appeal.id, "k0"))).refused is Refused.MISSING
    first = await lifecycle.add(1, addition(appeal.id, "k1"))
    assert first.done and first.outcome is AddOutcome.ADDED
    repeated = await lifecycle.add(1, addition(appeal.id, "k1"))  # «Done» again
    assert repeated.done and repeated.outcome is AddOutcome.REPEATED
    assert [a.files for a in await lifecycle.store.additions(appeal.id)] == [1]
    stored = await repo.get_appeal(appeal.id)
    assert stored is not None and [f.file_id for f in stored.attachments] == ["p1", "k1-p"]
    assert len([t for t in sent.to(CHAT) if "дополняет обращение" in t]) == 1
    await lifecycle.withdraw(appeal.id, citizen_id=1)
    late = await lifecycle.add(1, addition(appeal.id, "k2"))
    assert not late.done and late.refused is Refused.CLOSED
    assert len(await lifecycle.store.additions(appeal.id)) == 1


async def test_an_invisible_text_is_no_addition_and_no_answer(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> None:
    lifecycle, sent = lifecycle_of(repo, catalog, clock)
    appeal, _ = await repo.create_appeal(new_appeal("a"))
    await repo.set_officials_chat(appeal.id, CHAT)
    blank = NewAddition(appeal.id, "k1", "\u200b\u200b\u200b", ())
    assert (await lifecycle.add(1, blank)).refused is Refused.EMPTY
    question = await lifecycle.store.add_question(
        appeal.id, ASKER.id, ASKER.name, "Какой дом?", None, NOW, OPEN_STATUSES
    )
    assert question is not None
    answer = NewAddition(appeal.id, "k2", "\u2063" * 5, (), question_id=question.id)
    assert (await lifecycle.add(1, answer)).refused is Refused.EMPTY
    assert await lifecycle.store.additions(appeal.id) == []
    # With a file the caption of which shows nothing, the file is added without a text.
    with_file = NewAddition(appeal.id, "k3", "\u200b", (Attachment("photo", "p"),))
    assert (await lifecycle.add(1, with_file)).done
    [added] = await lifecycle.store.additions(appeal.id)
    assert not added.text and added.files == 1
    assert not any("\u200b" in t for t in sent.to(CHAT))


async def test_a_withdrawal_between_the_check_and_the_write_wins(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> None:
    """The store checks the status inside its own transaction."""
    store = lifecycle_store(repo)
    appeal, _ = await repo.create_appeal(new_appeal("r"))
    await repo.update_fields(appeal.id, status=Status.WITHDRAWN)
    open_now = frozenset({Status.REGISTERED})
    _added, outcome = await store.add(addition(appeal.id, "x"), "citizen:1", NOW, open_now)
    assert outcome is AddOutcome.CLOSED
    assert await store.add_question(appeal.id, 10, "A", "?", None, NOW, open_now) is None


async def test_a_question_is_answered_once_and_a_second_one_leaves_the_first_open(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> None:
    lifecycle, sent = lifecycle_of(repo, catalog, clock)
    appeal, _ = await repo.create_appeal(new_appeal("q", language="kk"))
    assert (await lifecycle.ask(appeal.id, ASKER, "Үйдің нөмірі қандай?", "form-1")).done
    assert (await lifecycle.ask(appeal.id, ASKER, "Қашаннан бері?")).done
    # In the appeal's language, to its citizen; a document the official attached comes first.
    document, question, _second = [(what, body) for chat, what, body in sent.sent if chat == 1]
    assert document == ("sendDocument", {"document": "form-1", "caption": "№ 2026-00001"})
    assert "№ 2026-00001 өтінішіңіз бойынша сұрақ" in question[0]
    first, second = 1, 2
    assert (await lifecycle.question_to_answer(first, 2)).refused is Refused.MISSING
    assert (await lifecycle.question_to_answer(second, 1)).refused is None
    assert (await lifecycle.add(1, addition(appeal.id, "a2", second))).done
    assert (await lifecycle.question_to_answer(second, 1)).refused is Refused.ANSWERED
    assert (await lifecycle.question_to_answer(first, 1)).refused is None
    again = await lifecycle.add(1, addition(appeal.id, "a3", second))
    assert again.refused is Refused.ANSWERED
    # An answer names its own appeal: question 1 is not answered from another appeal.
    elsewhere, _ = await repo.create_appeal(new_appeal("q2"))
    wrong = await lifecycle.add(1, addition(elsewhere.id, "a4", first))
    assert wrong.refused is Refused.MISSING
    # Once the appeal is answered, the open question can no longer be answered.
    await lifecycle.officials.answer(appeal.id, ASKER, Outcome.SATISFIED, "Дайын")
    assert (await lifecycle.question_to_answer(first, 1)).refused is Refused.CLOSED


async def test_nobody_is_asked_on_a_closed_or_forgotten_appeal(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> None:
    lifecycle, sent = lifecycle_of(repo, catalog, clock)
    closed, _ = await repo.create_appeal(new_appeal("c"))
    await repo.update_fields(closed.id, status=Status.ANSWERED)
    assert (await lifecycle.ask(closed.id, ASKER, "Вопрос?")).reason == "already"
    forgotten, _ = await repo.create_appeal(new_appeal("g", citizen_id=3))
    await beside("erasure", repo).erase(3, NOW, redact)
    assert (await lifecycle.ask(forgotten.id, ASKER, "Вопрос?")).reason == "already"
    assert sent.sent == []


async def test_forget_erases_what_the_citizen_added_and_was_asked(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> None:
    lifecycle, _ = lifecycle_of(repo, catalog, clock)
    appeal, _ = await repo.create_appeal(new_appeal("e"))
    await lifecycle.ask(appeal.id, ASKER, "Телефоныңыз дұрыс па?")
    await lifecycle.add(1, addition(appeal.id, "e1", 1))
    await beside("erasure", repo).erase(1, NOW, redact)
    for table in ("appeal_additions", "appeal_questions", "attachments"):
        row = await repo.db.fetchone(f"SELECT count(*) FROM {table}")  # type: ignore[attr-defined]
        assert row is not None and row[0] == 0, table


def test_forwarded_names_a_department_or_another_body(catalog: Catalog) -> None:
    department = Department("employment", "Жұмыспен қамту бөлімі", "Отдел занятости", -1)
    body = Department("prosecutor", "Облыстық прокуратура", "Прокуратура области", -2, True)
    with_both = replace(catalog, departments=(department, body))
    appeal = _forwarded_appeal("employment")
    i18n = PoI18n()
    with i18n.context(), i18n.use_locale("kk"):
        # Language review #7: a department of the same akimat is not «another body».
        assert status_label(Status.FORWARDED) == "Құзыретті бөлімге жолданды"
        assert appeal_status_label(appeal, with_both) == "Құзыретті бөлімге жолданды"
        to_body = _forwarded_appeal("prosecutor")
        assert appeal_status_label(to_body, with_both) == "Басқа органға жолданды"
        kept = notices.status_notice(appeal, with_both, ALMATY)
        assert "Жұмыспен қамту бөлімі" in kept and "мерзім өзгермейді" in kept
        assert "2026\u00a0ж. 22 желтоқсан" in kept
        own = notices.status_notice(to_body, with_both, ALMATY)
        assert "Облыстық прокуратура" in own and "тіркелген күннен бастап" in own
    with i18n.context(), i18n.use_locale("ru"):
        kept = notices.status_notice(replace(appeal, language="ru"), with_both, ALMATY)
        assert "передано в профильный отдел: Отдел занятости" in kept
        assert "срок не меняется" in kept and "22 декабря 2026" in kept


def _forwarded_appeal(department: str) -> Appeal:
    due = datetime(2026, 12, 22, 18, 30, tzinfo=ALMATY)
    return Appeal(
        id=1, reference="2026-00001", citizen_id=1, kind="complaint", category="roads",
        region="350000000", district="354800000", text="…", language="kk",
        status=Status.FORWARDED, created_at=NOW, registered_on=date(2026, 11, 23), due_at=due,
        department=department,
    )  # fmt: skip


async def previewed_question(lifecycle: AppealLifecycle, appeal_id: int) -> int:
    """A «❓» prompt with its question under preview, waiting for «Send»; its id."""
    new = NewPrompt(CHAT, 70, appeal_id, PromptAction.ASK, ASKER.id, ASKER.name)
    prompt = await lifecycle.prompts.add(new, NOW, NOW)
    await lifecycle.prompts.set_draft(prompt.id, "Какой дом?", None, NOW)
    await lifecycle.prompts.set_preview_message(prompt.id, 71)
    return prompt.id


async def test_two_sends_of_one_question_ask_it_once(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> None:
    """Two «Send» of one preview at once (two instances, a press and its retry): one
    question, one message to the citizen, and both are told it is done."""
    lifecycle, sent = lifecycle_of(repo, catalog, clock)
    appeal, _ = await repo.create_appeal(new_appeal("q"))
    prompt_id = await previewed_question(lifecycle, appeal.id)

    async def send() -> bool:
        asked = await lifecycle.ask(appeal.id, ASKER, "Какой дом?", prompt_id=prompt_id)
        return asked.done

    assert list(await asyncio.gather(send(), send())) == [True, True]
    assert len([t for t in sent.to(1) if "Какой дом?" in t]) == 1
    history = [actor for _, actor, _ in await repo.status_history(appeal.id)]
    assert history.count(f"official:{ASKER.id}") == 1  # «question 1 asked»
    prompt = await lifecycle.prompts.get(prompt_id)
    assert prompt is not None and prompt.state is PromptState.DONE


async def test_a_question_whose_message_fails_to_be_written_is_not_asked(
    repo: Repository, catalog: Catalog, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk error as the question's message is written: the question, its history line
    and its prompt's «done» go with it, so the next «Send» asks once."""
    lifecycle, sent = lifecycle_of(repo, catalog, clock)
    appeal, _ = await repo.create_appeal(new_appeal("e"))
    prompt_id = await previewed_question(lifecycle, appeal.id)
    outbox = lifecycle.outbox

    async def disk_error(conn: object, rows: object, **named: object) -> list[int]:
        raise OSError("disk I/O error")

    with monkeypatch.context() as patched:
        patched.setattr(outbox, "queue_in", disk_error)
        with pytest.raises(OSError, match="disk I/O error"):
            await lifecycle.ask(appeal.id, ASKER, "Какой дом?", prompt_id=prompt_id)
    prompt = await lifecycle.prompts.get(prompt_id)
    assert prompt is not None and prompt.state is PromptState.PREVIEW
    history = [actor for _, actor, _ in await repo.status_history(appeal.id)]
    assert f"official:{ASKER.id}" not in history
    assert (await lifecycle.ask(appeal.id, ASKER, "Какой дом?", prompt_id=prompt_id)).done
    assert len([t for t in sent.to(1) if "Какой дом?" in t]) == 1
