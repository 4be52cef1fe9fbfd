"""Delivers the outbox: one background task takes due rows and sends them through the Bot.

Telegram's limits are kept on our side (global, per private chat, per group) so that 429s stay
rare; the ones that still come, 5xx and network failures reschedule the row in the database,
which is what makes a retry survive a restart. Nothing here ever gives up on a row Telegram might
still take: rows are dropped only when Telegram says they can never be delivered.

Rows come in the store's order, every other due row before the bulk ones (a broadcast's), and
the sender keeps it: bulk rows are paced at `BULK_PER_SECOND` within the global limit and never
take the last `IN_FLIGHT_KEPT` sends in flight, so a card or an answer queued while thousands
of announcements go out is sent at the next free slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from html import unescape
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod
from pydantic import ValidationError

from bot.delivery.outbox import RENDER_KEY, Outbox, RecipientGone, build_method, unreached
from storage.outbox import OutboxRow, OutboxStore, Outgoing

log = logging.getLogger(__name__)

# With nothing scheduled we still look now and then: another process may share the database.
IDLE_POLL = 30.0
# After the loop itself failed (database locked, disk full…): pause instead of spinning.
ERROR_PAUSE = 1.0
MIN_WAIT = 0.001
# Idle per-chat limiters are forgotten past this many, so memory follows active chats only.
PRUNE_ABOVE = 1000
TRANSIENT = (TelegramServerError, TelegramNetworkError, aiohttp.ClientError, TimeoutError, OSError)
# Recording a delivered row that the database refuses (locked by another process past its busy
# timeout) is tried again this many times, with a doubling pause: sending it again would
# deliver it twice.
MARK_ATTEMPTS = 6
MARK_PAUSE = 0.25
# A broadcast's pace (bulk rows, storage/outbox.py): well below the 29/s of all rows, so that
# while one goes out the bot still answers citizens without Telegram's 429 (direct replies are
# sent outside the outbox's pacing, and a 429 pauses every send for a second) and its cards
# and notices go at once. `bench.outbox --broadcast 1000` with 3 direct replies and 2 other
# rows a second: at 29/s, 45 × 429 and the broadcast down to 12/s; at 25/s, 25 × 429 and
# 15/s; at 20/s, none and 19.6/s (5 direct replies a second: none either).
BULK_PER_SECOND = 20.0
# Of `max_in_flight`, these sends are never taken by bulk rows.
IN_FLIGHT_KEPT = 4
# Makes a rendered row's upload (`Outbox.rendered`) from the numbers it stored: given the row's
# data, returns the method's parameters to add (the photo as an InputFile, its caption). Runs
# at every attempt; raising drops the row (logged), since the same numbers would fail again.
Renderer = Callable[[Mapping[str, Any]], Awaitable[Mapping[str, Any]]]
# Renders the private alerts to the admins when a group starts refusing the bot.
RefusalAlerts = Callable[[int, str], Sequence[Outgoing]]
# A citizen (chat id) blocked the bot: given the dedupe keys of the rows pending for them,
# the notes that tell their loss, by the key of the row each tells of (read before the drop,
# written in its transaction).
Undelivered = Callable[[int, list[str]], Awaitable[Mapping[str, Outgoing]]]
# How often a citizen's drop is read again when rows to report came in meanwhile.
DROP_ATTEMPTS = 3


class _Unforeseen(Exception):
    """A row to report was queued between reading a chat's rows and dropping them."""


def no_alerts(chat_id: int, error: str) -> Sequence[Outgoing]:
    return ()


def always() -> bool:
    return True


