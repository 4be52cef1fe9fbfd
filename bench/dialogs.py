"""Dialog throughput of the real bot next to a bare aiogram echo bot, closed and open loop.

K citizens each file a whole appeal through `python -m bot` (SQLite, long-polling the tests'
fake Bot API) and then book a place at an open reception with /book. Two baselines get the
same updates: the echo bot (bench.echo_bot, one reply per update) and the same-calls echo
(bench.same_calls_bot), a bare aiogram bot that answers each step with the Bot API calls ours
made for that step, its texts and keyboards included. Prints updates/s, reply latency, each
bot's peak RSS and CPU, and the ratios ours / echo (our code and the dialog's design) and
ours / same-calls echo (our code alone).

The same-calls echo's script is recorded in the same run, never written by hand: ours' warm-up
citizen goes through the dialog one step at a time, each step pushed once ours has made no
call for SCRIPT_QUIET seconds, and every call ours made between two pushes is that step's
(the officials' card of the appeal's confirm included). Each run's ours phase records it
afresh and the same-calls phase after it replays it; the table prints it per step.

    .venv/bin/python -m bench.dialogs                          # 50 citizens, both loops, 2 runs
    .venv/bin/python -m bench.dialogs --rate 100 --mode open   # plus load offered at 100/s
    .venv/bin/python -m bench.dialogs --databases sqlite,postgres   # ours on each, one table

    .venv/bin/python -m bench.dialogs --one-window   # plus the same-calls echo, one window a step

--one-window adds a fourth bot: the same-calls echo replaying the script as a one-window dialog
would make its calls (bench.same_calls_bot.one_window: the «✔️ choice» edit and the next
question become one edit of the pressed message), and prints its ratio to the same-calls echo.

--databases runs ours on each database named (bench/databases.py: PostgreSQL in a schema of
its own, created and dropped for every run), interleaved with the echo bot as before.

    .venv/bin/python -m bench.dialogs --webhook 1,2   # plus ours in webhook mode, 1 and 2 instances

--webhook N,M adds rows for ours in webhook mode with N (then M) instances, always on
PostgreSQL (several instances need a server database they share), under the same load and
the same fake: the fake posts the updates as Telegram does (a chat's next update only once the
previous one was answered) through its reverse proxy, round robin over the instances
(FakeTelegram.webhook_upstreams), as tests/test_e2e_webhook_instances.py deploys them. An
instance is ready once it has called setWebhook (instead of the first getUpdates); CPU s and
peak RSS are the instances' summed.

The booking goes the way of tests/test_e2e_booking.py: /book, the deputy akim's reception, a
day, a time, the question typed, no access needs ("Continue"), the phone typed, confirm. Day
and time are read off the bot's buttons (the bot runs on the real clock, so the days are
relative to today): citizen n takes a mixed-radix spread of n over the offered days, then
times, so the load is spread over sessions and slots. The bundled catalog holds fewer than 90
places within its 28-day horizon (18 a Wednesday session of the deputy akim, 3 or 4 sessions),
not enough for 200 citizens, so the bot runs on a copy of it with every reception's capacity
raised to the number of citizens plus the warm-up one. Then no slot can fill up whatever the
spread, so no citizen meets "that time was just taken" at confirm (the places shown at the time
step are stale by then, in open loop most of all), and the work per booking (counting the
places taken in the slot and on the days) is the same as with the bundled capacity.

Closed loop: every citizen sends one update and waits for the bot's answer before the next.
Open loop: every citizen's updates are queued at once, except the presses whose callback data
only the bot's previous reply tells: the appeal's confirm and the booking's confirm (their
buttons carry the draft's key) and the booking's day and time (which days and times are free
is known only from the buttons). Such a press waits for that reply, and the citizen's later
updates are queued right behind it, without waiting for further answers, so each chat's
updates still reach the bot in dialog order. So open loop is open only between those four
presses: each of them costs ours a round trip per citizen, and its wait is in the wall time.
The echo bots' presses carry data of their own and wait for nothing. --rate N
offers the open-loop updates at N per second instead (one step of every citizen, then the next
step, and so on; a step held back by its citizen's waiting press goes out as soon as that press
has, and no earlier than its own due time).

Latency runs from pushing an update to the bot's message that ends the step, the one a citizen
needs for the next step (e.g. the district list, not the "✔️ region" line sent before it).
updates/s is updates / (last reply - first push). Every bot run gets a fresh database and user
ids of its own. A warm-up citizen goes through the dialog first and is not counted.
CPU s is the bot process's user+system time during the load. Peak RSS is its VmHWM.
"harness CPU s" is this process's CPU time over the same interval. This process runs the fake
server and the citizens, so a value near the wall time means the harness was the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import resource
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from bench import databases
from bot.telegram.eventloop import LoopChoice, resolve
from tests.fakeapi import (
    BOT_USER,
    Call,
    FakeTelegram,
    JsonDict,
    WebhookAttempt,
    buttons,
    find_button,
)

ROOT = Path(__file__).resolve().parent.parent
OURS_TOKEN = "123456789:AAFakeTokenForBench_0123456789abc"
# A token of its own so that a stray call in the fake's log can be traced to the echo bot.
ECHO_TOKEN = "123456789:AAFakeTokenForEcho_0123456789abcd"
SAME_TOKEN = "123456789:AAFakeTokenForSame_0123456789abcd"
ONE_TOKEN = "123456789:AAFakeTokenForOneW_0123456789abcd"
OFFICIALS = -1001000
APPEAL_TEXT = "На улице Ленина 5 третью неделю не горят фонари, вечером темно и опасно."
LOCATION = (49.4, 75.47)
PHONE = "+7 701 234 56 78"
STORED_PHONE = "+77012345678"
FULL_NAME = "Иванов Иван Иванович"
SKIP = "Пропустить"
QUESTION = "Вопрос о назначении пособия по инвалидности для моей матери."
BUNDLED_CATALOG = ROOT / "bot" / "data" / "catalog.toml"
BOOKED_RECEPTION = "deputy_akim"  # the reception whose label BOOKING presses
# A day or time button the citizen may take: its label ends in the free places in words,
# "— 18 мест" or "(2 места)". A full day says "full, join the waiting list" instead, a day the
# citizen holds a place on "✅ booked, 10:20"; both are left alone.
FREE_PLACES = re.compile(r"(?:—|\()\s*(\d+)\s+\w+\)?\s*$")
# A press needs a message under it. In open loop and for the echo bot no reply has arrived yet,
# so the button sits on a bot message the fake never stored. The bot's edits then create it.
PLACEHOLDER_MESSAGE_ID = 999_999
# --webhook: the public URL the instances give setWebhook (the fake's proxy passes its path on
# to each instance) and the secret Telegram sends with every POST.
WEBHOOK_URL = "https://bot.example.kz/telegram/updates"
WEBHOOK_SECRET = "bench-webhook-secret"
START_TIMEOUT = 60.0  # importing and migrating the bot takes a few seconds on a slow box
STEP_TIMEOUT = 60.0
PHASE_TIMEOUT = 600.0
UID_BASE = 900_000_000  # well away from the ids the tests use
CLK_TCK = os.sysconf("SC_CLK_TCK")
LOOP: list[LoopChoice] = ["auto"]  # --loop, the same for both bots
# --schedule: "lockstep" offers one step of every citizen, then the next step, so every
# citizen reaches the heavy steps (filing, booking) in the same half second; "staggered"
# starts citizen n at round n mod (steps), as if they had arrived one after another, so each
# round mixes all steps. Same updates, same rate, same per-chat order.
SCHEDULE: list[str] = ["lockstep"]

# ours: python -m bot; echo: bench.echo_bot, one reply per update; same: bench.same_calls_bot,
# the Bot API calls ours made for each step, recorded in the same run (see record_script).
# one (--one-window): the same-calls echo with each step's «✔️ choice» edit and the next
# question merged into one edit of the pressed message (bench.same_calls_bot.one_window).
BotName = Literal["ours", "echo", "same", "one"]
BOTS: tuple[BotName, ...] = ("ours", "echo", "same", "one")
TOKENS: dict[BotName, str] = {
    "ours": OURS_TOKEN,
    "echo": ECHO_TOKEN,
    "same": SAME_TOKEN,
    "one": ONE_TOKEN,
}
MODULES: dict[BotName, str] = {
    "ours": "bot",
    "echo": "bench.echo_bot",
    "same": "bench.same_calls_bot",
    "one": "bench.same_calls_bot",
}
# A step's calls are those ours made from the push of the step until it has been quiet this
# long after the step's reply: the officials' card goes through the outbox, after the reply.
SCRIPT_QUIET = 0.5
# The same-calls script: {step name: [(Bot API method, params as ours sent them), ...]}.
Script = dict[str, list[tuple[str, JsonDict]]]
Mode = Literal["closed", "open", "rate"]
Expect = Literal["inline", "keyboard", "edit", "any"]
# How a press finds its button: by a substring of the label, or (spread) as one of the free
# places the bot offers, chosen by the citizen's number.
Pick = Literal["label", "spread"]


@dataclass(frozen=True)
class Step:
    """One update of the dialog and the kind of bot message that ends the step."""

    name: str
    kind: Literal["text", "photo", "location", "press"]
    value: str = ""  # the text typed, or a substring of the pressed button's label
    expect: Expect = "inline"
    # The callback data is known only from the previous reply (the review's draft key, the
    # free days and times), so open loop cannot queue the press before that reply is in.
    dependent: bool = False
    pick: Pick = "label"  # "spread" needs dependent=True: the choice is read off the reply


# The route of tests/test_e2e_appeal.py: onboarding, then the appeal with one photo.
APPEAL: tuple[Step, ...] = (
    Step("start", "text", "/start"),  # the language buttons
    Step("language", "press", "Русский"),  # greeting (reply keyboard), then consent (inline)
    Step("consent", "press", "✅", expect="edit"),  # "Thank you" edited into the question
    Step("new", "text", "/new"),  # kinds
    Step("kind", "press", "Жалоба"),  # "✔️ kind" edited in, then categories
    Step("category", "press", "Уличное освещение"),  # then regions
    Step("region", "text", "караганды"),  # "✔️ region", then districts
    Step("district", "text", "Каркаралы"),  # "✔️ district", then the text prompt
    Step("text", "text", APPEAL_TEXT),  # the attachments prompt
    Step("photo", "photo"),  # "1 file", with Done
    Step("done", "press", "✅", expect="keyboard"),  # the location prompt (reply keyboard)
    Step("location", "location", expect="keyboard"),  # the full-name prompt
    Step("name", "text", FULL_NAME, expect="keyboard"),  # the phone prompt
    Step("phone", "text", PHONE, expect="keyboard"),  # the written-answer address prompt
    Step("address", "text", SKIP),  # "Almost done", then the review
    Step("confirm", "press", "✅", expect="keyboard", dependent=True),  # registered, main menu
)
# The route of tests/test_e2e_booking.py, right after the appeal: the citizen has consented, so
# /book goes straight to the receptions. Names differ from APPEAL's: `known` is keyed by name.
BOOKING: tuple[Step, ...] = (
    Step("book", "text", "/book"),  # the receptions
    Step("reception", "press", "заместител"),  # "✔️ reception" edited in, then the days
    Step("day", "press", dependent=True, pick="spread"),  # then the times
    Step("slot", "press", dependent=True, pick="spread"),  # the question prompt
    Step("question", "text", QUESTION),  # the access needs
    Step("access", "press", "➡️", expect="keyboard"),  # "✔️ none", the contact prompt
    Step("book_phone", "text", PHONE),  # "Almost done", then the review
    Step("book_confirm", "press", "✅", expect="keyboard", dependent=True),  # booked, main menu
)
DIALOG: tuple[Step, ...] = APPEAL + BOOKING


def ends_step(expect: Expect, call: Call, one_window: bool = False) -> bool:
    method = call.method.lower()
    if one_window and expect == "inline" and method == "editmessagetext":
        # The next question edited into the pressed message.
        markup = call.params.get("reply_markup")
        return isinstance(markup, dict) and "inline_keyboard" in markup
    if expect == "any":
        return method in ("sendmessage", "editmessagetext", "answercallbackquery")
    if expect == "edit":
        return method == "editmessagetext"
    markup = call.params.get("reply_markup")
    if method != "sendmessage" or not isinstance(markup, dict):
        return False
    return ("inline_keyboard" if expect == "inline" else "keyboard") in markup


@dataclass
class Citizen:
    """One simulated citizen: what it pushed when, and the replies that ended its steps."""

    uid: int
    bot: BotName
    steps: Sequence[Step] = DIALOG
    number: int = 0  # spreads the citizens' choices of day and time
    pushed: list[float | None] = field(init=False)
    replies: list[asyncio.Future[Call]] = field(init=False)
    latencies: list[float] = field(default_factory=list)
    next_reply: int = 0
    last_reply_at: float = 0.0
    # What is left of `number` for the next spread choice: each choice takes its digit in the
    # radix of the options offered (day = n mod days, time = n div days mod times, ...).
    spread_left: int = field(init=False)

    def __post_init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.pushed = [None] * len(self.steps)
        self.replies = [loop.create_future() for _ in self.steps]
        self.spread_left = self.number

    def on_call(self, call: Call, now: float) -> None:
        # Replies arrive in step order: the bot handles one update per chat at a time.
        index = self.next_reply
        if index >= len(self.steps) or self.pushed[index] is None:
            return
        expect = "any" if self.bot == "echo" else self.steps[index].expect
        if not ends_step(expect, call, one_window=self.bot == "one"):
            return
        self.latencies.append(now - (self.pushed[index] or now))
        # A waiter that gave up has cancelled the future; the bot's request must not fail.
        if not self.replies[index].done():
            self.replies[index].set_result(call)
        self.next_reply += 1
        self.last_reply_at = now


class BenchFake(FakeTelegram):
    """The tests' fake, with each bot message handed straight to the citizen it is for.

    ``wait_for`` rescans the call list for every waiter on every call. With hundreds of waiting
    citizens that would make the harness, not the bot, the bottleneck.
    """

    def __init__(self) -> None:
        # Limits off: the officials' cards go through the rate-limited outbox, and only the
        # citizens' dialog is measured here.
        super().__init__(enforce_limits=False)
        self.citizens: dict[int, Citizen] = {}

    def _record(self, call: Call) -> None:
        super()._record(call)
        if call.failed or call.method.lower() == "getupdates":
            return
        chat = self.chat_of(call)
        citizen = self.citizens.get(chat) if isinstance(chat, int) else None
        if citizen is not None:
            citizen.on_call(call, time.perf_counter())

    def drop_pending(self) -> int:
        """Forget updates nobody confirmed, so the next bot does not get the last one's."""
        left = len(self._pending)
        self._pending.clear()
        return left

    async def end_webhook(self) -> None:
        """After a webhook run: no more POSTs, no proxy. The instances leave the webhook set
        (another may be serving it), and the echo bots after them long-poll."""
        await self._stop_webhook()
        self.webhook_upstreams = []


