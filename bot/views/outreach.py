"""What subscriptions and announcements look like (issue #13): the citizen's /subscribe
screens and the announcement as it reaches them, the officials' /announce dialog and the
progress message. `AnnouncementNotices` is `bot.services.notifiers.AnnouncementMessages`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo

from aiogram.types import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.delivery.outbox import Outbox
from bot.domain.announcements import (
    ATTENDED_MAX,
    LINE_MIN,
    MEETING,
    NOTICE,
    PLACE_MAX,
    POLL,
    QUESTION_MAX,
    QUESTION_MIN,
    TEXT_MIN,
    TOPIC_MAX,
    TOPICS_MAX,
    WHEN_EXAMPLE,
    WHO_MAX,
    AnnouncementTextProblem,
    MeetingChangeProblem,
    MeetingFieldProblem,
    all_districts,
    region_of,
    text_max,
)
from bot.domain.catalog import Catalog, Place, Territory
from bot.domain.receptions import ACCESS_NEEDS, access_codes, access_mask
from bot.telegram.callbacks import AnnCb, MeetCb, MeetEditCb, SubCb
from bot.views.appeal import PAGE_SIZE, places_screen
from bot.views.booking import access_label
from bot.views.common import html, shorten
from bot.views.polls import poll_payload
from i18n.core import LANGUAGES, PoI18n
from i18n.formatting import date_time
from storage.outbox import Outgoing
from storage.outreach import (
    DONE,
    STOPPED,
    Announcement,
    Attendance,
    MeetingDetails,
    MeetingFigures,
    MeetingMove,
    Progress,
    Subscriber,
    announcement_purpose,
    meeting_reminder_purpose,
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


def meeting_lines(meeting: MeetingDetails, tz: tzinfo, lang: str) -> list[str]:
    """Who, where, when (in the akimat's time zone), the topics: all the official typed,
    escaped."""
    return [
        _("Who: {who}").format(who=html(meeting.who)),
        _("Where: {place}").format(place=html(meeting.place)),
        _("When: {when}").format(when=date_time(meeting.at.astimezone(tz), lang)),
        _("Topics: {topics}").format(topics=html("; ".join(meeting.topics))),
    ]


def announcement_text(
    kind: str,
    text: str,
    district: str,
    meeting: MeetingDetails | None = None,
    tz: tzinfo = UTC,
    lang: str = "ru",
) -> str:
    """As the citizen reads it, in the current language (`lang`, for the meeting's date); the
    officials' preview is this very text. Everything the official typed is escaped."""
    place = _("District or city: {place}").format(place=html(district))
    if kind == MEETING and meeting is not None:
        heading = _("🤝 <b>Meeting with residents</b>")
        lines = "\n".join(meeting_lines(meeting, tz, lang))
        return f"{heading}\n{place}\n{lines}\n\n{html(text)}"
    if kind != NOTICE:  # a poll goes as a native poll (bot.views.polls)
        raise ValueError(kind)
    heading = _("📢 <b>Announcement of the akimat</b>")
    return f"{heading}\n{place}\n\n{html(text)}"


def mbutton(text: str, action: str, meeting: int, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=MeetCb(action=action, meeting=meeting, value=value).pack()
    )


def meeting_keyboard(meeting: int, district: str, name: str) -> InlineKeyboardMarkup:
    """«I will come», «Ask a question in advance», then the one-tap «Unsubscribe»."""
    rows = [
        [mbutton(_("✋ I will come"), "come", meeting)],
        [mbutton(_("❓ Ask a question in advance"), "ask", meeting)],
    ]
    return InlineKeyboardMarkup(
        inline_keyboard=rows + unsubscribe_keyboard(district, name).inline_keyboard
    )


def access_needs_text(codes: Sequence[str]) -> str:
    return ", ".join(access_label(c) for c in codes) or _("none")


def come_screen(meeting: int, chosen: Sequence[str]) -> Screen:
    """The access needs of «I will come», as a booking asks them; each button carries the
    needs it leads to, so the screen needs no dialog state."""
    mask = access_mask(chosen)
    rows = [
        [
            mbutton(
                ("✅ " if code in chosen else "") + access_label(code), "acc", meeting,
                str(mask ^ (1 << n)),
            )
        ]
        for n, code in enumerate(ACCESS_NEEDS)
    ]  # fmt: skip
    rows.append([mbutton(_("✅ Confirm"), "go", meeting, str(mask))])
    text = _(
        "Do you need anything to attend the meeting? Choose all that apply, then «Confirm». "
        "Nothing needed? Just press «Confirm»."
    )
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def chosen_needs(value: str) -> tuple[str, ...]:
    """The needs a button carries; nothing for a forged value."""
    return access_codes(int(value)) if value.isascii() and value.isdigit() else ()


def registered_screen(
    meeting: Announcement, attendance: Attendance, tz: tzinfo, lang: str
) -> Screen:
    details = meeting.meeting
    assert details is not None
    text = "\n".join(
        [
            _("✅ You are registered for the meeting with residents."),
            _("When: {when}").format(when=date_time(details.at.astimezone(tz), lang)),
            _("Where: {place}").format(place=html(details.place)),
            _("Needed to attend: {value}").format(value=access_needs_text(attendance.access)),
        ]
    )
    button = mbutton(_("🚫 I won't come after all"), "nocome", meeting.id)
    return text, InlineKeyboardMarkup(inline_keyboard=[[button]])


def moved_text(details: MeetingDetails, move: MeetingMove, tz: tzinfo, lang: str) -> str:
    """To one who said they come: from when and where to when and where (everything the
    official typed escaped), the meeting as it is now, and that the registration stays."""
    was = date_time(move.old_at.astimezone(tz), lang)
    now = date_time(move.new_at.astimezone(tz), lang)
    lines = [
        _("🕒 <b>The meeting with residents is moved</b>"),
        _("Was: {when}, {place}").format(when=was, place=html(move.old_place)),
        _("Now: {when}, {place}").format(when=now, place=html(move.new_place)),
        "",
        *meeting_lines(details, tz, lang),
        "",
        _(
            "Your registration stays. If you cannot come at the new time, press «I won't come "
            "after all»."
        ),
    ]
    return "\n".join(lines)


def withdrawn_text(was: bool) -> str:
    if was:
        return _("Your registration for the meeting is withdrawn.")
    return _("You were not registered for this meeting.")


def meeting_over_text(meeting: Announcement | None = None) -> str:
    if meeting is not None and meeting.meeting is not None and meeting.meeting.cancelled_at:
        return _("This meeting has been cancelled.")
    return _("This meeting has already taken place.")


def topics_screen(meeting: Announcement) -> Screen:
    details = meeting.meeting
    assert details is not None
    rows = [
        [mbutton(shorten(topic, 60), "topic", meeting.id, str(n))]
        for n, topic in enumerate(details.topics)
    ]
    rows.append([mbutton(_("Another topic"), "topic", meeting.id, "-")])
    rows.append([mbutton(_("✖️ Cancel"), "askno", meeting.id)])
    return _("What is your question about?"), InlineKeyboardMarkup(inline_keyboard=rows)


def question_prompt(topic: str | None, meeting: int) -> Screen:
    lines = []
    if topic is not None:
        lines.append(_("Topic: {topic}").format(topic=html(topic)))
    lines.append(
        _("Write your question in one message ({min} to {max} characters).").format(
            min=QUESTION_MIN, max=QUESTION_MAX
        )
    )
    cancel = mbutton(_("✖️ Cancel"), "askno", meeting)
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=[[cancel]])


def question_problem(problem: MeetingFieldProblem) -> str:
    if problem == MeetingFieldProblem.EMPTY:
        return _("Please write your question as a text message.")
    return _("Please write from 10 to 1000 characters.")


def question_taken_text() -> str:
    return _("✅ Thank you: your question has been passed to the organisers of the meeting.")


def question_cancelled_text() -> str:
    return _("The question was not sent.")


def unsubscribe_keyboard(district: str, name: str) -> InlineKeyboardMarkup:
    one = shorten(_("🔕 Unsubscribe: {place}").format(place=name), 60)
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [sbutton(one, "off", district)],
            [sbutton(_("🔕 Unsubscribe from all"), "offall")],
        ]
    )


