"""Rules of subscriptions and announcements (issue #13), Telegram-free.

An announcement has a kind: a notice, a meeting with residents (who meets them, where,
when, its topics; citizens say they will come, with their access needs, and ask questions in
advance), or a poll (its question is the text; options and end time: `bot.domain.polls`).
Its texts in Kazakh and in Russian are both required, each short enough to go as one message
with its heading, and its districts are a non-empty set of the territory's districts (or
cities).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.catalog import Place, Territory
from bot.domain.validation import one_line, utf16_len, visible_length

NOTICE = "notice"
MEETING = "meeting"
POLL = "poll"
# The kinds the dialog offers, in its order.
KINDS: tuple[str, ...] = (MEETING, NOTICE, POLL)
LANGUAGES = ("kk", "ru")  # the order the texts are asked in

TEXT_MIN = 10
# One Telegram message is 4,096 UTF-16 units; the heading and the district's name get the rest.
TEXT_MAX = 3500
MEETING_TEXT_MAX = 2500


class AnnouncementTextProblem(StrEnum):
    EMPTY = "empty"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"


@dataclass(frozen=True, slots=True)
class AnnouncementText:
    text: str
    problem: AnnouncementTextProblem | None


def text_max(kind: str) -> int:
    """A meeting's heading (who, where, when, topics) takes room from its text."""
    return MEETING_TEXT_MAX if kind == MEETING else TEXT_MAX


def check_announcement_text(raw: str | None, longest: int = TEXT_MAX) -> AnnouncementText:
    """Spaces within a line collapse; line breaks stay, as the official wrote them."""
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in (raw or "").splitlines()]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if not text:
        return AnnouncementText(text, AnnouncementTextProblem.EMPTY)
    if len(text) < TEXT_MIN:
        return AnnouncementText(text, AnnouncementTextProblem.TOO_SHORT)
    if utf16_len(text) > longest:
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


# --- meetings with residents ----------------------------------------------------------------

WHO_MAX = 200  # who meets the residents: names and posts
PLACE_MAX = 200  # the address, the hall
LINE_MIN = 3
TOPICS_MAX = 6  # each becomes a button of the citizen's topic picker
TOPIC_MIN = 3
TOPIC_MAX = 50
# How the official types when the meeting is, in the akimat's time zone.
WHEN_FORMAT = "%d.%m.%Y %H:%M"
WHEN_EXAMPLE = "25.12.2026 15:00"
# What a citizen asks in advance: as long as a booking's question.
QUESTION_MIN = 10
QUESTION_MAX = 1000


class MeetingFieldProblem(StrEnum):
    EMPTY = "empty"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    NOT_A_TIME = "not_a_time"
    PAST = "past"
    TOO_MANY = "too_many"
    NOT_A_NUMBER = "not_a_number"


@dataclass(frozen=True, slots=True)
class MeetingLine:
    text: str
    problem: MeetingFieldProblem | None


def check_meeting_line(raw: str | None, longest: int) -> MeetingLine:
    """Who, or where: one line of `LINE_MIN` to `longest` characters."""
    text = one_line(raw)
    if not text:
        return MeetingLine(text, MeetingFieldProblem.EMPTY)
    if len(text) < LINE_MIN:
        return MeetingLine(text, MeetingFieldProblem.TOO_SHORT)
    if len(text) > longest:
        return MeetingLine(text, MeetingFieldProblem.TOO_LONG)
    return MeetingLine(text, None)


@dataclass(frozen=True, slots=True)
class MeetingTime:
    at: datetime | None  # aware, in the zone of `now`
    problem: MeetingFieldProblem | None


def parse_meeting_time(raw: str | None, now: datetime) -> MeetingTime:
    """«DD.MM.YYYY HH:MM» in the zone of `now` (the akimat's), later than `now`."""
    text = one_line(raw)
    if not text:
        return MeetingTime(None, MeetingFieldProblem.EMPTY)
    try:
        naive = datetime.strptime(text, WHEN_FORMAT)
    except ValueError:
        return MeetingTime(None, MeetingFieldProblem.NOT_A_TIME)
    at = naive.replace(tzinfo=now.tzinfo)
    if at <= now:
        return MeetingTime(at, MeetingFieldProblem.PAST)
    return MeetingTime(at, None)


@dataclass(frozen=True, slots=True)
class MeetingTopics:
    topics: tuple[str, ...]
    problem: MeetingFieldProblem | None