@dataclass
class Result:
    updates: int
    wall: float
    latencies: list[float]
    cpu_s: float
    rss_mib: float
    harness_cpu_s: float
    calls: Counter[str]  # Bot API methods the bot called during the load, getUpdates aside
    by_step: dict[str, list[float]]  # latencies of each dialog step, seconds

    @property
    def rate(self) -> float:
        return self.updates / self.wall


# --------------------------------------------------------------------------- the bot process


def proc_cpu_seconds(pid: int) -> float:
    # The command name in field 2 may contain spaces; utime and stime follow the last ')'.
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return math.nan


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def open_log(path: Path) -> IO[bytes]:
    return path.open("wb")


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "<no log>"
    return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def start_process(
    fake: BenchFake,
    bot: BotName,
    run_dir: Path,
    catalog: Path | None = None,
    database_url: str | None = None,
    script: Path | None = None,
    webhook: tuple[str, int] | None = None,
) -> tuple[asyncio.subprocess.Process, Path]:
    """`webhook`: (name, port) runs ours as a webhook instance listening on that port and
    calling the fake under the prefix `name` (Call.client); ready once it called setWebhook."""
    token = TOKENS[bot]
    client, port = webhook or ("", 0)
    env = {
        **os.environ,
        "BOT_TOKEN": token,
        "TELEGRAM_API_BASE": f"{fake.base_url}/{client}" if webhook else fake.base_url,
        "DATABASE_URL": database_url or f"sqlite:///{run_dir / 'bot.db'}",
        "OFFICIALS_CHAT_ID": str(OFFICIALS),
        "EVENT_LOOP": LOOP[0],
        # Open loop queues a citizen's whole dialog at once, which is a burst by the bot's
        # rule (bot.telegram.throttle): the limit is raised so that every update is counted by the
        # gate, as in production, and none is dropped.
        "THROTTLE_BURST": "1000",
    }
    if catalog is not None:
        env["CATALOG_PATH"] = str(catalog)
    if script is not None:
        env["BENCH_SCRIPT"] = str(script)
    if bot == "one":
        env["BENCH_ONE_WINDOW"] = "1"
    if webhook:
        env["WEBHOOK_URL"] = WEBHOOK_URL
        env["WEBHOOK_SECRET"] = WEBHOOK_SECRET
        env["WEBHOOK_LISTEN"] = f"127.0.0.1:{port}"
    ready = "setwebhook" if webhook else "getupdates"
    module = MODULES[bot]
    log_path = run_dir / f"bot{client}.log"
    since = fake.mark()
    with open_log(log_path) as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", module, cwd=ROOT, env=env, stdout=log, stderr=log
        )
    # Ready once it long-polls (or set the webhook): start-up (migrations, commands) is not
    # part of the load.
    polling = asyncio.ensure_future(
        fake.wait_for(
            lambda c: c.method.lower() == ready and c.token == token and c.client == client,
            timeout=START_TIMEOUT,
            since=since,
        )
    )
    exited = asyncio.ensure_future(proc.wait())
    try:
        await asyncio.wait({polling, exited}, return_when=asyncio.FIRST_COMPLETED)
        if not polling.done():
            raise RuntimeError(f"{module} exited with {proc.returncode}:\n{log_tail(log_path)}")
        if polling.exception() is not None:
            # A bot that fails in start-up may hang rather than exit (a live DB thread).
            raise RuntimeError(
                f"{module} did not {ready} within {START_TIMEOUT:.0f}s:\n{log_tail(log_path)}"
            )
    except BaseException:
        # A bot that never started polling (or an interrupt) must not outlive the benchmark.
        await stop_process(proc)
        raise
    finally:
        polling.cancel()
        exited.cancel()
    return proc, log_path


