"""Texts for officials that belong to no one screen."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _


def anonymous_text() -> str:
    """For a message nobody can be named for: an anonymous group admin, a channel."""
    return _(
        "You are writing anonymously on behalf of the group, so I cannot tell which official "
        "it is. Turn off «Remain anonymous» in your administrator rights and send it again."
    )
