"""Start-up configuration: one clear line per problem, the token never shown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings
from tests.conftest import TOKEN

ROOT = Path(__file__).resolve().parent.parent


def test_defaults() -> None:
    settings = load_settings(_env_file=None, bot_token=TOKEN)
    assert settings.telegram_api_base == "https://api.telegram.org"
    assert settings.database_url == "sqlite:///data/bot.db"
    assert settings.timezone == "Asia/Almaty"
    assert settings.default_language == "kk"
    assert settings.digest_time.strftime("%H:%M") == "09:00"
    assert (settings.appeals_per_day, settings.additions_per_day) == (5, 5)
    assert settings.throttle_burst == 5


def test_limits_are_read_as_whole_numbers() -> None:
    settings = load_settings(
        _env_file=None, bot_token=TOKEN, appeals_per_day=" 3 ", throttle_burst="1000"
    )
    assert (settings.appeals_per_day, settings.throttle_burst) == (3, 1000)


def test_webhook_mode_is_off_unless_a_url_is_set() -> None:
    settings = load_settings(_env_file=None, bot_token=TOKEN, webhook_url="", webhook_secret="")
    assert settings.webhook_url is None and settings.webhook_secret is None
    assert settings.webhook_address == ("127.0.0.1", 8080)


def test_webhook_settings_are_read() -> None:
    settings = load_settings(
        _env_file=None,
        bot_token=TOKEN,
        webhook_url=" https://bot.example.kz/telegram/updates ",
        webhook_secret="A-z_09",
        webhook_listen="0.0.0.0:8443",
    )
    assert settings.webhook_url == "https://bot.example.kz/telegram/updates"
    assert settings.webhook_secret is not None
    assert settings.webhook_secret.get_secret_value() == "A-z_09"
    assert settings.webhook_path == "/telegram/updates"
    assert settings.webhook_address == ("0.0.0.0", 8443)
    # Telegram posts to HTTPS only; a local Bot API server (or the tests' fake) to HTTP too.
    local = load_settings(
        _env_file=None,
        bot_token=TOKEN,
        telegram_api_base="http://127.0.0.1:8081",
        webhook_url="http://127.0.0.1:8080",
        webhook_secret="s",
        webhook_listen="[::1]:8080",
    )
    assert local.webhook_path == "/"
    assert local.webhook_address == ("::1", 8080)


def test_the_webhook_secret_is_never_echoed() -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(
            _env_file=None,
            bot_token=TOKEN,
            webhook_url="https://b.kz/",
            webhook_secret="almost-right but-not",
        )
    assert "almost-right" not in str(error.value)


def test_admin_ids_accept_a_comma_list() -> None:
    settings = load_settings(_env_file=None, bot_token=TOKEN, admin_ids="1, 2,3")
    assert settings.admin_ids == [1, 2, 3]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "BOT_TOKEN"),
        ({"bot_token": "not-a-token"}, "BOT_TOKEN"),
        ({"bot_token": TOKEN, "officials_chat_id": "the group"}, "OFFICIALS_CHAT_ID"),
        ({"bot_token": TOKEN, "timezone": "Mars/Olympus"}, "TIMEZONE"),
        ({"bot_token": TOKEN, "digest_time": "nine"}, "DIGEST_TIME"),
        ({"bot_token": TOKEN, "default_language": "en"}, "DEFAULT_LANGUAGE"),
        ({"bot_token": TOKEN, "admin_ids": "1,x"}, "ADMIN_IDS"),
        ({"bot_token": TOKEN, "telegram_api_base": "localhost:8081"}, "TELEGRAM_API_BASE"),
        ({"bot_token": TOKEN, "appeals_per_day": "0"}, "APPEALS_PER_DAY"),
        ({"bot_token": TOKEN, "appeals_per_day": "five"}, "APPEALS_PER_DAY"),
        ({"bot_token": TOKEN, "additions_per_day": "-1"}, "ADDITIONS_PER_DAY"),
        ({"bot_token": TOKEN, "throttle_burst": "2.5"}, "THROTTLE_BURST"),
        ({"bot_token": TOKEN, "throttle_burst": ""}, "THROTTLE_BURST"),
        ({"bot_token": TOKEN, "webhook_url": "https://bot.example.kz/tg"}, "WEBHOOK_SECRET"),
        (
            {"bot_token": TOKEN, "webhook_url": "http://bot.example.kz/tg", "webhook_secret": "s"},
            "WEBHOOK_URL",
        ),
        (
            {"bot_token": TOKEN, "webhook_url": "bot.example.kz", "webhook_secret": "s"},
            "WEBHOOK_URL",
        ),
        (
            {"bot_token": TOKEN, "webhook_url": "https://b.kz/", "webhook_secret": "has space"},
            "WEBHOOK_SECRET",
        ),
        ({"bot_token": TOKEN, "webhook_secret": "x" * 257}, "WEBHOOK_SECRET"),
        ({"bot_token": TOKEN, "webhook_listen": "8080"}, "WEBHOOK_LISTEN"),
        ({"bot_token": TOKEN, "webhook_listen": "0.0.0.0:http"}, "WEBHOOK_LISTEN"),
        ({"bot_token": TOKEN, "webhook_listen": "127.0.0.1:70000"}, "WEBHOOK_LISTEN"),
    ],
)
def test_bad_settings_name_the_setting(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(_env_file=None, **env)
    lines = str(error.value).splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"Configuration error: {named} ")
    assert TOKEN not in str(error.value)


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///data/bot.db",
        "postgresql://bot@db/bot",
        "postgres://bot:secret@db.internal:5433/bot?sslmode=require",
    ],
)
def test_a_database_url_of_either_backend_is_taken(url: str) -> None:
    settings = load_settings(_env_file=None, bot_token=TOKEN, database_url=url)
    assert settings.database_url == url


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://bot@db",  # no database
        "postgresql:///bot",  # no server
        "postgresql://bot:pw@db:port/bot",  # a port that is not a number
        "sqlite:///",  # no file
        "mysql://bot@db/bot",
        "data/bot.db",
    ],
)
def test_a_bad_database_url_is_one_clear_line_without_the_password(url: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(_env_file=None, bot_token=TOKEN, database_url=url)
    [line] = str(error.value).splitlines()
    assert line.startswith("Configuration error: DATABASE_URL must ")
    assert "pw" not in line


def run_bot(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN"}}
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_missing_token_stops_start_up_with_one_line(tmp_path: Path) -> None:
    result = run_bot({}, tmp_path)
    assert result.returncode == 2
    assert "Configuration error: BOT_TOKEN is required" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_value_is_named_without_echoing_the_token(tmp_path: Path) -> None:
    result = run_bot({"BOT_TOKEN": TOKEN, "TIMEZONE": "Nowhere/City"}, tmp_path)
    assert result.returncode == 2
    assert "Configuration error: TIMEZONE" in result.stderr
    assert TOKEN not in result.stderr + result.stdout
