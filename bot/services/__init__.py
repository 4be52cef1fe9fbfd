"""What the bot does, Telegram-free: filing, officials' decisions, bookings, digest, reports."""
