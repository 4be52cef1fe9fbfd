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
    ],
)
def test_bad_settings_name_the_setting(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(_env_file=None, **env)
    lines = str(error.value).splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"Configuration error: {named} ")
    assert TOKEN not in str(error.value)


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
