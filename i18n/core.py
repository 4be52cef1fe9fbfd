"""gettext catalogs compiled from the .po sources when the bot starts.

Compiling in memory (Babel) instead of shipping .mo files means a stale .mo can never hide an
edited .po: what runs is always what the translators wrote.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n.context import get_i18n
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "bot"
LANGUAGES = ("kk", "ru")


def compile_po(po_path: Path) -> gettext.GNUTranslations:
    with po_path.open("rb") as fp:
        catalog = read_po(fp, locale=po_path.parent.parent.name, domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class PoI18n(I18n):
    def __init__(self, default_locale: str = "kk") -> None:
        super().__init__(path=LOCALES_DIR, default_locale=default_locale, domain=DOMAIN)

    @contextmanager
    def context(self) -> Iterator[I18n]:
        # aiogram looks the current instance up on the I18n class itself; its mixin gives each
        # subclass a context variable of its own, so register on the base class.
        token = I18n.set_current(self)
        try:
            yield self
        finally:
            I18n.reset_current(token)

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        return {
            lang: compile_po(LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po")
            for lang in LANGUAGES
        }


def ngettext(singular: str, plural: str, n: int) -> str:
    return get_i18n().gettext(singular, plural, n)


def gettext_in(locale: str, message: str) -> str:
    """A message in a given language, outside the current update's locale."""
    return get_i18n().gettext(message, locale=locale)
