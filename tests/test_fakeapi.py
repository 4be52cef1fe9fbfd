"""Self-tests of the fake Bot API server, driven by a real aiogram Bot over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
)
from aiohttp import web

from tests.fakeapi import BOT_ID, FakeTelegram, LocalSession, buttons, find_button
from tests.fakeapi import DEFAULT_TOKEN as TOKEN

CITIZEN = 4242


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    client = fake.make_bot()
    yield client
    await client.session.close()


def _keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="Подать обращение", callback_data="appeal:new")],
            [InlineKeyboardButton(text="Сайт", url="https://example.org")],
        ]
    )


async def test_get_me_and_send_message_with_inline_keyboard(fake: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (BOT_ID, "test_bot", True)

    message = await bot.send_message(CITIZEN, "Сәлеметсіз бе!", reply_markup=_keyboard())

    assert message.chat.id == CITIZEN
    assert message.chat.type == "private"
    assert message.from_user is not None and message.from_user.id == BOT_ID
    assert message.reply_markup is not None
    call = fake.last_message_to(CITIZEN)
    assert call.method == "sendMessage"
    assert call.params["chat_id"] == CITIZEN
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "appeal:new"
    assert buttons(call) == [("Подать обращение", "appeal:new"), ("Сайт", None)]
    assert find_button(call, "обращение") == "appeal:new"
    assert fake.tokens == {bot.token}


async def test_get_updates_long_poll_returns_pushed_update(fake: FakeTelegram, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    loop.call_later(0.2, lambda: fake.user_message(CITIZEN, "/start ref42"))
    started = time.monotonic()

    updates = await bot.get_updates(timeout=5)

    assert time.monotonic() - started < 1.0
    assert [u.update_id for u in updates] == [1000]
    message = updates[0].message
    assert message is not None and message.text == "/start ref42"
    assert message.entities is not None and message.entities[0].length == len("/start")
    # Confirming with offset drops the update; an empty poll then times out.
    assert await bot.get_updates(offset=1001, timeout=0) == []


async def test_get_updates_returns_empty_after_timeout(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert 0.9 < time.monotonic() - started < 2.0


async def test_push_raw_redelivers_a_confirmed_update(fake: FakeTelegram, bot: Bot) -> None:
    update = fake.user_message(CITIZEN, "hello")
    assert [u.update_id for u in await bot.get_updates(offset=0)] == [1000]
    fake.push_raw(update)

    again = await bot.get_updates(offset=1001)

    assert [u.update_id for u in again] == [1000]
    assert await bot.get_updates(offset=1001) == []


async def test_routed_updates_reach_only_their_client(fake: FakeTelegram) -> None:
    """Two bot processes polling under prefixes of their own: with a route, each gets only
    the updates routed to it, and its offset confirms only those."""
    a, b = (
        Bot(TOKEN, session=LocalSession(api=TelegramAPIServer.from_base(f"{fake.base_url}/{n}")))
        for n in ("a", "b")
    )
    try:
        fake.route = lambda update: "a" if update["message"]["chat"]["id"] % 2 else "b"
        for chat in (1, 2, 3, 4):
            fake.user_message(chat, f"to {chat}")
        to_a = await a.get_updates(offset=0, timeout=1)
        assert [u.message.chat.id for u in to_a if u.message] == [1, 3]
        # a confirms past every update so far: b's are still there for b.
        assert await a.get_updates(offset=to_a[-1].update_id + 1, timeout=0) == []
        to_b = await b.get_updates(offset=0, timeout=1)
        assert [u.message.chat.id for u in to_b if u.message] == [2, 4]
        assert await b.get_updates(offset=to_b[-1].update_id + 1, timeout=0) == []
        # A long poll of b waits for b's next update and is not woken by one of a's.
        waiting = asyncio.ensure_future(b.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        fake.user_message(5, "to a")
        await asyncio.sleep(0.2)
        assert not waiting.done()
        fake.user_message(6, "to b")
        assert [u.message.chat.id for u in await waiting if u.message] == [6]
        assert {c.client for c in fake.calls if c.method == "getUpdates"} == {"a", "b"}
    finally:
        for bot in (a, b):
            await bot.session.close()


async def test_fail_next_returns_errors_and_records_them(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", {"retry_after": 1})
    fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")

    with pytest.raises(TelegramRetryAfter) as retry:
        await bot.send_message(CITIZEN, "first")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(CITIZEN, "second")
    await bot.send_message(CITIZEN, "third")

    assert retry.value.retry_after == 1
    assert [c.failed for c in fake.sent(CITIZEN, include_failed=True)] == [True, True, False]
    assert [c.text for c in fake.sent(CITIZEN)] == ["third"]


async def test_a_dropped_connection_before_or_after_telegram_handled_the_call(
    fake: FakeTelegram, bot: Bot
) -> None:
    fake.disconnect_next("sendMessage")
    fake.disconnect_next("sendMessage", handled=True)
    for text in ("lost", "delivered"):
        with pytest.raises(TelegramNetworkError, match="ServerDisconnected"):
            await bot.send_message(CITIZEN, text)
    await bot.send_message(CITIZEN, "answered")
    calls = fake.sent(CITIZEN, include_failed=True)
    assert [(c.text, c.failed, c.dropped) for c in calls] == [
        ("lost", True, True), ("delivered", False, True), ("answered", False, False),
    ]  # fmt: skip
    # What the citizen sees: the message sent before the drop is there.
    assert [c.text for c in fake.sent(CITIZEN)] == ["delivered", "answered"]


async def test_a_callback_query_is_answered_once(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(CITIZEN, "?", reply_markup=InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="A", callback_data="a")]]
    ))  # fmt: skip
    update = fake.press(CITIZEN, sent, "a")
    query_id = update["callback_query"]["id"]
    assert await bot.answer_callback_query(query_id)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query("never-sent")


async def test_recover_forgets_faults_not_yet_used(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next("sendMessage", 502, "Bad Gateway")
    fake.slow_next("sendMessage", 30)
    fake.disconnect_next("sendMessage")
    fake.recover()
    await asyncio.wait_for(bot.send_message(CITIZEN, "at once"), 5)
    assert [c.failed for c in fake.sent(CITIZEN, include_failed=True)] == [False]


async def test_media_edits_and_chat_queries_parse_in_aiogram(fake: FakeTelegram, bot: Bot) -> None:
    upload = BufferedInputFile(b"x" * 10, filename="qr.png")
    photo = await bot.send_photo(CITIZEN, upload, caption="QR")
    album = await bot.send_media_group(
        CITIZEN, [InputMediaPhoto(media="file-a"), InputMediaPhoto(media=upload)]
    )
    text = await bot.send_message(CITIZEN, "v1", reply_markup=_keyboard())
    edited = await bot.edit_message_text("v2", chat_id=CITIZEN, message_id=text.message_id)
    copied = await bot.copy_message(-100500, CITIZEN, text.message_id)
    fake.set_chat_member(-100500, CITIZEN, "administrator")
    member = await bot.get_chat_member(-100500, CITIZEN)
    chat = await bot.get_chat(-100500)

    summary = fake.calls[0].params["photo"]
    assert summary == {"filename": "qr.png", "size": 10, "upload_id": "upload-1"}
    assert fake.uploaded(fake.calls[0], "photo") == b"x" * 10
    assert photo.photo is not None and photo.caption == "QR"
    assert [m.message_id for m in album] == [2, 3]
    assert album[0].media_group_id == album[1].media_group_id is not None
    assert isinstance(edited, Message) and edited.text == "v2" and edited.reply_markup is None
    assert copied.message_id == 1
    assert fake.message(-100500, 1)["text"] == "v2"  # type: ignore[index]
    assert member.status == "administrator"
    assert chat.type == "supergroup"


async def test_dispatcher_round_trip_with_button_press(fake: FakeTelegram, bot: Bot) -> None:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("Меню", reply_markup=_keyboard())

    @router.callback_query(F.data == "appeal:new")
    async def new_appeal(query: CallbackQuery) -> None:
        await query.answer()
        assert isinstance(query.message, Message)
        await query.message.edit_text("Опишите проблему")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    polling = asyncio.create_task(
        dispatcher.start_polling(bot, polling_timeout=1, handle_signals=False)
    )
    try:
        mark = fake.mark()
        fake.user_message(CITIZEN, "/start")
        menu = await fake.wait_sent(CITIZEN, since=mark)
        fake.press(CITIZEN, menu, find_button(menu, "обращение"))
        edit = await fake.wait_sent(CITIZEN, method="editMessageText", since=fake.mark())
        answered = await fake.wait_for(lambda c: c.method == "answerCallbackQuery")
    finally:
        await dispatcher.stop_polling()
        await polling

    assert menu.text == "Меню"
    assert edit.params["message_id"] == menu.result["message_id"]
    assert fake.chat_of(answered) == CITIZEN


async def test_html_that_telegram_cannot_parse_is_refused() -> None:
    from aiogram.exceptions import TelegramBadRequest

    async with FakeTelegram() as fake:
        bot = fake.make_bot()
        try:
            await bot.send_message(1, "<b>ok</b> &amp; fine", parse_mode="HTML")
            for bad in ("<код>", "<b>open", "a < b and </i>"):
                with pytest.raises(TelegramBadRequest, match="can't parse entities"):
                    await bot.send_message(1, bad, parse_mode="HTML")
            await bot.send_message(1, "<код>")  # plain text: anything goes
        finally:
            await bot.session.close()


async def test_texts_over_telegrams_limits_are_refused(fake: FakeTelegram, bot: Bot) -> None:
    from aiogram.exceptions import TelegramBadRequest

    # Telegram counts UTF-16 units of what the reader sees: an emoji is two, a tag nothing,
    # "&amp;" one.
    await bot.send_message(CITIZEN, "🙂" * 2048, parse_mode=None)
    await bot.send_message(CITIZEN, "<b>" + "&amp;" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(CITIZEN, "🙂" * 2048 + "!", parse_mode=None)
    sent = await bot.send_message(CITIZEN, "short")
    with pytest.raises(TelegramBadRequest, match="MESSAGE_TOO_LONG"):
        await bot.edit_message_text("я" * 4097, chat_id=CITIZEN, message_id=sent.message_id)
    await bot.send_photo(CITIZEN, "file-a", caption="🙂" * 512)
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(CITIZEN, "file-a", caption="🙂" * 513)
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_document(CITIZEN, "file-b", caption="я" * 1025)
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_document(CITIZEN, "file-b", caption="<b>open", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="MEDIA_CAPTION_TOO_LONG"):
        await bot.send_media_group(
            CITIZEN,
            [InputMediaPhoto(media="a", caption="я" * 1025), InputMediaPhoto(media="b")],
        )
    assert not [c for c in fake.calls if c.failed and c.method == "answerCallbackQuery"]
    pressed = fake.press(CITIZEN, sent, "data")["callback_query"]["id"]
    with pytest.raises(TelegramBadRequest, match="MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(pressed, text="🙂" * 101, show_alert=True)
    # Refused for its length, the query is still unanswered and may be answered.
    await bot.answer_callback_query(pressed, text="🙂" * 100, show_alert=True)


async def test_webhook_delivery_keeps_each_chat_in_order(fake: FakeTelegram, bot: Bot) -> None:
    """As Telegram: a chat's next update is posted only once the previous one was answered
    with a 2xx (one answered otherwise is posted again first); other chats do not wait;
    getUpdates is refused while the webhook is set."""
    arrived: list[tuple[int, int]] = []
    release_first = asyncio.Event()
    refused_once: set[int] = set()

    async def receive(request: web.Request) -> web.Response:
        assert request.headers["X-Telegram-Bot-Api-Secret-Token"] == "sekret"
        update = await request.json()
        chat = update["message"]["chat"]["id"]
        arrived.append((chat, update["update_id"]))
        if update["message"]["text"] == "first":
            await release_first.wait()
        if update["message"]["text"] == "refused" and update["update_id"] not in refused_once:
            refused_once.add(update["update_id"])
            return web.Response(status=500)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.webhook_retry = 0.05
    try:
        await bot.set_webhook(
            f"http://127.0.0.1:{port}/hook", secret_token="sekret", allowed_updates=["message"]
        )
        first = fake.user_message(CITIZEN, "first")
        second = fake.user_message(CITIZEN, "second")
        other = fake.user_message(CITIZEN + 1, "other")
        card = {"message_id": 1, "chat": {"id": CITIZEN + 1, "type": "private"}, "date": 0}
        pressed = fake.press(CITIZEN + 1, card, "x")  # not in allowed_updates: never posted
        await fake.wait_answered(other["update_id"])
        assert (CITIZEN, second["update_id"]) not in arrived  # waits for "first"'s answer
        release_first.set()
        await fake.wait_answered(second["update_id"])
        refused = fake.user_message(CITIZEN, "refused")
        after = fake.user_message(CITIZEN, "after")
        await fake.wait_answered(after["update_id"])
        assert fake.webhook_statuses(refused["update_id"]) == [500, 200]
        assert [u for c, u in arrived if c == CITIZEN] == [
            first["update_id"], second["update_id"], refused["update_id"],
            refused["update_id"], after["update_id"],
        ]  # fmt: skip
        assert pressed["update_id"] not in [u for _, u in arrived]
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates()
    finally:
        await runner.cleanup()


async def test_webhook_behind_a_proxy_alternates_instances_and_retries_a_failed_one(
    fake: FakeTelegram, bot: Bot
) -> None:
    """With `webhook_upstreams` the fake posts as a reverse proxy in front of several
    instances would pass Telegram's requests on: each POST to the next instance in turn, with
    the webhook URL's path. A chat's next update still waits for the previous answer,
    whichever instance gave it. An instance that drops the connection mid-request, or
    refuses it, is the proxy's 502: Telegram posts the update again, and it reaches another
    instance (the failed one rests a while)."""
    arrived: list[tuple[str, int, str]] = []
    release = asyncio.Event()
    runners: list[web.AppRunner] = []
    dropped_once: list[str] = []

    def instance(name: str) -> web.Application:
        async def receive(request: web.Request) -> web.Response:
            assert request.headers["X-Telegram-Bot-Api-Secret-Token"] == "sekret"
            update = await request.json()
            text = update["message"]["text"]
            arrived.append((name, update["update_id"], text))
            if text == "slow":
                await release.wait()
            if text == "dropped" and request.transport is not None and not dropped_once:
                dropped_once.append(name)
                request.transport.close()  # dies mid-request: no answer goes back
            return web.json_response({})

        app = web.Application()
        app.router.add_post("/telegram/updates", receive)
        return app

    upstreams = []
    for name in ("a", "b"):
        runner = web.AppRunner(instance(name))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        upstreams.append(f"http://127.0.0.1:{runner.addresses[0][1]}")
    fake.webhook_upstreams = upstreams
    fake.webhook_retry = 0.05
    fake.webhook_upstream_rest = 1.0  # longer than the retry: the retry goes elsewhere
    try:
        # The public URL: only its path reaches the instances.
        await bot.set_webhook("https://bot.example.kz/telegram/updates", secret_token="sekret")

        # Round robin: consecutive posts alternate between the instances.
        sent = [fake.user_message(CITIZEN + i, f"hello {i}") for i in range(4)]
        for update in sent:
            await fake.wait_answered(update["update_id"])
        names = [name for name, _, text in arrived if text.startswith("hello")]
        assert sorted(names) == ["a", "a", "b", "b"]
        assert {fake.webhook_upstream_of(u["update_id"])[0] for u in sent} == set(upstreams)

        # One chat: its next update waits for the answer to the previous one, though the
        # next instance in turn is free.
        fake.user_message(CITIZEN, "slow")
        after = fake.user_message(CITIZEN, "after slow")
        for _ in range(100):
            if any(t == "slow" for _, _, t in arrived):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        assert not any(t == "after slow" for _, _, t in arrived)
        release.set()
        await fake.wait_answered(after["update_id"])
        slow_at = next(n for n, _, t in arrived if t == "slow")
        after_at = next(n for n, _, t in arrived if t == "after slow")
        assert slow_at != after_at  # the chat moved to the other instance, in order

        # An instance dies mid-request: the proxy answers 502, the update is posted again,
        # to the other instance, before the chat's next update.
        dropped = fake.user_message(CITIZEN, "dropped")
        then = fake.user_message(CITIZEN, "then")
        await fake.wait_answered(then["update_id"])
        statuses = fake.webhook_statuses(dropped["update_id"])
        assert statuses[0] == 502 and statuses[-1] == 200, statuses
        [first, *rest] = fake.webhook_upstream_of(dropped["update_id"])
        assert rest and all(u != first for u in rest)  # the failed instance rests
        chat = [t for _, _, t in arrived if t in {"dropped", "then"}]
        assert chat[-1] == "then" and chat.index("then") > chat.index("dropped")

        # An instance that is gone (connection refused): every update still arrives, at the
        # one left; the first posted to the gone one was answered 502 by the proxy.
        await asyncio.sleep(fake.webhook_upstream_rest)  # nobody rests any more
        gone = runners.pop(0)
        gone_url = upstreams[0]
        await gone.cleanup()
        later = [fake.user_message(CITIZEN + 10 + i, f"later {i}") for i in range(4)]
        for update in later:
            await fake.wait_answered(update["update_id"])
        ids = {u["update_id"] for u in later}
        attempts = [a for a in fake.webhook_attempts if a.update_id in ids]
        assert {a.status for a in attempts if a.upstream == gone_url} == {502}
        assert any(a.upstream == gone_url for a in attempts)
        assert [a.upstream for a in attempts if a.status == 200] == [upstreams[1]] * 4
        assert sorted(t for n, _, t in arrived if t.startswith("later")) == [
            f"later {i}" for i in range(4)
        ]
    finally:
        for runner in runners:
            await runner.cleanup()
