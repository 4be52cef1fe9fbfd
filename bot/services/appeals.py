"""Filing an appeal: from the citizen's confirmed draft to a stored, dated appeal."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from bot.domain.catalog import Catalog
from bot.domain.deadlines import DeadlinePolicy
from bot.domain.limits import DailyLimits
from bot.domain.status import is_open
from bot.services.confirmations import Confirmation, Confirmations
from storage.base import DatabaseBusy, InTransaction, Repository
from storage.models import Appeal, Attachment, NewAppeal

Clock = Callable[[], datetime]
# The citizen's confirmation of an appeal: (reference, kind code, due time) -> HTML text.
Render = Callable[[str, str, datetime], str]
log = logging.getLogger(__name__)


class Publisher(Protocol):
    async def publish(self, appeal: Appeal) -> None: ...


DRAFT_FIELDS = ("kind", "category", "region", "district", "text", "contact_name", "contact_phone")


def registration(
    chat_id: int, reference: str, kind: str, due_at: datetime, render: Render
) -> Confirmation:
    """What tells the citizen their appeal is registered, keyed by its reference."""
    return Confirmation(chat_id, f"appeal:{reference}", render(reference, kind, due_at))


class IncompleteDraft(Exception):
    def __init__(self, missing: list[str]) -> None:
        super().__init__(", ".join(missing))
        self.missing = missing


class DailyLimitReached(Exception):
    """The citizen has filed as many appeals as a day allows (`bot.domain.limits`); the draft is
    not filed, and is kept."""

    def __init__(self, reopens_at: datetime) -> None:
        super().__init__(reopens_at.isoformat())
        self.reopens_at = reopens_at


@dataclass(frozen=True)
class Filed:
    appeal: Appeal
    created: bool  # False when this draft had been filed already (a repeated confirm)


@dataclass(frozen=True)
class AppealsPage:
    """One page of a citizen's appeals, newest first; `page` counts from 0."""

    appeals: list[Appeal]
    page: int
    pages: int


