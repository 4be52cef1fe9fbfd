"""The officials' side of a prompt: what the bot asks, the preview of what the citizen will
receive, and what it says when a reply or a press does nothing. Officials' language."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.domain.prompts import PROMPT_TTL, Draft, Refusal
from bot.telegram.callbacks import PromptCb
from bot.views import notices
from bot.views.common import html
from bot.views.my_appeals import status_label
from storage.models import Appeal
from storage.prompts import Prompt, PromptAction

TTL_MINUTES = int(PROMPT_TTL.total_seconds() // 60)


def mention(user_id: int, name: str) -> str:
    """A link to the official: with ForceReply(selective) only they get the reply field."""
    return f'<a href="tg://user?id={user_id}">{html(name)}</a>'


def answer_prompt(reference: str, who: str) -> str:
    return "\n".join(
        [
            f"<b>№ {html(reference)}</b> · {who}",
            _(
                "Reply to this message with the text of the answer (you may attach a document "
                "with the text as its caption). It goes to the citizen as written."
            ),
            _("You will see it as the citizen will before it is sent."),
        ]
    )


def extension_prompt(reference: str, who: str, latest: str) -> str:
    return "\n".join(
        [
            f"<b>№ {html(reference)}</b> · {who}",
            _(
                "Reply with the new deadline as DD.MM.YYYY (no later than {date}) and, on the "
                "next line, the reason. The citizen will be told both."
            ).format(date=latest),
        ]
    )


def duplicate_prompt(reference: str, who: str) -> str:
    return "\n".join(
        [
            f"<b>№ {html(reference)}</b> · {who}",
            _("Reply with the number of the earlier appeal this one repeats, e.g. 2026-00012."),
        ]
    )


def ask_prompt(reference: str, who: str, language: str) -> str:
    """`language` names the appeal's language, which the question must be written in."""
    return "\n".join(
        [
            f"<b>№ {html(reference)}</b> · {who}",
            _(
                "Reply to this message with your question to the citizen, written {language} "
                "(the language of the appeal): it goes to them as written, with a button to "
                "answer. Their answer will come here as a reply to the card."
            ).format(language=language),
            _("You will see it as the citizen will before it is sent."),
        ]
    )


def corrected_prompt(reference: str, who: str) -> str:
    return "\n".join(
        [
            f"<b>№ {html(reference)}</b> · {who}",
            _("Reply to this message with the corrected version."),
        ]
    )


def citizen_text(draft: Draft, appeal: Appeal, lang: str) -> str:
    """Exactly what the citizen will receive; call in the appeal's language."""
    match draft.action:
        case PromptAction.ANSWER:
            return notices.answer_notice(appeal.reference, draft.outcome, draft.text)
        case PromptAction.EXTEND:
            assert draft.new_due is not None
            return notices.extension_notice(appeal.reference, draft.new_due, draft.text, lang)
        case PromptAction.DUPLICATE:
            assert draft.original is not None
            return notices.duplicate_notice(appeal.reference, draft.original.reference)
        case PromptAction.ASK:
            return notices.question_notice(appeal.reference, draft.text)


def language_of(appeal: Appeal) -> str:
    return _("in Kazakh") if appeal.language == "kk" else _("in Russian")


def preview_text(appeal: Appeal, draft: Draft, for_citizen: str) -> str:
    language = language_of(appeal)
    if appeal.erased:
        # /forget: the appeal stays, without anyone to tell; «Send» only records it.
        head = [
            _("👁 <b>Preview, № {reference}.</b>").format(reference=html(appeal.reference)),
            nobody_receives(),
        ]
    else:
        head = [
            _("👁 <b>Preview, № {reference}.</b> The citizen will receive ({language}):").format(
                reference=html(appeal.reference), language=language
            )
        ]
    if draft.file_id and not appeal.erased:
        head.append(_("📎 with the document you attached, before the text."))
    foot = [] if appeal.erased else [_("Nothing is sent until you press «Send».")]
    return "\n".join([*head, f"<blockquote>{for_citizen}</blockquote>", *foot])


def nobody_receives() -> str:
    return _(
        "⚠️ The citizen has erased their personal data (/forget): nobody receives this. "
        "«Send» records it with the appeal."
    )


def preview_keyboard(prompt: Prompt) -> InlineKeyboardMarkup:
    def button(text: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=text, callback_data=PromptCb(action=action, prompt=prompt.id).pack()
        )

    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("✅ Send"), "send")],
            [button(_("✏️ Edit"), "edit"), button(_("✖️ Cancel"), "cancel")],
        ]
    )


