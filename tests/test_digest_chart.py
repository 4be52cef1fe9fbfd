"""The digest's weekly chart: its numbers (both backends, local weeks, each chat's scope), the
row the Monday digest queues (numbers, not a picture), the PNG drawn from them in both
languages, and the setting that picks the day."""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from bot.domain.catalog import Catalog
from bot.domain.deadlines import WorkCalendar
from bot.domain.digest import CHART_KIND, WeeklyChart
from bot.services.digest import DigestService, chart_weeks
from bot.settings import ConfigError, load_settings
from bot.views.digest import DigestView
from bot.views.digest_chart import DigestChartView, chart_text, draw_png
from i18n.core import PoI18n
from storage.outbox import NewMessage, Outgoing
from tests.backends import store
from tests.conftest import ALMATY, TOKEN
from tests.test_digest import CHAT, OTHER, Recorder, add, db, i18n, local  # noqa: F401

MONDAY = date(2026, 11, 30)  # the chart's day: it shows 5 October – 29 November
TUESDAY = date(2026, 12, 1)
WEEKS = tuple(date(2026, 10, 5) + timedelta(weeks=i) for i in range(8))


class ChartRecorder(Recorder):
    """Recorder that also keeps the rendered rows the digest queues."""

    def __init__(self) -> None:
        super().__init__()
        self.rendered_rows: list[tuple[int, NewMessage]] = []

    def rendered(
        self,
        chat_id: int,
        method: str,
        kind: str,
        data: Any,
        *,
        dedupe_key: str | None = None,
        purpose: str | None = None,
        not_before: datetime | None = None,
        **extra: Any,
    ) -> Outgoing:
        payload = {"render": {"kind": kind, "data": data}, **extra}
        return Outgoing(chat_id, [NewMessage(method, payload, dedupe_key, purpose)], NOW)

    async def queue_in(self, conn: Any, batches: Sequence[Outgoing]) -> list[int]:
        texts = [b for b in batches if b.messages[0].method == "sendMessage"]
        for batch in batches:
            if batch not in texts:
                self.rendered_rows += [(batch.chat_id, m) for m in batch.messages]
        return await super().queue_in(conn, texts)


NOW = datetime.combine(MONDAY, time(9, 0), tzinfo=ALMATY).astimezone(UTC)


def service(
    database: Any, sender: ChartRecorder, catalog: Catalog, lang: PoI18n, *, weekday: int | None
) -> DigestService:
    return DigestService(
        store("digest", database),
        sender,
        DigestView(catalog, lang, "ru"),
        WorkCalendar.from_catalog(catalog),
        ALMATY,
        time(9, 0),
        "kk",
        lambda: [CHAT, OTHER],
        default_chat_id=CHAT,
        chart_weekday=weekday,
        chart_rows=sender,
    )


def test_the_weeks_are_the_last_eight_full_ones() -> None:
    assert chart_weeks(MONDAY) == list(WEEKS)
    # Any day of a week gives the same weeks: full weeks only, never the current one.
    assert chart_weeks(date(2026, 12, 6)) == list(WEEKS)
    assert chart_weeks(TUESDAY) == list(WEEKS)


