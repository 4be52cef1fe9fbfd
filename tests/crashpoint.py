"""`python -m tests.crashpoint`: `python -m bot` that dies, as if SIGKILLed, the moment it is
about to write the outbox row whose dedupe key starts with $CRASH_BEFORE. A crash placed
exactly between two writes that must commit together (a status and the citizen's notice of
it, a digest's claim and its row), which a SIGKILL at a random moment would rarely hit."""

from __future__ import annotations

import os
import sys
from typing import Any

import storage.sqlite.outbox
from bot.__main__ import main
from storage.outbox import NewMessage

CRASHED = 137  # what a shell reports for SIGKILL


def arm(prefix: str) -> None:
    real = storage.sqlite.outbox._insert

    async def insert(conn: Any, chat_id: int, message: NewMessage, *rest: Any) -> int:
        if (message.dedupe_key or "").startswith(prefix):
            os._exit(CRASHED)  # no rollback, no cleanup: the process is simply gone
        return await real(conn, chat_id, message, *rest)

    storage.sqlite.outbox._insert = insert  # type: ignore[assignment]


if __name__ == "__main__":
    arm(os.environ["CRASH_BEFORE"])
    sys.exit(main())
