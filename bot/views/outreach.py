"""What subscriptions and announcements look like (issue #13): the citizen's /subscribe
screens and the announcement as it reaches them, the officials' /announce dialog and the
progress message. `AnnouncementNotices` is `bot.services.notifiers.AnnouncementMessages`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from aiogram.types import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.delivery.outbox import Outbox
from bot.domain.announcements import (
    NOTICE,
    TEXT_MAX,
    TEXT_MIN,
    AnnouncementTextProblem,
    all_districts,
    region_of,
)
from bot.domain.catalog import Catalog, Place, Territory
from bot.telegram.callbacks import AnnCb, SubCb
from bot.views.appeal import PAGE_SIZE, places_screen
from bot.views.common import html, shorten
from i18n.core import PoI18n
from storage.outbox import Outgoing
from storage.outreach import (
    DONE,
    STOPPED,
    Announcement,
    Progress,
    Subscriber,
    announcement_purpose,
    progress_purpose,
)

Screen = tuple[str, InlineKeyboardMarkup]


# --- the citizen ----------------------------------------------------------------------------


def sbutton(text: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=SubCb(action=action, value=value).pack())


def place_name(territory: Territory, code: str, lang: str) -> str:
    place = territory.place(code)
    return place.name(lang) if place is not None else code


def subscriptions_screen(codes: Sequence[str], territory: Territory, lang: str) -> Screen:
    add = sbutton(_("➕ Add a district or city"), "add")
    if not codes:
        text = _(
            "<b>Announcements of the akimat</b>\n"
            "Subscribe to a district or city, and the akimat's announcements for it will come "
            "here. You can unsubscribe at any time, with one tap under any announcement."
        )
        return text, InlineKeyboardMarkup(inline_keyboard=[[add]])
    lines = [_("<b>Your subscriptions</b>")]
    rows = []
    for code in codes:
        name = place_name(territory, code, lang)
        region = region_of(territory, code)
        where = f"{name} ({region.name(lang)})" if region and len(territory.regions) > 1 else name
        lines.append(f"• {html(where)}")
        rows.append([sbutton(f"❌ {name}", "del", code)])
    lines += ["", _("The akimat's announcements for these places come here. ❌ unsubscribes.")]
    rows.append([add])
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def _back_to_list() -> list[InlineKeyboardButton]:
    return [sbutton(_("⬅️ Back"), "list")]


def regions_screen(territory: Territory, lang: str, page: int) -> Screen:
    return places_screen(
        "region", territory.regions, lang, page,
        button=sbutton, page_of=lambda n: f"r.{n}", last_row=_back_to_list(),
    )  # fmt: skip


def districts_screen(territory: Territory, region: str, lang: str, page: int) -> Screen:
    return places_screen(
        "district", territory.districts_of(region), lang, page,
        button=sbutton, page_of=lambda n: f"{region}.{n}", last_row=_back_to_list(),
    )  # fmt: skip


def subscribed_text(name: str, new: bool) -> str:
    if new:
        return _("✅ You are subscribed to the announcements for: {place}.").format(
            place=html(name)
        )
    return _("You are already subscribed to the announcements for: {place}.").format(
        place=html(name)
    )


def unsubscribed_text(name: str, was: bool) -> str:
    if was:
        return _("You will no longer receive announcements for: {place}.").format(place=name)
    return _("You are not subscribed to: {place}.").format(place=name)


def unsubscribed_all_text() -> str:
    return _("You have unsubscribed from all announcements.")


def announcement_text(kind: str, text: str, district: str) -> str:
    """As the citizen reads it, in the current language; the officials' preview is this very
    text. Everything the official typed is escaped."""
    if kind != NOTICE:  # pragma: no cover - meetings and polls come later
        raise ValueError(kind)
    heading = _("📢 <b>Announcement of the akimat</b>")
    place = _("District or city: {place}").format(place=html(district))
    return f"{heading}\n{place}\n\n{html(text)}"


def unsubscribe_keyboard(district: str, name: str) -> InlineKeyboardMarkup:
    one = shorten(_("🔕 Unsubscribe: {place}").format(place=name), 60)
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [sbutton(one, "off", district)],
            [sbutton(_("🔕 Unsubscribe from all"), "offall")],
        ]
    )


# --- the officials --------------------------------------------------------------------------


def abutton(text: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=AnnCb(action=action, value=value).pack())


def kind_label(kind: str) -> str:
    if kind == NOTICE:
        return _("📄 Notice")
    return kind  # pragma: no cover - meetings and polls come later


def kind_screen(kinds: Sequence[str]) -> Screen:
    rows = [[abutton(kind_label(k), "kind", k)] for k in kinds]
    rows.append([abutton(_("✖️ Cancel"), "cancel")])
    text = _("<b>New announcement.</b> What kind?")
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def district_names(codes: Sequence[str], territory: Territory, lang: str) -> str:
    every = all_districts(territory)
    if len(every) > 1 and set(codes) >= {d.code for d in every}:
        return _("all ({count})").format(count=len(every))
    return ", ".join(place_name(territory, c, lang) for c in codes)


def districts_screen_for_officials(
    chosen: Sequence[str], territory: Territory, lang: str, page: int
) -> Screen:
    places: tuple[Place, ...] = all_districts(territory)
    pages = max(1, -(-len(places) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    chunk = places[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    buttons = [
        abutton(("✅ " if p.code in chosen else "") + p.name(lang), "tog", f"{p.code}.{page}")
        for p in chunk
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    if pages > 1:
        nav = []
        if page > 0:
            nav.append(abutton("◀️", "page", str(page - 1)))
        nav.append(abutton(f"{page + 1}/{pages}", "page", str(page)))
        if page < pages - 1:
            nav.append(abutton("▶️", "page", str(page + 1)))
        rows.append(nav)
    rows.append([abutton(_("All districts"), "all", str(page))])
    last = [abutton(_("✖️ Cancel"), "cancel")]
    if chosen:
        last.insert(0, abutton(_("Next ➡️"), "next"))
    rows.append(last)
    text = _("To which districts? Their subscribers will receive it. Chosen: {names}.").format(
        names=html(shorten(district_names(chosen, territory, lang), 1000)) if chosen else "—"
    )
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def districts_chosen_text(names: str) -> str:
    return _("Districts: {names}").format(names=html(shorten(names, 1500)))


def text_prompt(lang: str) -> tuple[str, ForceReply]:
    if lang == "kk":
        text = _("Reply to this message with the text in Kazakh ({min} to {max} characters).")
    else:
        text = _("Reply to this message with the text in Russian ({min} to {max} characters).")
    return text.format(min=TEXT_MIN, max=TEXT_MAX), ForceReply(selective=True)


def text_problem(problem: AnnouncementTextProblem) -> str:
    match problem:
        case AnnouncementTextProblem.EMPTY:
            return _("Please reply with the text as a message.")
        case AnnouncementTextProblem.TOO_SHORT:
            return _("The text is too short: at least {min} characters.").format(min=TEXT_MIN)
        case AnnouncementTextProblem.TOO_LONG:
            return _("The text is too long: at most {max} characters.").format(max=TEXT_MAX)


def preview_heading(lang: str) -> str:
    if lang == "kk":
        return _("Preview in Kazakh: the subscribers will see exactly this.")
    return _("Preview in Russian: the subscribers will see exactly this.")


def review_screen(kind: str, districts: str, audience: int) -> Screen:
    text = "\n".join(
        [
            _("<b>The announcement is ready.</b>"),
            _("Kind: {kind}").format(kind=kind_label(kind)),
            _("Districts: {names}").format(names=html(shorten(districts, 1500))),
            _("Subscribers now: {count}").format(count=audience),
            "",
            _("«Send» sends it to them, each in their language."),
        ]
    )
    rows = [[abutton(_("📤 Send"), "send"), abutton(_("✖️ Cancel"), "cancel")]]
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def cancelled_text() -> str:
    return _("Announcement cancelled; nothing was sent.")


def progress_screen(
    announcement: Announcement, progress: Progress, districts: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    lines = [
        _("📢 <b>Announcement № {id}</b> · {kind}").format(
            id=announcement.id, kind=kind_label(announcement.kind)
        ),
        _("Districts: {names}").format(names=html(shorten(districts, 1500))),
        _("Sent: {sent} of {total}").format(sent=progress.sent, total=progress.total),
        _("Not delivered: {failed} · Blocked the bot: {blocked}").format(
            failed=progress.failed, blocked=progress.blocked
        ),
    ]
    if announcement.status == STOPPED:
        lines.append(_("⏹ Stopped: {count} not sent.").format(count=progress.stopped))
    elif announcement.status == DONE:
        lines.append(_("✅ Done."))
    else:
        lines.append(_("Sending…"))
        stop = abutton(_("⏹ Stop"), "stop", str(announcement.id))
        return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=[[stop]])
    return "\n".join(lines), None


class AnnouncementNotices:
    """`AnnouncementMessages`: the rows the service queues."""

    def __init__(
        self, rows: Outbox, i18n: PoI18n, catalog: Catalog, officials_language: str
    ) -> None:
        self.rows = rows
        self.i18n = i18n
        self.catalog = catalog
        self.officials_language = officials_language

    @contextmanager
    def speaking(self, lang: str) -> Iterator[None]:
        with self.i18n.context(), self.i18n.use_locale(lang):
            yield

    def to_citizen(self, announcement: Announcement, subscriber: Subscriber) -> Outgoing:
        lang = subscriber.language if subscriber.language in ("kk", "ru") else "kk"
        territory = self.catalog.territory
        with self.speaking(lang):
            name = place_name(territory, subscriber.district, lang)
            text = announcement_text(announcement.kind, announcement.text(lang), name)
            markup = unsubscribe_keyboard(subscriber.district, name)
        return self.rows.message(
            subscriber.citizen_id,
            "sendMessage",
            {"text": text, "parse_mode": "HTML", "reply_markup": markup},
            dedupe_key=f"{announcement_purpose(announcement.id)}:{subscriber.citizen_id}",
            purpose=announcement_purpose(announcement.id),
        )

    def progress(self, announcement: Announcement, progress: Progress) -> Outgoing | None:
        if announcement.progress_message_id is None:
            return None
        lang = self.officials_language
        with self.speaking(lang):
            names = district_names(announcement.districts, self.catalog.territory, lang)
            text, markup = progress_screen(announcement, progress, names)
        payload: dict[str, object] = {
            "message_id": announcement.progress_message_id,
            "text": text,
            "parse_mode": "HTML",
        }
        if markup is not None:
            payload["reply_markup"] = markup
        return self.rows.message(
            announcement.chat_id,
            "editMessageText",
            payload,
            purpose=progress_purpose(announcement.id),
        )
