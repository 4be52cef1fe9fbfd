"""The officials' side of an appeal: where its card goes, who may act on it, and what each
action changes. Which status allows which action is the table's (bot.domain.status); what
an action tells people is rendered by the `OfficialsNotices` the composition root hands in
(bot.services.notifiers), and queued here in the transaction of the change. Telegram-free apart
from the membership lookup, which is handed in too."""

from __future__ import annotations

import calendar
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar, Protocol
from zoneinfo import ZoneInfo

from bot.delivery.outbox import unreached
from bot.domain.catalog import Catalog
from bot.domain.deadlines import WorkCalendar, extension_expects
from bot.domain.status import (
    ORIGINAL_STATUSES,
    Action,
    allows,
    answer_clears,
    comment_expects,
    may_rate,
    may_repeat,
    original_expects,
    rates_latest,
    rating_expects,
    rating_note,
    sources_for,
    verdict_sources,
)
from bot.services.digest import TextSender, officials_chats
from bot.services.notifiers import OfficialsNotices
from i18n.core import PoI18n
from storage.base import DependsOn, InTransaction, Repository
from storage.models import Appeal, HistoryNote, Outcome, Status
from storage.outbox import Outgoing
from storage.reports import ReportScope

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
MEMBER_STATUSES = frozenset({"creator", "administrator", "member"})
# Short, because a chat_member update (when Telegram sends one) is the real signal and a
# removed official must not keep acting for long when it does not come.
MEMBERSHIP_TTL = 60.0


class Sender(TextSender, Protocol):
    """The part of bot.delivery.outbox.Outbox the officials' side uses."""

    async def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        reply_markup: Any = None,
        dedupe_key: str | None = None,
        purpose: str | None = None,
        **extra: Any,  # more sendMessage parameters, e.g. reply_parameters
    ) -> list[int]: ...

    async def send(
        self,
        chat_id: int,
        method: str,
        payload: dict[str, Any],
        *,
        dedupe_key: str | None = None,
        purpose: str | None = None,
    ) -> int: ...

    def message(
        self,
        chat_id: int,
        method: str,
        payload: dict[str, Any],
        *,
        dedupe_key: str | None = None,
        purpose: str | None = None,
    ) -> Outgoing: ...

    async def queue(self, batches: Sequence[Outgoing]) -> list[int]: ...


MemberLookup = Callable[[int, int], Awaitable[str | None]]
# Finds where a message with this purpose was delivered: (chat id, message id).
MessageLocator = Callable[[str], Awaitable[tuple[int, int] | None]]
# The groups that became this supergroup (Telegram's migrate_to_chat_id), as recorded.
MigrationLookup = Callable[[int], Awaitable[list[int]]]


async def _no_migrations(chat_id: int) -> list[int]:
    return []


@dataclass(frozen=True)
class Official:
    id: int
    name: str


@dataclass(frozen=True)
class ActionResult:
    appeal: Appeal | None
    done: bool
    # Why not: "missing", "already" (someone finished it: see appeal.taken_by_name …), "closed",
    # "not_answered" (a rating of an appeal no official has answered), "outdated" (an
    # extension of a deadline another official extended meanwhile).
    reason: str = ""