class SlidingWindow:
    """At most `count` events in any `period` seconds (monotonic time), optionally at least
    `min_gap` apart: a burst sent at once reaches Telegram unevenly and can overflow its
    window even when ours did not."""

    def __init__(self, count: int, period: float, min_gap: float = 0.0) -> None:
        self.count = max(1, count)
        self.period = max(0.0, period)
        self.min_gap = min_gap
        self.times: deque[float] = deque()
        # The time the last event was due, not when it happened: pacing from the actual time
        # adds each wake-up's lateness to every gap (bench/outbox.py: 26.6/s instead of 30).
        self.slot: float | None = None

    @classmethod
    def per_second(cls, rate: float) -> SlidingWindow:
        # 30.0 -> 30 per 1 s; 2.5 -> 2 per 0.8 s; 0.5 -> 1 per 2 s; evenly spread.
        if rate >= 1:
            return cls(int(rate), int(rate) / rate, min_gap=1 / rate)
        return cls(1, 1 / rate)

    def _forget(self, now: float) -> None:
        while self.times and self.times[0] <= now - self.period:
            self.times.popleft()

    def ready_at(self, now: float) -> float:
        self._forget(now)
        spaced = self.slot + self.min_gap if self.slot is not None else now
        if len(self.times) < self.count:
            return max(now, spaced)
        return max(self.times[-self.count] + self.period, spaced)

    def take(self, now: float) -> None:
        self._forget(now)
        self.times.append(now)
        due = self.slot + self.min_gap if self.slot is not None else now
        # Late by less than a gap: keep the rhythm. Later than that, the queue was idle;
        # banking the idle time would allow a burst.
        self.slot = due if due <= now < due + self.min_gap else now

    def idle(self, now: float) -> bool:
        self._forget(now)
        return not self.times


def backoff_delay(failures: int, base: float, cap: float) -> float:
    """base, 2·base, 4·base … for the 1st, 2nd, 3rd failure, never above `cap`."""
    return min(cap, base * 2.0 ** min(max(failures - 1, 0), 32))


def message_id_of(result: Any, payload: Mapping[str, Any]) -> int | None:
    """Telegram's id of what we sent; the first one of a media group. An edit answered with
    plain True (or 'not modified') keeps the id it edited."""
    if isinstance(result, list):
        result = result[0] if result else None
    message_id = getattr(result, "message_id", None)
    if isinstance(message_id, int):
        return message_id
    edited = payload.get("message_id")
    return edited if isinstance(edited, int) else None


def poll_id_of(result: Any) -> str | None:
    """The id of the poll a sendPoll created (its votes name it); None for anything else."""
    poll = getattr(result, "poll", None)
    poll_id = getattr(poll, "id", None)
    return poll_id if isinstance(poll_id, str) else None


def media_group_ids(result: Any) -> list[int]:
    """Every message a media group became, in order; [] for a single message."""
    if not isinstance(result, list) or len(result) < 2:
        return []
    ids = [getattr(message, "message_id", None) for message in result]
    return [i for i in ids if isinstance(i, int)]


