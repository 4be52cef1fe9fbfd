"""Issue #14's cheaper Bot API calls give what aiogram's own way gives, without a network.

Request bodies (BotApiSession): aiogram's algorithm (model_dump, then prepare_value on every
field, None and "" left out at the top level) is written out below as it was, and the parsed
JSON of the new body must equal it for every method the bot sends and a few it does not.
Objects bound to the bot in one step (bot/telegram/binding.py): the answers the bot gets,
parsed, and the methods and keyboards it builds must equal, field for field and type for
type, those built with pydantic's wrappers.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.enums import ChatAction, ParseMode
from aiogram.methods import (
    AnswerCallbackQuery,
    CopyMessage,
    DeleteMessage,
    DeleteWebhook,
    EditMessageReplyMarkup,
    EditMessageText,
    ForwardMessages,
    GetChat,
    GetChatMember,
    GetChatMemberCount,
    GetFile,
    GetMe,
    GetMyCommands,
    GetUpdates,
    GetWebhookInfo,
    SendChatAction,
    SendContact,
    SendDocument,
    SendLocation,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    SendPoll,
    SetMyCommands,
    SetWebhook,
    StopPoll,
    TelegramMethod,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    BufferedInputFile,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    InputPollOption,
    KeyboardButton,
    LinkPreviewOptions,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)
from aiohttp import FormData
from aiohttp.payload import BytesPayload
from pydantic import BaseModel

from bot.telegram import binding
from bot.telegram.session import BotApiSession

TOKEN = "123456789:AAFakeTokenForTests_0123456789abc"
OURS = Bot(TOKEN, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
BARE = Bot(TOKEN)
LOADED = Bot(
    TOKEN,
    default=DefaultBotProperties(
        parse_mode=ParseMode.MARKDOWN_V2,
        protect_content=False,
        link_preview_is_disabled=True,
        allow_sending_without_reply=True,
    ),
)
BOTS = {"ours": OURS, "bare": BARE, "loaded": LOADED}

INLINE = InlineKeyboardMarkup(
    inline_keyboard=[
        [InlineKeyboardButton(text="Жалоба", callback_data="kind:complaint")],
        [
            InlineKeyboardButton(text="◀️ Назад", callback_data="back"),
            InlineKeyboardButton(text="Сайт", url="https://example.org/?a=1&b=2"),
        ],
    ]
)
REPLY = ReplyKeyboardMarkup(
    keyboard=[[KeyboardButton(text="📞 Отправить номер", request_contact=True)]],
    resize_keyboard=True,
    one_time_keyboard=False,
)
ENTITIES = [
    MessageEntity(type="bold", offset=0, length=6),
    MessageEntity(type="text_link", offset=7, length=4, url="https://example.org"),
]
UNDER = ReplyParameters(message_id=42, allow_sending_without_reply=True)

# Every kind of request the bot makes, and their neighbours: keyboards of each kind, entities,
# reply parameters, link previews, parse_mode left to the default, set and set to None, False
# and 0 as values, "" and None left out.
METHODS: dict[str, TelegramMethod[Any]] = {
    "send plain": SendMessage(chat_id=1, text="Опишите проблему"),
    "send inline": SendMessage(chat_id=1, text="<b>Вид</b> обращения", reply_markup=INLINE),
    "send reply keyboard": SendMessage(chat_id=1, text="Телефон?", reply_markup=REPLY),
    "send force reply": SendMessage(
        chat_id=1, text="?", reply_markup=ForceReply(input_field_placeholder="Ваш ответ")
    ),
    "send keyboard removed": SendMessage(
        chat_id=1, text="ok", reply_markup=ReplyKeyboardRemove(remove_keyboard=True)
    ),
    "send under": SendMessage(chat_id=-1001234, text="№ 12", reply_parameters=UNDER),
    "send quote": SendMessage(
        chat_id=1,
        text="x",
        reply_parameters=ReplyParameters(message_id=3, quote="цитата", quote_position=0),
    ),
    "send entities": SendMessage(chat_id=1, text="Жирный link", entities=ENTITIES, parse_mode=None),
    "send parse_mode None": SendMessage(chat_id=1, text="a < b", parse_mode=None),
    "send parse_mode set": SendMessage(chat_id=1, text="*x*", parse_mode=ParseMode.MARKDOWN),
    "send preview off": SendMessage(
        chat_id=1, text="https://x.kz", link_preview_options=LinkPreviewOptions(is_disabled=True)
    ),
    "send preview url": SendMessage(
        chat_id=1, text="x", link_preview_options=LinkPreviewOptions(url="https://x.kz")
    ),
    "send preview None": SendMessage(chat_id=1, text="x", link_preview_options=None),
    "send False and 0": SendMessage(
        chat_id=1,
        text="x",
        disable_notification=False,
        protect_content=False,
        message_thread_id=0,
    ),
    "send empty strings": SendMessage(chat_id=1, text="", business_connection_id=""),
    "send to a username": SendMessage(chat_id="@channel", text="x", protect_content=True),
    "send old reply fields": SendMessage(
        chat_id=1, text="x", reply_to_message_id=5, allow_sending_without_reply=True
    ),
    "edit text": EditMessageText(chat_id=1, message_id=2, text="✔️ Жалоба"),
    "edit text with keyboard": EditMessageText(
        chat_id=1, message_id=2, text="Страница 2", reply_markup=INLINE
    ),
    "edit inline message": EditMessageText(inline_message_id="abc", text="x", parse_mode=None),
    "edit markup": EditMessageReplyMarkup(chat_id=1, message_id=2, reply_markup=INLINE),
    "edit markup removed": EditMessageReplyMarkup(chat_id=1, message_id=2),
    "edit markup empty": EditMessageReplyMarkup(
        chat_id=1, message_id=2, reply_markup=InlineKeyboardMarkup(inline_keyboard=[])
    ),
    "answer": AnswerCallbackQuery(callback_query_id="q1"),
    "answer text": AnswerCallbackQuery(callback_query_id="q1", text="Уже отправлено"),
    "answer alert": AnswerCallbackQuery(callback_query_id="q1", text="Нет мест", show_alert=True),
    "answer no alert": AnswerCallbackQuery(callback_query_id="q1", show_alert=False, cache_time=0),
    "photo by file_id": SendPhoto(chat_id=1, photo="AgACAgIAAx", caption="<i>фото</i>"),
    "photo with keyboard": SendPhoto(chat_id=1, photo="AgAC", reply_markup=INLINE),
    "media group": SendMediaGroup(
        chat_id=1,
        media=[
            InputMediaPhoto(media="AgAC1", caption="первое"),
            InputMediaPhoto(media="AgAC2", parse_mode=None),
        ],
    ),
    "location": SendLocation(chat_id=1, latitude=43.238949, longitude=76.889709),
    "location 0": SendLocation(chat_id=1, latitude=0.0, longitude=-0.5, horizontal_accuracy=1.5),
    "contact": SendContact(chat_id=1, phone_number="+77011234567", first_name="Айгерим"),
    "poll": SendPoll(
        chat_id=1,
        question="Удобно?",
        options=[InputPollOption(text="Да"), InputPollOption(text="Нет")],
        is_anonymous=False,
    ),
    "poll closes at": SendPoll(
        chat_id=1,
        question="?",
        options=["a", "b"],
        close_date=datetime.datetime(2026, 12, 1, 10, 0, tzinfo=datetime.UTC),
    ),
    "stop poll": StopPoll(chat_id=1, message_id=9),
    "chat action": SendChatAction(chat_id=1, action=ChatAction.TYPING),
    "commands": SetMyCommands(
        commands=[BotCommand(command="start", description="Начать")],
        scope=BotCommandScopeChat(chat_id=-100123),
        language_code="kk",
    ),
    "commands default scope": SetMyCommands(
        commands=[BotCommand(command="book", description="Записаться")],
        scope=BotCommandScopeDefault(),
    ),
    "commands get": GetMyCommands(language_code="ru"),
    "delete": DeleteMessage(chat_id=1, message_id=2),
    # Message.delete() and other shortcuts pass fields the method does not declare
    "delete by shortcut": DeleteMessage(chat_id=1, message_id=2, business_connection_id=None),
    "undeclared scalars": DeleteMessage(chat_id=1, message_id=2, a="", b=0, c=False, d="x"),
    "copy": CopyMessage(chat_id=1, from_chat_id=-100, message_id=3, caption=""),
    "forward messages": ForwardMessages(chat_id=1, from_chat_id=2, message_ids=[3, 4]),
    "webhook": SetWebhook(
        url="https://bot.example.org/wh",
        secret_token="s3cret",
        allowed_updates=["message", "callback_query"],
        drop_pending_updates=False,
        max_connections=40,
    ),
    "webhook deleted": DeleteWebhook(drop_pending_updates=True),
    "updates": GetUpdates(offset=10, timeout=30, allowed_updates=["message", "chat_member"]),
    "updates bare": GetUpdates(),
    "chat member": GetChatMember(chat_id=-100123, user_id=5),
    "me": GetMe(),
    "file": GetFile(file_id="BQACAgIAAx"),
}

# What the fast writer must take (the bot's hot calls); the rest may go aiogram's way.
FAST = {
    name
    for name in METHODS
    if name.startswith(("send", "edit", "answer", "commands", "delete", "webhook"))
    or name in {"updates", "updates bare", "chat member", "me", "file", "stop poll"}
}


def aiogram_body(session: AiohttpSession, bot: Bot, method: TelegramMethod[Any]) -> Any:
    """The body as BotApiSession built it before issue #14's work (model_dump + prepare_value)."""
    files: dict[str, Any] = {}
    body: dict[str, Any] = {}
    for key, value in method.model_dump(warnings=False).items():
        prepared = session.prepare_value(value, bot=bot, files=files, _dumps_json=False)
        if prepared is None or prepared == "":
            continue
        body[key] = prepared
    assert not files
    return json.loads(json.dumps(body))