def check_topics(raw: str | None) -> MeetingTopics:
    """One topic a line (a leading bullet or number dropped), 1 to `TOPICS_MAX` of them, each
    short enough for a button; the same topic twice counts once."""
    topics: list[str] = []
    for line in (raw or "").splitlines():
        topic = one_line(re.sub(r"^\s*(?:[-•*–—]|\d+[.)])\s*", "", line))
        if topic and topic.casefold() not in {t.casefold() for t in topics}:
            topics.append(topic)
    if not topics:
        return MeetingTopics((), MeetingFieldProblem.EMPTY)
    if len(topics) > TOPICS_MAX:
        return MeetingTopics(tuple(topics), MeetingFieldProblem.TOO_MANY)
    if any(len(t) < TOPIC_MIN for t in topics):
        return MeetingTopics(tuple(topics), MeetingFieldProblem.TOO_SHORT)
    if any(len(t) > TOPIC_MAX for t in topics):
        return MeetingTopics(tuple(topics), MeetingFieldProblem.TOO_LONG)
    return MeetingTopics(tuple(topics), None)


def check_question(raw: str | None) -> MeetingLine:
    """A citizen's question in advance: spaces collapse, line breaks stay."""
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in (raw or "").splitlines()]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if not visible_length(text):
        return MeetingLine(text, MeetingFieldProblem.EMPTY)
    if visible_length(text) < QUESTION_MIN:
        return MeetingLine(text, MeetingFieldProblem.TOO_SHORT)
    if len(text) > QUESTION_MAX:
        return MeetingLine(text, MeetingFieldProblem.TOO_LONG)
    return MeetingLine(text, None)


def topic_of(topics: tuple[str, ...], value: str) -> tuple[bool, int | None]:
    """(known, index) of what a topic button carries: an index into `topics`, or "-" for
    «another topic» (index None); known is False for anything else (a forged or stale
    button)."""
    if value == "-":
        return True, None
    if value.isascii() and value.isdigit() and int(value) < len(topics):
        return True, int(value)
    return False, None


# --- a meeting moved, and how many came -----------------------------------------------------


class MeetingChangeProblem(StrEnum):
    """Why a meeting cannot be moved, or its attendance not entered (yet)."""

    CANCELLED = "cancelled"  # called off: nothing to move, nobody came
    BEGUN = "begun"  # its time has come: too late to move it
    NOT_YET = "not_yet"  # still ahead: nobody can have come yet
    PAST = "past"  # the new time is not in the future
    SAME = "same"  # the same time and place: nothing to tell anyone


def check_move(
    at: datetime,
    cancelled: bool,
    now: datetime,
    new_at: datetime | None = None,
    same_place: bool = True,
) -> MeetingChangeProblem | None:
    """Whether a meeting at `at` may be moved now, and (given `new_at`) to that time: only a
    meeting still ahead and not called off, to a time in the future that, with the place,
    changes something."""
    if cancelled:
        return MeetingChangeProblem.CANCELLED
    if at <= now:
        return MeetingChangeProblem.BEGUN
    if new_at is None:
        return None
    if new_at <= now:
        return MeetingChangeProblem.PAST
    if new_at == at and same_place:
        return MeetingChangeProblem.SAME
    return None


# How many came: a head count the organisers enter after the meeting.
ATTENDED_MAX = 10000


@dataclass(frozen=True, slots=True)
class AttendedCount:
    count: int | None
    problem: MeetingFieldProblem | None


def check_attended(raw: str | None) -> AttendedCount:
    """A whole number from 0 to `ATTENDED_MAX`, spaces allowed as thousands' separators
    («1 200»)."""
    text = re.sub(r"[\s\u00a0\u202f]+", "", raw or "")
    if not text:
        return AttendedCount(None, MeetingFieldProblem.EMPTY)
    if not (text.isascii() and text.isdigit()):
        return AttendedCount(None, MeetingFieldProblem.NOT_A_NUMBER)
    count = int(text)
    if count > ATTENDED_MAX:
        return AttendedCount(count, MeetingFieldProblem.TOO_MANY)
    return AttendedCount(count, None)


def may_enter_attended(at: datetime, cancelled: bool, now: datetime) -> MeetingChangeProblem | None:
    """How many came can be entered (and corrected) once the meeting's time has come, for a
    meeting that was not called off."""
    if cancelled:
        return MeetingChangeProblem.CANCELLED
    if at > now:
        return MeetingChangeProblem.NOT_YET
    return None
