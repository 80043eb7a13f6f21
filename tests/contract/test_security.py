"""Security contract, through the real CLI: case ids from the command line never reach a
path, everything written is private, customer text can neither style nor steer the
terminal, errors carry no customer data, and playbook placeholders are never code."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import recovery_cli
from recovery_cli.cli import app, prompter
from tests.conftest import SAMPLE, Run, index_file, lock_file, mode, read_case

ID_COMMANDS: dict[str, Callable[[str], list[str]]] = {
    "show": lambda case_id: ["show", case_id],
    "resume": lambda case_id: ["resume", case_id],
    "close": lambda case_id: ["close", case_id, "--outcome", "kept", "--no-input"],
    "followup": lambda case_id: ["followup", case_id, "--not-reached", "--no-input"],
    "followup add": lambda case_id: ["followup", "add", case_id, "--in", "2d"],
    "prevent done": lambda case_id: ["prevent", "done", case_id],
}


# == 1. ids from the command line ========================================================
# Every filesystem event of the interpreter, while a test listens (sys.addaudithook: a
# hook cannot be removed, so one is installed once and switched on and off).
_FS_EVENTS = {
    "open", "os.mkdir", "os.chmod", "os.chown", "os.rename", "os.replace", "os.remove",
    "os.rmdir", "os.link", "os.symlink", "os.scandir", "os.listdir", "os.truncate",
    "os.utime", "shutil.rmtree", "shutil.copyfile", "os.chdir",
}  # fmt: skip
_HEARD: list[tuple[str, str]] = []
_LISTENING: list[bool] = []


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if _LISTENING and event in _FS_EVENTS:
        for arg in args[:2] if event in ("os.rename", "os.replace", "os.link") else args[:1]:
            if isinstance(arg, (str, bytes, os.PathLike)):
                _HEARD.append((event, os.fsdecode(arg)))


if not getattr(sys, "_recover_contract_hook", False):
    sys.addaudithook(_hook)
    sys._recover_contract_hook = True  # type: ignore[attr-defined]

# Where the interpreter itself reads from (lazy imports, compiled modules).
_CODE = tuple(
    os.path.realpath(p)
    for p in {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        os.path.dirname(recovery_cli.__file__),
        os.path.dirname(os.__file__),
    }
)


def listen(action: Callable[[], Any]) -> tuple[Any, list[tuple[str, str]]]:
    """Run ``action`` and return what it did to the filesystem, code reads left out."""
    _HEARD.clear()
    _LISTENING.append(True)
    try:
        result = action()
    finally:
        _LISTENING.clear()
    heard = [
        (event, path)
        for event, path in _HEARD
        if not os.path.realpath(path).startswith(_CODE) and path != os.devnull
    ]
    return result, heard


REJECTED = [
    "../x",
    "../../../../etc/passwd",
    "/etc/passwd",
    "1/../../2",
    "1/2",
    "a\x00b",
    "1\x00",
    "1" * 1000,
    "9" * 10,
    "１",
    "٣",
    "١٧",
    "1٣",
    "",
    " ",
    "\t",
    "1 7",
    "1\n2",
    "0",
    "00",
    "#0",
    "1.0",
    "17.json",
    "+1",
    "0x11",
    "1e3",
    "case",
    "case-",
    "case--1",
    "17a",
    "~",
    "*",
    ".",
]
NEGATIVE = ["-1", "-0", "--1"]


@pytest.mark.parametrize("bad", REJECTED + NEGATIVE)
def test_an_id_that_is_not_a_case_number_is_refused_before_any_path_is_built(
    run: Run, home: Path, tmp_path: Path, bad: str
) -> None:
    """Every command that takes an id: exit 2 with one line, and the id never became
    part of a path (nothing under the cases folder, nothing outside the home, was
    opened, listed, created or changed)."""
    home_real = os.path.realpath(home)
    for command, make_args in sorted(ID_COMMANDS.items()):
        result, heard = listen(lambda make_args=make_args: run(*make_args(bad)))
        assert result.exit_code == 2, (command, result.exit_code, result.output)
        assert result.stdout == "", command
        if bad.startswith("-"):  # read as an option: the usage error says so
            assert "No such option" in result.stderr, command
        else:
            first = result.stderr.splitlines()[0]
            assert first.startswith("Error: ") and "is not a case id" in first, command
            assert "\x00" not in result.stderr and len(first) < 140, command
        assert "Traceback" not in result.output, command
        for event, path in heard:
            real = os.path.realpath(path)
            assert real == home_real or real.startswith(home_real + os.sep), (command, path)
            assert not real.startswith(os.path.join(home_real, "cases")), (command, path)
            assert "passwd" not in path and "/x" not in path, (command, event, path)
    assert not (home / "cases").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) in (["home"], [])


@pytest.mark.parametrize("typed", ["17", "#17", "case 17", "case-17", "CASE-17", " 17 ", "0017"])
def test_the_documented_id_forms_name_only_the_number(run: Run, home: Path, typed: str) -> None:
    """README: ids are numbers, also ``case-17`` or ``#17``; whatever the form, only the
    digits reach the store (no case 17 here: not found, exit 4)."""
    (home / "cases").mkdir(parents=True)
    cases = os.path.realpath(home / "cases")
    for command, make_args in sorted(ID_COMMANDS.items()):
        result, heard = listen(lambda make_args=make_args: run(*make_args(typed)))
        assert result.exit_code == 4, (command, result.output)
        assert result.stderr.startswith("Error: no case 17\n"), command
        touched = {os.path.relpath(os.path.realpath(p), cases) for _, p in heard}
        assert touched <= {"17.json", ".17.lock", os.path.pardir}, (command, touched)


# == 2. private files =====================================================================
ANSWERS = """\
playbook = "general"

