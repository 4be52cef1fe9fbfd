"""Another process's hold on the test database, for the tests of a locked database."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class WriteLock:
    """A second connection inside BEGIN IMMEDIATE, as `sqlite3 bot.db` would hold it."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")
        self.conn.close()


class LockSeen(logging.Handler):
    """Set once the database says it found the lock (its busy timeout ran out)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.event = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "database locked" in record.getMessage():
            self.event.set()

    async def wait(self) -> None:
        await asyncio.wait_for(self.event.wait(), 10)

    @classmethod
    @contextmanager
    def attached(cls) -> Iterator[LockSeen]:
        handler = cls()
        logger = logging.getLogger("storage.sqlite.database")
        level = logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)
        try:
            yield handler
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
