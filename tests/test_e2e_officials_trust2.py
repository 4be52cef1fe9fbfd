"""Adversarial review of the officials' side (rev2), over HTTP against the fake Bot API: what
«🔁 Duplicate of…» may name, and the officials' question and the citizen's «not solved»
comment each written with its message in one transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.services.officials import Official
from storage.models import Appeal, NewAppeal, Status
from tests.conftest import OFFICIALS, Harness
from tests.fakeapi import Call
from tests.test_e2e_appeal import rows
from tests.test_e2e_officials import card_of, open_prompt, reply_to, send_preview
from tests.test_e2e_officials_trust import EMPLOYMENT, departments  # noqa: F401 - a fixture

pytestmark = pytest.mark.e2e
ANNA, BOLAT = 821, 822
OFFICIAL = 900


async def filed(h: Harness, citizen: int, key: str) -> Appeal:
    """An appeal stored and its card posted (the citizen's dialog is tested elsewhere)."""
    now = h.clock()
    appeal, _created = await h.app.repo.create_appeal(
        NewAppeal(
            draft_key=key, citizen_id=citizen, kind="application", category="other",
            region="750000000", district="751110000",
            text=f"Обращение {key}: во дворе не горит фонарь.",
            contact_name="Асель Нурланова", contact_phone="+77015556677", language="ru",
            created_at=now, registered_on=now.date(), due_at=now + timedelta(days=20),
        )
    )  # fmt: skip
    await h.app.dp["officials"].publish(appeal)
    return appeal


async def duplicate_reply(h: Harness, card: Call, reference: str) -> Call:
    """Reply to a «🔁 Duplicate of…» prompt with `reference`: the preview, or the refusal."""
    return await reply_to(h, await open_prompt(h, card, "🔁"), reference)


def has_send(call: Call) -> bool:
    return "pr:send" in str(call.params.get("reply_markup"))


def status_of(h: Harness, reference: str) -> tuple[object, ...]:
    [row] = rows(h, f"SELECT status, duplicate_of FROM appeals WHERE reference = '{reference}'")
    return tuple(row)


async def test_a_duplicate_names_only_the_same_citizens_appeal_that_will_be_answered(
    harness: Harness,
) -> None:
    """Bolat's appeal marked a duplicate of Anna's: Bolat was told «it will be answered
    there, /my shows its status», and /my never shows Anna's appeal. Refused now, in the
    very words a number that does not exist gets; so is Anna's own appeal that she withdrew
    (answered nowhere) or that is itself a duplicate. Her appeal in work is named."""
    h = harness
    anna_first = await filed(h, ANNA, "anna-1")
    anna_gone = await filed(h, ANNA, "anna-2")
    anna_repeat = await filed(h, ANNA, "anna-3")
    bolat = await filed(h, BOLAT, "bolat-1")
    nowhere = await duplicate_reply(h, await card_of(h, bolat.reference), "2026-99999")
    assert not has_send(nowhere)
    assert "2026-00012" in (nowhere.text or "")  # the example in the refusal

    others = await duplicate_reply(h, await card_of(h, bolat.reference), anna_first.reference)
    assert not has_send(others)
    assert others.text == nowhere.text  # nothing said of whether Anna's number exists

    withdrawn = await h.app.repo.transition(
        anna_gone.id, frozenset({Status.REGISTERED}), Status.WITHDRAWN, f"citizen:{ANNA}",
        h.clock(),
    )  # fmt: skip
    assert withdrawn is not None
    refused = await duplicate_reply(h, await card_of(h, anna_repeat.reference), anna_gone.reference)
    assert not has_send(refused) and refused.text == nowhere.text

    since = h.fake.mark()
    preview = await duplicate_reply(
        h, await card_of(h, anna_repeat.reference), anna_first.reference
    )
    assert has_send(preview), preview.text
    await send_preview(h, preview)
    told = await h.reply(ANNA, since, expect=anna_first.reference)
    assert anna_repeat.reference in (told.text or "")
    # A duplicate is no original: its own duplicate would point at an appeal answered nowhere.
    chained = await duplicate_reply(h, await card_of(h, bolat.reference), anna_repeat.reference)
    assert not has_send(chained) and chained.text == nowhere.text

    assert status_of(h, bolat.reference) == ("registered", None)
    assert status_of(h, anna_repeat.reference) == ("duplicate", anna_first.id)
    assert h.texts_to(BOLAT) == []  # Bolat was told nothing


async def test_a_chat_cannot_name_another_departments_appeal_as_the_original(
    departments: Harness,  # noqa: F811
) -> None:
    """Anna's first appeal went to the employment department's chat. The main chat marking
    her second one a duplicate of it would learn that the employment chat's number exists
    (the refusal for a number that does not exist differed from the preview), and act on an
    appeal it does not hold: refused, in the words a number that does not exist gets."""
    h = departments
    first = await filed(h, ANNA, "anna-1")
    second = await filed(h, ANNA, "anna-2")
    moved = await h.app.dp["officials"].forward(first.id, Official(OFFICIAL, "O"), "employment")
    assert moved.done and moved.appeal is not None
    assert moved.appeal.officials_chat_id == EMPLOYMENT

    card = await card_of(h, second.reference)
    nowhere = await duplicate_reply(h, card, "2026-99999")
    refused = await duplicate_reply(h, card, first.reference)
    assert not has_send(refused), refused.text
    assert refused.text == nowhere.text
    assert status_of(h, second.reference) == ("registered", None)
    assert OFFICIALS != EMPLOYMENT
