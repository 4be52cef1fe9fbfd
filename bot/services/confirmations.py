"""The confirmation a citizen must see after pressing confirm (an appeal's registration
number, a booked place) reaches them whatever happens once the confirm is stored.

It is an outbox row written in the same transaction as what it confirms, due `grace` later,
carrying the whole confirmation and the main menu. The handler shows it at once by editing
the review card into it (one call, safe to repeat: `bot.telegram.session.RetryPolicy` tries it again
through 429s and 5xx), then sends the main menu (a reply keyboard cannot ride on an edited
inline message). Then:

- both went through: the row is withdrawn;
- the edit went through, the menu did not: the row becomes the menu and goes out now;
- the edit failed for good: the row goes out now, as it is;
- the process died in between: the row goes out when the grace is over, after the restart.

The direct calls come first because the outbox keeps Telegram's overall pace for everyone:
behind a backlog of notifications the row could take minutes, the direct edit takes one
round trip. A confirm pressed again (a double tap, an old review card, a redelivered update)
edits the card into the confirmation again, so the number reaches the citizen even when the
alert that answers the press cannot be shown. The handlers' half (the edit, the menu) is in
`bot.telegram.confirmations`; the payloads come from `bot.views.confirmations`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.delivery.outbox import Outbox
from bot.services.notifiers import ConfirmationMessages
from storage.base import DatabaseBusy, InTransaction
from storage.outbox import OutboxStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Confirmation:
    chat_id: int
    key: str  # what it confirms, e.g. "appeal:2026-00001" or "booking:17"
    text: str  # HTML

    @property
    def purpose(self) -> str:
        return f"confirmation:{self.key}"


class Confirmations:
    def __init__(
        self,
        outbox: Outbox,
        store: OutboxStore,
        grace: timedelta,
        messages: ConfirmationMessages,
    ) -> None:
        self.outbox = outbox
        self.store = store
        self.grace = grace
        self.messages = messages  # the payloads, with the main menu (bot.views.confirmations)

    async def store_in(self, conn: InTransaction, confirmation: Confirmation) -> None:
        """Inside the transaction that stores what is confirmed; call `committed` after it
        has committed."""
        row = self.outbox.message(
            confirmation.chat_id,
            "sendMessage",
            self.messages.confirmation(confirmation.text),
            dedupe_key=confirmation.purpose,
            purpose=confirmation.purpose,
            not_before=self.outbox.clock() + self.grace,
        )
        await self.outbox.queue_in(conn, [row])

    def committed(self) -> None:
        """The transaction holding a confirmation has committed: the sender, perhaps asleep
        until a later row, reads the table now (a wake-up before the commit would find
        nothing)."""
        self.outbox.poke()

    async def shown(self, confirmation: Confirmation) -> None:
        """The citizen sees the confirmation and has the main menu: the row is not needed."""
        try:
            await self.store.withdraw(confirmation.purpose, "shown directly", self.outbox.clock())
        except DatabaseBusy:
            # The row goes out when its grace is over: the citizen may read the number twice.
            log.warning("confirmation %s left for its due time: database locked", confirmation.key)

    async def menu_only(self, confirmation: Confirmation) -> None:
        """The citizen sees the confirmation but not the main menu: the row brings it now."""
        await self._bring_forward(confirmation, dict(self.messages.back_in_menu()))

    async def not_shown(self, confirmation: Confirmation) -> None:
        """The card could not be edited: the row goes out now, as it is."""
        await self._bring_forward(confirmation, None)

    async def _bring_forward(
        self, confirmation: Confirmation, payload: dict[str, Any] | None
    ) -> None:
        try:
            changed = await self.store.bring_forward(
                confirmation.purpose, self.outbox.clock(), payload
            )
        except DatabaseBusy:
            log.warning("confirmation %s left for its due time: database locked", confirmation.key)
            return
        if changed:
            self.outbox.poke()
