"""Officials' commands: in an officials' chat, or in private for ADMIN_IDS."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.enums import ChatAction
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import gettext as _

from bot.domain.catalog import Catalog
from bot.domain.reports import Stats
from bot.services.appeals import AppealService
from bot.services.digest import DigestService
from bot.services.erasure import CitizenErasure
from bot.services.officials import OfficialsService
from bot.services.officials_reports import Export, OfficialsReports, ReportBusy, ReportFailed
from bot.services.polls import PollService
from bot.services.reports import ExportArgs, parse_days, parse_export
from bot.telegram.filters import IsCommand, author
from bot.telegram.progress import Progress, in_background
from bot.telegram.replies import send_in_parts
from bot.views import card as card_view
from bot.views import history as history_view
from bot.views import officials as officials_view
from bot.views.common import html, shorten
from bot.views.polls import render_poll_stats
from bot.views.reports import export_xlsx, render_stats
from i18n.core import ngettext

log = logging.getLogger(__name__)


async def allowed(message: Message, officials: OfficialsService) -> bool:
    """Officials' commands: in the officials' chats (their members), and for ADMIN_IDS in
    private; never in a stranger's group, whoever types them. A command nobody can be named
    for (an anonymous admin, a channel) is answered with how to act as oneself. The language
    is the officials' or, for a citizen in private, their own (`OfficialsLocale`)."""
    person = author(message)
    if person is None:
        await message.answer(officials_view.anonymous_text())
        return False
    if await officials.may_act(message.chat.id, person.id):
        return True
    await message.answer(_("Sorry, this command is for the akimat's officials."))
    return False


async def digest(
    message: Message, officials: OfficialsService, digests: DigestService, appeals: AppealService
) -> None:
    if not await allowed(message, officials):
        return
    now = appeals.now()
    if message.chat.type == "private":
        # An administrator reads the default chat's digest where they asked for it.
        chat = officials.main_chat()
        if chat is None:
            return
        await digests.send_copy(message.chat.id, chat, now)
        return
    await digests.send_now(await officials.home_of(message.chat.id), now)


async def find(
    message: Message,
    command: CommandObject,
    officials: OfficialsService,
    catalog: Catalog,
    reports: OfficialsReports,
    erasure: CitizenErasure,
    officials_language: str,
    tz: ZoneInfo,
) -> None:
    if not await allowed(message, officials):
        return
    reference = (command.args or "").strip()
    if not reference:
        await message.answer(_("Usage: /find 2026-00012 (an appeal's number)."))
        return
    user_id = message.from_user.id if message.from_user else 0
    appeal = await officials.find_for(message.chat.id, user_id, reference)
    if appeal is None:
        await message.answer(
            _("№ {reference}: not found.").format(reference=html(shorten(reference, 40)))
        )
        return
    found = await reports.history(appeal)
    lines = [officials.render_card(appeal, full=True), ""]
    lines += history_view.history_lines(found, catalog, officials_language, tz)
    sent = await send_in_parts(
        message,
        "\n".join(lines),
        reply_markup=card_view.card_keyboard(
            appeal, catalog, await officials.home_of(message.chat.id)
        ),
    )
    await erasure.copy_posted(appeal.id, message.chat.id, [m.message_id for m in sent])


async def stats(
    message: Message,
    command: CommandObject,
    officials: OfficialsService,
    reports: OfficialsReports,
    polls: PollService,
    catalog: Catalog,
    officials_language: str,
    tz: ZoneInfo,
) -> None:
    if not await allowed(message, officials):
        return
    days = parse_days(command.args)
    if days is None:
        await message.answer(_("Usage: /stats or /stats 7 (days, 1 to 366)."))
        return
    scope = await officials.scope_of(message.chat.id)
    try:
        job = reports.start_stats(message.chat.id, days, scope)
    except ReportBusy:
        await message.answer(_("The figures for this chat are already being counted: they "
                               "will come here in a moment."))  # fmt: skip
        return
    # The figures are counted in the report worker; the chat's next update need not wait.
    # The polls' section: a few rows, read here while the worker counts the appeals.
    section = render_poll_stats(
        await polls.of_period(days, scope), catalog.territory, tz, officials_language
    )
    in_background(send_stats(message, job, catalog, officials_language, section))


