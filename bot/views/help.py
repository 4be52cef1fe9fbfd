"""The greeting and /help: every kind of appeal the catalog has, and /book when there are
receptions to book."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.domain.catalog import Catalog
from bot.views.common import html


def in_sentence(name: str) -> str:
    """A catalog name inside running text: "Запрос информации" → "запрос информации"; an
    abbreviation ("ЦОН") keeps its capitals."""
    if len(name) > 1 and name[1].islower():
        return name[0].lower() + name[1:]
    return name


def greeting_text(catalog: Catalog, lang: str, *, booking: bool) -> str:
    kinds = ", ".join(in_sentence(kind.name(lang)) for kind in catalog.kinds)
    lines = [
        _(
            "Hello! This is the akimat's bot for citizens' appeals. Here you can send an "
            "appeal and follow the answer. Kinds of appeal: {kinds}."
        ).format(kinds=html(kinds))
    ]
    if booking:
        lines.append(
            _("You can also book a personal reception with officials of the akimat: /book.")
        )
    lines.append(_("The akimat's announcements for your district or city: /subscribe."))
    return "\n\n".join(lines)


def help_text(catalog: Catalog, lang: str, *, booking: bool) -> str:
    lines = [
        _("<b>What I can do</b>"),
        _(
            "/new — send an appeal to the akimat. I will give you a registration number and "
            "the date by which the answer is due. Kinds of appeal:"
        ),
    ]
    for kind in catalog.kinds:
        hint = kind.hint(lang)
        lines.append(f"• <b>{html(kind.name(lang))}</b>" + (f" — {html(hint)}" if hint else ""))
    if booking:
        lines.append(_("/book — book a personal reception with officials of the akimat"))
        lines.append(_("/my — your appeals and bookings, their status and answers"))
    else:
        lines.append(_("/my — your appeals, their status and answers"))
    lines.append(_("/subscribe — the akimat's announcements for your district or city"))
    lines.append(
        _(
            "/lang — Қазақша / Русский\n"
            "/cancel — leave the current step\n"
            "/privacy — what data is stored and why\n"
            "/forget — erase your personal data"
        )
    )
    return "\n".join(lines)