def sent_body(session: BotApiSession, bot: Bot, method: TelegramMethod[Any]) -> Any:
    payload = session.build_form_data(bot, method)
    assert isinstance(payload, BytesPayload)
    assert payload.content_type == "application/json"
    return json.loads(payload._value)


@pytest.mark.parametrize("bot_name", list(BOTS))
@pytest.mark.parametrize("name", list(METHODS))
def test_a_body_is_what_aiogram_would_send(name: str, bot_name: str) -> None:
    bot, session = BOTS[bot_name], BotApiSession()
    method = METHODS[name]
    if name == "poll closes at":  # prepare_value writes a datetime as a string of seconds
        assert sent_body(session, bot, method)["close_date"] == "1796119200"
    assert sent_body(session, bot, method) == aiogram_body(AiohttpSession(), bot, method)
    if name in FAST and bot is OURS:  # (a bare bot's nested Defaults resolve to None)
        assert session._plain_json(bot, method) is not None, "went aiogram's slower way"


def test_defaults_that_are_objects_are_written_alike() -> None:
    """A default link preview is a Telegram object with Defaults of its own inside."""
    bot = Bot(
        TOKEN,
        default=DefaultBotProperties(
            parse_mode=ParseMode.HTML,
            link_preview=LinkPreviewOptions(prefer_small_media=True),
            link_preview_show_above_text=True,
        ),
    )
    session = BotApiSession()
    for method in (METHODS["send plain"], METHODS["send preview url"], METHODS["edit text"]):
        assert sent_body(session, bot, method) == aiogram_body(AiohttpSession(), bot, method)


