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
alert that answers the press cannot be shown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.delivery.outbox import Outbox, build_method, to_json
from bot.telegram.menu import main_menu
from storage.base import DatabaseBusy, InTransaction
from storage.outbox import NewMessage, OutboxStore

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
    def __init__(self, outbox: Outbox, store: OutboxStore, grace: timedelta) -> None:
        self.outbox = outbox
        self.store = store
        self.grace = grace

    async def store_in(self, conn: InTransaction, confirmation: Confirmation) -> None:
        """Inside the transaction that stores what is confirmed."""
        payload = {
            "text": confirmation.text,
            "parse_mode": "HTML",
            "reply_markup": to_json(main_menu()),
        }
        build_method("sendMessage", confirmation.chat_id, payload)  # fail here, not in the sender
        message = NewMessage("sendMessage", payload, confirmation.purpose, confirmation.purpose)
        now = self.outbox.clock()
        await self.store.add_in(
            conn, confirmation.chat_id, message, now=now, not_before=now + self.grace
        )
        # The sender may be asleep until a later row: it reads the table once this commits.
        self.outbox.wakeup.set()

    async def shown(self, confirmation: Confirmation) -> None:
        """The citizen sees the confirmation and has the main menu: the row is not needed."""
        try:
            await self.store.withdraw(confirmation.purpose, "shown directly", self.outbox.clock())
        except DatabaseBusy:
            # The row goes out when its grace is over: the citizen may read the number twice.
            log.warning("confirmation %s left for its due time: database locked", confirmation.key)

    async def menu_only(self, confirmation: Confirmation) -> None:
        """The citizen sees the confirmation but not the main menu: the row brings it now."""
        payload = {
            "text": _("You are back in the main menu."),
            "parse_mode": "HTML",
            "reply_markup": to_json(main_menu()),
        }
        await self._bring_forward(confirmation, payload)

    async def not_shown(self, confirmation: Confirmation) -> None:
        """The card could not be edited: the row goes out now, as it is."""
        await self._bring_forward(confirmation, None)

    async def _bring_forward(
        self, confirmation: Confirmation, payload: dict[str, object] | None
    ) -> None:
        try:
            changed = await self.store.bring_forward(
                confirmation.purpose, self.outbox.clock(), payload
            )
        except DatabaseBusy:
            log.warning("confirmation %s left for its due time: database locked", confirmation.key)
            return
        if changed:
            self.outbox.wakeup.set()


async def show(
    message: Message,
    confirmation: Confirmation,
    confirmations: Confirmations,
    *,
    again: bool = False,
) -> None:
    """Edit the review card into the confirmation and bring the main menu back; what
    Telegram refuses, the outbox sends. `again`: a confirm pressed again, where the menu
    came already, unless the row still waits to bring it."""
    try:
        await message.edit_text(confirmation.text, reply_markup=None)
    except TelegramAPIError as exc:
        log.warning("confirmation %s goes by the outbox: %r", confirmation.key, exc)
        await confirmations.not_shown(confirmation)
        return
    if again:
        await confirmations.menu_only(confirmation)
        return
    try:
        await message.answer(_("You are back in the main menu."), reply_markup=main_menu())
    except TelegramAPIError as exc:
        log.warning("main menu after %s goes by the outbox: %r", confirmation.key, exc)
        await confirmations.menu_only(confirmation)
        return
    await confirmations.shown(confirmation)


async def forget_draft(state: FSMContext) -> None:
    """Leave the dialog once its confirm is stored. If the database refuses now, the dialog
    stays at its review, whose confirm gives the stored appeal or booking back (the draft's
    key): worth a log line, not a failed step."""
    try:
        await state.clear()
    except DatabaseBusy:
        log.warning("draft kept after a confirm: database locked")
