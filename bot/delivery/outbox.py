"""How the bot sends what must arrive: enqueue a row, let `bot.delivery.sender.OutboxSender`
deliver it.

Everything that must reach someone other than the person whose update is being handled (a
card in the officials' chat, an answer or a notice to a citizen, a reminder, the digest), or
must survive a crash (a registration number), is a row here. A row in the database survives a
crash, a restart and Telegram's bad moods (429, 5xx, network); the sender retries it until
Telegram takes it or says it never will (blocked by the user, chat gone). Handlers answer the
update in hand directly (an edited screen, an alert, the next step's prompt): if that reply is
lost, the saved step is where the next message carries on (handlers/errors.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

import aiogram.methods
from aiogram.client.default import Default
from aiogram.methods import TelegramMethod
from aiogram.types import InputFile
from pydantic import BaseModel

from bot.domain.validation import utf16_len
from storage.base import InTransaction
from storage.outbox import NewMessage, OutboxStore, Outgoing

log = logging.getLogger(__name__)

# A row drawn when it is sent (`Outbox.rendered`): the payload keeps the numbers under this key,
# and the sender's renderer for their kind turns them into the method's file and caption.
RENDER_KEY = "render"
# A message written in every language the bot speaks and sent in the one its recipient speaks
# when it goes out (`Outbox.in_language`, `in_language_renderer`): a reminder queued days
# ahead follows the citizen's /lang.
IN_LANGUAGE_KIND = "in_language"
TEXT_LIMIT = 4096  # Bot API: 1-4096 characters per message text
# Reply-to and the like belong to the first part only; a keyboard to the last.
FIRST_PART_ONLY = frozenset({"reply_parameters", "reply_to_message_id"})
LAST_PART_ONLY = frozenset({"reply_markup"})


def method_class(method: str) -> type[TelegramMethod[Any]]:
    """aiogram's class for a Bot API method name: sendMessage -> aiogram.methods.SendMessage."""
    name = method[:1].upper() + method[1:]
    cls = getattr(aiogram.methods, name, None)
    if not (isinstance(cls, type) and issubclass(cls, TelegramMethod)):
        raise ValueError(f"unknown Bot API method {method!r}")
    return cls


def build_method(method: str, chat_id: int, payload: Mapping[str, Any]) -> TelegramMethod[Any]:
    # Every method the outbox sends is a chat method; the base class does not say so.
    chat_method: Any = method_class(method)
    built: TelegramMethod[Any] = chat_method(chat_id=chat_id, **payload)
    return built


def under(message_id: int | None) -> dict[str, Any]:
    """`Outbox.text`'s extra for a reply to `message_id` (an appeal's card, a prompt): sent
    anyway if that message is gone, and as a plain message when it is not known (a card not
    delivered yet), since the text names the appeal itself."""
    if message_id is None:
        return {}
    return {"reply_parameters": {"message_id": message_id, "allow_sending_without_reply": True}}


def answer_key(appeal_id: int, answered_at: object) -> str:
    """The dedupe key of an official's answer to the citizen; `unreached` reads it back."""
    return f"answer:{appeal_id}:{answered_at}"


def question_key(appeal_id: int, question_id: int) -> str:
    """The dedupe key of the officials' question to the citizen; `unreached` reads it back."""
    return f"question:{appeal_id}:{question_id}"


@dataclass(frozen=True, slots=True)
class Unreached:
    """What a row the outbox gave up on (the citizen blocked the bot) carried that the
    officials must hear of: an answer or a question (`kind`) on `appeal_id`; `item` is the
    question's id, or the answer's time as its key wrote it."""

    kind: str  # ANSWER or QUESTION
    appeal_id: int
    item: str

    ANSWER = "answer"
    QUESTION = "question"


def unreached(key: str) -> Unreached | None:
    """The one place that decides which rows' loss the officials hear of: an official's
    answer (`answer_key`) and question (`question_key`), whichever part of a long text the
    key names; None for any other row (a file sent before them, a notice, a reminder)."""
    kind, _sep, rest = key.partition("#")[0].partition(":")
    appeal_id, _sep, item = rest.partition(":")
    if kind not in (Unreached.ANSWER, Unreached.QUESTION) or not appeal_id.isdigit() or not item:
        return None
    if kind == Unreached.QUESTION and not item.isdigit():
        return None  # a question queued before its key named the appeal
    return Unreached(kind, int(appeal_id), item)


