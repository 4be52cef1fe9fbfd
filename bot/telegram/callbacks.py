"""Callback data of every inline button. Anything that does not parse is a stale or forged
button and reaches the fallback handler."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from pydantic import Field


class LangCb(CallbackData, prefix="lang"):
    code: str


class ConsentCb(CallbackData, prefix="consent"):
    agree: bool
    then: str = ""  # "new": go on into the appeal dialog


class WizardCb(CallbackData, prefix="w"):
    action: str
    value: str = ""


class SwitchCb(CallbackData, prefix="sw"):
    """«Finish or cancel the current one first»: continue the dialog in progress (go=False)
    or drop its draft and start `to` (bot.domain.dialogs: "appeal" | "booking")."""

    go: bool
    to: str
    draft: str  # the key of the draft the question was about


class MyCb(CallbackData, prefix="my"):
    # "page" | "view"; on an open appeal "add" | "withdraw" → "wd_yes" | "wd_no"; while
    # adding to it (or answering a question on it) "done" | "drop"
    action: str
    arg: int = Field(ge=0, lt=2**63)  # a database id or a page; anything else is forged


class ForgetCb(CallbackData, prefix="forget"):
    confirm: bool


class CardCb(CallbackData, prefix="card"):
    """A button on an officials' appeal card."""

    action: str
    appeal: int = Field(ge=1, lt=2**63)
    arg: str = ""


class FeedbackCb(CallbackData, prefix="fb"):
    """The citizen's word on an answer: solved yes/partly/no, then a 1–5 rating."""

    appeal: int = Field(ge=1, lt=2**63)
    solved: str = ""
    rating: int = Field(default=0, ge=0, le=5)


class RateCb(CallbackData, prefix="fr"):
    """A 1–5 rating of one answer: `answer` names it (`bot.domain.status.answer_mark`). The
    stars sent before carry FeedbackCb(rating=…), which names the appeal only."""

    appeal: int = Field(ge=1, lt=2**63)
    answer: int = Field(ge=0, lt=2**40)
    rating: int = Field(ge=1, le=5)


class BookingCb(CallbackData, prefix="bk"):
    """Buttons of the booking dialog and of a booking (reminders, /my)."""

    action: str
    value: str = ""
    booking: int = Field(default=0, ge=0, lt=2**63)


class ReceptionCb(CallbackData, prefix="rc"):
    """Officials' buttons under /receptions: call a session off, mark attendance."""

    action: str
    reception: str = ""
    day: str = ""  # YYYYMMDD: callback data cannot hold the ':' of other date forms
    booking: int = Field(default=0, ge=0, lt=2**63)


class PromptCb(CallbackData, prefix="pr"):
    """The preview of what an official's reply will tell the citizen: send, edit, cancel."""

    action: str
    prompt: int = Field(ge=1, lt=2**63)


class QuestionCb(CallbackData, prefix="qa"):
    """«Answer» under an officials' question in the citizen's chat."""

    question: int = Field(ge=1, lt=2**63)


class SubCb(CallbackData, prefix="sub"):
    """A citizen's subscriptions: "add", "reg" (a region), "dist" (a district), "page"
    ("r.<page>" of regions, "<region>.<page>" of its districts), "del" (from the list),
    "list"; under an announcement "off" (one district) and "offall"."""

    action: str
    value: str = ""


class AnnCb(CallbackData, prefix="an"):
    """The officials' /announce dialog: "kind", "tog" (a district), "all", "page", "next"
    (draft: the key of the draft the screen was shown for), "send" and "cancel" (value: the
    draft's key); under the progress message "stop" (value: the announcement's id); under
    /meetings "mcancel" → "mcancelok" | "mcancelno" (value: the meeting's id). The longest,
    "an:tog:<district>.<page>:<key>", is 52 bytes with a 9-character district code."""

    action: str
    value: str = ""
    draft: str = ""


class MeetCb(CallbackData, prefix="mt"):
    """A citizen's buttons under a meeting with residents: "come" («I will come»), "acc" (an
    access need toggled; value: the needs chosen, as bits), "go" (confirmed; value: the
    needs), "nocome" («I won't come after all»), "ask" («Ask a question in advance»), "topic"
    (value: the topic's index, "-" for another), "askno" (cancel the question)."""

    action: str
    meeting: int = Field(ge=0, lt=2**63)
    value: str = ""


class MeetEditCb(CallbackData, prefix="me"):
    """Officials' changes to a meeting with residents: under /meetings "move" → (the new time
    and place as replies) "keep" (the same place) → "ok" | "no"; under `/meetings past`
    "count" (how many came, as a reply)."""

    action: str
    meeting: int = Field(ge=0, lt=2**63)