@pytest.mark.every_backend
async def test_weekly_numbers_follow_local_weeks_and_the_chats_scope(
    db: Any,  # noqa: F811
    catalog: Catalog,
    i18n: PoI18n,  # noqa: F811
) -> None:
    first, last = WEEKS[0], WEEKS[-1]
    # Sunday 23:59 before the first week and Monday 00:00 after the last: outside (local
    # days: Monday 00:00 in Almaty is 19:00 UTC on Sunday).
    await add(db, local(first - timedelta(days=1), 23, 59))
    await add(db, local(last + timedelta(days=7), 0, 0))
    # First week: two roads (one with no chat: the default chat's), one lighting.
    await add(db, local(first, 0, 0))
    await add(db, local(first + timedelta(days=6), 23, 59), chat=None)
    await add(db, local(first + timedelta(days=3), 12), category="lighting")
    # Last week: a waste appeal, and one in the other chat that the default chat never sees.
    await add(db, local(last + timedelta(days=2), 10), category="waste")
    await add(db, local(last + timedelta(days=2), 10), chat=OTHER)
    # Answers by the week they were given in: on time, late, and one in the other chat.
    created = local(date(2026, 9, 1), 10)
    await add(db, created, answered=local(WEEKS[2], 9), due=local(WEEKS[2], 18))
    await add(db, created, answered=local(WEEKS[2], 19), due=local(WEEKS[2], 18))
    await add(db, created, answered=local(WEEKS[5], 9), due=local(WEEKS[6], 18))
    await add(db, created, answered=local(WEEKS[5], 9), due=local(WEEKS[6], 18), chat=OTHER)

    digest = service(db, ChartRecorder(), catalog, i18n, weekday=0)
    chart = await digest.weekly_chart(CHAT, MONDAY)
    assert chart.weeks == WEEKS
    assert dict(chart.by_category) == {
        "lighting": (1, 0, 0, 0, 0, 0, 0, 0),
        "roads": (2, 0, 0, 0, 0, 0, 0, 0),
        "waste": (0, 0, 0, 0, 0, 0, 0, 1),
    }
    assert chart.answered == (0, 0, 2, 0, 0, 1, 0, 0)
    assert chart.on_time == (0, 0, 1, 0, 0, 1, 0, 0)
    assert chart.on_time_rates[2] == 0.5 and chart.on_time_rates[0] is None

    other = await digest.weekly_chart(OTHER, MONDAY)
    assert dict(other.by_category) == {"roads": (0, 0, 0, 0, 0, 0, 0, 1)}
    assert other.answered == (0, 0, 0, 0, 0, 1, 0, 0)


@pytest.mark.every_backend
async def test_the_chart_day_queues_the_numbers_after_the_digest(
    db: Any,  # noqa: F811
    catalog: Catalog,
    i18n: PoI18n,  # noqa: F811
) -> None:
    await add(db, local(WEEKS[3], 10))
    sender = ChartRecorder()
    digest = service(db, sender, catalog, i18n, weekday=0)
    assert await digest.tick(NOW) == [CHAT, OTHER]
    # Only the chat with appeals in those weeks gets a chart; the other just its digest.
    assert [chat for chat, _row in sender.rendered_rows] == [CHAT]
    _chat, row = sender.rendered_rows[0]
    assert row.method == "sendPhoto"
    assert row.dedupe_key == f"digest:{CHAT}:2026-11-29:chart"
    stored = row.payload["render"]
    assert stored["kind"] == CHART_KIND
    assert stored["data"]["lang"] == "kk"
    chart = WeeklyChart.from_payload(stored["data"]["chart"])
    assert chart.weeks == WEEKS and dict(chart.by_category) == {"roads": (0, 0, 0, 1, 0, 0, 0, 0)}

    # Tuesday's digest has no chart; nor has any day's with the setting off.
    tuesday = ChartRecorder()
    tuesday_now = NOW + timedelta(days=1)
    assert await service(db, tuesday, catalog, i18n, weekday=0).tick(tuesday_now)
    off = ChartRecorder()
    await service(db, off, catalog, i18n, weekday=None).tick(NOW + timedelta(days=7))
    assert tuesday.rendered_rows == [] and off.rendered_rows == []
    assert len(tuesday.sent) == 2 and len(off.sent) == 2


def test_the_payload_round_trips_and_refuses_anything_else() -> None:
    chart = sample_chart()
    assert WeeklyChart.from_payload(chart.to_payload()) == chart
    broken = chart.to_payload()
    broken["answered"] = [1, 2]
    with pytest.raises(ValueError, match="per week"):
        WeeklyChart.from_payload(broken)
    with pytest.raises(ValueError):
        WeeklyChart.from_payload({"weeks": []})


# the picture


