"""Receptions of citizens (the issue's "open receptions"): who receives, where, when, and the
slots a citizen may book. The schedule lives in the catalog's `[booking]` and `[[receptions]]`
sections; this module reads them itself so the core catalog stays about appeals."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.catalog import Catalog, CatalogError
from bot.domain.deadlines import WorkCalendar, public_holidays

# What a citizen may need to attend a reception, or a meeting with residents.
ACCESS_NEEDS = ("wheelchair", "sign_language", "companion")


def access_mask(codes: Iterable[str]) -> int:
    """The needs as bits, short enough for a button's callback data."""
    return sum(1 << ACCESS_NEEDS.index(c) for c in set(codes) if c in ACCESS_NEEDS)


def access_codes(mask: int) -> tuple[str, ...]:
    """The needs of `mask`, in `ACCESS_NEEDS` order; unknown bits are ignored."""
    return tuple(code for n, code in enumerate(ACCESS_NEEDS) if mask & (1 << n))


class ReceptionError(CatalogError, ValueError):
    """Bad reception data. A CatalogError, so `python -m bot` stops with one clear line."""


@dataclass(frozen=True)
class Panelist:
    name_kk: str
    name_ru: str
    post_kk: str
    post_ru: str

    def name(self, lang: str) -> str:
        return self.name_kk if lang == "kk" else self.name_ru

    def post(self, lang: str) -> str:
        return self.post_kk if lang == "kk" else self.post_ru


@dataclass(frozen=True)
class Reception:
    code: str
    kk: str
    ru: str
    panel: tuple[Panelist, ...]
    topics_kk: str
    topics_ru: str
    address_kk: str
    address_ru: str
    access_kk: str
    access_ru: str
    weekdays: tuple[int, ...]  # 0 = Monday
    start: time
    end: time
    slot_minutes: int
    capacity: int  # citizens per slot
    # One-off sessions: they happen even on a holiday or on another weekday.
    dates: tuple[date, ...] = ()

    def name(self, lang: str) -> str:
        return self.kk if lang == "kk" else self.ru

    def topics(self, lang: str) -> str:
        return self.topics_kk if lang == "kk" else self.topics_ru

    def address(self, lang: str) -> str:
        return self.address_kk if lang == "kk" else self.address_ru

    def access(self, lang: str) -> str:
        return self.access_kk if lang == "kk" else self.access_ru

    def panel_text(self, lang: str) -> str:
        return "; ".join(
            f"{p.name(lang)} — {p.post(lang)}" if p.post(lang) else p.name(lang) for p in self.panel
        )


@dataclass(frozen=True)
class BookingRules:
    lead: timedelta = timedelta(hours=2)  # no slot starting sooner than this is offered
    horizon_days: int = 28  # how far ahead booking is open
    reminder_day_before: time = time(18, 0)  # local time, on the day before the session
    reminder_before: timedelta = timedelta(hours=2)
    waitlist_hold: timedelta = timedelta(hours=2)  # how long a freed place waits for an answer


@dataclass(frozen=True)
class ReceptionCatalog:
    receptions: tuple[Reception, ...] = ()
    rules: BookingRules = field(default_factory=BookingRules)

    @cached_property
    def _by_code(self) -> dict[str, Reception]:
        return {r.code: r for r in self.receptions}

    def get(self, code: str) -> Reception | None:
        return self._by_code.get(code)


@dataclass(frozen=True)
class Slot:
    reception: str
    start: datetime  # timezone-aware, local
    end: datetime


@dataclass(frozen=True)
class FreeSlot:
    slot: Slot
    free: int


@dataclass(frozen=True)
class DayChoice:
    """A session day as the citizen choosing it sees it."""

    day: date
    free: int  # places they could take (0: full, the waiting list)
    held: datetime | None = None  # the local time of their own place in this session


# --- loading ------------------------------------------------------------------------------

_RULE_KEYS = {
    "lead_hours",
    "horizon_days",
    "reminder_day_before",
    "reminder_before_minutes",
    "waitlist_hold_minutes",
}
_RECEPTION_KEYS = {
    "code",
    "kk",
    "ru",
    "panel",
    "topics_kk",
    "topics_ru",
    "address_kk",
    "address_ru",
    "access_kk",
    "access_ru",
    "weekdays",
    "start",
    "end",
    "slot_minutes",
    "capacity",
    "dates",
}
_REQUIRED_KEYS = ("code", "kk", "ru", "address_kk", "address_ru", "start", "end")
_PANELIST_KEYS = ("name_kk", "name_ru", "post_kk", "post_ru")


def load_receptions(catalog: Catalog) -> ReceptionCatalog:
    """Read `[booking]` and `[[receptions]]` from the catalog's TOML file. A catalog copied
    before receptions existed has neither: no receptions, default rules."""
    path = Path(catalog.source)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ReceptionError(f"Catalog error in {path}: {exc}") from None
    try:
        return parse_receptions(raw)
    except ReceptionError as exc:
        raise ReceptionError(f"Catalog error in {path}: {exc}") from None


