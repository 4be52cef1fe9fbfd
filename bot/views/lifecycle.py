"""Withdrawing an appeal, adding to it, answering an officials' question: the citizen's
screens (in their language) and what the officials' chat reads (in the officials')."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.telegram.callbacks import MyCb
from bot.views.common import html, shorten
from i18n.core import ngettext
from storage.lifecycle import Question

# How much of the question an answer quotes under the card: enough to tell two apart.
QUOTED_QUESTION = 300


# --- withdrawing ---------------------------------------------------------------------------


def withdraw_question(reference: str) -> str:
    return _(
        "Withdraw appeal № {reference}? The officials will stop considering it and will not "
        "answer it. This cannot be undone."
    ).format(reference=html(reference))


def withdraw_keyboard(appeal_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Yes, withdraw it"),
                    callback_data=MyCb(action="wd_yes", arg=appeal_id).pack(),
                ),
                InlineKeyboardButton(
                    text=_("No, keep it"), callback_data=MyCb(action="wd_no", arg=appeal_id).pack()
                ),
            ]
        ]
    )


def withdrawn_text(reference: str) -> str:
    return _(
        "↩️ Appeal № {reference} is withdrawn. The officials have been told; it will not be "
        "considered any further."
    ).format(reference=html(reference))


def kept_text(reference: str) -> str:
    return _("Nothing changed: appeal № {reference} stays as it was.").format(
        reference=html(reference)
    )


def not_open_alert(reference: str, status: str) -> str:
    """Plain text (an alert): the appeal was answered, withdrawn or closed meanwhile."""
    return _("Appeal № {reference} is no longer open: {status}.").format(
        reference=reference, status=status
    )


# --- adding, or answering a question -------------------------------------------------------


def compose_start(reference: str, most: int, *, answering: bool) -> str:
    if answering:
        return _(
            "✍️ Your answer to the question about appeal № {reference}. Write it and/or send up "
            "to {max} photos or documents, then press «Done»."
        ).format(reference=html(reference), max=most)
    return _(
        "➕ Adding to appeal № {reference}. Write what you want to add and/or send up to {max} "
        "photos or documents, then press «Done»."
    ).format(reference=html(reference), max=most)


def compose_progress(has_text: bool, files: int, most: int) -> str:
    if files:
        # The same words as the appeal dialog's own files step.
        return ngettext(
            "Received {count} file of {max}. Send more or press «Done».",
            "Received {count} files of {max}. Send more or press «Done».",
            files,
        ).format(count=files, max=most)
    if has_text:
        return _("Text received. You can add more text or files, or press «Done».")
    return what_to_send()


def what_to_send() -> str:
    return _("Please send a text, photos or documents, then press «Done».")


def compose_keyboard(appeal_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("✅ Done"), callback_data=MyCb(action="done", arg=appeal_id).pack()
                ),
                InlineKeyboardButton(
                    text=_("✖️ Cancel"), callback_data=MyCb(action="drop", arg=appeal_id).pack()
                ),
            ]
        ]
    )


def text_invisible() -> str:
    """A text of only zero-width characters and spaces, sent to add or answer."""
    return _(
        "Nothing of this text shows on the screen, so it was not added. Please write in "
        "words, or send photos or documents, then press «Done»."
    )


def too_many_files(most: int) -> str:
    return _("You can attach at most {max} files. Press «Done» to go on.").format(max=most)


def text_too_long(most: int) -> str:
    return _(
        "Together that is longer than {max} characters. Press «Done» to send what you have, "
        "and add the rest afterwards."
    ).format(max=most)


def nothing_yet() -> str:
    """Plain text (an alert)."""
    return _("Nothing to send yet: write a text or attach a file.")


def finish_first() -> str:
    return _("First finish this: press «Done» to send it, or «Cancel».")


def added_text(reference: str, *, answering: bool) -> str:
    if answering:
        return _("✅ Your answer is sent to the officials (appeal № {reference}).").format(
            reference=html(reference)
        )
    return _("✅ Added to appeal № {reference}; the officials have received it.").format(
        reference=html(reference)
    )


def nothing_added(reference: str) -> str:
    return _("Cancelled: nothing was added to appeal № {reference}.").format(
        reference=html(reference)
    )


def closed_text(reference: str, status: str) -> str:
    return _("Appeal № {reference} is no longer open ({status}); nothing was sent.").format(
        reference=html(reference), status=status
    )


def already_answered() -> str:
    return _(
        "You have already answered this question. To add something, open /my, your appeal, "
        "and press «➕ Add to the appeal»."
    )


# --- the officials' chat -------------------------------------------------------------------


def withdrawn_for_officials(reference: str) -> str:
    return _(
        "↩️ <b>№ {reference}</b>: the citizen has withdrawn the appeal. It needs no answer "
        "and can no longer be answered."
    ).format(reference=html(reference))


def addition_for_officials(reference: str, text: str, files: int, question: Question | None) -> str:
    if question is not None:
        head = _("💬 <b>№ {reference}</b>: the citizen's answer to the question of {name}:").format(
            reference=html(reference), name=html(question.official_name)
        )
        lines = [head, f"<blockquote>{html(shorten(question.text, QUOTED_QUESTION))}</blockquote>"]
    else:
        lines = [_("➕ <b>№ {reference}</b>: the citizen adds to the appeal:").format(
            reference=html(reference)
        )]  # fmt: skip
    if text:
        lines.append(html(text))
    if files:
        lines.append(_("📎 files: {count}").format(count=files))
    return "\n".join(lines)