def to_json(value: Any) -> Any:
    """A payload value as plain JSON data. aiogram's `Default(...)` placeholders are left out,
    so the bot's defaults apply when the row is sent, as they would for a direct call."""
    if isinstance(value, InputFile):
        # An upload exists only in this process; a row must be sendable after a restart.
        raise TypeError("the outbox sends files by file_id or URL only, not uploads")
    if isinstance(value, BaseModel):
        value = value.model_dump(exclude_none=True, by_alias=True)
    if isinstance(value, Mapping):
        # An explicit None stays: {"parse_mode": None} means plain text, not the bot's default.
        return {str(k): to_json(v) for k, v in value.items() if not isinstance(v, Default)}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, Enum):
        return to_json(value.value)
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return value


class Outbox:
    def __init__(self, store: OutboxStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock
        # Set on every enqueue; the sender waits on it instead of polling the table.
        self.wakeup = asyncio.Event()

    # ------------------------------------------------------------------ building rows

    def text(
        self,
        chat_id: int,
        text: str,
        *,
        reply_markup: Any = None,
        parse_mode: str | None = "HTML",
        dedupe_key: str | None = None,
        purpose: str | None = None,
        not_before: datetime | None = None,
        **extra: Any,
    ) -> Outgoing:
        """The rows of a sendMessage, split into several messages when longer than Telegram
        allows; nothing is written yet (`queue`, `queue_in`).

        Parts get the keyboard and `purpose` only on the last one (that is the message a later
        edit of the keyboard targets) and `dedupe_key#1`, `#2`… when there is more than one.
        """
        if not text.strip():
            raise ValueError("Telegram refuses an empty message")
        parts = split_text(text, html=(parse_mode or "").lower() == "html")
        common = to_json(extra)
        messages: list[NewMessage] = []
        for number, part in enumerate(parts, start=1):
            payload: dict[str, Any] = {"text": part, "parse_mode": parse_mode, **common}
            if number > 1:
                for key in FIRST_PART_ONLY:
                    payload.pop(key, None)
            last = number == len(parts)
            if last and reply_markup is not None:
                payload["reply_markup"] = to_json(reply_markup)
            part_key = (
                dedupe_key if dedupe_key is None or len(parts) == 1 else f"{dedupe_key}#{number}"
            )
            messages.append(NewMessage("sendMessage", payload, part_key, purpose if last else None))
        for message in messages:
            build_method(message.method, chat_id, message.payload)  # fail here, not in the sender
        return Outgoing(chat_id, messages, self.clock(), not_before)

    def message(
        self,
        chat_id: int,
        method: str,
        payload: Mapping[str, Any],
        *,
        dedupe_key: str | None = None,
        purpose: str | None = None,
        not_before: datetime | None = None,
    ) -> Outgoing:
        """The row of any other chat method (sendPhoto, sendMediaGroup, editMessageText…);
        `payload` holds its parameters except chat_id, aiogram objects allowed."""
        data = to_json(dict(payload))
        if "chat_id" in data and data.pop("chat_id") != chat_id:
            raise ValueError("chat_id is the first argument, not part of the payload")
        # Validating now points at the caller's bug instead of a row dropped later.
        build_method(method, chat_id, data)
        return Outgoing(
            chat_id, [NewMessage(method, data, dedupe_key, purpose)], self.clock(), not_before
        )

    def rendered(
        self,
        chat_id: int,
        method: str,
        kind: str,
        data: Mapping[str, Any],
        *,
        dedupe_key: str | None = None,
        purpose: str | None = None,
        not_before: datetime | None = None,
        **extra: Any,
    ) -> Outgoing:
        """The row of a message made when it is sent (a chart as sendPhoto): the row keeps
        `data`, a few numbers as JSON, and the sender's renderer for `kind`
        (`bot.delivery.sender.Renderer`) makes the upload from them at each attempt, so a
        retry or a restart makes it again and no file is stored. `extra`: the method's other
        parameters; what the renderer returns overrides them."""
        method_class(method)  # fail here, not in the sender
        payload = {RENDER_KEY: {"kind": kind, "data": to_json(dict(data))}, **to_json(extra)}
        json.dumps(payload)  # a row is JSON: fail here on anything else
        return Outgoing(
            chat_id, [NewMessage(method, payload, dedupe_key, purpose)], self.clock(), not_before
        )

    def in_language(
        self,
        chat_id: int,
        versions: Mapping[str, tuple[str, Any]],
        fallback: str,
        *,
        dedupe_key: str | None = None,
        purpose: str | None = None,
        not_before: datetime | None = None,
    ) -> Outgoing:
        """The row of a one-part HTML sendMessage to a citizen (`chat_id`, their private
        chat) whose language may change before it goes out: `versions` holds (text, keyboard)
        in each language, and the sender sends the one of the language the citizen has then;
        `fallback` (the language they had now) if that cannot be read. A text too long for
        one message goes as `text` sends it, in parts, in the fallback language."""
        if fallback not in versions:
            raise ValueError(f"no version in the fallback language {fallback!r}")
        if any(len(split_text(text, html=True)) > 1 for text, _markup in versions.values()):
            text, markup = versions[fallback]
            return self.text(
                chat_id, text, reply_markup=markup, dedupe_key=dedupe_key, purpose=purpose,
                not_before=not_before,
            )  # fmt: skip
        made: dict[str, Any] = {}
        for lang, (text, markup) in versions.items():
            if not text.strip():
                raise ValueError("Telegram refuses an empty message")
            made[lang] = {"text": text, **({"reply_markup": markup} if markup else {})}
            build_method("sendMessage", chat_id, {"parse_mode": "HTML", **made[lang]})
        data = {"chat": chat_id, "fallback": fallback, "versions": made}
        return self.rendered(
            chat_id, "sendMessage", IN_LANGUAGE_KIND, data, parse_mode="HTML",
            dedupe_key=dedupe_key, purpose=purpose, not_before=not_before,
        )  # fmt: skip

    # ------------------------------------------------------------------ writing them

    async def queue(self, batches: Sequence[Outgoing], *, bulk: bool = False) -> list[int]:
        """Write rows (of one chat or several) in one transaction and wake the sender.
        `bulk`: see `queue_in`."""
        ids = await self.store.add_outgoing(as_bulk(batches) if bulk else batches)
        self.poke()
        return ids

    async def queue_in(
        self, conn: InTransaction, batches: Sequence[Outgoing], *, bulk: bool = False
    ) -> list[int]:
        """Write rows inside the caller's transaction on the shared connection, so they commit
        with the change that causes them; call `poke` once it has committed.

        `bulk` for a broadcast (an announcement's row per subscriber): the rows give way to
        every other due row, a citizen's answer and the officials' cards first of all, and the
        sender paces them below Telegram's limit (storage/outbox.py, bot/delivery/sender.py)."""
        return await self.store.write_in(conn, as_bulk(batches) if bulk else batches)

    def poke(self) -> None:
        """Rows were committed: the sender looks now instead of at its next wake-up."""
        self.wakeup.set()

    async def chat_is_back(self, chat_id: int) -> int:
        """The bot is a member of `chat_id` again: what waited for it goes out now, in order.
        Returns how many rows."""
        resumed = await self.store.resume_chat(chat_id, self.clock())
        self.poke()
        return resumed

    async def chat_migrated(self, old: int, new: int) -> int:
        """Group `old` is now supergroup `new` (Telegram's service message said so): its
        waiting rows, and every row queued for `old` from now on, go to `new`."""
        moved = await self.store.migrate_chat(old, new, self.clock())
        self.poke()
        return moved

    async def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        reply_markup: Any = None,
        parse_mode: str | None = "HTML",
        dedupe_key: str | None = None,
        purpose: str | None = None,
        not_before: datetime | None = None,
        **extra: Any,
    ) -> list[int]:
        """`text` written at once; returns the row ids, in order."""
        batch = self.text(
            chat_id,
            text,
            reply_markup=reply_markup,
            parse_mode=parse_mode,
            dedupe_key=dedupe_key,
            purpose=purpose,
            not_before=not_before,
            **extra,
        )
        return await self.queue([batch])

    async def send(
        self,
        chat_id: int,
        method: str,
        payload: Mapping[str, Any],
        *,
        dedupe_key: str | None = None,
        purpose: str | None = None,
        not_before: datetime | None = None,
    ) -> int:
        """`message` written at once; returns the row id."""
        batch = self.message(
            chat_id, method, payload, dedupe_key=dedupe_key, purpose=purpose, not_before=not_before
        )
        return (await self.queue([batch]))[0]


