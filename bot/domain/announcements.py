"""Rules of subscriptions and announcements (issue #13), Telegram-free.

An announcement has a kind; this release implements the notice, and the officials' dialog
offers exactly the kinds implemented (meetings and polls come later). Its texts in Kazakh and
in Russian are both required, each short enough to go as one message with its heading, and its
districts are a non-empty set of the territory's districts (or cities).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.catalog import Place, Territory
from bot.domain.validation import utf16_len

NOTICE = "notice"
# The kinds the dialog offers: only those implemented.
KINDS: tuple[str, ...] = (NOTICE,)
LANGUAGES = ("kk", "ru")  # the order the texts are asked in

TEXT_MIN = 10
# One Telegram message is 4,096 UTF-16 units; the heading and the district's name get the rest.
TEXT_MAX = 3500


class AnnouncementTextProblem(StrEnum):
    EMPTY = "empty"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"


@dataclass(frozen=True, slots=True)
class AnnouncementText:
    text: str
    problem: AnnouncementTextProblem | None


def check_announcement_text(raw: str | None) -> AnnouncementText:
    """Spaces within a line collapse; line breaks stay, as the official wrote them."""
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in (raw or "").splitlines()]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if not text:
        return AnnouncementText(text, AnnouncementTextProblem.EMPTY)
    if len(text) < TEXT_MIN:
        return AnnouncementText(text, AnnouncementTextProblem.TOO_SHORT)
    if utf16_len(text) > TEXT_MAX:
        return AnnouncementText(text, AnnouncementTextProblem.TOO_LONG)
    return AnnouncementText(text, None)


def all_districts(territory: Territory) -> tuple[Place, ...]:
    """Every district (or city) of the territory, region by region."""
    return tuple(d for region in territory.regions for d in territory.districts_of(region.code))


def the_only_district(territory: Territory) -> str | None:
    """The district to use without asking, when the territory has just one."""
    districts = all_districts(territory)
    return districts[0].code if len(districts) == 1 else None


def toggle(chosen: list[str], code: str, territory: Territory) -> list[str]:
    """`chosen` with `code` added or removed, in the territory's order; unknown codes never
    get in (a forged button)."""
    known = [d.code for d in all_districts(territory)]
    if code not in known:
        return [c for c in known if c in chosen]
    wanted = set(chosen) ^ {code}
    return [c for c in known if c in wanted]


def choose_all(chosen: list[str], territory: Territory) -> list[str]:
    """Every district, or none when every one was chosen already (the button toggles)."""
    known = [d.code for d in all_districts(territory)]
    return [] if set(known) <= set(chosen) else known


def region_of(territory: Territory, district: str) -> Place | None:
    for region in territory.regions:
        if any(d.code == district for d in territory.districts_of(region.code)):
            return region
    return None
