"""Dates and numbers in the citizen's language (Babel's CLDR data for kk and ru)."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from babel.dates import format_date


# Babel parses the locale and walks CLDR's pattern on every call, about 40 µs; a date's text
# depends only on the date and the language, and the dialogs show the same few dozen days
# (the booking's 28, today's deadlines) over and over.
@lru_cache(maxsize=4096)
def long_date(value: date, locale: str) -> str:
    """CLDR's own long form: "22 декабря 2026 г.", "2026 ж. 22 желтоқсан".

    CLDR puts a narrow no-break space (U+202F) before "г."; fonts on older phones draw it as
    a box, so it becomes an ordinary no-break space."""
    return format_date(value, "long", locale=locale).replace("\u202f", "\u00a0")


def date_time(value: datetime, locale: str) -> str:
    return f"{long_date(value.date(), locale)}, {value:%H:%M}"
