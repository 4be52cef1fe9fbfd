"""Prompts past their time expire in one statement: only live ones, earliest first, at most
`limit` a call, each once."""

from __future__ import annotations

from datetime import timedelta

from storage.prompts import NewPrompt, PromptAction, PromptState
from storage.sqlite.prompts import SQLitePromptStore
from storage.sqlite.repository import SQLiteRepository
from tests.test_storage import NOW, new_appeal

CHAT = -500
MINUTE = timedelta(minutes=1)


async def test_expire_due_ends_the_live_prompts_past_their_time(repo: SQLiteRepository) -> None:
    store = SQLitePromptStore(repo.db)
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
