"""How values are written to and read from the database's text columns, for every store.

Instants are stored as UTC ISO 8601 text: comparing the strings then compares the instants,
so ranges and ORDER BY work on the text and its indexes. JSON (outbox payloads, a booking's
access needs, dialog data) is stored compact, non-ASCII as is.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any


def encode_instant(value: datetime) -> str:
    """UTC ISO text, so that comparing the strings compares the instants."""
    return value.astimezone(UTC).isoformat()


def decode_instant(text: str) -> datetime:
    """An instant as stored (aware, UTC): what `encode_instant` wrote."""
    return datetime.fromisoformat(text)


def decode_optional_instant(text: str | None) -> datetime | None:
    """A nullable instant column: NULL (or empty) is None."""
    return decode_instant(text) if text else None


def decode_utc_instant(text: str | None) -> datetime | None:
    """A nullable instant normalised to UTC, whatever offset older rows were written with
    (reports compare and subtract these)."""
    return datetime.fromisoformat(text).astimezone(UTC) if text else None


def encode_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def decode_json(text: str) -> Any:
    return json.loads(text)
