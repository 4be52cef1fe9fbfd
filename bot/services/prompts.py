"""What an official writes in reply to the bot's prompts, and when it reaches the citizen.

The rules (one place, Telegram-free):
- a reply counts only as a reply to a live prompt, and belongs to that prompt's appeal: an
  official may have prompts open on several appeals, and a message in the chat that replies
  to none of them is never an answer;
- only the official who opened a prompt replies to it and sends it;
- a reply is a draft: it is checked (a date, a number, a text) and shown back to the official
  exactly as the citizen would read it; only «Send» acts on the appeal;
- a prompt lives PROMPT_TTL after it was opened or last replied to, then expires.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from bot.delivery.outbox import Outbox
from bot.domain.prompts import PROMPT_RULES, PROMPT_TTL, Draft, Refusal, names_prompt
from bot.domain.status import allows
from bot.services.officials import ActionResult, Official, OfficialsService
from storage.base import InTransaction
from storage.models import Appeal, Outcome
from storage.outbox import Outgoing
from storage.prompts import NewPrompt, Prompt, PromptAction, PromptState, PromptStore

if TYPE_CHECKING:
    from bot.services.lifecycle import AppealLifecycle

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
MIN_ANSWER_LENGTH = 2
MAX_REASON_LENGTH = 500


@dataclass(frozen=True)
class ReplyResult:
    prompt: Prompt | None  # None: the message replies to no prompt at all
    appeal: Appeal | None = None
    draft: Draft | None = None
    refusal: Refusal | None = None


@dataclass(frozen=True)
class SendResult:
    prompt: Prompt | None
    appeal: Appeal | None = None
    draft: Draft | None = None
    refusal: Refusal | None = None
    action: ActionResult | None = None  # what the appeal's service said


def parse_extension(text: str) -> tuple[date, str] | None:
    """«15.01.2027» and the reason, on the same line or the next ones."""
    first, _sep, rest = text.strip().partition("\n")
    match = re.fullmatch(r"\s*(\d{1,2})[./-](\d{1,2})[./-](\d{4})\s*(.*)", first)
    if not match:
        return None
    day, month, year, tail = match.groups()
    reason = " ".join(part for part in (tail.strip(), rest.strip()) if part)
    try:
        when = date(int(year), int(month), int(day))
    except ValueError:
        return None
    return (when, reason[:MAX_REASON_LENGTH]) if reason else None


def extended_since(prompt: Prompt, appeal: Appeal) -> bool:
    """An extension's preview shows the deadline it was made against moving to the new date;
    once the appeal's deadline is another (an extension sent after the preview was shown, from
    another preview or by another official), sending it would extend a second time, which is
    not what it showed. A preview that kept no deadline (made before 0022) is not held."""
    return (
        prompt.action == PromptAction.EXTEND
        and prompt.draft_due_at is not None
        and appeal.due_at != prompt.draft_due_at
    )


# The rows telling a prompt's chat it expired, built (not written) for the prompt and its
# appeal's reference number: written in the expiry's transaction.
ExpiryNotice = Callable[[Prompt, str | None], Sequence[Outgoing]]


class OfficialPrompts:
    def __init__(
        self,
        store: PromptStore,
        officials: OfficialsService,
        clock: Clock,
        *,
        ttl: timedelta = PROMPT_TTL,
        on_expired: tuple[ExpiryNotice, Outbox] | None = None,
        lifecycle: AppealLifecycle | None = None,
    ) -> None:
        self.store = store
        self.officials = officials
        self.clock = clock
        self.ttl = ttl
        self.on_expired = on_expired  # the notice, and the outbox it is written to
        self.lifecycle = lifecycle  # asks the citizen (PromptAction.ASK)

    async def reserve(
        self,
        chat_id: int,
        appeal: Appeal,
        action: PromptAction,
        official: Official,
        outcome: Outcome | None = None,
    ) -> Prompt:
        """Record a prompt BEFORE it is posted (state POSTING): a process that dies after
        posting it, or a write that fails then, leaves this row, so a reply to the prompt
        is known for what it is (`unrecorded`) instead of going to whatever dialog is open."""
        now = self.clock()
        new = NewPrompt(
            chat_id=chat_id,
            message_id=0,  # not known yet
            appeal_id=appeal.id,
            action=action,
            official_id=official.id,
            official_name=official.name,
            outcome=outcome.value if outcome else None,
        )
        return await self.store.reserve(new, now, now + self.ttl)

    async def posted(self, prompt: Prompt, message_id: int) -> Prompt | None:
        """The reserved prompt went out as `message_id`: replies to it count from now."""
        return await self.store.posted(prompt.id, message_id)

    async def unposted(self, prompt: Prompt) -> None:
        """Posting the reserved prompt failed (Telegram refused it): nothing to reply to."""
        await self.store.finish(
            prompt.id, PromptState.CANCELLED, from_states=(PromptState.POSTING,)
        )

    async def unrecorded(
        self, chat_id: int, official_id: int, replied_text: str | None
    ) -> tuple[Prompt, Appeal] | None:
        """A reply by `official_id` to a message of the bot's no prompt is recorded for: the
        prompt the message is, if it is one of theirs left POSTING here (it names its
        appeal's number as prompts begin), with its appeal; else None (not a prompt)."""
        for prompt in await self.store.unposted(chat_id, official_id):
            appeal = await self.officials.repo.get_appeal(prompt.appeal_id)
            if appeal is not None and names_prompt(replied_text, appeal.reference):
                return prompt, appeal
        return None

    async def prompt_at(self, chat_id: int, message_id: int) -> Prompt | None:
        return await self.store.by_message(chat_id, message_id)

    async def reply(
        self,
        prompt: Prompt,
        official: Official,
        text: str,
        file_id: str | None = None,
    ) -> ReplyResult:
        """The official replied to `prompt`: a draft under preview, or why not."""
        if prompt.state == PromptState.VOID:
            appeal = await self.officials.repo.get_appeal(prompt.appeal_id)
            return ReplyResult(prompt, appeal, refusal=Refusal.CLOSED)
        refusal = await self._check_live(prompt, official)
        if refusal is not None:
            return ReplyResult(prompt, refusal=refusal)
        appeal = await self.officials.repo.get_appeal(prompt.appeal_id)
        if appeal is None or not allows(appeal.status, PROMPT_RULES[prompt.action]):
            await self.store.finish(prompt.id, PromptState.VOID)
            return ReplyResult(prompt, appeal, refusal=Refusal.CLOSED)
        if not await self.officials.may_act(prompt.chat_id, official.id, appeal):
            return ReplyResult(prompt, appeal, refusal=Refusal.NOT_ALLOWED)
        draft = await self.read(prompt, appeal, text.strip(), file_id)
        if isinstance(draft, Refusal):
            return ReplyResult(prompt, appeal, refusal=draft)  # the prompt stays open
        # An extension's preview is made against the deadline read here: «Send» holds it to it.
        shown_due = appeal.due_at if prompt.action == PromptAction.EXTEND else None
        if not await self.store.set_draft(
            prompt.id, text.strip(), file_id, self._expiry(), shown_due
        ):
            return ReplyResult(prompt, appeal, refusal=Refusal.NOT_PENDING)
        return ReplyResult(prompt, appeal, draft)

    async def previewed(self, prompt: Prompt, message_id: int) -> None:
        """The preview went out as `message_id`: only its «Send» counts."""
        await self.store.set_preview_message(prompt.id, message_id)

    async def send(self, prompt_id: int, preview_message_id: int, official: Official) -> SendResult:
        """«Send» on a preview: act on the appeal with the draft."""
        prompt = await self.store.get(prompt_id)
        if prompt is None:
            return SendResult(None, refusal=Refusal.NOT_PENDING)
        if prompt.state == PromptState.VOID:
            # The appeal moved on while the preview waited (the citizen withdrew it, someone
            # else answered): say that, not "sent, cancelled or replaced".
            appeal = await self.officials.repo.get_appeal(prompt.appeal_id)
            return SendResult(prompt, appeal, refusal=Refusal.CLOSED)
        refusal = await self._check_preview(prompt, preview_message_id, official)
        if refusal is not None:
            return SendResult(prompt, refusal=refusal)
        appeal = await self.officials.repo.get_appeal(prompt.appeal_id)
        if appeal is None:
            await self.store.finish(prompt.id, PromptState.VOID)
            return SendResult(prompt, refusal=Refusal.CLOSED)
        if not await self.officials.may_act(prompt.chat_id, official.id, appeal):
            return SendResult(prompt, appeal, refusal=Refusal.NOT_ALLOWED)
        if extended_since(prompt, appeal):
            # The preview said the deadline it showed moves; that one is gone. The preview
            # will never be right again: it ends, and loses its buttons.
            await self.store.finish(prompt.id, PromptState.VOID, from_states=(PromptState.PREVIEW,))
            return SendResult(prompt, appeal, refusal=Refusal.EXTENDED_SINCE)
        draft = await self.read(prompt, appeal, prompt.draft_text or "", prompt.draft_file_id)
        if isinstance(draft, Refusal):
            # The draft was fine at preview time; the appeal changed since (e.g. extended).
            return SendResult(prompt, appeal, refusal=draft)
        acted = await self._act(prompt, appeal, official, draft)
        if acted.reason == Refusal.NO_ORIGINAL:
            # The original changed between `read` and the write (withdrawn, marked a
            # duplicate…): refused as a number no longer fit, the preview waiting, as above.
            return SendResult(prompt, acted.appeal or appeal, refusal=Refusal.NO_ORIGINAL)
        # The appeal's own conditional update decided; the prompt only records it, so a
        # crash in between leaves a prompt whose next «Send» is told "already done".
        final = PromptState.DONE if acted.done else PromptState.VOID
        await self.store.finish(prompt.id, final, from_states=(PromptState.PREVIEW,))
        return SendResult(prompt, acted.appeal or appeal, draft, action=acted)

    async def edit(self, prompt_id: int, preview_message_id: int, official: Official) -> SendResult:
        """«Edit»: this prompt gives way to a new one (the handler posts it)."""
        return await self._close(prompt_id, preview_message_id, official, PromptState.REPLACED)

    async def cancel(
        self, prompt_id: int, preview_message_id: int, official: Official
    ) -> SendResult:
        return await self._close(prompt_id, preview_message_id, official, PromptState.CANCELLED)

    async def tick(self, now: datetime) -> int:
        """Expire prompts past their time and tell their chats: the expiry and the notices
        commit together, so a crash between them loses neither (the next tick, here or in
        another instance, expires the prompt again and tells)."""
        if self.on_expired is None:
            return len(await self.store.expire_due(now))
        notice, outbox = self.on_expired

        async def enqueue(
            conn: InTransaction, expired: list[Prompt], references: Mapping[int, str]
        ) -> None:
            rows = [row for p in expired for row in notice(p, references.get(p.appeal_id))]
            await outbox.queue_in(conn, rows)

        expired = await self.store.expire_due(now, then=enqueue)
        if expired:
            outbox.poke()
        return len(expired)

    # --- the rules ----------------------------------------------------------------------

    async def read(
        self, prompt: Prompt, appeal: Appeal, text: str, file_id: str | None
    ) -> Draft | Refusal:
        """Parse and check a reply for this prompt's action."""
        match prompt.action:
            case PromptAction.ANSWER:
                if len(text) < MIN_ANSWER_LENGTH:
                    return Refusal.NO_TEXT
                return Draft(
                    prompt.action,
                    text=text,
                    file_id=file_id,
                    outcome=Outcome(prompt.outcome or Outcome.EXPLAINED),
                )
            case PromptAction.EXTEND:
                parsed = parse_extension(text)
                if parsed is None:
                    return Refusal.BAD_DATE
                new_due, reason = parsed
                problem = self.officials.extension_problem(appeal, new_due)
                if problem == "already":
                    return Refusal.CLOSED
                if problem:
                    return Refusal(problem)
                return Draft(prompt.action, text=reason, new_due=new_due)
            case PromptAction.DUPLICATE:
                original = await self.officials.find_original(
                    appeal, text, prompt.chat_id, prompt.official_id
                )
                if original is None:
                    return Refusal.NO_ORIGINAL
                return Draft(prompt.action, original=original)
            case PromptAction.ASK:
                if len(text) < MIN_ANSWER_LENGTH:
                    return Refusal.NO_QUESTION
                return Draft(prompt.action, text=text, file_id=file_id)

    async def _act(
        self, prompt: Prompt, appeal: Appeal, official: Official, draft: Draft
    ) -> ActionResult:
        match draft.action:
            case PromptAction.ANSWER:
                assert draft.outcome is not None
                return await self.officials.answer(
                    appeal.id, official, draft.outcome, draft.text, draft.file_id
                )
            case PromptAction.EXTEND:
                assert draft.new_due is not None
                return await self.officials.extend(
                    appeal.id, official, draft.new_due, draft.text, seen_due=prompt.draft_due_at
                )
            case PromptAction.DUPLICATE:
                assert draft.original is not None
                return await self.officials.mark_duplicate(
                    appeal.id, official, draft.original.reference, chat_id=prompt.chat_id
                )
            case PromptAction.ASK:
                assert self.lifecycle is not None, "questions need the AppealLifecycle"
                return await self.lifecycle.ask(
                    appeal.id, official, draft.text, draft.file_id, prompt_id=prompt.id
                )

    async def _check_live(self, prompt: Prompt, official: Official) -> Refusal | None:
        if not prompt.live:
            return Refusal.NOT_PENDING
        if prompt.expires_at <= self.clock():
            await self.store.finish(prompt.id, PromptState.EXPIRED)
            return Refusal.EXPIRED
        if prompt.official_id != official.id:
            return Refusal.NOT_YOURS
        return None

    async def _check_preview(
        self, prompt: Prompt, preview_message_id: int, official: Official
    ) -> Refusal | None:
        refusal = await self._check_live(prompt, official)
        if refusal is not None:
            return refusal
        if prompt.state != PromptState.PREVIEW or prompt.preview_message_id != preview_message_id:
            return Refusal.OUTDATED
        return None

    async def _close(
        self, prompt_id: int, preview_message_id: int, official: Official, state: PromptState
    ) -> SendResult:
        prompt = await self.store.get(prompt_id)
        if prompt is None:
            return SendResult(None, refusal=Refusal.NOT_PENDING)
        refusal = await self._check_preview(prompt, preview_message_id, official)
        if refusal is not None:
            return SendResult(prompt, refusal=refusal)
        if not await self.store.finish(prompt.id, state, from_states=(PromptState.PREVIEW,)):
            return SendResult(prompt, refusal=Refusal.NOT_PENDING)
        appeal = await self.officials.repo.get_appeal(prompt.appeal_id)
        return SendResult(prompt, appeal)

    def _expiry(self) -> datetime:
        return self.clock() + self.ttl
