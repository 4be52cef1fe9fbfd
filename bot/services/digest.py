"""The officials' daily digest: yesterday's appeals and answers, ratings, and what is overdue or
due soon, for one officials chat, sent once a day (docs/architecture.md → Digest)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from html import escape
from typing import Any, Protocol

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from babel.numbers import format_decimal, format_percent

from bot.domain.catalog import Catalog
from bot.domain.deadlines import WorkCalendar
from bot.domain.status import OPEN_STATUSES
from bot.views.my_appeals import status_label
from i18n.core import ngettext
from i18n.formatting import long_date
from storage.digest import DigestQueries, OpenAppeals, local_day_bounds
from storage.models import Status
from storage.outbox import Outgoing

log = logging.getLogger(__name__)

LIST_LIMIT = 15
# The rating window is named in a message ("for 30 days"): change both together.
RATING_DAYS = 30
DUE_SOON_WORKING_DAYS = 3
# As wide as a digit in phone fonts, unlike an ordinary space: right-aligns the counts
# without a <pre> block, which would stop long names from wrapping.
FIGURE_SPACE = "\u2007"


class TextSender(Protocol):
    """The part of bot.delivery.outbox.Outbox the digest uses."""

    async def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        reply_markup: Any = None,
        dedupe_key: str | None = None,
        purpose: str | None = None,
    ) -> list[int]: ...

    def text(
        self,
        chat_id: int,
        text: str,
        *,
        reply_markup: Any = None,
        dedupe_key: str | None = None,
        purpose: str | None = None,
    ) -> Outgoing: ...

    async def queue_in(self, conn: Any, batches: Sequence[Outgoing]) -> list[int]: ...

    def poke(self) -> None: ...


@dataclass(frozen=True, slots=True)
class OverdueItem:
    reference: str
    days_overdue: int
    department: str | None


@dataclass(frozen=True, slots=True)
class DueSoonItem:
    reference: str
    due_on: date
    department: str | None


@dataclass(frozen=True)
class DigestData:
    """Everything one digest shows, as plain values: `day` is the local day it reports on;
    the overdue and due-soon lists are as of the moment it was built."""

    day: date
    new_total: int = 0
    by_category: tuple[tuple[str, int], ...] = ()
    by_district: tuple[tuple[str, int], ...] = ()
    by_status: tuple[tuple[str, int], ...] = ()
    answered: int = 0
    answered_on_time: int = 0
    rating_average: float | None = None
    rating_count: int = 0
    overdue: tuple[OverdueItem, ...] = ()
    overdue_total: int = 0
    due_soon: tuple[DueSoonItem, ...] = ()
    due_soon_total: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return self.answered_on_time / self.answered if self.answered else None

    @property
    def is_empty(self) -> bool:
        return not (self.new_total or self.answered or self.overdue_total or self.due_soon_total)


def digest_key(chat_id: int, day: date) -> str:
    return f"digest:{chat_id}:{day.isoformat()}"


def officials_chats(default_chat_id: int | None, catalog: Catalog) -> list[int]:
    """Every chat that receives appeals: the default one and those the catalog routes to."""
    chats = [default_chat_id] if default_chat_id is not None else []
    chats += [*catalog.route_districts.values(), *catalog.route_categories.values()]
    chats += [d.chat_id for d in catalog.departments]
    return list(dict.fromkeys(chats))


# rendering


def _bold(text: str) -> str:
    return f"<b>{text}</b>"


def _count_lines(pairs: list[tuple[str, int]]) -> list[str]:
    """'  12 · Name' lines, counts right-aligned, the tail folded into one '…and N more'."""
    shown, rest = pairs[:LIST_LIMIT], pairs[LIST_LIMIT:]
    rest_sum = sum(n for _name, n in rest)
    width = max(len(str(n)) for n in [*(n for _name, n in shown), rest_sum])
    lines = [f"{str(n).rjust(width, FIGURE_SPACE)} · {name}" for name, n in shown]
    if rest:
        more = ngettext("…and {n} more", "…and {n} more", len(rest)).format(n=len(rest))
        lines.append(f"{str(rest_sum).rjust(width, FIGURE_SPACE)} · {more}")
    return lines


def _more_line(total: int, shown: int) -> list[str]:
    hidden = total - shown
    if hidden <= 0:
        return []
    return [ngettext("…and {n} more", "…and {n} more", hidden).format(n=hidden)]


def _department(value: str | None) -> str:
    return escape(value) if value else _("no department")


def _category_name(code: str, catalog: Catalog, lang: str) -> str:
    category = catalog.category(code)
    return escape(category.name(lang) if category else code)


def _district_name(code: str, catalog: Catalog, lang: str) -> str:
    place = catalog.territory.place(code)
    return escape(place.name(lang) if place else code)


def _status_name(code: str) -> str:
    try:
        return status_label(Status(code))
    except ValueError:
        return escape(code)


def _new_appeals(data: DigestData, catalog: Catalog, lang: str) -> list[str]:
    if not data.new_total:
        return [_("No new appeals yesterday.")]

    def ordered(pairs: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
        return sorted(pairs, key=lambda p: (-p[1], p[0]))

    return [
        _bold("📥 " + _("New appeals: {n}").format(n=data.new_total)),
        _("By category:"),
        *_count_lines(ordered((_category_name(c, catalog, lang), n) for c, n in data.by_category)),
        _("By district:"),
        *_count_lines(ordered((_district_name(d, catalog, lang), n) for d, n in data.by_district)),
        _("Their status now:"),
        *_count_lines(ordered((_status_name(s), n) for s, n in data.by_status)),
    ]


def _answers(data: DigestData, lang: str) -> list[str]:
    lines = [_bold("✉️ " + _("Answered yesterday: {n}").format(n=data.answered))]
    if data.on_time_rate is not None:
        lines.append(
            _("On time: {on_time} of {total} ({percent})").format(
                on_time=data.answered_on_time,
                total=data.answered,
                percent=format_percent(data.on_time_rate, locale=lang),
            )
        )
    if data.rating_average is not None and data.rating_count:
        lines.append(
            ngettext(
                "Average rating for 30 days: {value} of 5 ({n} rating)",
                "Average rating for 30 days: {value} of 5 ({n} ratings)",
                data.rating_count,
            ).format(
                value=format_decimal(data.rating_average, "0.0", locale=lang), n=data.rating_count
            )
        )
    return lines


def _overdue(data: DigestData) -> list[str]:
    if not data.overdue_total:
        return ["✅ " + _("Nothing is overdue.")]
    items = sorted(data.overdue, key=lambda i: -i.days_overdue)[:LIST_LIMIT]
    lines = [_bold("⏰ " + _("Overdue: {n}").format(n=data.overdue_total))]
    for item in items:
        days = ngettext("{n} day", "{n} days", item.days_overdue).format(n=item.days_overdue)
        lines.append(f"№ {escape(item.reference)} · {days} · {_department(item.department)}")
    return lines + _more_line(data.overdue_total, len(items))


def _due_soon(data: DigestData, lang: str) -> list[str]:
    if not data.due_soon_total:
        return []
    items = sorted(data.due_soon, key=lambda i: i.due_on)[:LIST_LIMIT]
    heading = ngettext(
        "Due within {days} working day: {n}",
        "Due within {days} working days: {n}",
        DUE_SOON_WORKING_DAYS,
    ).format(days=DUE_SOON_WORKING_DAYS, n=data.due_soon_total)
    lines = [_bold("📅 " + heading)]
    for item in items:
        due = long_date(item.due_on, lang)
        lines.append(f"№ {escape(item.reference)} · {due} · {_department(item.department)}")
    return lines + _more_line(data.due_soon_total, len(items))


def render_digest(data: DigestData, catalog: Catalog, lang: str) -> str:
    """The digest as Telegram HTML in the current gettext locale (the caller sets it); `lang`
    picks catalog names and date formats, so pass the same language."""
    heading = _bold("📊 " + _("Digest for {date}").format(date=long_date(data.day, lang)))
    if data.is_empty:
        return "\n".join([heading, _("A quiet day: no new appeals or answers, nothing due.")])
    blocks = [
        [heading],
        _new_appeals(data, catalog, lang),
        _answers(data, lang),
        _overdue(data),
        _due_soon(data, lang),
    ]
    return "\n\n".join("\n".join(block) for block in blocks if block)


# service


class DigestService:
    def __init__(
        self,
        queries: DigestQueries,
        outbox_sender: TextSender,
        catalog: Catalog,
        calendar: WorkCalendar,
        tz: tzinfo,
        digest_time: time,
        i18n: I18n,
        lang: str,
        chats: Callable[[], list[int]],
        *,
        default_chat_id: int | None = None,
        today_section: Callable[[date, str], Awaitable[str | None]] | None = None,
    ) -> None:
        self.queries = queries
        self.sender = outbox_sender
        self.catalog = catalog
        self.calendar = calendar
        self.tz = tz
        self.digest_time = digest_time
        self.i18n = i18n
        self.lang = lang
        self.chats = chats
        # Appeals without a chat of their own (no routing then) are counted in this chat.
        self.default_chat_id = default_chat_id
        # Today's receptions, when the bot has them; shown in the default chat's digest.
        self.today_section = today_section

    def report_day(self, now: datetime) -> date:
        """The local day a digest built at `now` reports on: yesterday."""
        return now.astimezone(self.tz).date() - timedelta(days=1)

    async def collect(self, chat_id: int, day: date, now: datetime) -> DigestData:
        default = chat_id == self.default_chat_id
        q = self.queries
        start, end = local_day_bounds(day, self.tz)
        counts = await q.day_counts(chat_id, start, end, default_chat=default)
        answered = await q.answered_stats(chat_id, start, end, default_chat=default)
        rating = await q.rating_stats(
            chat_id, now - timedelta(days=RATING_DAYS), now, default_chat=default
        )
        overdue = await q.open_due(
            chat_id, statuses=OPEN_STATUSES, before=now, default_chat=default, limit=LIST_LIMIT
        )
        today = now.astimezone(self.tz).date()
        # Today counts too: what falls due this evening is the most urgent of all.
        horizon = self.calendar.add_working_days(today, DUE_SOON_WORKING_DAYS)
        due_soon = await q.open_due(
            chat_id,
            statuses=OPEN_STATUSES,
            not_before=now,
            before=local_day_bounds(horizon, self.tz)[1],
            default_chat=default,
            limit=LIST_LIMIT,
        )
        return DigestData(
            day=day,
            new_total=counts.total,
            by_category=tuple(counts.by_category.items()),
            by_district=tuple(counts.by_district.items()),
            by_status=tuple(counts.by_status.items()),
            answered=answered.answered,
            answered_on_time=answered.on_time,
            rating_average=rating.average,
            rating_count=rating.count,
            overdue=self._overdue_items(overdue, today),
            overdue_total=overdue.total,
            due_soon=tuple(
                DueSoonItem(r.reference, r.due_at.astimezone(self.tz).date(), r.department)
                for r in due_soon.rows
            ),
            due_soon_total=due_soon.total,
        )

    def _overdue_items(self, found: OpenAppeals, today: date) -> tuple[OverdueItem, ...]:
        # Calendar days, as the citizen's own list counts them, so both sides quote the same
        # number; a deadline that passed this evening already counts as one day.
        return tuple(
            OverdueItem(
                r.reference,
                max(1, (today - r.due_at.astimezone(self.tz).date()).days),
                r.department,
            )
            for r in found.rows
        )

    async def build(self, chat_id: int, day: date, now: datetime) -> str:
        data = await self.collect(chat_id, day, now)
        with self.i18n.context(), self.i18n.use_locale(self.lang):
            text = render_digest(data, self.catalog, self.lang)
            if self.today_section is not None and chat_id == self.default_chat_id:
                section = await self.today_section(day + timedelta(days=1), self.lang)
                if section:
                    text = f"{text}\n\n{section}"
        return text

    async def send_now(self, chat_id: int, now: datetime) -> list[int]:
        """On request (/digest): yesterday's digest right away, as often as asked; the daily
        one is still sent, since asking does not claim it."""
        day = self.report_day(now)
        text = await self.build(chat_id, day, now)
        return await self.sender.send_text(chat_id, text, purpose=f"digest:{chat_id}")

    async def tick(self, now: datetime) -> list[int]:
        """Send each chat's digest once its time has come today; the chats it sent to.

        Only the day before today is ever reported: a bot down all day skips that digest
        rather than sending a stale one the morning after."""
        local = now.astimezone(self.tz)
        if local.time() < self.digest_time:
            return []
        day = local.date() - timedelta(days=1)
        sent = []
        for chat_id in dict.fromkeys(self.chats()):
            try:
                if await self._send_once(chat_id, day, now):
                    sent.append(chat_id)
            except Exception:
                # One chat's failure must not starve the others; the claim was given back.
                log.exception("digest for chat %s, day %s failed; retrying next tick", chat_id, day)
        return sent

    async def _send_once(self, chat_id: int, day: date, now: datetime) -> bool:
        # A read first: every tick after the morning finds the claim, and a read is cheaper
        # than building a digest whose claim would be refused.
        if await self.queries.claimed(chat_id, day):
            return False
        text = await self.build(chat_id, day, now)
        digest = self.sender.text(
            chat_id, text, dedupe_key=digest_key(chat_id, day), purpose=f"digest:{chat_id}"
        )

        async def enqueue(conn: Any) -> None:
            await self.sender.queue_in(conn, [digest])

        # The claim and the outbox row commit together: a crash or an error between them
        # leaves neither, and the next tick (or instance) builds the digest again.
        if not await self.queries.claim(chat_id, day, now, then=enqueue):
            return False
        self.sender.poke()
        log.info("digest for chat %s, day %s queued", chat_id, day)
        return True
