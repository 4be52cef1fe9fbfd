"""Tells an officials' chat that a prompt expired (`OfficialPrompts.tick`): rendered in the
officials' language as outbox rows, which the service writes in the expiry's transaction (it
happens on the scheduler's tick, outside any update). The `on_expired` notifier `bot.app`
hands `OfficialPrompts`."""

from __future__ import annotations

from bot.delivery.outbox import Outbox, under
from bot.views import prompts as view
from bot.views.lifecycle_notices import retire_preview
from i18n.core import PoI18n
from storage.outbox import Outgoing
from storage.prompts import Prompt


class PromptExpiryNotice:
    def __init__(self, outbox: Outbox, i18n: PoI18n, officials_language: str) -> None:
        self.outbox = outbox  # builds the rows; the service writes them with the expiry
        self.i18n = i18n
        self.officials_language = officials_language

    def __call__(self, prompt: Prompt, reference: str | None) -> list[Outgoing]:
        with self.i18n.context(), self.i18n.use_locale(self.officials_language):
            text = view.expired_text(reference or "—")
        rows = [
            self.outbox.text(
                prompt.chat_id,
                text,
                dedupe_key=f"prompt-expired:{prompt.id}",
                **under(prompt.message_id),
            )
        ]
        if prompt.preview_message_id is not None:
            # The preview's «Send» would only say "expired" now; take the buttons away.
            rows.append(
                retire_preview(self.outbox, prompt.chat_id, prompt.preview_message_id, prompt.id)
            )
        return rows