async def stop_process(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    # SIGTERM is what aiogram's polling handles: in-flight updates finish, the DB is closed.
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), 20)
    except TimeoutError:
        proc.kill()
        await proc.wait()


def write_catalog(path: Path, capacity: int) -> Path:
    """The bundled catalog with every reception taking at least `capacity` citizens a slot."""

    def raised(match: re.Match[str]) -> str:
        return f"{match[1]}{max(int(match[2]), capacity)}"

    text, found = re.subn(
        r"^(capacity\s*=\s*)(\d+)", raised, BUNDLED_CATALOG.read_text("utf-8"), flags=re.M
    )
    if not found:
        # Without it the run would book against the bundled capacity and fail far from here.
        raise RuntimeError(f"no `capacity = N` line in {BUNDLED_CATALOG}")
    path.write_text(text, "utf-8")
    return path


async def check_appeals(database_url: str, expected: int) -> None:
    """Every citizen's dialog must have ended in a complete appeal, or the numbers lie."""
    (filed,) = await databases.fetchone(
        database_url,
        "SELECT COUNT(*) FROM appeals a WHERE a.status = 'registered'"
        " AND a.region = '350000000' AND a.district = '354800000'"
        " AND a.latitude IS NOT NULL AND a.contact_phone = '+77012345678'"
        f" AND a.contact_name = '{FULL_NAME}' AND a.contact_address IS NULL"
        " AND EXISTS (SELECT 1 FROM attachments f WHERE f.appeal_id = a.id"
        " AND f.kind = 'photo')",
    )
    if filed != expected:
        raise RuntimeError(f"expected {expected} complete appeals in {database_url}, found {filed}")


