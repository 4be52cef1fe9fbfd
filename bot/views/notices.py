"""What an official's action tells the citizen, rendered in the current locale (the appeal's
language). The same functions render the officials' preview and the message itself, so the
preview is exactly what the citizen receives."""

from __future__ import annotations

from datetime import date

from aiogram.utils.i18n import gettext as _

from bot.views import card as card_view
from bot.views.common import html
from i18n.formatting import long_date


def answer_notice(reference: str, outcome: str | None, text: str) -> str:
    return "\n".join(
        [
            _("📩 <b>Answer to your appeal № {reference}</b>").format(reference=html(reference)),
            _("Result: {value}").format(value=card_view.outcome_label(outcome)),
            "",
            html(text),
            "",
            _("Was your problem solved?"),
        ]
    )


def extension_notice(reference: str, new_due: date, reason: str, lang: str) -> str:
    return _(
        "The deadline for your appeal № {reference} has been extended to {date}.\nReason: {reason}"
    ).format(reference=html(reference), date=long_date(new_due, lang), reason=html(reason))


def duplicate_notice(reference: str, original: str) -> str:
    return _(
        "Your appeal № {reference} repeats the earlier appeal № {original}; it "
        "will be answered there. /my shows its status."
    ).format(reference=html(reference), original=html(original))