[customer]
name = "Dana Reyes"
email = "dana@example.com"
order_value = "40"

[answers]
complaint = "The link never came"
remedy = ["refund", "credit"]
happy_now = false
"""


def _every_writer(run: Run, home: Path, out: Path) -> dict[str, Path]:
    """Run every command that writes a file; return the files written outside the home."""
    written = {
        "answers": out / "saved.toml",
        "answers-json": out / "saved.json",
        "csv": out / "export.csv",
        "json": out / "export.json",
        "ics": out / "follow-ups.ics",
    }
    source = out / "in.toml"
    source.write_text(ANSWERS, encoding="utf-8")
    new = ["new", "--answers", str(source), "--no-input", "--save-answers"]
    steps = [
        ["config", "set", "seller", "Sam"],
        ["playbook", "new", "copy", "--from", "general"],
        [*new, str(written["answers"])],
        [*new, str(written["answers-json"])],
        ["followup", "add", "1", "--in", "2d"],
        ["followup", "1", "--reached", "--happy", "not-yet", "--note", "n", "--no-input"],
        ["close", "1", "--outcome", "kept", "--prevention", "Fix it", "--no-input"],
        ["prevent", "done", "1"],
        ["export", "-f", "csv", "-o", str(written["csv"])],
        ["export", "-f", "json", "-o", str(written["json"])],
        ["followups", "--all", "--ics", str(written["ics"])],
        ["playbook", "new", "mine"],
        ["config", "set", "business", "Shop"],
    ]  # fmt: skip
    for args in steps:
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
    return written


def assert_private(home: Path, written: dict[str, Path]) -> None:
    assert mode(home) == 0o700
    found = sorted(home.rglob("*"))
    names = {p.relative_to(home).as_posix() for p in found}
    assert {
        "config.toml",
        "cases/1.json",
        "machines/A.json",
        ".gitignore",
        ".stignore",
        "playbooks/mine.toml",
        "playbooks/copy.toml",
        "playbooks/playbook.schema.json",
    } <= names
    for path in found:
        wanted = 0o700 if path.is_dir() else 0o600
        assert mode(path) == wanted, f"{path} is {mode(path):04o}"
    for name, path in written.items():
        assert mode(path) == 0o600, f"{name}: {path} is {mode(path):04o}"
    # This machine's own files of the home (outside it): the index and the locks.
    index, lock = index_file(home), lock_file(home, "1")
    assert mode(index) == 0o600 and mode(lock) == 0o600
    assert mode(index.parent) == 0o700 and mode(lock.parent) == 0o700
    assert not any(p.name.startswith("index.sqlite3") or p.suffix == ".lock" for p in found)


def test_everything_written_is_private_whatever_the_umask(
    run: Run, home: Path, tmp_path: Path, any_umask: int
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    written = _every_writer(run, home, out)
    assert_private(home, written)
    assert not list(home.rglob("*.tmp"))


def test_replacing_a_file_that_was_0644_leaves_it_private(
    run: Run, home: Path, tmp_path: Path, any_umask: int
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    written = _every_writer(run, home, out)
    # Everything there is now readable by others (as a careless copy or restore leaves
    # it); each command that replaces one of them must put a private file in its place.
    targets = [*written.values(), home / "config.toml", home / "cases" / "1.json"]
    targets += [home / "cases" / "2.json", home / "playbooks" / "playbook.schema.json"]
    for path in targets:
        os.chmod(path, 0o644)
    new = ["new", "--answers", str(out / "in.toml"), "--no-input", "--save-answers"]
    steps = [
        ["config", "set", "seller", "Kim"],
        ["followup", "add", "1", "--in", "3d"],
        ["close", "2", "--outcome", "lost", "--no-input"],
        [*new, str(written["answers"])],
        [*new, str(written["answers-json"])],
        ["export", "-f", "csv", "-o", str(written["csv"])],
        ["export", "-f", "json", "-o", str(written["json"])],
        ["followups", "--all", "--ics", str(written["ics"])],
        ["playbook", "new", "other"],  # rewrites the schema file beside it
    ]  # fmt: skip
    for args in steps:
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
    for path in targets:
        assert mode(path) == 0o600, f"{path} is still {mode(path):04o} after a replace"
    assert mode(home / "cases" / "4.json") == 0o600
    assert mode(home / "playbooks" / "other.toml") == 0o600


# == 3. customer text cannot style or steer the terminal ==================================
MARKUP = "[bold red]x[/] [link=https://evil.example]click[/link] :smile:"
ESCAPES = (
    "\x1b[38;5;201mINJ\x1b[0m \x1b]0;pwned\x07 \x1b]52;c;cHduZWQ=\x07 \x9b38;5;201mC1"
    " \x07bel \x08bs \rcr \x1bPdcs\x1b\\ \x7fdel \x1b]8;;https://evil.example\x1b\\link"
)
HOSTILE = f"Eve {MARKUP} {ESCAPES} end"
HOSTILE_EMAIL = "eve\x1b]0;pwned\x07\x9b2J@evil.example"
HOSTILE_ORDER = "A-1 [red]ord[/red] \x1b[2J\x9b2J"
HOSTILE_TAG = "tag [blink]x[/blink] \x1b]0;t\x07"
# What the output must show, literally, in place of the markup.
LITERAL = ("[bold red]x[/]", "[link=https://evil.example]click[/link]", ":smile:")

# Sequences that must never come out of customer data: Rich's own styling is only ever
# SGR (ESC [ digits m), which is stripped before looking for any other escape.
_RICH_SGR = re.compile(r"\x1b\[[0-9;]*m")
_FORBIDDEN_RAW = ("\x1b]", "\x1bP", "\x1b[38;5;201m", "\x1b[2J", "\x1b\\")
# C0 (but tab and newline) and C1 controls: ESC, BEL, backspace, carriage return, CSI...
# (DEL is left out: a terminal ignores it, and JSON output may carry it unescaped.)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x80-\x9f]")


def assert_inert(text: str, where: str) -> None:
    for sequence in _FORBIDDEN_RAW:
        assert sequence not in text, f"{where}: {sequence!r} reached the output"
    plain = _RICH_SGR.sub("", text).replace("\r\n", "\n")
    leftover = sorted(set(_CONTROL.findall(plain)))
    assert not leftover, f"{where}: control characters in the output: {leftover!r}"


class HostilePrompter(prompter.ScriptedPrompter):
    """Types hostile text at every prompt that takes text; answers the rest sensibly."""

    def __init__(self) -> None:
        super().__init__([])
        self.turn = 0

    def ask(self, prompt: str, *, prefill: str = "") -> str:
        self.asked.append(prompt)
        self.turn += 1
        if self.turn > 200:
            raise AssertionError("the walk does not end")
        if prompt.startswith("Pick one"):
            return "1"
        fixed = {
            "Name": HOSTILE,
            "Email": HOSTILE_EMAIL,
            "Order reference": HOSTILE_ORDER,
            "Order value": "30",
            "Record the outcome now": "y",
            "Outcome": "1",
            "Satisfaction": "4",
            "Cause tag": HOSTILE_TAG,
            "Pick": "1,4",
        }
        for start, answer in fixed.items():
            if prompt.startswith(start):
                return answer
        if prompt.lower().endswith("(y/n): "):
            return "ny"[self.turn % 2]
        return f"{HOSTILE} #{self.turn}"


HOSTILE_ANSWERS = {
    "playbook": "general",
    "customer": {"name": HOSTILE, "email": HOSTILE_EMAIL, "order": HOSTILE_ORDER},
    "answers": {
        "complaint": HOSTILE,
        "cause_explained": HOSTILE,
        "wants": HOSTILE,
        "remedy": ["refund", "credit"],
        "happy_now": False,
        "still_missing": HOSTILE,
        "root_cause": HOSTILE,
        "prevention": HOSTILE,
    },
}

PLAIN = {"NO_COLOR": "1", "COLUMNS": "200"}
TERMINAL = {"FORCE_COLOR": "1", "TERM": "xterm-256color", "COLUMNS": "200"}


def _mode_env(mp: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key in ("NO_COLOR", "FORCE_COLOR", "TERM", "COLUMNS"):
        mp.delenv(key, raising=False)
    for key, value in env.items():
        mp.setenv(key, value)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A home whose cases were made from hostile text by every way in: options (case 1),
    an answers file (case 2), a scripted walk (case 3, plain output; case 4, on a
    terminal-like console), outcomes from options (1, 2) and from prompts (3, 4)."""
    root = tmp_path_factory.mktemp("hostile")
    home = root / "home"
    answers = root / "hostile.json"
    answers.write_text(json.dumps(HOSTILE_ANSWERS), encoding="utf-8")
    plain_only = root / "plain.json"
    plain_only.write_text(
        json.dumps({**HOSTILE_ANSWERS, "customer": {}, "answers": {"complaint": HOSTILE}}),
        encoding="utf-8",
    )
    runner = CliRunner()
    walks: dict[str, str] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RECOVER_HOME", str(home))
        _mode_env(mp, PLAIN)

        def cli(*args: str) -> Any:
            result = runner.invoke(app, list(args))
            assert result.exit_code == 0, (args, result.output)
            return result

        cli("new", "--answers", str(plain_only), "--no-input", "--name", HOSTILE,
            "--email", HOSTILE_EMAIL, "--order", HOSTILE_ORDER)  # fmt: skip
        cli("close", "1", "--outcome", "kept", "--cause", HOSTILE, "--tag", HOSTILE_TAG,
            "--prevention", HOSTILE, "--no-input")  # fmt: skip
        case_one = read_case(home, "1")
        assert case_one["customer"]["name"].startswith("Eve [bold red]x[/]")
        cli("new", "--answers", str(answers), "--no-input")
        cli("followup", "add", "2", "--in", "1d", "--note", f"{HOSTILE} $customer $email")
        cli("close", "2", "--outcome", "lost", "--cause", HOSTILE, "--tag", HOSTILE_TAG,
            "--prevention", HOSTILE, "--keep-follow-ups", "--no-input")  # fmt: skip
        for mode_name, env, extra in (
            ("plain", PLAIN, []),
            ("terminal", TERMINAL, ["--answers", str(plain_only)]),
        ):
            _mode_env(mp, env)
            auto = HostilePrompter()
            mp.setattr(prompter, "open_prompter", lambda console, _auto=auto, **_: _auto)
            result = runner.invoke(
                app,
                [
                    "new",
                    "-p",
                    "general",
                    "--email",
                    HOSTILE_EMAIL,
                    "--order",
                    HOSTILE_ORDER,
                    *extra,
                ],
            )
            assert result.exit_code == 0, result.output
            walks[mode_name] = result.stdout + result.stderr
        _mode_env(mp, PLAIN)
        cli("followup", "add", "1", "--in", "2d", "--note", HOSTILE)
    return home, walks


