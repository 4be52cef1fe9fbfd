"""A citizen's vote in a poll (issue #13): Telegram sends a poll_answer for every vote, change
and retraction in a poll the bot sent that is not anonymous; the service counts it."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import PollAnswer

from bot.services.polls import PollService


async def poll_answer(answer: PollAnswer, polls: PollService) -> None:
    # A vote on behalf of a chat (voter_chat) is no citizen's: our polls go to private chats.
    if answer.user is None:
        return
    await polls.answer(answer.poll_id, answer.user.id, answer.option_ids)


def create_router() -> Router:
    router = Router(name="polls")
    router.poll_answer.register(poll_answer)
    return router
