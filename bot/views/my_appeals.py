"""The citizen's list of appeals: reference, status, deadline, days left, answer."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.domain.catalog import Catalog, Department
from bot.domain.status import is_open
from bot.telegram.callbacks import MyCb
from bot.views.common import html, shorten
from i18n.core import ngettext
from i18n.formatting import long_date
from storage.models import Appeal, Status

PAGE_SIZE = 5
# A page is edited in place under its buttons, so it must fit one message: five entries with
# this much of each answer (UTF-16 units) stay far below 4,096.
ANSWER_PREVIEW = 300


def status_label(status: Status, *, external: bool = False) -> str:
    """A status's name. «Forwarded» names where to: a department of the akimat (what the
    catalog's departments are, and so what counts of forwarded appeals say) or, for one
    marked `external`, another body — in Kazakh these are different words."""
    labels = {
        Status.REGISTERED: _("Registered"),
        Status.IN_PROGRESS: _("Under consideration"),
        Status.ANSWERED: _("Answered"),
        Status.CLOSED: _("Closed"),
        Status.FORWARDED: (
            _("Forwarded to another body") if external else _("Passed to the competent department")
        ),
        Status.WITHDRAWN: _("Withdrawn"),
        Status.DUPLICATE: _("Duplicate of an earlier appeal"),
    }
    return labels[status]


def forwarded_to(appeal: Appeal, catalog: Catalog) -> Department | None:
    """The department or body a forwarded appeal went to (None if it is not forwarded)."""
    if appeal.status != Status.FORWARDED or not appeal.department:
        return None
    return catalog.department(appeal.department)


def appeal_status_label(appeal: Appeal, catalog: Catalog) -> str:
    department = forwarded_to(appeal, catalog)
    return status_label(appeal.status, external=department is not None and department.external)


def days_left_label(days: int) -> str:
    if days > 0:
        return ngettext("{n} day left", "{n} days left", days).format(n=days)
    if days == 0:
        return _("due today")
    return ngettext("overdue by {n} day", "overdue by {n} days", -days).format(n=-days)


def appeal_entry(
    appeal: Appeal, catalog: Catalog, lang: str, days_left: int, *, full: bool = False
) -> str:
    kind = catalog.kind(appeal.kind)
    category = catalog.category(appeal.category)
    due = long_date(appeal.due_at.date(), lang)
    lines = [
        f"<b>№ {html(appeal.reference)}</b> · {html(kind.name(lang) if kind else appeal.kind)}"
        f" · {html(category.name(lang) if category else appeal.category)}",
        _("Status: {value}").format(value=appeal_status_label(appeal, catalog)),
    ]
    department = forwarded_to(appeal, catalog)
    if department is not None:
        lines.append(_("Forwarded to: {name}").format(name=html(department.name(lang))))
    if is_open(appeal.status):
        lines.append(
            _("Deadline for reply: {date}").format(date=due) + f" ({days_left_label(days_left)})"
        )
    if full and appeal.text:
        lines.append(_("Text: {value}").format(value=html(appeal.text)))
    if appeal.answer_text:
        # The list shows the answer's start; the appeal's own view all of it (split in parts).
        answer = appeal.answer_text if full else shorten(appeal.answer_text, ANSWER_PREVIEW)
        lines.append(_("Answer: {value}").format(value=html(answer)))
    return "\n".join(lines)


def detail_keyboard(appeal: Appeal) -> InlineKeyboardMarkup | None:
    """Under the citizen's own appeal: what they may still do with it while it is open."""
    if not is_open(appeal.status):
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("➕ Add to the appeal"),
                    callback_data=MyCb(action="add", arg=appeal.id).pack(),
                )
            ],
            [
                InlineKeyboardButton(
                    text=_("↩️ Withdraw the appeal"),
                    callback_data=MyCb(action="withdraw", arg=appeal.id).pack(),
                )
            ],
        ]
    )


def list_keyboard(appeals: list[Appeal], page: int, pages: int) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                text=_("Open № {reference}").format(reference=a.reference),
                callback_data=MyCb(action="view", arg=a.id).pack(),
            )
        ]
        for a in appeals
    ]
    nav = []
    if page > 0:
        nav.append(
            InlineKeyboardButton(text="◀️", callback_data=MyCb(action="page", arg=page - 1).pack())
        )
    if page < pages - 1:
        nav.append(
            InlineKeyboardButton(text="▶️", callback_data=MyCb(action="page", arg=page + 1).pack())
        )
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(inline_keyboard=rows)
