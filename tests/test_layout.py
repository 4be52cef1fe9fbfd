"""The import rules of docs/architecture.md, checked on the code: a rule that only lives in a
document is broken by the first hurried change."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def modules(package: str) -> Iterator[tuple[str, Path]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        yield name.removesuffix(".__init__"), path


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, type-only imports included (they are still a dependency
    of the reader)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{name} imports {target}"
        for name, path in modules(package)
        for target in sorted(imports_of(path))
        if target.startswith(forbidden)
    ]


def test_only_the_composition_root_imports_handlers() -> None:
    found = [
        line
        for package in ("bot", "storage", "i18n")
        for line in offenders(package, ("handlers",))
        if not line.startswith("bot.app ")
    ]
    assert found == []


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("bot/domain", ("aiogram", "bot.services", "bot.views", "bot.telegram", "handlers")),
        ("bot/delivery", ("bot.services", "bot.views", "handlers")),
        # Services report what happened; the views that render it are handed in.
        ("bot/services", ("aiogram", "bot.telegram", "bot.views", "handlers")),
        # Views render data; a service is handed its views by the composition root.
        ("bot/views", ("bot.services", "handlers")),
        ("storage", ("aiogram", "bot", "handlers")),
    ],
)
def test_a_room_does_not_reach_up(package: str, forbidden: tuple[str, ...]) -> None:
    # storage.{sqlite,postgres}.fsm are aiogram's FSM storage kept in our database:
    # implementing aiogram's interface is their job (and storage.stores hands one out).
    fsm = ("storage.sqlite.fsm ", "storage.postgres.fsm ", "storage.stores ")
    found = [line for line in offenders(package, forbidden) if not line.startswith(fsm)]
    assert found == []


def test_the_rooms_are_where_the_docs_say() -> None:
    flat = sorted(p.name for p in (ROOT / "bot").glob("*.py"))
    assert flat == ["__init__.py", "__main__.py", "app.py", "settings.py"]


# The names the dispatcher hands services to handlers under (bot/app.py).
SERVICES = frozenset(
    {
        "appeals", "bookings", "citizens", "confirmations", "digests", "erasure", "lifecycle",
        "officials", "prompts", "reports",
    }
)  # fmt: skip


def test_handlers_call_services_and_never_reach_into_them() -> None:
    """`officials.take(...)`, not `officials.repo.get_appeal(...)` or `bookings.tz`."""
    found = []
    for name, path in modules("handlers"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in SERVICES
                and id(node) not in called
            ):
                found.append(f"{name}:{node.lineno} {node.value.id}.{node.attr}")
    assert found == []


def test_handlers_do_not_reach_the_database() -> None:
    """Through a service only (storage.base's DatabaseBusy is an error they tell about)."""
    forbidden = ("storage.sqlite", "aiosqlite", "storage.base.Repository")
    assert offenders("handlers", forbidden) == []
