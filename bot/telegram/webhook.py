"""Webhook mode: Telegram posts each update to our aiohttp server instead of being polled.

What is acknowledged when. Telegram counts an update delivered when our answer is a 2xx,
and sends a chat's next update only after that answer. So the request is answered only
after the update was handled (its rows written, its replies sent or in the outbox, the
update marked handled) — never before, as aiogram's request handler does by default
(`handle_in_background=True`): a crash between that early answer and the end of the
handling would lose the update. Answering late also keeps one chat's updates in order.

- The wrong or a missing `X-Telegram-Bot-Api-Secret-Token`: 401, the update is not read.
- Handling raised: aiogram's error handler (handlers/errors.py) has logged it and told the
  citizen, exactly as in polling mode, and the answer is 200. A 500 would make Telegram
  deliver the update again and again (it is not marked handled, so it would run again),
  telling the citizen "something went wrong" each time and holding up the chat's next
  updates until Telegram gives up. The dialog stays at the step the update found it in
  (its writes commit only with the handled-mark, storage.fsm), so the citizen's next message
  answers that step.
- Handling takes longer than `answer_within` (Telegram waits about a minute and then counts
  the attempt failed): it is logged, the handling goes on, and the answer is 503, so
  Telegram delivers the update again later. Before that 503 the update is claimed in the
  database (bot.telegram.claims: this instance's id and an expiry, renewed while the
  handling goes on, released when it ends). A redelivery that reaches this instance waits
  for the same handling instead of starting a second one; one that reaches another instance
  finds the claim in the read that asks whether the update was handled
  (RequestContextMiddleware) and is answered 503 there, not handled; once the update is
  marked handled, a later redelivery is skipped wherever it lands. A claim whose holder is
  gone (its expiry passed, or its pid is gone on this machine) holds nothing off, so a
  redelivery after the holder died is handled. Left open: a holder that cannot renew its
  claim (a database stalled past the claim's 30 s, or the process hung that long) may see
  another instance handle the update too (README, Reliability).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from bot.telegram.claims import UPDATE_CLAIMS, Held, UpdateClaims

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram gives up on a webhook request after about 60 s; answer well before that.
ANSWER_WITHIN = 50.0
# /healthz: how long the database may take to answer before the instance is called unhealthy.
HEALTH_WITHIN = 2.0


class WebhookReceiver:
    """The aiohttp application of webhook mode: the update route and /healthz."""

    def __init__(
        self,
        dp: Dispatcher,
        bot: Bot,
        secret: str,
        database_answers: Callable[[], Awaitable[None]],
        *,
        answer_within: float = ANSWER_WITHIN,
        health_within: float = HEALTH_WITHIN,
        claims: UpdateClaims | None = None,
    ) -> None:
        self.dp = dp
        self.bot = bot
        self._secret = secret.encode()
        self._database_answers = database_answers
        self.answer_within = answer_within
        self.health_within = health_within
        # None: a redelivery reaching another instance is not held off (one instance).
        self.claims = claims
        # Updates being handled, by update_id: a redelivery joins the handling in hand. Each
        # says whether it was handled here (False: another instance has it in hand).
        self._in_hand: dict[int, asyncio.Task[bool]] = {}
        self._extra: dict[str, Any] = {"dispatcher": dp, "bots": [bot]}
        if claims is not None:
            self._extra[UPDATE_CLAIMS] = claims

    def application(self, path: str) -> web.Application:
        app = web.Application()
        app.router.add_post(path, self.receive)
        app.router.add_get("/healthz", self.healthz)
        return app

    async def receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            log.warning("webhook: request from %s without the right secret refused", request.remote)
            return web.Response(status=401, text="Unauthorized")
        try:
            update = Update.model_validate(await request.json(), context={"bot": self.bot})
        except (ValueError, ValidationError):
            log.warning("webhook: a request from %s that is not an update refused", request.remote)
            return web.Response(status=400, text="Not an update")
        handling = self._in_hand.get(update.update_id)
        if handling is None:
            handling = asyncio.create_task(self._handle(update))
            self._in_hand[update.update_id] = handling
            handling.add_done_callback(lambda _: self._in_hand.pop(update.update_id, None))
        try:
            # Shielded: neither this bound nor a dropped connection cuts the handling short.
            async with asyncio.timeout(self.answer_within):
                handled_here = await asyncio.shield(handling)
        except TimeoutError:
            if self.claims is not None:
                # Written before the 503: the redelivery cannot reach another instance first.
                await self.claims.hold(update.update_id, handling)
            log.warning(
                "update %s still in hand after %.1f s: answered 503, Telegram will deliver it"
                " again (and the redelivery is skipped once this one is marked handled)",
                update.update_id,
                self.answer_within,
            )
            return web.Response(status=503, text="Still handling")
        if not handled_here:
            return web.Response(status=503, text="In hand elsewhere")
        return web.json_response({})

    async def _handle(self, update: Update) -> bool:
        """As polling handles an update (aiogram's Dispatcher._process_update); False when
        another instance has it in hand (bot.telegram.claims) and nothing was done."""
        try:
            result = await self.dp.feed_update(self.bot, update, **self._extra)
            if result is Held.ELSEWHERE:
                return False
            if isinstance(result, TelegramMethod):  # a handler that returned its reply
                await self.dp.silent_call_request(self.bot, result)
        except Exception:
            # The error handler re-raises nothing; this is a failure outside it. Logged and
            # acknowledged as polling would (see the module's docstring for why not a 500).
            log.exception("update %s failed outside the error handler", update.update_id)
        return True

    async def healthz(self, request: web.Request) -> web.Response:
        """200 only when the database answers a read in time: a load balancer sends updates
        only to an instance that can handle them."""
        try:
            async with asyncio.timeout(self.health_within):
                await self._database_answers()
        except Exception as exc:  # any failure is "unhealthy", with its reason in the log
            log.warning("healthz: the database does not answer: %r", exc)
            return web.Response(status=503, text="database unavailable")
        return web.Response(text="ok")
