"""Start-up of `recover new` and `recover playbook list`: drawn from the playbook cache,
without Pydantic or the models until the walk needs them; the walk's modules loaded on
a thread of their own while the seller types, whose errors surface on the main thread.
No assertion here is about time."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pexpect
import pytest

from recovery_cli.cli.commands import walk as walk_command
from recovery_cli.errors import PlaybookError, Problem
from recovery_cli.machine import CACHE_ENV
from recovery_cli.playbooks import check
from recovery_cli.playbooks.cache import cache_file
from tests.conftest import SAMPLE, Run, read_case
from tests.terminal import SAFETY

# Modules the menu and the first prompt must come up without.
MODELS = (
    "pydantic",
    "recovery_cli.case",
    "recovery_cli.walk",
    "recovery_cli.walking",
    "recovery_cli.playbooks.model",
    "recovery_cli.playbooks.check",
)
BROKEN = 'id = "broken"\ntitle = "Broken"\n[[steps]]\nid = "a"\nsya = "x"\n'
DETAILS = ["Dana Reyes", "dana@example.com", "A-1001", "40", "phone"]


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(path))
    return path


@pytest.fixture
def sample(home: Path) -> Path:
    (home / "playbooks").mkdir(parents=True, exist_ok=True)
    path = home / "playbooks" / "sample.toml"
    path.write_text(SAMPLE, encoding="utf-8")
    return path


def env_for(home: Path, cache: Path) -> dict[str, str]:
    return {
        "RECOVER_HOME": str(home),
        CACHE_ENV: str(cache),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "NO_COLOR": "1",
        "COLUMNS": "120",
    }


# -- what a process imports ------------------------------------------------------------------
PROBE = textwrap.dedent(
    """
    import json, sys
    config = json.loads(sys.argv[1])
    sys.argv = ["recover", *config["args"]]
    seen = []
    if config["answers"] is not None:  # a command that prompts
        from recovery_cli.cli import prompter
        from recovery_cli.cli.commands import walk
        real_start = walk._Loader.start
        if config["hold_loader"]:
            walk._Loader.start = lambda self: None  # until the first prompt is up

        class Probe(prompter.ScriptedPrompter):
            def ask(self, prompt, *, prefill=""):
                seen.append([prompt, sorted(sys.modules)])
                walk._Loader.start = real_start
                return super().ask(prompt, prefill=prefill)

        prompter.open_prompter = lambda console, **_: Probe(config["answers"])
    from recovery_cli.entry import main
    try:
        main()
    except SystemExit as done:
        code = done.code
    else:
        code = 0
    loaded = sorted(sys.modules)
    with open(config["out"], "w") as out:
        json.dump({"code": code, "prompts": seen, "loaded": loaded}, out)
    """
)


def probe(
    home: Path,
    cache: Path,
    tmp_path: Path,
    *args: str,
    answers: list[str] | None = None,
    hold: bool = False,
) -> dict[str, Any]:
    """``recover ARGS`` in a process of its own, answered from ``answers`` (None: a
    command that asks nothing); which modules were loaded at each prompt and at the
    end. ``hold``: the loader starts only once the first prompt is up."""
    out = tmp_path / "probe.json"
    config = {"args": list(args), "answers": answers, "hold_loader": hold, "out": str(out)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(config)],
        capture_output=True,
        text=True,
        timeout=SAFETY,
        check=False,
        env=env_for(home, cache),
    )
    assert out.exists(), done.stderr
    report: dict[str, Any] = json.loads(out.read_text())
    report["stdout"], report["stderr"] = done.stdout, done.stderr
    return report


def heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if m in MODELS or m.startswith("pydantic.")]


def test_playbook_list_reads_the_cache_without_pydantic_or_rich_console(
    home: Path, sample: Path, cache_dir: Path, tmp_path: Path
) -> None:
    cold = probe(home, cache_dir, tmp_path, "playbook", "list")
    assert cold["code"] == 0 and heavy(cold["loaded"])  # the first run checks the files
    for args in (["playbook", "list"], ["playbook", "list", "--json"]):
        warm = probe(home, cache_dir, tmp_path, *args)
        assert warm["code"] == 0, warm["stderr"]
        assert heavy(warm["loaded"]) == []
        assert "rich.console" not in warm["loaded"]
    again = probe(home, cache_dir, tmp_path, "playbook", "list")
    assert again["stdout"] == cold["stdout"] and "sample" in again["stdout"]


@pytest.mark.parametrize(
    ("args", "answers", "first"),
    [
        (["new"], ["sample", *DETAILS, ":pause"], "Playbook number (1-9): "),
        (["new", "-p", "sample"], [*DETAILS, ":pause"], "Name: "),
        # A detail given as an option is checked without the models too.
        (["new", "-p", "sample", "--name", DETAILS[0]], [*DETAILS[1:], ":pause"], "Email: "),
    ],
    ids=["menu", "playbook-option", "detail-option"],
)
def test_the_first_prompt_needs_neither_pydantic_nor_the_models(
    home: Path,
    sample: Path,
    cache_dir: Path,
    tmp_path: Path,
    args: list[str],
    answers: list[str],
    first: str,
) -> None:
    probe(home, cache_dir, tmp_path, "playbook", "list")  # the cache, warm
    report = probe(home, cache_dir, tmp_path, *args, answers=answers, hold=True)
    assert report["code"] == 0, report["stderr"]
    prompt, loaded = report["prompts"][0]
    assert prompt == first
    assert heavy(loaded) == []
    # The walk went on: the loader ran once the prompt was up.
    assert "Paused. Case 1 is saved." in report["stderr"]
    assert read_case(home)["customer"]["name"] == "Dana Reyes"


def test_nothing_is_left_to_import_between_the_last_detail_and_step_one(
    home: Path, sample: Path, cache_dir: Path, tmp_path: Path
) -> None:
    probe(home, cache_dir, tmp_path, "playbook", "list")
    report = probe(home, cache_dir, tmp_path, "new", "-p", "sample", answers=[*DETAILS, ":pause"])
    assert report["code"] == 0, report["stderr"]
    prompts = [prompt for prompt, _ in report["prompts"]]
    assert prompts[4].startswith("Channel") and prompts[5] == "What went wrong?: "
    at_last_detail, at_step_one = report["prompts"][4][1], report["prompts"][5][1]
    assert sorted(set(at_step_one) - set(at_last_detail)) == []


def test_recover_new_with_a_cold_cache_walks_the_same(
    home: Path, sample: Path, cache_dir: Path, tmp_path: Path
) -> None:
    report = probe(home, cache_dir, tmp_path, "new", "-p", "sample", answers=[*DETAILS, ":pause"])
    assert report["code"] == 0, report["stderr"]
    case = read_case(home)
    assert case["playbook"]["hash"] == "sha256:" + hashlib.sha256(sample.read_bytes()).hexdigest()
    kept = cache_file(home)
    assert kept is not None and kept.exists()


# -- the loader thread -----------------------------------------------------------------------
def loader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "recover-loader"]


@pytest.fixture
def thread_errors(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What threading.excepthook was handed (a traceback printed from a thread)."""
    seen: list[Any] = []
    monkeypatch.setattr(threading, "excepthook", seen.append)
    return seen


