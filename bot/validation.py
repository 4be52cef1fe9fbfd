"""Checks on what a citizen types, independent of Telegram."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from bot.catalog import Limits


class TextProblem(Enum):
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"


@dataclass(frozen=True)
class TextCheck:
    text: str
    problem: TextProblem | None


def check_appeal_text(raw: str, limits: Limits) -> TextCheck:
    text = re.sub(r"[ \t]+", " ", raw).strip()
    if len(text) < limits.text_min:
        return TextCheck(text, TextProblem.TOO_SHORT)
    if len(text) > limits.text_max:
        return TextCheck(text, TextProblem.TOO_LONG)
    return TextCheck(text, None)


def kazakhstan_phone(raw: str) -> str | None:
    """+7XXXXXXXXXX for a Kazakhstan number typed in any usual way, else None.

    Kazakhstan shares +7 with Russia; its national numbers start with 7 (mobile 70x/747/75x/
    77x, city codes 71x/72x), Russia's with 3, 4, 8 or 9.
    """
    if re.search(r"[^\d\s()+\-.]", raw):
        return None
    digits = re.sub(r"\D", "", raw)
    if len(digits) == 11 and digits[0] in "78":
        digits = digits[1:]
    if len(digits) != 10 or digits[0] != "7":
        return None
    return "+7" + digits


def display_phone(phone: str) -> str:
    d = phone.removeprefix("+7")
    if len(d) != 10:
        return phone
    return f"+7 {d[:3]} {d[3:6]} {d[6:8]} {d[8:]}"
