"""`python -m tests.webhookbot`: `python -m bot` whose webhook answers 503 for an update still
in hand after ANSWER_WITHIN seconds (bot.telegram.webhook.ANSWER_WITHIN, 50 s in production),
so a test makes an update outlast it with a stall of seconds, not of a minute."""

from __future__ import annotations

import os
import sys

import bot.telegram.webhook
from bot.__main__ import main

if __name__ == "__main__":
    if "ANSWER_WITHIN" in os.environ:
        bot.telegram.webhook.ANSWER_WITHIN = float(os.environ["ANSWER_WITHIN"])
    sys.exit(main())
