"""Polls (issue #13): the citizens' votes and the closing at the end time.

A poll goes out as an announcement (`bot.services.outreach.AnnouncementService.send`, kind
«poll»): a native Telegram poll per subscriber, not anonymous to the bot, through the outbox.
Telegram tells the bot each vote in a poll_answer naming the poll; `answer` finds whom that
poll was sent to (`storage.polls.PollStore.recipient`) and counts it by the rules of
`bot.domain.polls`: one vote per citizen, a change replaces it, a retraction removes it, and
nothing counts after the end time. A vote on a copy of the poll forwarded to someone else
(Telegram reports it under the same poll) is not the recipient's and is not counted.

At the end time the scheduler's tick closes the poll (`tick`): one transaction claims it,
drops its messages not sent yet, and queues a stopPoll for every poll message Telegram took
and the results for every recipient who still follows one of its districts, all as bulk
outbox rows. The claim is in the database, so a restart or a second instance closes it once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from bot.delivery.outbox import Outbox
from bot.domain.announcements import MeetingTime, parse_meeting_time
from bot.domain.polls import VoteAction, judge_vote
from bot.services.notifiers import PollMessages
from bot.services.reports import period_bounds
from storage.base import InTransaction
from storage.digest import local_day_bounds
from storage.outreach import AnnouncementStore
from storage.polls import PollResults, PollStore, SentPoll
from storage.reports import ReportScope

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Counted:
    """What a poll_answer did."""

    action: VoteAction | None  # None: not a poll of ours, or not this citizen's
    announcement_id: int | None = None


class PollService:
    def __init__(
        self,
        store: PollStore,
        announcements: AnnouncementStore,
        outbox: Outbox,
        clock: Clock,
        tz: tzinfo,
        messages: PollMessages,
    ) -> None:
        self.store = store
        self.announcements = announcements
        self.outbox = outbox
        self.clock = clock
        self.tz = tz
        self.messages = messages

    def closes(self, raw: str | None) -> MeetingTime:
        """When the official says the poll closes, in the akimat's time zone, checked to be
        ahead (the format of a meeting's time)."""
        return parse_meeting_time(raw, self.clock().astimezone(self.tz))

    def passed(self, closes_at: datetime) -> bool:
        """The end time, ahead when it was given (`closes`), has come since: a poll sent now
        would be closed by the next tick with its messages still going out."""
        return closes_at <= self.clock()

    async def answer(self, poll_id: str, user_id: int, option_ids: Sequence[int]) -> Counted:
        """A poll_answer: count, replace or remove the citizen's vote."""
        recipient = await self.store.recipient(poll_id)
        if recipient is None or recipient.citizen_id != user_id:
            # A copy forwarded to someone else, or a poll whose sending was never recorded
            # (sent again after a crash: README "Reliability"): not counted.
            log.info("poll_answer on poll %s by %s: not a poll of ours to them", poll_id, user_id)
            return Counted(None)
        poll = await self.announcements.get(recipient.announcement_id)
        if poll is None or poll.poll is None:
            return Counted(None)
        now = self.clock()
        decision = judge_vote(
            option_ids, len(poll.poll.options_ru), now, poll.poll.closes_at,
            poll.poll.closed_at is not None,
        )  # fmt: skip
        action = decision.action
        if action is VoteAction.CAST and decision.option is not None:
            if not await self.store.cast(recipient, decision.option, now):
                action = VoteAction.LATE  # closed meanwhile
        elif action is VoteAction.RETRACT:
            await self.store.retract(recipient, now)
        log.info("poll %s: citizen %s %s", poll.id, user_id, action.value)
        return Counted(action, poll.id)

    async def tick(self, now: datetime) -> list[int]:
        """Close every poll whose end time has come; the polls this call closed."""
        closed = []
        for poll_id in await self.store.due(now):
            try:
                if await self.close(poll_id, now):
                    closed.append(poll_id)
            except Exception:
                # One poll's failure must not keep the others open; nothing of it was written.
                log.exception("poll %s could not be closed; retrying next tick", poll_id)
        return closed

    async def close(self, poll_id: int, now: datetime) -> PollResults | None:
        async def write(conn: InTransaction, results: PollResults, sent: Sequence[SentPoll]) -> int:
            rows = [self.messages.stop(results.poll, s) for s in sent]
            rows += [self.messages.results(results, s) for s in sent if s.follows]
            return len(await self.outbox.queue_in(conn, rows, bulk=True))

        results = await self.store.close(poll_id, now, write)
        if results is not None:
            self.outbox.poke()
            log.info("poll %s closed: %d votes", poll_id, sum(v[2] for v in results.votes))
        return results

    async def results(self, poll_id: int) -> PollResults | None:
        return await self.store.results(poll_id)

    async def of_period(self, days: int, scope: ReportScope) -> list[PollResults]:
        """The polls of /stats `days` and /export `days`: open at some moment of the last
        `days` (closing within them or later), within `scope`: every poll for the default
        chat and an administrator in private, otherwise those sent from the chat."""
        return await self.between(*period_bounds(days, self.clock()), scope)

    async def between(
        self, since: datetime, until: datetime, scope: ReportScope
    ) -> list[PollResults]:
        """The polls open at some moment of [since, until): none is created after `until`
        (the periods end now)."""
        return await self.store.running_since(since, chat_of(scope))

    async def digest_section(self, chat_id: int, day: date, default_chat: bool) -> str | None:
        """The results of the polls closed on the local `day`, for that day's digest: in the
        default chat every poll, in another chat those sent from it; None without any."""
        start, end = local_day_bounds(day, self.tz)
        closed = await self.store.closed_between(start, end, None if default_chat else chat_id)
        return self.messages.digest(closed) if closed else None


def chat_of(scope: ReportScope) -> int | None:
    """The chat whose polls a report shows; None: all of them."""
    return None if scope.chat_id is None or scope.default_chat else scope.chat_id
