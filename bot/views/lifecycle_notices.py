"""What withdrawing, adding to and asking about an appeal tell (`AppealLifecycle`), as outbox
rows and texts: `bot.services.notifiers.LifecycleNotices` for Telegram. The officials' chat
reads the officials' language; a question reaches the citizen in the appeal's."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.delivery.outbox import Outbox, question_key, under
from bot.telegram.callbacks import QuestionCb
from bot.views import lifecycle as view
from bot.views import notices
from i18n.core import PoI18n
from storage.lifecycle import Question
from storage.models import Appeal, Attachment
from storage.outbox import Outgoing


class LifecycleNotices:
    def __init__(self, rows: Outbox, i18n: PoI18n, officials_language: str) -> None:
        self.rows = rows  # builds the rows; the service queues them
        self.i18n = i18n
        self.officials_language = officials_language

    @contextmanager
    def speaking(self, lang: str) -> Iterator[None]:
        with self.i18n.context(), self.i18n.use_locale(lang):
            yield

    def question(self, appeal: Appeal, question: Question) -> list[Outgoing]:
        assert appeal.citizen_id is not None
        with self.speaking(appeal.language):
            notice = notices.question_notice(appeal.reference, question.text)
            markup = answer_keyboard(question.id)
        rows = []
        if question.file_id:
            rows.append(self.rows.message(
                appeal.citizen_id, "sendDocument",
                {"document": question.file_id, "caption": f"№ {appeal.reference}"},
                dedupe_key=f"question-file:{question.id}",
            ))  # fmt: skip
        rows.append(
            self.rows.text(
                appeal.citizen_id,
                notice,
                reply_markup=markup,
                dedupe_key=question_key(appeal.id, question.id),
            )
        )
        return rows

    def withdrawn(self, appeal: Appeal) -> str:
        with self.speaking(self.officials_language):
            return view.withdrawn_for_officials(appeal.reference)

    def addition(self, appeal: Appeal, text: str, files: int, question: Question | None) -> str:
        with self.speaking(self.officials_language):
            return view.addition_for_officials(appeal.reference, text, files, question)

    def under_card(
        self,
        appeal: Appeal,
        chat_id: int,
        card_message_id: int | None,
        text: str,
        key: str,
        files: Sequence[Attachment] = (),
        purpose: str | None = None,
    ) -> list[Outgoing]:
        # Without the card's message (not delivered yet) the text still names the appeal.
        extra = under(card_message_id)
        chat = chat_id  # the chat that holds the card
        rows = [self.rows.text(chat, text, dedupe_key=key, purpose=purpose, **extra)]
        caption = f"№ {appeal.reference}"
        photos = [f for f in files if f.kind == "photo"]
        documents = [f for f in files if f.kind != "photo"]
        if len(photos) > 1:
            media: list[dict[str, str]] = [{"type": "photo", "media": f.file_id} for f in photos]
            media[0]["caption"] = caption
            rows.append(self.rows.message(
                chat, "sendMediaGroup", {"media": media, **extra}, dedupe_key=f"{key}:photos",
                purpose=purpose,
            ))  # fmt: skip
        elif photos:
            rows.append(self.rows.message(
                chat, "sendPhoto", {"photo": photos[0].file_id, "caption": caption, **extra},
                dedupe_key=f"{key}:photos", purpose=purpose,
            ))  # fmt: skip
        for number, doc in enumerate(documents):
            rows.append(self.rows.message(
                chat, "sendDocument", {"document": doc.file_id, "caption": caption, **extra},
                dedupe_key=f"{key}:doc:{number}", purpose=purpose,
            ))  # fmt: skip
        return rows

    def retire_preview(self, chat_id: int, message_id: int, prompt_id: int) -> Outgoing:
        return retire_preview(self.rows, chat_id, message_id, prompt_id)


def retire_preview(rows: Outbox, chat_id: int, message_id: int, prompt_id: int) -> Outgoing:
    """A prompt's preview loses its buttons: its «Send» would only say "expired" or "no
    longer open" now."""
    return rows.message(
        chat_id,
        "editMessageReplyMarkup",
        {"message_id": message_id},
        dedupe_key=f"prompt-retired:{prompt_id}",
    )


def answer_keyboard(question_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("✍️ Answer"), callback_data=QuestionCb(question=question_id).pack()
                )
            ]
        ]
    )
