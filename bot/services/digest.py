"""The officials' daily digest: yesterday's appeals and answers, ratings, and what is overdue or
due soon, for one officials chat, sent once a day (docs/architecture.md → Digest)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Protocol

from bot.domain.catalog import Catalog
from bot.domain.deadlines import WorkCalendar
from bot.domain.digest import (
    CHART_KIND,
    CHART_WEEKS,
    DUE_SOON_WORKING_DAYS,
    LIST_LIMIT,
    RATING_DAYS,
    DigestData,
    DueSoonItem,
    OverdueItem,
    WeeklyChart,
)
from bot.domain.status import OPEN_STATUSES
from bot.services.notifiers import DigestRenderer
from storage.base import InTransaction
from storage.digest import DigestQueries, OpenAppeals, local_day_bounds
from storage.outbox import Outgoing

log = logging.getLogger(__name__)


class TextSender(Protocol):
    """The part of bot.delivery.outbox.Outbox the digest uses."""

    async def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        reply_markup: Any = None,
        dedupe_key: str | None = None,
        purpose: str | None = None,
    ) -> list[int]: ...

    def text(
        self,
        chat_id: int,
        text: str,
        *,
        reply_markup: Any = None,
        dedupe_key: str | None = None,
        purpose: str | None = None,
    ) -> Outgoing: ...

    async def queue_in(self, conn: InTransaction, batches: Sequence[Outgoing]) -> list[int]: ...

    def poke(self) -> None: ...


def digest_key(chat_id: int, day: date) -> str:
    return f"digest:{chat_id}:{day.isoformat()}"


class RenderedRows(Protocol):
    """The part of bot.delivery.outbox.Outbox the weekly chart uses: a row that stores numbers
    and is drawn when sent."""

    def rendered(
        self,
        chat_id: int,
        method: str,
        kind: str,
        data: Mapping[str, Any],
        *,
        dedupe_key: str | None = None,
        purpose: str | None = None,
        not_before: datetime | None = None,
        **extra: Any,
    ) -> Outgoing: ...


def chart_key(chat_id: int, day: date) -> str:
    return f"{digest_key(chat_id, day)}:chart"


def chart_weeks(today: date, weeks: int = CHART_WEEKS) -> list[date]:
    """The Mondays of the last `weeks` full weeks (Monday to Sunday) before `today`'s week."""
    this_monday = today - timedelta(days=today.weekday())
    return [this_monday - timedelta(weeks=weeks - i) for i in range(weeks)]


def officials_chats(default_chat_id: int | None, catalog: Catalog) -> list[int]:
    """Every chat that receives appeals: the default one and those the catalog routes to."""
    chats = [default_chat_id] if default_chat_id is not None else []
    chats += [*catalog.route_districts.values(), *catalog.route_categories.values()]
    chats += [d.chat_id for d in catalog.departments]
    return list(dict.fromkeys(chats))


# service


