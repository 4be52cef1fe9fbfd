"""The rows that clean an officials' chat after /forget (`CitizenErasure` decides which
message gets which): `bot.services.notifiers.ErasureNotices` for Telegram. Called in the
officials' locale."""

from __future__ import annotations

from collections.abc import Sequence

from bot.delivery.outbox import Outbox, under
from bot.views import erasure as view
from storage.outbox import Outgoing


class ErasureNotices:
    def __init__(self, rows: Outbox) -> None:
        self.rows = rows  # builds the rows; the service queues them in the erasing transaction

    def delete(self, chat_id: int, message_ids: Sequence[int]) -> Outgoing:
        return self.rows.message(chat_id, "deleteMessages", {"message_ids": list(message_ids)})

    def tombstone(self, chat_id: int, message_id: int, reference: str) -> Outgoing:
        payload = {
            "message_id": message_id,
            "text": view.tombstone(reference),
            "parse_mode": "HTML",
        }
        return self.rows.message(chat_id, "editMessageText", payload)

    def file_tombstone(self, chat_id: int, message_id: int, reference: str) -> Outgoing:
        caption = view.file_tombstone(reference)
        payload = {"message_id": message_id, "caption": caption, "parse_mode": "HTML"}
        return self.rows.message(chat_id, "editMessageCaption", payload)

    def left_behind(
        self, chat_id: int, reference: str, count: int, card_message_id: int | None
    ) -> Outgoing:
        return self.rows.text(chat_id, view.left_behind(reference, count), **under(card_message_id))

    def retire_preview(self, chat_id: int, message_id: int) -> Outgoing:
        # The preview's «Send» would only say the appeal is gone.
        return self.rows.message(chat_id, "editMessageReplyMarkup", {"message_id": message_id})