def test_odd_values_go_aiograms_way() -> None:
    """Undeclared fields other than scalars, at the top or in a Telegram object, are written
    by prepare_value, as before; scalar ones by pydantic, alike."""
    bot, session = OURS, BotApiSession()
    when = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
    odd_button = InlineKeyboardButton(text="a", callback_data="b", when=when)
    scalar_button = InlineKeyboardButton(text="a", callback_data="b", note="", gone=None)
    odd = [
        SendMessage(chat_id=1, text="x", reply_markup=INLINE, other=[1, None]),
        SendMessage(chat_id=1, text="x", when=when, pair=(1, 2)),
        SendMessage(
            chat_id=1, text="x", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[odd_button]])
        ),
    ]
    for method in odd:
        assert session._plain_json(bot, method) is None
        assert sent_body(session, bot, method) == aiogram_body(AiohttpSession(), bot, method)
    plain = SendMessage(
        chat_id=1, text="x", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[scalar_button]])
    )
    assert session._plain_json(bot, plain) is not None
    assert sent_body(session, bot, plain) == aiogram_body(AiohttpSession(), bot, plain)


def test_uploads_keep_the_multipart_form() -> None:
    session = BotApiSession()
    upload = BufferedInputFile(b"%PDF-1.4", filename="appeal.pdf")
    form = session.build_form_data(OURS, SendDocument(chat_id=1, document=upload, caption="№ 1"))
    assert isinstance(form, FormData)
    fields = {field[0]["name"]: field[2] for field in form._fields}
    assert fields["chat_id"] == "1" and fields["caption"] == "№ 1"
    assert fields["parse_mode"] == "HTML"
    assert fields["document"].startswith("attach://")


