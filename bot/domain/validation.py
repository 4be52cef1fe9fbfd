"""Checks on what a citizen types, independent of Telegram."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum, StrEnum

from bot.domain.catalog import Limits


class TextProblem(Enum):
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"


@dataclass(frozen=True)
class TextCheck:
    text: str
    problem: TextProblem | None


# Letters that show as nothing: the Hangul fillers and the blank Braille pattern, which people
# use to send a message that looks empty.
BLANK_LETTERS = frozenset("\u115f\u1160\u2800\u3164\uffa0")


def shows(char: str) -> bool:
    """Whether `char` shows on the screen: format characters (zero-width spaces and joiners,
    direction marks and overrides, the BOM, the soft hyphen) and the blank letters do not."""
    return char not in BLANK_LETTERS and unicodedata.category(char) != "Cf"


def visible_length(text: str) -> int:
    """The length of `text` as a reader sees it: what does not show left out, runs of spaces
    counted once, and none at either end. A minimum length is a minimum of this: twenty
    zero-width spaces are no description of a problem."""
    seen = "".join(char for char in text if shows(char))
    return len(re.sub(r"\s+", " ", seen).strip())


def check_appeal_text(raw: str, limits: Limits) -> TextCheck:
    text = re.sub(r"[ \t]+", " ", raw).strip()
    if visible_length(text) < limits.text_min:
        return TextCheck(text, TextProblem.TOO_SHORT)
    if len(text) > limits.text_max:
        return TextCheck(text, TextProblem.TOO_LONG)
    return TextCheck(text, None)


def addition_text(raw: str | None) -> str:
    """What of a text sent as an addition to an appeal or as the answer to an officials'
    question counts: the text without spaces at either end, or "" when nothing of it shows
    (the rule of the appeal's own text, `visible_length`, with no minimum beyond one
    character a reader sees: "Да" answers a question). A file sent with such a caption is a
    file without a text, which an addition may be."""
    text = (raw or "").strip()
    return text if visible_length(text) > 0 else ""


# A booking's question: what the citizen wants to talk about at the reception.
BOOKING_QUESTION_MIN = 10
BOOKING_QUESTION_MAX = 1000


def check_booking_question(raw: str | None) -> TextCheck:
    text = (raw or "").strip()
    if visible_length(text) < BOOKING_QUESTION_MIN:
        return TextCheck(text, TextProblem.TOO_SHORT)
    if len(text) > BOOKING_QUESTION_MAX:
        return TextCheck(text, TextProblem.TOO_LONG)
    return TextCheck(text, None)


def kazakhstan_phone(raw: str) -> str | None:
    """+7XXXXXXXXXX for a Kazakhstan number typed in any usual way, else None.

    Kazakhstan shares +7 with Russia; its national numbers start with 7 (mobile 70x/747/75x/
    77x, city codes 71x/72x), Russia's with 3, 4, 8 or 9.
    """
    if re.search(r"[^\d\s()+\-.]", raw):
        return None
    digits = re.sub(r"\D", "", raw)
    if len(digits) == 11 and digits[0] in "78":
        digits = digits[1:]
    if len(digits) != 10 or digits[0] != "7":
        return None
    return "+7" + digits


def display_phone(phone: str) -> str:
    d = phone.removeprefix("+7")
    if len(d) != 10:
        return phone
    return f"+7 {d[:3]} {d[3:6]} {d[6:8]} {d[8:]}"


# --- who is appealing ---------------------------------------------------------------------

# The Kazakh Cyrillic alphabet (42 letters) holds the Russian one (33).
KAZAKH_CYRILLIC = frozenset(
    "АӘБВГҒДЕЁЖЗИЙКҚЛМНҢОӨПРСТУҰҮФХҺЦЧШЩЪЫІЬЭЮЯаәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя"
)
# Inside a word only: Кемел-Ұлы, O'Neil. Phones turn a typed ' into ’ (or ʼ) on their own.
JOINERS = "-'’ʼ"
NAME_WORDS = (2, 3)  # surname and first name, and the patronymic for those who have one
# With a phone of up to 16 characters and an address of ADDRESS_MAX, the whole contact fits
# the 200 characters of the alert officials read it in (bot.views.card.contact_alert).
NAME_MAX = 60


class NameProblem(Enum):
    CHARACTERS = "characters"  # something other than letters, a hyphen or an apostrophe
    WORDS = "words"  # not two or three words
    TOO_LONG = "too_long"


@dataclass(frozen=True)
class NameCheck:
    name: str  # trimmed, spaces collapsed, capitalisation as typed
    problem: NameProblem | None


def is_name_letter(char: str) -> bool:
    """A letter of the Kazakh or Russian Cyrillic alphabet, or a Latin letter (with its
    diacritics: Kazakh in Latin script writes ä, ğ, ş, ū)."""
    if char in KAZAKH_CYRILLIC:
        return True
    return char.isalpha() and unicodedata.name(char, "").startswith("LATIN ")


def is_name_word(word: str) -> bool:
    """Letters, with a hyphen or an apostrophe only between two of them."""
    previous_was_letter = False
    for char in word:
        if is_name_letter(char):
            previous_was_letter = True
        elif char in JOINERS and previous_was_letter:
            previous_was_letter = False
        else:
            return False
    return previous_was_letter


def check_full_name(raw: str) -> NameCheck:
    """A full name as the law needs it on an appeal: surname, first name and the patronymic
    if there is one. A single word, a nickname or an emoji would leave the appeal anonymous."""
    # NFC: a letter typed as a base and a combining mark (и + ̆) becomes the one letter (й).
    name = " ".join(unicodedata.normalize("NFC", raw).split())
    words = name.split(" ") if name else []
    if not all(is_name_word(word) for word in words):
        return NameCheck(name, NameProblem.CHARACTERS)
    if not NAME_WORDS[0] <= len(words) <= NAME_WORDS[1]:
        return NameCheck(name, NameProblem.WORDS)
    if len(name) > NAME_MAX:
        return NameCheck(name, NameProblem.TOO_LONG)
    return NameCheck(name, None)


# --- where a written answer goes ----------------------------------------------------------

# In UTF-16 units, Telegram's measure of the alert that shows it (see NAME_MAX). A full rural
# address ("161100, Түркістан облысы, Сарыағаш ауданы, Қызылжар ауылы, Абай көшесі, 25")
# takes about 80.
ADDRESS_MAX = 120
POSTAL_MIN = 10  # "нет", "не нужно": an answer to the question, not an address
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"  # local part
    r"@(?:[^\W_](?:[\w-]*[^\W_])?\.)+(?:[^\W\d_]{2,}|xn--[a-z0-9-]+)"  # domain: .kz, .қаз
)


class AddressKind(StrEnum):
    EMAIL = "email"
    POSTAL = "postal"


class AddressProblem(Enum):
    BAD_EMAIL = "bad_email"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"


@dataclass(frozen=True)
class AddressCheck:
    address: str
    kind: AddressKind
    problem: AddressProblem | None


def check_reply_address(raw: str) -> AddressCheck:
    """An e-mail (anything with an @ is taken for one and must be a valid address) or a
    postal address, free text of a sensible length."""
    address = " ".join(unicodedata.normalize("NFC", raw).split())
    if "@" in address:
        valid = _EMAIL.fullmatch(address) is not None and len(address.split("@")[0]) <= 64
        problem = None if valid else AddressProblem.BAD_EMAIL
        if valid and utf16_len(address) > ADDRESS_MAX:
            problem = AddressProblem.TOO_LONG
        return AddressCheck(address, AddressKind.EMAIL, problem)
    if len(address) < POSTAL_MIN:
        return AddressCheck(address, AddressKind.POSTAL, AddressProblem.TOO_SHORT)
    if utf16_len(address) > ADDRESS_MAX:
        return AddressCheck(address, AddressKind.POSTAL, AddressProblem.TOO_LONG)
    return AddressCheck(address, AddressKind.POSTAL, None)


def one_line(raw: str | None) -> str:
    """What an official typed for a one-line field: spaces and line breaks collapse to one."""
    return re.sub(r"\s+", " ", raw or "").strip()


def utf16_len(text: str) -> int:
    """Telegram measures texts in UTF-16 code units: an emoji outside the BMP counts two."""
    return len(text.encode("utf-16-le")) // 2


# --- files a citizen attaches -------------------------------------------------------------

# Telegram lets a bot download a file (getFile) only up to 20 MB. Officials open, keep and
# export what is attached, so a bigger file would be a card they cannot use.
FILE_MAX_MB = 20
FILE_MAX_BYTES = FILE_MAX_MB * 1024 * 1024
# Documents of the common office and image kinds (issue #10), by extension, and the MIME
# types clients report for them. A photo sent as a photo is always fine: Telegram compresses
# it. The extension decides, as it decides which program opens the file on the officials'
# computers; the MIME type only when the name has none (clients guess it from the name, and
# some send application/octet-stream or application/zip for a .docx).
DOCUMENT_TYPES: dict[str, frozenset[str]] = {
    "pdf": frozenset({"application/pdf"}),
    "doc": frozenset({"application/msword"}),
    "docx": frozenset({"application/vnd.openxmlformats-officedocument.wordprocessingml.document"}),
    "xls": frozenset({"application/vnd.ms-excel"}),
    "xlsx": frozenset({"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}),
    "odt": frozenset({"application/vnd.oasis.opendocument.text"}),
    "jpg": frozenset({"image/jpeg"}),
    "jpeg": frozenset({"image/jpeg"}),
    "png": frozenset({"image/png"}),
    "heic": frozenset({"image/heic", "image/heif"}),
}
DOCUMENT_MIME_TYPES = frozenset().union(*DOCUMENT_TYPES.values())
# As the citizen is told them: one name per kind ("jpeg" is another spelling of "jpg").
DOCUMENT_KINDS = ("PDF", "DOC", "DOCX", "XLS", "XLSX", "ODT", "JPG", "PNG", "HEIC")


class FileProblem(Enum):
    TYPE = "type"  # not one of DOCUMENT_TYPES
    TOO_BIG = "too_big"  # over FILE_MAX_BYTES


def file_extension(file_name: str | None) -> str:
    """ "pdf" for "Акт.PDF"; "" for a name without one (".bashrc", "README", None)."""
    stem, dot, extension = (file_name or "").strip().rpartition(".")
    return extension.lower() if dot and stem else ""


def check_document(
    file_name: str | None, mime_type: str | None, file_size: int | None
) -> FileProblem | None:
    """Whether a document may be attached to an appeal or an addition. A size Telegram did
    not report is taken as fine (it reports it for documents)."""
    extension = file_extension(file_name)
    if extension:
        known = extension in DOCUMENT_TYPES
    else:
        known = (mime_type or "").lower() in DOCUMENT_MIME_TYPES
    if not known:
        return FileProblem.TYPE
    if file_size is not None and file_size > FILE_MAX_BYTES:
        return FileProblem.TOO_BIG
    return None
