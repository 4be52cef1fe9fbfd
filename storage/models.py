"""Plain records passed between storage, services and handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class Outcome(StrEnum):
    """How an answer ends: the law knows no "rejected" for an appeal it must accept."""

    SATISFIED = "satisfied"
    PARTLY = "partly"
    REFUSED = "refused"
    EXPLAINED = "explained"


class Status(StrEnum):
    REGISTERED = "registered"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    CLOSED = "closed"
    FORWARDED = "forwarded"
    WITHDRAWN = "withdrawn"
    DUPLICATE = "duplicate"


@dataclass(slots=True)
class Citizen:
    id: int
    language: str | None
    consent_at: datetime | None = None
    full_name: str | None = None
    phone: str | None = None
    unreachable: bool = False


@dataclass(frozen=True, slots=True)
class HistoryNote:
    """A line in an appeal's history that keeps its status: who, when, and what (a note
    bot.domain.history reads back)."""

    actor: str
    at: datetime
    note: str


@dataclass(frozen=True, slots=True)
class Attachment:
    kind: str  # "photo" | "document"
    file_id: str
    file_name: str | None = None


@dataclass(slots=True)
class NewAppeal:
    """What the citizen confirmed; `draft_key` makes a repeated confirm idempotent."""

    draft_key: str
    citizen_id: int
    kind: str
    category: str
    region: str
    district: str
    text: str
    contact_name: str
    contact_phone: str
    language: str
    created_at: datetime
    registered_on: date
    due_at: datetime
    attachments: list[Attachment] = field(default_factory=list)
    latitude: float | None = None
    longitude: float | None = None
    contact_address: str | None = None  # for a written answer: an e-mail or a postal address
    contact_address_kind: str | None = None  # "email" | "postal"


@dataclass(slots=True)
class Appeal:
    id: int
    reference: str
    citizen_id: int | None
    kind: str
    category: str
    region: str
    district: str
    text: str | None
    language: str
    status: Status
    created_at: datetime
    registered_on: date
    due_at: datetime
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_address: str | None = None
    contact_address_kind: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    answer_text: str | None = None
    answered_at: datetime | None = None
    answer_outcome: str | None = None
    answer_file_id: str | None = None
    officials_chat_id: int | None = None
    department: str | None = None
    forwarded_at: datetime | None = None  # the latest forward's; each forward is told anew
    taken_by: int | None = None
    taken_by_name: str | None = None
    answered_by_name: str | None = None
    extension_reason: str | None = None
    duplicate_of: int | None = None
    solved: str | None = None
    rating: int | None = None
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def erased(self) -> bool:
        """The citizen used /forget: no contact, no text, nobody to tell."""
        return self.citizen_id is None