async def check_bookings(database_url: str, expected: int) -> None:
    """Every citizen must hold one booked place, made by the dialog (topic and phone typed)."""
    booked, citizens = await databases.fetchone(
        database_url,
        "SELECT COUNT(*), COUNT(DISTINCT citizen_id) FROM bookings"
        " WHERE status = 'booked' AND reception = ? AND topic = ? AND contact_phone = ?"
        " AND access = '[]'",
        BOOKED_RECEPTION,
        QUESTION,
        STORED_PHONE,
    )
    if booked != expected or citizens != expected:
        raise RuntimeError(
            f"expected {expected} bookings of {expected} citizens in {database_url}, "
            f"found {booked} of {citizens}"
        )


def check_served(attempts: Sequence[WebhookAttempt], upstreams: Sequence[str]) -> None:
    """Every instance must have handled its share of the load, or the row measures fewer."""
    served = Counter(a.upstream for a in attempts if a.status == 200)
    failed = sum(1 for a in attempts if a.status != 200)
    if set(served) != set(upstreams):
        raise RuntimeError(f"updates handled per instance: {dict(served)} of {list(upstreams)}")
    split = " / ".join(str(served[u]) for u in upstreams)
    # A POST is counted once answered, which may come just after the step's last reply.
    print(
        f"  webhook: POSTs answered 200 per instance {split}, not taken {failed}", file=sys.stderr
    )


# --------------------------------------------------------------------------- citizens


def placeholder_message(uid: int) -> JsonDict:
    chat = {"id": uid, "type": "private", "first_name": "Citizen"}
    return {
        "message_id": PLACEHOLDER_MESSAGE_ID,
        "date": int(time.time()),
        "chat": chat,
        "from": dict(BOT_USER),
        "text": "…",
    }


def push(fake: BenchFake, citizen: Citizen, index: int, on: Call | JsonDict, data: str) -> None:
    step = citizen.steps[index]
    uid = citizen.uid
    # The same-calls echo reads the step off the message; a press says it in its data.
    tag: dict[str, Any] = {"bench_step": step.name} if citizen.bot in ("same", "one") else {}
    citizen.pushed[index] = time.perf_counter()
    match step.kind:
        case "text":
            fake.user_message(uid, step.value, **tag)
        case "photo":
            fake.user_photo(uid, file_id=f"photo-{uid}", **tag)
        case "location":
            fake.user_location(uid, *LOCATION, **tag)
        case "press":
            fake.press(uid, on, data)


