"""The weekly chart over HTTP: on DIGEST_CHART_WEEKDAY the morning digest to the officials'
chat is followed by a photo drawn when the outbox sends it; on other days there is none; a
chart that cannot be drawn costs the chart only, never the digest."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

import bot.views.digest_chart
from tests.conftest import ALMATY, OFFICIALS, Harness
from tests.fakeapi import Call
from tests.test_digest_chart import png_size
from tests.test_e2e_appeal import reach_review, rows

pytestmark = pytest.mark.e2e
CITIZEN = 811


def at(day: int, month: int = 11) -> datetime:
    """10:00 in Almaty, after DIGEST_TIME (09:00), on that day of 2026."""
    return datetime(2026, month, day, 10, 0, tzinfo=ALMATY).astimezone(UTC)


async def file_one_appeal(h: Harness) -> None:
    """On Monday 23 November (the harness's day): in the week the next Monday's chart shows."""
    review = await reach_review(h, CITIZEN)
    await h.confirm(CITIZEN, review, "✅", expect="2026-00001")


def digests_to_officials(h: Harness, since: int, day: str) -> list[Call]:
    return [
        c
        for c in h.fake.calls[since:]
        if c.method == "sendMessage"
        and not c.failed
        and h.fake.chat_of(c) == OFFICIALS
        and f"Сводка за {day}" in (c.text or "")
    ]


def photos_to_officials(h: Harness, since: int) -> list[Call]:
    return [
        c
        for c in h.fake.calls[since:]
        if c.method == "sendPhoto" and h.fake.chat_of(c) == OFFICIALS
    ]


async def test_the_monday_digest_carries_the_chart_and_tuesdays_does_not(
    harness: Harness,
) -> None:
    h = harness
    # Monday 23 November: nothing in the 8 weeks before, so today's digest has no chart.
    await h.fake.wait_for(lambda c: "Сводка за 22 ноября" in (c.text or ""))
    await file_one_appeal(h)
    assert photos_to_officials(h, 0) == []

    # A Bot API hiccup on the first upload: the retry draws the picture again.
    h.fake.fail_next("sendPhoto", 502, "Bad Gateway")
    h.clock.at = at(30)
    since = h.fake.mark()
    await h.restart()
    photo = await h.fake.wait_for(
        lambda c: c.method == "sendPhoto" and h.fake.chat_of(c) == OFFICIALS and not c.failed,
        since=since,
    )
    await h.app.sender.drain()
    digest = digests_to_officials(h, since, "29 ноября")
    assert len(digest) == 1 and digest[0].ts < photo.ts  # the text first, then its chart
    caption = str(photo.params.get("caption"))
    assert "23.11 – 29.11.2026" not in caption  # 8 weeks, not one
    assert caption.startswith("📈 05.10 – 29.11.2026")
    assert "новых обращений — 1" in caption
    png = h.fake.uploaded(photo, "photo")
    assert png_size(png) == (1000, 640)
    attempts = photos_to_officials(h, since)
    assert [c.failed for c in attempts] == [True, False]
    assert all(isinstance(c.params.get("photo"), dict) for c in attempts)  # uploaded each time
    # The row kept the numbers, not the picture.
    (row,) = rows(h, "SELECT payload, sent_at FROM outbox WHERE method = 'sendPhoto'")
    assert row["sent_at"] is not None
    assert len(str(row["payload"])) < 1000 and '"digest-chart"' in str(row["payload"])

    # Tuesday: the digest, no chart.
    h.clock.at = at(1, 12)
    since = h.fake.mark()
    await h.restart()
    await h.fake.wait_for(lambda c: "Сводка за 30 ноября" in (c.text or ""), since=since)
    await h.app.sender.drain()
    assert photos_to_officials(h, since) == []


def broken(text: object) -> bytes:
    """Drawing that fails (in the report worker's process: pickled by reference)."""
    raise MemoryError("no room for a figure")


async def test_a_chart_that_cannot_be_drawn_costs_only_the_chart(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    await file_one_appeal(h)
    monkeypatch.setattr(bot.views.digest_chart, "draw_png", broken)
    h.clock.at = at(30)
    since = h.fake.mark()
    with caplog.at_level(logging.ERROR, logger="bot.delivery.sender"):
        await h.restart()
        await h.fake.wait_for(lambda c: "Сводка за 29 ноября" in (c.text or ""), since=since)
        await h.app.sender.drain()
    assert len(digests_to_officials(h, since, "29 ноября")) == 1
    assert photos_to_officials(h, since) == []
    (row,) = rows(h, "SELECT dropped_at, last_error FROM outbox WHERE method = 'sendPhoto'")
    assert row["dropped_at"] is not None and "no room for a figure" in row["last_error"]
    assert any("could not render digest-chart" in r.getMessage() for r in caplog.records)