@pytest.fixture(params=["plain", "terminal"])
def console_mode(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, home: Path
) -> str:
    _mode_env(monkeypatch, PLAIN if request.param == "plain" else TERMINAL)
    return str(request.param)


def test_the_hostile_text_was_stored_as_data(hostile: tuple[Path, dict[str, str]]) -> None:
    """Sanity for the tests below: the markup is in the case files, so showing it
    literally is the product's doing, not a setup that lost it."""
    home, _ = hostile
    for number in ("1", "2", "3", "4"):
        raw = (home / "cases" / f"{number}.json").read_text("utf-8")
        assert "[bold red]x[/]" in raw and "[link=https://evil.example]" in raw, number


def test_a_walk_on_hostile_text_shows_it_literally_and_inertly(
    hostile: tuple[Path, dict[str, str]],
) -> None:
    _, walks = hostile
    for mode_name, output in walks.items():
        assert_inert(output, f"new ({mode_name})")
        assert "SAY" in output
    for fragment in LITERAL:
        assert fragment in walks["plain"], fragment
    assert "\x1b[" in walks["terminal"]  # the terminal run was styled: SGR was told apart


READERS: dict[str, list[str]] = {
    "list": ["list"],
    "list --json": ["list", "--json"],
    "show 1": ["show", "1"],
    "show 2": ["show", "2"],
    "show 3": ["show", "3"],
    "show 4": ["show", "4"],
    "show --json": ["show", "3", "--json"],
    "followups": ["followups", "--all"],
    "followups --json": ["followups", "--all", "--json"],
    "followup 2": ["followup", "2", "--reached", "--happy", "yes", "--note", HOSTILE,
                   "--no-input"],
    "followup 1": ["followup", "1", "--not-reached", "--note", HOSTILE, "--next", "2d",
                   "--no-input"],
    "customer": ["customer", "Eve"],
    "customer --json": ["customer", "Eve", "--json"],
    "prevent": ["prevent", "--all"],
    "prevent --json": ["prevent", "--all", "--json"],
    "prevent done 1": ["prevent", "done", "1"],
    "prevent done 3": ["prevent", "done", "3"],
    "stats": ["stats"],
    "export csv": ["export", "-f", "csv"],
}  # fmt: skip
# What each shows of the customer's text, and so must show literally.
SHOWS_MARKUP = {
    "list", "show 1", "show 2", "show 3", "show 4", "followups", "followup 1",
    "followup 2", "customer", "prevent", "prevent done 1", "prevent done 3", "export csv",
}  # fmt: skip