def as_plain_text(payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """The payload without HTML markup, for a text Telegram refused to parse; None if that
    would change nothing."""
    if not payload.get("parse_mode"):
        return None
    plain: dict[str, Any] = {k: v for k, v in payload.items() if k != "entities"}
    plain["parse_mode"] = None
    for key in ("text", "caption"):
        if isinstance(plain.get(key), str):
            plain[key] = unescape(re.sub(r"<[^<>]*>", "", plain[key]))
    return plain


def describe(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or repr(exc)
    return f"{type(exc).__name__}: {text}"


class OutboxSender:
    def __init__(
        self,
        bot: Bot,
        store: OutboxStore,
        outbox: Outbox,
        clock: Callable[[], datetime],
        *,
        # One below Telegram's 30: sends keep a steady rhythm (SlidingWindow.slot), and the
        # network spreads their arrival by a few milliseconds either way.
        global_per_second: float = 29.0,
        # Bulk rows (a broadcast) within that: the rest is left to the other rows and to the
        # replies handlers send directly, which this pacing does not see (bench/outbox.py).
        bulk_per_second: float = BULK_PER_SECOND,
        private_interval: float = 1.1,
        group_per_minute: int = 20,
        max_backoff: float = 300.0,
        base_backoff: float = 1.0,
        max_in_flight: int = 16,
        batch_size: int = 100,
        refusal_alerts: RefusalAlerts = no_alerts,
        renderers: Mapping[str, Renderer] | None = None,
    ) -> None:
        self.bot = bot
        # Asked what a citizen who blocked the bot will never get (the dedupe keys of the rows
        # to give up) and returns the notes to write with the drop: the composition root hands
        # in the officials' side (an answer or a question lost so).
        self.undelivered: Undelivered | None = None
        self.renderers = dict(renderers or {})
        self.store = store
        self.outbox = outbox
        self.clock = clock
        self.private_interval = private_interval
        self.group_per_minute = group_per_minute
        self.max_backoff = max_backoff
        self.base_backoff = base_backoff
        self.max_in_flight = max(1, max_in_flight)
        self.batch_size = max(1, batch_size)
        self.refusal_alerts = refusal_alerts
        # Groups with an open refusal incident: the first message they take again ends it.
        self._refused: set[int] = set()
        self._global = SlidingWindow.per_second(global_per_second)
        self._bulk = SlidingWindow.per_second(min(bulk_per_second, global_per_second))
        # In-flight sends bulk rows may take: the others always find a free one.
        self.bulk_in_flight = max(1, self.max_in_flight - IN_FLIGHT_KEPT)
        self._global_blocked = 0.0
        self._chats: dict[int, SlidingWindow] = {}
        self._chat_blocked: dict[int, float] = {}
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._busy_chats: set[int] = set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._progress = asyncio.Event()
        # Asked before each row is started: with several instances, whether this one still
        # holds the sending lease (bot/delivery/lease.py). One process alone always may.
        self.may_send: Callable[[], bool] = always

    # ------------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self.running:
            return
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-sender")

    async def retry_refused(self) -> None:
        """At start-up, before `start`: every parked group is tried once more. The bot may have
        been added back while it was down, and Telegram's my_chat_member update saying so may
        be long gone."""
        self._refused.update(await self.store.retry_parked(self.clock()))
        if self._refused:
            log.info("outbox: trying %d group(s) that refused the bot again", len(self._refused))

    async def stop(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109 - bounded shutdown
        """Stop taking rows; the ones already on their way to Telegram finish and are recorded.
        Past `timeout` they are cancelled: one Telegram has not answered stays pending (sent
        again after a restart), one it has answered is still marked sent."""
        task = self._task
        if task is None:
            return
        self._stopping = True
        self.outbox.wakeup.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            log.warning("outbox sender: %d sends still running at stop", len(self._in_flight))
            for running in list(self._in_flight.values()):
                running.cancel()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._task = None

    async def drain(self, timeout: float = 10.0, *, all_pending: bool = False) -> None:  # noqa: ASYNC109
        """Return once no pending row is due and nothing is being sent; with `all_pending`,
        once nothing is pending at all (retries scheduled for later included). Raises
        TimeoutError if that does not happen within `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if not self._in_flight:
                if all_pending:
                    done = await self.store.pending_count() == 0
                else:
                    done = not await self.store.due(self.clock(), 1)
                if done:
                    return
            remaining = deadline - loop.time()
            if remaining <= 0:
                pending = await self.store.pending_count()
                raise TimeoutError(f"outbox not drained in {timeout}s: {pending} rows pending")
            event = self._progress
            # Due times pass without any event, hence the short poll as well.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, 0.05))

    # ------------------------------------------------------------------ the loop

    async def _run(self) -> None:
        try:
            while not self._stopping:
                try:
                    delay = await self._tick()
                except Exception:
                    log.exception("outbox sender: could not read the outbox")
                    delay = ERROR_PAUSE
                if self._stopping:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.outbox.wakeup.wait(), delay)
        finally:
            if self._in_flight:
                await asyncio.gather(*self._in_flight.values(), return_exceptions=True)

    async def _tick(self) -> float:
        """Start what may go now; return how long to sleep unless woken earlier."""
        # Cleared before reading, so an enqueue during this tick wakes the next wait at once.
        self.outbox.wakeup.clear()
        now = self.clock()
        rows = await self.store.due(now, self.batch_size)
        loop = asyncio.get_running_loop()
        mono = loop.time()
        next_free = math.inf
        started = 0
        for row in rows:
            if not self.may_send():
                break  # the lease may have run out: another instance may be sending
            if len(self._in_flight) >= self.max_in_flight:
                break  # a finishing send wakes us
            if row.id in self._in_flight or row.chat_id in self._busy_chats:
                continue  # likewise
            if row.bulk and len(self._in_flight) >= self.bulk_in_flight:
                continue  # kept for the others; a finishing send wakes us
            at = self._ready_at(row.chat_id, mono)
            if row.bulk:
                at = max(at, self._bulk.ready_at(mono))
            if at > mono:
                next_free = min(next_free, at)
                continue
            self._take(row.chat_id, mono)
            if row.bulk:
                self._bulk.take(mono)
            self._start(row)
            started += 1
        self._notify_progress()
        if len(self._chats) > PRUNE_ABOVE:
            self._prune(mono)
        if started and len(rows) >= self.batch_size:
            return 0.0  # more may be due beyond this batch
        delay = next_free - mono
        later = await self.store.earliest_pending(after=now)
        if later is not None:
            delay = min(delay, (later - self.clock()).total_seconds())
        return max(MIN_WAIT, min(delay, IDLE_POLL))

    def _start(self, row: OutboxRow) -> None:
        self._busy_chats.add(row.chat_id)
        task = asyncio.create_task(self._deliver(row), name=f"outbox-{row.id}")
        self._in_flight[row.id] = task
        task.add_done_callback(lambda _: self._finished(row))

    def _finished(self, row: OutboxRow) -> None:
        self._in_flight.pop(row.id, None)
        self._busy_chats.discard(row.chat_id)
        self.outbox.wakeup.set()
        self._notify_progress()

    def _notify_progress(self) -> None:
        event, self._progress = self._progress, asyncio.Event()
        event.set()

    # ------------------------------------------------------------------ limits

    def _ready_at(self, chat_id: int, mono: float) -> float:
        at = max(self._global.ready_at(mono), self._global_blocked)
        at = max(at, self._chat_blocked.get(chat_id, 0.0))
        window = self._chats.get(chat_id)
        return max(at, window.ready_at(mono)) if window else at

    def _take(self, chat_id: int, mono: float) -> None:
        self._global.take(mono)
        window = self._chats.get(chat_id)
        if window is None:
            window = (
                SlidingWindow(1, self.private_interval)
                if chat_id > 0
                else SlidingWindow(self.group_per_minute, 60.0)
            )
            self._chats[chat_id] = window
        window.take(mono)

    def _block(self, chat_id: int, seconds: float) -> None:
        until = asyncio.get_running_loop().time() + seconds
        self._chat_blocked[chat_id] = max(self._chat_blocked.get(chat_id, 0.0), until)
        # A 429 may be about the bot as a whole; pausing everyone briefly is the safe reading.
        self._global_blocked = max(self._global_blocked, until)

    def _prune(self, mono: float) -> None:
        for chat_id in [c for c, w in self._chats.items() if c not in self._busy_chats]:
            if self._chats[chat_id].idle(mono):
                del self._chats[chat_id]
        for chat_id in [c for c, until in self._chat_blocked.items() if until <= mono]:
            del self._chat_blocked[chat_id]

    # ------------------------------------------------------------------ one row

    async def _deliver(self, row: OutboxRow) -> None:
        try:
            await self._attempt(row)
        except Exception as exc:
            log.exception("outbox row %s: unexpected failure", row.id)
            try:
                await self._retry_later(row, describe(exc))
            except Exception:
                log.exception("outbox row %s: could not reschedule", row.id)

    async def _render(self, row: OutboxRow) -> dict[str, Any] | None:
        """The payload to send: the row's own, or for a rendered row its parameters with what
        the renderer made. None if it cannot be made: the row is dropped then (logged)."""
        spec = row.payload.get(RENDER_KEY)
        if spec is None:
            return row.payload
        payload = {k: v for k, v in row.payload.items() if k != RENDER_KEY}
        kind = spec.get("kind") if isinstance(spec, Mapping) else None
        renderer = self.renderers.get(str(kind))
        try:
            if renderer is None:
                raise LookupError(f"no renderer for {kind!r}")
            payload.update(await renderer(spec.get("data") or {}))
        except RecipientGone as exc:
            log.info("outbox row %s dropped: its recipient is gone (%s)", row.id, exc)
            await self.store.drop(row.id, f"not rendered: {describe(exc)}", self.clock())
            return None
        except Exception as exc:
            log.exception("outbox row %s: could not render %s; dropped", row.id, kind)
            await self.store.drop(row.id, f"not rendered: {describe(exc)}", self.clock())
            return None
        return payload

    async def _attempt(self, row: OutboxRow) -> None:
        payload = await self._render(row)
        if payload is None:
            return
        try:
            method: TelegramMethod[Any] = build_method(row.method, row.chat_id, payload)
        except (ValueError, TypeError, ValidationError) as exc:
            # Outbox validates on enqueue, so only a hand-made row gets here; it never will work.
            log.error("outbox row %s: cannot build %s: %s", row.id, row.method, exc)
            await self.store.drop(row.id, f"invalid row: {exc}", self.clock())
            return
        try:
            result = await self.bot(method)
        except TelegramRetryAfter as exc:
            log.warning("outbox row %s: 429, retry after %ss", row.id, exc.retry_after)
            self._block(row.chat_id, exc.retry_after)
            await self.store.reschedule(
                row.id,
                self.clock() + timedelta(seconds=exc.retry_after),
                describe(exc),
                count=False,
            )
        except TelegramMigrateToChat as exc:
            new = exc.migrate_to_chat_id
            log.info("outbox: chat %s is now %s", row.chat_id, new)
            # The moved row stays due, so the next tick sends it to the new chat at once.
            await self.store.migrate_chat(row.chat_id, new, self.clock())
        except TelegramForbiddenError as exc:
            await self._forbidden(row, exc)
        except TelegramBadRequest as exc:
            await self._bad_request(row, exc)
        except (TelegramNotFound, TelegramEntityTooLarge) as exc:
            log.error("outbox row %s to %s dropped: %s", row.id, row.chat_id, describe(exc))
            await self.store.drop(row.id, describe(exc), self.clock())
        except TRANSIENT as exc:
            await self._retry_later(row, describe(exc))
        except ClientDecodeError as exc:
            await self._undecodable(row, exc)
        except TelegramAPIError as exc:
            # 401, 409 and codes we do not know: a person has to look, the row must wait.
            log.error("outbox row %s: %s", row.id, describe(exc))
            await self._retry_later(row, describe(exc))
        else:
            await self._record_sent(
                row, message_id_of(result, row.payload), media_group_ids(result),
                poll_id_of(result),
            )  # fmt: skip

    async def _record_sent(
        self,
        row: OutboxRow,
        message_id: int | None,
        message_ids: Sequence[int] = (),
        poll_id: str | None = None,
    ) -> None:
        """Telegram has the message; until the row is marked, a crash sends it again after a
        restart. So marking is the very next step after the answer (no task to schedule first,
        nothing else awaited), and it completes even when the sender is cancelled meanwhile
        (stop() past its timeout): the cancellation is passed on once the row is marked."""
        try:
            await self._mark_sent(row, message_id, message_ids, poll_id)
        except asyncio.CancelledError:
            # Cancelled while the mark waited for the database: mark it after all (a mark that
            # had reached the database already makes this one a no-op), then stop.
            await self._mark_sent(row, message_id, message_ids, poll_id)
            raise
        if row.chat_id in self._refused:
            self._refused.discard(row.chat_id)
            await self.store.end_refusal(row.chat_id)
            log.info("outbox: group %s takes messages again", row.chat_id)

    async def _mark_sent(
        self,
        row: OutboxRow,
        message_id: int | None,
        message_ids: Sequence[int],
        poll_id: str | None = None,
    ) -> None:
        # A failed mark is retried, never the send: sending again would deliver it twice.
        pause = MARK_PAUSE
        for attempt in range(1, MARK_ATTEMPTS + 1):
            try:
                await self.store.mark_sent(
                    row.id, message_id, self.clock(), message_ids, poll_id=poll_id
                )
                return
            except Exception:
                if attempt == MARK_ATTEMPTS:
                    log.exception(
                        "outbox row %s was delivered but cannot be marked; it will be sent "
                        "again after a restart",
                        row.id,
                    )
                    return
                log.warning("outbox row %s delivered, marking it failed; retrying", row.id)
                await asyncio.sleep(pause)
                pause *= 2

    async def _retry_later(self, row: OutboxRow, error: str) -> None:
        delay = backoff_delay(row.attempts + 1, self.base_backoff, self.max_backoff)
        log.warning("outbox row %s: %s; retry in %.1fs", row.id, error, delay)
        await self.store.reschedule(row.id, self.clock() + timedelta(seconds=delay), error)

    async def _forbidden(self, row: OutboxRow, exc: TelegramForbiddenError) -> None:
        now = self.clock()
        if row.chat_id > 0:
            # Blocked by the user (or deactivated): nothing for this chat can be delivered.
            await self.store.mark_unreachable(row.chat_id)
            dropped = await self._drop_citizen(row.chat_id, describe(exc), now)
            log.info("outbox: citizen %s unreachable, %d rows dropped", row.chat_id, len(dropped))
        else:
            # Kicked from the group, or not a member: officials must still see these, so they
            # wait (parked, not retried) until the bot is back in the chat or the next start.
            alerts = self.refusal_alerts(row.chat_id, exc.message)
            started = await self.store.park_chat(row.chat_id, describe(exc), now, alerts)
            self._refused.add(row.chat_id)
            if started:
                self.outbox.poke()  # the admins' alerts
            log.error(
                "outbox: group %s refuses the bot (%s); its messages wait for it to be back",
                row.chat_id,
                exc.message,
            )

    async def _drop_citizen(self, chat_id: int, error: str, now: datetime) -> list[str]:
        """Give up on a citizen's rows, and write the notes of what the officials must hear
        was lost (`undelivered`) in the same transaction: a crash keeps both or neither.

        The notes are read before the drop (reading the appeals inside it would hold the
        database meanwhile); a row to report that came in since (`unreached`) undoes the drop,
        which is read again. Notes that cannot be read leave the drop to stand without them."""
        if self.undelivered is None:
            return await self.store.drop_chat(chat_id, error, now)
        for attempt in range(1, DROP_ATTEMPTS + 1):
            keys = await self.store.pending_keys(chat_id)
            try:
                notes = await self.undelivered(chat_id, keys)
            except Exception:
                log.exception("outbox: what citizen %s will not get cannot be told", chat_id)
                return await self.store.drop_chat(chat_id, error, now)
            foreseen = set(keys)
            strict = attempt < DROP_ATTEMPTS

            def written(
                dropped: list[str],
                foreseen: set[str] = foreseen,
                notes: Mapping[str, Outgoing] = notes,
                strict: bool = strict,
            ) -> list[Outgoing]:
                if strict and any(k not in foreseen and unreached(k) for k in dropped):
                    raise _Unforeseen
                by_key = {id(notes[k]): notes[k] for k in dropped if k in notes}
                return list(by_key.values())

            try:
                dropped = await self.store.drop_chat(chat_id, error, now, written)
            except _Unforeseen:
                continue
            if any(k in notes for k in dropped):
                self.outbox.poke()
            return dropped
        raise AssertionError("unreachable: the last attempt is not strict")

    async def _bad_request(self, row: OutboxRow, exc: TelegramBadRequest) -> None:
        message = exc.message.lower()
        now = self.clock()
        if "message is not modified" in message or "message to delete not found" in message:
            # What the row was for is already so: edited, or deleted (by someone in the chat).
            await self._record_sent(row, message_id_of(None, row.payload))
            return
        if "can't parse entities" in message:
            plain = as_plain_text(row.payload)
            if plain is not None:
                # Better the citizen reads the text without formatting than not at all.
                log.error("outbox row %s: bad HTML, sending as plain text: %s", row.id, exc)
                await self.store.replace_payload(row.id, plain, describe(exc))
                return
        if "chat not found" in message:
            log.warning("outbox row %s dropped: chat %s not found", row.id, row.chat_id)
        else:
            # Retrying the same request gets the same answer.
            log.error("outbox row %s (%s) dropped: %s", row.id, row.method, exc.message)
        await self.store.drop(row.id, describe(exc), now)

    async def _undecodable(self, row: OutboxRow, exc: ClientDecodeError) -> None:
        data = exc.data
        if isinstance(data, dict) and data.get("ok") is True:
            # Telegram accepted it and only reading the answer failed: sending again would
            # deliver it twice.
            result = data.get("result")
            message_id = result.get("message_id") if isinstance(result, dict) else None
            poll = result.get("poll") if isinstance(result, dict) else None
            poll_id = poll.get("id") if isinstance(poll, dict) else None
            log.error("outbox row %s: sent, but the answer was unreadable: %s", row.id, exc)
            await self._record_sent(
                row, message_id, poll_id=poll_id if isinstance(poll_id, str) else None
            )
            return
        await self._retry_later(row, describe(exc))
