#!/usr/bin/env python3
"""Two commands for a fresh machine with Python 3.11+ and nothing else:

    python3 tasks.py run     install into .venv, then start the bot (SQLite)
    python3 tasks.py test    install into .venv, then lint, type-check and run the whole test suite,
                             then the end-to-end tests again with the bot on PostgreSQL

Only the standard library is used here, since nothing is installed yet when it runs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def ensure_installed(extras: str) -> None:
    """(Re)install when pyproject.toml changed since the last install; an install with the
    test extras also serves `run`."""
    if sys.version_info < (3, 11):  # noqa: UP036 - run by whatever python3 the machine has
        sys.exit("Python 3.11 or newer is needed.")
    if not PYTHON.exists():
        print("Creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    spec = f".[{extras}]" if extras else "."
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = VENV / f".installed-{extras or 'base'}"
    good = [stamp, VENV / ".installed-test"]
    if any(s.exists() and s.read_text() == digest for s in good):
        return
    print(f"Installing {spec} into .venv …", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "-e", spec], cwd=ROOT, check=True)
    stamp.write_text(digest)


def run_bot() -> int:
    ensure_installed("")
    env_file = ROOT / ".env"
    if not env_file.exists() and "BOT_TOKEN" not in os.environ:
        shutil.copy(ROOT / ".env.example", env_file)
        print(
            "Created .env from .env.example. Put your bot's token from @BotFather into\n"
            f"BOT_TOKEN= and the officials' group chat id into OFFICIALS_CHAT_ID= in {env_file}\n"
            "and run this command again."
        )
        return 2
    compile_bytecode()
    return subprocess.call([str(PYTHON), "-m", "bot"], cwd=ROOT)


# The project's own packages; pip installs them editable (`-e`), so it compiles none of them.
PACKAGES = ("bot", "handlers", "storage", "i18n")


def compile_bytecode() -> None:
    """Write the bytecode of the project's packages, as pip does for what it installs. Python
    writes it on import too, unless PYTHONDONTWRITEBYTECODE is set (container images often set
    it): then each start compiled ~29,000 lines again, about 0.15 s of a slow box's
    start-up (README → Performance). Up to date, this is a stat per file."""
    subprocess.run(
        [str(PYTHON), "-m", "compileall", "-q", *PACKAGES], cwd=ROOT, check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip


def run_tests(args: list[str]) -> int:
    ensure_installed("test")
    checks = (
        (["ruff", "check", "."], "ruff found problems (above)."),
        (["ruff", "format", "--check", "."], "ruff format would change files: run ruff format."),
        # Files and strictness come from [tool.mypy] in pyproject.toml.
        (["mypy"], "mypy found type errors (above)."),
    )
    for command, failure in checks:
        code = subprocess.call([str(PYTHON), "-m", *command], cwd=ROOT)
        if code != 0:
            print(failure, file=sys.stderr)
            return code
    code = subprocess.call([str(PYTHON), "-m", "pytest", *args], cwd=ROOT)
    if code != 0:
        return code
    # The end-to-end suite once more with the bot on PostgreSQL (TEST_POSTGRES_URL; each test
    # on a schema of its own, tests/e2edb.py): the same tests, the other backend.
    print("End-to-end tests again, on PostgreSQL (E2E_DATABASE=postgres) …", flush=True)
    return subprocess.call(
        [str(PYTHON), "-m", "pytest", "-m", "e2e", *args],
        cwd=ROOT,
        env={**os.environ, "E2E_DATABASE": "postgres"},
    )


def main() -> int:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "run":
        return run_bot()
    if command == "test":
        return run_tests(sys.argv[2:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
