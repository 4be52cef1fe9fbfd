"""How anything reaches Telegram: the outbox, its sender, and the scheduler's tick."""
