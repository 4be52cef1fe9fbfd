"""The officials' prompts on each backend: recorded once per message, each change of state once,
and prompts past their time expire in one statement (only live ones, earliest first, at most
`limit` a call, each once)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest

from storage.base import Repository
from storage.outbox import NewMessage, Outgoing
from storage.prompts import NewPrompt, Prompt, PromptAction, PromptState, PromptStore
from tests.backends import beside
from tests.test_storage import NOW, new_appeal

CHAT = -500
MINUTE = timedelta(minutes=1)


pytestmark = pytest.mark.every_backend


async def test_expire_due_ends_the_live_prompts_past_their_time(repo: Repository) -> None:
    store: PromptStore = beside("prompts", repo)
    appeal, _ = await repo.create_appeal(new_appeal("p"))

    async def prompt(message_id: int, expires_in: timedelta) -> int:
        new = NewPrompt(CHAT, message_id, appeal.id, PromptAction.ANSWER, 10, "Асқар")
        return (await store.add(new, NOW, NOW + expires_in)).id

    late = await prompt(1, 2 * MINUTE)
    early = await prompt(2, MINUTE)
    previewed = await prompt(3, 3 * MINUTE)
    await store.set_draft(previewed, "Ответ", None, NOW + 3 * MINUTE)
    await store.set_preview_message(previewed, 30)
    done = await prompt(4, MINUTE)
    assert await store.finish(done, PromptState.DONE)
    future = await prompt(5, 10 * MINUTE)

    now = NOW + 5 * MINUTE
    first = await store.expire_due(now, limit=2)
    assert [p.id for p in first] == [early, late]  # earliest first, no more than the limit
    rest = await store.expire_due(now)
    assert [(p.id, p.preview_message_id) for p in rest] == [(previewed, 30)]
    assert await store.expire_due(now) == []  # each prompt expires once

    states = {i: (await store.get(i)).state for i in (early, late, previewed, done, future)}  # type: ignore[union-attr]
    assert states == {
        early: PromptState.EXPIRED,
        late: PromptState.EXPIRED,
        previewed: PromptState.EXPIRED,
        done: PromptState.DONE,
        future: PromptState.OPEN,
    }
    expired = await store.get(previewed)
    assert expired is not None and expired.draft_text is None  # the draft goes with it


async def test_a_prompt_is_recorded_once_and_finished_once(repo: Repository) -> None:
    store: PromptStore = beside("prompts", repo)
    appeal, _ = await repo.create_appeal(new_appeal("p"))
    new = NewPrompt(CHAT, 7, appeal.id, PromptAction.ANSWER, 10, "Асқар", outcome="satisfied")
    first = await store.add(new, NOW, NOW + MINUTE)
    assert await store.add(new, NOW, NOW + 2 * MINUTE) == first  # a redelivered update
    assert first.live and first.outcome == "satisfied" and first.expires_at == NOW + MINUTE
    assert await store.by_message(CHAT, 7) == first
    assert await store.by_message(CHAT, 8) is None
    # Two presses of «Send» (or two instances) at once: one of them finishes it.
    results = await asyncio.gather(*(store.finish(first.id, PromptState.DONE) for _ in range(4)))
    assert sorted(results) == [False, False, False, True]
    assert not await store.set_draft(first.id, "late", None, NOW)
    replaced = await store.add(
        NewPrompt(CHAT, 9, appeal.id, PromptAction.EXTEND, 10, "Асқар"), NOW, NOW + MINUTE
    )
    assert await store.set_draft(replaced.id, "draft", "file-1", NOW + 2 * MINUTE)
    assert await store.finish(
        replaced.id, PromptState.REPLACED, from_states=(PromptState.PREVIEW,)
    )  # fmt: skip
    gone = await store.get(replaced.id)
    assert gone is not None and gone.state == PromptState.REPLACED and gone.draft_text is None
    assert await store.void_for_appeal(appeal.id) == []  # nothing live is left


async def test_an_expiry_and_what_it_writes_commit_together(repo: Repository) -> None:
    """`then` writes the expiry's notices in its transaction: when writing them fails, the
    prompt is not expired either, and the next call expires it and writes them."""
    store: PromptStore = beside("prompts", repo)
    outbox = beside("outbox", repo)
    appeal, _ = await repo.create_appeal(new_appeal("p"))
    new = NewPrompt(CHAT, 1, appeal.id, PromptAction.ANSWER, 10, "Асқар")
    prompt = (await store.add(new, NOW, NOW + MINUTE)).id
    seen: list[tuple[list[int], dict[int, str]]] = []

    async def notice(conn: Any, expired: list[Prompt], references: Mapping[int, str]) -> None:
        seen.append(([p.id for p in expired], dict(references)))
        rows = [Outgoing(CHAT, [NewMessage("sendMessage", {"text": "⌛"}, "expired")], NOW)]
        await outbox.write_in(conn, rows)

    async def failing(conn: Any, expired: list[Prompt], references: Mapping[int, str]) -> None:
        await notice(conn, expired, references)
        raise RuntimeError("the process dies here")

    with pytest.raises(RuntimeError):
        await store.expire_due(NOW + 2 * MINUTE, then=failing)
    assert (await store.get(prompt)).state is PromptState.OPEN  # type: ignore[union-attr]
    assert await outbox.pending_count() == 0

    assert [p.id for p in await store.expire_due(NOW + 2 * MINUTE, then=notice)] == [prompt]
    assert (await store.get(prompt)).state is PromptState.EXPIRED  # type: ignore[union-attr]
    assert await outbox.pending_count() == 1
    assert seen[-1] == ([prompt], {appeal.id: appeal.reference})
    assert await store.expire_due(NOW + 2 * MINUTE, then=failing) == []  # nothing to write


async def test_an_extension_draft_keeps_the_deadline_its_preview_showed(repo: Repository) -> None:
    store: PromptStore = beside("prompts", repo)
    appeal, _ = await repo.create_appeal(new_appeal("p"))
    new = NewPrompt(CHAT, 1, appeal.id, PromptAction.EXTEND, 10, "Асқар")
    prompt = await store.add(new, NOW, NOW + MINUTE)
    assert prompt.draft_due_at is None
    assert await store.set_draft(prompt.id, "причина", None, NOW + MINUTE, appeal.due_at)
    kept = await store.get(prompt.id)
    assert kept is not None and kept.draft_due_at == appeal.due_at
    # A later reply to the same prompt is a preview of its own, against its own deadline.
    assert await store.set_draft(prompt.id, "причина", None, NOW + MINUTE)
    again = await store.get(prompt.id)
    assert again is not None and again.draft_due_at is None


async def test_a_prompt_reserved_before_it_is_posted(repo: Repository) -> None:
    """Recorded before it is posted: POSTING, with a placeholder no message has (several at
    once in one chat); `posted` opens it with its message id, once; one never completed is
    found by its chat and official, and never by a message or as due to expire."""
    store: PromptStore = beside("prompts", repo)
    appeal, _ = await repo.create_appeal(new_appeal("p"))
    new = NewPrompt(CHAT, 0, appeal.id, PromptAction.ASK, 10, "Асқар")
    first = await store.reserve(new, NOW, NOW + MINUTE)
    second = await store.reserve(new, NOW, NOW + MINUTE)
    other = await store.reserve(NewPrompt(CHAT, 0, appeal.id, PromptAction.ASK, 11, "Б"), NOW, NOW)
    assert {first.state, second.state} == {PromptState.POSTING}
    assert first.message_id < 0 and second.message_id < 0
    assert first.message_id != second.message_id

    opened = await store.posted(first.id, 77)
    assert opened is not None and (opened.state, opened.message_id) == (PromptState.OPEN, 77)
    assert await store.posted(first.id, 78) is None  # once
    assert (await store.by_message(CHAT, 77)) == opened
    assert [p.id for p in await store.unposted(CHAT, 10)] == [second.id]
    assert await store.unposted(CHAT + 1, 10) == []
    assert await store.finish(other.id, PromptState.CANCELLED, from_states=(PromptState.POSTING,))
    assert await store.unposted(CHAT, 11) == []
    assert [p.id for p in await store.expire_due(NOW + 5 * MINUTE)] == [first.id]
    assert (await store.get(second.id)).state == PromptState.POSTING  # type: ignore[union-attr]
