"""The bot's own membership of a chat (Telegram's my_chat_member updates)."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import JOIN_TRANSITION, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated, Message

from bot.delivery.outbox import Outbox
from bot.telegram.filters import Has

log = logging.getLogger(__name__)


def create_router() -> Router:
    router = Router(name="chat_member")
    router.my_chat_member.register(bot_is_back, ChatMemberUpdatedFilter(JOIN_TRANSITION))
    router.message.register(group_migrated, Has("migrate_to_chat_id", "migrate_from_chat_id"))
    return router


async def group_migrated(message: Message, outbox: Outbox) -> None:
    """Telegram made a group a supergroup (a new chat id): the service message in the old
    group names the new id, the one in the new supergroup the old. Recorded at once, so the
    officials there act as before (`OfficialsService.home_of`) even before a send to the old
    id would have found out."""
    if message.migrate_to_chat_id is not None:
        old, new = message.chat.id, message.migrate_to_chat_id
    else:
        assert message.migrate_from_chat_id is not None
        old, new = message.migrate_from_chat_id, message.chat.id
    moved = await outbox.chat_migrated(old, new)
    log.info("chat %s is now supergroup %s; %d waiting messages follow it", old, new, moved)


async def bot_is_back(event: ChatMemberUpdated, outbox: Outbox) -> None:
    """Added back to a group that had refused it: the cards and notices kept for it go now."""
    resumed = await outbox.chat_is_back(event.chat.id)
    log.info("the bot is in chat %s again; %d waiting messages go out", event.chat.id, resumed)