# --- the officials --------------------------------------------------------------------------


def abutton(text: str, action: str, value: str = "", draft: str = "") -> InlineKeyboardButton:
    """`draft`: the key of the draft a dialog's screen was shown for; its buttons act on that
    draft only, an older screen's are stale."""
    data = AnnCb(action=action, value=value, draft=draft).pack()
    return InlineKeyboardButton(text=text, callback_data=data)


def kind_label(kind: str) -> str:
    if kind == NOTICE:
        return _("📄 Notice")
    if kind == MEETING:
        return _("🤝 Meeting with residents")
    if kind == POLL:
        return _("📊 Poll")
    return kind


def kind_screen(kinds: Sequence[str], draft: str) -> Screen:
    """`draft`: the draft's key, on every button: an older screen's buttons act on nothing."""
    rows = [[abutton(kind_label(k), "kind", k, draft)] for k in kinds]
    rows.append([abutton(_("✖️ Cancel"), "cancel", draft)])
    text = _("<b>New announcement.</b> What kind?")
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def district_names(codes: Sequence[str], territory: Territory, lang: str) -> str:
    every = all_districts(territory)
    if len(every) > 1 and set(codes) >= {d.code for d in every}:
        return _("all ({count})").format(count=len(every))
    return ", ".join(place_name(territory, c, lang) for c in codes)


