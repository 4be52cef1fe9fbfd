"""What happens to an open appeal besides the officials' decisions (issue #10): the citizen
withdraws it or adds to it, and officials ask the citizen a question. Telegram-free.

The rules, in one place:
- only the appeal's own citizen withdraws or adds, and only while it is open; withdrawing
  goes through the transition table, so afterwards nobody can act on it or answer it, and
  commits with its prompts' end, the card's edit and the chat's note, or not at all;
- what the citizen adds reaches the officials' chat as a reply to the appeal's card (the
  latest one, wherever a forward put it) and goes into the appeal's history;
- additions count toward the citizen's daily limit (`bot.domain.limits`), answers do not;
- a question reaches the citizen in the language of the appeal, with an «Answer» button. It
  stays answerable until it is answered once or the appeal is no longer open. A second
  question does not replace the first: each has its own button, and an answer is posted
  under the card with the question it answers. The question, its message and its prompt
  done commit together: a crash between them leaves none, and a second «Send» asks nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from bot.domain.limits import DailyLimits
from bot.domain.status import OPEN_STATUSES, sources_of
from bot.domain.validation import addition_text
from bot.services.notifiers import LifecycleNotices
from bot.services.officials import ActionResult, Official, OfficialsService
from storage.base import InTransaction
from storage.erasure import personal_purpose
from storage.lifecycle import AddOutcome, LifecycleStore, NewAddition, Question
from storage.models import Appeal, Attachment, Status
from storage.outbox import Outgoing
from storage.prompts import PromptState, PromptStore

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


class Refused(StrEnum):
    """Why a citizen's request does nothing."""

    MISSING = "missing"  # no such appeal or question, or not this citizen's
    CLOSED = "closed"  # the appeal is not open
    ANSWERED = "answered"  # the question was answered already
    DAILY_LIMIT = "daily_limit"  # as many additions as a day allows: `reopens_at` says when
    EMPTY = "empty"  # no file, and no text of which anything shows


@dataclass(frozen=True)
class Target:
    """What the citizen is about to add to: an appeal, perhaps answering a question."""

    appeal: Appeal | None
    question: Question | None = None
    refused: Refused | None = None


@dataclass(frozen=True)
class Added:
    appeal: Appeal | None
    outcome: AddOutcome | None  # None: refused before anything was written
    refused: Refused | None = None
    reopens_at: datetime | None = None  # with Refused.DAILY_LIMIT

    @property
    def done(self) -> bool:
        return self.outcome in (AddOutcome.ADDED, AddOutcome.REPEATED)


