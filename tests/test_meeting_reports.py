"""Meetings with residents in /stats and /export (issue #13), without Telegram: the figures
of the period's meetings, and the «Meetings» sheet, typed text inert."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, timedelta

from bot.domain.catalog import Catalog
from bot.domain.reports import ExportPeriod
from bot.services.reports import compute_meeting_stats, compute_stats
from bot.views.reports import export_xlsx, render_stats
from i18n.core import PoI18n
from storage.codec import encode_instant
from storage.reports import PeriodMeeting, assemble_meetings
from tests.conftest import ALMATY
from tests.test_reports import HYPERLINK, column_of, sheet_cells

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ALMATY)


def meeting_row(id_: int, at: datetime, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": id_, "districts": '["101000000"]', "meeting_who": "Аким", "meeting_place": "ДК",
        "meeting_at": encode_instant(at), "meeting_topics": '["Дороги", "Свет"]',
        "meeting_cancelled_at": None, "meeting_attended": None, "meeting_attended_by_name": None,
        "meeting_attended_at": None, "moves": 0,
    }  # fmt: skip
    row.update(extra)
    return row


def meetings() -> list[PeriodMeeting]:
    rows = [
        meeting_row(1, NOW - timedelta(days=3), meeting_attended=40,
                    meeting_attended_by_name="Асқар", moves=1),
        meeting_row(2, NOW - timedelta(days=1), meeting_who=HYPERLINK,
                    meeting_place="=1+1"),
        meeting_row(3, NOW - timedelta(days=2), meeting_cancelled_at=encode_instant(NOW)),
        meeting_row(4, NOW + timedelta(days=5)),
    ]  # fmt: skip
    attendees = [(1, '["wheelchair"]'), (1, '["wheelchair", "companion"]'), (1, "[]"),
                 (2, '["sign_language"]'), (3, '["wheelchair"]')]  # fmt: skip
    questions = [(1, 0, 2), (1, None, 1), (2, 1, 3), (2, 7, 1), (3, 0, 5)]
    return assemble_meetings(rows, attendees, questions)


def test_the_periods_meetings_are_summed_over_those_held() -> None:
    period = [m for m in meetings() if m.row["id"] != 4]  # /stats: the time has come
    stats = compute_meeting_stats(period)
    assert stats is not None
    assert (stats.held, stats.cancelled) == (2, 1)
    assert stats.registered == 4  # the cancelled meeting's one is not counted
    assert (stats.attended, stats.attended_entered) == (40, 1)
    assert stats.access == {"wheelchair": 2, "companion": 1, "sign_language": 1}
    assert stats.questions == 7
    # A topic index the meeting does not have counts as another topic.
    assert stats.by_topic == [("Свет", 3), ("Дороги", 2), (None, 2)]
    assert compute_meeting_stats([]) is None


def test_stats_show_the_meetings_in_both_languages(catalog: Catalog) -> None:
    stats = compute_stats([], 30)
    stats = type(stats)(**{**stats.__dict__, "meetings": compute_meeting_stats(meetings()[:3])})
    i18n = PoI18n()
    with i18n.context(), i18n.use_locale("ru"):
        ru = render_stats(stats, catalog, "ru")
    with i18n.context(), i18n.use_locale("kk"):
        kk = render_stats(stats, catalog, "kk")
    assert "Встречи с населением" in ru and "Прошло: 2 · отменено: 1" in ru
    assert "Записались: 4" in ru and "Пришло: 40 (указано для 1 из 2 встреч)" in ru
    assert "кресло-коляска: 2" in ru and "Вопросы заранее: 7" in ru
    assert "  3 · Свет" in ru and "  2 · Другая тема" in ru
    assert "Халықпен кездесулер" in kk and "Өтті: 2 · болдырылмады: 1" in kk
    assert "Тіркелгендер: 4" in kk and "  2 · Басқа тақырып" in kk
    # No meeting in the period: no section.
    with i18n.context(), i18n.use_locale("ru"):
        assert "Встречи с населением" not in render_stats(compute_stats([], 30), catalog, "ru")


def test_the_meetings_sheet_has_a_row_per_meeting_and_typed_text_inert(catalog: Catalog) -> None:
    period = ExportPeriod(
        appeals=(date(2026, 10, 24), date(2026, 11, 23)),
        bookings=(date(2026, 10, 24), date(2026, 12, 24)),
        meetings=(date(2026, 10, 24), date(2026, 12, 24)),
        as_of=NOW,
    )
    i18n = PoI18n()
    with i18n.context(), i18n.use_locale("ru"):
        content = export_xlsx([], catalog, "ru", ALMATY, period, meetings=meetings())
    cells = sheet_cells(content, 2)  # no bookings sheet: the meetings are the second
    assert cells["A1"].value.startswith("Встречи с населением с 24 октября 2026")
    col = {h: column_of(cells, h) for h in ("№ встречи", "Кто встречался с жителями", "Где",
           "Статус", "Записались", "Сколько пришло", "Кто указал", "Нужно для посещения",
           "Вопросов заранее", "Сколько раз перенесена", "Районы", "Когда")}  # fmt: skip
    by_id = {cells[f"{col['№ встречи']}{y}"].value: y for y in range(3, 7)}
    assert sorted(by_id) == ["1", "2", "3", "4"]

    def cell(meeting: int, header: str) -> str:
        return cells[f"{col[header]}{by_id[str(meeting)]}"].value

    assert [cell(m, "Статус") for m in (1, 2, 3, 4)] == [
        "Прошла", "Прошла", "Отменена", "Запланирована"]  # fmt: skip
    assert cell(1, "Записались") == "3" and cell(1, "Сколько пришло") == "40"
    assert cells[f"{col['Сколько пришло']}{by_id['1']}"].kind == "n"  # a number, not text
    assert cell(1, "Кто указал") == "Асқар" and cell(1, "Сколько раз перенесена") == "1"
    assert cell(1, "Нужно для посещения") == ("кресло-коляска: 2, сопровождающий: 1")
    assert cell(2, "Вопросов заранее") == "4" and cell(1, "Районы") == "г. Семей"
    # What an official typed is text no spreadsheet runs.
    assert cell(2, "Кто встречался с жителями") == "'" + HYPERLINK
    assert cell(2, "Где") == "'=1+1"
    assert all(c.formula is None for c in cells.values())


def test_no_meetings_no_sheet(catalog: Catalog) -> None:
    period = ExportPeriod(appeals=(date(2026, 10, 24), date(2026, 11, 23)),
                          bookings=(date(2026, 10, 24), date(2026, 12, 24)))  # fmt: skip
    i18n = PoI18n()
    with i18n.context(), i18n.use_locale("ru"):
        content = export_xlsx([], catalog, "ru", ALMATY, period, meetings=[])
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        assert [n for n in book.namelist() if n.startswith("xl/worksheets/sheet")] == [
            "xl/worksheets/sheet1.xml"
        ]
