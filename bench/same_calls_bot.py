"""A bare aiogram bot that answers each dialog step with the Bot API calls the real bot made.

`bench.dialogs`' second baseline, the "same-calls echo". Like `bench.echo_bot` it has no
storage and no middlewares; instead of one reply per update it replays, for the step an update
belongs to, the calls `python -m bot` made for that step: e.g. a press is answered, its message
edited and the next question sent, each with the real bot's text and keyboard. So ours against
it measures what the project adds per update, with the dialog's design (how many calls, how big)
the same on both sides; ours against the plain echo measures both together.

The script is not written by hand: `bench.dialogs` records it in the same run from the fake Bot
API's call log, every call the real bot made between one step of its warm-up citizen and the
next, and hands it over as JSON in BENCH_SCRIPT: {step name: [[method, params], ...]}. Which
step an update is: a press carries "echo:<step>" as its data, a message a "bench_step" field
(aiogram keeps fields it does not know; the real bot never gets one).

The replayed calls go to the updating citizen's chat (and a call the real bot made to another
chat, an officials' card, to that chat); an edit edits the pressed message, and a callback
answer answers this press. Each call is built from its JSON by aiogram's own method model, as
the real bot builds its keyboards, and sent in the recorded order, one after another.
Updates of one chat are handled one at a time (aiogram's SimpleEventIsolation), as the real
bot does, so that a step's calls never overtake the step before.

    BOT_TOKEN=... TELEGRAM_API_BASE=http://127.0.0.1:PORT BENCH_SCRIPT=script.json \\
        .venv/bin/python -m bench.same_calls_bot

BENCH_ONE_WINDOW=1 (`bench.dialogs --one-window`) replays the script of a one-window dialog
instead (`one_window`): the cost side of issue #14's item 2, measured without rewriting the bot.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher, methods
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.methods.base import TelegramMethod
from aiogram.types import CallbackQuery, Message

from bench.echo_bot import POLLING_TIMEOUT
from bot.telegram import eventloop

JsonDict = dict[str, Any]
Script = dict[str, list[tuple[str, JsonDict]]]
# aiogram's method models by their Bot API name: "sendMessage" -> SendMessage.
METHODS: dict[str, type[TelegramMethod[Any]]] = {
    cls.__api_method__: cls
    for name in methods.__all__
    if isinstance(cls := getattr(methods, name), type)
    and issubclass(cls, TelegramMethod)
    and hasattr(cls, "__api_method__")
}
# The key of the recorded citizen's chat id: calls to it go to the updating chat instead.
RECORDED_CHAT = "recorded_chat"


def load_script(path: Path) -> tuple[int, Script]:
    raw = json.loads(path.read_text("utf-8"))
    script: Script = {step: [(m, p) for m, p in calls] for step, calls in raw["steps"].items()}
    unknown = {m for calls in script.values() for m, _ in calls if m not in METHODS}
    if unknown:
        # A method the replay cannot build would silently shrink the baseline's work.
        raise SystemExit(f"the script has methods aiogram does not know: {sorted(unknown)}")
    return int(raw[RECORDED_CHAT]), script


# The parameters of sendMessage that editMessageText takes as well.
EDIT_PARAMS = frozenset(
    {"chat_id", "text", "parse_mode", "entities", "link_preview_options", "reply_markup"}
)


def one_window(script: Script) -> Script:
    """The script of a one-window dialog (issue #14, item 2): where a step edits the pressed
    message («✔️ choice», or its buttons taken off) and then sends the next question to the
    same chat, it edits the pressed message into that question instead: one call fewer. A
    question with a reply keyboard cannot come with an edit, so it is sent as before."""

    def merged(calls: list[tuple[str, JsonDict]]) -> list[tuple[str, JsonDict]]:
        out: list[tuple[str, JsonDict]] = []
        for method, params in calls:
            if out and method == "sendMessage":
                last_method, last = out[-1]
                markup = params.get("reply_markup")
                inline = markup is None or "inline_keyboard" in markup
                if (
                    last_method in ("editMessageText", "editMessageReplyMarkup")
                    and last.get("chat_id") == params.get("chat_id")
                    and "message_id" in last
                    and inline
                ):
                    edit = {k: v for k, v in params.items() if k in EDIT_PARAMS}
                    edit["message_id"] = last["message_id"]
                    out[-1] = ("editMessageText", edit)
                    continue
            out.append((method, params))
        return out

    return {step: merged(calls) for step, calls in script.items()}


class Replay:
    def __init__(self, recorded_chat: int, script: Script) -> None:
        self.recorded_chat = recorded_chat
        self.script = script

    async def play(
        self, bot: Bot, step: str, chat_id: int, message_id: int | None, query_id: str | None
    ) -> None:
        for method, recorded in self.script[step]:
            params = dict(recorded)
            if params.get("chat_id") == self.recorded_chat:
                params["chat_id"] = chat_id
                if message_id is not None and "message_id" in params:
                    params["message_id"] = message_id  # the pressed message
            if "callback_query_id" in params and query_id is not None:
                params["callback_query_id"] = query_id
            await bot(METHODS[method].model_validate(params))

    async def on_message(self, message: Message, bot: Bot) -> None:
        step = (message.model_extra or {}).get("bench_step")
        if not isinstance(step, str):
            raise RuntimeError(f"message without a bench_step: {message.text!r}")
        await self.play(bot, step, message.chat.id, None, None)

    async def on_callback(self, query: CallbackQuery, bot: Bot) -> None:
        step = (query.data or "").removeprefix("echo:")
        message = query.message
        if message is None:
            raise RuntimeError(f"press without a message: {query.data!r}")
        await self.play(bot, step, message.chat.id, message.message_id, query.id)


async def run(token: str, api_base: str, replay: Replay) -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base))
    bot = Bot(token, session=session)
    dp = Dispatcher(events_isolation=SimpleEventIsolation())
    dp.message.register(replay.on_message)
    dp.callback_query.register(replay.on_callback)
    await dp.start_polling(bot, polling_timeout=POLLING_TIMEOUT, close_bot_session=True)


def main() -> int:
    # Logging as `python -m bot` and bench.echo_bot set it up.
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    token = os.environ.get("BOT_TOKEN", "")
    api_base = os.environ.get("TELEGRAM_API_BASE", "")
    script_path = os.environ.get("BENCH_SCRIPT", "")
    if not token or not api_base.startswith("http://127.0.0.1") or not script_path:
        print(
            "set BOT_TOKEN, TELEGRAM_API_BASE=http://127.0.0.1:PORT and BENCH_SCRIPT",
            file=sys.stderr,
        )
        return 2
    recorded_chat, script = load_script(Path(script_path))
    if os.environ.get("BENCH_ONE_WINDOW") == "1":
        script = one_window(script)
        calls = sum(len(c) for c in script.values())
        logging.info("one-window script: %d calls for %d steps", calls, len(script))
    replay = Replay(recorded_chat, script)
    eventloop.run(run(token, api_base, replay), os.environ.get("EVENT_LOOP", "auto").lower())  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
