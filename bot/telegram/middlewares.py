"""Update-level middlewares: skip redelivered updates, load the citizen, pick the language,
let shutdown wait for the updates in hand, and answer a citizen's burst once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Chat, Message, TelegramObject, Update, User
from aiogram.utils.i18n import gettext as _

from bot.telegram.claims import UPDATE_CLAIMS, Held, UpdateClaims
from bot.telegram.throttle import BurstGuard, Verdict
from i18n.core import LANGUAGES, PoI18n
from storage.base import DatabaseBusy, Repository
from storage.fsm import defer_writes, drop_writes, forget_writes, take_writes

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
Clock = Callable[[], datetime]
# Set by BurstGate on the update that makes a burst; BurstNotice answers it instead of the
# routers.
BURST_NOTICE = "burst_notice"


def proposed_language(user: User | None, default: str) -> str:
    """Telegram's app language only proposes; the citizen chooses on /start."""
    code = (user.language_code or "").split("-")[0].lower() if user else ""
    return code if code in LANGUAGES else default


class InFlightMiddleware(BaseMiddleware):
    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        self._count += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    async def wait_idle(self, seconds: float) -> bool:
        try:
            async with asyncio.timeout(seconds):
                await self._idle.wait()
        except TimeoutError:
            log.warning("shutdown: %d update(s) still running after %.0fs", self._count, seconds)
            return False
        return True


class RequestContextMiddleware(BaseMiddleware):
    def __init__(self, repo: Repository, i18n: PoI18n) -> None:
        self.repo = repo
        self.i18n = i18n

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        # Telegram redelivers an update whose handling was cut short by a crash; one that
        # finished must not run again (a second appeal, a second message).
        user: User | None = data.get("event_from_user")
        # Webhook mode: the same read says whether another instance has it in hand (it took
        # longer than answer_within there and was answered 503: bot.telegram.claims).
        seen, citizen, claim = await self.repo.open_update(
            event.update_id, user.id if user else None
        )
        if seen:
            log.info("update %s already handled, skipped", event.update_id)
            return None
        if claim is not None:
            claims: UpdateClaims | None = data.get(UPDATE_CLAIMS)
            if claims is not None and claims.held_elsewhere(claim):
                log.info(
                    "update %s is in hand at %s (claimed until %s): not handled here",
                    event.update_id,
                    claim.holder,
                    claim.expires_at,
                )
                return Held.ELSEWHERE
        if citizen is not None and citizen.unreachable:
            await self.repo.set_reachable(citizen.id)
            citizen.unreachable = False
        locale = (citizen.language if citizen else None) or proposed_language(
            user, self.i18n.default_locale
        )
        data["citizen"] = citizen
        data["i18n"] = self.i18n
        # The handler's dialog writes wait for the end of the update (storage.fsm): a step
        # saves its next state, asks the next question, and only then is the state committed,
        # with the update's mark. A crash in between leaves both undone, so the redelivered
        # update runs the step again from the state it was first read in.
        defer_writes()
        try:
            with self.i18n.context(), self.i18n.use_locale(locale):
                result = await handler(event, data)
        except BaseException:
            # Kept as before the update: the error handler tells the citizen to try again,
            # and the try lands on the same step (handlers/errors.py).
            drop_writes()
            raise
        dialogs = take_writes()
        try:
            await self.repo.mark_update(event.update_id, datetime.now(UTC), dialogs)
        except BaseException as exc:
            forget_writes(dialogs)
            if dialogs or not isinstance(exc, DatabaseBusy):
                # The dialog stays where it was (the citizen is told nothing was saved).
                raise
            # The step is done and answered; only a redelivery of this update would run twice.
            log.warning("update %s handled but not marked: database locked", event.update_id)
        return result


class BurstGate(BaseMiddleware):
    """Counts a citizen's updates as they arrive, before the chat's lock (registered ahead of
    aiogram's FSM middleware, `UpdateScopedDispatcher.outer_middleware_before_fsm`): a
    burst's first updates go on in order, the one that makes it a burst goes on only to be
    answered (BurstNotice), the rest stop here, before any database work. Private chats only:
    officials' groups are protected by the daily limits, and their commands are never a
    citizen's flood."""

    def __init__(self, guard: BurstGuard, clock: Clock) -> None:
        self.guard = guard
        self.clock = clock

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        chat: Chat | None = data.get("event_chat")
        if chat is None or chat.type != "private":
            return await handler(event, data)
        if event.message is not None:
            album = event.message.media_group_id
        elif event.callback_query is not None:
            album = None
        else:  # the citizen blocking the bot and the like: nothing to answer
            return await handler(event, data)
        verdict = self.guard.arrive(chat.id, self.clock().timestamp(), album)
        if verdict is Verdict.DROP:
            log.debug("update %s of %s dropped: inside a burst", event.update_id, chat.id)
            return None
        if verdict is Verdict.NOTIFY:
            log.info("citizen %s sent a burst; update %s answered once", chat.id, event.update_id)
            data[BURST_NOTICE] = True
            return await handler(event, data)
        try:
            return await handler(event, data)
        finally:
            self.guard.leave(chat.id, verdict)


class BurstNotice(BaseMiddleware):
    """Tells the citizen to slow down, in their language, after the updates of the burst that
    were handled (it waited its turn behind them). Registered after RequestContextMiddleware,
    which sets the language; every other update passes with one dictionary lookup."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not data.get(BURST_NOTICE):
            return await handler(event, data)
        assert isinstance(event, Update)
        bot: Bot = data["bot"]
        text = _(
            "Please slow down: you sent a lot at once, and I did not read the last messages. "
            "Wait a moment, then send what you need again, one at a time."
        )
        try:
            if event.callback_query is not None:
                await bot.answer_callback_query(event.callback_query.id, text, show_alert=True)
            elif event.message is not None:
                await bot.send_message(event.message.chat.id, text)
        except TelegramAPIError as exc:
            # A notice that cannot be delivered is no reason for «something went wrong».
            log.warning("burst notice not delivered: %s", exc)
        return None


class OfficialsLocale(BaseMiddleware):
    """The officials read the bot in OFFICIALS_LANGUAGE, whatever language they chose as
    citizens: set here once per update on the officials' routers (an inner middleware, so it
    runs only for an update one of their handlers takes). Every button there is an
    officials' button, every group an officials' chat (a stranger's group is refused in the
    same language); in private only an administrator is an official, and a citizen who
    types an officials' command is refused in their own language."""

    def __init__(self, language: str, admin_ids: frozenset[int]) -> None:
        self.language = language
        self.admin_ids = admin_ids

    def is_officials(self, event: TelegramObject, data: dict[str, Any]) -> bool:
        chat: Chat | None = data.get("event_chat")
        user: User | None = data.get("event_from_user")
        if not isinstance(event, Message) or chat is None or chat.type != "private":
            return True
        return user is not None and user.id in self.admin_ids

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not self.is_officials(event, data):
            return await handler(event, data)
        i18n: PoI18n = data["i18n"]
        with i18n.use_locale(self.language):
            return await handler(event, data)
