"""The officials' side of an appeal as outbox rows (`OfficialsService`):
`bot.services.notifiers.OfficialsNotices` for Telegram. Cards and notes to the officials'
chats read the officials' language, what reaches the citizen the appeal's. The dedupe keys
and purposes are the ones the outbox and /forget rely on: one card per appeal and chat, one
answer per answering, and so on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from zoneinfo import ZoneInfo

from bot.delivery.outbox import Outbox, Unreached, answer_key, under
from bot.domain.catalog import Catalog
from bot.views import card as card_view
from bot.views import notices
from bot.views import officials as officials_view
from bot.views.common import html
from bot.views.feedback import solved_keyboard
from i18n.core import PoI18n
from storage.erasure import card_edit_purpose, card_purpose, personal_purpose
from storage.models import Appeal
from storage.outbox import Outgoing


def since_forward(appeal: Appeal) -> str:
    """What a key adds for an appeal forwarded at least once: its latest forward's time. An
    appeal may be passed on again (a department takes it, then finds it another's), even
    back to a chat it has been in, and each forward is a new card there and a new notice to
    the citizen, not the first forward's, already sent, that the outbox would keep as one."""
    return f":{appeal.forwarded_at.isoformat()}" if appeal.forwarded_at is not None else ""


class OfficialsNotices:
    def __init__(
        self, rows: Outbox, i18n: PoI18n, catalog: Catalog, *, language: str, tz: ZoneInfo
    ) -> None:
        self.rows = rows  # builds the rows; the service queues them
        self.i18n = i18n
        self.catalog = catalog
        self.language = language  # the officials' language: cards and notes to their chats
        self.tz = tz

    @contextmanager
    def speaking(self, lang: str) -> Iterator[None]:
        """Render in `lang`, inside an update or not (start-up, scheduler)."""
        with self.i18n.context(), self.i18n.use_locale(lang):
            yield

    # --- the card -------------------------------------------------------------------------

    def card_text(self, appeal: Appeal, *, full: bool, forward_overdue: bool) -> str:
        return card_view.card_text(
            appeal, self.catalog, self.language, full=full, forward_overdue=forward_overdue
        )

    def card(self, appeal: Appeal, chat_id: int, *, forward_overdue: bool) -> list[Outgoing]:
        """One card per appeal and chat (a forwarded appeal gets a new one in the new chat);
        the purpose finds the latest wherever it is."""
        with self.speaking(self.language):
            text = "🆕 " + self.card_text(appeal, full=False, forward_overdue=forward_overdue)
            markup = card_view.card_keyboard(appeal, self.catalog, chat_id)
        card = self.rows.text(
            chat_id,
            text,
            reply_markup=markup,
            dedupe_key=f"card:{appeal.id}:{chat_id}{since_forward(appeal)}",
            purpose=card_purpose(appeal.id),
        )
        return [card, *self._file_rows(chat_id, appeal)]

    def card_edit(
        self, appeal: Appeal, chat_id: int, message_id: int, *, forward_overdue: bool
    ) -> Outgoing:
        with self.speaking(self.language):
            text = self.card_text(appeal, full=False, forward_overdue=forward_overdue)
            markup = card_view.card_keyboard(appeal, self.catalog, chat_id)
        return self.rows.message(
            chat_id,
            "editMessageText",
            {
                "message_id": message_id,
                "text": text,
                "parse_mode": "HTML",
                "reply_markup": markup.model_dump(mode="json", exclude_none=True),
            },
            purpose=card_edit_purpose(appeal.id),
        )

    def _file_rows(self, chat_id: int, appeal: Appeal) -> list[Outgoing]:
        """Under the card: its photos, documents and map pin (`personal_purpose`: /forget
        finds and deletes them)."""
        caption = f"№ {appeal.reference}"
        purpose = personal_purpose(appeal.id)
        photos = [a for a in appeal.attachments if a.kind == "photo"]
        documents = [a for a in appeal.attachments if a.kind != "photo"]
        rows: list[Outgoing] = []
        if len(photos) > 1:
            media = [{"type": "photo", "media": a.file_id} for a in photos]
            media[0]["caption"] = caption
            rows.append(
                self.rows.message(
                    chat_id,
                    "sendMediaGroup",
                    {"media": media},
                    dedupe_key=f"photos:{appeal.id}:{chat_id}{since_forward(appeal)}",
                    purpose=purpose,
                )
            )
        elif photos:
            rows.append(
                self.rows.message(
                    chat_id,
                    "sendPhoto",
                    {"photo": photos[0].file_id, "caption": caption},
                    dedupe_key=f"photos:{appeal.id}:{chat_id}{since_forward(appeal)}",
                    purpose=purpose,
                )
            )
        for i, doc in enumerate(documents):
            rows.append(
                self.rows.message(
                    chat_id,
                    "sendDocument",
                    {"document": doc.file_id, "caption": caption},
                    dedupe_key=f"doc:{appeal.id}:{i}:{chat_id}{since_forward(appeal)}",
                    purpose=purpose,
                )
            )
        if appeal.latitude is not None and appeal.longitude is not None:
            rows.append(
                self.rows.message(
                    chat_id,
                    "sendLocation",
                    {"latitude": appeal.latitude, "longitude": appeal.longitude},
                    dedupe_key=f"pin:{appeal.id}:{chat_id}{since_forward(appeal)}",
                    purpose=purpose,
                )
            )
        return rows

    # --- to the citizen, in the language of the appeal --------------------------------------

    def status_changed(self, appeal: Appeal) -> list[Outgoing]:
        if appeal.citizen_id is None:
            return []
        with self.speaking(appeal.language):
            text = notices.status_notice(appeal, self.catalog, self.tz)
        key = f"status:{appeal.id}:{appeal.status}{since_forward(appeal)}"
        return [self.rows.text(appeal.citizen_id, text, dedupe_key=key)]

    def answered(self, appeal: Appeal) -> list[Outgoing]:
        """The answer goes to the citizen in the language of the appeal, as the law asks."""
        if appeal.citizen_id is None:
            return []
        with self.speaking(appeal.language):
            text = notices.answer_notice(
                appeal.reference, appeal.answer_outcome, appeal.answer_text or ""
            )
            markup = solved_keyboard(appeal.id)
        rows: list[Outgoing] = []
        if appeal.answer_file_id:
            rows.append(
                self.rows.message(
                    appeal.citizen_id,
                    "sendDocument",
                    {"document": appeal.answer_file_id, "caption": f"№ {appeal.reference}"},
                    dedupe_key=f"answer-file:{appeal.id}:{appeal.answered_at}",
                )
            )
        rows.append(
            self.rows.text(
                appeal.citizen_id,
                text,
                reply_markup=markup,
                dedupe_key=answer_key(appeal.id, appeal.answered_at),
            )
        )
        return rows

    def extended(self, appeal: Appeal, new_due: date, reason: str) -> list[Outgoing]:
        if appeal.citizen_id is None:
            return []
        with self.speaking(appeal.language):
            text = notices.extension_notice(appeal.reference, new_due, reason, appeal.language)
        return [
            self.rows.text(appeal.citizen_id, text, dedupe_key=f"extended:{appeal.id}:{new_due}")
        ]

    def duplicate(self, appeal: Appeal, original_reference: str) -> list[Outgoing]:
        if appeal.citizen_id is None:
            return []
        with self.speaking(appeal.language):
            text = notices.duplicate_notice(appeal.reference, original_reference)
        return [self.rows.text(appeal.citizen_id, text, dedupe_key=f"duplicate:{appeal.id}")]

    # --- to the officials' chat ------------------------------------------------------------

    def citizen_verdict(self, appeal: Appeal) -> list[Outgoing]:
        chat = appeal.officials_chat_id
        if chat is None:
            return []
        with self.speaking(self.language):
            text = officials_view.citizen_verdict_text(appeal)
        return [self.rows.text(chat, text)]

    def citizen_comment(self, appeal: Appeal, comment: str) -> list[Outgoing]:
        chat = appeal.officials_chat_id
        if chat is None:
            return []
        with self.speaking(self.language):
            heading = officials_view.citizen_comment_heading(appeal.reference)
        # A key of its own: a long comment goes in parts, and /forget finds the earlier
        # parts by it (only the last part carries the purpose). One comment per reopening
        # (a «not solved» on an answer): the same comment written again is one note.
        return [
            self.rows.text(
                chat,
                f"{heading}\n{html(comment)}",
                dedupe_key=f"comment:{appeal.id}:{appeal.answered_at}",
                purpose=personal_purpose(appeal.id),
            )
        ]

    def undelivered(
        self, appeal: Appeal, what: Unreached, chat_id: int, card_message_id: int | None
    ) -> Outgoing:
        with self.speaking(self.language):
            if what.kind == Unreached.QUESTION:
                text = officials_view.question_undelivered_text(appeal.reference)
                key = f"undelivered:question:{what.item}"
            else:
                text = officials_view.answer_undelivered_text(appeal.reference)
                key = f"undelivered:{appeal.id}:{appeal.answered_at}"
        return self.rows.text(chat_id, text, dedupe_key=key, **under(card_message_id))