def spread_button(citizen: Citizen, reply: Call) -> str:
    """One of the free days or times on the reply, the next digit of the citizen's number."""
    offered = [
        data
        for text, data in buttons(reply)
        if data is not None and (free := FREE_PLACES.search(text)) and int(free[1]) > 0
    ]
    if not offered:
        raise RuntimeError(f"citizen {citizen.uid}: no free place offered in {reply}")
    citizen.spread_left, choice = divmod(citizen.spread_left, len(offered))
    return offered[choice]


def press_data(citizen: Citizen, index: int, reply: Call | None, known: dict[str, str]) -> str:
    """Callback data for a press: read off the reply when there is one, as a citizen does."""
    step = citizen.steps[index]
    if citizen.bot != "ours":
        return f"echo:{step.name}"
    if reply is not None:
        if step.pick == "spread":
            return spread_button(citizen, reply)
        data = find_button(reply, step.value)
        known[step.name] = data
        return data
    if step.dependent:
        # Open loop must not press with another citizen's draft key or day.
        raise RuntimeError(f"step {step.name!r} needs the reply before it")
    return known[step.name]


async def reply_to(
    citizen: Citizen, index: int, fake: BenchFake, within: float = STEP_TIMEOUT
) -> Call:
    try:
        return await asyncio.wait_for(citizen.replies[index], within)
    except TimeoutError:
        last = "\n".join(f"  {c}" for c in fake.sent(citizen.uid)[-4:])
        raise RuntimeError(
            f"{citizen.bot}: citizen {citizen.uid} got no answer to step "
            f"{citizen.steps[index].name!r} within {within:.0f}s; last calls:\n{last}"
        ) from None


async def closed_citizen(
    fake: BenchFake, citizen: Citizen, known: dict[str, str], marks: list[int] | None = None
) -> None:
    """With `marks`, each step starts only once the bot has been quiet after the last one,
    and `marks` gets the fake's call-log position at each push (see record_script)."""
    reply: Call | None = None
    for index, step in enumerate(citizen.steps):
        on: Call | JsonDict = placeholder_message(citizen.uid)
        data = ""
        if step.kind == "press":
            if citizen.bot == "ours" and reply is not None:
                on = reply
            data = press_data(citizen, index, on if isinstance(on, Call) else None, known)
        if marks is not None:
            marks.append(fake.mark())
        push(fake, citizen, index, on, data)
        reply = await reply_to(citizen, index, fake)
        if marks is not None:
            await quiet(fake, TOKENS[citizen.bot])
    if marks is not None:
        marks.append(fake.mark())


def bot_calls(fake: BenchFake, token: str, start: int, stop: int | None = None) -> list[Call]:
    """The bot's Bot API calls in the fake's log between two marks, getUpdates aside."""
    return [
        c
        for c in fake.calls[start:stop]
        if c.token == token and c.method.lower() != "getupdates" and not c.failed
    ]


async def quiet(fake: BenchFake, token: str) -> None:
    """Until the bot has made no call for SCRIPT_QUIET seconds."""
    seen = fake.mark()
    deadline = time.perf_counter() + STEP_TIMEOUT
    while time.perf_counter() < deadline:
        await asyncio.sleep(SCRIPT_QUIET)
        now = fake.mark()
        if not bot_calls(fake, token, seen, now):
            return
        seen = now
    raise RuntimeError(f"the bot did not go quiet within {STEP_TIMEOUT:.0f}s")


async def record_script(fake: BenchFake, warm_up: Citizen, known: dict[str, str]) -> Script:
    """Ours' warm-up dialog, step by step, and the calls it made for each step.

    Each step is pushed only once ours has gone quiet after the one before, so every call
    between two pushes belongs to the first (the warm-up citizen is the only one about).
    This is the same-calls echo's script: it follows whatever ours does in this very run.
    """
    marks: list[int] = []
    # Whatever ours sends after start-up (a notice to the officials' chat) is no step's.
    await quiet(fake, TOKENS[warm_up.bot])
    fake.citizens[warm_up.uid] = warm_up
    try:
        async with asyncio.timeout(PHASE_TIMEOUT):
            await closed_citizen(fake, warm_up, known, marks)
    finally:
        fake.citizens.pop(warm_up.uid, None)
    script: Script = {}
    for index, step in enumerate(warm_up.steps):
        calls = bot_calls(fake, TOKENS[warm_up.bot], marks[index], marks[index + 1])
        script[step.name] = [(c.method, c.params) for c in calls]
    return script


def write_script(path: Path, recorded: tuple[int, Script]) -> Path:
    recorded_chat, script = recorded
    path.write_text(
        json.dumps({"recorded_chat": recorded_chat, "steps": script}, ensure_ascii=False),
        "utf-8",
    )
    return path


async def dependent_press(
    fake: BenchFake, citizen: Citizen, index: int, due: float, known: dict[str, str]
) -> None:
    # Open loop queues the whole backlog first, so the reply may come late: no step limit.
    reply = await reply_to(citizen, index - 1, fake, PHASE_TIMEOUT)
    await sleep_until(due)
    push(fake, citizen, index, reply, press_data(citizen, index, reply, known))


async def queued_step(
    fake: BenchFake,
    citizen: Citizen,
    index: int,
    due: float,
    known: dict[str, str],
    before: asyncio.Task[None] | None,
) -> None:
    """A step behind its citizen's waiting press: pushed once `before` has pushed its own."""
    if before is not None:
        await before
    if citizen.steps[index].dependent:
        await dependent_press(fake, citizen, index, due, known)
        return
    await sleep_until(due)
    push_queued(fake, citizen, index, known)


def push_queued(fake: BenchFake, citizen: Citizen, index: int, known: dict[str, str]) -> None:
    data = press_data(citizen, index, None, known) if citizen.steps[index].kind == "press" else ""
    push(fake, citizen, index, placeholder_message(citizen.uid), data)


