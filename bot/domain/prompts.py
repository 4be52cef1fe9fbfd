"""What an official's reply to a prompt became, and why one did nothing, as plain values:
`bot.services.prompts` decides them, `bot.views.prompts` renders them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from bot.domain.status import Action
from storage.models import Appeal, Outcome
from storage.prompts import PromptAction

PROMPT_TTL = timedelta(minutes=30)

# The status table's action each prompt leads to: a reply is taken only while the appeal's
# status still allows it (bot.domain.status.allows).
PROMPT_RULES: dict[PromptAction, Action] = {
    PromptAction.ANSWER: Action.ANSWER,
    PromptAction.EXTEND: Action.EXTEND,
    PromptAction.DUPLICATE: Action.DUPLICATE,
    PromptAction.ASK: Action.ASK,
}


def prompt_header(reference: str) -> str:
    """How every prompt's text begins (plain, as Telegram hands back a replied-to message):
    the appeal's number, then who pressed the button."""
    return f"№ {reference} · "


def names_prompt(text: str | None, reference: str) -> bool:
    """`text` (a message of the bot's) is a prompt for the appeal numbered `reference`.
    Telegram hands a replied-to message back as plain text; markup, where some copy of it
    kept the HTML the bot sent, is dropped first."""
    first = re.sub(r"<[^>]*>", "", (text or "").partition("\n")[0])
    return first.startswith(prompt_header(reference))


class Refusal(StrEnum):
    """Why a reply or a press did nothing."""

    NOT_PENDING = "not_pending"  # the prompt was sent, cancelled or replaced
    EXPIRED = "expired"
    NOT_YOURS = "not_yours"
    NOT_ALLOWED = "not_allowed"  # no longer a member, or the appeal moved to another chat
    OUTDATED = "outdated"  # a preview superseded by a newer reply
    CLOSED = "closed"  # the appeal's status no longer allows it (closed, or forwarded meanwhile)
    NO_TEXT = "no_text"
    BAD_DATE = "bad_date"
    NOT_LATER = "not_later"
    TOO_LATE = "too_late"
    NO_ORIGINAL = "no_original"
    NO_QUESTION = "no_question"
    # An extension's preview made against a deadline that is no longer the appeal's (another
    # extension was sent after it was shown): sending it would extend twice.
    EXTENDED_SINCE = "extended_since"
    # The prompt replied to was posted but never recorded (the process died, or the write
    # failed, before Telegram's answer was kept): the bot does not know it.
    UNRECORDED = "unrecorded"


@dataclass(frozen=True)
class Draft:
    """What «Send» would do, parsed from the official's reply."""

    action: PromptAction
    text: str = ""  # the answer, the extension's reason, or the question
    file_id: str | None = None
    outcome: Outcome | None = None
    new_due: date | None = None
    original: Appeal | None = None
