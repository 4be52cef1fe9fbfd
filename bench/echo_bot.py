"""A bare aiogram echo bot: the baseline `bench.dialogs` compares the real bot against.

One message handler answers with the text (or the content type, for a photo or a location),
one callback handler answers the query. No storage, no middlewares: what is left is aiogram's
own polling, parsing and dispatch, plus the HTTP round trips.

    BOT_TOKEN=... TELEGRAM_API_BASE=http://127.0.0.1:PORT .venv/bin/python -m bench.echo_bot
"""

from __future__ import annotations

import logging
import os
import sys

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message

from bot.telegram import eventloop

# The same value `python -m bot` passes to start_polling, so both bots poll alike.
POLLING_TIMEOUT = 10


async def echo_message(message: Message) -> None:
    # A photo or a location has no text, and Telegram refuses an empty message.
    await message.answer(message.text or message.content_type)


async def echo_callback(query: CallbackQuery) -> None:
    await query.answer(query.data)


async def run(token: str, api_base: str) -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base))
    bot = Bot(token, session=session)
    dp = Dispatcher()
    dp.message.register(echo_message)
    dp.callback_query.register(echo_callback)
    # handle_signals: the benchmark stops this process with SIGTERM, like the real bot.
    await dp.start_polling(bot, polling_timeout=POLLING_TIMEOUT, close_bot_session=True)


def main() -> int:
    # Same logging set-up as `python -m bot`: aiogram logs every handled update at INFO, and
    # the ratio should measure the project's code, not a difference in log volume.
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    token = os.environ.get("BOT_TOKEN", "")
    api_base = os.environ.get("TELEGRAM_API_BASE", "")
    if not token or not api_base.startswith("http://127.0.0.1"):
        print("set BOT_TOKEN and TELEGRAM_API_BASE=http://127.0.0.1:PORT", file=sys.stderr)
        return 2
    # The same loop as `python -m bot` under the same EVENT_LOOP, so the ratio compares code.
    eventloop.run(run(token, api_base), os.environ.get("EVENT_LOOP", "auto").lower())  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