async def sleep_until(due: float) -> None:
    delay = due - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)


async def open_loop(
    fake: BenchFake, citizens: list[Citizen], rate: float | None, known: dict[str, str]
) -> None:
    """Push every update without waiting for answers; with `rate`, at that many per second."""
    started = time.perf_counter()
    waiting: list[asyncio.Task[None]] = []
    # Per citizen, the last step handed to a task: while it has not pushed, the citizen's
    # later steps queue behind it, or the bot would get them out of dialog order.
    tails: dict[int, asyncio.Task[None]] = {}
    longest = max(len(c.steps) for c in citizens)
    schedule = [(c, i) for i in range(longest) for c in citizens if i < len(c.steps)]
    if rate and SCHEDULE[0] == "staggered":
        # Sorted by round; a citizen's steps keep their order, each in a later round.
        schedule.sort(key=lambda pair: (pair[1] + pair[0].number % longest, pair[0].number))
    for n, (citizen, index) in enumerate(schedule):
        # Due times are absolute, so a late wake-up does not slow the rest down.
        due = started + n / rate if rate else started
        tail = tails.get(citizen.uid)
        blocked = tail is not None and not tail.done()
        if blocked or (citizen.steps[index].dependent and citizen.bot == "ours"):
            task = asyncio.create_task(
                queued_step(fake, citizen, index, due, known, tail if blocked else None)
            )
            tails[citizen.uid] = task
            waiting.append(task)
            continue
        await sleep_until(due)
        push_queued(fake, citizen, index, known)
    await asyncio.gather(*waiting)
    await asyncio.gather(*(reply_to(c, len(c.steps) - 1, fake, PHASE_TIMEOUT) for c in citizens))


async def drive(
    fake: BenchFake,
    citizens: list[Citizen],
    mode: Mode,
    rate: float | None,
    known: dict[str, str],
) -> None:
    fake.citizens.update((c.uid, c) for c in citizens)
    try:
        async with asyncio.timeout(PHASE_TIMEOUT):
            if mode == "closed":
                await asyncio.gather(*(closed_citizen(fake, c, known) for c in citizens))
            else:
                await open_loop(fake, citizens, rate if mode == "rate" else None, known)
    finally:
        for citizen in citizens:
            fake.citizens.pop(citizen.uid, None)


async def phase(
    fake: BenchFake,
    bot: BotName,
    mode: Mode,
    count: int,
    rate: float | None,
    uid_base: int,
    known: dict[str, str],
    scripts: dict[str, tuple[int, Script]],
    database: str = "sqlite",
    instances: int = 0,
) -> Result:
    """`scripts["last"]` is the recorded chat and the script of ours' latest warm-up: ours'
    phase records it, the same-calls echo's phase replays it. `instances`: ours in webhook
    mode with that many processes behind the fake's proxy; 0, one process long-polling."""
    stale = fake.drop_pending()
    if stale:
        print(f"  note: dropped {stale} unconfirmed update(s) of the previous bot", file=sys.stderr)
    async with contextlib.AsyncExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-dialogs-"))
        # SQLite: bot.db in the run's folder; PostgreSQL: a schema of its own, dropped after.
        url = await stack.enter_async_context(databases.fresh(database, Path(tmp)))
        # Room for every citizen and the warm-up one in any slot (see the module docstring).
        catalog = write_catalog(Path(tmp) / "catalog.toml", count + 1)
        script_path = None
        if bot in ("same", "one"):
            script_path = write_script(Path(tmp) / "script.json", scripts["last"])
        procs: list[tuple[asyncio.subprocess.Process, Path]] = []
        try:
            if instances:
                ports = [free_port() for _ in range(instances)]
                fake.webhook_upstreams = [f"http://127.0.0.1:{port}" for port in ports]
                # Started one after another: the first migrates the database alone.
                for n, port in enumerate(ports):
                    webhook = (chr(ord("a") + n), port)
                    procs.append(
                        await start_process(fake, bot, Path(tmp), catalog, url, None, webhook)
                    )
            else:
                procs.append(await start_process(fake, bot, Path(tmp), catalog, url, script_path))
            # The first dialog pays for lazy imports, caches and the first DB pages; it also
            # shows the callback data that open loop presses without waiting for a reply.
            warm_up = Citizen(uid_base + count, bot, number=count)
            if bot == "ours":
                scripts["last"] = (warm_up.uid, await record_script(fake, warm_up, known))
            else:
                await drive(fake, [warm_up], "closed", None, known)
            citizens = [Citizen(uid_base + n, bot, number=n) for n in range(count)]
            cpu_before = sum(proc_cpu_seconds(proc.pid) for proc, _ in procs)
            own_before = own_cpu_seconds()
            since, posted = fake.mark(), len(fake.webhook_attempts)
            await drive(fake, citizens, mode, rate, known)
            if instances:
                check_served(fake.webhook_attempts[posted:], fake.webhook_upstreams)
            token = TOKENS[bot]
            calls = Counter(
                c.method
                for c in fake.calls[since:]
                if c.token == token and c.method.lower() != "getupdates"
            )
            cpu_s = sum(proc_cpu_seconds(proc.pid) for proc, _ in procs) - cpu_before
            own_s = own_cpu_seconds() - own_before
            rss = sum(proc_peak_rss_mib(proc.pid) for proc, _ in procs)
        except BaseException:
            for _, log_path in procs:
                print(f"--- {bot} log (last lines)\n{log_tail(log_path)}", file=sys.stderr)
            raise
        finally:
            await asyncio.gather(*(stop_process(proc) for proc, _ in procs))
            if instances:
                await fake.end_webhook()
        if bot == "ours":
            await check_appeals(url, count + 1)  # with the warm-up citizen
            await check_bookings(url, count + 1)
    first_push = min(c.pushed[0] or math.inf for c in citizens)
    last_reply = max(c.last_reply_at for c in citizens)
    return Result(
        updates=sum(len(c.steps) for c in citizens),
        wall=last_reply - first_push,
        latencies=[lat for c in citizens for lat in c.latencies],
        by_step=latencies_by_step(citizens),
        cpu_s=cpu_s,
        rss_mib=rss,
        harness_cpu_s=own_s,
        calls=calls,
    )


