"""Texts for officials that belong to no one screen."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.views.card import solved_label
from bot.views.common import html
from storage.models import Appeal


def anonymous_text() -> str:
    """For a message nobody can be named for: an anonymous group admin, a channel."""
    return _(
        "You are writing anonymously on behalf of the group, so I cannot tell which official "
        "it is. Turn off «Remain anonymous» in your administrator rights and send it again."
    )


def citizen_comment_heading(reference: str) -> str:
    return _("💬 The citizen's comment on № {reference}:").format(reference=html(reference))


def citizen_verdict_text(appeal: Appeal) -> str:
    """What the citizen said of the answer, for the officials' chat."""
    lines = [f"<b>№ {html(appeal.reference)}</b>"]
    if appeal.rating:
        lines.append(_("Rating: {value} of 5").format(value=appeal.rating))
    elif appeal.solved == "no":
        lines.append(_("⚠️ The citizen says the problem is not solved; reopened."))
    elif appeal.solved:
        lines.append(_("Citizen: {value}").format(value=solved_label(appeal.solved)))
    return "\n".join(lines)


def answer_undelivered_text(reference: str) -> str:
    return _(
        "⚠️ The answer to № {reference} did not reach the citizen: they have blocked the bot. "
        "Please reach them another way (👤 Show contact)."
    ).format(reference=html(reference))


def question_undelivered_text(reference: str) -> str:
    return _(
        "⚠️ The question about № {reference} did not reach the citizen: they have blocked the "
        "bot. Please reach them another way (👤 Show contact)."
    ).format(reference=html(reference))
