"""Assembles Bot, Dispatcher, storage and services; `python -m bot` and the tests share it."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.fsm.storage.base import DefaultKeyBuilder

from bot.delivery.lease import SenderLease
from bot.delivery.outbox import IN_LANGUAGE_KIND, Outbox, RecipientGone, in_language_renderer
from bot.delivery.scheduler import Ticker, Ticks
from bot.delivery.sender import OutboxSender
from bot.domain.catalog import Catalog, load_catalog
from bot.domain.deadlines import DeadlinePolicy, WorkCalendar
from bot.domain.digest import CHART_KIND
from bot.domain.limits import DailyLimits
from bot.domain.receptions import SlotPlanner, load_receptions
from bot.services.appeals import AppealService
from bot.services.bookings import BookingService
from bot.services.citizens import CitizenService
from bot.services.confirmations import Confirmations
from bot.services.digest import DigestService
from bot.services.erasure import CitizenErasure
from bot.services.lifecycle import AppealLifecycle
from bot.services.officials import OfficialsService
from bot.services.officials_reports import OfficialsReports
from bot.services.outreach import AnnouncementService, MeetingService, SubscriptionService
from bot.services.polls import PollService
from bot.services.prompts import OfficialPrompts
from bot.services.report_worker import ReportWorker
from bot.settings import ConfigError, Settings, check_officials_chat
from bot.telegram.binding import bind_directly
from bot.telegram.commands import all_of, register_commands
from bot.telegram.dispatcher import UpdateScopedDispatcher
from bot.telegram.isolation import ChatIsolation
from bot.telegram.menu import MainMenu
from bot.telegram.middlewares import (
    BurstGate,
    BurstNotice,
    InFlightMiddleware,
    OfficialsLocale,
    RequestContextMiddleware,
)
from bot.telegram.session import (
    AlertLimit,
    BotApiSession,
    IgnoreNotModified,
    RetryPolicy,
    own_retries,
)
from bot.telegram.throttle import BurstGuard
from bot.views.booking_notices import BookingNotices
from bot.views.confirmations import ConfirmationMessages
from bot.views.digest import DigestView
from bot.views.digest_chart import DigestChartView
from bot.views.erasure_notices import ErasureNotices
from bot.views.lifecycle_notices import LifecycleNotices
from bot.views.officials_notices import OfficialsNotices
from bot.views.outreach import AnnouncementNotices
from bot.views.polls import PollNotices
from bot.views.prompt_notices import PromptExpiryNotice
from bot.views.refusals import refusal_alerts
from handlers import setup_routers
from i18n.core import PoI18n
from storage.base import Repository
from storage.stores import Database, open_stores

log = logging.getLogger(__name__)


# What a report job imports, loaded once by the worker's fork server (bot.services.report_worker).
REPORT_MODULES = (
    "bot.services.report_jobs",
    "bot.views.reports",
    "xlsxwriter",  # bot.views.reports imports it only when a workbook is built
    "storage.sqlite.reports",
    "storage.postgres.reports",
    # The digest's weekly chart is drawn there too (bot.views.digest_chart).
    "bot.views.digest_chart",
    "matplotlib.backends.backend_agg",
    "matplotlib.figure",
)


def system_clock() -> datetime:
    return datetime.now(UTC)


async def until_telegram_answers(call: Callable[[], Awaitable[object]]) -> None:
    """A bot started while the network or Telegram is down waits for it (polling itself
    already backs off); a rejected token is not a network problem and stops start-up."""
    delay = 1.0
    while True:
        try:
            await call()
            return
        except TelegramUnauthorizedError:
            raise
        except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter) as exc:
            wait = float(getattr(exc, "retry_after", 0) or delay)
            log.warning("Bot API not reachable (%s); trying again in %.0f s", exc, wait)
            await asyncio.sleep(wait)
            delay = min(delay * 2, 60.0)


@dataclass
class App:
    settings: Settings
    bot: Bot
    dp: Dispatcher
    db: Database
    repo: Repository
    catalog: Catalog
    in_flight: InFlightMiddleware
    outbox: Outbox
    sender: OutboxSender
    digests: DigestService

    async def _register_commands(self) -> None:
        await register_commands(
            self.bot,
            self.dp["i18n"],
            officials_chats=self.dp["officials"].officials_chats(),
            admin_ids=self.settings.admin_ids,
            officials_language=self.settings.officials_language,
        )

    async def run_polling(self, *, handle_signals: bool = True, polling_timeout: int = 10) -> None:
        try:
            with own_retries():  # until_telegram_answers waits for Telegram itself
                # All at once, each a round trip to Telegram (tens to hundreds of ms away),
                # all done before the first getUpdates: Telegram refuses getUpdates while a
                # webhook is set (a webhook-mode run before this one leaves it set on
                # purpose); the commands menu is there when the first update is handled; and
                # polling asks getMe first, which the Bot remembers from here.
                await all_of(
                    until_telegram_answers(
                        lambda: self.bot.delete_webhook(drop_pending_updates=False)
                    ),
                    until_telegram_answers(self._register_commands),
                    until_telegram_answers(self.bot.me),
                )
            await self.dp.start_polling(
                self.bot,
                handle_signals=handle_signals,
                close_bot_session=True,
                polling_timeout=polling_timeout,
            )
        finally:
            await self.close()

    async def run_webhook(
        self, stop: asyncio.Event | None = None, *, answer_within: float | None = None
    ) -> None:
        """Serve Telegram's webhook requests on WEBHOOK_LISTEN until SIGTERM or SIGINT (or
        `stop`, in tests). The shutdown is polling's: stop taking requests and let the ones
        in hand finish, then the dispatcher's shutdown hooks (the updates in hand, then the
        outbox sender, which drains), then `close` (the Bot session, the database).
        `answer_within`: bot.telegram.webhook.ANSWER_WITHIN unless given."""
        # Imported here: aiohttp's server side is not needed to long-poll (start-up, README →
        # Performance).
        from aiohttp import web

        from bot.telegram.claims import UpdateClaims
        from bot.telegram.webhook import ANSWER_WITHIN, WebhookReceiver

        settings = self.settings
        assert settings.webhook_url and settings.webhook_secret  # checked by Settings
        receiver_secret = settings.webhook_secret.get_secret_value()
        handle_signals = stop is None
        stop = stop or asyncio.Event()
        receiver = WebhookReceiver(
            self.dp,
            self.bot,
            receiver_secret,
            self.db.ping,
            answer_within=ANSWER_WITHIN if answer_within is None else answer_within,
            # An update in hand past answer_within is claimed, so that another instance
            # does not handle its redelivery meanwhile.
            claims=UpdateClaims(self.repo),
        )
        # Requests in hand get as long to finish as polling gives the updates in hand.
        runner = web.AppRunner(
            receiver.application(settings.webhook_path), access_log=None, shutdown_timeout=10
        )
        workflow = {"dispatcher": self.dp, "bots": [self.bot], **self.dp.workflow_data}
        signals = (signal.SIGTERM, signal.SIGINT) if handle_signals else ()
        loop = asyncio.get_running_loop()
        try:
            with own_retries():
                await until_telegram_answers(self._register_commands)
            await self.dp.emit_startup(bot=self.bot, **workflow)
            # From here SIGTERM is a graceful stop, even while Telegram is being waited for:
            # a webhook left set by the last run has Telegram posting as soon as we listen.
            for signum in signals:
                loop.add_signal_handler(signum, stop.set)
            try:
                await runner.setup()
                host, port = settings.webhook_address
                try:
                    await web.TCPSite(runner, host, port).start()
                except OSError as exc:
                    raise ConfigError(
                        f"Configuration error: WEBHOOK_LISTEN {host}:{port} cannot be listened"
                        f" on: {exc.strerror or exc}"
                    ) from None
                log.info("webhook: listening on %s:%s%s", host, port, settings.webhook_path)
                with own_retries():  # the task inherits it
                    # Only once we listen: Telegram starts posting as soon as it is set.
                    setting = asyncio.create_task(self._set_webhook(receiver_secret))
                stopping = asyncio.create_task(stop.wait())
                try:
                    await asyncio.wait({setting, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    if setting.done():
                        setting.result()  # a URL Telegram refuses stops here
                        await stopping
                finally:
                    setting.cancel()  # stopped while Telegram did not answer
                    stopping.cancel()
                    await asyncio.gather(setting, stopping, return_exceptions=True)
                # No deleteWebhook: another instance may be serving it.
                log.info("webhook: stopping; the webhook stays set")
            finally:
                for signum in signals:
                    loop.remove_signal_handler(signum)
                await runner.cleanup()  # no new requests; the requests in hand finish
                await self.dp.emit_shutdown(bot=self.bot, **workflow)
        finally:
            await self.close()

    async def _set_webhook(self, secret: str) -> None:
        try:
            await until_telegram_answers(
                lambda: self.bot.set_webhook(
                    self.settings.webhook_url or "",
                    secret_token=secret,
                    allowed_updates=self.dp.resolve_used_update_types(),
                    drop_pending_updates=False,
                )
            )
        except TelegramBadRequest as exc:  # e.g. a URL Telegram cannot post to
            raise ConfigError(
                f"Configuration error: WEBHOOK_URL refused by Telegram: {exc.message}"
            ) from None

    async def close(self) -> None:
        await self.in_flight.wait_idle(seconds=10)
        # Polling closes the HTTP session itself; a start-up that failed (a 401) has not.
        await self.bot.session.close()
        await self.db.close()


async def create_app(
    settings: Settings,
    clock: Callable[[], datetime] = system_clock,
    delivery_clock: Callable[[], datetime] = system_clock,
) -> App:
    """`clock` is the business time (deadlines, slots, digests); `delivery_clock` decides
    when an outbox row is due. They differ only in tests that move time by hand."""
    catalog = load_catalog(settings.catalog_path)
    check_officials_chat(settings, catalog)
    # DATABASE_URL chooses the backend (storage/stores.py); nothing below names one.
    stores = await open_stores(
        settings.database_url,
        busy_timeout=settings.database_busy_timeout,
        locked_retry=settings.database_locked_retry,
    )
    db, repo = stores.database, stores.repository
    await repo.prune_updates(timedelta(days=7), clock())
    i18n = PoI18n(default_locale=settings.default_language)
    bind_directly()  # aiogram's objects bind to the bot in one step (bot/telegram/binding.py)
    session = BotApiSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    session.middleware(IgnoreNotModified())  # outermost: sees an edit's last attempt
    session.middleware(RetryPolicy())
    session.middleware(AlertLimit())  # innermost: every attempt's alert fits
    bot = Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    dp = UpdateScopedDispatcher(
        storage=stores.fsm,
        events_isolation=ChatIsolation(),
        key_builder=DefaultKeyBuilder(),
    )
    # A citizen's burst stops here, before the chat's lock and any database read; the bot's
    # clock, so that tests move the pause that ends a burst by hand.
    dp.outer_middleware_before_fsm(BurstGate(BurstGuard(settings.throttle_burst), clock))
    in_flight = InFlightMiddleware()
    dp.update.outer_middleware(in_flight)

    # aiogram closes the HTTP session right after the shutdown hooks; the updates in hand must
    # finish (their replies sent, their rows written) before that.
    async def finish_updates_in_hand() -> None:
        await in_flight.wait_idle(seconds=10)

    dp.shutdown.register(finish_updates_in_hand)
    dp.update.outer_middleware(RequestContextMiddleware(repo, i18n))
    dp.update.outer_middleware(BurstNotice())  # in the citizen's language: after the context
    policy = DeadlinePolicy(catalog, settings.tz)
    # Delivery runs on real time whatever the business clock says: a retry is due in real
    # seconds.
    outbox_store = stores.outbox
    outbox = Outbox(outbox_store, delivery_clock)
    # Reports and the weekly chart are made in a process of their own, so the event loop never
    # waits for them (bot.services.report_worker; the chart: README → Performance).
    worker = ReportWorker(preload=REPORT_MODULES)

    async def language_of(citizen_id: int) -> str | None:
        citizen = await repo.get_citizen(citizen_id)
        if citizen is None:  # erased (/forget) while the sender held a row to them
            raise RecipientGone(citizen_id)
        return citizen.language

    sender = OutboxSender(
        bot,
        outbox_store,
        outbox,
        delivery_clock,
        refusal_alerts=refusal_alerts(
            outbox, i18n, settings.admin_ids, settings.officials_language
        ),
        # Rows drawn when they are sent: the digest's weekly chart; a citizen's reminder or
        # notice in the language they have when it goes out.
        renderers={
            CHART_KIND: DigestChartView(catalog, i18n, draw_off_loop=worker.run),
            IN_LANGUAGE_KIND: in_language_renderer(language_of),
        },
    )
    # Of several instances on one database only the lease's holder sends (real time: the
    # lease is about processes, not the business day).
    lease = SenderLease(stores.lease, sender, system_clock)
    receptions = load_receptions(catalog)
    # Without receptions in the catalog there is nothing to book: no 🗓 in the menu.
    menu = MainMenu(booking=bool(receptions.receptions))
    dp["menu"] = menu
    # The views that render what the services tell are handed in here, so no service
    # imports a view (services speak no Telegram; views import no service).
    confirmations = Confirmations(
        outbox,
        outbox_store,
        timedelta(seconds=settings.confirmation_grace),
        ConfirmationMessages(menu),
    )
    dp["confirmations"] = confirmations

    async def member_status(chat_id: int, user_id: int) -> str | None:
        try:
            return (await bot.get_chat_member(chat_id, user_id)).status
        except TelegramAPIError:
            return None

    officials = OfficialsService(
        repo,
        catalog,
        outbox,
        clock,
        i18n,
        default_chat=settings.officials_chat_id,
        admin_ids=frozenset(settings.admin_ids),
        language=settings.officials_language,
        tz=settings.tz,
        member_status=member_status,
        locate=outbox_store.message_id_for,
        migrated_from=outbox_store.migrated_from,
        notifier=OfficialsNotices(
            outbox, i18n, catalog, language=settings.officials_language, tz=settings.tz
        ),
    )
    # An answer or a question given up because the citizen blocked the bot is told to the
    # officials, in the drop's transaction.
    sender.undelivered = officials.undelivered_notes
    prompt_store = stores.prompts
    limits = DailyLimits(stores.limits, clock, settings.appeals_per_day, settings.additions_per_day)
    lifecycle = AppealLifecycle(
        officials,
        stores.lifecycle,
        prompt_store,
        clock,
        limits,
        notices=LifecycleNotices(outbox, i18n, settings.officials_language),
    )
    prompts = OfficialPrompts(
        prompt_store,
        officials,
        clock,
        on_expired=(PromptExpiryNotice(outbox, i18n, settings.officials_language), outbox),
        lifecycle=lifecycle,
    )
    bookings = BookingService(
        stores.bookings,
        SlotPlanner(receptions, WorkCalendar.from_catalog(catalog), settings.tz),
        receptions,
        outbox,
        outbox_store,
        clock,
        BookingNotices(i18n, settings.tz),
        i18n.default_locale,
        settings.tz,
        confirmations,
    )
    dp["bookings"] = bookings
    dp["erasure"] = CitizenErasure(
        stores.erasure,
        officials,
        outbox,
        give_back_places=bookings.give_back_places,
        notices=ErasureNotices(outbox),
    )
    # Polls (issue #13): votes counted on the business clock, like the end time they are
    # judged by; closed by the scheduler's tick below.
    polls = PollService(
        stores.polls, stores.announcements, outbox, clock, settings.tz,
        PollNotices(outbox, i18n, catalog, settings.officials_language, settings.tz),
    )  # fmt: skip
    dp["polls"] = polls
    digests = DigestService(
        stores.digest,
        outbox,
        DigestView(catalog, i18n, settings.officials_language),
        WorkCalendar.from_catalog(catalog),
        settings.tz,
        settings.digest_time,
        settings.officials_language,
        officials.officials_chats,
        default_chat_id=settings.officials_chat_id,
        today_section=bookings.digest_section,
        polls_section=polls.digest_section,
        chart_weekday=settings.digest_chart_weekday,
        chart_rows=outbox,
    )
    ticker = Ticker(Ticks(digests, bookings, prompts, polls), clock, settings.tz)
    dp["subscriptions"] = SubscriptionService(stores.subscriptions, catalog, system_clock)
    announcements = AnnouncementService(
        stores.announcements,
        stores.subscriptions,
        outbox,
        outbox_store,
        delivery_clock,
        AnnouncementNotices(outbox, i18n, catalog, settings.officials_language, settings.tz),
        sending_here=lambda: sender.running,
        polls=stores.polls,
    )
    dp["announcements"] = announcements
    dp["meetings"] = MeetingService(
        stores.meetings, stores.announcements, clock, settings.tz, outbox, outbox_store,
        AnnouncementNotices(outbox, i18n, catalog, settings.officials_language, settings.tz),
        receptions.rules.reminder_day_before,
    )  # fmt: skip
    # Progress messages follow the outbox: edited from what the database says, so they
    # carry on after a restart.
    progress_ticker = Ticker(
        announcements, delivery_clock, settings.tz, interval=settings.broadcast_progress_interval
    )

    async def start_background() -> None:
        await officials.publish_pending()
        # The sender's task, and each send it starts, inherit this: the outbox reschedules
        # its rows in the database and must see every 429 and 5xx itself. The lease starts
        # the sender (after retrying the groups that refused the bot) as soon as it holds it:
        # at once unless another instance sends.
        with own_retries():
            await lease.start()
        ticker.start()
        progress_ticker.start()

    async def stop_background() -> None:
        await ticker.stop()
        await progress_ticker.stop()
        await lease.stop()  # the sender drains, then the lease is released

    dp.startup.register(start_background)
    dp.shutdown.register(stop_background)  # after the updates in hand have finished
    dp["settings"] = settings
    dp["catalog"] = catalog
    dp["i18n"] = i18n
    dp["appeals"] = AppealService(
        repo,
        catalog,
        policy,
        clock,
        publisher=officials,
        confirmations=confirmations,
        limits=limits,
    )
    dp["officials"] = officials
    dp["prompts"] = prompts
    dp["lifecycle"] = lifecycle
    dp["outbox"] = outbox
    dp["digests"] = digests
    reports = OfficialsReports(
        stores.reports, catalog, receptions, settings.tz, clock,
        # /stats and /export read the period in a process of their own, through a
        # connection it opens itself.
        reader=stores.period_reader,
        worker=worker,
        polls=polls.between,
    )  # fmt: skip
    dp.shutdown.register(reports.close)
    dp["reports"] = reports
    # Consent is stamped in real time, as it always was, whatever the business clock says.
    dp["citizens"] = CitizenService(repo, system_clock)
    # Plain values the handlers use, handed in rather than read off a service.
    dp["officials_language"] = settings.officials_language
    dp["tz"] = settings.tz
    dp["receptions"] = receptions
    setup_routers(
        dp,
        officials_locale=OfficialsLocale(
            settings.officials_language, frozenset(settings.admin_ids)
        ),
    )
    dp.seal_routers()
    return App(settings, bot, dp, db, repo, catalog, in_flight, outbox, sender, digests)
