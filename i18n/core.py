"""gettext catalogs compiled from the .po sources when the bot starts.

Compiling from the .po (Babel) instead of shipping .mo files means a stale .mo can never hide
an edited .po: what runs is always what the translators wrote. The compiled catalog is kept
next to its .po, under `__pycache__`, named by the SHA-256 of the .po's bytes, as Python keeps
bytecode: a start whose .po is unchanged loads it (a millisecond) instead of parsing the .po
again (some 20 ms of start-up for the two languages, README → Performance); an edited .po has
another digest, so it is compiled again.
"""

from __future__ import annotations

import gettext
import hashlib
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n.context import get_i18n

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "bot"
LANGUAGES = ("kk", "ru")
CACHE_DIR = "__pycache__"
# Part of the cached file's name: raised if what compile_po makes of a .po ever changes.
CACHE_VERSION = 1


def compile_po(po_path: Path) -> gettext.GNUTranslations:
    source = po_path.read_bytes()
    digest = hashlib.sha256(source).hexdigest()[:32]
    cache_dir = po_path.parent / CACHE_DIR
    cached = cache_dir / f"{po_path.stem}.{CACHE_VERSION}.{digest}.mo"
    try:
        return gettext.GNUTranslations(BytesIO(cached.read_bytes()))
    except (OSError, ValueError, struct.error):  # not compiled yet, or unreadable
        pass
    compiled = _compile(source, locale=po_path.parent.parent.name)
    _store(cached, compiled)
    return gettext.GNUTranslations(BytesIO(compiled))


def _compile(source: bytes, locale: str) -> bytes:
    # Babel is imported only when a .po has to be compiled.
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    catalog = read_po(BytesIO(source), locale=locale, domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def _store(cached: Path, compiled: bytes) -> None:
    """Best effort, as Python's bytecode: a read-only checkout compiles at every start."""
    try:
        cached.parent.mkdir(exist_ok=True)
        # Written aside and renamed: an instance starting alongside never reads half a file.
        partial = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
        partial.write_bytes(compiled)
        os.replace(partial, cached)
        # The catalogs of earlier versions of this .po are of no more use.
        for old in cached.parent.glob(f"{cached.name.split('.')[0]}.*.mo"):
            if old != cached:
                old.unlink(missing_ok=True)
    except OSError:
        pass


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