# --------------------------------------------------------------------------- report


def latencies_by_step(citizens: Sequence[Citizen]) -> dict[str, list[float]]:
    # A citizen's replies come in step order, so its n-th latency belongs to its n-th step.
    steps: dict[str, list[float]] = {}
    for citizen in citizens:
        for step, latency in zip(citizen.steps, citizen.latencies, strict=False):
            steps.setdefault(step.name, []).append(latency)
    return steps


def print_steps(result: Result, label: str) -> None:
    """Where the latency of the median run sits: which steps are slow, not only how slow."""
    print(f"{label}, latency by step (ms, p50 / p99):")
    cells = [
        f"{name} {percentile(lat, 50) * 1000:.0f}/{percentile(lat, 99) * 1000:.0f}"
        for name, lat in result.by_step.items()
    ]
    for start in range(0, len(cells), 6):
        print("  " + " · ".join(cells[start : start + 6]))


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def median_run(results: Sequence[Result]) -> Result:
    # With an even number of runs, the lower median: the slower run's latencies are reported.
    rate = statistics.median_low(r.rate for r in results)
    return next(r for r in results if r.rate == rate)


def ours_names_of(names: Sequence[str]) -> list[str]:
    """The runners that are ours (on some database, polling or webhook), not a baseline."""
    return [name for name in names if name not in ("echo", "same", "one")]


def row_label(bot: str, mode: Mode, rate: float | None) -> str:
    if mode != "rate":
        return f"{bot} {mode}"
    return f"{bot} @{rate:g}/s" + (" stag." if SCHEDULE[0] == "staggered" else "")


def print_table(
    results: dict[tuple[str, Mode], list[Result]],
    names: Sequence[str],
    modes: Sequence[Mode],
    count: int,
    runs: int,
    rate: float | None,
    script: Script,
) -> None:
    """`names`: the runners, ours (one per database: "ours sqlite", "ours postgres" when
    there are several), then echo and the same-calls echo."""
    width = max(18, *(len(row_label(name, mode, rate)) + 2 for name in names for mode in modes))
    header = (
        f"{'':<{width}}{'updates':>8}{'upd/s min':>11}{'upd/s med':>11}"
        f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'RSS MiB':>9}{'CPU s':>7}{'harness CPU s':>15}"
        f"{'calls/upd':>11}"
    )
    ours_names = ours_names_of(names)
    polling = [name for name in ours_names if not name.startswith("ours webhook")]
    on = ", ".join(name.removeprefix("ours ") for name in polling)
    print(
        f"dialogs: {count} citizens x {len(DIALOG)} updates "
        f"({len(APPEAL)} appeal + {len(BOOKING)} booking), {runs} run(s); "
        f"ours = python -m bot ({on if len(polling) > 1 else 'SQLite'}), "
        f"echo = bench.echo_bot, event loop: {resolve(LOOP[0])}"
    )
    if len(polling) < len(ours_names):
        print(
            "ours webhook xN = python -m bot in webhook mode, N instance(s) on PostgreSQL "
            "behind the fake's round-robin proxy; their CPU s and RSS summed"
        )
    print(
        "same = bench.same_calls_bot: a bare aiogram bot making, for each step, the Bot API "
        "calls ours made for it (recorded from ours' warm-up citizen in this run)"
    )
    print(header)
    for mode in modes:
        for name in names:
            runs_of = results[(name, mode)]
            mid = median_run(runs_of)
            lat = [x * 1000 for x in mid.latencies]
            print(
                f"{row_label(name, mode, rate):<{width}}{mid.updates:>8}"
                f"{min(r.rate for r in runs_of):>11.1f}"
                f"{statistics.median(r.rate for r in runs_of):>11.1f}"
                f"{percentile(lat, 50):>9.1f}{percentile(lat, 95):>9.1f}"
                f"{percentile(lat, 99):>9.1f}{mid.rss_mib:>9.1f}{mid.cpu_s:>7.2f}"
                f"{mid.harness_cpu_s:>15.2f}{mid.calls.total() / mid.updates:>11.2f}"
            )
    baselines = [("echo", "echo"), ("same", "same-calls echo")]
    if "one" in names:
        baselines.append(("one", "one-window same-calls echo"))
    for ours_name in ours_names:
        for baseline, name in baselines:
            ratios = []
            for mode in modes:
                ours = statistics.median(r.rate for r in results[(ours_name, mode)])
                other = statistics.median(r.rate for r in results[(baseline, mode)])
                label = row_label(ours_name, mode, rate).removeprefix(f"{ours_name} ")
                ratios.append(f"{label} {ours / other:.2f}")
            print(f"{ours_name} / {name}, updates/s (median): " + ", ".join(ratios))
        if "rate" in modes:
            # Below saturation both bots keep up with the offered rate; the cost shows in
            # latency.
            ours_p50 = percentile(median_run(results[(ours_name, "rate")]).latencies, 50)
            for baseline, name in baselines:
                other_p50 = percentile(median_run(results[(baseline, "rate")]).latencies, 50)
                print(
                    f"{ours_name} / {name}, p50 latency at {rate:g}/s offered: "
                    f"{ours_p50 / other_p50:.1f}"
                )
    print(
        "latency: push -> the bot's message that ends the step (median run); "
        "CPU s: bot process during the load; calls/upd: Bot API calls per update"
    )
    ours_calls = median_run(results[(ours_names[0], modes[0])]).calls
    print("ours, Bot API calls: " + ", ".join(f"{m} {n}" for m, n in ours_calls.most_common()))
    per_step = [f"{name} {len(calls)}" for name, calls in script.items()]
    total = sum(len(calls) for calls in script.values())
    print(
        f"same-calls script (ours' last warm-up): {total} calls for {len(script)} steps "
        f"({total / len(script):.2f} per update):"
    )
    for start in range(0, len(per_step), 11):
        print("  " + " · ".join(per_step[start : start + 11]))


