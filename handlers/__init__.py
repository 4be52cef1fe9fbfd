"""aiogram routers: one module per dialog or audience; the order below is the match order.

Each module builds a fresh router, so several dispatchers (tests, restarts in one process)
never share one."""

from __future__ import annotations

from aiogram import BaseMiddleware, Dispatcher

from handlers import (
    additions,
    announce,
    appeal,
    booking,
    chat_member,
    common,
    consent,
    errors,
    fallback,
    feedback,
    forget,
    meetings,
    my_appeals,
    official_commands,
    official_meetings,
    official_receptions,
    officials,
    polls,
    subscriptions,
    switch,
)


def setup_routers(dp: Dispatcher, officials_locale: BaseMiddleware) -> None:
    """`officials_locale` sets the officials' language on the routers that speak to them."""
    for_officials = [
        official_commands.create_router(),
        officials.create_prompts_router(),
        announce.create_router(),
        official_meetings.create_router(),
        official_receptions.create_router(),
        officials.create_router(),
    ]
    for router in for_officials:
        router.message.middleware(officials_locale)
        router.callback_query.middleware(officials_locale)
    commands, prompt_replies, announcements, meeting_changes, receptions, cards = for_officials
    dp.include_routers(
        errors.create_router(),
        chat_member.create_router(),
        common.create_router(),
        commands,
        # A reply to an official's prompt, before any dialog that would read it as its step.
        prompt_replies,
        announcements,
        meeting_changes,
        receptions,
        consent.create_router(),
        forget.create_router(),
        my_appeals.create_router(),
        subscriptions.create_router(),
        meetings.create_router(),
        polls.create_router(),
        additions.create_router(),  # before the dialogs: its state may interrupt theirs
        switch.create_router(),  # before the dialogs: /book inside an appeal is no step input
        appeal.create_router(),
        booking.create_router(),
        cards,
        feedback.create_router(),
        fallback.create_router(),  # last: whatever nothing else understood
    )
