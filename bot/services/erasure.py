"""/forget: the citizen's personal data goes, from the database and from officials' chats.
Telegram-free; the rules, in one place:

- the database: `storage.erasure.ErasureStore.erase` (what is erased, anonymised, kept);
- the texts the akimat keeps (the official's answer, an extension's reason) lose the
  citizen's name, phone and address wherever they quote them (`redact`);
- the card in each officials' chat is edited to its erased version (text and contact gone);
- everything else the bot posted there with the citizen's data (the card's files and map pin,
  what the citizen added or answered, their comments, copies of the card from «📄 Show all»
  and /find) is deleted. Telegram lets a bot delete a message for 48 hours only: an older
  text is edited into a note that the data was erased, an older file gets a caption asking
  the officials to delete it, and the chat is told what stays (a map pin cannot be edited);
- a booked place goes back to others first (and to the waiting list).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from bot.delivery.outbox import Outbox
from bot.services.notifiers import ErasureNotices
from bot.services.officials import OfficialsService
from storage.erasure import (
    Cleanup,
    ErasedAppeal,
    ErasureStore,
    Identifiers,
    Posted,
)
from storage.outbox import Outgoing

MASK = "***"
# Bot API deleteMessage: only within 48 hours of sending. An hour of margin for the queue
# ahead of the deletion in the chat (20 messages a minute to a group).
DELETABLE_FOR = timedelta(hours=47)
DELETE_MANY = 100  # deleteMessages takes 1-100 ids
# A name word this long is masked with any ending (Иван: Ивану, Ивановичу), and from this
# length on its last letter may change too (Асель: Асели); shorter ones only whole.
PREFIX_FROM = 4
STEM_FROM = 5
_SEPARATORS = r"[\s\-().]*"


def redact(text: str, who: Identifiers) -> str:
    """`text` without the citizen's name, phone or address in it.

    A name is matched by each of its words, in any case and with any ending (Иванов,
    Иванову, Ивановым; Асель, Асельге), so a word is masked from its stem; a phone in any
    layout of its ten digits (+7 701 234 56 78, 8 (701) 234-56-78); an address as typed.
    Over-masking an ordinary word that shares a name's stem is the accepted cost."""
    for pattern in _patterns(who):
        text = pattern.sub(MASK, text)
    return text


def _patterns(who: Identifiers) -> list[re.Pattern[str]]:
    patterns = [re.compile(re.escape(a), re.IGNORECASE) for a in who.addresses if a.strip()]
    for phone in who.phones:
        digits = re.sub(r"\D", "", phone)[-10:]
        if len(digits) == 10:
            body = _SEPARATORS.join(digits)
            patterns.append(re.compile(rf"(?<!\d)(?:\+?\s*7|8)?{_SEPARATORS}{body}(?!\d)"))
    words = {w for name in who.names for w in re.findall(r"[^\W\d_]+", name) if len(w) >= 3}
    for word in sorted(words, key=len, reverse=True):
        stem = word[:-1] if len(word) >= STEM_FROM else word
        tail = r"\w*" if len(word) >= PREFIX_FROM else r"(?!\w)"
        patterns.append(re.compile(rf"(?<!\w){re.escape(stem)}{tail}", re.IGNORECASE))
    return patterns


class CitizenErasure:
    def __init__(
        self,
        store: ErasureStore,
        officials: OfficialsService,
        outbox: Outbox,
        give_back_places: Callable[[int], Awaitable[None]],
        notices: ErasureNotices,
    ) -> None:
        self.notices = notices  # the rows that clean a chat (bot.views.erasure_notices)
        self.store = store
        self.officials = officials
        self.outbox = outbox
        self.give_back_places = give_back_places

    async def forget(self, citizen_id: int) -> int:
        """Erase the citizen's personal data; returns how many appeals were anonymised."""
        # Places they held go back to others (and to the waiting list) before the rows
        # lose the citizen.
        await self.give_back_places(citizen_id)
        erased = await self.store.erase(citizen_id, self.outbox.clock(), redact, self.cleanup)
        self.outbox.poke()
        return len(erased)

    async def copy_posted(self, appeal_id: int, chat_id: int, message_ids: Sequence[int]) -> None:
        """The card was posted directly in a chat (📄 Show all, /find): /forget must find it."""
        await self.store.record_copy(appeal_id, chat_id, message_ids, self.outbox.clock())

    def cleanup(self, erased: Sequence[ErasedAppeal]) -> Cleanup:
        """Inside the erasing transaction: the rows that clean the officials' chats."""
        cleanup = Cleanup()
        now = self.outbox.clock()
        with self.officials.speaking(self.officials.language):
            for item in erased:
                self._clean(item, now, cleanup)
        return cleanup

    def _clean(self, erased: ErasedAppeal, now: datetime, cleanup: Cleanup) -> None:
        appeal = erased.appeal
        for row_id, chat in erased.unsent_cards:
            cleanup.cards[row_id] = self.officials.new_card_payload(appeal, chat)
        by_chat: dict[int, list[Posted]] = defaultdict(list)
        for one in erased.posted:
            by_chat[one.chat_id].append(one)
        for chat, posted in by_chat.items():
            cleanup.rows += self._clean_chat(erased, chat, posted, now)
        for preview in erased.previews:
            cleanup.rows.append(self.notices.retire_preview(preview.chat_id, preview.message_id))

    def _clean_chat(
        self, erased: ErasedAppeal, chat: int, posted: list[Posted], now: datetime
    ) -> list[Outgoing]:
        appeal = erased.appeal
        rows = [
            self.officials.card_edit(appeal, chat, p.message_ids[0])
            for p in posted
            if p.kind == "card"
        ]
        fresh = [i for p in posted if p.kind != "card" and now - p.sent_at < DELETABLE_FOR
                 for i in p.message_ids]  # fmt: skip
        for start in range(0, len(fresh), DELETE_MANY):
            ids = fresh[start : start + DELETE_MANY]
            rows.append(self.notices.delete(chat, ids))
        stale = [p for p in posted if p.kind != "card" and now - p.sent_at >= DELETABLE_FOR]
        left = 0
        for old in stale:
            for message_id in old.message_ids:
                if old.kind == "text":
                    rows.append(self.notices.tombstone(chat, message_id, appeal.reference))
                elif old.kind == "media":
                    rows.append(self.notices.file_tombstone(chat, message_id, appeal.reference))
                    left += 1
                else:
                    left += 1  # a map pin can be neither edited nor deleted any more
        if left:
            card = next((p.message_ids[0] for p in posted if p.kind == "card"), None)
            rows.append(self.notices.left_behind(chat, appeal.reference, left, card))
        return rows
