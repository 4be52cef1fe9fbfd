"""Reports off the event loop: each /stats or /export job runs in a process of its own.

At a big city's volume a report is seconds of Python (11 s for `/export 30` at a million
appeals). In a thread of the bot it still held the GIL and made garbage for the bot's
collector, and the event loop stalled for most of a second; in another process the bot only
waits on a pipe.

Why a process per job rather than a standing pool: the job's rows are hundreds of MiB at that
volume, which a long-lived worker would keep after the job (CPython seldom gives freed memory
back); a job that dies (out of memory, killed) costs only itself, where a
`ProcessPoolExecutor` turns broken for every later job; and a running job can be killed at
shutdown instead of holding the exit. Starting is cheap where the platform has `forkserver`:
its server imports the report modules once (aiogram's types alone take ~2.5 s), and each job
is a fork of it. Elsewhere (Windows) each job is spawned and imports them itself.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

log = logging.getLogger(__name__)
J = TypeVar("J")
R = TypeVar("R")
# A report yields the CPU to citizens' updates: on a small server the bot and the report
# share the cores.
NICENESS = 5


class ReportFailed(Exception):
    """The job raised, or its process died; the message says which (with the traceback)."""


class ReportWorker:
    """Runs `fn(job)` in another process, `jobs` at a time (the rest wait their turn)."""

    def __init__(self, *, jobs: int = 1, preload: Sequence[str] = ()) -> None:
        self._slots = asyncio.Semaphore(jobs)
        self._preload = list(preload)
        self._context: ForkServerContext | SpawnContext | None = None
        self._running: set[BaseProcess] = set()

    def _ctx(self) -> ForkServerContext | SpawnContext:
        if self._context is None:
            if "forkserver" in multiprocessing.get_all_start_methods():
                context: ForkServerContext = multiprocessing.get_context("forkserver")
                # Once per bot process: the server starts with the first job.
                context.set_forkserver_preload(self._preload)
                self._context = context
            else:
                self._context = multiprocessing.get_context("spawn")
        return self._context

    async def run(self, fn: Callable[[J], R], job: J) -> R:
        """`fn(job)`'s value, computed in a process of its own. Raises ReportFailed if it
        raised or the process died; cancelled, it kills the process."""
        async with self._slots:
            context = self._ctx()
            receive, send = context.Pipe(duplex=False)
            process = context.Process(
                target=_child, args=(send, fn, job), name="report", daemon=True
            )
            try:
                # The first start of the fork server waits for its imports: not on the loop.
                await asyncio.to_thread(process.start)
            finally:
                send.close()  # the child holds its own end; EOF then means it is gone
            self._running.add(process)
            try:
                outcome = await asyncio.to_thread(_receive, receive)
            except asyncio.CancelledError:
                process.kill()
                raise
            finally:
                self._running.discard(process)
            await asyncio.to_thread(process.join)
        if outcome is None:
            raise ReportFailed(f"the report process died (exit code {process.exitcode})")
        ok, value = outcome
        if not ok:
            raise ReportFailed(str(value))
        result: R = value
        return result

    def close(self) -> None:
        """Kills the jobs still running (their callers get cancelled by their owner)."""
        for process in list(self._running):
            process.kill()


def _receive(conn: Connection) -> tuple[bool, Any] | None:
    """What the child sent; None when it died first."""
    try:
        received: tuple[bool, Any] = conn.recv()
        return received
    except EOFError:
        return None
    finally:
        conn.close()


def _child(conn: Connection, fn: Callable[[Any], Any], job: Any) -> None:
    """The worker process: compute, send the value or the traceback, exit."""
    if hasattr(os, "nice"):
        os.nice(NICENESS)
    try:
        outcome: tuple[bool, Any] = (True, fn(job))
    except BaseException:  # everything goes back to the bot, which logs it
        outcome = (False, traceback.format_exc())
    try:
        conn.send(outcome)
    finally:
        conn.close()
