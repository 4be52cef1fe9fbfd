"""Folding of Kazakh/Russian text for matching what citizens type (never for display).

Many citizens type Kazakh names with Russian letters ("Каркаралы" for "Қарқаралы") or with
Latin look-alikes (i for і, h for һ); the glossary (§10) lists both.
"""

from __future__ import annotations

import re
import unicodedata

_LATIN_LOOKALIKES = str.maketrans(
    {"i": "і", "h": "һ", "ə": "ә", "ɵ": "ө", "ɵ".upper(): "ө", "ѳ": "ө"}
)
_KAZAKH_TO_RUSSIAN = str.maketrans("әғқңөұүһіё", "агкноуухие")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_NON_WORD = re.compile(r"[^\w]+")


def fold(text: str) -> str:
    """Lower-case, one-script, Kazakh letters folded to their Russian look-alikes."""
    text = unicodedata.normalize("NFC", text).casefold()
    if _CYRILLIC.search(text):
        text = text.translate(_LATIN_LOOKALIKES)
    else:
        # Latin Kazakh circulates in 2018 (ǵ, ń) and 2021 (ğ, ñ) spellings: match both as ASCII.
        text = "".join(
            c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
        )
    text = text.translate(_KAZAKH_TO_RUSSIAN)
    return _NON_WORD.sub(" ", text).strip()


# Kazakh Cyrillic → plain ASCII Latin, close to the 2021 alphabet with its diacritics dropped,
# so "Qaragandy" and "Qarağandy" find "Қарағанды".
_TO_LATIN = {
    "а": "a", "ә": "a", "б": "b", "в": "v", "г": "g", "ғ": "g", "д": "d", "е": "e", "ё": "io",
    "ж": "zh", "з": "z", "и": "i", "й": "i", "к": "k", "қ": "q", "л": "l", "м": "m", "н": "n",
    "ң": "n", "о": "o", "ө": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "u",
    "ү": "u", "ф": "f", "х": "h", "һ": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sh", "ъ": "",
    "ы": "y", "і": "i", "ь": "", "э": "e", "ю": "iu", "я": "ia",
}  # fmt: skip


def latin_key(text: str) -> str:
    """An ASCII search key for a Cyrillic name, for citizens who type in Latin letters."""
    lowered = unicodedata.normalize("NFC", text).casefold()
    return fold("".join(_TO_LATIN.get(c, c) for c in lowered))