class AppealService:
    def __init__(
        self,
        repo: Repository,
        catalog: Catalog,
        policy: DeadlinePolicy,
        clock: Clock,
        publisher: Publisher | None = None,
        confirmations: Confirmations | None = None,
        limits: DailyLimits | None = None,
    ) -> None:
        self.repo = repo
        self.catalog = catalog
        self.policy = policy
        self.clock = clock
        self.publisher = publisher
        self.confirmations = confirmations
        self.limits = limits

    async def next_filing_at(self, citizen_id: int) -> datetime | None:
        """None when the citizen may file an appeal now, else when they may."""
        return await self.limits.next_appeal_at(citizen_id) if self.limits else None

    def missing_fields(self, draft: dict[str, Any]) -> list[str]:
        missing = [f for f in DRAFT_FIELDS if not draft.get(f)]
        if draft.get("kind") and self.catalog.kind(draft["kind"]) is None:
            missing.append("kind")
        if draft.get("category") and self.catalog.category(draft["category"]) is None:
            missing.append("category")
        return missing

    async def file(
        self,
        citizen_id: int,
        language: str,
        draft: dict[str, Any],
        confirmation: Render | None = None,
    ) -> Filed:
        """Store the draft as an appeal, once: the draft key makes a repeat return the first.
        With `confirmation`, the citizen's confirmation is queued in the same transaction
        (`bot.services.confirmations`), so no crash can leave an appeal whose citizen never
        hears its number. Publishing to the officials is idempotent too, so a repeat also mends a
        publication that a crash cut short. A new draft past the day's limit raises
        DailyLimitReached."""
        filed = await self._store(citizen_id, language, draft, confirmation)
        if self.publisher is not None:
            try:
                await self.publisher.publish(filed.appeal)
            except DatabaseBusy:
                # The appeal is registered and the citizen must hear so; the card is queued
                # by the next confirm press or the start-up sweep (publish_pending).
                reference = filed.appeal.reference
                log.error("appeal %s stored, its card not queued: database locked", reference)
        return filed

    async def _store(
        self,
        citizen_id: int,
        language: str,
        draft: dict[str, Any],
        confirmation: Render | None = None,
    ) -> Filed:
        previous = await self.repo.appeal_by_draft(draft["draft_key"])
        if previous is not None:
            return Filed(previous, created=False)
        missing = self.missing_fields(draft)
        if missing:
            raise IncompleteDraft(missing)
        # After the draft's own check: a repeated confirm of a filed draft is no new appeal.
        # The check and the insert are not one transaction; the citizen's updates run one at
        # a time (event isolation), which is what keeps two confirms from both passing.
        reopens_at = await self.next_filing_at(citizen_id)
        if reopens_at is not None:
            raise DailyLimitReached(reopens_at)
        kind = self.catalog.kind(draft["kind"])
        assert kind is not None
        now = self.clock()
        deadline = self.policy.deadline(kind, now)

        async def confirm(conn: InTransaction, reference: str) -> None:
            if confirmation is None or self.confirmations is None:
                return
            await self.confirmations.store_in(
                conn, registration(citizen_id, reference, kind.code, deadline.due_at, confirmation)
            )

        appeal, created = await self.repo.create_appeal(
            NewAppeal(
                draft_key=draft["draft_key"],
                citizen_id=citizen_id,
                kind=kind.code,
                category=draft["category"],
                region=draft["region"],
                district=draft["district"],
                text=draft["text"],
                contact_name=draft["contact_name"],
                contact_phone=draft["contact_phone"],
                contact_address=draft.get("contact_address"),
                contact_address_kind=draft.get("contact_address_kind"),
                language=language,
                created_at=now,
                registered_on=deadline.registered_on,
                due_at=deadline.due_at,
                attachments=[Attachment(**a) for a in draft.get("attachments", [])],
                latitude=draft.get("latitude"),
                longitude=draft.get("longitude"),
            ),
            also=confirm,
        )
        if confirmation is not None and self.confirmations is not None:
            self.confirmations.committed()
        return Filed(appeal, created)

    def local_today(self) -> date:
        return self.clock().astimezone(self.policy.tz).date()

    def days_left(self, appeal: Appeal) -> int:
        """Calendar days until the due date (negative when overdue), as citizens count."""
        return (appeal.due_at.astimezone(self.policy.tz).date() - self.local_today()).days

    # --- what the citizen's screens read ---------------------------------------------------

    def now(self) -> datetime:
        return self.clock()

    async def page_of(self, citizen_id: int, page: int, size: int) -> AppealsPage | None:
        """The citizen's appeals on `page` (a page out of range shows the nearest one, as an
        old «next» button may point past the end); None when they have none."""
        total = await self.repo.count_citizen_appeals(citizen_id)
        if total == 0:
            return None
        pages = -(-total // size)
        page = min(max(page, 0), pages - 1)
        rows = await self.repo.citizen_appeals(citizen_id, size, page * size)
        return AppealsPage(rows, page, pages)

    async def own_appeal(self, appeal_id: int, citizen_id: int) -> Appeal | None:
        """The appeal if it is this citizen's: a forged id and someone else's appeal are
        both None, so neither says whether it exists."""
        appeal = await self.repo.get_appeal(appeal_id)
        return appeal if appeal is not None and appeal.citizen_id == citizen_id else None

    async def filed_from(self, draft_key: str) -> Appeal | None:
        """The appeal a confirmed draft made, for a confirm pressed again."""
        return await self.repo.appeal_by_draft(draft_key) if draft_key else None

    def appeals_per_day(self) -> int | None:
        """The daily limit of new appeals per citizen; None without limits."""
        return self.limits.appeals_per_day if self.limits is not None else None

    async def open_appeals_of(self, citizen_id: int, newest: int = 20) -> list[Appeal]:
        """The citizen's open appeals among their `newest`, newest first (a booking may be
        about one)."""
        appeals = await self.repo.citizen_appeals(citizen_id, limit=newest, offset=0)
        return [a for a in appeals if is_open(a.status)]