def test_an_import_that_fails_on_the_loader_is_raised_on_the_main_thread(
    run: Run,
    sample: Path,
    cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    thread_errors: list[Any],
) -> None:
    monkeypatch.setattr(
        walk_command._Loader, "MODULES", (*walk_command._Loader.MODULES, "recovery_cli.nowhere")
    )
    result = run("new", "-p", "sample", answers=["Ann"])
    assert isinstance(result.exception, ModuleNotFoundError)
    assert thread_errors == [] and loader_threads() == []


def test_a_playbook_error_on_the_loader_is_reported_like_any_other(
    run: Run,
    home: Path,
    sample: Path,
    cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    thread_errors: list[Any],
) -> None:
    def fails(entry: object) -> object:
        raise PlaybookError([Problem(str(sample), 1, 1, "", "gone bad")])

    monkeypatch.setattr(walk_command, "rebuild", fails)
    result = run("new", "-p", "sample", answers=["Ann"])
    assert result.exit_code == 3, result.output
    assert f"Error: {sample} is not a valid playbook (1 problem):" in result.stderr
    assert "Traceback" not in result.output and thread_errors == []
    assert not (home / "cases").exists() or list((home / "cases").glob("*.json")) == []


def test_a_stop_at_the_menu_waits_for_the_loader(
    run: Run, home: Path, sample: Path, cache_dir: Path, thread_errors: list[Any]
) -> None:
    result = run("new", answers=["^C"])
    assert result.exit_code == 130 and "nothing needed saving" in result.stderr
    assert loader_threads() == [] and thread_errors == []


