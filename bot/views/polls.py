"""What polls look like (issue #13): the officials' /announce steps of a poll and its
preview, the native Telegram poll a citizen receives, the stopPoll and the results at the
end, and the results by option and by district in /stats, /export and the digest.
`PollNotices` is `bot.services.notifiers.PollMessages`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, tzinfo
from typing import Any

from aiogram.types import ForceReply, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.delivery.outbox import Outbox
from bot.domain.announcements import WHEN_EXAMPLE
from bot.domain.catalog import Catalog, Territory
from bot.domain.polls import (
    OPTION_MAX,
    OPTIONS_MAX,
    OPTIONS_MIN,
    QUESTION_MAX,
    QUESTION_MIN,
    PollProblem,
    Tally,
    tally,
)
from bot.views.common import html
from i18n.core import PoI18n
from i18n.formatting import date_time
from storage.outbox import Outgoing
from storage.outreach import Announcement, PollDetails
from storage.polls import PollResults, SentPoll, poll_close_purpose, poll_results_purpose

# --- the officials' dialog ------------------------------------------------------------------


def closes_prompt() -> tuple[str, ForceReply]:
    text = _(
        "Reply to this message: when does the poll close? The date and the local time, "
        "like {example}. Votes after it are not counted."
    ).format(example=WHEN_EXAMPLE)
    return text, ForceReply(selective=True)


def question_prompt(lang: str) -> tuple[str, ForceReply]:
    if lang == "kk":
        text = _("Reply to this message with the poll's question in Kazakh ({min} to {max} "
                 "characters).")  # fmt: skip
    else:
        text = _("Reply to this message with the poll's question in Russian ({min} to {max} "
                 "characters).")  # fmt: skip
    return text.format(min=QUESTION_MIN, max=QUESTION_MAX), ForceReply(selective=True)


def options_prompt(lang: str, count: int | None = None) -> tuple[str, ForceReply]:
    """The answer options, one a line; in Russian as many as in Kazakh, in the same order."""
    if lang == "kk" or count is None:
        text = _(
            "Reply to this message with the answer options in Kazakh, one a line: {min} to "
            "{max} options of up to {length} characters."
        ).format(min=OPTIONS_MIN, max=OPTIONS_MAX, length=OPTION_MAX)
    else:
        text = _(
            "Reply to this message with the answer options in Russian, one a line, in the "
            "same order as in Kazakh: {count} options of up to {length} characters."
        ).format(count=count, length=OPTION_MAX)
    return text, ForceReply(selective=True)


def poll_problem(problem: PollProblem, expected: int | None = None) -> str:
    match problem:
        case PollProblem.EMPTY:
            return _("Please reply with the text as a message.")
        case PollProblem.TOO_SHORT:
            return _("The question is too short: at least {min} characters.").format(
                min=QUESTION_MIN
            )
        case PollProblem.TOO_LONG:
            return _("The question is too long: at most {max} characters.").format(max=QUESTION_MAX)
        case PollProblem.TOO_FEW:
            return _("Too few options: at least {min}, one a line.").format(min=OPTIONS_MIN)
        case PollProblem.TOO_MANY:
            return _("Too many options: at most {max}.").format(max=OPTIONS_MAX)
        case PollProblem.OPTION_TOO_LONG:
            return _("An option is too long: at most {max} characters each.").format(max=OPTION_MAX)
        case PollProblem.DUPLICATE:
            return _("Two options are the same: each option must differ.")
        case PollProblem.COUNT_MISMATCH:
            return _(
                "There must be as many options as in Kazakh ({count}), in the same order."
            ).format(count=expected)


def preview_heading(lang: str) -> str:
    if lang == "kk":
        return _("Preview in Kazakh: the subscribers will receive this poll.")
    return _("Preview in Russian: the subscribers will receive this poll.")


def preview_text(question: str, options: Sequence[str]) -> str:
    """The poll as Telegram shows it, in text: the question and the options."""
    lines = [f"📊 <b>{html(question)}</b>", *(f"○ {html(o)}" for o in options)]
    return "\n".join(lines)


def poll_details_text(poll: PollDetails, tz: tzinfo, lang: str) -> str:
    """On the review card: when it closes, how many options."""
    return "\n".join(
        [
            _("Closes: {when}").format(when=date_time(poll.closes_at.astimezone(tz), lang)),
            _("Options: {count}").format(count=len(poll.options_ru)),
        ]
    )


# --- what a citizen receives ----------------------------------------------------------------


def poll_payload(poll: Announcement, lang: str, markup: InlineKeyboardMarkup) -> dict[str, Any]:
    """sendPoll's parameters: the question and options in `lang`, as typed (no parse mode:
    nothing an official wrote is read as markup), not anonymous to the bot, one choice."""
    details = poll.poll
    assert details is not None
    return {
        "question": poll.text(lang),
        "question_parse_mode": None,
        "options": [{"text": o, "text_parse_mode": None} for o in details.options(lang)],
        "is_anonymous": False,
        "allows_multiple_answers": False,
        "reply_markup": markup,
    }


def tally_of(results: PollResults) -> Tally:
    poll = results.poll.poll
    assert poll is not None
    return tally(results.votes, len(poll.options_ru), results.poll.districts)


def option_lines(results: PollResults, lang: str) -> list[str]:
    """Each option with its votes and share, in `lang`."""
    poll = results.poll.poll
    assert poll is not None
    counted = tally_of(results)
    return [
        f"{html(option)} — {counted.by_option[n]} ({counted.share(n)}%)"
        for n, option in enumerate(poll.options(lang))
    ]


def citizen_results_text(results: PollResults, lang: str) -> str:
    counted = tally_of(results)
    return "\n".join(
        [
            _("📊 <b>The poll is closed. Results</b>"),
            html(results.poll.text(lang)),
            "",
            *option_lines(results, lang),
            "",
            _("Votes: {count}").format(count=counted.total),
            _("Thank you for taking part."),
        ]
    )


# --- what officials read --------------------------------------------------------------------


def place_name(territory: Territory, code: str, lang: str) -> str:
    place = territory.place(code)
    return place.name(lang) if place is not None else code


def poll_block(results: PollResults, territory: Territory, tz: tzinfo, lang: str) -> str:
    """One poll's results by option and by district, in `lang` (the officials')."""
    poll = results.poll.poll
    assert poll is not None
    counted = tally_of(results)
    options = poll.options(lang)
    if poll.closed_at is not None:
        state = _("closed {when}").format(when=date_time(poll.closed_at.astimezone(tz), lang))
    else:
        state = _("open until {when}").format(when=date_time(poll.closes_at.astimezone(tz), lang))
    lines = [
        _("<b>Poll № {id}</b> ({state})").format(id=results.poll.id, state=state),
        html(results.poll.text(lang)),
        *(f"  {line}" for line in option_lines(results, lang)),
        _("Votes: {count} · received the poll: {delivered}").format(
            count=counted.total, delivered=results.delivered
        ),
        _("By district:"),
    ]
    for district, counts in counted.by_district:
        parts = " · ".join(f"{html(o)} — {counts[n]}" for n, o in enumerate(options))
        lines.append(f"  {html(place_name(territory, district, lang))}: {parts}")
    return "\n".join(lines)


def render_poll_stats(
    polls: Sequence[PollResults], territory: Territory, tz: tzinfo, lang: str
) -> str | None:
    """/stats' section on the polls of the period; None without any."""
    if not polls:
        return None
    blocks = [poll_block(r, territory, tz, lang) for r in polls]
    return "\n\n".join([_("📊 <b>Polls</b>"), *blocks])