def parse_receptions(raw: Mapping[str, Any]) -> ReceptionCatalog:
    """The receptions part of an already parsed catalog; ReceptionError on bad data."""
    rules = _rules(raw.get("booking", {}))
    entries = raw.get("receptions", [])
    if not isinstance(entries, list):
        raise ReceptionError("receptions: use [[receptions]] tables")
    receptions = tuple(_reception(entry, i) for i, entry in enumerate(entries))
    codes = [r.code for r in receptions]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise ReceptionError(f"receptions: duplicate codes {duplicates}")
    return ReceptionCatalog(receptions, rules)


def _rules(cfg: Any) -> BookingRules:
    if not isinstance(cfg, Mapping):
        raise ReceptionError("[booking] must be a table")
    _no_unknown_keys(cfg, _RULE_KEYS, "[booking]")
    default = BookingRules()
    lead_hours = _number(cfg, "lead_hours", default.lead / timedelta(hours=1), "[booking]")
    horizon = _number(cfg, "horizon_days", default.horizon_days, "[booking]")
    before = _number(
        cfg, "reminder_before_minutes", default.reminder_before / timedelta(minutes=1), "[booking]"
    )
    hold = _number(
        cfg, "waitlist_hold_minutes", default.waitlist_hold / timedelta(minutes=1), "[booking]"
    )
    if lead_hours < 0 or before < 0:
        raise ReceptionError("[booking]: lead_hours and reminder_before_minutes must be >= 0")
    if horizon < 1 or horizon != int(horizon):
        raise ReceptionError("[booking]: horizon_days must be a whole number >= 1")
    if hold <= 0:
        raise ReceptionError("[booking]: waitlist_hold_minutes must be > 0")
    return BookingRules(
        lead=timedelta(hours=lead_hours),
        horizon_days=int(horizon),
        reminder_day_before=_time(
            cfg.get("reminder_day_before", default.reminder_day_before), "[booking]"
        ),
        reminder_before=timedelta(minutes=before),
        waitlist_hold=timedelta(minutes=hold),
    )


def _reception(entry: Any, index: int) -> Reception:
    where = f"reception #{index + 1}"
    if not isinstance(entry, Mapping):
        raise ReceptionError(f"{where}: must be a table")
    if isinstance(entry.get("code"), str) and entry["code"]:
        where = f"reception {entry['code']!r}"
    _no_unknown_keys(entry, _RECEPTION_KEYS, where)
    missing = [k for k in _REQUIRED_KEYS if not entry.get(k)]
    if missing:
        raise ReceptionError(f"{where}: missing {', '.join(missing)}")
    start = _time(entry["start"], f"{where}: start")
    end = _time(entry["end"], f"{where}: end")
    slot_minutes = _number(entry, "slot_minutes", None, where)
    capacity = _number(entry, "capacity", None, where)
    if end <= start:
        raise ReceptionError(f"{where}: end {end:%H:%M} must be after start {start:%H:%M}")
    if slot_minutes <= 0 or slot_minutes != int(slot_minutes):
        raise ReceptionError(f"{where}: slot_minutes must be a whole number > 0")
    if capacity <= 0 or capacity != int(capacity):
        raise ReceptionError(f"{where}: capacity must be a whole number > 0")
    if _minutes(end) - _minutes(start) < slot_minutes:
        raise ReceptionError(f"{where}: no {int(slot_minutes)}-minute slot fits {start}–{end}")
    weekdays = entry.get("weekdays", [])
    if not isinstance(weekdays, list) or any(
        isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6 for d in weekdays
    ):
        raise ReceptionError(f"{where}: weekdays must be a list of 0..6 (0 = Monday)")
    dates = tuple(sorted({_date(d, where) for d in _list(entry, "dates", where)}))
    if not weekdays and not dates:
        raise ReceptionError(f"{where}: give weekdays, dates or both")
    return Reception(
        code=str(entry["code"]),
        kk=_text(entry, "kk", where),
        ru=_text(entry, "ru", where),
        panel=tuple(_panelist(p, where) for p in _list(entry, "panel", where)),
        topics_kk=_text(entry, "topics_kk", where),
        topics_ru=_text(entry, "topics_ru", where),
        address_kk=_text(entry, "address_kk", where),
        address_ru=_text(entry, "address_ru", where),
        access_kk=_text(entry, "access_kk", where),
        access_ru=_text(entry, "access_ru", where),
        weekdays=tuple(sorted(set(weekdays))),
        start=start,
        end=end,
        slot_minutes=int(slot_minutes),
        capacity=int(capacity),
        dates=dates,
    )


def _panelist(entry: Any, where: str) -> Panelist:
    if not isinstance(entry, Mapping):
        raise ReceptionError(f"{where}: use [[receptions.panel]] tables for the panel")
    _no_unknown_keys(entry, set(_PANELIST_KEYS), f"{where}: panel")
    if not entry.get("name_kk") or not entry.get("name_ru"):
        raise ReceptionError(f"{where}: every panel member needs name_kk and name_ru")
    return Panelist(*(_text(entry, k, f"{where}: panel") for k in _PANELIST_KEYS))


