"""`python -m tests.crashpoint`: `python -m bot` that dies, as if SIGKILLed, at an exact point,
which a SIGKILL at a random moment would rarely hit:

- CRASH_BEFORE=prefix: the moment it is about to write the outbox row whose dedupe key
  starts with the prefix: between two writes that must commit together (a status and the
  citizen's notice of it, a digest's claim and its row);
- CRASH_SENDING=text: the moment it is about to send a message containing the text (a dialog
  step's next question: the step has run, its reply is not out);
- CRASH_MARKING_AFTER=text: the moment it is about to mark handled the update that sent a
  message containing the text (the step ran and its question is out; the update is not
  marked handled, so Telegram delivers it again);
- CRASH_WITHDRAWING=prefix: the moment it is about to withdraw, on its own, the outbox rows
  whose purpose starts with the prefix (a change committed, the rows it makes unwanted not
  yet dropped);
- CRASH_FINISHING=state: the moment it is about to move an official's prompt to `state`
  (`PromptStore.finish`: what «Send» did is committed, the prompt not yet told so);
- CRASH_POSTED_PROMPT=any: the moment Telegram has answered the posting of an official's
  prompt (a force-reply message), before the process records what Telegram answered;
- CRASH_VOIDING=any: the moment it is about to end an appeal's live prompts
  (`PromptStore.void_for_appeal`, or `void_for_appeal_in` inside a transaction: the citizen
  withdrew the appeal);
- CRASH_TRANSITIONED=status: the moment an appeal's change to `status` has committed
  (`Repository.transition` returned it), before anything the caller does after it (an
  official's action committed, the card not yet redrawn by the handler).
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from typing import Any

from aiogram import Bot
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import ForceReply

import storage.postgres.outbox
import storage.postgres.prompts
import storage.sqlite.outbox
import storage.sqlite.prompts
from bot.__main__ import main
from bot.telegram.session import BotApiSession
from storage.outbox import NewMessage
from storage.postgres.repository import PostgresRepository
from storage.sqlite.repository import SQLiteRepository

CRASHED = 137  # what a shell reports for SIGKILL


def arm(prefix: str) -> None:
    # Both backends' row writers: whichever DATABASE_URL chose is the one that runs.
    for module in (storage.sqlite.outbox, storage.postgres.outbox):
        _arm(module, prefix)


def _arm(module: Any, prefix: str) -> None:
    real = module._insert

    async def insert(conn: Any, chat_id: int, message: NewMessage, *rest: Any) -> int:
        if (message.dedupe_key or "").startswith(prefix):
            os._exit(CRASHED)  # no rollback, no cleanup: the process is simply gone
        result: int = await real(conn, chat_id, message, *rest)
        return result

    module._insert = insert


def arm_withdrawing(prefix: str) -> None:
    for store in (
        storage.sqlite.outbox.SQLiteOutboxStore,
        storage.postgres.outbox.PostgresOutboxStore,
    ):
        _arm_withdrawing(store, prefix)


def _arm_withdrawing(store: Any, prefix: str) -> None:
    real = store.withdraw

    async def withdraw(self: Any, purpose: str, *rest: Any) -> int:
        if purpose.startswith(prefix):
            os._exit(CRASHED)
        result: int = await real(self, purpose, *rest)
        return result

    store.withdraw = withdraw


def arm_finishing(state: str) -> None:
    for store in (
        storage.sqlite.prompts.SQLitePromptStore,
        storage.postgres.prompts.PostgresPromptStore,
    ):
        _arm_finishing(store, state)


def _arm_finishing(store: Any, state: str) -> None:
    real = store.finish

    async def finish(self: Any, prompt_id: int, to: str, *rest: Any, **named: Any) -> bool:
        if to == state:
            os._exit(CRASHED)
        result: bool = await real(self, prompt_id, to, *rest, **named)
        return result

    store.finish = finish


def arm_voiding() -> None:
    for store in (
        storage.sqlite.prompts.SQLitePromptStore,
        storage.postgres.prompts.PostgresPromptStore,
    ):
        for name in ("void_for_appeal", "void_for_appeal_in"):
            if hasattr(store, name):  # the second one is new: the test runs on older code too
                setattr(store, name, _dies)


async def _dies(*_: Any) -> Any:
    os._exit(CRASHED)


def arm_transitioned(status: str) -> None:
    for repository in (SQLiteRepository, PostgresRepository):
        _arm_transitioned(repository, status)


def _arm_transitioned(repository: Any, status: str) -> None:
    real = repository.transition

    async def transition(self: Any, appeal_id: int, allowed: Any, new: Any, *rest: Any,
                         **named: Any) -> Any:  # fmt: skip
        changed = await real(self, appeal_id, allowed, new, *rest, **named)
        if changed is not None and str(new) == status:
            os._exit(CRASHED)
        return changed

    repository.transition = transition


def sends(method: TelegramMethod[Any], text: str) -> bool:
    return isinstance(method, SendMessage) and text in method.text


def arm_sending(text: str) -> None:
    real = BotApiSession.make_request

    async def make_request(
        self: BotApiSession, bot: Bot, method: TelegramMethod[Any], *rest: Any, **named: Any
    ) -> Any:
        if sends(method, text):
            os._exit(CRASHED)
        return await real(self, bot, method, *rest, **named)

    BotApiSession.make_request = make_request  # type: ignore[method-assign,assignment]


def arm_posted_prompt() -> None:
    real = BotApiSession.make_request

    async def make_request(
        self: BotApiSession, bot: Bot, method: TelegramMethod[Any], *rest: Any, **named: Any
    ) -> Any:
        result = await real(self, bot, method, *rest, **named)
        if isinstance(method, SendMessage) and isinstance(method.reply_markup, ForceReply):
            os._exit(CRASHED)  # the prompt is in the chat; what Telegram said is lost
        return result

    BotApiSession.make_request = make_request  # type: ignore[method-assign,assignment]


def arm_marking_after(text: str) -> None:
    """The update whose handling sent `text` is the next one marked: a chat's updates are
    handled one at a time, and the test sends nothing else meanwhile."""
    sent = False
    real_request = BotApiSession.make_request

    async def make_request(
        self: BotApiSession, bot: Bot, method: TelegramMethod[Any], *rest: Any, **named: Any
    ) -> Any:
        nonlocal sent
        result = await real_request(self, bot, method, *rest, **named)
        sent = sent or sends(method, text)
        return result

    BotApiSession.make_request = make_request  # type: ignore[method-assign,assignment]
    for repository in (SQLiteRepository, PostgresRepository):
        _arm_marking(repository, lambda: sent)


def _arm_marking(repository: Any, after: Any) -> None:
    real = repository.mark_update

    async def mark_update(self: Any, update_id: int, at: datetime, *rest: Any) -> None:
        if after():
            os._exit(CRASHED)
        await real(self, update_id, at, *rest)

    repository.mark_update = mark_update


if __name__ == "__main__":
    if "CRASH_BEFORE" in os.environ:
        arm(os.environ["CRASH_BEFORE"])
    if "CRASH_SENDING" in os.environ:
        arm_sending(os.environ["CRASH_SENDING"])
    if "CRASH_MARKING_AFTER" in os.environ:
        arm_marking_after(os.environ["CRASH_MARKING_AFTER"])
    if "CRASH_WITHDRAWING" in os.environ:
        arm_withdrawing(os.environ["CRASH_WITHDRAWING"])
    if "CRASH_FINISHING" in os.environ:
        arm_finishing(os.environ["CRASH_FINISHING"])
    if "CRASH_POSTED_PROMPT" in os.environ:
        arm_posted_prompt()
    if "CRASH_VOIDING" in os.environ:
        arm_voiding()
    if "CRASH_TRANSITIONED" in os.environ:
        arm_transitioned(os.environ["CRASH_TRANSITIONED"])
    sys.exit(main())
