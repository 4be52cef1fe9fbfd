"""/stats and /export: figures for a period and the spreadsheet officials report from. The
figures are computed here (in the report worker: `bot.services.report_jobs`);
`bot.views.reports` renders them and writes the workbook."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from bot.domain.reports import MeetingStats, Stats
from storage.models import Status
from storage.reports import EVERYTHING, PeriodAppeal, PeriodMeeting, ReportQueries, ReportScope

MAX_DAYS = 366


def parse_days(args: str | None, default: int = 30) -> int | None:
    """`/stats`, `/stats 7`; None for anything that is not 1…366 days."""
    text = (args or "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_DAYS:
        return None
    return int(text)


@dataclass(frozen=True)
class ExportArgs:
    days: int
    full: bool  # full names and phones instead of masked ones


def parse_export(args: str | None) -> ExportArgs | None:
    """`/export`, `/export 7`, `/export full`, `/export full 7` (or `7 full`); None for
    anything else."""
    words = (args or "").split()
    full = [w for w in words if w.lower() == "full"]
    rest = [w for w in words if w.lower() != "full"]
    if len(full) > 1 or len(rest) > 1:
        return None
    days = parse_days(rest[0] if rest else None)
    return ExportArgs(days, bool(full)) if days is not None else None


def compute_stats(appeals: list[PeriodAppeal], days: int) -> Stats:
    created = [datetime.fromisoformat(a.row["created_at"]) for a in appeals]
    first_actions = [a.first_action_at - c for a, c in zip(appeals, created, strict=True)
                     if a.first_action_at]  # fmt: skip
    answers = [a.answered_at - c for a, c in zip(appeals, created, strict=True) if a.answered_at]
    in_time = sum(
        1 for a in appeals
        if a.answered_at and a.answered_at <= datetime.fromisoformat(a.row["due_at"])
    )  # fmt: skip
    ratings = [a.row["rating"] for a in appeals if a.row["rating"]]
    return Stats(
        days=days,
        total=len(appeals),
        by_status=[
            (Status(s), n) for s, n in Counter(a.row["status"] for a in appeals).most_common()
        ],
        by_category=Counter(a.row["category"] for a in appeals).most_common(),
        median_first_action=median_duration(first_actions),
        median_answer=median_duration(answers),
        answered=len(answers),
        answered_in_time=in_time,
        average_rating=sum(ratings) / len(ratings) if ratings else None,
        ratings=len(ratings),
    )


def compute_meeting_stats(meetings: list[PeriodMeeting]) -> MeetingStats | None:
    """The meetings with residents of the period (issue #13); None when there were none.
    Who said they come, how many came, their needs and questions count for the meetings
    held, not for those called off."""
    if not meetings:
        return None
    held = [m for m in meetings if not m.row["meeting_cancelled_at"]]
    access: Counter[str] = Counter()
    by_topic: Counter[str | None] = Counter()
    for m in held:
        access.update(m.access)
        topics = json.loads(m.row["meeting_topics"] or "[]")
        for index, count in m.questions.items():
            known = index is not None and 0 <= index < len(topics)
            by_topic[topics[index] if known else None] += count
    entered = [m.row["meeting_attended"] for m in held if m.row["meeting_attended"] is not None]
    return MeetingStats(
        held=len(held),
        cancelled=len(meetings) - len(held),
        registered=sum(m.registered for m in held),
        attended=sum(int(n) for n in entered),
        attended_entered=len(entered),
        access=dict(access),
        questions=sum(by_topic.values()),
        by_topic=sorted(by_topic.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or "")),
    )


def median_duration(durations: list[timedelta]) -> timedelta | None:
    """statistics.median works on timedeltas too, but is typed for numbers only."""
    if not durations:
        return None
    seconds = median(d.total_seconds() for d in durations)
    return timedelta(seconds=seconds)


def period_bounds(days: int, now: datetime) -> tuple[datetime, datetime]:
    """[since, until) of `/stats days` and `/export days`: the last `days`, now included."""
    return now - timedelta(days=days), now + timedelta(seconds=1)


async def period_appeals(
    queries: ReportQueries, days: int, now: datetime, scope: ReportScope = EVERYTHING
) -> list[PeriodAppeal]:
    return await queries.period(*period_bounds(days, now), scope)
