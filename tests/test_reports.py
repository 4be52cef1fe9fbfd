"""/stats and /export, from the repository up; and the commands over HTTP."""

from __future__ import annotations

import io
import threading
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot import reports as reports_module
from bot.catalog import Catalog
from bot.reports import compute_stats, export_xlsx, parse_days, period_appeals, render_stats
from i18n.core import PoI18n
from storage.models import Status
from storage.reports import ReportQueries
from storage.sqlite import SQLiteRepository
from tests.conftest import ALMATY, OFFICIALS, Harness
from tests.test_storage import NOW, new_appeal


@pytest.mark.parametrize(
    ("args", "days"), [(None, 30), ("", 30), ("7", 7), (" 366 ", 366), ("0", None),
                       ("367", None), ("-1", None), ("seven", None), ("٣", None)],
)  # fmt: skip
def test_parse_days(args: str | None, days: int | None) -> None:
    assert parse_days(args) == days


async def seed(repo: SQLiteRepository) -> None:
    for i in range(4):
        await repo.create_appeal(
            new_appeal(f"r{i}", category="roads" if i < 3 else "health",
                       created_at=NOW - timedelta(days=i))
        )  # fmt: skip
    await repo.create_appeal(new_appeal("old", created_at=NOW - timedelta(days=40)))
    # The first appeal: taken after 2 hours, answered after 1 day, in time, rated 4.
    await repo.transition(1, frozenset({Status.REGISTERED}), Status.IN_PROGRESS, "official:9",
                          NOW + timedelta(hours=2))  # fmt: skip
    await repo.transition(1, frozenset({Status.IN_PROGRESS}), Status.ANSWERED, "official:9",
                          NOW + timedelta(days=1), answered_at=NOW + timedelta(days=1),
                          rating=4, answer_text="Сделано")  # fmt: skip


async def test_stats_for_a_period(repo: SQLiteRepository, catalog: Catalog) -> None:
    await seed(repo)
    rows = await period_appeals(ReportQueries(repo.db), 30, NOW + timedelta(days=2))
    stats = compute_stats(rows, 30)
    assert stats.total == 4  # the 40-day-old one is outside
    assert dict(stats.by_category) == {"roads": 3, "health": 1}
    assert stats.median_first_action == timedelta(hours=2)
    assert stats.median_answer == timedelta(days=1)
    assert (stats.answered, stats.answered_in_time) == (1, 1)
    assert stats.average_rating == 4
    i18n = PoI18n()
    with i18n.context(), i18n.use_locale("ru"):
        text = render_stats(stats, catalog, "ru")
    assert "Дороги" in text and "4" in text and "2 часа" in text


async def test_export_is_a_spreadsheet_with_every_appeal(
    repo: SQLiteRepository, catalog: Catalog
) -> None:
    await seed(repo)
    rows = await period_appeals(ReportQueries(repo.db), 30, NOW + timedelta(days=2))
    i18n = PoI18n()
    with i18n.context(), i18n.use_locale("ru"):
        content = export_xlsx(rows, catalog, "ru", ALMATY)
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        strings = book.read("xl/sharedStrings.xml").decode()
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    for reference in ("2026-00001", "2026-00004"):
        assert reference in strings
    assert "2026-00005" not in strings
    assert "Дороги (roads)" in strings and "Сделано" in strings
    assert sheet.count("<row ") == 5  # header + 4 appeals


async def test_stats_and_export_in_the_officials_chat(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    # At a city's volume both are seconds of Python: they must not run on the event loop.
    threads: dict[str, str] = {}
    for name in ("compute_stats", "export_xlsx"):
        real = getattr(reports_module, name)

        def spy(*args: Any, _real: Any = real, _name: str = name) -> Any:
            threads[_name] = threading.current_thread().name
            return _real(*args)

        monkeypatch.setattr(reports_module, name, spy)
    await h.app.repo.create_appeal(new_appeal("e1", created_at=datetime.now(UTC)))
    h.app.dp["appeals"].clock = lambda: datetime.now(UTC) + timedelta(minutes=1)
    since = h.fake.mark()
    h.fake.group_message(OFFICIALS, 900, "/stats 7")
    stats = await h.fake.wait_for(
        lambda c: (
            c.method == "sendMessage"
            and h.fake.chat_of(c) == OFFICIALS
            and "Дороги" in (c.text or "")
        ),
        since=since,
    )
    assert "7" in (stats.text or "") and "Дороги" in (stats.text or "")
    since = h.fake.mark()
    h.fake.group_message(OFFICIALS, 900, "/export 7")
    document = await h.fake.wait_for(lambda c: c.method == "sendDocument", since=since)
    assert document.params["document"]["filename"].endswith("-7d.xlsx")
    assert document.params["document"]["size"] > 1000
    main = threading.main_thread().name
    assert set(threads) == {"compute_stats", "export_xlsx"}
    assert main not in threads.values()
