"""What the appeal dialog shows at each step: text and keyboard, in the current language."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from aiogram.utils.i18n import gettext as _

from bot.domain.catalog import Catalog, Place
from bot.domain.validation import ADDRESS_MAX, NAME_MAX, AddressProblem, NameProblem, display_phone
from bot.domain.wizard import EDITABLE
from bot.views.common import back_cancel_row, html, shorten, wbutton
from i18n.core import ngettext

PAGE_SIZE = 10
# (label, action, value) -> a button
Button = Callable[[str, str, str], InlineKeyboardButton]
Screen = tuple[str, InlineKeyboardMarkup | ReplyKeyboardMarkup]


def skip_label() -> str:
    return _("Skip")


def reply_back_label() -> str:
    return _("⬅️ Back")


def reply_cancel_label() -> str:
    return _("✖️ Cancel")


def reply_nav_row() -> list[KeyboardButton]:
    return [KeyboardButton(text=reply_back_label()), KeyboardButton(text=reply_cancel_label())]


def kind_screen(catalog: Catalog, lang: str) -> Screen:
    lines = [_("<b>New appeal.</b> What kind of appeal is it?"), ""]
    for kind in catalog.kinds:
        hint = kind.hint(lang)
        lines.append(f"• <b>{html(kind.name(lang))}</b>" + (f" — {html(hint)}" if hint else ""))
    rows = [[wbutton(k.name(lang), "kind", k.code)] for k in catalog.kinds]
    rows.append(back_cancel_row("kind"))
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def category_screen(catalog: Catalog, lang: str) -> Screen:
    buttons = [wbutton(c.name(lang), "cat", c.code) for c in catalog.categories]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(back_cancel_row("category"))
    return _("What is it about? Choose a category."), InlineKeyboardMarkup(inline_keyboard=rows)


def places_screen(
    step: str,
    places: tuple[Place, ...] | list[Place],
    lang: str,
    page: int,
    note: str = "",
    *,
    button: Button = wbutton,
    page_of: Callable[[int], str] | None = None,
    last_row: list[InlineKeyboardButton] | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    """The region or district step. `button(label, action, value)` makes the buttons (the
    appeal dialog's by default; /subscribe has its own), `page_of(n)` the value of a page
    button, `last_row` the row under them (Back and Cancel by default)."""
    action = "reg" if step == "region" else "dist"
    pages = max(1, -(-len(places) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    chunk = places[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    buttons = [button(p.name(lang), action, p.code) for p in chunk]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    if pages > 1:
        value = page_of or (lambda n: f"{step}.{n}")
        nav = []
        if page > 0:
            nav.append(button("◀️", "page", value(page - 1)))
        nav.append(button(f"{page + 1}/{pages}", "noop", ""))
        if page < pages - 1:
            nav.append(button("▶️", "page", value(page + 1)))
        rows.append(nav)
    rows.append(last_row if last_row is not None else back_cancel_row(step))
    if step == "region":
        prompt = _("Choose the region, or type part of its name.")
    else:
        prompt = _("Choose the district or city, or type part of its name.")
    text = f"{note}\n\n{prompt}" if note else prompt
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def text_screen(catalog: Catalog) -> Screen:
    limits = catalog.limits
    text = _(
        "Describe the problem: what happened, where exactly (street, house), since when. "
        "From {min} to {max} characters."
    ).format(min=limits.text_min, max=limits.text_max)
    return text, InlineKeyboardMarkup(inline_keyboard=[back_cancel_row("text")])


def attachments_screen(catalog: Catalog, count: int) -> Screen:
    most = catalog.limits.attachments_max
    if count:
        text = ngettext(
            "Received {count} file of {max}. Send more or press «Done».",
            "Received {count} files of {max}. Send more or press «Done».",
            count,
        ).format(count=count, max=most)
    else:
        text = _(
            "You can attach up to {max} photos or documents (optional). Send them, then press "
            "«Done»."
        ).format(max=most)
    first_row = [wbutton(_("✅ Done"), "done")] if count else [wbutton(skip_label(), "skip")]
    rows = [first_row, back_cancel_row("attachments")]
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def location_screen() -> Screen:
    keyboard = ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_("📍 Send location"), request_location=True)],
            [KeyboardButton(text=skip_label())],
            [KeyboardButton(text=reply_back_label()), KeyboardButton(text=reply_cancel_label())],
        ],
        resize_keyboard=True,
        one_time_keyboard=False,
    )
    return _("Send the location of the problem, if it has one (optional)."), keyboard


def contact_screen(prompt: str) -> Screen:
    keyboard = ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_("📱 Share my phone number"), request_contact=True)],
            [KeyboardButton(text=reply_back_label()), KeyboardButton(text=reply_cancel_label())],
        ],
        resize_keyboard=True,
    )
    return prompt, keyboard


def correct_label() -> str:
    return _("✅ Correct")


def name_screen(suggested: str | None, *, from_telegram: bool) -> Screen:
    """The full name, with «Correct» for a suggestion that already is one: the name in the
    citizen's Telegram profile, or (editing from the review) the one they gave."""
    rows = [[KeyboardButton(text=correct_label())]] if suggested else []
    rows.append(reply_nav_row())
    lines = [
        _(
            "The law does not consider anonymous appeals, so the akimat needs your full name: "
            "surname, first name and patronymic (if you have one)."
        )
    ]
    if suggested and from_telegram:
        lines.append(
            _(
                "In Telegram your name is <b>{name}</b>. If that is your full name, press "
                "«✅ Correct»; if not, type it."
            ).format(name=html(suggested))
        )
    elif suggested:
        lines.append(
            _("Now: <b>{name}</b>. Press «✅ Correct» to keep it, or type it anew.").format(
                name=html(suggested)
            )
        )
    else:
        lines.append(_("Please type it, e.g. Serikova Aigul Kairatkyzy."))
    return "\n\n".join(lines), ReplyKeyboardMarkup(keyboard=rows, resize_keyboard=True)


def name_problem_text(problem: NameProblem) -> str:
    match problem:
        case NameProblem.CHARACTERS:
            return _(
                "Please use letters only (Kazakh, Russian or Latin); a hyphen or an apostrophe "
                "may join parts of a word, as in Кемел-Ұлы or O'Neil."
            )
        case NameProblem.WORDS:
            return _(
                "Please write two or three words: surname, first name and patronymic (if you "
                "have one)."
            )
        case _:
            return too_long_text(NAME_MAX)


def too_long_text(most: int) -> str:
    return _("That is too long: at most {max} characters. Please shorten it.").format(max=most)


def address_screen(current: str | None) -> Screen:
    keyboard = ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=skip_label())],
            reply_nav_row(),
        ],
        resize_keyboard=True,
    )
    text = _(
        "The answer will come here. If you also want it in writing, send an e-mail or a postal "
        "address (postcode, town or village, street, house). If not, press «Skip»."
    )
    if current:
        now = _("Now: <b>{address}</b>. «Skip» removes it.").format(address=html(current))
        text = f"{text}\n\n{now}"
    return text, keyboard


