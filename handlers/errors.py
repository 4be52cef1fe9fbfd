"""No exception reaches the citizen as silence: it is logged with the update id and the
citizen is told, in their language, what happened. Two failures are told differently:

- the database stayed locked (DatabaseBusy): nothing of the step was saved, so the citizen
  is asked plainly to send it again, and the dialog is where it was;
- Telegram did not take a reply even after the session's retries
  (`bot.telegram.session.RetryPolicy`): the citizen is told nothing, as a message about it
  would meet the same outage.

Whatever failed, the dialog stays in the step the update found it in: a handler's dialog
writes commit only with the handled update (storage.fsm), and an update that raised is
neither. The citizen did not see the next question (or was told to try again), so what they
send next is read as the answer to the step they are still at, not to a question they never
got. What the step saved besides (an appeal filed, a booking) stays, and doing the step again
finds it (the draft's key).
"""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.types import ErrorEvent, Update
from aiogram.utils.i18n import gettext as _

from bot.services.citizens import CitizenService
from bot.telegram.middlewares import proposed_language
from i18n.core import PoI18n
from storage.base import DatabaseBusy

log = logging.getLogger(__name__)
TELEGRAM_DOWN = (TelegramNetworkError, TelegramServerError, TelegramRetryAfter)


async def on_error(event: ErrorEvent, bot: Bot, i18n: PoI18n, citizens: CitizenService) -> bool:
    update = event.update
    if isinstance(event.exception, TELEGRAM_DOWN):
        reason = event.exception
        log.error("update %s: Telegram did not take the reply: %r", update.update_id, reason)
        return True
    if isinstance(event.exception, DatabaseBusy):
        log.error("update %s: database locked, nothing saved", update.update_id)
    else:
        log.error("update %s failed", update.update_id, exc_info=event.exception)
    message = update.message or (update.callback_query and update.callback_query.message)
    user = (update.message and update.message.from_user) or (
        update.callback_query and update.callback_query.from_user
    )
    if not message or not user:
        return True
    try:
        # Errors are handled outside the per-update middleware, so the language is looked up
        # again here.
        chosen = await citizens.language_of(user.id)
        locale = chosen or proposed_language(user, i18n.default_locale)
        with i18n.context(), i18n.use_locale(locale):
            text = explanation(event.exception, update)
        await bot.send_message(message.chat.id, text)
    except Exception:  # the error path must not raise a second time
        log.exception("could not tell chat %s about the error", message.chat.id)
    return True


def explanation(exc: Exception, update: Update) -> str:
    if not isinstance(exc, DatabaseBusy):
        return _("Sorry, something went wrong on our side. Please try again in a minute.")
    if update.callback_query:
        return _(
            "Sorry, I could not save that just now, so nothing was saved. "
            "Please press the button again."
        )
    return _("Sorry, I could not save that just now, so nothing was saved. Please send it again.")


def create_router() -> Router:
    router = Router(name="errors")
    router.errors.register(on_error)
    return router
