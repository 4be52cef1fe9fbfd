"""Officials' commands: in an officials' chat, or in private for ADMIN_IDS."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import gettext as _

from bot.domain import history
from bot.domain.catalog import Catalog
from bot.services.appeals import AppealService
from bot.services.bookings import BookingService
from bot.services.digest import DigestService
from bot.services.erasure import CitizenErasure
from bot.services.officials import OfficialsService
from bot.services.reports import parse_days, parse_export, period_export, period_stats
from bot.telegram.filters import IsCommand, author
from bot.telegram.replies import send_in_parts
from bot.views import card as card_view
from bot.views import history as history_view
from bot.views import officials as officials_view
from bot.views.common import html, shorten
from bot.views.reports import export_xlsx, render_stats
from i18n.core import ngettext
from storage.reports import ReportQueries


async def allowed(message: Message, officials: OfficialsService) -> bool:
    """Officials' commands: in the officials' chats (their members), and for ADMIN_IDS in
    private; never in a stranger's group, whoever types them. A command nobody can be named
    for (an anonymous admin, a channel) is answered with how to act as oneself."""
    person = author(message)
    if person is None:
        with officials.i18n.use_locale(officials.language):
            await message.answer(officials_view.anonymous_text())
        return False
    if await officials.may_act(message.chat.id, person.id):
        return True
    await refuse(message, officials)
    return False


async def refuse(message: Message, officials: OfficialsService) -> None:
    with officials.i18n.use_locale(
        officials.language if message.chat.type != "private" else officials.i18n.current_locale
    ):
        await message.answer(_("Sorry, this command is for the akimat's officials."))


async def digest(
    message: Message, officials: OfficialsService, digests: DigestService, appeals: AppealService
) -> None:
    if not await allowed(message, officials):
        return
    now = appeals.clock()
    if message.chat.type == "private":
        # An administrator reads the default chat's digest where they asked for it.
        chat = officials.default_chat or next(iter(officials.officials_chats()), None)
        if chat is None:
            return
        text = await digests.build(chat, digests.report_day(now), now)
        await officials.outbox.send_text(message.chat.id, text)
        return
    await digests.send_now(message.chat.id, now)


async def find(
    message: Message,
    command: CommandObject,
    officials: OfficialsService,
    catalog: Catalog,
    reports: ReportQueries,
    erasure: CitizenErasure,
) -> None:
    if not await allowed(message, officials):
        return
    with officials.speaking(officials.language):
        reference = (command.args or "").strip()
        if not reference:
            await message.answer(_("Usage: /find 2026-00012 (an appeal's number)."))
            return
        appeal = await officials.repo.appeal_by_reference(reference)
        if appeal is not None and not await officials.may_act(
            message.chat.id, message.from_user.id if message.from_user else 0, appeal
        ):
            appeal = None  # another chat's appeal: not even whether it exists
        if appeal is None:
            await message.answer(
                _("№ {reference}: not found.").format(reference=html(shorten(reference, 40)))
            )
            return
        found = history.events(
            await reports.history(appeal.id), appeal, await reports.citizen_comment(appeal.id)
        )
        lines = [officials.render_card(appeal, full=True), ""]
        lines += history_view.history_lines(found, catalog, officials.language, officials.tz)
        sent = await send_in_parts(
            message,
            "\n".join(lines),
            reply_markup=card_view.card_keyboard(appeal, catalog, message.chat.id),
        )
        await erasure.copy_posted(appeal.id, message.chat.id, [m.message_id for m in sent])


async def stats(
    message: Message,
    command: CommandObject,
    officials: OfficialsService,
    reports: ReportQueries,
    appeals: AppealService,
    catalog: Catalog,
) -> None:
    if not await allowed(message, officials):
        return
    with officials.speaking(officials.language):
        days = parse_days(command.args)
        if days is None:
            await message.answer(_("Usage: /stats or /stats 7 (days, 1 to 366)."))
            return
        scope = officials.scope_of(message.chat.id)
        computed = await period_stats(reports, days, appeals.clock(), scope)
        await message.answer(render_stats(computed, catalog, officials.language))


async def export(
    message: Message,
    command: CommandObject,
    officials: OfficialsService,
    reports: ReportQueries,
    appeals: AppealService,
    catalog: Catalog,
    bookings: BookingService,
) -> None:
    if not await allowed(message, officials):
        return
    with officials.speaking(officials.language):
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
        now = appeals.clock()
        count, content = await period_export(
            reports, catalog, officials.language, officials.tz, request.days, now,
            officials.scope_of(message.chat.id), workbook=export_xlsx,
            receptions=bookings.receptions,
            full_contacts_for=user if request.full else None,
        )  # fmt: skip
        local = now.astimezone(officials.tz)
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
            BufferedInputFile(content, filename=name), caption=f"{caption}\n{note}"
        )


def create_router() -> Router:
    router = Router(name="official_commands")
    router.message.filter(IsCommand())  # lets a citizen's every message skip the four
    router.message.register(digest, Command("digest"))
    router.message.register(find, Command("find"))
    router.message.register(stats, Command("stats"))
    router.message.register(export, Command("export"))
    return router