def address_problem_text(problem: AddressProblem) -> str:
    match problem:
        case AddressProblem.BAD_EMAIL:
            return _(
                "This e-mail address does not look right. Please check it (e.g. name@mail.kz), "
                "or press «Skip»."
            )
        case AddressProblem.TOO_SHORT:
            return _(
                "That is too short for a postal address: please give the town or village, "
                "street and house, or press «Skip»."
            )
        case _:
            return too_long_text(ADDRESS_MAX)


def review_text(draft: dict[str, Any], catalog: Catalog, lang: str) -> str:
    kind = catalog.kind(draft.get("kind", ""))
    category = catalog.category(draft.get("category", ""))
    region = catalog.territory.place(draft.get("region", ""))
    district = catalog.territory.place(draft.get("district", ""))
    files = len(draft.get("attachments", []))
    has_location = draft.get("latitude") is not None
    lines = [
        _("<b>Check your appeal</b>"),
        "",
        _("Kind: {value}").format(value=html(kind.name(lang) if kind else "—")),
        _("Category: {value}").format(value=html(category.name(lang) if category else "—")),
        _("Region: {value}").format(value=html(region.name(lang) if region else "—")),
        _("District: {value}").format(value=html(district.name(lang) if district else "—")),
        _("Text: {value}").format(value=html(shorten(draft.get("text", ""), 1500))),
        _("Files: {value}").format(value=files),
        _("Location: {value}").format(value=_("yes") if has_location else _("no")),
        _("Full name: {value}").format(value=html(draft.get("contact_name") or "—")),
        _("Phone: {value}").format(value=html(display_phone(draft.get("contact_phone", "")))),
        _("Written answer to: {value}").format(
            value=html(draft.get("contact_address") or _("not needed"))
        ),
        "",
        _("The answer will come in the language of the appeal: {language}.").format(
            language="Қазақша" if lang == "kk" else "Русский"
        ),
    ]
    return "\n".join(lines)


def review_keyboard(draft_key: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [wbutton(_("✅ Confirm and send"), "confirm", draft_key)],
            [wbutton(_("✏️ Edit a field"), "edit", draft_key)],
            back_cancel_row("review"),
        ]
    )


def edit_keyboard() -> InlineKeyboardMarkup:
    labels = {
        "kind": _("Kind"),
        "category": _("Category"),
        "region": _("Region and district"),
        "text": _("Text"),
        "attachments": _("Files"),
        "location": _("Location"),
        "name": _("Full name"),
        "contact": _("Phone"),
        "address": _("Address"),
    }
    buttons = [wbutton(labels[code], "field", code) for code in EDITABLE]
    rows: list[list[InlineKeyboardButton]] = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([wbutton(_("⬅️ Back"), "review")])
    return InlineKeyboardMarkup(inline_keyboard=rows)
