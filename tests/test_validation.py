"""What citizens type: phone numbers, appeal text, place names, status rules."""

from __future__ import annotations

import pytest

from bot.domain.catalog import Catalog, Limits, Territory
from bot.domain.status import can_transition, is_open
from bot.domain.textfold import fold
from bot.domain.validation import (
    FILE_MAX_BYTES,
    AddressKind,
    AddressProblem,
    FileProblem,
    NameProblem,
    TextProblem,
    check_appeal_text,
    check_document,
    check_full_name,
    check_reply_address,
    display_phone,
    file_extension,
    kazakhstan_phone,
)
from storage.models import Status


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("+7 701 234 56 78", "+77012345678"),
        ("87012345678", "+77012345678"),
        ("8 (701) 234-56-78", "+77012345678"),
        ("7012345678", "+77012345678"),
        ("+7 727 250 00 00", "+77272500000"),  # Almaty landline
        ("+7 916 123 45 67", None),  # Russian mobile
        ("12345", None),
        ("+44 20 7946 0958", None),
        ("call me", None),
        ("", None),
    ],
)
def test_kazakhstan_phone(typed: str, expected: str | None) -> None:
    assert kazakhstan_phone(typed) == expected


def test_display_phone() -> None:
    assert display_phone("+77012345678") == "+7 701 234 56 78"


def test_appeal_text_limits() -> None:
    limits = Limits(text_min=10, text_max=3500)
    assert check_appeal_text("   коротко  ", limits).problem is TextProblem.TOO_SHORT
    assert check_appeal_text("x" * 3501, limits).problem is TextProblem.TOO_LONG
    ok = check_appeal_text("  Жол   бұзылған, өтуге болмайды  ", limits)
    assert ok.problem is None and ok.text == "Жол бұзылған, өтуге болмайды"


def test_fold_matches_russian_letter_spellings_and_latin_lookalikes() -> None:
    assert fold("Қарқаралы") == fold("Каркаралы")
    assert fold("Осақаров") == fold("осакаров")
    assert fold("Абаi") == fold("Абай".replace("й", "і"))  # Latin i typed for і


def test_district_search_by_code_never_by_name(catalog: Catalog) -> None:
    t = catalog.territory
    abai_districts = [
        d for r in t.regions for d in t.districts_of(r.code) if fold(d.kk) == fold("Абай ауданы")
    ]
    assert len({d.code for d in abai_districts}) == len(abai_districts) >= 2
    karaganda = t.place("350000000")
    assert karaganda is not None
    found = Territory.search(t.districts_of("350000000"), "каркаралы")
    assert [p.code for p in found] == ["354800000"]
    assert [p.code for p in Territory.search(t.regions, "Qarağandy")] == ["350000000"]


def test_baikonyr_is_hidden_by_the_bundled_catalog(catalog: Catalog) -> None:
    assert catalog.territory.place("431900000") is None


def test_status_rules() -> None:
    assert can_transition(Status.REGISTERED, Status.IN_PROGRESS)
    assert can_transition(Status.ANSWERED, Status.IN_PROGRESS)  # "not solved" re-opens
    assert not can_transition(Status.CLOSED, Status.IN_PROGRESS)
    assert not can_transition(Status.REGISTERED, Status.CLOSED)
    assert is_open(Status.FORWARDED) and not is_open(Status.ANSWERED)
    assert "rejected" not in {s.value for s in Status}  # the law forbids refusing to accept


