"""bench/calls.py still runs: its dialog reaches the end against the fake Bot API and every
kind of call it recorded gets a row. No figure is checked (timing belongs in bench/)."""

from __future__ import annotations

import pytest

from bench import calls
from bot.telegram import binding

pytestmark = pytest.mark.e2e


async def test_the_calls_bench_has_a_row_for_every_kind_of_call() -> None:
    was_direct = binding.binds_directly()
    rows = await calls.measure(repeats=1)
    *kinds, total = rows
    assert total.kind == "all" and total.calls == sum(r.calls for r in kinds)
    names = {r.kind for r in kinds}
    assert len(names) == len(kinds)
    # The dialog's own: questions sent, presses answered and their messages edited, the
    # updates polled, the booking's access toggle.
    assert {
        "SendMessage",
        "EditMessageText",
        "AnswerCallbackQuery",
        "GetUpdates",
        "EditMessageReplyMarkup",
    } <= names
    for r in rows:
        assert r.calls > 0
        timed = (r.body_form, r.body_before, r.body_ours, r.answer_before, r.answer_ours)
        assert all(t >= 0 for t in timed)
    assert binding.binds_directly() == was_direct  # the binding it found is put back
