"""Tells an officials' chat that a prompt expired: rendered in the officials' language and
queued in the outbox, because it happens on the scheduler's tick, outside any update."""

from __future__ import annotations

from bot.delivery.outbox import Outbox
from bot.services.officials import OfficialsService
from bot.views import prompts as view
from storage.models import Appeal
from storage.prompts import Prompt


class PromptExpiryNotice:
    def __init__(self, officials: OfficialsService, outbox: Outbox) -> None:
        self.officials = officials
        self.outbox = outbox

    async def __call__(self, prompt: Prompt, appeal: Appeal | None) -> None:
        with self.officials.speaking(self.officials.language):
            text = view.expired_text(appeal.reference if appeal else "—")
        await self.outbox.send_text(
            prompt.chat_id,
            text,
            reply_parameters={"message_id": prompt.message_id, "allow_sending_without_reply": True},
            dedupe_key=f"prompt-expired:{prompt.id}",
        )
        if prompt.preview_message_id is not None:
            # The preview's «Send» would only say "expired" now; take the buttons away.
            await self.outbox.send(
                prompt.chat_id,
                "editMessageReplyMarkup",
                {"message_id": prompt.preview_message_id},
                dedupe_key=f"prompt-retired:{prompt.id}",
            )