LONGEST_NAME = "Һ" + "а" * 20 + " Ә" + "б" * 20 + " Ө" + "в" * 15
assert len(LONGEST_NAME) == 60


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Серікова Айгүл Қайратқызы", "Серікова Айгүл Қайратқызы"),
        ("  Иванов   Иван\tИванович ", "Иванов Иван Иванович"),  # trimmed, spaces collapsed
        ("Кемел-Ұлы Ерлан", "Кемел-Ұлы Ерлан"),  # a hyphen inside a word
        ("O'Neil Mary", "O'Neil Mary"),  # an apostrophe inside a word
        ("O’Neil Mary", "O’Neil Mary"),  # the apostrophe a phone puts in place of '
        ("Şynar Ūlbosyn", "Şynar Ūlbosyn"),  # Kazakh in Latin script, with its diacritics
        ("әлібек ғани", "әлібек ғани"),  # capitalisation kept as typed
        ("О Сергей", "О Сергей"),  # a one-letter Korean surname
        (LONGEST_NAME, None),
        ("Ёлкин Пётр", "Ёлкин Пётр"),
        ("Ёлкин Пе\u0308тр", "Ёлкин Пётр"),  # a combining diaeresis becomes the one letter
    ],
)
def test_full_names_accepted(typed: str, expected: str | None) -> None:
    checked = check_full_name(typed)
    assert checked.problem is None
    assert checked.name == (expected if expected is not None else typed)


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("Айгүл", NameProblem.WORDS),  # a single word
        ("", NameProblem.WORDS),
        ("Иванов Иван Иванович Младший", NameProblem.WORDS),  # four words
        ("🌸🌸 🌼🌼", NameProblem.CHARACTERS),  # emoji
        ("Иванов И.", NameProblem.CHARACTERS),  # initials with a dot
        ("-Иванов Иван", NameProblem.CHARACTERS),  # a word starts with a letter
        ("Иванов- Иван", NameProblem.CHARACTERS),  # … and ends with one
        ("Кемел--Ұлы Ерлан", NameProblem.CHARACTERS),
        ("Иванов 2 Иван", NameProblem.CHARACTERS),
        ("<b>Иван</b> Петров", NameProblem.CHARACTERS),
        ("Ivanov_Ivan Petrov", NameProblem.CHARACTERS),
        ("Петренко Їжак", NameProblem.CHARACTERS),  # Ukrainian ї is neither alphabet's
        ("Ἀλέξανδρος Παπαδόπουλος", NameProblem.CHARACTERS),  # Greek
        ("𝐈𝐯𝐚𝐧 𝐈𝐯𝐚𝐧𝐨𝐯", NameProblem.CHARACTERS),  # mathematical letters are not Latin
        (LONGEST_NAME + "а", NameProblem.TOO_LONG),
    ],
)
def test_full_names_refused(typed: str, problem: NameProblem) -> None:
    assert check_full_name(typed).problem is problem


@pytest.mark.parametrize(
    ("typed", "kind", "problem"),
    [
        ("aigul.serikova@mail.kz", AddressKind.EMAIL, None),
        ("  Aigul+akimat@Gmail.com ", AddressKind.EMAIL, None),
        ("айгүл@пошта.қаз".replace("айгүл", "aigul"), AddressKind.EMAIL, None),
        ("a@b.xn--80ao21a", AddressKind.EMAIL, None),
        ("aigul@mail", AddressKind.EMAIL, AddressProblem.BAD_EMAIL),
        ("aigul@@mail.kz", AddressKind.EMAIL, AddressProblem.BAD_EMAIL),
        ("aigul @mail.kz", AddressKind.EMAIL, AddressProblem.BAD_EMAIL),
        (".aigul@mail.kz", AddressKind.EMAIL, AddressProblem.BAD_EMAIL),
        ("aigul@-mail.kz", AddressKind.EMAIL, AddressProblem.BAD_EMAIL),
        ("a" * 65 + "@mail.kz", AddressKind.EMAIL, AddressProblem.BAD_EMAIL),
        ("a" * 60 + "@" + "b" * 60 + ".kz", AddressKind.EMAIL, AddressProblem.TOO_LONG),
        ("100000, г. Караганда, ул. Бухар жырау, 47, кв. 12", AddressKind.POSTAL, None),
        ("Қызылжар ауылы, Абай көшесі, 25", AddressKind.POSTAL, None),
        ("нет", AddressKind.POSTAL, AddressProblem.TOO_SHORT),
        ("не нужно", AddressKind.POSTAL, AddressProblem.TOO_SHORT),
        ("к" * 120, AddressKind.POSTAL, None),
        ("к" * 121, AddressKind.POSTAL, AddressProblem.TOO_LONG),
        ("🏠" * 61, AddressKind.POSTAL, AddressProblem.TOO_LONG),  # 122 UTF-16 units
    ],
)
def test_reply_address(typed: str, kind: AddressKind, problem: AddressProblem | None) -> None:
    checked = check_reply_address(typed)
    assert (checked.kind, checked.problem) == (kind, problem)
    assert checked.address == " ".join(typed.split())