def poll_columns() -> tuple[tuple[str, str], ...]:
    """The polls sheet: one row per poll, district (and «all districts») and option."""
    return (
        ("poll", _("Poll №")),
        ("question", _("Question")),
        ("district", _("District or city")),
        ("option", _("Answer option")),
        ("votes", _("Votes")),
        ("share", _("Share of the votes, %")),
        ("delivered", _("Received the poll")),
        ("created_at", _("Sent at")),
        ("closes_at", _("Closes at")),
        ("closed_at", _("Closed at")),
    )


def poll_rows(
    polls: Sequence[PollResults], territory: Territory, lang: str
) -> list[dict[str, Any]]:
    """The rows of the polls sheet: first every district together, then district by district
    (times as aware instants; the sheet writes them in local time)."""
    rows: list[dict[str, Any]] = []
    for results in polls:
        poll = results.poll.poll
        assert poll is not None
        counted = tally_of(results)
        common = {
            "poll": results.poll.id, "question": results.poll.text(lang),
            "delivered": results.delivered, "created_at": results.poll.created_at,
            "closes_at": poll.closes_at, "closed_at": poll.closed_at,
        }  # fmt: skip
        groups = [(_("All districts"), counted.by_option)]
        groups += [(place_name(territory, d, lang), c) for d, c in counted.by_district]
        for district, counts in groups:
            total = sum(counts)
            for n, option in enumerate(poll.options(lang)):
                share = round(100 * counts[n] / total) if total else 0
                rows.append(
                    {**common, "district": district, "option": option, "votes": counts[n],
                     "share": share}
                )  # fmt: skip
    return rows


class PollNotices:
    """`PollMessages`: the rows closing a poll queues, and the digest's section."""

    def __init__(
        self, rows: Outbox, i18n: PoI18n, catalog: Catalog, officials_language: str,
        tz: tzinfo = UTC,
    ) -> None:  # fmt: skip
        self.rows = rows
        self.i18n = i18n
        self.catalog = catalog
        self.officials_language = officials_language
        self.tz = tz

    @contextmanager
    def speaking(self, lang: str) -> Iterator[None]:
        with self.i18n.context(), self.i18n.use_locale(lang):
            yield

    def stop(self, poll: Announcement, sent: SentPoll) -> Outgoing:
        citizen = sent.recipient.citizen_id
        return self.rows.message(
            sent.chat_id,
            "stopPoll",
            {"message_id": sent.message_id},
            dedupe_key=f"{poll_close_purpose(poll.id)}:{citizen}",
            purpose=poll_close_purpose(poll.id),
        )

    def results(self, results: PollResults, sent: SentPoll) -> Outgoing:
        lang = sent.recipient.language if sent.recipient.language in ("kk", "ru") else "kk"
        with self.speaking(lang):
            text = citizen_results_text(results, lang)
        return self.rows.text(
            sent.chat_id,
            text,
            dedupe_key=f"{poll_results_purpose(results.poll.id)}:{sent.recipient.citizen_id}",
            purpose=poll_results_purpose(results.poll.id),
        )

    def digest(self, closed: Sequence[PollResults]) -> str:
        lang = self.officials_language
        with self.speaking(lang):
            blocks = [poll_block(r, self.catalog.territory, self.tz, lang) for r in closed]
            return "\n\n".join([_("📊 <b>Polls closed that day</b>"), *blocks])
