"""`python -m bot`: validate settings, then long-poll (or, with WEBHOOK_URL, serve the
webhook) until SIGINT/SIGTERM. `python -m bot port --from sqlite:///… --to postgresql://…`
copies the database to PostgreSQL instead (storage/port.py) and needs no other setting."""

from __future__ import annotations

import gc
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["port"]:
        # Imported here: the port needs asyncpg, the bot on SQLite does not load it.
        from storage.port import main as port

        return port(args[1:])
    # No collection until the app is built: the imports (aiogram's types above all) make
    # hundreds of thousands of objects and almost no garbage (a full collection afterwards
    # finds a few thousand), yet the collector would walk them again and again as they
    # grow, about 0.5 s of a slow box's start-up. Once built, all of it is frozen out of
    # the collector's sight and collection resumes (see `run`).
    gc.disable()
    try:
        return _start()
    finally:
        gc.enable()


def _start() -> int:
    # Imported with the collector off (see `main`).
    from aiogram.exceptions import TelegramUnauthorizedError

    from bot.app import create_app
    from bot.domain.catalog import CatalogError
    from bot.settings import ConfigError, load_settings
    from bot.telegram import eventloop

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # aiohttp's access log would print request URLs, and those contain the token.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)  # one line per bad setting and nothing more
        return 2

    async def run() -> None:
        app = await create_app(settings)
        # Everything imported and built so far lives as long as the process: move it out of
        # the collector's sight, so a full collection under load walks only new objects
        # (bench/dialogs.py saw 100-200 ms pauses before). No full collection first: it
        # takes about 0.2 s here and would free only the start-up's few thousand objects of
        # garbage, which stay frozen instead (well under a MiB).
        gc.freeze()
        gc.enable()
        logging.getLogger("bot").info(
            "starting: Bot API %s, database %s, %s",
            settings.telegram_api_base,
            settings.database_url,
            f"webhook {settings.webhook_url}" if settings.webhook_url else "long polling",
        )
        if settings.webhook_url:
            await app.run_webhook()
        else:
            await app.run_polling()

    try:
        eventloop.run(run(), settings.event_loop)
    except (CatalogError, ConfigError) as exc:  # a catalog that leaves appeals without a chat
        print(exc, file=sys.stderr)
        return 2
    except TelegramUnauthorizedError:
        print("Telegram rejected BOT_TOKEN (401 Unauthorized): check it with @BotFather.",
              file=sys.stderr)  # fmt: skip
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