def done_text(action: PromptAction, reference: str, *, erased: bool = False) -> str:
    if erased:
        return _(
            "✅ № {reference}: recorded. Nobody receives it: the citizen has erased their "
            "personal data."
        ).format(reference=html(reference))
    match action:
        case PromptAction.ANSWER:
            done = _("✅ The answer to № {reference} is sent to the citizen.")
        case PromptAction.EXTEND:
            done = _("⏳ The deadline of № {reference} is extended; the citizen is told.")
        case PromptAction.DUPLICATE:
            done = _("🔁 № {reference} is marked as a duplicate; the citizen is told.")
        case PromptAction.ASK:
            done = _(
                "❓ The question on № {reference} is sent to the citizen; their answer will "
                "come here as a reply to the card."
            )
    return done.format(reference=html(reference))


def not_done_text(appeal: Appeal, reason: str = "") -> str:
    if reason == "outdated":
        return _(
            "Not done: the deadline of № {reference} was extended by someone else meanwhile, "
            "and the citizen was told of that. The card shows the deadline now."
        ).format(reference=html(appeal.reference))
    return _("Not done: appeal № {reference} is already «{status}».").format(
        reference=html(appeal.reference), status=status_label(appeal.status)
    )


def cancelled_text(reference: str) -> str:
    return _("✖️ Cancelled: nothing was sent to the citizen on № {reference}.").format(
        reference=html(reference)
    )


def expired_text(reference: str) -> str:
    return _(
        "⌛ No reply within {minutes} minutes for № {reference}: the bot no longer waits for "
        "it, and nothing was sent. Press the button on the card again to start over."
    ).format(minutes=TTL_MINUTES, reference=html(reference))


def refusal_text(
    refusal: Refusal,
    prompt: Prompt,
    appeal: Appeal | None,
    latest: str,
    shown: str = "—",
    due: str = "—",
) -> str:
    """Why a reply or a press did nothing (HTML; for an alert, strip it with `plain`).
    `latest`: the last deadline the law allows; `shown` and `due`: the deadline an
    extension's preview was made against, and the appeal's now."""
    match refusal:
        case Refusal.EXTENDED_SINCE:
            return _(
                "Not sent: the preview moved the deadline of {date_shown}, but № {reference} was "
                "since extended to {date_now} (the citizen was told). To extend again, press ⏳ "
                "on the card."
            ).format(
                date_shown=shown, reference=html(appeal.reference if appeal else "—"), date_now=due
            )
        case Refusal.NOT_PENDING | Refusal.OUTDATED:
            return _(
                "The bot no longer waits for a reply to this message: it was sent, cancelled "
                "or replaced. To act on the appeal, use the buttons on its card."
            )
        case Refusal.EXPIRED:
            return expired_text(appeal.reference if appeal else "—")
        case Refusal.UNRECORDED:
            return _(
                "The bot no longer waits for a reply to this message for № {reference}: it was "
                "not recorded when it was posted, and nothing was sent. Press the button on "
                "the card again to start over."
            ).format(reference=html(appeal.reference if appeal else "—"))
        case Refusal.NOT_YOURS:
            return _(
                "Only {name}, who pressed the button, replies to this message. To act on the "
                "appeal yourself, use the buttons on its card."
            ).format(name=html(prompt.official_name))
        case Refusal.CLOSED:
            if appeal is None:
                return _("Appeal not found.")
            return not_done_text(appeal)
        case Refusal.NO_TEXT:
            return _(
                "The answer needs a text: reply with it, or attach a document as a file with "
                "the text as its caption."
            )
        case Refusal.BAD_DATE:
            return _("Write the date as DD.MM.YYYY and the reason on the next line.")
        case Refusal.NOT_LATER:
            return _("The new deadline must be later than the current one. Reply again.")
        case Refusal.TOO_LATE:
            return _(
                "The law allows at most two months: no later than {date}. Reply again."
            ).format(date=latest)
        case Refusal.NO_QUESTION:
            return _("The question needs a text: reply with it.")
        case Refusal.NO_ORIGINAL:
            # The same words whether the number exists or is another citizen's or chat's.
            return _(
                "No appeal with that number that this one can repeat: it must be the same "
                "citizen's appeal, held by this chat, not withdrawn and not a duplicate "
                "itself. Reply again with a number like 2026-00012."
            )
        case Refusal.NOT_ALLOWED:
            return _("Only officials of the chat that holds the appeal can act on it.")
