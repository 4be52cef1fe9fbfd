"""Issue #9, item 5: replies inside a dialog survive Telegram's hiccups (429, 5xx, a dropped
connection, a callback query too old to answer), and a citizen is never told "something went
wrong" when their step was in fact saved."""

from __future__ import annotations

import pytest

from tests.conftest import Harness
from tests.fakeapi import QUERY_TOO_OLD
from tests.test_e2e_appeal import VALID_TEXT, rows
from tests.test_e2e_bad_input import (
    CATEGORY_PROMPT,
    FILES_PROMPT,
    REGION_PROMPT,
    SORRY,
    fsm,
    new_dialog,
    to_category,
    to_text_step,
)

pytestmark = pytest.mark.e2e
USER = 1501


def attempts(h: Harness, since: int, method: str, text: str) -> list[bool]:
    """Whether each call of `method` carrying `text` failed, in order."""
    return [
        c.failed
        for c in h.fake.calls[since:]
        if c.method == method and text in (c.text or "")
    ]  # fmt: skip


def no_sorry(h: Harness, since: int = 0) -> None:
    tried = [c.text or "" for c in h.fake.calls[since:] if c.method == "sendMessage"]
    assert not [t for t in tried if SORRY in t], h.fake.dump(20)


async def test_a_429_on_a_prompt_is_waited_out(harness: Harness) -> None:
    h = harness
    await to_text_step(h, USER)
    since = h.fake.mark()
    h.fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", {"retry_after": 1})
    await h.say(USER, VALID_TEXT, expect=FILES_PROMPT)
    assert attempts(h, since, "sendMessage", FILES_PROMPT) == [True, False]
    no_sorry(h, since)


async def test_a_5xx_on_a_prompt_is_sent_again(harness: Harness) -> None:
    h = harness
    await to_text_step(h, USER)
    since = h.fake.mark()
    h.fake.fail_next("sendMessage", 502, "Bad Gateway")
    await h.say(USER, VALID_TEXT, expect=FILES_PROMPT)
    assert attempts(h, since, "sendMessage", FILES_PROMPT) == [True, False]
    no_sorry(h, since)


async def test_an_edit_is_repeated_through_a_5xx_and_a_dropped_connection(
    harness: Harness,
) -> None:
    h = harness
    _kinds, categories = await to_category(h, USER)
    since = h.fake.mark()
    # The "✔️ Category: …" edit: a 502, then Telegram makes the edit but the connection
    # drops before the answer; the third try finds it done ("not modified").
    h.fake.fail_next("editMessageText", 502, "Bad Gateway")
    h.fake.disconnect_next("editMessageText", handled=True)
    await h.click(USER, categories, "Уличное освещение", expect=REGION_PROMPT)
    edits = [c for c in h.fake.calls[since:] if c.method == "editMessageText"]
    assert [(c.failed, c.dropped) for c in edits] == [(True, False), (False, True), (True, False)]
    assert "message is not modified" in str(edits[2].error)
    no_sorry(h, since)
    assert fsm(h, USER)[0] == "AppealForm:region"


async def test_a_connection_dropped_before_telegram_took_the_prompt(harness: Harness) -> None:
    h = harness
    await to_text_step(h, USER)
    since = h.fake.mark()
    h.fake.disconnect_next("sendMessage")
    await h.say(USER, VALID_TEXT, expect=FILES_PROMPT)
    no_sorry(h, since)


async def test_a_query_too_old_to_answer_does_not_stop_the_step(harness: Harness) -> None:
    h = harness
    kinds = await new_dialog(h, USER)
    since = h.fake.mark()
    h.fake.fail_next("answerCallbackQuery", 400, QUERY_TOO_OLD)
    await h.click(USER, kinds, "Жалоба", expect=CATEGORY_PROMPT)
    state, data = fsm(h, USER)
    assert state == "AppealForm:category" and data["draft"]["kind"] == "complaint"
    no_sorry(h, since)


async def test_a_5xx_on_every_try_of_the_answer_does_not_stop_the_step(harness: Harness) -> None:
    h = harness
    kinds = await new_dialog(h, USER)
    since = h.fake.mark()
    h.fake.fail_next("answerCallbackQuery", 500, "Internal Server Error", times=3)
    await h.click(USER, kinds, "Жалоба", expect=CATEGORY_PROMPT)
    assert attempts(h, since, "answerCallbackQuery", "") == [True, True, True]
    no_sorry(h, since)


async def test_telegram_down_longer_than_the_bound_tells_the_citizen_nothing(
    harness: Harness,
) -> None:
    h = harness
    await to_text_step(h, USER)
    since = h.fake.mark()
    # A flood wait of a minute: not waited out inside a dialog.
    h.fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 60", {"retry_after": 60})
    h.fake.user_message(USER, VALID_TEXT)
    await h.fake.wait_for(lambda c: c.method == "sendMessage" and c.failed, since=since)
    # The next message is handled at once (nothing sleeps for a minute), and no "something
    # went wrong" was even tried: it would be undeliverable.
    follow_up = h.fake.mark()
    await h.say(USER, "/help", expect="/new")
    no_sorry(h, since)
    assert [c.failed for c in h.fake.calls[since:follow_up] if c.method == "sendMessage"] == [True]
    # The citizen never saw the next question, so the dialog stayed at the step they answered
    # (its state commits only with the handled update: storage.fsm): the text sent again is
    # read as the text, not as the files step's input.
    state, data = fsm(h, USER)
    assert state == "AppealForm:text" and "text" not in data["draft"]
    await h.say(USER, VALID_TEXT, expect=FILES_PROMPT)
    state, data = fsm(h, USER)
    assert state == "AppealForm:attachments" and data["draft"]["text"] == VALID_TEXT


async def test_the_outbox_sees_a_429_itself(harness: Harness) -> None:
    """The outbox keeps its retries in the database: the session must not swallow its 429s
    (nor make its sender wait) on its behalf."""
    h = harness
    h.fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", {"retry_after": 1})
    [row_id] = await h.app.outbox.send_text(USER, "Статус вашего обращения изменён.")
    await h.app.sender.drain(all_pending=True)
    [row] = rows(h, "SELECT sent_at, last_error FROM outbox WHERE id = ?", row_id)
    assert row["sent_at"] and "retry after" in row["last_error"]