async def send_stats(
    message: Message,
    job: Awaitable[Stats],
    catalog: Catalog,
    officials_language: str,
    polls: str | None = None,
) -> None:
    progress = Progress(message, _("Counting the figures…"), ChatAction.TYPING)
    try:
        computed = await progress.wait(job)
    except Exception as exc:  # the worker's own failures are logged where they are caught
        if not isinstance(exc, ReportFailed):
            log.exception("/stats failed")
        await message.answer(_("The figures could not be counted. Please try again later; "
                               "the error is in the bot's log."))  # fmt: skip
    else:
        text = render_stats(computed, catalog, officials_language)
        await send_in_parts(message, f"{text}\n\n{polls}" if polls else text)
    await progress.done()


async def export(
    message: Message,
    command: CommandObject,
    officials: OfficialsService,
    reports: OfficialsReports,
    officials_language: str,
) -> None:
    if not await allowed(message, officials):
        return
    request = parse_export(command.args)
    if request is None:
        await message.answer(
            _("Usage: /export or /export 7 (days, 1 to 366); /export full: with full "
              "contacts, for administrators in a private chat.")
        )  # fmt: skip
        return
    user = message.from_user.id if message.from_user else 0
    if request.full and not await officials.may_export_contacts(message.chat.id, user):
        await message.answer(
            _("Full contacts are exported only for administrators, in a private chat with "
              "the bot. /export gives the file with masked names and phones.")
        )  # fmt: skip
        return
    # The service gathers the rows; the view handed in here writes the file (in the report
    # worker's process, so the function goes there by name).
    try:
        job = reports.start_export(
            message.chat.id, request.days, await officials.scope_of(message.chat.id),
            officials_language, workbook=export_xlsx,
            full_contacts_for=user if request.full else None,
        )  # fmt: skip
    except ReportBusy:
        await message.answer(_("An export for this chat is already being prepared: the file "
                               "will come here when it is ready."))  # fmt: skip
        return
    in_background(send_export(message, job, request))


async def send_export(message: Message, job: Awaitable[Export], request: ExportArgs) -> None:
    progress = Progress(message, _("Preparing the export…"), ChatAction.UPLOAD_DOCUMENT)
    try:
        exported = await progress.wait(job)
    except Exception as exc:  # the worker's own failures are logged where they are caught
        if not isinstance(exc, ReportFailed):
            log.exception("/export failed")
        await message.answer(_("The export could not be prepared. Please try again later; "
                               "the error is in the bot's log."))  # fmt: skip
        await progress.done()
        return
    local, count = exported.made_at, exported.count
    name = f"appeals-{local:%Y-%m-%d}-{request.days}d{'-full' if request.full else ''}.xlsx"
    caption = ngettext("{n} appeal", "{n} appeals", count).format(n=count)
    if request.full:
        note = _("With full names and phones. This export is recorded as a view of each "
                 "listed citizen's contact.")  # fmt: skip
    else:
        note = _("Names and phones are masked. Full contacts: /export full, for "
                 "administrators in a private chat.")  # fmt: skip
    # A file upload cannot wait in the outbox (rows hold file ids); the official asked
    # for it and is waiting.
    await message.answer_document(
        BufferedInputFile(exported.content, filename=name), caption=f"{caption}\n{note}"
    )
    await progress.done()


def create_router() -> Router:
    router = Router(name="official_commands")
    router.message.filter(IsCommand())  # lets a citizen's every message skip the four
    router.message.register(digest, Command("digest"))
    router.message.register(find, Command("find"))
    router.message.register(stats, Command("stats"))
    router.message.register(export, Command("export"))
    return router
