"""No exception reaches the citizen as silence: it is logged with the update id and the
citizen is told, in their language, that something went wrong."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import gettext as _

from bot.middlewares import proposed_language
from i18n.core import PoI18n
from storage.base import Repository

log = logging.getLogger(__name__)


async def on_error(event: ErrorEvent, bot: Bot, i18n: PoI18n, repo: Repository) -> bool:
    update = event.update
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
        citizen = await repo.get_citizen(user.id)
        locale = (citizen and citizen.language) or proposed_language(user, i18n.default_locale)
        with i18n.context(), i18n.use_locale(locale):
            text = _("Sorry, something went wrong on our side. Please try again in a minute.")
        await bot.send_message(message.chat.id, text)
    except Exception:  # the error path must not raise a second time
        log.exception("could not tell chat %s about the error", message.chat.id)
    return True


def create_router() -> Router:
    router = Router(name="errors")
    router.errors.register(on_error)
    return router