def as_bulk(batches: Sequence[Outgoing]) -> list[Outgoing]:
    return [replace(batch, bulk=True) for batch in batches]


# --------------------------------------------------------------------------- splitting

# A tag, an entity or one character: the splitter never cuts inside the first two.
_HTML_TOKEN = re.compile(r"<[^<>]*>|&#?\w{1,32};|.", re.DOTALL)
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][\w-]*)")


@dataclass(frozen=True, slots=True)
class _Tag:
    name: str
    opening: str  # as written, attributes included, to reopen it in the next part


def _closing(stack: tuple[_Tag, ...]) -> str:
    return "".join(f"</{tag.name}>" for tag in reversed(stack))


def _apply(stack: tuple[_Tag, ...], token: str) -> tuple[_Tag, ...]:
    if not token.startswith("<") or len(token) < 3:
        return stack
    match = _TAG_NAME.match(token)
    if match is None:
        return stack
    name = match.group(1).lower()
    if token.startswith("</"):
        for depth in range(len(stack) - 1, -1, -1):
            if stack[depth].name == name:
                return stack[:depth]
        return stack
    if token.endswith("/>"):
        return stack
    return (*stack, _Tag(name, token))


def _visible(part: str, html: bool) -> str:
    return re.sub(r"<[^<>]*>", "", part) if html else part


