"""What the admins are told, in private, when an officials' group refuses the bot (it was
kicked, or is not a member): the group's cards and notices wait for it, parked in the outbox
(`bot.delivery.sender`), and someone has to add the bot back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aiogram.utils.i18n import gettext as _

from bot.delivery.outbox import Outbox
from bot.delivery.sender import RefusalAlerts
from bot.views.common import html
from i18n.core import PoI18n
from storage.outbox import Outgoing


def refusal_alerts(
    outbox: Outbox, i18n: PoI18n, admin_ids: Iterable[int], language: str
) -> RefusalAlerts:
    """The alerts for `OutboxSender`: one private message to each of ADMIN_IDS, in the
    officials' language."""
    admins = sorted(set(admin_ids))

    def alerts(chat_id: int, error: str) -> Sequence[Outgoing]:
        with i18n.context(), i18n.use_locale(language):
            text = _(
                "⚠️ Telegram does not let the bot post in the officials' chat {chat}: {error}\n"
                "New appeals and notices for this chat are kept, not lost. Add the bot to the "
                "chat again and they will be sent there."
            ).format(chat=chat_id, error=html(error))
        return [outbox.text(admin, text) for admin in admins]

    return alerts