def _no_unknown_keys(cfg: Mapping[str, Any], known: set[str], where: str) -> None:
    # A misspelt key would otherwise be ignored and its default used without a word.
    unknown = sorted(set(cfg) - known)
    if unknown:
        raise ReceptionError(f"{where}: unknown keys {unknown}")


def _text(cfg: Mapping[str, Any], key: str, where: str) -> str:
    value = cfg.get(key, "")
    if not isinstance(value, str):
        raise ReceptionError(f"{where}: {key} must be text")
    return value.strip()


def _list(cfg: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = cfg.get(key, [])
    if not isinstance(value, list):
        raise ReceptionError(f"{where}: {key} must be a list")
    return value


def _number(cfg: Mapping[str, Any], key: str, default: float | None, where: str) -> float:
    value = cfg.get(key, default)
    if value is None:
        raise ReceptionError(f"{where}: missing {key}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ReceptionError(f"{where}: {key} must be a number, not {value!r}")
    return value


def _time(value: Any, where: str) -> time:
    # TOML has a local-time type (10:00:00) but operators will mostly write "10:00".
    try:
        parsed = value if isinstance(value, time) else time.fromisoformat(str(value))
    except ValueError:
        parsed = None
    # Slots are whole minutes; a zone would fight the TIMEZONE setting.
    if parsed is None or parsed.second or parsed.microsecond or parsed.tzinfo:
        raise ReceptionError(f'{where}: {value!r} is not a time like "10:00"')
    return parsed


def _date(value: Any, where: str) -> date:
    if isinstance(value, datetime):
        raise ReceptionError(f"{where}: dates must be days like 2026-12-11, not {value}")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ReceptionError(f"{where}: {value!r} is not a date like 2026-12-11") from None


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


# --- planning -----------------------------------------------------------------------------


class SlotPlanner:
    """Which days a reception sits and which of its slots a citizen may still book."""

    def __init__(self, receptions: ReceptionCatalog, calendar: WorkCalendar, tz: ZoneInfo) -> None:
        self.receptions = receptions
        self.calendar = calendar
        self.tz = tz

    @property
    def rules(self) -> BookingRules:
        return self.receptions.rules

    def sits_on(self, reception: Reception, day: date) -> bool:
        """Whether the schedule puts a session on `day`, cancellations aside."""
        if day in reception.dates:
            return True
        if day.weekday() not in reception.weekdays:
            return False
        if self.calendar.is_working_day(day):
            return True
        # A Saturday or Sunday the operator listed on purpose is kept, unless it is a public
        # holiday or a decreed day off: is_working_day alone would silently drop every one.
        return (
            day.weekday() >= 5
            and day not in self.calendar.extra_days_off
            and day not in public_holidays(day.year)
        )

    def session_days(
        self, reception: Reception, today: date, cancelled: frozenset[date] = frozenset()
    ) -> list[date]:
        """Session days in [today, today + horizon): the weekly rule on working days, one-off
        dates whatever the calendar says, minus cancelled days."""
        days = (today + timedelta(days=i) for i in range(self.rules.horizon_days))
        return [d for d in days if d not in cancelled and self.sits_on(reception, d)]

    def slots(self, reception: Reception, day: date) -> list[Slot]:
        # Walk the wall clock and attach the zone to each time, so a DST change (none in
        # Almaty today, but TIMEZONE is a setting) cannot shift a slot off its printed hour.
        step = reception.slot_minutes
        first, last = _minutes(reception.start), _minutes(reception.end)
        return [
            Slot(
                reception.code,
                datetime.combine(day, _clock(m), tzinfo=self.tz),
                datetime.combine(day, _clock(m + step), tzinfo=self.tz),
            )
            for m in range(first, last - step + 1, step)
        ]

    def bookable(
        self, reception: Reception, now: datetime, cancelled: frozenset[date] = frozenset()
    ) -> list[Slot]:
        """Slots from now's local date on that start at or after now + lead, in time order."""
        earliest = now + self.rules.lead
        today = now.astimezone(self.tz).date()
        return [
            slot
            for day in self.session_days(reception, today, cancelled)
            for slot in self.slots(reception, day)
            if slot.start >= earliest
        ]


def _clock(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


# --- one citizen, one place at a time -------------------------------------------------


@dataclass(frozen=True)
class Held:
    """A place a citizen holds: which reception, from when, for how long."""

    reception: str
    start: datetime
    minutes: int

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.minutes)


def clashing(wanted: Held, held: Iterable[Held]) -> Held | None:
    """The place at another reception whose time overlaps `wanted`, if any: a citizen cannot
    be at two receptions at once. At the same reception the store's one place per session
    decides (a place of the same session is the draft's own booking or a second one)."""
    for place in held:
        if place.reception == wanted.reception:
            continue
        if place.start < wanted.end and wanted.start < place.end:
            return place
    return None