# --- answers -------------------------------------------------------------------------------

USER = {"id": 5, "is_bot": False, "first_name": "Айгерим", "language_code": "kk"}
BOT_USER = {"id": 777, "is_bot": True, "first_name": "Bot", "username": "test_bot"}
PRIVATE = {"id": 5, "type": "private", "first_name": "Айгерим"}
GROUP = {"id": -100123, "type": "supergroup", "title": "Акимат: обращения"}
MARKUP = {"inline_keyboard": [[{"text": "Принять", "callback_data": "take:1"}]]}


def message(**extra: Any) -> dict[str, Any]:
    return {"message_id": 10, "date": 1764500000, "chat": PRIVATE, "from": BOT_USER, **extra}


PHOTO = [
    {"file_id": "AgAC1", "file_unique_id": "u1", "width": 90, "height": 60, "file_size": 1200},
    {"file_id": "AgAC2", "file_unique_id": "u2", "width": 800, "height": 600},
]
MESSAGES = {
    "text": message(text="Опишите проблему"),
    "text with keyboard": message(text="Вид?", reply_markup=MARKUP),
    "entities": message(
        text="/start abc",
        entities=[{"type": "bot_command", "offset": 0, "length": 6}],
        link_preview_options={"is_disabled": True},
    ),
    "edited": message(text="✔️ Жалоба", edit_date=1764500100, reply_markup=MARKUP),
    "photo": message(photo=PHOTO, caption="<b>x</b>", caption_entities=[]),
    "document": message(
        document={
            "file_id": "BQAC",
            "file_unique_id": "d1",
            "file_name": "appeal.pdf",
            "mime_type": "application/pdf",
            "file_size": 5000,
        }
    ),
    "location": message(location={"latitude": 43.238949, "longitude": 76.889709}),
    "contact": message(
        contact={"phone_number": "+77011234567", "first_name": "Айгерим", "user_id": 5}
    ),
    "poll": message(
        poll={
            "id": "p1",
            "question": "Удобно?",
            "options": [
                {"persistent_id": "0", "text": "Да", "voter_count": 0},
                {"persistent_id": "1", "text": "Нет", "voter_count": 1},
            ],
            "total_voter_count": 1,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": False,
            "members_only": False,
        }
    ),
    "reply": message(
        chat=GROUP,
        text="№ 12",
        reply_to_message=message(chat=GROUP, message_id=9, text="Карточка"),
        message_thread_id=3,
    ),
    "forwarded": message(
        text="x", forward_origin={"type": "user", "date": 1764400000, "sender_user": USER}
    ),
    "migrated": message(
        chat={"id": -4001, "type": "group", "title": "g"}, migrate_to_chat_id=-1004
    ),
    "new members": message(chat=GROUP, new_chat_members=[USER, BOT_USER]),
    "unknown field": message(text="x", some_future_field={"a": [1, None]}),
}
CHAT_MEMBER_UPDATE = {
    "chat": GROUP,
    "from": USER,
    "date": 1764500000,
    "old_chat_member": {"status": "left", "user": BOT_USER},
    "new_chat_member": {
        "status": "administrator",
        "user": BOT_USER,
        "can_be_edited": False,
        "is_anonymous": False,
        "can_manage_chat": True,
        "can_delete_messages": True,
        "can_manage_video_chats": False,
        "can_restrict_members": False,
        "can_promote_members": False,
        "can_change_info": False,
        "can_invite_users": True,
        "can_post_stories": False,
        "can_edit_stories": False,
        "can_delete_stories": False,
        "can_send_welcome_messages": False,
    },
}
UPDATES = [
    {"update_id": 1, "message": {**MESSAGES["text"], "from": USER}},
    {"update_id": 2, "message": {**MESSAGES["contact"], "from": USER}},
    {"update_id": 3, "message": {**MESSAGES["location"], "from": USER}},
    {"update_id": 4, "message": {**MESSAGES["photo"], "from": USER}},
    {"update_id": 5, "message": {**MESSAGES["document"], "from": USER}},
    {"update_id": 6, "edited_message": {**MESSAGES["edited"], "from": USER}},
    {
        "update_id": 7,
        "callback_query": {
            "id": "q1",
            "from": USER,
            "chat_instance": "ci",
            "data": "kind:complaint",
            "message": MESSAGES["text with keyboard"],
        },
    },
    {"update_id": 8, "my_chat_member": CHAT_MEMBER_UPDATE},
    {"update_id": 9, "chat_member": {**CHAT_MEMBER_UPDATE, "via_join_request": False}},
    {"update_id": 10, "message": MESSAGES["migrated"]},
    {"update_id": 11, "message": MESSAGES["new members"]},
    {"update_id": 12, "message": MESSAGES["reply"]},
    {"update_id": 13, "message": MESSAGES["poll"]},
    {"update_id": 14, "message": {**MESSAGES["text"], "from": USER, "text": "/start ref_1"}},
]

