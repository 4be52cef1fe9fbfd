"""Settings from the environment or `.env`, validated once at start-up."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain.catalog import Catalog

PUBLIC_BOT_API = "https://api.telegram.org"
_TOKEN_SHAPE = re.compile(r"^\d+:[\w-]{20,}$")
# What Telegram accepts as setWebhook's secret_token.
_SECRET_SHAPE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


# DIGEST_CHART_WEEKDAY's names, Monday first: English, its three letters, Russian, Kazakh.
_WEEKDAYS = (
    ("monday", "mon", "понедельник", "пн", "дүйсенбі"),
    ("tuesday", "tue", "вторник", "вт", "сейсенбі"),
    ("wednesday", "wed", "среда", "ср", "сәрсенбі"),
    ("thursday", "thu", "четверг", "чт", "бейсенбі"),
    ("friday", "fri", "пятница", "пт", "жұма"),
    ("saturday", "sat", "суббота", "сб", "сенбі"),
    ("sunday", "sun", "воскресенье", "вс", "жексенбі"),
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    bot_token: SecretStr
    telegram_api_base: str = PUBLIC_BOT_API
    # Webhook mode (bot.telegram.webhook) when WEBHOOK_URL is set, long polling otherwise.
    # Declared after TELEGRAM_API_BASE, which the URL's check reads.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = Field(default=None, validate_default=True)
    webhook_listen: str = "127.0.0.1:8080"
    database_url: str = "sqlite:///data/bot.db"
    officials_chat_id: int | None = None
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    timezone: str = "Asia/Almaty"
    digest_time: time = time(9, 0)
    # The weekday whose digest carries the weekly chart (Monday is 0); None: no chart. Written
    # as a day's name (monday, mon, понедельник, дүйсенбі), its ISO number 1-7, or "off".
    digest_chart_weekday: int | None = Field(default=0, ge=0, le=6)
    default_language: Literal["kk", "ru"] = "kk"
    officials_language: Literal["kk", "ru"] = "ru"
    catalog_path: Path | None = None
    event_loop: Literal["auto", "uvloop", "asyncio"] = "auto"
    # Seconds: SQLite's own wait for another connection's write lock, then how long a locked
    # step is tried again before the citizen is told nothing was saved.
    database_busy_timeout: float = Field(default=5.0, gt=0)
    database_locked_retry: float = Field(default=10.0, ge=0)
    # Seconds a citizen's confirmation (registration number, booked place) waits in the
    # outbox before it is sent from there: the bot shows it at once by editing the review
    # card, and the row goes out only if that did not happen (a crash, Telegram down).
    confirmation_grace: float = Field(default=30.0, gt=0)
    # What one citizen may send (bot.domain.limits, bot.telegram.throttle): appeals and
    # additions in any 24 hours, and updates in hand at once before it is a burst. Five
    # appeals a day is more than anyone files in good faith, and keeps one person from filling
    # the officials' chat; five updates at once is an appeal's files sent one by one (an
    # album counts once).
    appeals_per_day: int = 5
    additions_per_day: int = 5
    throttle_burst: int = 5
    # Seconds between edits of an announcement's progress message in the officials' chat
    # (Telegram allows a group about 20 messages a minute, edits included).
    broadcast_progress_interval: float = Field(default=5.0, gt=0)

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        # `BOT_TOKEN=` as .env.example has it: say so, not that it looks wrong.
        if not value.get_secret_value().strip():
            raise ValueError("is empty: put the token from @BotFather in .env or the environment")
        # Checked here so a typo fails at start-up, not on the first request.
        if not _TOKEN_SHAPE.match(value.get_secret_value().strip()):
            raise ValueError("does not look like a token from @BotFather (digits:letters)")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("telegram_api_base")
    @classmethod
    def _api_base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _webhook_url(cls, value: object, info: ValidationInfo) -> object:
        if value is None or not str(value).strip():
            return None
        url = urlsplit(str(value).strip())
        # Telegram delivers to HTTPS only; a local Bot API server (and the tests' fake) to
        # plain HTTP too.
        public = info.data.get("telegram_api_base", PUBLIC_BOT_API) == PUBLIC_BOT_API
        schemes = ("https",) if public else ("https", "http")
        if url.scheme not in schemes or not url.hostname:
            raise ValueError(
                "must be the public https:// address Telegram posts updates to"
                " (e.g. https://bot.example.kz/telegram)"
            )
        return str(value).strip()

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _webhook_secret(cls, value: object, info: ValidationInfo) -> object:
        secret = value.get_secret_value() if isinstance(value, SecretStr) else value
        secret = str(secret or "").strip()
        if not secret:
            # Without it anyone who finds the address could post updates as any citizen.
            if info.data.get("webhook_url"):
                raise ValueError("is required when WEBHOOK_URL is set (1-256 of A-Z a-z 0-9 _ -)")
            return None
        if not _SECRET_SHAPE.match(secret):
            raise ValueError("must be 1-256 characters, only A-Z a-z 0-9 _ -")
        return SecretStr(secret)

    @field_validator("webhook_listen")
    @classmethod
    def _webhook_listen(cls, value: str) -> str:
        host, _, port = value.strip().rpartition(":")
        if not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
            raise ValueError("must be host:port, e.g. 127.0.0.1:8080 or 0.0.0.0:8080")
        return value.strip()

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        # storage.stores.open_stores opens either; checked here so a typo stops start-up with
        # one line rather than a driver's traceback.
        value = value.strip()
        if value.startswith("sqlite:///"):
            if not value.removeprefix("sqlite:///"):
                raise ValueError("must name the database file: sqlite:///data/bot.db")
            return value
        if value.startswith(("postgresql://", "postgres://")):
            try:
                url = urlsplit(value)
                url.port  # noqa: B018 - raises on a port that is not a number
            except ValueError:
                url = None
            if url is None or not url.hostname or not url.path.strip("/"):
                raise ValueError(
                    "must name the server and the database: postgresql://user:password@host"
                    ":5432/database"
                )
            return value
        raise ValueError(
            "must be sqlite:///path/to/bot.db or postgresql://user:password@host:5432/database"
        )

    @field_validator("officials_chat_id", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p for p in re.split(r"[,\s]+", value.strip()) if p]
            try:
                return [int(p) for p in parts]
            except ValueError:
                raise ValueError("must be Telegram user ids separated by commas") from None
        return value

    @field_validator("digest_chart_weekday", mode="before")
    @classmethod
    def _weekday(cls, value: object) -> object:
        if value is None or isinstance(value, int):
            return value
        text = str(value).strip().lower()
        if text in ("off", "none", "no", "never", ""):
            return None
        if text.isascii() and text.isdigit() and 1 <= int(text) <= 7:
            return int(text) - 1  # ISO: Monday is 1
        for number, names in enumerate(_WEEKDAYS):
            if text in names:
                return number
        raise ValueError(
            "must be a day of the week (monday … sunday, or 1-7 with Monday 1), or off"
        )

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Almaty)") from None
        return value

    @field_validator("appeals_per_day", "additions_per_day", "throttle_burst", mode="before")
    @classmethod
    def _count(cls, value: object) -> object:
        text = str(value).strip()
        if not (text.isascii() and text.isdigit()) or int(text) < 1:
            raise ValueError("must be a whole number, 1 or more")
        return int(text)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def webhook_address(self) -> tuple[str, int]:
        """Where the webhook server listens (WEBHOOK_LISTEN): host and port."""
        host, _, port = self.webhook_listen.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def webhook_path(self) -> str:
        """The path of WEBHOOK_URL: the reverse proxy passes it through unchanged."""
        return urlsplit(self.webhook_url or "").path or "/"


class ConfigError(Exception):
    """A start-up configuration problem, already phrased for the operator."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc)) from None


