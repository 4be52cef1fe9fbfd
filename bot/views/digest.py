"""The officials' daily digest as Telegram HTML (`bot.services.digest` collects the data).
`DigestView` is the renderer `bot.app` hands the service."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from aiogram.utils.i18n import gettext as _
from babel.numbers import format_decimal, format_percent

from bot.domain.catalog import Catalog
from bot.domain.digest import DUE_SOON_WORKING_DAYS, LIST_LIMIT, DigestData
from bot.views.my_appeals import status_label
from i18n.core import PoI18n, ngettext
from i18n.formatting import long_date
from storage.models import Status

# As wide as a digit in phone fonts, unlike an ordinary space: right-aligns the counts
# without a <pre> block, which would stop long names from wrapping.
FIGURE_SPACE = "\u2007"


class DigestView:
    """`bot.services.notifiers.DigestRenderer`: the digest in the officials' language, with
    today's receptions (already rendered) after it."""

    def __init__(self, catalog: Catalog, i18n: PoI18n, lang: str) -> None:
        self.catalog = catalog
        self.i18n = i18n
        self.lang = lang

    def __call__(self, data: DigestData, today: str | None = None) -> str:
        with self.i18n.context(), self.i18n.use_locale(self.lang):
            text = render_digest(data, self.catalog, self.lang)
        return f"{text}\n\n{today}" if today else text


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
