"""`python -m tests.crashpoint`: `python -m bot` that dies, as if SIGKILLed, the moment it is
about to write the outbox row whose dedupe key starts with $CRASH_BEFORE. A crash placed
exactly between two writes that must commit together (a status and the citizen's notice of
it, a digest's claim and its row), which a SIGKILL at a random moment would rarely hit."""

from __future__ import annotations

import os
import sys
from typing import Any

import storage.postgres.outbox
import storage.sqlite.outbox
from bot.__main__ import main
from storage.outbox import NewMessage

CRASHED = 137  # what a shell reports for SIGKILL


def arm(prefix: str) -> None:
    # Both backends' row writers: whichever DATABASE_URL chose is the one that runs.
    for module in (storage.sqlite.outbox, storage.postgres.outbox):
        _arm(module, prefix)


def _arm(module: Any, prefix: str) -> None:
    real = module._insert

    async def insert(conn: Any, chat_id: int, message: NewMessage, *rest: Any) -> int:
        if (message.dedupe_key or "").startswith(prefix):
            os._exit(CRASHED)  # no rollback, no cleanup: the process is simply gone
        result: int = await real(conn, chat_id, message, *rest)
        return result

    module._insert = insert


if __name__ == "__main__":
    arm(os.environ["CRASH_BEFORE"])
    sys.exit(main())
