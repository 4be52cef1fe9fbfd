import asyncio
from tests.conftest import Harness
from tests.test_e2e_bad_input import *  # noqa

async def test_dbg(harness: Harness) -> None:
    h = harness
    await to_text_step(h, A)
    since = h.fake.mark()
    update = h.fake.user_message(A, VALID_TEXT)
    await h.reply(A, since, expect=FILES_PROMPT)
    await handled(h, update)
    since = h.fake.mark()
    h.fake.push_raw(update)
    await asyncio.sleep(1.5)
    for c in h.fake.calls[since:]:
        print(c.method, c.params, c.result if c.method=="getUpdates" else "")
    print(update["update_id"])