@pytest.mark.parametrize("reader", sorted(READERS))
def test_hostile_customer_text_is_shown_literally_and_never_reaches_the_terminal(
    run: Run, hostile: tuple[Path, dict[str, str]], home: Path, console_mode: str, reader: str
) -> None:
    shutil.copytree(hostile[0], home)
    result = run(*READERS[reader])
    assert result.exit_code == 0, result.output
    assert_inert(result.stdout, f"{reader} stdout ({console_mode})")
    assert_inert(result.stderr, f"{reader} stderr ({console_mode})")
    if console_mode == "plain" and reader in SHOWS_MARKUP:
        for fragment in LITERAL:
            assert fragment in result.stdout, (reader, fragment)
    if reader == "stats" and console_mode == "plain":
        assert "tag [blink]x[/blink]" in result.stdout
    if reader == "export csv":
        rows = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
        assert {row["id"] for row in rows} == {"1", "2", "3", "4"}
    if reader.endswith("--json"):
        json.loads(result.stdout)


# == 4. errors carry no customer data =====================================================
CUSTOMER = "Dana Reyes"
EMAIL = "dana.secret@example.com"


@pytest.mark.parametrize(
    "args",
    [
        ["new", "--value", f"{CUSTOMER} <{EMAIL}>"],
        ["new", "--value", EMAIL],
        ["new", "--email", f"{CUSTOMER} {EMAIL}"],
        ["new", "--email", CUSTOMER],
        ["close", "1", "--outcome", EMAIL, "--no-input"],
        ["followup", "1", "--happy", EMAIL, "--no-input"],
        ["followup", "1", "--next", EMAIL, "--no-input"],
        ["followup", "add", "1", "--in", EMAIL],
        ["list", "--status", EMAIL],
        ["export", "--status", EMAIL],
        ["export", "-f", EMAIL],
    ],
    ids=[
        "new-value-name",
        "new-value-email",
        "new-email-spaces",
        "new-email-name",
        "close-outcome",
        "followup-happy",
        "followup-next",
        "followup-add-in",
        "list-status",
        "export-status",
        "export-format",
    ],
)
@pytest.mark.parametrize("debug", [False, True], ids=["quiet", "debug"])
def test_a_bad_option_with_customer_data_is_refused_without_repeating_it(
    run: Run, home: Path, args: list[str], debug: bool
) -> None:
    result = run(*(["--debug"] if debug else []), *args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert EMAIL not in result.output and CUSTOMER not in result.output
    assert "Traceback" not in result.output
    assert not (home / "cases").exists()


def test_problems_in_an_answers_file_are_named_without_its_customer_text(
    run: Run, home: Path, tmp_path: Path, user_playbook: Callable[[str, str], Path]
) -> None:
    """Every value below is wrong for its field; the error names each field, never the
    value (which could be what the customer said), and passes no escape through."""
    user_playbook("sample", SAMPLE)
    bad = f"{EMAIL}\x1b]0;pwned\x07 {CUSTOMER}"
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps(
            {
                "playbook": "sample",
                "customer": {"email": bad, "order_value": bad},
                "answers": {"complaint": ["a", "list"], "arrived": bad, "remedy": [bad]},
                "notes": {"sorry": 5},
            }
        ),
        encoding="utf-8",
    )
    result = run("new", "--answers", str(path), "--no-input")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"Error: {path}: ")
    for field in ("customer.email", "customer.order_value", "answers.arrived", "answers.remedy"):
        assert field in result.stderr, field
    assert_inert(result.stderr, "answers file error")
    assert EMAIL not in result.output and CUSTOMER not in result.output
    assert not (home / "cases").exists()