def test_a_stop_at_the_first_detail_writes_the_case(
    run: Run, home: Path, sample: Path, cache_dir: Path
) -> None:
    result = run("new", "-p", "sample", answers=["^C"])
    assert result.exit_code == 130
    assert "Stopped. Case 1 is saved with every answered step." in result.stderr
    assert read_case(home)["log"][-1]["event"] == "interrupted (interrupt)"
    assert loader_threads() == []


def test_a_pick_from_the_menu_writes_the_case_before_any_detail(
    run: Run, home: Path, sample: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recovery_cli.cli import prompter

    on_disk: list[bool] = []

    class Watching(prompter.ScriptedPrompter):
        def ask(self, prompt: str, *, prefill: str = "") -> str:
            on_disk.append((home / "cases" / "1.json").exists())
            return super().ask(prompt, prefill=prefill)

    monkeypatch.setattr(
        prompter, "open_prompter", lambda console, **_: Watching(["sample", ":pause"])
    )
    result = run("new")
    assert result.exit_code == 0, result.output
    assert on_disk == [False, True]


def test_the_loader_thread_takes_no_signals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mask_probe.py").write_text(
        "import signal\nMASK = signal.pthread_sigmask(signal.SIG_BLOCK, [])\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(walk_command._Loader, "MODULES", ("mask_probe",))
    monkeypatch.delitem(sys.modules, "mask_probe", raising=False)
    loader = walk_command._Loader()
    loader.wait()
    mask = sys.modules.pop("mask_probe").MASK
    assert {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM} <= mask
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])


# -- the cache through the commands ----------------------------------------------------------
def test_a_broken_playbook_is_reported_every_time(
    run: Run, home: Path, sample: Path, cache_dir: Path
) -> None:
    bad = home / "playbooks" / "broken.toml"
    bad.write_text(BROKEN, encoding="utf-8")
    problem = f"{bad}:5:1: steps[0].sya: unknown key (did you mean 'say'?)"
    for _ in range(2):  # checked, then from the cache
        listed = run("playbook", "list")
        assert f"Warning: {bad} does not load (1 problems)" in listed.stderr
        assert "broken" not in listed.stdout
        started = run("new", answers=["^C"])
        assert f"Warning: {problem}. That playbook is not offered." in started.stderr
        named = run("new", "-p", "broken", answers=[])
        assert named.exit_code == 3 and f"  {problem}\n" in named.stderr
        checked = run("playbook", "check")
        assert checked.exit_code == 3 and problem in checked.stdout


def _damage(home: Path) -> None:
    path = cache_file(home)
    assert path is not None
    path.write_bytes(path.read_bytes()[:100] + b"\x00garbage")


def _other_version(home: Path) -> None:
    path = cache_file(home)
    assert path is not None
    head, _, body = path.read_bytes().partition(b"\n")
    header = json.loads(head)
    header["stamp"] = "an older recover"
    path.write_bytes(json.dumps(header).encode() + b"\n" + body)


@pytest.mark.parametrize("spoil", [_damage, _other_version])
def test_a_damaged_or_foreign_cache_changes_nothing_the_seller_sees(
    run: Run, home: Path, sample: Path, cache_dir: Path, spoil: Callable[[Path], None]
) -> None:
    fresh = run("playbook", "list", "--json").stdout
    table = run("playbook", "list").stdout
    spoil(home)
    assert run("playbook", "list", "--json").stdout == fresh
    spoil(home)
    assert run("playbook", "list").stdout == table
    spoil(home)
    walked = run("new", "-p", "sample", answers=[*DETAILS, "It broke", ":pause"])
    assert walked.exit_code == 0, walked.output
    assert [s["id"] for s in read_case(home)["steps"]] == ["listen"]
    assert walked.stderr == "Paused. Case 1 is saved.\nResume with: recover resume 1\n"


