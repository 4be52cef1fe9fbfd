"""What handlers ask the services instead of reaching into them (issue #11, item 3): each
method here, Telegram-free, against a real database; and the officials' locale middleware."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, User
from aiogram.utils.i18n.context import get_i18n

from bot.delivery.outbox import Outbox
from bot.domain.catalog import Catalog
from bot.domain.deadlines import DeadlinePolicy, WorkCalendar
from bot.domain.receptions import SlotPlanner, load_receptions
from bot.services.appeals import AppealService
from bot.services.bookings import BookingService
from bot.services.citizens import CitizenService
from bot.services.officials import Access
from bot.telegram.middlewares import OfficialsLocale
from bot.views.booking_notices import BookingNotices
from i18n.core import PoI18n
from storage.base import Repository
from storage.sqlite.repository import SQLiteRepository
from tests.backends import beside
from tests.conftest import ALMATY, FrozenClock
from tests.test_bookings import book
from tests.test_officials_service import CHAT, service
from tests.test_storage import NOW, new_appeal

WED = date(2026, 11, 25)  # the deputy akim receives on Wednesdays
AT_TEN = datetime(2026, 11, 25, 10, 0, tzinfo=ALMATY)


def bookings_service(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> tuple[BookingService, Any]:
    """The service, and its store for the test to book places in directly."""
    receptions = load_receptions(catalog)
    store = beside("outbox", repo)
    places = beside("bookings", repo)
    return BookingService(
        places,
        SlotPlanner(receptions, WorkCalendar.from_catalog(catalog), ALMATY),
        receptions, Outbox(store, clock), store, clock, BookingNotices(PoI18n(), ALMATY), "kk",
        ALMATY,
    ), places  # fmt: skip


def appeals_service(repo: Repository, catalog: Catalog) -> AppealService:
    return AppealService(repo, catalog, DeadlinePolicy(catalog, ALMATY), FrozenClock(NOW))


# --- bookings ----------------------------------------------------------------------------------


@pytest.mark.every_backend
async def test_attendance_is_marked_and_the_session_listed_again(
    repo: Repository, catalog: Catalog
) -> None:
    bookings, store = bookings_service(repo, catalog, FrozenClock(NOW))
    first = (await book(store, 1, AT_TEN, reception="deputy_akim")).booking
    second = await book(store, 2, AT_TEN + timedelta(minutes=20), reception="deputy_akim")
    gone = await book(store, 3, AT_TEN + timedelta(minutes=40), reception="deputy_akim")
    assert first is not None and second.booking is not None and gone.booking is not None
    assert await store.cancel(gone.booking.id, 3, NOW) is not None

    marked = await bookings.mark_attendance(first.id, "attended")
    assert marked is not None
    assert (marked.booking.id, marked.booking.status) == (first.id, "attended")
    assert marked.reception is not None and marked.reception.code == "deputy_akim"
    # The list as /receptions shows it: the mark in it, the cancelled place not.
    assert [(b.id, b.status) for b in marked.session] == [
        (first.id, "attended"), (second.booking.id, "booked"),
    ]  # fmt: skip
    # A mark can be corrected; a cancelled or unknown booking cannot be marked.
    again = await bookings.mark_attendance(first.id, "no_show")
    assert again is not None and again.booking.status == "no_show"
    assert await bookings.mark_attendance(gone.booking.id, "attended") is None
    assert await bookings.mark_attendance(9999, "attended") is None


@pytest.mark.every_backend
async def test_a_mark_for_a_reception_gone_from_the_catalog_lists_nothing(
    repo: Repository, catalog: Catalog
) -> None:
    bookings, store = bookings_service(repo, catalog, FrozenClock(NOW))
    old = (await book(store, 1, AT_TEN, reception="retired")).booking
    assert old is not None
    marked = await bookings.mark_attendance(old.id, "attended")
    assert marked is not None and marked.booking.status == "attended"
    assert (marked.reception, marked.session) == (None, [])


@pytest.mark.every_backend
async def test_a_citizens_upcoming_places_come_with_their_receptions(
    repo: Repository, catalog: Catalog
) -> None:
    bookings, store = bookings_service(repo, catalog, FrozenClock(NOW))
    mine = (await book(store, 1, AT_TEN, reception="deputy_akim")).booking
    await book(store, 1, AT_TEN + timedelta(days=7), reception="retired")
    await book(store, 2, AT_TEN + timedelta(minutes=20), reception="deputy_akim")
    upcoming = await bookings.upcoming_for(1)
    assert mine is not None
    assert [(b.id, r.code) for b, r in upcoming] == [(mine.id, "deputy_akim")]
    assert await bookings.upcoming_for(3) == []


def test_today_is_the_local_day(repo: SQLiteRepository, catalog: Catalog) -> None:
    # 19:30 UTC on the 23rd is past midnight in Almaty (UTC+5): the receptions' day is the 24th.
    utc_evening = FrozenClock(datetime.fromisoformat("2026-11-23T19:30:00+00:00"))
    bookings, _store = bookings_service(repo, catalog, utc_evening)
    assert bookings.today() == date(2026, 11, 24)


# --- a citizen's appeals -----------------------------------------------------------------------


@pytest.mark.every_backend
async def test_pages_of_a_citizens_appeals(repo: Repository, catalog: Catalog) -> None:
    appeals = appeals_service(repo, catalog)
    assert await appeals.page_of(1, 0, 5) is None
    for n in range(7):
        await repo.create_appeal(new_appeal(f"d{n}", created_at=NOW + timedelta(minutes=n)))
    await repo.create_appeal(new_appeal("other", citizen_id=2))
    first = await appeals.page_of(1, 0, 5)
    assert first is not None and (first.page, first.pages, len(first.appeals)) == (0, 2, 5)
    # An old button may point past either end: the nearest page is shown.
    last = await appeals.page_of(1, 9, 5)
    assert last is not None and (last.page, len(last.appeals)) == (1, 2)
    before = await appeals.page_of(1, -3, 5)
    assert before is not None and before.page == 0
    shown = {a.id for a in first.appeals} | {a.id for a in last.appeals}
    assert len(shown) == 7


@pytest.mark.every_backend
async def test_only_the_citizens_own_appeal_is_found(repo: Repository, catalog: Catalog) -> None:
    appeals = appeals_service(repo, catalog)
    appeal, _ = await repo.create_appeal(new_appeal("mine", citizen_id=1))
    assert (await appeals.own_appeal(appeal.id, 1)) == appeal
    assert await appeals.own_appeal(appeal.id, 2) is None  # someone else's: as if missing
    assert await appeals.own_appeal(9999, 1) is None
    assert await appeals.filed_from("mine") == appeal
    assert await appeals.filed_from("") is None


@pytest.mark.every_backend
async def test_a_citizens_language_and_consent(repo: Repository) -> None:
    citizens = CitizenService(repo, FrozenClock(NOW))
    assert await citizens.language_of(5) is None
    await citizens.choose_language(5, "kk")
    assert await citizens.language_of(5) == "kk"
    await citizens.give_consent(5)
    citizen = await citizens.get(5)
    assert citizen is not None and citizen.consent_at == NOW


# --- the officials -----------------------------------------------------------------------------


async def test_find_shows_only_what_the_chat_may_see(
    repo: SQLiteRepository, catalog: Catalog
) -> None:
    officials, _ = service(repo, catalog, FrozenClock(NOW), {1: "member"})
    here, _ = await repo.create_appeal(new_appeal("here"))
    await repo.set_officials_chat(here.id, CHAT)
    there, _ = await repo.create_appeal(new_appeal("there"))
    await repo.set_officials_chat(there.id, -100600)
    found = await officials.find_for(CHAT, 1, here.reference)
    assert found is not None and found.id == here.id
    assert await officials.find_for(CHAT, 1, there.reference) is None  # another chat's
    assert await officials.find_for(CHAT, 1, "2099-99999") is None
    assert await officials.find_for(CHAT, 2, here.reference) is None  # not a member
    admin = await officials.find_for(7, 7, there.reference)
    assert admin is not None and admin.id == there.id


async def test_a_card_button_finds_its_appeal_or_says_why_not(
    repo: SQLiteRepository, catalog: Catalog
) -> None:
    officials, _ = service(repo, catalog, FrozenClock(NOW), {1: "member"})
    here, _ = await repo.create_appeal(new_appeal("here"))
    await repo.set_officials_chat(here.id, CHAT)
    there, _ = await repo.create_appeal(new_appeal("there"))
    await repo.set_officials_chat(there.id, -100600)
    ok = await officials.appeal_for(CHAT, 1, here.id)
    assert ok.refused == "" and ok.appeal is not None and ok.appeal.id == here.id
    assert (await officials.appeal_for(CHAT, 2, here.id)) == Access(None, Access.NOT_OFFICIAL)
    assert (await officials.appeal_for(CHAT, 1, 9999)) == Access(None, Access.MISSING)
    other = await officials.appeal_for(CHAT, 1, there.id)
    assert other.refused == Access.OTHER_CHAT


async def test_references_and_the_main_chat(repo: SQLiteRepository, catalog: Catalog) -> None:
    officials, _ = service(repo, catalog, FrozenClock(NOW), {})
    a, _ = await repo.create_appeal(new_appeal("a"))
    b, _ = await repo.create_appeal(new_appeal("b"))
    assert await officials.references([b.id, 9999, a.id]) == {
        a.id: a.reference, b.id: b.reference,
    }  # fmt: skip
    assert officials.main_chat() == CHAT


# --- the officials' language -------------------------------------------------------------------

ADMIN = 7


def message(chat: Chat, user: User) -> Message:
    return Message(message_id=1, date=NOW, chat=chat, from_user=user, text="/stats")


def person(user_id: int) -> User:
    return User(id=user_id, is_bot=False, first_name="A")


GROUP, ADMIN_CHAT, CITIZEN_CHAT = (
    Chat(id=-100, type="supergroup"),
    Chat(id=ADMIN, type="private"),
    Chat(id=5, type="private"),
)


@pytest.mark.parametrize(
    ("event_of", "chat", "user", "expected"),
    [
        ("message", GROUP, person(1), "ru"),
        ("message", ADMIN_CHAT, person(ADMIN), "ru"),
        # A citizen who types an officials' command is refused in their own language.
        ("message", CITIZEN_CHAT, person(5), "kk"),
        # Every button on the officials' routers is an officials' button.
        ("callback", CITIZEN_CHAT, person(5), "ru"),
    ],
)
async def test_the_officials_locale_is_set_once_per_update(
    event_of: str, chat: Chat, user: User, expected: str
) -> None:
    i18n = PoI18n(default_locale="kk")
    sent = message(chat, user)
    event: TelegramObject = sent
    if event_of == "callback":
        event = CallbackQuery(id="1", from_user=user, chat_instance="c", message=sent, data="x")
    seen: list[str] = []

    async def handler(_event: TelegramObject, _data: dict[str, Any]) -> None:
        seen.append(get_i18n().current_locale)

    middleware = OfficialsLocale("ru", frozenset({ADMIN}))
    data = {"i18n": i18n, "event_chat": chat, "event_from_user": user}
    with i18n.context(), i18n.use_locale("kk"):
        await middleware(handler, event, data)
        assert get_i18n().current_locale == "kk"  # only for the update's handler
    assert seen == [expected]


async def test_a_button_finds_only_the_citizens_own_booked_place(
    repo: SQLiteRepository, catalog: Catalog
) -> None:
    bookings, store = bookings_service(repo, catalog, FrozenClock(NOW))
    mine = (await book(store, 1, AT_TEN, reception="deputy_akim", draft_key="k1")).booking
    retired = (await book(store, 1, AT_TEN, reception="retired", draft_key="k2")).booking
    gone = (await book(store, 2, AT_TEN, reception="deputy_akim", draft_key="k3")).booking
    assert mine is not None and retired is not None and gone is not None
    assert await store.cancel(gone.id, 2, NOW) is not None

    found = await bookings.own_booking(mine.id, 1)
    assert found is not None and found[0].id == mine.id and found[1].code == "deputy_akim"
    assert await bookings.own_booking(mine.id, 2) is None  # someone else's
    assert await bookings.own_booking(gone.id, 2) is None  # cancelled
    assert await bookings.own_booking(retired.id, 1) is None  # its reception left the catalog
    assert await bookings.own_booking(9999, 1) is None
    again = await bookings.booked_from("k1", 1)
    assert again is not None and again[0].id == mine.id
    assert await bookings.booked_from("k1", 2) is None
    assert await bookings.booked_from("k3", 2) is None
    assert await bookings.booked_from("", 1) is None


async def test_the_open_appeals_a_booking_may_be_about(
    repo: SQLiteRepository, catalog: Catalog
) -> None:
    appeals = appeals_service(repo, catalog)
    older, _ = await repo.create_appeal(new_appeal("older", created_at=NOW))
    closed, _ = await repo.create_appeal(new_appeal("closed", created_at=NOW + timedelta(hours=1)))
    newer, _ = await repo.create_appeal(new_appeal("newer", created_at=NOW + timedelta(hours=2)))
    await repo.create_appeal(new_appeal("not mine", citizen_id=2))
    await repo.db.execute("UPDATE appeals SET status = 'withdrawn' WHERE id = ?", (closed.id,))
    assert [a.id for a in await appeals.open_appeals_of(1)] == [newer.id, older.id]
    assert [a.id for a in await appeals.open_appeals_of(1, newest=1)] == [newer.id]