def _run_process(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "recovery_cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "RECOVER_HOME": str(home), "NO_COLOR": "1", "COLUMNS": "120"},
    )


@pytest.mark.parametrize(
    "broken",
    [
        {"status": "pending"},
        {"customer": {"name": CUSTOMER, "email": EMAIL, "order_value": f"{EMAIL}"}},
        {"steps": [{"id": "listen", "answer": {"said": f"{CUSTOMER} {EMAIL}"}}]},
        {"outcome": {"result": EMAIL, "root_cause": f"{CUSTOMER} {EMAIL}"}},
    ],
    ids=["bad-status", "bad-order-value", "bad-step", "bad-outcome"],
)
def test_a_case_file_that_fails_validation_never_puts_its_data_in_errors(
    run: Run, home: Path, tmp_path: Path, broken: dict[str, Any]
) -> None:
    path = _case_with_secrets(run, home, tmp_path, broken)
    for args in (["show", "1"], ["close", "1", "--outcome", "kept", "--no-input"], ["list"]):
        quiet = run(*args)
        assert EMAIL not in quiet.output and CUSTOMER not in quiet.output, (args, quiet.output)
        assert str(path) in quiet.stderr and "Traceback" not in quiet.output, args
        assert quiet.exit_code == (0 if args[0] == "list" else 5), args
        loud = run("--debug", *args)
        if args[0] == "list":
            assert loud.exit_code == 0 and str(path) in loud.stderr
            assert EMAIL not in loud.output
            continue
        # --debug lets the error out with its traceback: what it would print.
        assert type(loud.exception).__name__ == "DamagedCaseError", args
        shown = "".join(traceback.format_exception(loud.exception))
        assert str(path) in shown
        assert EMAIL not in shown and CUSTOMER not in shown, (args, shown)


