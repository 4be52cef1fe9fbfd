"""What services need from the Telegram side, as interfaces (Protocols) the composition root
fills in: a service says what happened, an implementation outside bot/services renders it.

`OfficialsNotifier` is implemented by `bot.telegram.officials_notifier.BotOfficialsNotifier`.
Its methods build outbox rows and write nothing: the service queues them itself, inside the
transaction of the status change they report where there is one, so the change and what it
tells people commit together or not at all."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from storage.models import Appeal
from storage.outbox import Outgoing


class OfficialsNotifier(Protocol):
    """Renders the officials' side of an appeal: its card, and what each action tells the
    citizen and the officials' chat. `forward_overdue` is the service's rule (APPK Art. 65),
    shown on the card."""

    def card_text(self, appeal: Appeal, *, full: bool, forward_overdue: bool) -> str:
        """The card's text in the current locale (a caller that is not in an update sets
        it)."""
        ...

    def card(self, appeal: Appeal, chat_id: int, *, forward_overdue: bool) -> list[Outgoing]:
        """A new card in `chat_id`, then its photos, documents and map pin."""
        ...

    def card_edit(
        self, appeal: Appeal, chat_id: int, message_id: int, *, forward_overdue: bool
    ) -> Outgoing:
        """The card's message edited to the appeal as it is now."""
        ...

    def status_changed(self, appeal: Appeal) -> list[Outgoing]:
        """The citizen hears of the appeal's new status (a forward: where to)."""
        ...

    def answered(self, appeal: Appeal) -> list[Outgoing]:
        """The official's answer (and its file) for the citizen, asking whether it solved
        the problem."""
        ...

    def extended(self, appeal: Appeal, new_due: date, reason: str) -> list[Outgoing]:
        """The citizen hears of the new deadline and why."""
        ...

    def duplicate(self, appeal: Appeal, original_reference: str) -> list[Outgoing]:
        """The citizen hears that the appeal repeats an earlier one."""
        ...

    def citizen_verdict(self, appeal: Appeal) -> list[Outgoing]:
        """The officials' chat hears what the citizen said of the answer: solved or not,
        or the rating."""
        ...

    def citizen_comment(self, appeal: Appeal, comment: str) -> list[Outgoing]:
        """The officials' chat gets the citizen's comment on an unsolved answer."""
        ...
