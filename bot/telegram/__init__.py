"""Telegram plumbing: the session, dispatcher, middlewares, filters, callback data, commands
and menu."""