# --------------------------------------------------------------------------- main


def uid_bases(count: int) -> Iterator[int]:
    # Distinct ids for every bot run (citizens plus the warm-up one), so no run sees another's.
    base = UID_BASE
    while True:
        yield base
        base += count + 1


async def run(
    count: int,
    runs: int,
    modes: Sequence[Mode],
    rate: float | None,
    dbs: Sequence[str] = ("sqlite",),
    webhook: Sequence[int] = (),
    one_window: bool = False,
) -> None:
    fake = BenchFake()
    await fake.start(host="127.0.0.1")
    known: dict[str, str] = {}
    bases = uid_bases(count)
    # Ours on each database (named by it when there are several), then the echo bot, then
    # the same-calls echo (it replays the script ours' last warm-up recorded).
    # --webhook: then ours in webhook mode, N instances on PostgreSQL, for each N given.
    runners: list[tuple[str, BotName, str, int]] = [
        ("ours" if len(dbs) == 1 else f"ours {databases.label(db)}", "ours", db, 0) for db in dbs
    ]
    runners += [(f"ours webhook x{n}", "ours", "postgres", n) for n in webhook]
    runners.append(("echo", "echo", "sqlite", 0))
    runners.append(("same", "same", "sqlite", 0))
    if one_window:
        runners.append(("one", "one", "sqlite", 0))
    results: dict[tuple[str, Mode], list[Result]] = {}
    scripts: dict[str, tuple[int, Script]] = {}
    try:
        for n in range(runs):
            # Bots and modes interleaved, so a slow spell of the machine hits all bots alike.
            # Ours goes first: its warm-up records the same-calls echo's script.
            for mode in modes:
                for name, bot, db, instances in runners:
                    result = await phase(
                        fake, bot, mode, count, rate, next(bases), known, scripts, db, instances
                    )
                    results.setdefault((name, mode), []).append(result)
                    print(
                        f"  run {n + 1}/{runs} {row_label(name, mode, rate)}: "
                        f"{result.rate:.1f} updates/s, {result.wall:.1f}s, "
                        f"CPU {result.cpu_s / result.updates * 1000:.2f} ms/update",
                        file=sys.stderr,
                        flush=True,
                    )
    finally:
        await fake.stop()
    names = [name for name, *_ in runners]
    print_table(results, names, modes, count, runs, rate, scripts["last"][1])
    if one_window:
        # Item 2's cost side: the same bare bot, with one window per step instead of two.
        def median_rate(name: str, mode: Mode) -> float:
            return statistics.median(r.rate for r in results[(name, mode)])

        ratios = ", ".join(
            f"{row_label('one', mode, rate).removeprefix('one ')} "
            f"{median_rate('one', mode) / median_rate('same', mode):.2f}"
            for mode in modes
        )
        print(f"one-window / same-calls echo, updates/s (median): {ratios}")
    last = modes[-1]
    for name in ours_names_of(names):
        label = row_label(name, last, rate).removeprefix("ours ")
        print_steps(median_run(results[(name, last)]), f"ours {label}")


def positive(kind: Callable[[str], float | int]) -> Callable[[str], float | int]:
    def parse(text: str) -> float | int:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    return parse


def instance_counts(text: str) -> list[int]:
    """`--webhook 1,2`: how many webhook instances, per row."""
    counts = [int(part) for part in text.split(",") if part.strip()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"positive instance counts, e.g. 1,2; got {text}")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=positive(int), default=50)
    parser.add_argument("--runs", type=positive(int), default=2)
    parser.add_argument(
        "--rate", type=positive(float), default=None, help="also offer open loop at N updates/s"
    )
    parser.add_argument("--mode", choices=("closed", "open", "both"), default="both")
    parser.add_argument(
        "--loop", choices=("auto", "uvloop", "asyncio"), default="auto", help="both bots' loop"
    )
    parser.add_argument(
        "--schedule",
        choices=("lockstep", "staggered"),
        default="lockstep",
        help="with --rate: citizens in step or arriving one after another (see SCHEDULE)",
    )
    parser.add_argument(
        "--databases",
        type=databases.parse,
        default=["sqlite"],
        help="comma-separated: sqlite (default), postgres, or DATABASE_URLs; ours runs on "
        "each, a fresh database (PostgreSQL: a schema of its own) every run, side by side",
    )
    parser.add_argument(
        "--webhook",
        type=instance_counts,
        default=[],
        help="comma-separated instance counts, e.g. 1,2: also ours in webhook mode with that "
        "many instances on PostgreSQL behind the fake's round-robin proxy, side by side",
    )
    parser.add_argument(
        "--one-window",
        action="store_true",
        help="also the same-calls echo with each step's «✔️ choice» edit and next question "
        "merged into one edit of the pressed message (issue #14, item 2: the cost side)",
    )
    args = parser.parse_args()
    LOOP[0] = args.loop
    SCHEDULE[0] = args.schedule
    modes: list[Mode] = ["closed", "open"] if args.mode == "both" else [args.mode]
    if args.rate is not None:
        modes.append("rate")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            run(
                args.citizens,
                args.runs,
                modes,
                args.rate,
                args.databases,
                args.webhook,
                args.one_window,
            )
        )


if __name__ == "__main__":
    main()
