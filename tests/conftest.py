"""Shared fixtures and helpers: an isolated home, a CLI runner, scripted prompts, a
sample playbook, sample cases, a frozen clock, file modes and the umask."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from recovery_cli import clock
from recovery_cli.case import Case, Customer, PlaybookRef, Remedy, new_case
from recovery_cli.cli import app, prompter
from recovery_cli.playbooks.check import parse_playbook
from recovery_cli.playbooks.model import Playbook

# The playbook cache is per machine (~/.cache/recover): a test run keeps its own, so
# that it never reads or leaves one there. Tests with a home keep one beside it (see
# ``home``); a process a test starts with an environment of its own is given this.
os.environ.setdefault("RECOVER_CACHE_DIR", tempfile.mkdtemp(prefix="recover-test-cache-"))
# So is the machine's id (~/.local/state/recover), which names it in a home's machines/.
os.environ.setdefault("RECOVER_STATE_DIR", tempfile.mkdtemp(prefix="recover-test-state-"))
# No test reads or writes the developer's own keyring: one that wants a keyring
# installs a test backend (tests/mail/keyring_backend.py); the rest find none.
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
os.environ.pop("RECOVER_SMTP_PASSWORD", None)

SAMPLE = """\
id = "sample"
title = "Sample recovery"
summary = "A small playbook for tests."
goodwill_limit = "25.00"

[[steps]]
id = "listen"
title = "Listen"
do = "Let them talk."
ask = { key = "complaint", prompt = "What went wrong?" }

[[steps]]
id = "sorry"
title = "Apologize"
say = "I'm sorry, $first_name. That should not have happened."

[[steps]]
id = "arrived"
title = "Check it arrived"
ask = { key = "arrived", prompt = "Did it arrive now?", type = "yesno" }

[[steps]]
id = "remedy"
title = "Put it right"
say = "What would put this right for you, $customer?"
offer = [
  { id = "resend", label = "Send it again", kind = "exchange" },
  { id = "refund", label = "Full refund", kind = "refund", amount = "$order_value" },
  { id = "credit", label = "Store credit", kind = "credit", amount = "10.00" },
]

[[steps]]
id = "refund-now"
title = "Refund now"
when = { remedy = "refund" }
do = "Issue the refund before you hang up."

[[steps]]
id = "escalate"
title = "Escalate delivery"
when = { arrived = false }
ask = { key = "ticket", prompt = "Ticket number?" }

[[steps]]
id = "check-in"
title = "Plan the follow-up"
follow_up = { after = "3d", say = "Is everything working now, $first_name? ($complaint)" }
"""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The soak runs (many more kills, interruptions and fuzzed inputs) only when asked
    for with ``-m soak``: a plain ``pytest`` stays within a few minutes."""
    wanted = (config.getoption("markexpr") or "").replace("not soak", "")
    if "soak" in wanted:
        return
    skip = pytest.mark.skip(reason="a soak run: select it with -m soak")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def sample_playbook() -> Playbook:
    """The sample playbook, parsed."""
    return parse_playbook(SAMPLE.encode(), "sample.toml", stem="sample")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home, in force through RECOVER_HOME; plain, wide, colourless output."""
    path = tmp_path / "home"
    monkeypatch.setenv("RECOVER_HOME", str(path))
    # The playbook cache is per machine: each test keeps its own, beside its home.
    monkeypatch.setenv("RECOVER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RECOVER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("TERM", raising=False)
    return path


@pytest.fixture
def user_playbook(home: Path) -> Callable[[str, str], Path]:
    """Write a playbook into the home's own playbook folder."""

    def write(name: str, text: str) -> Path:
        folder = home / "playbooks"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


