"""An appeal's history for /find: one line per event, who and what, in the officials' language."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.domain import history
from bot.domain.catalog import Catalog
from bot.views.card import outcome_label, solved_label
from bot.views.common import html
from bot.views.my_appeals import status_label
from i18n.formatting import date_time, long_date


def history_lines(
    events: list[history.Event], catalog: Catalog, lang: str, tz: ZoneInfo
) -> list[str]:
    lines = [_("<b>History</b>")]
    for event in events:
        when = date_time(event.at.astimezone(tz), lang)
        lines.append(f"{when} · {who(event)} · {what(event, catalog, lang)}")
        if event.comment:
            lines.append(
                _("💬 The citizen's comment: {comment}").format(comment=html(event.comment))
            )
    return lines


def who(event: history.Event) -> str:
    """The citizen is never named here: a department may not see their contact."""
    if event.by_citizen:
        return _("the citizen")
    if event.official:
        return html(event.official)
    if event.official_id is not None:
        return _("official (id {id})").format(id=event.official_id)
    return _("an official")


def what(event: history.Event, catalog: Catalog, lang: str) -> str:
    if event.kind == history.TAKEN:
        return _("taken into work")
    if event.kind == history.ANSWERED:
        return _("answered: {outcome}").format(outcome=outcome_label(event.outcome))
    if event.kind == history.EXTENDED and event.new_due is not None:
        return _("deadline extended, new date: {date}; reason: {reason}").format(
            date=long_date(event.new_due, lang), reason=html(event.reason or "—")
        )
    if event.kind == history.FORWARDED:
        department = catalog.department(event.department or "")
        name = department.name(lang) if department else event.department or "—"
        return _("forwarded to: {name}").format(name=html(name))
    if event.kind == history.DUPLICATE:
        return _("duplicate of № {reference}").format(reference=html(event.original or "—"))
    if event.kind == history.REOPENED:
        return _("back under consideration: the problem is not solved")
    if event.kind == history.ASKED:
        return _("asked the citizen a question")
    if event.kind == history.ADDED:
        return _("added to the appeal")
    if event.kind == history.REPLIED:
        return _("answered the officials' question")
    if event.kind == history.RATED and event.rating:
        return _("rated the answer: {value} of 5").format(value=event.rating)
    if event.kind == history.CLOSED and event.solved:
        return _("closed: {solved}").format(solved=solved_label(event.solved))
    return status_label(event.status)
