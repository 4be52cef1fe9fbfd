"""The bot's own membership of a chat (Telegram's my_chat_member updates)."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import JOIN_TRANSITION, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated

from bot.delivery.outbox import Outbox

log = logging.getLogger(__name__)


def create_router() -> Router:
    router = Router(name="chat_member")
    router.my_chat_member.register(bot_is_back, ChatMemberUpdatedFilter(JOIN_TRANSITION))
    return router


async def bot_is_back(event: ChatMemberUpdated, outbox: Outbox) -> None:
    """Added back to a group that had refused it: the cards and notices kept for it go now."""
    resumed = await outbox.chat_is_back(event.chat.id)
    log.info("the bot is in chat %s again; %d waiting messages go out", event.chat.id, resumed)
