"""Views that must fit one Telegram message (4,096 UTF-16 units of visible text) do so at the
worst a person can type; the measure is Telegram's, where an emoji counts two."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.catalog import Catalog
from bot.domain.receptions import ACCESS_NEEDS, load_receptions
from bot.domain.validation import ADDRESS_MAX, NAME_MAX
from bot.views import appeal as appeal_view
from bot.views import booking as booking_view
from bot.views import lifecycle as lifecycle_view
from bot.views.card import CARD_TEXT_LIMIT, card_keyboard, card_text, contact_alert
from bot.views.common import ALERT_LIMIT, shorten, utf16_len
from bot.views.my_appeals import PAGE_SIZE, appeal_entry, status_label
from i18n.core import PoI18n
from storage.models import Appeal, Status
from tests.fakeapi import TEXT_LIMIT, visible_text

EMOJI = "🚧"  # two UTF-16 units
APPEAL_TEXT = EMOJI * 3500  # the most a citizen may type: 7,000 units
NAME = EMOJI * 64 + " " + EMOJI * 64  # first and last name at Telegram's 64 each
# The most the dialog takes for a full name and an address for a written answer.
FULL_NAME = "Һ" + "а" * 20 + " Ә" + "б" * 20 + " Ө" + "в" * 15
ADDRESS = EMOJI * (ADDRESS_MAX // 2)


@pytest.fixture(params=["ru", "kk"])
def lang(request: pytest.FixtureRequest) -> Iterator[str]:
    i18n = PoI18n()
    with i18n.context(), i18n.use_locale(request.param):
        yield request.param


def shown(html_text: str) -> int:
    return utf16_len(visible_text(html_text))


def worst_appeal(catalog: Catalog, lang: str, **changes: object) -> Appeal:
    now = datetime(2026, 11, 23, 5, tzinfo=UTC)
    kind = max(catalog.kinds, key=lambda k: utf16_len(k.name(lang)))
    category = max(catalog.categories, key=lambda c: utf16_len(c.name(lang)))
    fields: dict[str, object] = {
        "id": 1, "reference": "2026-00001", "citizen_id": 5, "kind": kind.code,
        "category": category.code, "region": "350000000", "district": "354800000",
        "text": APPEAL_TEXT, "language": lang, "status": Status.IN_PROGRESS,
        "created_at": now, "registered_on": now.date(), "due_at": now + timedelta(days=20),
        "contact_name": NAME, "contact_phone": "+77012345678", "contact_address": ADDRESS,
        "contact_address_kind": "postal",
        # Reopened by the citizen: an answer, an extension and names all shown at once.
        "answer_text": EMOJI * 3500, "answer_outcome": "partly", "answered_by_name": NAME,
        "taken_by_name": NAME, "extension_reason": EMOJI * 500, "solved": "no", "rating": 1,
    }  # fmt: skip
    fields.update(changes)
    return Appeal(**fields)  # type: ignore[arg-type]


def test_shorten_counts_utf16_units_and_never_splits_a_character() -> None:
    assert shorten("  short  ", 10) == "short"
    assert shorten("я" * 10, 10) == "я" * 10
    cut = shorten(EMOJI * 10, 10)
    assert cut == EMOJI * 4 + "…" and utf16_len(cut) == 9
    assert shorten("a" + EMOJI * 5, 4) == "a" + EMOJI + "…"
    assert shorten("a" + EMOJI * 5, 3) == "a…"  # half an emoji does not fit: left out
    assert utf16_len(shorten(APPEAL_TEXT, 1500)) <= 1500


def test_the_contact_alert_fits_and_keeps_the_phone() -> None:
    alert = contact_alert(NAME, "+77012345678")
    assert utf16_len(alert) <= ALERT_LIMIT
    assert alert.endswith("\n+77012345678") and alert.startswith(EMOJI)
    assert contact_alert(None, "+77012345678") == "—\n+77012345678"


def test_the_whole_contact_the_dialog_takes_fits_an_alert() -> None:
    assert len(FULL_NAME) == NAME_MAX and utf16_len(ADDRESS) == ADDRESS_MAX
    phone = "+" + "9" * 15  # a shared contact's number may be any country's: 15 digits at most
    alert = contact_alert(FULL_NAME, phone, ADDRESS)
    assert alert == f"{FULL_NAME}\n{phone}\n{ADDRESS}" and utf16_len(alert) <= ALERT_LIMIT
    # A longer name stored before names were checked is cut; the phone and address are not.
    alert = contact_alert(NAME, phone, ADDRESS)
    assert utf16_len(alert) <= ALERT_LIMIT and alert.endswith(f"…\n{phone}\n{ADDRESS}")


def test_the_card_fits_one_message_and_offers_the_rest(catalog: Catalog, lang: str) -> None:
    """The card is edited in place after every action, so it cannot be split."""
    appeal = worst_appeal(catalog, lang)
    text = card_text(appeal, catalog, lang, forward_overdue=True)
    assert shown(text) <= TEXT_LIMIT
    assert offers_show_all(appeal, catalog)
    # 351 emoji are 702 units: more than the card shows, so «Show all» is offered.
    assert offers_show_all(worst_appeal(catalog, lang, text=EMOJI * 351), catalog)
    assert not offers_show_all(
        worst_appeal(catalog, lang, text=EMOJI * (CARD_TEXT_LIMIT // 2)), catalog
    )


def offers_show_all(appeal: Appeal, catalog: Catalog) -> bool:
    rows = card_keyboard(appeal, catalog, -1).inline_keyboard
    return any("📄" in button.text for row in rows for button in row)


def test_a_page_of_my_appeals_fits_one_message(catalog: Catalog, lang: str) -> None:
    """A page is edited in place under its buttons: five entries at their longest."""
    appeal = worst_appeal(catalog, lang)
    entries = [appeal_entry(appeal, catalog, lang, -100) for _ in range(PAGE_SIZE)]
    # The header as handlers.my_appeals.render_page writes it.
    page = "\n\n".join(["<b>Your appeals</b> (1 of 1000)", *entries])
    assert shown(page) <= TEXT_LIMIT


def test_the_appeal_review_fits_one_message(catalog: Catalog, lang: str) -> None:
    draft = {
        "kind": max(catalog.kinds, key=lambda k: utf16_len(k.name(lang))).code,
        "category": max(catalog.categories, key=lambda c: utf16_len(c.name(lang))).code,
        "region": "350000000", "district": "354800000", "text": APPEAL_TEXT,
        "attachments": [{}] * 5, "latitude": 1.0, "contact_name": NAME,
        "contact_phone": "+77012345678", "contact_address": ADDRESS,
    }  # fmt: skip
    assert shown(appeal_view.review_text(draft, catalog, lang)) <= TEXT_LIMIT


def test_the_booking_review_fits_one_message(catalog: Catalog, lang: str) -> None:
    reception = load_receptions(catalog).receptions[0]
    draft = {
        "slot": datetime(2026, 11, 25, 10, tzinfo=UTC).isoformat(), "topic": EMOJI * 1000,
        "access": list(ACCESS_NEEDS), "access_other": EMOJI * 300,
        "contact_name": NAME, "contact_phone": "+77012345678", "draft_key": "k",
    }  # fmt: skip
    text, _markup = booking_view.review_screen(draft, reception, lang, None)
    assert shown(text) <= TEXT_LIMIT


def test_the_lifecycle_alerts_fit(lang: str) -> None:
    """The alerts of withdrawing, adding and answering, with the longest status name."""
    longest = max(
        (status_label(s, external=e) for s in Status for e in (False, True)), key=utf16_len
    )
    alerts = [
        lifecycle_view.not_open_alert("2026-99999", longest),
        lifecycle_view.nothing_yet(),
        lifecycle_view.already_answered(),
    ]
    assert all(utf16_len(alert) <= ALERT_LIMIT for alert in alerts), alerts
