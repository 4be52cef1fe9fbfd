"""Direct replies that may be longer than one Telegram message.

A view that shows a whole text a person typed (the full card, /find, the citizen's own appeal)
can run past Telegram's 4,096 UTF-16 units: an appeal of 3,500 emoji alone is 7,000. Such a
reply goes as consecutive messages cut by `bot.delivery.outbox.split_text` (at line ends, HTML kept
valid), and the keyboard rides on the last part, right under the end of the text, where it
stays usable. Replies through the outbox are split there already.
"""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup, Message, ReplyParameters

from bot.delivery.outbox import split_text


async def answer_in_parts(
    message: Message,
    text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
    *,
    reply_to: int | None = None,
) -> Message:
    """Reply in the chat of `message` with `text` (HTML) in as many messages as it needs;
    the first part quotes message `reply_to` when given. Returns the last one, the one that
    carries the keyboard."""
    return (await send_in_parts(message, text, reply_markup, reply_to=reply_to))[-1]


async def send_in_parts(
    message: Message,
    text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
    *,
    reply_to: int | None = None,
) -> list[Message]:
    """`answer_in_parts`, returning every message sent (to find them again: /forget)."""
    parts = split_text(text)
    sent: list[Message] = []
    for number, part in enumerate(parts, start=1):
        quote = (
            ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
            if number == 1 and reply_to is not None
            else None
        )
        last = number == len(parts)
        sent.append(
            await message.answer(
                part, reply_parameters=quote, reply_markup=reply_markup if last else None
            )
        )
    return sent
