"""Report jobs as tests wrap them: they run in the report worker's process, so they are
module-level functions (pickled by name) that talk to the test through files."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def recorded(folder: Path, job_fn: Callable[[Any], Any], job: Any) -> Any:
    """`job_fn(job)`, leaving the id of the process that ran it in `folder`."""
    (folder / f"{job_fn.__name__}.pid").write_text(str(os.getpid()))
    return job_fn(job)


def gated(gate: Path, job_fn: Callable[[Any], Any], job: Any) -> Any:
    """`job_fn(job)` once the test creates `gate`: a report as slow as the test wants, with
    no sleeping in the bot's code."""
    (gate.parent / "started").write_text(str(os.getpid()))
    give_up = time.monotonic() + 60
    while not gate.exists():
        if time.monotonic() > give_up:
            raise TimeoutError("the test never opened the gate")
        time.sleep(0.01)
    return job_fn(job)


def failing(job: Any) -> Any:
    raise RuntimeError("the disk is on fire")