class Run:
    """Invoke the CLI in-process, optionally with scripted answers to its prompts."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.runner = CliRunner()
        self.prompter: prompter.ScriptedPrompter | None = None

    def __call__(self, *args: str, answers: list[str] | None = None) -> Any:
        if answers is not None:
            scripted = prompter.ScriptedPrompter(answers)
            self.prompter = scripted
            self.monkeypatch.setattr(prompter, "open_prompter", lambda console, **_: scripted)
        return self.runner.invoke(app, list(args))


@pytest.fixture
def run(home: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """The CLI, run against the isolated home."""
    return Run(monkeypatch)


def answer_for(prompt: str, turn: int, playbook_id: str) -> str:
    """What an operator might type at any prompt of any playbook, judged from its wording."""
    typed = {
        "Playbook": playbook_id,
        "Name": "Dana Reyes",
        "Email": "dana@example.com",
        "Order value": "29",
        "Record the outcome now": "y",
        "Satisfaction": "4",
    }
    for start, answer in typed.items():
        if prompt.startswith(start):
            return answer
    # Alternate yes and no so that both branches of conditional steps get walked.
    yes_no = "ny"[turn % 2]
    endings = {
        "(y/n): ": yes_no,
        "(Y/n): ": yes_no,
        "(y/N): ": yes_no,
        "(amount): ": "12.50",
        "(number): ": "3",
    }
    for end, answer in endings.items():
        if prompt.endswith(end):
            return answer
    if "(1-" in prompt or prompt.startswith("Pick one"):
        return "1"
    if prompt.startswith("Pick"):
        return "1,2"
    return f"typed {turn}"


def read_case(home: Path, case_id: str = "1") -> dict[str, Any]:
    """A case file as it is on disk."""
    data: dict[str, Any] = json.loads((home / "cases" / f"{case_id}.json").read_text("utf-8"))
    return data


# -- sample cases ------------------------------------------------------------------------
NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)  # when a sample case is opened
GENERAL = PlaybookRef(id="general", title="General", hash="sha256:" + "0" * 64)


def sample_case(
    case_id: str = "1",
    *,
    playbook: PlaybookRef = GENERAL,
    currency: str = "USD",
    now: datetime = NOW,
    **customer: Any,
) -> Case:
    """A fresh case, as ``new_case`` makes it: the customer has exactly the fields given."""
    return new_case(
        case_id, customer=Customer(**customer), playbook=playbook, currency=currency, now=now
    )


def sample_builder(**customer: Any) -> Callable[[str], Case]:
    """What ``Store.create`` takes: a sample case for this customer, under the id given."""

    def build(case_id: str) -> Case:
        return sample_case(case_id, **customer)

    return build


# -- time ----------------------------------------------------------------------------------
def utc(day: int, hour: int = 12, minute: int = 0, month: int = 11) -> datetime:
    """A moment of 2026, in UTC (November, at noon, unless told otherwise)."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


class Clock:
    """The time every command takes for now (``recovery_cli.clock.now``): set, it stays
    frozen there until it is set again. ``now`` is the moment last set."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        self.now: datetime | None = None

    def set(self, moment: datetime) -> None:
        self.now = moment
        self._monkeypatch.setattr(clock, "now", lambda: moment)

    def __call__(self, moment: datetime) -> None:
        self.set(moment)


@pytest.fixture
def freeze(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Set the time every command takes for now: the one clock, frozen in one place
    (``freeze(moment)`` or ``freeze.set(moment)``; the real clock until first set)."""
    return Clock(monkeypatch)


# -- file modes and the umask --------------------------------------------------------------
def mode(path: Path) -> int:
    """The permission bits of ``path`` itself (a link is not followed)."""
    return stat.S_IMODE(path.lstat().st_mode)


@contextlib.contextmanager
def umask(value: int) -> Iterator[int]:
    """The process umask set to ``value`` within the block, then put back."""
    before = os.umask(value)
    try:
        yield value
    finally:
        os.umask(before)


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, 022 (files readable by all unless made private)."""
    with umask(0o022):
        yield


@pytest.fixture(params=[0o022, 0o077, 0o000], ids=["umask022", "umask077", "umask000"])
def any_umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """Each of a usual, a strict and an open umask in turn."""
    with umask(request.param) as value:
        yield value


def full_refund(amount: str, currency: str = "USD") -> Remedy:
    """The remedy most tests give: a full refund chosen at the step ``remedy``."""
    return Remedy(
        step="remedy",
        offer="refund",
        label="Full refund",
        kind="refund",
        amount=Decimal(amount),
        currency=currency,
    )


def index_file(home: Path) -> Path:
    """Where this machine keeps the summary index of ``home`` (in its cache folder)."""
    from recovery_cli.machine import home_file

    path = home_file(home, "index", ".sqlite3")
    assert path is not None
    return path


def lock_file(home: Path, case_id: str) -> Path:
    """The lock file of a case of ``home`` on this machine (made folder and all)."""
    from recovery_cli.machine import locks_dir

    folder = locks_dir(home)
    assert folder is not None
    return folder / f"case-{case_id}.lock"


def locks_of(home: Path) -> list[str]:
    """The names of the case lock files of ``home`` on this machine."""
    from recovery_cli.machine import locks_dir

    folder = locks_dir(home)
    assert folder is not None
    return sorted(name for name in os.listdir(folder) if name.startswith("case-"))