# --- files a citizen attaches -------------------------------------------------------------

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.mark.parametrize(
    ("name", "mime"),
    [
        ("Акт обследования.pdf", "application/pdf"),
        ("ЖАЛОБА.PDF", "application/pdf"),
        ("заявление.doc", "application/msword"),
        ("заявление.docx", DOCX),
        ("смета.xls", "application/vnd.ms-excel"),
        ("смета.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("хат.odt", "application/vnd.oasis.opendocument.text"),
        ("IMG_0001.JPG", "image/jpeg"),
        ("scan.jpeg", "image/jpeg"),
        ("схема.png", "image/png"),
        ("IMG_2024.HEIC", "image/heic"),
        # Clients that do not know the type, or call a .docx what it is inside: the name says.
        ("заявление.docx", "application/octet-stream"),
        ("заявление.docx", "application/zip"),
        ("scan.pdf", None),
        # No extension: the MIME type says.
        (None, "application/pdf"),
        ("scan", "image/heif"),
    ],
)
def test_office_and_image_documents_are_attached(name: str | None, mime: str | None) -> None:
    assert check_document(name, mime, 2_000_000) is None


@pytest.mark.parametrize(
    ("name", "mime"),
    [
        ("setup.exe", "application/x-msdownload"),
        ("архив.zip", "application/zip"),
        ("видео.mp4", "video/mp4"),
        ("animation.gif.mp4", "video/mp4"),  # a GIF, as Telegram sends one
        ("голос.ogg", "audio/ogg"),
        ("page.html", "text/html"),
        ("notes.txt", "text/plain"),
        ("scan.pdf.exe", "application/pdf"),  # the last extension is the one that opens it
        (None, None),
        ("README", "application/octet-stream"),
        (".pdf", None),  # a hidden file called "pdf", not a PDF
    ],
)
def test_other_documents_are_refused_by_type(name: str | None, mime: str | None) -> None:
    assert check_document(name, mime, 1000) is FileProblem.TYPE


def test_the_size_limit_is_telegrams_20_mb_for_bots() -> None:
    assert FILE_MAX_BYTES == 20 * 1024 * 1024
    assert check_document("scan.pdf", "application/pdf", FILE_MAX_BYTES) is None
    too_big = check_document("scan.pdf", "application/pdf", FILE_MAX_BYTES + 1)
    assert too_big is FileProblem.TOO_BIG
    assert check_document("scan.pdf", "application/pdf", None) is None  # size not reported
    # A file both too big and of the wrong type is told about its type first.
    assert check_document("film.mkv", "video/x-matroska", FILE_MAX_BYTES * 5) is FileProblem.TYPE


def test_the_extension_is_the_part_after_the_last_dot() -> None:
    assert file_extension("Акт.PDF") == "pdf"
    assert file_extension("a.tar.gz") == "gz"
    assert [file_extension(n) for n in (".bashrc", "README", "", None, "x.")] == [""] * 5


def test_visible_length_leaves_out_what_does_not_show() -> None:
    from bot.domain.validation import check_booking_question, visible_length

    assert visible_length("\u200b" * 30) == 0
    assert visible_length("\u3164\u2800\u115f\u1160\uffa0\u00ad\ufeff\u202e") == 0
    assert visible_length("  Ямы   на\u200b дороге  ") == len("Ямы на дороге")
    assert visible_length("👨\u200d👩\u200d👧") == 3  # the joiners do not count, the people do
    assert check_booking_question("\u200b" * 12).problem is not None
    assert check_booking_question("Вопрос о субсидии").problem is None


def test_an_addition_or_answer_counts_only_a_text_that_shows() -> None:
    from bot.domain.validation import addition_text

    assert addition_text("\u200b\u200b\u200b") == ""
    assert addition_text("\u2063" * 8) == ""
    assert addition_text(" \u3164 \n\u2800\ufeff ") == ""
    assert addition_text(None) == ""
    assert addition_text("  Да  ") == "Да"  # one word answers a question
    assert addition_text("Дом\u200b 12\n") == "Дом\u200b 12"  # what shows keeps its text