def districts_screen_for_officials(
    chosen: Sequence[str], territory: Territory, lang: str, page: int, draft: str
) -> Screen:
    places: tuple[Place, ...] = all_districts(territory)
    pages = max(1, -(-len(places) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    chunk = places[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    buttons = [
        abutton(
            ("✅ " if p.code in chosen else "") + p.name(lang), "tog", f"{p.code}.{page}", draft
        )
        for p in chunk
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    if pages > 1:
        nav = []
        if page > 0:
            nav.append(abutton("◀️", "page", str(page - 1), draft))
        nav.append(abutton(f"{page + 1}/{pages}", "page", str(page), draft))
        if page < pages - 1:
            nav.append(abutton("▶️", "page", str(page + 1), draft))
        rows.append(nav)
    rows.append([abutton(_("All districts"), "all", str(page), draft)])
    last = [abutton(_("✖️ Cancel"), "cancel", draft)]
    if chosen:
        last.insert(0, abutton(_("Next ➡️"), "next", "", draft))
    rows.append(last)
    text = _("To which districts? Their subscribers will receive it. Chosen: {names}.").format(
        names=html(shorten(district_names(chosen, territory, lang), 1000)) if chosen else "—"
    )
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def districts_chosen_text(names: str) -> str:
    return _("Districts: {names}").format(names=html(shorten(names, 1500)))


def text_prompt(lang: str, kind: str = NOTICE) -> tuple[str, ForceReply]:
    if lang == "kk":
        text = _("Reply to this message with the text in Kazakh ({min} to {max} characters).")
    else:
        text = _("Reply to this message with the text in Russian ({min} to {max} characters).")
    return text.format(min=TEXT_MIN, max=text_max(kind)), ForceReply(selective=True)


def text_problem(problem: AnnouncementTextProblem, kind: str = NOTICE) -> str:
    match problem:
        case AnnouncementTextProblem.EMPTY:
            return _("Please reply with the text as a message.")
        case AnnouncementTextProblem.TOO_SHORT:
            return _("The text is too short: at least {min} characters.").format(min=TEXT_MIN)
        case AnnouncementTextProblem.TOO_LONG:
            return _("The text is too long: at most {max} characters.").format(max=text_max(kind))


def meeting_prompt(field: str) -> tuple[str, ForceReply]:
    """The meeting's details, asked before its texts, each as a reply to the bot's prompt."""
    match field:
        case "who":
            text = _(
                "Reply to this message: who will meet the residents (names and posts, "
                "up to {max} characters)?"
            ).format(max=WHO_MAX)
        case "place":
            text = _(
                "Reply to this message: where will the meeting be (the address, up to {max} "
                "characters)?"
            ).format(max=PLACE_MAX)
        case "when":
            text = _(
                "Reply to this message: when will the meeting be? The date and the local "
                "time, like {example}."
            ).format(example=WHEN_EXAMPLE)
        case _:
            text = _(
                "Reply to this message with the meeting's topics, one a line (up to {count} "
                "topics of up to {max} characters). Residents choose one when they ask a "
                "question in advance."
            ).format(count=TOPICS_MAX, max=TOPIC_MAX)
    return text, ForceReply(selective=True)


def meeting_problem(field: str, problem: MeetingFieldProblem) -> str:
    match problem:
        case MeetingFieldProblem.NOT_A_TIME:
            return _("Please write the date and the time like {example}.").format(
                example=WHEN_EXAMPLE
            )
        case MeetingFieldProblem.PAST:
            return _("That time has passed: please give a time in the future.")
        case MeetingFieldProblem.TOO_MANY:
            return _("Too many topics: at most {count}.").format(count=TOPICS_MAX)
        case MeetingFieldProblem.EMPTY:
            return _("Please reply with the text as a message.")
        case MeetingFieldProblem.TOO_SHORT:
            return _("Too short: at least {min} characters.").format(min=LINE_MIN)
    longest = {"who": WHO_MAX, "place": PLACE_MAX}.get(field, TOPIC_MAX)
    return _("Too long: at most {max} characters.").format(max=longest)


def meeting_details_text(meeting: MeetingDetails, tz: tzinfo, lang: str) -> str:
    """What the official gave, before the texts are asked."""
    return "\n".join([_("<b>The meeting</b>"), *meeting_lines(meeting, tz, lang)])


def preview_heading(lang: str) -> str:
    if lang == "kk":
        return _("Preview in Kazakh: the subscribers will see exactly this.")
    return _("Preview in Russian: the subscribers will see exactly this.")


def review_screen(kind: str, districts: str, audience: int, meeting: str, draft: str) -> Screen:
    """`meeting`: the meeting's details (`meeting_details_text`), for a meeting. «Send» carries
    the draft's key (`draft`): an older card, of a draft since replaced, sends nothing."""
    text = "\n".join(
        [
            _("<b>The announcement is ready.</b>"),
            *([meeting] if meeting else []),
            _("Kind: {kind}").format(kind=kind_label(kind)),
            _("Districts: {names}").format(names=html(shorten(districts, 1500))),
            _("Subscribers now: {count}").format(count=audience),
            "",
            _("«Send» sends it to them, each in their language."),
        ]
    )
    rows = [[abutton(_("📤 Send"), "send", draft), abutton(_("✖️ Cancel"), "cancel", draft)]]
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def cancelled_text() -> str:
    return _("Announcement cancelled; nothing was sent.")


def time_passed_text() -> str:
    """«Send» after the meeting's time or the poll's end time went by at the review."""
    return _("The time given has passed meanwhile: nothing was sent. Start again: /announce")


def meetings_keyboard(figures: Sequence[MeetingFigures]) -> InlineKeyboardMarkup | None:
    """Under /meetings: move one, or call it off."""
    rows = [
        row
        for f in figures
        for row in (
            [ebutton(_("🕒 Move meeting № {id}").format(id=f.meeting.id), "move", f.meeting.id)],
            [abutton(_("✖️ Cancel meeting № {id}").format(id=f.meeting.id), "mcancel",
                     str(f.meeting.id))],
        )
    ]  # fmt: skip
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def ebutton(text: str, action: str, meeting: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=MeetEditCb(action=action, meeting=meeting).pack()
    )


def change_problem_text(problem: MeetingChangeProblem) -> str:
    """Why a meeting cannot be moved, or its attendance not entered."""
    match problem:
        case MeetingChangeProblem.CANCELLED:
            return _("This meeting has been cancelled.")
        case MeetingChangeProblem.BEGUN:
            return _("This meeting has already begun or taken place: it cannot be moved.")
        case MeetingChangeProblem.NOT_YET:
            return _("The meeting has not taken place yet: enter how many came after it.")
        case MeetingChangeProblem.PAST:
            return _("That time has passed: please give a time in the future.")
        case MeetingChangeProblem.SAME:
            return _("That is the meeting's time already: give another time, or cancel.")


def move_when_prompt(meeting: Announcement, tz: tzinfo, lang: str) -> tuple[str, ForceReply]:
    details = meeting.meeting
    assert details is not None
    text = "\n".join(
        [
            _("<b>Moving meeting № {id}</b>").format(id=meeting.id),
            _("Now: {when}, {place}").format(
                when=date_time(details.at.astimezone(tz), lang), place=html(details.place)
            ),
            _("Reply to this message with the new date and local time, like {example}.").format(
                example=WHEN_EXAMPLE
            ),
        ]
    )
    return text, ForceReply(selective=True)


def move_place_prompt(meeting: Announcement) -> Screen:
    """After the new time: a new place as a reply, or the same one by the button."""
    details = meeting.meeting
    assert details is not None
    text = _(
        "Reply to this message with the new place (up to {max} characters), or keep it: {place}"
    ).format(max=PLACE_MAX, place=html(details.place))
    rows = [
        [ebutton(_("📍 Keep the place"), "keep", meeting.id)],
        [ebutton(_("✖️ Cancel"), "no", meeting.id)],
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def move_review(
    meeting: Announcement, new_at: datetime, new_place: str, coming: int, tz: tzinfo, lang: str
) -> Screen:
    details = meeting.meeting
    assert details is not None
    was = date_time(details.at.astimezone(tz), lang)
    now = date_time(new_at.astimezone(tz), lang)
    text = "\n".join(
        [
            _("<b>Move meeting № {id}?</b>").format(id=meeting.id),
            _("Was: {when}, {place}").format(when=was, place=html(details.place)),
            _("Now: {when}, {place}").format(when=now, place=html(new_place or details.place)),
            _("Those who said they come ({count}) will be told, each in their language; their "
              "registrations stay.").format(count=coming),
        ]
    )  # fmt: skip
    rows = [
        [ebutton(_("✅ Move the meeting"), "ok", meeting.id)],
        [ebutton(_("✖️ Cancel"), "no", meeting.id)],
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def meeting_moved_text(meeting: Announcement, move: MeetingMove, tz: tzinfo, lang: str) -> str:
    return _(
        "Meeting № {id} is moved to {when}, {place}; {count} who said they come are being told."
    ).format(
        id=meeting.id, when=date_time(move.new_at.astimezone(tz), lang),
        place=html(move.new_place), count=move.told,
    )  # fmt: skip


def move_dropped_text() -> str:
    return _("The meeting was not moved.")


def meetings_usage() -> str:
    return _("Usage: /meetings (the upcoming ones) or /meetings past (those held, to enter how "
             "many came).")  # fmt: skip


def past_meetings_screen(
    figures: Sequence[MeetingFigures],
    territory: Territory,
    tz: tzinfo,
    lang: str,
    days: int,
    chat_id: int,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """`/meetings past`: the meetings of the last `days` whose time has come, with how many
    said they come, how many came (who entered it, when) and, under those announced from
    `chat_id` (only that chat enters it), «How many came» to enter or correct it."""
    if not figures:
        return _("No meetings with residents in the last {days} days.").format(days=days), None
    parts = [_("🤝 <b>Meetings with residents held in the last {days} days</b>").format(days=days)]
    rows = []
    for f in figures:
        details = f.meeting.meeting
        assert details is not None
        names = district_names(f.meeting.districts, territory, lang)
        lines = [
            "",
            _("<b>Meeting № {id}</b>").format(id=f.meeting.id),
            _("When: {when}").format(when=date_time(details.at.astimezone(tz), lang)),
            _("Where: {place}").format(place=html(details.place)),
            _("Districts: {names}").format(names=html(shorten(names, 500))),
            _("Said they come: {count}").format(count=f.coming),
            _("Questions in advance: {count}").format(count=len(f.questions)),
        ]
        if details.attended is None:
            lines.append(_("Came: not entered yet"))
        else:
            lines.append(
                _("Came: {count} (entered by {who}, {when})").format(
                    count=details.attended, who=html(details.attended_by_name or ""),
                    when=date_time((details.attended_at or details.at).astimezone(tz), lang),
                )
            )  # fmt: skip
        parts.append("\n".join(lines))
        if f.meeting.chat_id != chat_id:
            continue
        rows.append(
            [ebutton(_("✍️ How many came № {id}").format(id=f.meeting.id), "count",
                     f.meeting.id)]
        )  # fmt: skip
    return "\n".join(parts), InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def attended_prompt(meeting: Announcement) -> tuple[str, ForceReply]:
    details = meeting.meeting
    assert details is not None
    lines = [
        _("Reply to this message: how many came to meeting № {id}? A number from 0 to "
          "{max}.").format(id=meeting.id, max=ATTENDED_MAX),
    ]  # fmt: skip
    if details.attended is not None:
        lines.append(_("Entered now: {count}. The new number replaces it.").format(
            count=details.attended))  # fmt: skip
    return "\n".join(lines), ForceReply(selective=True)


def attended_problem(problem: MeetingFieldProblem) -> str:
    if problem == MeetingFieldProblem.TOO_MANY:
        return _("That is more than {max}: please check the number.").format(max=ATTENDED_MAX)
    return _("Please reply with a whole number from 0 to {max}, like 45.").format(max=ATTENDED_MAX)


def attended_recorded_text(meeting: Announcement) -> str:
    details = meeting.meeting
    assert details is not None
    return _("Meeting № {id}: {count} came. Entered by {who}.").format(
        id=meeting.id, count=details.attended, who=html(details.attended_by_name or "")
    )


def cancel_meeting_question(meeting: Announcement, coming: int) -> Screen:
    text = _("Cancel the meeting № {id}? Those who said they come ({count}) will be told.").format(
        id=meeting.id, count=coming
    )
    rows = [
        [abutton(_("✅ Yes, cancel the meeting"), "mcancelok", str(meeting.id))],
        [abutton(_("⬅️ No, keep it"), "mcancelno", str(meeting.id))],
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def meeting_cancelled_text(meeting: Announcement, told: int) -> str:
    return _("Meeting № {id} is cancelled; {count} who said they come are being told.").format(
        id=meeting.id, count=told
    )


def meetings_screen(
    figures: Sequence[MeetingFigures], territory: Territory, tz: tzinfo, lang: str
) -> str:
    """/meetings: each upcoming meeting with its head count, the access needs summed and the
    questions in advance by topic (the citizens' texts escaped)."""
    hint = _("Meetings held, and how many came: /meetings past")
    if not figures:
        return _("No upcoming meetings with residents.") + "\n" + hint
    parts = [_("🤝 <b>Upcoming meetings with residents</b>")]
    for f in figures:
        details = f.meeting.meeting
        assert details is not None
        names = district_names(f.meeting.districts, territory, lang)
        needs = [f"{access_label(code)}: {f.access[code]}" for code in ACCESS_NEEDS
                 if f.access.get(code)]  # fmt: skip
        lines = [
            "",
            _("<b>Meeting № {id}</b>").format(id=f.meeting.id),
            *meeting_lines(details, tz, lang),
            _("Districts: {names}").format(names=html(shorten(names, 500))),
            _("Coming: {count}").format(count=f.coming),
            _("Needed to attend: {value}").format(value=", ".join(needs) or _("none")),
        ]
        if not f.questions:
            lines.append(_("Questions in advance: none"))
        else:
            lines.append(_("Questions in advance: {count}").format(count=len(f.questions)))
            by_topic: dict[int | None, list[str]] = {}
            for q in f.questions:
                by_topic.setdefault(q.topic, []).append(q.text)
            order = [*range(len(details.topics)), None]
            for topic in order:
                if topic not in by_topic:
                    continue
                title = details.topics[topic] if topic is not None else _("Another topic")
                lines.append(f"<i>{html(title)}</i>")
                lines += [f"• {html(text)}" for text in by_topic[topic]]
        parts.append("\n".join(lines))
    parts += ["", hint]
    return "\n".join(parts)


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
        self,
        rows: Outbox,
        i18n: PoI18n,
        catalog: Catalog,
        officials_language: str,
        tz: tzinfo = UTC,
    ) -> None:
        self.tz = tz
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
        key = f"{announcement_purpose(announcement.id)}:{subscriber.citizen_id}"
        with self.speaking(lang):
            name = place_name(territory, subscriber.district, lang)
            if announcement.poll is not None:
                # A native poll, in the citizen's language (bot.views.polls).
                payload = poll_payload(
                    announcement, lang, unsubscribe_keyboard(subscriber.district, name)
                )
                return self.rows.message(
                    subscriber.citizen_id, "sendPoll", payload, dedupe_key=key,
                    purpose=announcement_purpose(announcement.id),
                )  # fmt: skip
            text = announcement_text(
                announcement.kind, announcement.text(lang), name, announcement.meeting,
                self.tz, lang,
            )  # fmt: skip
            markup = (
                meeting_keyboard(announcement.id, subscriber.district, name)
                if announcement.meeting is not None
                else unsubscribe_keyboard(subscriber.district, name)
            )
        return self.rows.message(
            subscriber.citizen_id,
            "sendMessage",
            {"text": text, "parse_mode": "HTML", "reply_markup": markup},
            dedupe_key=f"{announcement_purpose(announcement.id)}:{subscriber.citizen_id}",
            purpose=announcement_purpose(announcement.id),
        )

    def reminder(
        self, meeting: Announcement, citizen_id: int, lang: str, at: datetime, key: str
    ) -> Outgoing:
        """`MeetingMessages.reminder`: written in both languages and sent in the one the
        citizen has the day before (`Outbox.in_language`), so a /lang meanwhile is followed."""
        lang = lang if lang in LANGUAGES else "kk"
        details = meeting.meeting
        assert details is not None
        versions: dict[str, tuple[str, InlineKeyboardMarkup]] = {}
        for version in LANGUAGES:
            with self.speaking(version):
                text = "\n".join(
                    [_("⏰ <b>Tomorrow: the meeting with residents</b>"),
                     *meeting_lines(details, self.tz, version)]
                )  # fmt: skip
                button = mbutton(_("🚫 I won't come after all"), "nocome", meeting.id)
            versions[version] = (text, InlineKeyboardMarkup(inline_keyboard=[[button]]))
        return self.rows.in_language(
            citizen_id,
            versions,
            lang,
            dedupe_key=key,
            purpose=meeting_reminder_purpose(meeting.id, citizen_id),
            not_before=at,
        )

    def cancelled(self, meeting: Announcement, subscriber: Subscriber) -> Outgoing:
        """`MeetingMessages.cancelled`."""
        lang = subscriber.language if subscriber.language in ("kk", "ru") else "kk"
        details = meeting.meeting
        assert details is not None
        with self.speaking(lang):
            text = "\n".join(
                [_("❌ <b>The meeting with residents is cancelled</b>"),
                 *meeting_lines(details, self.tz, lang)]
            )  # fmt: skip
        return self.rows.message(
            subscriber.citizen_id,
            "sendMessage",
            {"text": text, "parse_mode": "HTML"},
            dedupe_key=f"meeting-cancelled:{meeting.id}:{subscriber.citizen_id}",
            purpose=f"meeting-cancelled:{meeting.id}",
        )

    def moved(self, meeting: Announcement, move: MeetingMove, subscriber: Subscriber) -> Outgoing:
        """`MeetingMessages.moved`."""
        lang = subscriber.language if subscriber.language in ("kk", "ru") else "kk"
        details = meeting.meeting
        assert details is not None
        with self.speaking(lang):
            text = moved_text(details, move, self.tz, lang)
            button = mbutton(_("🚫 I won't come after all"), "nocome", meeting.id)
        return self.rows.message(
            subscriber.citizen_id,
            "sendMessage",
            {"text": text, "parse_mode": "HTML",
             "reply_markup": InlineKeyboardMarkup(inline_keyboard=[[button]])},
            dedupe_key=f"meeting-moved:{move.id}:{subscriber.citizen_id}",
            purpose=f"meeting-moved:{meeting.id}",
        )  # fmt: skip

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
