"""Both catalogs are complete: every message the code uses has a kk and a ru translation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from i18n.core import CACHE_DIR, LANGUAGES, LOCALES_DIR, PoI18n, compile_po
from i18n.formatting import long_date

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "ngettext": (1, 2), "in_every_language": None, "reply_labels": None}
PLACEHOLDER = re.compile(r"\{\w+\}")


def used_messages() -> set[str]:
    found: set[str] = set()
    for package in ("bot", "handlers"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / package, keywords=KEYWORDS, comment_tags=()
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated(lang: str) -> None:
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "bot.po").open("rb") as fp:
        catalog = read_po(fp, locale=lang)
    problems = []
    for msgid in sorted(used_messages()):
        message = catalog.get(msgid)
        if message is None:
            problems.append(f"missing: {msgid!r}")
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated or fuzzy: {msgid!r}")
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = set(PLACEHOLDER.findall(" ".join(str(i) for i in ids)))
        if any(set(PLACEHOLDER.findall(str(s))) - wanted for s in strings):
            problems.append(f"unknown placeholder in translation of {msgid!r}")
    assert not problems, f"{lang}: " + "\n".join(problems)


def test_catalogs_load_from_po_sources() -> None:
    i18n = PoI18n()
    assert set(i18n.available_locales) == set(LANGUAGES)
    assert i18n.gettext("⬅️ Back", locale="kk") == "⬅️ Артқа"
    assert i18n.gettext("⬅️ Back", locale="ru") == "⬅️ Назад"


@pytest.mark.parametrize(
    ("lang", "n", "expected"),
    [
        ("ru", 1, "1 день"),
        ("ru", 2, "2 дня"),
        ("ru", 5, "5 дней"),
        ("ru", 21, "21 день"),
        ("kk", 1, "1 күн"),
        ("kk", 2, "2 күн"),
        ("kk", 5, "5 күн"),
    ],
)
def test_plurals(lang: str, n: int, expected: str) -> None:
    i18n = PoI18n()
    text = i18n.gettext("{n} day left", "{n} days left", n, locale=lang).format(n=n)
    assert expected in text


def test_dates_in_the_citizens_language() -> None:
    from datetime import date

    assert long_date(date(2026, 12, 22), "ru") == "22 декабря 2026\u00a0г."
    assert long_date(date(2026, 12, 22), "kk") == "2026\u00a0ж. 22 желтоқсан"


def test_an_edited_po_is_compiled_again_not_read_from_the_cache(tmp_path: Path) -> None:
    # The compiled catalog is cached by the .po's digest (i18n.core.compile_po); what runs is
    # still what the .po says, edited or not, and a cache that cannot be read is compiled over.
    source = LOCALES_DIR / "ru" / "LC_MESSAGES" / "bot.po"
    po = tmp_path / "ru" / "LC_MESSAGES" / "bot.po"
    po.parent.mkdir(parents=True)
    po.write_bytes(source.read_bytes())
    original = compile_po(po).gettext("Help")
    assert original != "Help"
    assert compile_po(po).gettext("Help") == original  # from the cache
    [cached] = (po.parent / CACHE_DIR).glob("bot.*.mo")

    edited = source.read_text(encoding="utf-8").replace(
        f'msgid "Help"\nmsgstr "{original}"', 'msgid "Help"\nmsgstr "Помогите"'
    )
    assert 'msgstr "Помогите"' in edited
    po.write_text(edited, encoding="utf-8")
    assert compile_po(po).gettext("Help") == "Помогите"
    # The catalog of the earlier text is gone; only the current one is kept.
    assert [p.name for p in (po.parent / CACHE_DIR).glob("bot.*.mo")] != [cached.name]
    assert len(list((po.parent / CACHE_DIR).glob("bot.*.mo"))) == 1

    [current] = (po.parent / CACHE_DIR).glob("bot.*.mo")
    current.write_bytes(b"not a catalog")
    assert compile_po(po).gettext("Help") == "Помогите"