class DigestService:
    def __init__(
        self,
        queries: DigestQueries,
        outbox_sender: TextSender,
        render: DigestRenderer,
        calendar: WorkCalendar,
        tz: tzinfo,
        digest_time: time,
        lang: str,
        chats: Callable[[], list[int]],
        *,
        default_chat_id: int | None = None,
        today_section: Callable[[date, str], Awaitable[str | None]] | None = None,
        polls_section: Callable[[int, date, bool], Awaitable[str | None]] | None = None,
        chart_weekday: int | None = None,
        chart_rows: RenderedRows | None = None,
    ) -> None:
        self.queries = queries
        self.sender = outbox_sender
        self.render = render  # the officials' HTML (bot.views.digest)
        self.calendar = calendar
        self.tz = tz
        self.digest_time = digest_time
        self.lang = lang  # today's receptions are told in it
        self.chats = chats
        # Appeals without a chat of their own (no routing then) are counted in this chat.
        self.default_chat_id = default_chat_id
        # Today's receptions, when the bot has them; shown in the default chat's digest.
        self.today_section = today_section
        # The results of the polls closed on the reported day: (chat, day, default chat?).
        self.polls_section = polls_section
        # The weekday (Monday 0) whose digest carries the weekly chart; None: never.
        self.chart_weekday = chart_weekday
        self.chart_rows = chart_rows  # the outbox, for the chart's row

    def report_day(self, now: datetime) -> date:
        """The local day a digest built at `now` reports on: yesterday."""
        return now.astimezone(self.tz).date() - timedelta(days=1)

    async def collect(self, chat_id: int, day: date, now: datetime) -> DigestData:
        default = chat_id == self.default_chat_id
        q = self.queries
        start, end = local_day_bounds(day, self.tz)
        counts = await q.day_counts(chat_id, start, end, default_chat=default)
        answered = await q.answered_stats(chat_id, start, end, default_chat=default)
        rating = await q.rating_stats(
            chat_id, now - timedelta(days=RATING_DAYS), now, default_chat=default
        )
        overdue = await q.open_due(
            chat_id, statuses=OPEN_STATUSES, before=now, default_chat=default, limit=LIST_LIMIT
        )
        today = now.astimezone(self.tz).date()
        # Today counts too: what falls due this evening is the most urgent of all.
        horizon = self.calendar.add_working_days(today, DUE_SOON_WORKING_DAYS)
        due_soon = await q.open_due(
            chat_id,
            statuses=OPEN_STATUSES,
            not_before=now,
            before=local_day_bounds(horizon, self.tz)[1],
            default_chat=default,
            limit=LIST_LIMIT,
        )
        return DigestData(
            day=day,
            new_total=counts.total,
            by_category=tuple(counts.by_category.items()),
            by_district=tuple(counts.by_district.items()),
            by_status=tuple(counts.by_status.items()),
            answered=answered.answered,
            answered_on_time=answered.on_time,
            rating_average=rating.average,
            rating_count=rating.count,
            overdue=self._overdue_items(overdue, today),
            overdue_total=overdue.total,
            due_soon=tuple(
                DueSoonItem(r.reference, r.due_at.astimezone(self.tz).date(), r.department)
                for r in due_soon.rows
            ),
            due_soon_total=due_soon.total,
        )

    def _overdue_items(self, found: OpenAppeals, today: date) -> tuple[OverdueItem, ...]:
        # Calendar days, as the citizen's own list counts them, so both sides quote the same
        # number; a deadline that passed this evening already counts as one day.
        return tuple(
            OverdueItem(
                r.reference,
                max(1, (today - r.due_at.astimezone(self.tz).date()).days),
                r.department,
            )
            for r in found.rows
        )

    async def build(self, chat_id: int, day: date, now: datetime) -> str:
        data = await self.collect(chat_id, day, now)
        section = None
        if self.today_section is not None and chat_id == self.default_chat_id:
            section = await self.today_section(day + timedelta(days=1), self.lang)
        text = self.render(data, section)
        if self.polls_section is not None:
            polls = await self.polls_section(chat_id, day, chat_id == self.default_chat_id)
            if polls:
                text = f"{text}\n\n{polls}"
        return text

    async def send_now(self, chat_id: int, now: datetime) -> list[int]:
        """On request (/digest): yesterday's digest right away, as often as asked; the daily
        one is still sent, since asking does not claim it."""
        day = self.report_day(now)
        text = await self.build(chat_id, day, now)
        return await self.sender.send_text(chat_id, text, purpose=f"digest:{chat_id}")

    async def tick(self, now: datetime) -> list[int]:
        """Send each chat's digest once its time has come today; the chats it sent to.

        Only the day before today is ever reported: a bot down all day skips that digest
        rather than sending a stale one the morning after."""
        local = now.astimezone(self.tz)
        if local.time() < self.digest_time:
            return []
        day = local.date() - timedelta(days=1)
        sent = []
        for chat_id in dict.fromkeys(self.chats()):
            try:
                if await self._send_once(chat_id, day, now):
                    sent.append(chat_id)
            except Exception:
                # One chat's failure must not starve the others; the claim was given back.
                log.exception("digest for chat %s, day %s failed; retrying next tick", chat_id, day)
        return sent

    async def _send_once(self, chat_id: int, day: date, now: datetime) -> bool:
        # A read first: every tick after the morning finds the claim, and a read is cheaper
        # than building a digest whose claim would be refused.
        if await self.queries.claimed(chat_id, day):
            return False
        text = await self.build(chat_id, day, now)
        digest = [
            self.sender.text(
                chat_id, text, dedupe_key=digest_key(chat_id, day), purpose=f"digest:{chat_id}"
            )
        ]
        digest += await self._chart_rows(chat_id, day, now)

        async def enqueue(conn: InTransaction) -> None:
            await self.sender.queue_in(conn, digest)

        # The claim and the outbox row commit together: a crash or an error between them
        # leaves neither, and the next tick (or instance) builds the digest again.
        if not await self.queries.claim(chat_id, day, now, then=enqueue):
            return False
        self.sender.poke()
        log.info("digest for chat %s, day %s queued", chat_id, day)
        return True

    # weekly chart

    async def weekly_chart(self, chat_id: int, today: date) -> WeeklyChart:
        """The numbers of the chart sent with `today`'s digest: the last CHART_WEEKS full
        weeks, in this chat's scope (its own appeals, the default chat also the unrouted)."""
        weeks = chart_weeks(today)
        bounds = [local_day_bounds(w, self.tz)[0] for w in weeks]
        bounds.append(local_day_bounds(weeks[-1] + timedelta(days=7), self.tz)[0])
        counts = await self.queries.weekly_counts(
            chat_id, bounds, default_chat=chat_id == self.default_chat_id
        )
        codes = sorted({code for _period, code in counts.created})
        span = range(len(weeks))
        return WeeklyChart(
            weeks=tuple(weeks),
            by_category=tuple(
                (code, tuple(counts.created.get((i, code), 0) for i in span)) for code in codes
            ),
            answered=tuple(counts.answered.get(i, 0) for i in span),
            on_time=tuple(counts.on_time.get(i, 0) for i in span),
        )

    async def _chart_rows(self, chat_id: int, day: date, now: datetime) -> list[Outgoing]:
        """The chart's row after the digest's, on the chart's weekday: the numbers only; the
        sender draws the picture (bot.views.digest_chart). None for a chat with nothing to
        show in all those weeks."""
        today = day + timedelta(days=1)
        if self.chart_rows is None or today.weekday() != self.chart_weekday:
            return []
        chart = await self.weekly_chart(chat_id, today)
        if chart.is_empty:
            return []
        data = {"chart": chart.to_payload(), "lang": self.lang}
        row = self.chart_rows.rendered(
            chat_id, "sendPhoto", CHART_KIND, data, dedupe_key=chart_key(chat_id, day)
        )
        return [row]

    async def send_copy(self, recipient: int, chat_id: int, now: datetime) -> list[int]:
        """/digest in private: an administrator reads `chat_id`'s digest where they asked."""
        text = await self.build(chat_id, self.report_day(now), now)
        return await self.sender.send_text(recipient, text)
