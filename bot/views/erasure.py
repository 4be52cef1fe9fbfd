"""What officials' chats read in place of a citizen's data after /forget."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.views.common import html


def erased_line() -> str:
    """On the card, where the applicant and the text were."""
    return "🗑 " + _("The citizen has erased their personal data.")


def tombstone(reference: str) -> str:
    """A message under the card (what the citizen added, a comment, a copy of the card)
    that Telegram no longer lets the bot delete: edited to this instead."""
    return f"🗑 <b>№ {html(reference)}</b>: " + _("The citizen has erased their personal data.")


def file_tombstone(reference: str) -> str:
    """The caption of a file or photo the bot can no longer delete (nor edit away)."""
    return (
        tombstone(reference)
        + "\n"
        + _(
            "Please delete this file: Telegram lets the bot delete its messages only within 48 "
            "hours."
        )
    )


def left_behind(reference: str, count: int) -> str:
    """Told under the card when files or a map pin of the appeal stay in the chat."""
    return (
        tombstone(reference)
        + "\n"
        + _(
            "Files and map pins posted with the card that the bot can no longer delete "
            "(Telegram allows it only within 48 hours): {count}. Please delete them by hand."
        ).format(count=count)
    )
