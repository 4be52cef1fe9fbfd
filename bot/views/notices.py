"""What an official's action tells the citizen, rendered in the current locale (the appeal's
language). The same functions render the officials' preview and the message itself, so the
preview is exactly what the citizen receives."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.domain.catalog import Catalog, Department
from bot.views import card as card_view
from bot.views.common import html
from bot.views.my_appeals import appeal_status_label, forwarded_to
from i18n.formatting import long_date
from storage.models import Appeal


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


def status_notice(appeal: Appeal, catalog: Catalog, tz: ZoneInfo) -> str:
    """A change of status; a forward says where to and what it means for the deadline."""
    department = forwarded_to(appeal, catalog)
    if department is not None:
        due = appeal.due_at.astimezone(tz).date()
        return forward_notice(appeal.reference, department, due, appeal.language)
    return _("Your appeal № {reference}: {status}.").format(
        reference=html(appeal.reference), status=appeal_status_label(appeal, catalog)
    )


def forward_notice(reference: str, department: Department, due: date, lang: str) -> str:
    if department.external:
        # APPK Art. 65: the competent body opens its own procedure, with its own dates.
        return _(
            "↪️ Your appeal № {reference} has been forwarded to the body competent to "
            "consider it: {name}. That body registers it and counts the deadline for the "
            "answer from that day."
        ).format(reference=html(reference), name=html(department.name(lang)))
    # A department of the same akimat: the akimat still answers, by the same date.
    return _(
        "↪️ Your appeal № {reference} has been passed to the competent department: {name}. "
        "It stays with the akimat, so the deadline does not change: the answer is due by "
        "{date}."
    ).format(reference=html(reference), name=html(department.name(lang)), date=long_date(due, lang))


def question_notice(reference: str, question: str) -> str:
    return "\n".join(
        [
            _("❓ <b>A question about your appeal № {reference}</b>").format(
                reference=html(reference)
            ),
            "",
            html(question),
            "",
            _("To answer, press «✍️ Answer» below; you can also attach photos or documents."),
        ]
    )