def test_a_cache_folder_that_cannot_be_written_changes_nothing(
    run: Run, home: Path, sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "a-file" / "cache"))
    listed = run("playbook", "list", "--json")
    assert listed.exit_code == 0 and listed.stderr == ""
    assert "sample" in [p["id"] for p in json.loads(listed.stdout)["playbooks"]]
    walked = run("new", "-p", "sample", answers=[*DETAILS, ":pause"])
    assert walked.exit_code == 0 and "Traceback" not in walked.output
    assert walked.stderr == "Paused. Case 1 is saved.\nResume with: recover resume 1\n"


def test_the_cache_never_lands_in_the_home(
    run: Run, home: Path, sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def home_files() -> list[str]:
        return sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())

    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    before = home_files()
    assert run("playbook", "list").exit_code == 0
    assert home_files() == before
    assert list((tmp_path / "xdg").rglob("*.json"))  # it is in the per-machine folder
    monkeypatch.setenv(CACHE_ENV, str(home / ".cache"))  # asked for inside the home: no cache
    assert run("playbook", "list").exit_code == 0
    assert run("new", "-p", "sample", answers=[*DETAILS, ":pause"]).exit_code == 0
    assert not (home / ".cache").exists()
    assert [
        f for f in home_files() if f.endswith(".json") and not f.startswith(("cases", "machines"))
    ] == []


def test_parse_playbook_runs_once_per_version_of_a_file(
    run: Run, home: Path, sample: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    real = check.parse_playbook

    def counting(raw: bytes, label: str, *, stem: str | None = None) -> Any:
        seen.append(Path(label).stem)
        return real(raw, label, stem=stem)

    monkeypatch.setattr(check, "parse_playbook", counting)
    assert run("playbook", "list").exit_code == 0
    assert "sample" in seen
    seen.clear()
    assert run("new", "-p", "sample", answers=[*DETAILS, ":pause"]).exit_code == 0
    assert run("playbook", "show", "sample").exit_code == 0
    assert run("playbook", "list").exit_code == 0
    assert seen == []
    sample.write_text(SAMPLE.replace("Sample recovery", "Sample, edited"), encoding="utf-8")
    listed = run("playbook", "list", "--json")
    assert seen == ["sample"]
    titles = {p["id"]: p["title"] for p in json.loads(listed.stdout)["playbooks"]}
    assert titles["sample"] == "Sample, edited"


# -- a real terminal -------------------------------------------------------------------------
# A prompt, from where readline starts the line (as in test_pty).
PROMPT = r"\x1b\[\?2004h[^\r\n]*: (\x1b\[0m)?[^\r\n\x1b]*$"


def spawn(home: Path, cache: Path, *args: str) -> pexpect.spawn:
    env = {**env_for(home, cache), "TERM": "xterm", "LINES": "40"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "recovery_cli", *args],
        env=env,
        encoding="utf-8",
        timeout=SAFETY,
        dimensions=(40, 120),
    )
    child.delaybeforesend = None
    child.logfile_read = io.StringIO()
    return child


@pytest.mark.pty
@pytest.mark.parametrize("cache_state", ["cold", "warm", "damaged"])
def test_typing_at_once_in_a_real_terminal(
    tmp_path: Path, cache_state: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every key sent the moment each prompt is up (the loader may still be at work when
    the first detail comes back): the walk is the same, whatever the cache held."""
    home, cache = tmp_path / "home", tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(cache))
    if cache_state != "cold":
        warm = subprocess.run(
            [sys.executable, "-m", "recovery_cli", "playbook", "list"],
            env=env_for(home, cache),
            capture_output=True,
            timeout=SAFETY,
            check=True,
        )
        assert warm.returncode == 0
    if cache_state == "damaged":
        _damage(home)
    child = spawn(home, cache, "new", "-p", "heard")
    for detail in DETAILS:
        child.expect(PROMPT)
        child.sendline(detail)
    child.expect("Step 1 of 15")
    child.expect(PROMPT)
    child.sendline("It never arrived")
    child.expect("Step 2 of 15")
    child.expect(PROMPT)
    child.sendline(":pause")
    child.expect(pexpect.EOF)
    child.close()
    log = child.logfile_read
    assert isinstance(log, io.StringIO)
    output = log.getvalue()
    assert child.exitstatus == 0, output[-2000:]
    assert "Traceback" not in output
    assert output.index("Customer details") < output.index("Case 1 started · HEARD")
    case = read_case(home)
    assert case["customer"]["name"] == "Dana Reyes" and case["customer"]["channel"] == "phone"
    assert [s["id"] for s in case["steps"]] == ["hear"]
