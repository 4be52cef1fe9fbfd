"""The dialogs' step order, which dialog may start when, and the operator's catalog, without
Telegram."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.catalog import BUNDLED_CATALOG, CatalogError, load_catalog
from bot.domain.dialogs import APPEAL, BOOKING, command_of, dialog_of, draft_key, in_the_way
from bot.domain.wizard import EDITABLE, name_suggestion, next_step, previous_step, step_asking


def narrowed(tmp_path: Path, territory: str) -> Path:
    text = BUNDLED_CATALOG.read_text(encoding="utf-8")
    head, _sep, tail = text.partition("[territory]")
    rest = tail[tail.index("\n[", 1) :]
    path = tmp_path / "catalog.toml"
    path.write_text(f"{head}[territory]\n{territory}\n{rest}", encoding="utf-8")
    return path


def test_full_order_with_the_whole_country() -> None:
    catalog = load_catalog()
    draft: dict[str, str] = {}
    assert next_step("category", draft, catalog, editing=False) == "region"
    draft["region"] = "350000000"
    assert next_step("region", draft, catalog, editing=False) == "district"
    assert previous_step("text", draft, catalog) == "district"
    assert previous_step("kind", draft, catalog) is None


def test_one_district_akimat_skips_both_place_steps(tmp_path: Path) -> None:
    catalog = load_catalog(narrowed(tmp_path, 'districts = ["354800000"]'))
    assert [r.code for r in catalog.territory.regions] == ["350000000"]
    draft: dict[str, str] = {}
    assert next_step("category", draft, catalog, editing=False) == "text"
    assert draft == {"region": "350000000", "district": "354800000"}
    assert previous_step("text", draft, catalog) == "category"


def test_one_region_akimat_skips_the_region_step(tmp_path: Path) -> None:
    catalog = load_catalog(narrowed(tmp_path, 'regions = ["790000000"]'))
    draft: dict[str, str] = {}
    assert next_step("category", draft, catalog, editing=False) == "district"
    assert draft == {"region": "790000000"}
    assert previous_step("district", draft, catalog) == "category"


def test_editing_returns_to_the_review_except_after_a_new_region() -> None:
    catalog = load_catalog()
    draft = {"region": "350000000"}
    assert next_step("text", draft, catalog, editing=True) == "review"
    assert next_step("region", draft, catalog, editing=True) == "district"


def test_unknown_territory_code_is_a_clear_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="unknown codes"):
        load_catalog(narrowed(tmp_path, 'districts = ["999999999"]'))


def test_broken_catalog_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[[kinds]]\ncode = 'x'\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"broken\.toml"):
        load_catalog(path)


def test_steps_after_the_location_ask_who_is_appealing() -> None:
    catalog = load_catalog()
    draft: dict[str, str] = {"region": "350000000"}
    assert next_step("location", draft, catalog, editing=False) == "name"
    assert next_step("name", draft, catalog, editing=False) == "contact"
    assert next_step("contact", draft, catalog, editing=False) == "address"
    assert next_step("address", draft, catalog, editing=False) == "review"
    assert previous_step("review", draft, catalog) == "address"
    assert previous_step("contact", draft, catalog) == "name"
    assert next_step("name", draft, catalog, editing=True) == "review"
    assert next_step("address", draft, catalog, editing=True) == "review"
    assert {"name", "address", "contact"} <= set(EDITABLE)
    # A draft from before the name step was added: the review sends the citizen to it.
    assert step_asking("contact_name") == "name" and step_asking("contact_phone") == "contact"
    assert step_asking("text") == "text"


@pytest.mark.parametrize(
    ("draft", "expected"),
    [
        ({"profile_name": "Айгүл Серікқызы"}, ("Айгүл Серікқызы", True)),
        ({"profile_name": "  Айгүл   Серікқызы "}, ("Айгүл Серікқызы", True)),
        ({"profile_name": "Citizen"}, (None, False)),  # one word: nothing to confirm
        ({"profile_name": "🌸 Aika 🌸"}, (None, False)),
        ({}, (None, False)),
        # Back from a later step or editing from the review: the name they gave comes first.
        ({"profile_name": "Айгүл Серікқызы", "contact_name": "Серікова Айгүл"},
         ("Серікова Айгүл", False)),
        ({"profile_name": "Citizen", "contact_name": "Серікова Айгүл"},
         ("Серікова Айгүл", False)),
    ],
)  # fmt: skip
def test_the_name_offered_for_correct(
    draft: dict[str, str], expected: tuple[str | None, bool]
) -> None:
    assert name_suggestion(draft) == expected


@pytest.mark.parametrize(
    ("state", "wanted", "blocking"),
    [
        ("AppealForm:text", BOOKING, APPEAL),  # /book or 🗓 in the middle of an appeal
        ("BookingForm:day", APPEAL, BOOKING),  # /new or 📝 in the middle of a booking
        ("BookingForm:access_other", APPEAL, BOOKING),
        ("AppealForm:review", APPEAL, None),  # the same dialog simply continues
        ("BookingForm:slot", BOOKING, None),
        (None, APPEAL, None),
        (None, BOOKING, None),
        ("FeedbackForm:comment", BOOKING, None),  # an optional comment is no dialog to finish
    ],
)
def test_one_dialog_at_a_time(state: str | None, wanted: str, blocking: str | None) -> None:
    assert in_the_way(state, wanted) == blocking


def test_dialogs_know_their_drafts_and_commands() -> None:
    assert dialog_of("AppealForm:name") == APPEAL and dialog_of("BookingForm:review") == BOOKING
    assert dialog_of(None) is None and dialog_of("") is None
    assert draft_key(APPEAL, {"draft": {"draft_key": "a1"}}) == "a1"
    assert draft_key(BOOKING, {"booking": {"draft_key": "b1"}, "draft": {"draft_key": "a1"}}) == (
        "b1"
    )
    assert draft_key(BOOKING, {}) == ""
    assert [command_of(t) for t in ("/new", "/book@akimat_bot", "/BOOK x", "/", "new", None)] == [
        "new", "book", "book", None, None, None,
    ]  # fmt: skip
