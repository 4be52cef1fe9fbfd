"""The rules of announcements (bot/domain/announcements.py): the texts officials may send, and
the choice of districts."""

from __future__ import annotations

from bot.domain.announcements import (
    KINDS,
    TEXT_MAX,
    AnnouncementTextProblem,
    all_districts,
    check_announcement_text,
    choose_all,
    region_of,
    the_only_district,
    toggle,
)
from bot.domain.catalog import Catalog, Place, Territory

REGION = Place("100000000", "Абай облысы", "Абайская область", type="region")
SEMEY = Place("101000000", "Семей қаласы", "г. Семей", parent=REGION.code)
KURCHATOV = Place("101800000", "Курчатов қаласы", "г. Курчатов", parent=REGION.code)
ONE = Territory(regions=(REGION,), districts={REGION.code: (SEMEY,)})
TWO = Territory(regions=(REGION,), districts={REGION.code: (SEMEY, KURCHATOV)})


def test_meetings_and_notices_are_offered_until_polls_exist() -> None:
    assert KINDS == ("meeting", "notice", "poll")


def test_texts_are_tidied_and_bounded_in_telegrams_units() -> None:
    tidy = check_announcement_text("  Ертең   жиналыс\n\n\n\n сағат 10:00-де  ")
    assert tidy.problem is None and tidy.text == "Ертең жиналыс\n\nсағат 10:00-де"
    assert check_announcement_text(None).problem is AnnouncementTextProblem.EMPTY
    assert check_announcement_text("  \n ").problem is AnnouncementTextProblem.EMPTY
    assert check_announcement_text("Қысқа").problem is AnnouncementTextProblem.TOO_SHORT
    assert check_announcement_text("ж" * TEXT_MAX).problem is None
    assert check_announcement_text("ж" * (TEXT_MAX + 1)).problem is AnnouncementTextProblem.TOO_LONG
    # An emoji is two units in Telegram's count: half as many fit.
    emoji = "📢" * (TEXT_MAX // 2 + 1)
    assert check_announcement_text(emoji).problem is AnnouncementTextProblem.TOO_LONG


def test_districts_toggle_in_the_territorys_order_and_forged_codes_stay_out() -> None:
    assert toggle([], KURCHATOV.code, TWO) == [KURCHATOV.code]
    assert toggle([KURCHATOV.code], SEMEY.code, TWO) == [SEMEY.code, KURCHATOV.code]
    assert toggle([SEMEY.code, KURCHATOV.code], SEMEY.code, TWO) == [KURCHATOV.code]
    assert toggle([SEMEY.code], "999999999", TWO) == [SEMEY.code]
    assert toggle([SEMEY.code, "999999999"], "999999999", TWO) == [SEMEY.code]
    assert choose_all([SEMEY.code], TWO) == [SEMEY.code, KURCHATOV.code]
    assert choose_all([SEMEY.code, KURCHATOV.code], TWO) == []


def test_a_territory_with_one_district_needs_no_choice(catalog: Catalog) -> None:
    assert the_only_district(ONE) == SEMEY.code
    assert the_only_district(TWO) is None
    assert the_only_district(catalog.territory) is None
    assert len(all_districts(catalog.territory)) > 100
    assert region_of(TWO, KURCHATOV.code) == REGION
    assert region_of(TWO, "999999999") is None