def _case_with_secrets(run: Run, home: Path, tmp_path: Path, broken: dict[str, Any]) -> Path:
    source = tmp_path / "a.toml"
    source.write_text(f'playbook = "general"\n[customer]\nname = "{CUSTOMER}"\n', "utf-8")
    assert run("new", "--answers", str(source), "--no-input", "--email", EMAIL).exit_code == 0
    path = home / "cases" / "1.json"
    data = json.loads(path.read_bytes())
    data.update(broken)
    path.write_text(json.dumps(data), encoding="utf-8")
    assert EMAIL.encode() in path.read_bytes()
    return path


def test_the_debug_traceback_of_a_real_process_holds_no_case_data(
    run: Run, home: Path, tmp_path: Path
) -> None:
    broken = {"outcome": {"result": EMAIL, "root_cause": f"{CUSTOMER} {EMAIL}"}}
    path = _case_with_secrets(run, home, tmp_path, broken)
    for args in (["show", "1"], ["close", "1", "--outcome", "kept", "--no-input"]):
        done = _run_process(home, "--debug", *args)
        assert done.returncode != 0 and "DamagedCaseError" in done.stderr, done.stderr
        assert str(path) in done.stderr
        output = done.stdout + done.stderr
        assert EMAIL not in output and CUSTOMER not in output, (args, output)