def sample_chart() -> WeeklyChart:
    categories = {
        "utilities": (31, 28, 35, 40, 44, 39, 47, 52),
        "roads": (22, 25, 19, 18, 12, 9, 8, 6),
        "lighting": (5, 7, 9, 12, 14, 15, 18, 17),
        "landscaping": (9, 8, 6, 4, 3, 2, 2, 1),
        "waste": (8, 9, 7, 6, 9, 8, 7, 9),
        "transport": (4, 3, 5, 4, 6, 5, 4, 3),
        "housing": (3, 4, 2, 3, 5, 4, 3, 2),
        "social": (2, 1, 3, 2, 1, 2, 2, 1),
        "health": (1, 2, 1, 1, 0, 1, 2, 1),
    }
    answered = (60, 58, 70, 66, 75, 72, 80, 0)
    on_time = (54, 50, 61, 55, 60, 58, 71, 0)
    return WeeklyChart(WEEKS, tuple(categories.items()), answered, on_time)


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def pixels(png: bytes) -> list[tuple[int, ...]]:
    """The decoded pixels (Pillow comes with matplotlib)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        raw = image.convert("RGB").tobytes()
    return list(zip(raw[0::3], raw[1::3], raw[2::3], strict=True))


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("ru", ["Обращения по неделям", "Коммунальные услуги", "Ответы в срок",
                "Другие категории (2)"]),
        ("kk", ["Апталар бойынша өтініштер", "Коммуналдық қызметтер", "Мерзімінде",
                "Басқа санаттар (2)"]),
    ],
)  # fmt: skip
def test_the_chart_is_drawn_in_the_chats_language(
    lang: str,
    words: list[str],
    catalog: Catalog,
    i18n: PoI18n,  # noqa: F811
) -> None:
    view = DigestChartView(catalog, i18n)
    text = view.text(sample_chart(), lang)
    everything = " ".join(
        [text.title, text.counts_title, text.share_title, text.share_axis]
        + [name for name, _ in text.series]
    )
    for word in words:
        assert word in everything
    # The seven largest categories have their own colour, the last two are folded.
    assert len(text.series) == 8 and text.series[0][0] == catalog.category("utilities").name(lang)  # type: ignore[union-attr]
    assert text.series[-1][1] == (3, 3, 4, 3, 1, 3, 4, 2)
    assert text.on_time[-1] is None  # a week without answers shows no share, not 0%

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = draw_png(text)
    # DejaVu Sans, bundled with matplotlib, has every letter: no "Glyph … missing" warning.
    assert [str(w.message) for w in caught] == []
    assert png_size(png) == (1000, 640)
    assert 20_000 < len(png) < 400_000
    data = pixels(png)
    background = sum(1 for p in data if p == (255, 255, 255)) / len(data)
    assert 0.3 < background < 0.9  # a picture, not a blank page nor a solid block
    assert len(set(data)) > 50  # the bars' colours, the line, anti-aliased text
    for colour in ((0x00, 0x72, 0xB2), (0xE6, 0x9F, 0x00), (0xA0, 0xA0, 0xA0)):
        assert colour in set(data), colour  # the first two categories and "other"
    caption = view.caption(sample_chart(), lang)
    assert len(caption) < 200 and "05.10" in caption and "29.11.2026" in caption
    assert ("в срок" if lang == "ru" else "мерзімінде") in caption


def test_a_missing_glyph_would_be_caught(catalog: Catalog, i18n: PoI18n) -> None:  # noqa: F811
    """The warning the test above counts on is real: a letter DejaVu lacks raises it."""
    with i18n.context(), i18n.use_locale("kk"):
        text = chart_text(sample_chart(), catalog, "kk")
    text = type(text)(**{**{f: getattr(text, f) for f in text.__slots__}, "title": "漢字"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw_png(text)
    assert any("missing from font" in str(w.message) for w in caught)


# the setting


@pytest.mark.parametrize(
    ("value", "expected"),
    [("monday", 0), ("Mon", 0), ("7", 6), ("пятница", 4), ("сәрсенбі", 2), ("off", None)],
)
def test_the_chart_day_setting(value: str, expected: int | None) -> None:
    settings = load_settings(_env_file=None, bot_token=TOKEN, digest_chart_weekday=value)
    assert settings.digest_chart_weekday == expected


def test_the_chart_day_defaults_to_monday_and_refuses_nonsense() -> None:
    assert load_settings(_env_file=None, bot_token=TOKEN).digest_chart_weekday == 0
    with pytest.raises(ConfigError, match="DIGEST_CHART_WEEKDAY must be a day of the week"):
        load_settings(_env_file=None, bot_token=TOKEN, digest_chart_weekday="someday")
    with pytest.raises(ConfigError, match="DIGEST_CHART_WEEKDAY"):
        load_settings(_env_file=None, bot_token=TOKEN, digest_chart_weekday="8")
