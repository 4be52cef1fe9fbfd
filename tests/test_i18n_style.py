"""House rules of the kk and ru wording that a reader notices (language review, November
2026): a date never runs into a full stop («2026 г..»), and Kazakh addresses the citizen as
«Сіз» with a capital, in every case form."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.domain.catalog import BUNDLED_CATALOG
from i18n.core import LANGUAGES, LOCALES_DIR
from i18n.formatting import long_date

ROOT = Path(__file__).resolve().parent.parent
# The placeholders the code fills with `long_date(...)` (checked below against the code).
# "when": a meeting's date and time; "first_day", "last_day": the weekly chart's first and last day.
DATE_PLACEHOLDERS = frozenset({"date", "due", "when", "first_day", "last_day"})
# A long date in both languages, the last day of a month and one with a one-digit day.
SAMPLE_DAYS = (date(2026, 12, 31), date(2027, 1, 5))
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Two full stops in a row, not an ellipsis typed as three.
DOUBLE_STOP = re.compile(r"(?<!\.)\.\.(?!\.)")
# A word that starts with the pronoun in lower case: сіз, сізге, сізбен, сіздің, сізден …
# Words that merely end in -сіз (келесіз, жазыласыз ба, өшіресіз бе) are verbs, not the
# pronoun, and are left alone by the look-behind.
LOWER_SIZ = re.compile(r"(?<![\w-])сіз\w*")


def translations(lang: str) -> list[tuple[str, str]]:
    """(msgid, msgstr) for every form of every translated message of the catalog."""
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "bot.po").open("rb") as fp:
        catalog = read_po(fp, locale=lang)
    pairs = []
    for message in catalog:
        if not message.id:
            continue
        msgid = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        pairs += [(str(msgid), str(s)) for s in strings if s]
    return pairs


def render(template: str, day: date, lang: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return long_date(day, lang) if name in DATE_PLACEHOLDERS else f"<{name}>"

    return PLACEHOLDER.sub(value, template)


def test_long_dates_of_both_languages_end_the_way_the_rule_expects() -> None:
    # The rule matters because the Russian long date ends in an abbreviation's full stop.
    assert long_date(SAMPLE_DAYS[0], "ru").endswith("г.")
    assert not long_date(SAMPLE_DAYS[0], "kk").endswith(".")


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("day", SAMPLE_DAYS)
def test_no_message_puts_a_full_stop_after_a_date(lang: str, day: date) -> None:
    doubled = [
        f"{msgid!r} → {text!r}"
        for msgid, template in translations(lang)
        if DOUBLE_STOP.search(text := render(template, day, lang))
    ]
    assert not doubled, "\n".join(doubled)


def test_the_date_placeholders_are_the_ones_the_code_fills_with_dates() -> None:
    """If the code starts passing a long date under another name, the check above must know."""
    keyword = re.compile(r"\b(\w+)=(?:long_date|date_time)\(")
    used = {
        name
        for package in ("bot", "handlers")
        for path in (ROOT / package).rglob("*.py")
        for name in keyword.findall(path.read_text(encoding="utf-8"))
    }
    assert used and used <= DATE_PLACEHOLDERS, used


def kazakh_data_strings() -> list[tuple[str, str]]:
    """The Kazakh texts of the bundled catalog (kinds' hints, templates, receptions)."""
    found: list[tuple[str, str]] = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and (key == "kk" or key.endswith("_kk")):
                    found.append((f"{where}.{key}", value))
                else:
                    walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for n, item in enumerate(node):
                walk(item, f"{where}[{n}]")

    walk(tomllib.loads(BUNDLED_CATALOG.read_text(encoding="utf-8")), "catalog")
    return found


def test_kazakh_says_siz_with_a_capital() -> None:
    lower = [
        f"{where!r}: {LOWER_SIZ.findall(text)} in {text!r}"
        for where, text in translations("kk") + kazakh_data_strings()
        if LOWER_SIZ.search(text)
    ]
    assert not lower, "\n".join(lower)


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("Қабылдауға келу үшін сізге бір нәрсе қажет пе?", True),
        ("уақыт өзгерсе сізбен байланысу үшін", True),
        ("сіздің өтінішіңіз", True),
        ("Сізге, Сізбен, Сіздің, Сіз", False),
        ("Жазыласыз ба? Өшіресіз бе? Келесіз.", False),
        ("бейсенбі, сәрсенбі", False),
    ],
)
def test_the_siz_rule_tells_the_pronoun_from_words_that_contain_it(
    text: str, flagged: bool
) -> None:
    assert bool(LOWER_SIZ.search(text)) is flagged