class AppealLifecycle:
    def __init__(
        self,
        officials: OfficialsService,
        store: LifecycleStore,
        prompts: PromptStore,
        clock: Clock,
        limits: DailyLimits | None = None,
        *,
        notices: LifecycleNotices,
    ) -> None:
        self.officials = officials
        self.notices = notices  # texts, keyboards and rows (bot.views.lifecycle_notices)
        self.repo = officials.repo
        self.outbox = officials.outbox
        self.store = store
        self.prompts = prompts
        self.clock = clock
        self.limits = limits

    # --- the citizen ------------------------------------------------------------------

    async def own_open_appeal(self, appeal_id: int, citizen_id: int) -> Target:
        appeal = await self.repo.get_appeal(appeal_id)
        if appeal is None or appeal.citizen_id != citizen_id:
            return Target(None, refused=Refused.MISSING)
        if appeal.status not in OPEN_STATUSES:
            return Target(appeal, refused=Refused.CLOSED)
        return Target(appeal)

    async def next_addition_at(self, citizen_id: int, draft_key: str = "") -> datetime | None:
        """None when the citizen may add to an appeal now, else when they may."""
        if self.limits is None:
            return None
        return await self.limits.next_addition_at(citizen_id, draft_key)

    async def question_to_answer(self, question_id: int, citizen_id: int) -> Target:
        question = await self.store.question(question_id)
        if question is None:
            return Target(None, refused=Refused.MISSING)
        target = await self.own_open_appeal(question.appeal_id, citizen_id)
        if target.refused is not None:
            return Target(target.appeal, question, target.refused)
        if question.answered:
            return Target(target.appeal, question, Refused.ANSWERED)
        return Target(target.appeal, question)

    async def withdraw(self, appeal_id: int, citizen_id: int) -> ActionResult:
        """The citizen takes the appeal back: `withdrawn`, the officials' prompts on it end
        (a waiting preview loses its «Send»), the card shows it and the chat is told, all in
        one transaction (`Repository.transition(…, then=…)`): a crash or an error between
        them leaves none, and the next try does all. A try run again once it is done (a
        redelivered update, a double tap) finds it withdrawn and writes nothing."""
        target = await self.own_open_appeal(appeal_id, citizen_id)
        if target.appeal is None:
            return ActionResult(None, False, "missing")
        # Where the card is, read before the transaction: withdrawing moves it nowhere, and
        # the transaction's writes are all its own.
        card = await self.officials.card_message(target.appeal)
        home = await self.officials.home_of(card[0]) if card else None

        async def tell(conn: InTransaction, withdrawn: Appeal) -> None:
            rows = [
                self.notices.retire_preview(p.chat_id, p.preview_message_id, p.id)
                for p in await self.prompts.void_for_appeal_in(conn, appeal_id)
                if p.preview_message_id is not None
            ]
            if card is not None and home is not None:
                rows.append(self.officials.card_edit(withdrawn, home, card[1]))
            text = self.notices.withdrawn(withdrawn)
            rows += self._under_card_rows(withdrawn, card, text, f"withdrawn:{appeal_id}")
            await self.outbox.queue_in(conn, rows)

        withdrawn = await self.repo.transition(
            appeal_id,
            sources_of(Status.WITHDRAWN),
            Status.WITHDRAWN,
            f"citizen:{citizen_id}",
            self.clock(),
            note="withdrawn by the citizen",
            then=tell,
        )
        if withdrawn is None:
            return ActionResult(await self.repo.get_appeal(appeal_id), False, "already")
        self.outbox.poke()
        return ActionResult(withdrawn, True)

    async def add(self, citizen_id: int, new: NewAddition) -> Added:
        """What the citizen adds (or answers): stored, posted under the card, in the history.
        A text of which nothing shows is no text (bot.domain.validation.addition_text)."""
        new = replace(new, text=addition_text(new.text))
        if not new.text and not new.files:
            return Added(None, None, Refused.EMPTY)
        if new.question_id is not None:
            target = await self.question_to_answer(new.question_id, citizen_id)
            if target.question is not None and target.question.appeal_id != new.appeal_id:
                target = Target(None, refused=Refused.MISSING)
        else:
            target = await self.own_open_appeal(new.appeal_id, citizen_id)
        if target.refused is not None or target.appeal is None:
            return Added(target.appeal, None, target.refused or Refused.MISSING)
        if new.question_id is None:
            reopens_at = await self.next_addition_at(citizen_id, new.draft_key)
            if reopens_at is not None:
                return Added(target.appeal, None, Refused.DAILY_LIMIT, reopens_at)
        addition, outcome = await self.store.add(
            new, f"citizen:{citizen_id}", self.clock(), OPEN_STATUSES
        )
        appeal = await self.repo.get_appeal(new.appeal_id) or target.appeal
        if outcome == AddOutcome.CLOSED:
            return Added(appeal, outcome, Refused.CLOSED)
        if outcome == AddOutcome.ANSWERED:
            return Added(appeal, outcome, Refused.ANSWERED)
        # Posted for a repeat too: if posting failed after the addition was stored, the
        # citizen's second «Done» mends it (the outbox keys keep it from going out twice).
        if outcome in (AddOutcome.ADDED, AddOutcome.REPEATED):
            await self._post_addition(appeal, addition.id, new, target.question)
            if new.files:  # the card counts the appeal's files, the added ones too
                await self.officials.card_shows(appeal)
        return Added(appeal, outcome)

    # --- the officials ----------------------------------------------------------------

    async def ask(
        self,
        appeal_id: int,
        official: Official,
        text: str,
        file_id: str | None = None,
        *,
        prompt_id: int | None = None,
    ) -> ActionResult:
        """«Send» on a question's preview (prompt `prompt_id`): it goes to the citizen in the
        appeal's language. The question, its prompt done and its message (the file first)
        commit together: a crash or an error between them leaves none, so the next «Send»
        asks once; a second «Send» (a retry, or two at once) finds the prompt done and asks
        nothing again."""
        appeal = await self.repo.get_appeal(appeal_id)
        if appeal is None:
            return ActionResult(None, False, "missing")
        if appeal.citizen_id is None:  # erased by /forget: nobody to ask
            return ActionResult(appeal, False, "already")

        async def enqueue(conn: InTransaction, question: Question) -> None:
            await self.outbox.queue_in(conn, self.notices.question(appeal, question))

        question = await self.store.add_question(
            appeal_id, official.id, official.name, text, file_id, self.clock(), OPEN_STATUSES,
            prompt_id=prompt_id, then=enqueue,
        )  # fmt: skip
        if question is None:
            prompt = await self.prompts.get(prompt_id) if prompt_id is not None else None
            if prompt is not None and prompt.state == PromptState.DONE:
                return ActionResult(appeal, True)  # asked by the first «Send»
            return ActionResult(await self.repo.get_appeal(appeal_id) or appeal, False, "already")
        self.outbox.poke()
        return ActionResult(appeal, True)

    # --- delivery -----------------------------------------------------------------------

    async def _post_addition(
        self, appeal: Appeal, addition_id: int, new: NewAddition, question: Question | None
    ) -> None:
        text = self.notices.addition(appeal, new.text, len(new.files), question)
        await self._under_card(
            appeal, text, f"addition:{addition_id}", new.files, personal_purpose(appeal.id)
        )

    async def _under_card(
        self,
        appeal: Appeal,
        text: str,
        key: str,
        files: tuple[Attachment, ...] = (),
        purpose: str | None = None,
    ) -> None:
        """A message (and files) in the officials' chat as a reply to the appeal's card, so
        the chat reads it in the card's thread. `purpose`: what carries the citizen's words
        or files is found by /forget."""
        card = await self.officials.card_message(appeal)
        rows = self._under_card_rows(appeal, card, text, key, files, purpose)
        # One transaction: the text never goes out without its files. The keys make a second
        # posting of the same thing (a repeated «Done» mending a failed one) write nothing.
        if rows:
            await self.outbox.queue(rows)

    def _under_card_rows(
        self,
        appeal: Appeal,
        card: tuple[int, int] | None,
        text: str,
        key: str,
        files: tuple[Attachment, ...] = (),
        purpose: str | None = None,
    ) -> list[Outgoing]:
        """The rows of `_under_card`, under the card at `card` (its chat and message, None
        when it is not delivered yet: the text still names the appeal)."""
        chat = card[0] if card else appeal.officials_chat_id or self.officials.chat_for(appeal)
        if chat is None:
            log.warning("no officials chat for appeal %s: set OFFICIALS_CHAT_ID", appeal.reference)
            return []
        return self.notices.under_card(
            appeal, chat, card[1] if card else None, text, key, files, purpose
        )

    # --- what the citizen's screens read ---------------------------------------------------

    async def reference_of(self, appeal_id: int) -> str | None:
        """The appeal's registration number, for a screen that names it; None if it is gone."""
        appeal = await self.repo.get_appeal(appeal_id)
        return appeal.reference if appeal is not None else None

    def additions_per_day(self) -> int | None:
        """The daily limit of additions per citizen; None without limits."""
        return self.limits.additions_per_day if self.limits is not None else None
