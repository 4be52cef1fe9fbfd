"""The booking screens' buttons, without Telegram: free places in words, the citizen's own
place, what a move offers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.receptions import DayChoice
from bot.views import booking as view
from i18n.core import PoI18n

WEDNESDAY = date(2026, 11, 25)


@pytest.fixture(params=["ru", "kk"])
def lang(request: pytest.FixtureRequest) -> Iterator[str]:
    i18n = PoI18n()
    with i18n.context(), i18n.use_locale(request.param):
        yield request.param


@pytest.mark.parametrize(
    ("n", "ru", "kk"),
    [
        (1, "1 место", "1 орын"),
        (2, "2 места", "2 орын"),
        (5, "5 мест", "5 орын"),
        (11, "11 мест", "11 орын"),
        (18, "18 мест", "18 орын"),
        (21, "21 место", "21 орын"),
        (22, "22 места", "22 орын"),
    ],
)
def test_free_places_in_words(lang: str, n: int, ru: str, kk: str) -> None:
    assert view.places(n) == (ru if lang == "ru" else kk)


def test_the_kazakh_weekday_is_written_in_full(lang: str) -> None:
    expected = {"ru": "25 ноября, ср", "kk": "25 қараша, сәрсенбі"}
    assert view.day_label(WEDNESDAY, lang) == expected[lang]


def test_day_buttons(lang: str) -> None:
    held_at = datetime(2026, 12, 2, 10, 20, tzinfo=ZoneInfo("Asia/Almaty"))
    choices = [
        DayChoice(WEDNESDAY, 18),
        DayChoice(date(2026, 12, 2), 17, held_at),
        DayChoice(date(2026, 12, 9), 0),
    ]
    text, markup = view.days_screen(choices, lang)
    rows = [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard]
    assert "." not in text[:-1] and "·" not in str(rows)  # no "number after the dot" any more
    assert rows[0] == [(f"{view.day_label(WEDNESDAY, lang)} — {view.places(18)}",
                        "bk:day:2026-11-25:0")]  # fmt: skip
    assert rows[1][0][0].endswith("10:20") and rows[1][0][1] == "bk:held:2026-12-02:0"
    assert rows[2][0][1] == "bk:wait:2026-12-09:0"
    assert [d for _t, d in rows[3]] == ["bk:back:day:0", "bk:cancel:day:0"]

    # Moving booking 7: full days are left out, and the screen has its own Back and Cancel.
    _text, markup = view.days_screen(choices, lang, move=7)
    data = [b.callback_data for row in markup.inline_keyboard for b in row]
    assert data == [
        "bk:mday:2026-11-25:7", "bk:mheld:2026-12-02:7", "bk:mback::7", "bk:mstop::7"
    ]  # fmt: skip