def check_officials_chat(settings: Settings, catalog: Catalog) -> None:
    """Every appeal must reach an officials' chat: OFFICIALS_CHAT_ID, or the catalog's
    [routing] giving one to every appeal a citizen can file. Without either, a citizen would
    get a registration number for an appeal no official ever sees."""
    unrouted = catalog.unrouted_appeal() if settings.officials_chat_id is None else None
    if unrouted is None:
        return
    district, category = unrouted
    raise ConfigError(
        f"Configuration error: OFFICIALS_CHAT_ID is not set, and the [routing] of "
        f"{catalog.source} gives no officials' chat to some appeals (e.g. category "
        f"{category.code!r} in district {district.code} {district.ru}): set OFFICIALS_CHAT_ID, "
        "or route every district or every category there"
    )


def describe_errors(exc: ValidationError) -> str:
    """One line per bad setting, named as the operator writes it; values are never echoed."""
    lines = []
    for err in exc.errors(include_url=False, include_input=False):
        name = str(err["loc"][0]).upper() if err["loc"] else "settings"
        if err["type"] == "missing":
            reason = "is required but not set (put it in .env or the environment)"
        else:
            reason = err["msg"].removeprefix("Value error, ")
        lines.append(f"Configuration error: {name} {reason}")
    return "\n".join(lines)
