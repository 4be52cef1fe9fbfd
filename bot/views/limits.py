"""What the citizen reads when a daily limit (`bot.domain.limits`) or the file rule
(`bot.domain.validation.check_document`) says no: in their language, with the local date and time
when they may go on."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.domain.validation import DOCUMENT_KINDS, FILE_MAX_MB, FileProblem
from bot.views.common import html
from i18n.core import ngettext
from i18n.formatting import long_date


def clock_time(value: datetime) -> str:
    return f"{value:%H:%M}"


def appeals_limit(per_day: int, reopens_at: datetime, tz: ZoneInfo, lang: str) -> str:
    local = reopens_at.astimezone(tz)
    # The law forbids refusing to accept an appeal: the limit is this bot's, so the citizen
    # is told where else the akimat takes one today.
    return ngettext(
        "You have already filed {n} appeal here in the last 24 hours: that is the most one "
        "person can file in a day. The next one can be filed on {date} after {time}. If it is "
        "urgent, you can also apply through eOtinish.kz or in person at the akimat.",
        "You have already filed {n} appeals here in the last 24 hours: that is the most one "
        "person can file in a day. The next one can be filed on {date} after {time}. If it is "
        "urgent, you can also apply through eOtinish.kz or in person at the akimat.",
        per_day,
    ).format(n=per_day, date=long_date(local.date(), lang), time=clock_time(local))


def draft_kept() -> str:
    return _(
        "Your appeal is kept as it is: press «{button}» on it after that time. /cancel discards it."
    ).format(button=_("✅ Confirm and send"))


def additions_limit(per_day: int, reopens_at: datetime, tz: ZoneInfo, lang: str) -> str:
    local = reopens_at.astimezone(tz)
    return ngettext(
        "You have already added to your appeals {n} time in the last 24 hours: that is the "
        "most one person can in a day. You can add again on {date} after {time}. Questions "
        "from the officials can always be answered.",
        "You have already added to your appeals {n} times in the last 24 hours: that is the "
        "most one person can in a day. You can add again on {date} after {time}. Questions "
        "from the officials can always be answered.",
        per_day,
    ).format(n=per_day, date=long_date(local.date(), lang), time=clock_time(local))


def addition_kept() -> str:
    return _(
        "What you have written and attached is kept: press «{done}» after that time, or «{cancel}»."
    ).format(done=_("✅ Done"), cancel=_("✖️ Cancel"))


def file_refused(problem: FileProblem, file_name: str | None) -> str:
    """Why a document was not attached, naming it (escaped) when it has a name."""
    kinds = ", ".join(DOCUMENT_KINDS)
    name = html(file_name or "")
    if problem is FileProblem.TOO_BIG:
        if name:
            text = _(
                "The file «{name}» is too big (at most {mb} MB): Telegram does not let the bot "
                "receive larger ones. Please send a smaller file: a scan at a lower resolution, "
                "the document in parts, or photos."
            )
        else:
            text = _(
                "This file is too big (at most {mb} MB): Telegram does not let the bot receive "
                "larger ones. Please send a smaller file: a scan at a lower resolution, the "
                "document in parts, or photos."
            )
        return text.format(name=name, mb=FILE_MAX_MB)
    if name:
        text = _(
            "The file «{name}» cannot be attached: photos and files of these types can be: "
            "{kinds}. Save it as one of them (e.g. PDF) or send photos."
        )
    else:
        text = _(
            "This file cannot be attached: photos and files of these types can be: {kinds}. "
            "Save it as one of them (e.g. PDF) or send photos."
        )
    return text.format(name=name, kinds=kinds)