class OfficialsService:
    def __init__(
        self,
        repo: Repository,
        catalog: Catalog,
        outbox: Sender,
        clock: Clock,
        i18n: PoI18n,
        *,
        default_chat: int | None,
        admin_ids: frozenset[int],
        language: str,
        tz: ZoneInfo,
        member_status: MemberLookup,
        locate: MessageLocator,
        notifier: OfficialsNotices,
        migrated_from: MigrationLookup = _no_migrations,
    ) -> None:
        self.repo = repo
        self.catalog = catalog
        self.outbox = outbox
        self.clock = clock
        self.i18n = i18n
        self.default_chat = default_chat
        self.admin_ids = admin_ids
        self.language = language
        self.tz = tz
        self.calendar = WorkCalendar.from_catalog(catalog)
        self._member_status = member_status
        self._locate = locate
        self.notifier = notifier
        self._members: dict[tuple[int, int], tuple[float, bool]] = {}
        self._migrated_from = migrated_from
        self._homes: dict[int, int] = {}  # supergroup id -> the officials' chat it was

    @contextmanager
    def speaking(self, lang: str) -> Iterator[None]:
        """Render in `lang`, inside an update or not (start-up, scheduler)."""
        with self.i18n.context(), self.i18n.use_locale(lang):
            yield

    # --- routing and publishing -------------------------------------------------------

    def forward_overdue(self, appeal: Appeal) -> bool:
        """APPK Art. 65: an appeal for another body is forwarded within 3 working days."""
        if appeal.status != Status.REGISTERED:
            return False
        today = self.clock().astimezone(self.tz).date()
        return self.calendar.working_days_between(appeal.registered_on, today) > 3

    def render_card(self, appeal: Appeal, *, full: bool = False) -> str:
        """The card's text in the current locale."""
        return self.notifier.card_text(
            appeal, full=full, forward_overdue=self.forward_overdue(appeal)
        )

    def chat_for(self, appeal: Appeal) -> int | None:
        routed = self.catalog.routed_chat(appeal.district, appeal.category)
        return routed if routed is not None else self.default_chat

    def officials_chats(self) -> list[int]:
        return officials_chats(self.default_chat, self.catalog)

    async def publish(self, appeal: Appeal) -> None:
        """Post the card, its files and its map pin. Safe to repeat: the outbox keeps one
        row per dedupe key, so a retried confirm or a start-up sweep posts nothing twice."""
        chat = appeal.officials_chat_id or self.chat_for(appeal)
        if chat is None:
            log.warning("no officials chat for appeal %s: set OFFICIALS_CHAT_ID", appeal.reference)
            return
        await self.outbox.queue(self.card_rows(appeal, chat))
        # Only once the card is queued: the start-up sweep looks for appeals without a chat,
        # so a crash between the two posts it again (deduplicated) instead of never.
        if appeal.officials_chat_id != chat:
            await self.repo.set_officials_chat(appeal.id, chat)
            appeal.officials_chat_id = chat

    def card_rows(self, appeal: Appeal, chat: int) -> list[Outgoing]:
        """The card and its files for one chat. One card per appeal and chat (a forwarded
        appeal gets a new one in the new chat); the purpose finds the latest wherever it is."""
        return self.notifier.card(appeal, chat, forward_overdue=self.forward_overdue(appeal))

    def new_card_payload(self, appeal: Appeal, chat: int) -> dict[str, Any]:
        """The sendMessage parameters of the card as `card_rows` posts it (for a card still
        waiting in the queue when what it shows changes)."""
        card = self.card_rows(appeal, chat)[0]
        return dict(card.messages[0].payload)

    async def publish_pending(self) -> int:
        """At start-up: cards a crash kept from being queued are queued now."""
        if not self.officials_chats():
            return 0
        pending = await self.repo.unpublished_appeals(limit=1000)
        for appeal in pending:
            await self.publish(appeal)
        return len(pending)

    async def card_message(self, appeal: Appeal) -> tuple[int, int] | None:
        return await self._locate(f"card:{appeal.id}")

    async def card_home(self, appeal_id: int) -> tuple[int, int] | None:
        """The appeal's card as `card_edit` edits it: the officials' chat it is in (under the
        chat's own id, `home_of`) and its message; None while it is not delivered."""
        card = await self._locate(f"card:{appeal_id}")
        return (await self.home_of(card[0]), card[1]) if card is not None else None

    async def card_shows(self, appeal: Appeal) -> None:
        """Edit the appeal's card, wherever it is, to the appeal as it is now."""
        card = await self.card_message(appeal)
        if card is not None:
            await self.refresh_card(appeal, *card)

    async def refresh_card(self, appeal: Appeal, chat_id: int, message_id: int) -> None:
        # Under the officials' chat's own id: the keyboard asks whether that chat holds the
        # appeal, and the outbox takes the row on to the supergroup it may have become.
        home = await self.home_of(chat_id)
        await self.outbox.queue([self.card_edit(appeal, home, message_id)])

    def card_edit(self, appeal: Appeal, chat_id: int, message_id: int) -> Outgoing:
        """The card's message edited to the appeal as it is now."""
        return self.notifier.card_edit(
            appeal, chat_id, message_id, forward_overdue=self.forward_overdue(appeal)
        )

    # --- who may act ------------------------------------------------------------------

    def holds(self, chat_id: int, appeal: Appeal) -> bool:
        """The chat the appeal is routed to now; a chat it was forwarded away from does not."""
        if appeal.officials_chat_id is not None:
            return appeal.officials_chat_id == chat_id
        return chat_id == (self.chat_for(appeal) or self.default_chat)

    async def home_of(self, chat_id: int) -> int:
        """The officials' chat (as OFFICIALS_CHAT_ID and the catalog name it, and as appeals,
        scopes and cards know it) that `chat_id` is: itself, or the group that Telegram made
        supergroup `chat_id` (a new id; recorded when the group's service message came or a
        send to the old id was answered with the new one). Any other chat is itself."""
        if chat_id > 0:
            return chat_id
        chats = self.officials_chats()
        if chat_id in chats:
            return chat_id
        home = self._homes.get(chat_id)
        if home is None:
            # Not cached when not found: a migration recorded later (by another instance's
            # sender) is seen at the next press; only strangers' groups ask again.
            home = next((c for c in await self._migrated_from(chat_id) if c in chats), None)
            if home is None:
                return chat_id
            self._homes[chat_id] = home
        return home

    async def may_act(self, chat_id: int, user_id: int, appeal: Appeal | None = None) -> bool:
        """Who may use officials' commands and buttons, and where (the one place this is
        decided). In private (positive chat ids are users): ADMIN_IDS only. In a group: only
        the officials' chats the catalog routes to (or the supergroups they became), only
        their current members, and on an appeal only in the chat it is routed to — a
        stranger's group never sees a card or a contact, and a department sees only its own
        appeals."""
        if chat_id > 0:
            return chat_id == user_id and user_id in self.admin_ids
        home = await self.home_of(chat_id)
        if home not in self.officials_chats():
            return False
        if appeal is not None and not self.holds(home, appeal):
            return False
        return await self.is_member(chat_id, user_id)

    async def is_member(self, chat_id: int, user_id: int) -> bool:
        cached = self._members.get((chat_id, user_id))
        now = time.monotonic()
        if cached and now - cached[0] < MEMBERSHIP_TTL:
            return cached[1]
        status = await self._member_status(chat_id, user_id)
        allowed = status in MEMBER_STATUSES
        self._members[(chat_id, user_id)] = (now, allowed)
        return allowed

    def membership_changed(self, chat_id: int, user_id: int) -> None:
        """A chat_member update: the next action asks Telegram again instead of trusting
        what was cached, so a removed official loses access at once."""
        self._members.pop((chat_id, user_id), None)

    async def may_export_contacts(self, chat_id: int, user_id: int) -> bool:
        """Every name and phone of a period in one file: administrators in private only. In
        a group the file would reach every member and stay in the chat after they leave."""
        return chat_id > 0 and await self.may_act(chat_id, user_id)

    async def scope_of(self, chat_id: int) -> ReportScope:
        """Which appeals a command in this chat may show: an admin in private sees all, an
        officials' chat its own (the default chat also those routed nowhere), under the id
        the appeals know it by (`home_of`)."""
        if chat_id > 0:
            return ReportScope(None, default_chat=False)
        home = await self.home_of(chat_id)
        return ReportScope(home, default_chat=home == self.default_chat)

    # --- actions ----------------------------------------------------------------------

    async def _change(
        self,
        appeal_id: int,
        allowed_from: frozenset[Status],
        new: Status,
        actor: str,
        notices: Callable[[Appeal], list[Outgoing]],
        note: str | None = None,
        *,
        actor_name: str | None = None,
        expect: Mapping[str, Any] | None = None,
        depends_on: DependsOn | None = None,
        **fields: Any,
    ) -> Appeal | None:
        """A status change, the messages it causes and the card's edit to show it, in one
        transaction: a crash or an error between them leaves none, so the next try does all
        (a citizen is never left without the answer an official was told was sent, nor the
        chat with a card showing the old status and the old buttons). The card edited is the
        appeal's latest, where it was before the change (a forward posts the new chat's card
        among `notices`); an edit made again is harmless («not modified» counts as done)."""
        # Read before the transaction: the change moves no card, and its writes are its own.
        card = await self.card_home(appeal_id)

        async def enqueue(conn: InTransaction, changed: Appeal) -> None:
            rows = notices(changed)
            if card is not None:
                rows = [*rows, self.card_edit(changed, *card)]
            await self.outbox.queue_in(conn, rows)

        changed = await self.repo.transition(
            appeal_id, allowed_from, new, actor, self.clock(), note,
            actor_name=actor_name, then=enqueue, expect=expect, depends_on=depends_on,
            **fields,
        )  # fmt: skip
        if changed is not None:
            self.outbox.poke()
        return changed

    async def take(self, appeal_id: int, official: Official) -> ActionResult:
        appeal = await self.repo.get_appeal(appeal_id)
        if appeal is None:
            return ActionResult(None, False, "missing")
        taken = await self._change(
            appeal_id,
            sources_for(Action.TAKE),
            Status.IN_PROGRESS,
            f"official:{official.id}",
            self.notifier.status_changed,
            actor_name=official.name,
            taken_by=official.id,
            taken_by_name=official.name,
        )
        if taken is None:
            return ActionResult(appeal, False, "already")
        return ActionResult(taken, True)

    async def answer(
        self,
        appeal_id: int,
        official: Official,
        outcome: Outcome,
        text: str,
        file_id: str | None = None,
    ) -> ActionResult:
        appeal = await self.repo.get_appeal(appeal_id)
        if appeal is None:
            return ActionResult(None, False, "missing")
        now = self.clock()
        answered = await self._change(
            appeal_id,
            sources_for(Action.ANSWER),
            Status.ANSWERED,
            f"official:{official.id}",
            self.notifier.answered,
            actor_name=official.name,
            note=outcome.value,
            answer_text=text,
            answer_outcome=outcome.value,
            answer_file_id=file_id,
            answered_at=now,
            **answer_clears(),
            answered_by=official.id,
            answered_by_name=official.name,
            taken_by_name=appeal.taken_by_name or official.name,
        )
        if answered is None:
            return ActionResult(appeal, False, "already")
        return ActionResult(answered, True)

    def latest_extension(self, appeal: Appeal) -> date:
        """APPK Art. 76(3): at most two months (the catalog's figure) from registration."""
        months = self.catalog.extension_max_months
        day = appeal.registered_on
        month = day.month - 1 + months
        year, month = day.year + month // 12, month % 12 + 1
        last = calendar.monthrange(year, month)[1]
        return date(year, month, min(day.day, last))

    def extension_problem(self, appeal: Appeal, new_due: date) -> str:
        """Why this new deadline cannot be set ("" if it can): "already" (the appeal is not
        open), "not_later", or "too_late" (past the two months of APPK Art. 76(3))."""
        if not allows(appeal.status, Action.EXTEND):
            return "already"
        if new_due <= appeal.due_at.astimezone(self.tz).date():
            return "not_later"
        if new_due > self.latest_extension(appeal):
            return "too_late"
        return ""

    async def find_original(
        self, appeal: Appeal, reference: str, chat_id: int, official_id: int
    ) -> Appeal | None:
        """The earlier appeal `appeal` repeats, by its number, as an official in `chat_id`
        may name it (`may_repeat`: the same citizen's, held where they act, still to be or
        already answered); None for anything else, as for a number that does not exist."""
        original = await self.repo.appeal_by_reference(reference.strip())
        if original is None:
            return None
        held_here = await self.may_act(chat_id, official_id, original)
        return original if may_repeat(appeal, original, held_here=held_here) else None

    async def extend(
        self,
        appeal_id: int,
        official: Official,
        new_due: date,
        reason: str,
        *,
        seen_due: datetime | None = None,
    ) -> ActionResult:
        """`seen_due`: the deadline the official was shown moving (an extension's preview);
        by default the one read here."""
        appeal = await self.repo.get_appeal(appeal_id)
        if appeal is None:
            return ActionResult(None, False, "missing")
        seen = seen_due or appeal.due_at
        problem = self.extension_problem(appeal, new_due)
        if problem:
            return ActionResult(appeal, False, problem)
        due_at = datetime.combine(new_due, self.catalog.working_time.end, tzinfo=self.tz)

        def notice(extended: Appeal) -> list[Outgoing]:
            return self.notifier.extended(extended, new_due, reason)

        # The status stays; as a "change" to itself it still goes into the history, only if
        # nobody moved the appeal meanwhile (the table allowed extending it in this status,
        # see extension_problem) nor extended it since it was read (the deadline this one
        # replaces: extension_expects), and commits with the citizen's notice.
        extended = await self._change(
            appeal_id,
            frozenset({appeal.status}),
            appeal.status,
            f"official:{official.id}",
            notice,
            note=f"extended to {new_due.isoformat()}: {reason}",
            actor_name=official.name,
            expect=extension_expects(seen),
            due_at=due_at,
            extension_reason=reason,
        )
        if extended is None:
            # Another official's extension won meanwhile ("outdated"), or the appeal moved on.
            now = await self.repo.get_appeal(appeal_id)
            if now is not None and allows(now.status, Action.EXTEND) and now.due_at != seen:
                return ActionResult(now, False, "outdated")
            return ActionResult(now or appeal, False, "already")
        return ActionResult(extended, True)

    async def forward(
        self, appeal_id: int, official: Official, department_code: str
    ) -> ActionResult:
        department = self.catalog.department(department_code)
        appeal = await self.repo.get_appeal(appeal_id)
        if appeal is None or department is None:
            return ActionResult(appeal, False, "missing")
        now = self.clock()
        # A department without a chat of its own is served by the appeal's usual chat.
        chat = department.chat_id or self.chat_for(appeal)
        if department.code == appeal.department and chat == appeal.officials_chat_id:
            # Where it already is (a picker from before the last forward, or a forged one).
            return ActionResult(appeal, False, "already")
        # The chat it leaves keeps its card (edited with the change); a chat it comes to,
        # even one it has been in before, gets a card of its own.
        moves = chat is not None and chat != appeal.officials_chat_id

        def card_and_notice(forwarded: Appeal) -> list[Outgoing]:
            cards = self.card_rows(forwarded, chat) if moves and chat is not None else []
            return [*cards, *self.notifier.status_changed(forwarded)]

        forwarded = await self._change(
            appeal_id,
            sources_for(Action.FORWARD),
            Status.FORWARDED,
            f"official:{official.id}",
            card_and_notice,
            actor_name=official.name,
            note=f"to {department.code}",
            department=department.code,
            officials_chat_id=chat,
            forwarded_at=now,
        )
        if forwarded is None:
            # Someone moved it meanwhile: the appeal as it is now says how.
            return ActionResult(await self.repo.get_appeal(appeal_id) or appeal, False, "already")
        return ActionResult(forwarded, True)

    async def mark_duplicate(
        self, appeal_id: int, official: Official, original_reference: str, *, chat_id: int
    ) -> ActionResult:
        """`chat_id`: where the official acts, which decides the originals they may name."""
        appeal = await self.repo.get_appeal(appeal_id)
        if appeal is None:
            return ActionResult(None, False, "missing")
        original = await self.find_original(appeal, original_reference, chat_id, official.id)
        if original is None:
            return ActionResult(appeal, False, "no_original")

        def notice(duplicate: Appeal) -> list[Outgoing]:
            return self.notifier.duplicate(duplicate, original.reference)

        # The original as `find_original` saw it is checked again in the transaction that
        # marks this one (`original_expects`): one withdrawn, marked a duplicate, erased or
        # forwarded away meanwhile is not named to the citizen.
        duplicate = await self._change(
            appeal_id,
            sources_for(Action.DUPLICATE),
            Status.DUPLICATE,
            f"official:{official.id}",
            notice,
            actor_name=official.name,
            note=f"duplicate of {original.reference}",
            depends_on=DependsOn(original.id, ORIGINAL_STATUSES, original_expects(original)),
            duplicate_of=original.id,
        )
        if duplicate is None:
            now = await self.repo.get_appeal(appeal_id)
            if now is not None and allows(now.status, Action.DUPLICATE):
                return ActionResult(now, False, "no_original")  # the original changed
            return ActionResult(now or appeal, False, "already")
        return ActionResult(duplicate, True)

    async def contact_viewed(self, appeal_id: int, official_id: int) -> None:
        """Who looked at a citizen's contact, and when, is kept."""
        await self.repo.record_contact_view(appeal_id, official_id, self.clock())

    # --- the citizen's word -----------------------------------------------------------

    async def citizen_says_solved(
        self, appeal_id: int, citizen_id: int, solved: str
    ) -> ActionResult:
        appeal = await self.repo.get_appeal(appeal_id)
        if appeal is None or appeal.citizen_id != citizen_id:
            return ActionResult(None, False, "missing")
        if appeal.status not in verdict_sources(solved=solved != "no") or appeal.solved:
            return ActionResult(appeal, False, "already")
        if solved == "no":
            # Not solved: the appeal goes back to work and the officials hear of it.
            changed = await self._change(
                appeal_id,
                verdict_sources(solved=False),
                Status.IN_PROGRESS,
                f"citizen:{citizen_id}",
                self.notifier.citizen_verdict,
                note="not solved",
                solved="no",
                feedback=None,  # the comment that follows is this reopening's, not an older one's
            )
        else:
            changed = await self._change(
                appeal_id,
                verdict_sources(solved=True),
                Status.CLOSED,
                f"citizen:{citizen_id}",
                self.notifier.citizen_verdict,
                note=f"solved: {solved}",
                solved=solved,
            )
        if changed is None:
            return ActionResult(appeal, False, "already")
        # «Not solved» puts it back to work: its card shows that, with its action buttons.
        await self.card_shows(changed)
        return ActionResult(changed, True)

    async def rate(
        self, appeal_id: int, citizen_id: int, rating: int, answer: int | None = None
    ) -> ActionResult:
        """`answer`: the answer the stars were shown for (`answer_mark`), None for stars
        that do not say (sent before they did)."""
        appeal = await self.repo.get_appeal(appeal_id)
        if appeal is None or appeal.citizen_id != citizen_id or not 1 <= rating <= 5:
            return ActionResult(None, False, "missing")
        answered_at, said = appeal.answered_at, appeal.solved is not None
        if not rates_latest(answer, answered_at):
            # An earlier answer's stars: the word on the latest answer is its own stars'.
            return ActionResult(appeal, False, "not_asked")
        if not may_rate(answered_at is not None, said=said, rated=bool(appeal.rating)):
            return ActionResult(appeal, False, _unrated(appeal))
        assert answered_at is not None  # may_rate says so

        async def tell_officials(conn: InTransaction, rated: Appeal) -> None:
            await self.outbox.queue_in(conn, self.notifier.citizen_verdict(rated))

        # "Not rated yet" is checked in the write; the history line and the officials' note
        # commit with it.
        line = HistoryNote(f"citizen:{citizen_id}", self.clock(), rating_note(rating))
        rated = await self.repo.update_if(
            appeal_id, rating_expects(answered_at), then=tell_officials, note=line, rating=rating
        )
        if rated is None:  # rated meanwhile, or answered anew: say which
            now = await self.repo.get_appeal(appeal_id)
            return ActionResult(now, False, _unrated(now) if now else "already")
        self.outbox.poke()
        await self.card_shows(rated)
        return ActionResult(rated, True)

    async def citizen_comment(self, appeal_id: int, citizen_id: int, comment: str) -> bool:
        """What the citizen says is still unsolved goes to the officials with the appeal: the
        comment and the note that tells them commit together (a crash or an error between
        them leaves neither, and the citizen's next try does both; a try run again, as a
        redelivered update is, writes the note nothing twice: its key is the reopening's).
        False when the officials answered again since the «not solved» it was asked for."""
        appeal = await self.repo.get_appeal(appeal_id)
        if appeal is None or appeal.citizen_id != citizen_id or appeal.solved != "no":
            return False

        async def tell_officials(conn: InTransaction, commented: Appeal) -> None:
            await self.outbox.queue_in(conn, self.notifier.citizen_comment(commented, comment))

        commented = await self.repo.update_if(
            appeal_id, comment_expects(appeal.answered_at), then=tell_officials, feedback=comment
        )
        if commented is None:  # answered anew meanwhile
            return False
        self.outbox.poke()
        return True

    async def undelivered_notes(self, citizen_id: int, keys: Iterable[str]) -> dict[str, Outgoing]:
        """The citizen blocked the bot, and the outbox gives up on the rows `keys` name: an
        official's answer or question among them never reaches them, though the officials
        were told it was sent. The note that tells the chat holding the appeal so, under the
        card (to reach the citizen another way), by the key of the row it tells of
        (`bot.delivery.outbox.unreached` decides which rows); the parts of one long answer
        share one note. The outbox writes them with the drop."""
        notes: dict[str, Outgoing] = {}
        made: dict[str, Outgoing] = {}
        for key in keys:
            what = unreached(key)
            if what is None:
                continue
            appeal = await self.repo.get_appeal(what.appeal_id)
            if appeal is None or appeal.citizen_id != citizen_id:
                continue
            chat = appeal.officials_chat_id or self.chat_for(appeal)
            if chat is None:
                continue
            card = await self.card_message(appeal)
            note = self.notifier.undelivered(appeal, what, chat, card[1] if card else None)
            notes[key] = made.setdefault(note.messages[0].dedupe_key or key, note)
        return notes

    # --- what the officials' commands read ---------------------------------------------------

    def main_chat(self) -> int | None:
        """The chat whose digest an administrator reads in private: the default one, or the
        first the catalog routes to."""
        return self.default_chat or next(iter(self.officials_chats()), None)

    async def find_for(self, chat_id: int, user_id: int, reference: str) -> Appeal | None:
        """/find: the appeal with this number if this person may see it in this chat;
        another chat's appeal is None, so not even whether it exists is told."""
        appeal = await self.repo.appeal_by_reference(reference)
        if appeal is None or not await self.may_act(chat_id, user_id, appeal):
            return None
        return appeal

    async def appeal_for(self, chat_id: int, user_id: int, appeal_id: int) -> Access:
        """A card's button: the appeal, or why this person may not act on it here."""
        if not await self.may_act(chat_id, user_id):
            return Access(None, Access.NOT_OFFICIAL)
        appeal = await self.repo.get_appeal(appeal_id)
        if appeal is None:
            return Access(None, Access.MISSING)
        if not await self.may_act(chat_id, user_id, appeal):
            return Access(appeal, Access.OTHER_CHAT)
        return Access(appeal)

    async def references(self, appeal_ids: Iterable[int]) -> dict[int, str]:
        """Registration numbers by appeal id (a booking about an appeal names it); an appeal
        that is gone is left out. One read for all of them: /receptions lists hundreds."""
        return await self.repo.appeal_references(set(appeal_ids))


def _unrated(appeal: Appeal) -> str:
    """Why a rating of `appeal` was refused: "not_answered" (no answer to rate: a forged
    button), "already" (its latest answer is rated), or "not_asked" (the citizen has not said
    whether its latest answer solved the problem: stars left from an earlier answer)."""
    if appeal.answered_at is None:
        return "not_answered"
    return "already" if appeal.rating else "not_asked"


@dataclass(frozen=True)
class Access:
    """Whether an official may act on an appeal from this chat; `refused` says why not."""

    NOT_OFFICIAL: ClassVar[str] = "not_official"  # not an official of this chat
    MISSING: ClassVar[str] = "missing"
    OTHER_CHAT: ClassVar[str] = "other_chat"  # the appeal belongs to another chat

    appeal: Appeal | None
    refused: str = ""
