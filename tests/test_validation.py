"""What citizens type: phone numbers, appeal text, place names, status rules."""

from __future__ import annotations

import pytest

from bot.catalog import Catalog, Limits, Territory
from bot.status import can_transition, is_open
from bot.textfold import fold
from bot.validation import TextProblem, check_appeal_text, display_phone, kazakhstan_phone
from storage.models import Status


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("+7 701 234 56 78", "+77012345678"),
        ("87012345678", "+77012345678"),
        ("8 (701) 234-56-78", "+77012345678"),
        ("7012345678", "+77012345678"),
        ("+7 727 250 00 00", "+77272500000"),  # Almaty landline
        ("+7 916 123 45 67", None),  # Russian mobile
        ("12345", None),
        ("+44 20 7946 0958", None),
        ("call me", None),
        ("", None),
    ],
)
def test_kazakhstan_phone(typed: str, expected: str | None) -> None:
    assert kazakhstan_phone(typed) == expected


def test_display_phone() -> None:
    assert display_phone("+77012345678") == "+7 701 234 56 78"


def test_appeal_text_limits() -> None:
    limits = Limits(text_min=10, text_max=3500)
    assert check_appeal_text("   коротко  ", limits).problem is TextProblem.TOO_SHORT
    assert check_appeal_text("x" * 3501, limits).problem is TextProblem.TOO_LONG
    ok = check_appeal_text("  Жол   бұзылған, өтуге болмайды  ", limits)
    assert ok.problem is None and ok.text == "Жол бұзылған, өтуге болмайды"


def test_fold_matches_russian_letter_spellings_and_latin_lookalikes() -> None:
    assert fold("Қарқаралы") == fold("Каркаралы")
    assert fold("Осақаров") == fold("осакаров")
    assert fold("Абаi") == fold("Абай".replace("й", "і"))  # Latin i typed for і


def test_district_search_by_code_never_by_name(catalog: Catalog) -> None:
    t = catalog.territory
    abai_districts = [
        d for r in t.regions for d in t.districts_of(r.code) if fold(d.kk) == fold("Абай ауданы")
    ]
    assert len({d.code for d in abai_districts}) == len(abai_districts) >= 2
    karaganda = t.place("350000000")
    assert karaganda is not None
    found = Territory.search(t.districts_of("350000000"), "каркаралы")
    assert [p.code for p in found] == ["354800000"]
    assert [p.code for p in Territory.search(t.regions, "Qarağandy")] == ["350000000"]


def test_baikonyr_is_hidden_by_the_bundled_catalog(catalog: Catalog) -> None:
    assert catalog.territory.place("431900000") is None


def test_status_rules() -> None:
    assert can_transition(Status.REGISTERED, Status.IN_PROGRESS)
    assert can_transition(Status.ANSWERED, Status.IN_PROGRESS)  # "not solved" re-opens
    assert not can_transition(Status.CLOSED, Status.IN_PROGRESS)
    assert not can_transition(Status.REGISTERED, Status.CLOSED)
    assert is_open(Status.FORWARDED) and not is_open(Status.ANSWERED)
    assert "rejected" not in {s.value for s in Status}  # the law forbids refusing to accept