def split_text(text: str, limit: int = TEXT_LIMIT, *, html: bool = True) -> list[str]:
    """Cut `text` into parts of at most `limit` UTF-16 units.

    Cuts go at line ends; a line longer than a whole message is cut between words, preferably
    outside tags opened on that line (a `<b>…</b>` stays whole), and a word longer than a
    message between characters. Tags never get cut; tags still open at a cut are closed at the
    end of the part and reopened at the start of the next, so every part is valid HTML.
    """
    if utf16_len(text) <= limit:
        return [text]
    tokens = _HTML_TOKEN.findall(text) if html else list(text)
    sizes = [utf16_len(t) for t in tokens]
    parts: list[str] = []
    start = 0
    stack: tuple[_Tag, ...] = ()
    while start < len(tokens):
        # Leading line breaks would be trimmed by Telegram anyway; they only cost space.
        while start < len(tokens) and tokens[start] == "\n":
            start += 1
        if start == len(tokens):
            break
        prefix = "".join(tag.opening for tag in stack)
        end, end_stack = _fit(tokens, sizes, start, stack, limit - utf16_len(prefix))
        body = "".join(tokens[start:end]).rstrip("\n")
        part = prefix + body + _closing(end_stack)
        if _visible(part, html).strip():
            parts.append(part)
        start, stack = end, end_stack
    return parts or [text[:limit]]


def _fit(
    tokens: list[str],
    sizes: list[int],
    start: int,
    stack: tuple[_Tag, ...],
    budget: int,
) -> tuple[int, tuple[_Tag, ...]]:
    """Where the part starting at `start` ends, and the tags open there.

    Break candidates by preference: after a line break; after a space outside tags opened on
    this line; after any space; anywhere between tokens.
    """
    length = 0
    line_base = len(stack)
    best: list[tuple[int, tuple[_Tag, ...]] | None] = [None, None, None]
    index = start
    while index < len(tokens):
        token = tokens[index]
        after = _apply(stack, token)
        if length + sizes[index] + utf16_len(_closing(after)) > budget:
            break
        length += sizes[index]
        stack = after
        line_base = min(line_base, len(stack))
        index += 1
        if token == "\n":
            best[0] = (index, stack)
            line_base = len(stack)
        elif token.isspace():
            if len(stack) <= line_base:
                best[1] = (index, stack)
            best[2] = (index, stack)
    if index == len(tokens):
        return index, stack
    for candidate in best:
        if candidate is not None and candidate[0] > start:
            return candidate
    if index == start:
        # Not even one token fits beside the reopened tags: give up on keeping them.
        return start + 1, _apply(stack, tokens[start])
    return index, stack


class RecipientGone(LookupError):
    """Raised by `in_language_renderer`'s `language_of` for a citizen who is no longer there
    (their data erased by /forget): the row is dropped, not sent in its fallback language."""


def in_language_renderer(
    language_of: Callable[[int], Awaitable[str | None]],
) -> Callable[[Mapping[str, Any]], Awaitable[Mapping[str, Any]]]:
    """The sender's renderer of `IN_LANGUAGE_KIND` rows: the version in the language the
    citizen has when the row is sent. A language that cannot be read (a database's hiccup)
    sends the row's fallback rather than dropping a reminder; a citizen who is gone
    (`RecipientGone`: /forget committed while the sender held the row, after deleting the
    rows to their chat) gets nothing."""

    async def render(data: Mapping[str, Any]) -> Mapping[str, Any]:
        versions: Mapping[str, Mapping[str, Any]] = data["versions"]
        try:
            lang = await language_of(int(data["chat"]))
        except RecipientGone:
            raise
        except Exception:
            log.exception("the language of chat %s could not be read", data.get("chat"))
            lang = None
        return versions.get(lang or "") or versions[str(data["fallback"])]

    return render
