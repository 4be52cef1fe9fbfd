"""The appeal card officials act on in their group chat, rendered in the officials' language."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.domain.catalog import Catalog
from bot.domain.status import Action, actions_for
from bot.telegram.callbacks import CardCb
from bot.views.common import ALERT_LIMIT, html, shorten, utf16_len
from bot.views.erasure import erased_line
from bot.views.my_appeals import appeal_status_label
from i18n.formatting import long_date
from storage.models import Appeal, Outcome, Status

CARD_TEXT_LIMIT = 700


def initials(name: str | None) -> str:
    parts = [p for p in (name or "").split() if p]
    return " ".join(f"{p[0].upper()}." for p in parts[:2]) or "—"


def masked_phone(phone: str | None) -> str:
    """+7 7•• ••• •• 45: enough to tell two citizens apart, not enough to call."""
    digits = (phone or "").removeprefix("+7")
    if len(digits) != 10:
        return "—"
    return f"+7 {digits[0]}•• ••• •• {digits[-2:]}"


def contact_alert(name: str | None, phone: str, address: str | None = None) -> str:
    """The citizen's name, phone and address for a written answer, for the official who
    asked, within an alert's limit. The dialog keeps a name and an address short enough for
    all of it to fit (bot.domain.validation); a longer name stored before that is cut, the phone
    and the address never."""
    tail = f"\n{phone}" + (f"\n{address}" if address else "")
    room = ALERT_LIMIT - utf16_len(tail)
    return f"{shorten(name or '—', room)}{tail}"


def outcome_label(outcome: str | None) -> str:
    labels = {
        Outcome.SATISFIED: _("Satisfied"),
        Outcome.PARTLY: _("Partly satisfied"),
        Outcome.REFUSED: _("Refused, with reasons"),
        Outcome.EXPLAINED: _("Explained"),
    }
    return labels.get(Outcome(outcome), "—") if outcome else "—"


def card_text(
    appeal: Appeal,
    catalog: Catalog,
    lang: str,
    *,
    full: bool = False,
    forward_overdue: bool = False,
) -> str:
    kind = catalog.kind(appeal.kind)
    category = catalog.category(appeal.category)
    district = catalog.territory.place(appeal.district)
    region = catalog.territory.place(appeal.region)
    text = appeal.text or "—"
    applicant = (
        [erased_line()]
        if appeal.erased
        else [
            _("Applicant: {name}, {phone}").format(
                name=html(initials(appeal.contact_name)), phone=masked_phone(appeal.contact_phone)
            ),
            *written_answer_lines(appeal.contact_address_kind),
        ]
    )
    lines = [
        f"<b>№ {html(appeal.reference)}</b> · {html(kind.name(lang) if kind else appeal.kind)}",
        _("Category: {value}").format(value=html(category.name(lang) if category else "—")),
        _("District: {value}").format(
            value=html(", ".join(p.name(lang) for p in (district, region) if p) or "—")
        ),
        _("Deadline for reply: {date}").format(date=long_date(appeal.due_at.date(), lang)),
        _("Status: {value}").format(value=appeal_status_label(appeal, catalog)),
        *applicant,
        _("Language of the appeal: {language}").format(
            language="қазақша" if appeal.language == "kk" else "русский"
        ),
    ]
    if not appeal.erased:
        lines += ["", html(text if full else shorten(text, CARD_TEXT_LIMIT))]
    extras = []
    if appeal.attachments:
        extras.append(_("📎 files: {count}").format(count=len(appeal.attachments)))
    if appeal.latitude is not None:
        extras.append(_("📍 location below"))
    if extras:
        lines += ["", " · ".join(extras)]
    lines += ["", *history_lines(appeal, catalog, lang)]
    if forward_overdue:
        lines.append(_("⚠️ The 3 working days to forward it to the competent body have passed."))
    return "\n".join(line for line in lines).rstrip()


def written_answer_lines(kind: str | None) -> list[str]:
    """That the citizen asked for a written answer too, and how; the address itself stays
    behind «Show contact», like the phone."""
    if kind == "email":
        return [_("✉️ Also wants the answer in writing: by e-mail")]
    if kind == "postal":
        return [_("✉️ Also wants the answer in writing: by post")]
    return []


def history_lines(appeal: Appeal, catalog: Catalog, lang: str) -> list[str]:
    lines = []
    if appeal.status == Status.FORWARDED and appeal.department:
        department = catalog.department(appeal.department)
        name = department.name(lang) if department else appeal.department
        lines.append(_("↪️ Forwarded to {name}").format(name=html(name)))
    if appeal.extension_reason:
        lines.append(_("⏳ Extended: {reason}").format(reason=html(appeal.extension_reason)))
    if appeal.status == Status.DUPLICATE:
        lines.append(_("🔁 Duplicate of an earlier appeal"))
    if appeal.taken_by_name:
        lines.append(_("▶️ Taken by {name}").format(name=html(appeal.taken_by_name)))
    if appeal.status in (Status.ANSWERED, Status.CLOSED) and appeal.answered_by_name:
        lines.append(
            _("✅ Answered by {name}: {outcome}").format(
                name=html(appeal.answered_by_name), outcome=outcome_label(appeal.answer_outcome)
            )
        )
    if appeal.solved:
        lines.append(_("Citizen: {value}").format(value=solved_label(appeal.solved)))
    if appeal.rating:
        lines.append(_("Rating: {value} of 5").format(value=appeal.rating))
    return lines


def solved_label(solved: str) -> str:
    return {"yes": _("problem solved"), "partly": _("partly solved"), "no": _("not solved")}.get(
        solved, solved
    )


# The card's callback actions that stand for a rule's action: a press is checked against
# the status table before it does anything (a stale card may still show the button).
CALLBACK_ACTIONS: dict[str, Action] = {
    **{action.value: action for action in Action},
    "outcome": Action.ANSWER,  # the outcome picker under «Answer»
    "fwd": Action.FORWARD,  # the department picker under «Forward»
}


def card_keyboard(appeal: Appeal, catalog: Catalog, chat_id: int) -> InlineKeyboardMarkup:
    """The actions the status table allows (bot.domain.status.actions_for), on the card in
    the chat that now holds the appeal (or an administrator's private chat); a card left
    behind by a forward keeps no buttons, since that chat no longer acts on the appeal or
    sees the citizen's contact."""

    def button(text: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=text, callback_data=CardCb(action=action, appeal=appeal.id).pack()
        )

    here = chat_id > 0 or appeal.officials_chat_id in (None, chat_id)
    if not here:
        return InlineKeyboardMarkup(inline_keyboard=[])
    allowed = actions_for(appeal.status)
    if not catalog.departments:
        allowed -= {Action.FORWARD}  # nowhere to forward to
    if appeal.erased:
        allowed -= {Action.ASK}  # not after /forget: nobody left to ask
    labels = {
        Action.TAKE: _("▶️ Take"),
        Action.ANSWER: _("✍️ Answer"),
        Action.FORWARD: _("↪️ Forward"),
        Action.EXTEND: _("⏳ Extend"),
        Action.DUPLICATE: _("🔁 Duplicate of…"),
        Action.ASK: _("❓ Ask the citizen"),
    }
    layout = [
        [Action.TAKE, Action.ANSWER],
        [Action.FORWARD, Action.EXTEND, Action.DUPLICATE],
        [Action.ASK],
    ]
    rows = [[button(labels[a], a.value) for a in row if a in allowed] for row in layout]
    # Not after /forget: there is no contact to show.
    if not appeal.erased:
        rows[-1].append(button(_("👤 Show contact"), "contact"))
    if appeal.text and utf16_len(appeal.text.strip()) > CARD_TEXT_LIMIT:
        rows.append([button(_("📄 Show all"), "full")])
    return InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row])