# == 5. placeholders are data, never code =================================================
def _playbook(say: str, *, label: str = "Refund", follow: str = "Hi $first_name") -> str:
    return (
        'id = "probe"\ntitle = "Probe"\n'
        '[[steps]]\nid = "listen"\nask = { key = "complaint", prompt = "What went wrong?" }\n'
        f'[[steps]]\nid = "say"\ntitle = "T {say}"\nsay = "{say}"\ndo = "{say}"\n'
        f'[[steps]]\nid = "offer"\noffer = [{{ id = "refund", label = "{label}" }}]\n'
        f'[[steps]]\nid = "later"\nfollow_up = {{ after = "1d", say = "{follow}" }}\n'
    )


@pytest.mark.parametrize(
    "placeholder",
    ["${customer.__init__}", "$__import__", "${__class__}", "$__builtins__", "${customer[0]}"],
)
def test_a_placeholder_that_reaches_for_code_is_a_load_error(
    run: Run, user_playbook: Callable[[str, str], Path], placeholder: str
) -> None:
    path = user_playbook("probe", _playbook(f"Hello {placeholder}"))
    result = run("playbook", "check", str(path))
    assert result.exit_code == 3, result.output
    assert re.search(rf"{re.escape(str(path))}:\d+:\d+: .*steps\[1\]\.say", result.output)
    assert "Traceback" not in result.output
    new = run("new", "-p", "probe", answers=[])
    assert new.exit_code == 3 and "is not a valid playbook" in new.stderr


LITERAL_PAYLOADS = "$customer.__class__ {customer} {0.__class__} %(x)s %s $customer[0] {{x}}"
_EVALUATED = re.compile(r"<class |<bound |<built-in|<function |<module |object at 0x|__main__")


def test_placeholders_followed_by_attribute_syntax_stay_literal_text(
    run: Run, home: Path, user_playbook: Callable[[str, str], Path], tmp_path: Path
) -> None:
    user_playbook(
        "probe",
        _playbook(LITERAL_PAYLOADS, label=LITERAL_PAYLOADS, follow=LITERAL_PAYLOADS),
    )
    assert run("playbook", "check").exit_code == 0
    answers = tmp_path / "a.toml"
    answers.write_text(
        'playbook = "probe"\n[customer]\nname = "Ann $email ${email} {customer}"\n'
        'email = "ann@example.com"\n[answers]\ncomplaint = "$customer.__class__"\n'
        'offer = ["refund"]\n',
        encoding="utf-8",
    )
    assert run("new", "--answers", str(answers), "--no-input").exit_code == 0
    expected = (
        "Ann $email ${email} {customer}.__class__ {customer} {0.__class__} %(x)s %s "
        "Ann $email ${email} {customer}[0] {{x}}"
    )
    case = read_case(home, "1")
    assert case["remedies"][0]["label"] == expected
    assert case["follow_ups"][0]["message"] == expected
    walked = run("new", "-p", "probe", "--name", "Bo", answers=["", "", "", "", "x", "", ":pause"])
    assert walked.exit_code == 0, walked.output
    bo = expected.replace("Ann $email ${email} {customer}", "Bo")
    assert f"SAY   {bo}" in walked.stdout and f"DO    {bo}" in walked.stdout
    assert f"T {bo}" in walked.stdout
    # By hand: the note of an added follow-up is rendered the same way.
    note = f"{LITERAL_PAYLOADS} ${{customer.__init__}} $__import__ $email"
    added = run("followup", "add", "1", "--note", note)
    assert added.exit_code == 0, added.output
    message = read_case(home, "1")["follow_ups"][-1]["message"]
    assert message == (f"{expected} ${{customer.__init__}} ‹__import__› ann@example.com"), message
    for args in (["show", "1"], ["show", "2"], ["followups", "--all"], ["export", "-f", "json"]):
        out = run(*args).stdout
        assert not _EVALUATED.search(out), (args, out)
    for path in (home / "cases").glob("*.json"):
        assert not _EVALUATED.search(path.read_text("utf-8")), path
