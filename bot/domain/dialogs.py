"""Which dialog a citizen is in, and what a command or menu button that would start another
one meets. One dialog at a time: a draft is never dropped, nor is a command taken for the
step's input, without the citizen saying so."""

from __future__ import annotations

from typing import Any

APPEAL = "appeal"
BOOKING = "booking"
# The FSM state groups of the dialogs (handlers.appeal.AppealForm, handlers.booking.BookingForm)
# and where each keeps its draft in the FSM data.
_STATE_GROUPS = {"AppealForm": APPEAL, "BookingForm": BOOKING}
_DRAFTS = {APPEAL: "draft", BOOKING: "booking"}
# The commands and main-menu buttons (bot.telegram.menu keys) that start a dialog.
STARTED_BY = {"new": APPEAL, "book": BOOKING}


def dialog_of(state: str | None) -> str | None:
    group, _sep, _step = (state or "").partition(":")
    return _STATE_GROUPS.get(group)


def in_the_way(state: str | None, wanted: str) -> str | None:
    """The dialog in progress that must be finished or cancelled before `wanted` can start;
    None when nothing is in progress or it is `wanted` itself (which then just continues)."""
    current = dialog_of(state)
    return current if current is not None and current != wanted else None


def draft_key(dialog: str, data: dict[str, Any]) -> str:
    """The key of the dialog's draft: a button asking about one draft never acts on the next."""
    draft = data.get(_DRAFTS[dialog])
    return str(draft.get("draft_key") or "") if isinstance(draft, dict) else ""


def command_of(text: str | None) -> str | None:
    """ "new" for "/new" and "/new@bot", and so on; None for anything that is no command."""
    if not text or not text.startswith("/"):
        return None
    return text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if len(text) > 1 else None