def not_allowed_alert(appeal: Appeal, catalog: Catalog) -> str:
    """A press the status table forbids on an open appeal (a card or picker posted before
    the status changed): said, not silently ignored."""
    return _("This action is not available for this appeal now. Status: {status}.").format(
        status=appeal_status_label(appeal, catalog)
    )


def departments_keyboard(appeal_id: int, catalog: Catalog, lang: str) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                text=d.name(lang),
                callback_data=CardCb(action="fwd", appeal=appeal_id, arg=d.code).pack(),
            )
        ]
        for d in catalog.departments
    ]
    rows.append(
        [
            InlineKeyboardButton(
                text=_("✖️ Cancel"), callback_data=CardCb(action="drop", appeal=appeal_id).pack()
            )
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def templates_keyboard(appeal_id: int, catalog: Catalog, lang: str) -> InlineKeyboardMarkup | None:
    if not catalog.answer_templates:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text="📝 " + t.name(lang),
                    callback_data=CardCb(action="tpl", appeal=appeal_id, arg=t.code).pack(),
                )
            ]
            for t in catalog.answer_templates
        ]
    )


def outcome_keyboard(appeal_id: int) -> InlineKeyboardMarkup:
    def button(text: str, outcome: str) -> InlineKeyboardButton:
        data = CardCb(action="outcome", appeal=appeal_id, arg=outcome).pack()
        return InlineKeyboardButton(text=text, callback_data=data)

    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(outcome_label(o), o) for o in (Outcome.SATISFIED, Outcome.PARTLY)],
            [button(outcome_label(o), o) for o in (Outcome.REFUSED, Outcome.EXPLAINED)],
            [
                InlineKeyboardButton(
                    text=_("✖️ Cancel"),
                    callback_data=CardCb(action="drop", appeal=appeal_id).pack(),
                )
            ],
        ]
    )