RESTRICTED_RIGHTS = [
    f"can_{right}"
    for right in [
        "send_messages", "send_audios", "send_documents", "send_photos", "send_videos",
        "send_video_notes", "send_voice_notes", "send_polls", "send_other_messages",
        "add_web_page_previews", "change_info", "invite_users", "pin_messages",
        "manage_topics", "react_to_messages", "edit_tag",
    ]
]  # fmt: skip
ANSWERS: list[tuple[str, TelegramMethod[Any], Any]] = [
    *[(f"message {name}", METHODS["send plain"], body) for name, body in MESSAGES.items()],
    ("edit gives a message", METHODS["edit text"], MESSAGES["edited"]),
    ("edit gives true", METHODS["edit inline message"], True),
    ("markup edit", METHODS["edit markup"], MESSAGES["text with keyboard"]),
    ("answer", METHODS["answer"], True),
    ("delete", METHODS["delete"], True),
    ("chat action", METHODS["chat action"], True),
    ("commands set", METHODS["commands"], True),
    ("webhook", METHODS["webhook"], True),
    ("updates", METHODS["updates"], UPDATES),
    ("no updates", METHODS["updates bare"], []),
    ("me", METHODS["me"], {**BOT_USER, "can_join_groups": True, "supports_inline_queries": False}),
    ("member", METHODS["chat member"], {"status": "member", "user": USER}),
    ("creator", METHODS["chat member"], {"status": "creator", "user": USER, "is_anonymous": False}),
    (
        "restricted",
        METHODS["chat member"],
        {
            "status": "restricted",
            "user": USER,
            "is_member": True,
            "until_date": 0,
            **dict.fromkeys(RESTRICTED_RIGHTS, False),
        },
    ),
    ("left", METHODS["chat member"], {"status": "left", "user": USER}),
    ("kicked", METHODS["chat member"], {"status": "kicked", "user": USER, "until_date": 0}),
    ("member count", GetChatMemberCount(chat_id=-100123), 17),
    (
        "chat",
        GetChat(chat_id=-100123),
        {
            **GROUP,
            "accent_color_id": 1,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        },
    ),
    (
        "file",
        METHODS["file"],
        {"file_id": "BQAC", "file_unique_id": "d1", "file_size": 5, "file_path": "docs/f.pdf"},
    ),
    ("commands", METHODS["commands get"], [{"command": "start", "description": "Начать"}]),
    ("copy", METHODS["copy"], {"message_id": 77}),
    ("forwarded", METHODS["forward messages"], [{"message_id": 1}, {"message_id": 2}]),
    ("media group", METHODS["media group"], [MESSAGES["photo"], MESSAGES["photo"]]),
    (
        "stopped poll",
        METHODS["stop poll"],
        {**MESSAGES["poll"]["poll"], "is_closed": True},
    ),
    (
        "webhook info",
        GetWebhookInfo(),
        {"url": "", "has_custom_certificate": False, "pending_update_count": 0},
    ),
]


def same(a: Any, b: Any, path: str = "") -> None:
    """Equal models of the same classes all the way down, the same fields set, bound alike."""
    assert type(a) is type(b), path
    if isinstance(a, BaseModel):
        assert a == b, path
        assert a.model_fields_set == b.model_fields_set, path
        assert a.__pydantic_private__ == b.__pydantic_private__, path
        assert a.__pydantic_extra__ == b.__pydantic_extra__, path
        for key in a.__dict__:
            same(a.__dict__[key], b.__dict__[key], f"{path}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            same(a[key], b[key], f"{path}.{key}")
    else:
        assert a == b, path


# --- binding (bot/telegram/binding.py) -----------------------------------------------------


@pytest.fixture
def aiograms_binding() -> Iterator[None]:
    """pydantic's wrappers for the test, the one-step binding back after it if it was on."""
    was_on = bool(binding._replaced)
    binding.bind_as_aiogram()
    yield
    if was_on:
        binding.bind_directly()


def built(method: TelegramMethod[Any], result: Any) -> list[Any]:
    """Everything the bot builds: an answer parsed, a method and a keyboard constructed."""
    content = json.dumps({"ok": True, "result": result})
    return [
        BotApiSession().check_response(OURS, method, 200, content),
        AiohttpSession().check_response(OURS, method, 200, content),
        SendMessage(chat_id=1, text="x", reply_markup=INLINE.model_copy()),
        InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="a", callback_data="b")]]),
        InlineKeyboardButton.model_construct(text="a"),
        SendMessage(chat_id=1, text="x").as_(OURS),
    ]


@pytest.mark.usefixtures("aiograms_binding")
def test_objects_bound_in_one_step_are_those_pydantics_wrappers_build() -> None:
    before = [built(method, result) for _, method, result in ANSWERS]
    assert binding.bind_directly() > 500  # every aiogram type and method
    assert SendMessage.model_post_init is binding._bind
    after = [built(method, result) for _, method, result in ANSWERS]
    same(after, before)
    message = after[0][0].result
    assert message.bot is OURS and message.chat.bot is OURS
    assert after[0][2].bot is None and after[0][5].bot is OURS


@pytest.mark.usefixtures("aiograms_binding")
def test_a_class_with_a_post_init_of_its_own_keeps_it() -> None:
    class Noted(InlineKeyboardButton):
        def model_post_init(self, context: Any, /) -> None:
            super().model_post_init(context)
            object.__setattr__(self, "noted", True)

    class Below(Noted):
        pass

    binding.bind_directly()
    assert Noted not in binding._replaced and Below not in binding._replaced
    assert InlineKeyboardButton in binding._replaced
    button = Below(text="a", callback_data="b")
    assert button.__dict__["noted"] and button.__pydantic_private__ == {"_bot": None}
