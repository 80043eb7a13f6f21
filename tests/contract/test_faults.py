"""Fault injection at every step of a durable save, through `recover new` and `recover resume`.

A save (``fileio.write_atomic``) makes a temp file (``tempfile.mkstemp``), writes and
flushes it, fsyncs it, moves it into place (``os.replace``; ``os.link`` then unlink of
the temp file for a new case) and fsyncs the folder (``os.open`` + ``os.fsync``). Each
of these fails here, once (a transient fault) or every time (a permanent one), with
the errno a real disk gives: a full disk (ENOSPC), a read-only file system (EROFS),
no permission (EACCES), an I/O error (EIO). The faults are injected by replacing the
``os``, ``tempfile`` and ``Path`` names that fileio uses with stand-ins that fail at one
point and pass everything else through (patching ``os.open`` itself would also break
the store's lock files), in a forked process that runs the command: every command is a
process of its own, as on a real terminal, and a lock a failed command still holds goes
with its process.

What the user must find, every time: one clear message naming the file (no traceback,
no customer data), the documented exit code, the file as it was before, byte for byte
(unless the move happened: then the new file, and a message that says so), no temp
file left behind, and every answer typed before the fault still there once the fault
clears, when the walk goes on or `recover resume` carries on.

Then the real thing, where the system allows it: a full disk and a read-only file
system (a tmpfs mounted over the home in a private mount namespace of the child, so no
other process sees it), and a cases folder made read-only with chmod (as an ordinary
user: root ignores permission bits). Last, the leftovers of a crash: temp files that
hold whole, valid cases are never read as cases by any command, and `recover doctor
--fix` removes them only when no walk can own them.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import pwd
import re
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from recovery_cli import fileio
from recovery_cli.cli import prompter
from recovery_cli.store import Store
from recovery_cli.sync.ignores import write_ignores
from tests.conftest import SAMPLE, Run

README = Path(__file__).resolve().parents[2] / "README.md"
DETAILS = ["Dana Reyes", "dana@example.com", "A-1001", "40", "phone"]
# The sample playbook's steps: listen, sorry, arrived (no), remedy (refund + credit),
# refund-now (it was a refund), escalate (it did not arrive), check-in; then the outcome
# question at the end of the walk.
STEPS = ["Link never came", "", "no", "2,3", "Refund issued", "T-9", ""]
END = ["n"]
WALK = [*DETAILS, *STEPS, *END]
SAVES = len(DETAILS) + len(STEPS)  # each detail (the first writes the new case), each step
REMEDY = len(DETAILS) + 3  # the prompt (0-based) whose answer picks the remedies
SAVE_HINT = "Nothing already saved was changed. Free some space or fix permissions, then try again."
WALK_SAVE_HINT = (
    "Every answer before this one is saved. Free some space or fix permissions, "
    "then carry on with: recover resume 1"
)
FAULTS_INJECTED: list[int] = []


# -- faults in fileio ---------------------------------------------------------------------
@dataclass
class Fault:
    """Fail ``point`` of write_atomic with ``err``: ``once`` or ``always`` from the moment
    it is armed, letting the first ``after`` passes go through. Installed in a child
    process only (see :func:`invoke`)."""

    point: str
    err: int
    mode: str = "once"
    after: int = 0
    armed: bool = False
    passed: int = 0
    fired: int = 0
    snapshot: bytes | None = None
    dir_fds: set[int] = field(default_factory=set)

    def hit(self, point: str) -> None:
        if not self.armed or point != self.point:
            return
        self.passed += 1
        if self.passed > self.after and (self.mode == "always" or not self.fired):
            self.fired += 1
            raise OSError(self.err, os.strerror(self.err))

    def arm(self, case_file: Path) -> None:
        """From now on; keeps the case file as it is now (the state acknowledged last)."""
        self.snapshot = case_file.read_bytes() if case_file.exists() else None
        self.armed = True

    def install(self) -> None:
        real_os, real_tempfile, fault = fileio.os, fileio.tempfile, self

        class Handle:
            def __init__(self, inner: Any) -> None:
                self.inner = inner

            def __enter__(self) -> Handle:
                return self

            def __exit__(self, *exc: object) -> None:
                self.inner.close()

            def write(self, data: bytes) -> int:
                half = len(data) // 2
                self.inner.write(data[:half])  # a disk fills up part way through
                self.inner.flush()
                fault.hit("write")
                return half + self.inner.write(data[half:])

            def flush(self) -> None:
                fault.hit("flush")
                self.inner.flush()

            def fileno(self) -> int:
                return int(self.inner.fileno())

        class Os:
            def __getattr__(self, name: str) -> Any:
                return getattr(real_os, name)

            def fdopen(self, fd: int, *args: Any, **kwargs: Any) -> Handle:
                return Handle(real_os.fdopen(fd, *args, **kwargs))

            def open(self, path: Any, flags: int, *args: Any) -> int:
                fault.hit("dir-open")  # fileio opens only folders, to fsync them
                fd = real_os.open(path, flags, *args)
                fault.dir_fds.add(fd)
                return fd

            def close(self, fd: int) -> None:
                fault.dir_fds.discard(fd)
                real_os.close(fd)

            def fsync(self, fd: int) -> None:
                fault.hit("dir-fsync" if fd in fault.dir_fds else "fsync")
                real_os.fsync(fd)

            def replace(self, src: Any, dst: Any) -> None:
                fault.hit("replace")
                real_os.replace(src, dst)

            def link(self, src: Any, dst: Any) -> None:
                fault.hit("link")
                real_os.link(src, dst)

        def mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
            fault.hit("mkstemp")
            result: tuple[int, str] = real_tempfile.mkstemp(*args, **kwargs)
            return result

        class TempPath(type(Path())):  # type: ignore[misc]
            def unlink(self, missing_ok: bool = False) -> None:
                fault.hit("unlink")
                super().unlink(missing_ok=missing_ok)

        fileio.os = Os()  # type: ignore[assignment]
        fileio.tempfile = type("Tempfile", (), {"mkstemp": staticmethod(mkstemp)})()  # type: ignore[assignment]
        fileio.Path = TempPath  # type: ignore[misc]


class Operator(prompter.ScriptedPrompter):
    """Scripted answers; just before answering prompt number ``at`` (0-based), ``then``
    runs (arms a fault, fills the disk...)."""

    def __init__(
        self,
        answers: list[str],
        *,
        at: int | None = None,
        then: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(answers)
        self.at = at
        self.then = then

    def ask(self, prompt: str, *, prefill: str = "") -> str:
        if self.then is not None and len(self.asked) == self.at:
            self.then()
        return super().ask(prompt, prefill=prefill)


@dataclass
class Result:
    """A command run in its own process: what the user saw, and what the fault did."""

    exit_code: int
    stdout: str
    stderr: str
    prompts: list[str]
    fired: int = 0
    snapshot: bytes | None = None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def in_child(work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``work`` in a forked process and return what it returned (JSON-able)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns
        os.close(read_fd)
        try:
            payload = work()
        except BaseException:
            payload = {"child_error": traceback.format_exc()}
        with contextlib.suppress(BaseException), os.fdopen(write_fd, "w") as pipe:
            json.dump(payload, pipe)
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        text = pipe.read()
    os.waitpid(pid, 0)
    assert text, "the child process died without a word"
    payload: dict[str, Any] = json.loads(text)
    assert "child_error" not in payload, payload["child_error"]
    return payload


def run_command(
    run: Run, args: list[str], operator: Operator, fault: Fault | None = None
) -> dict[str, Any]:
    """Run one command in this process (a child): the fault installed, the operator typing."""
    if fault is not None:
        fault.install()
    prompter.open_prompter = lambda console, **_: operator  # type: ignore[assignment]
    result = run(*args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError("".join(traceback.format_exception(result.exception)))
    return {
        "exit_code": result.exit_code,
        "stdout": result.stdout,
        "stderr": result.stderr,
        "prompts": operator.asked,
        "fired": fault.fired if fault else 0,
        "snapshot": fault.snapshot.hex() if fault and fault.snapshot is not None else None,
    }


def invoke(
    run: Run, *args: str, answers: list[str], fault: Fault | None = None, at: int | None = None
) -> Result:
    """`recover ARGS` in a process of its own, typed into with ``answers``; ``fault``
    armed just before prompt ``at`` (from the start when ``at`` is None)."""
    home = Path(os.environ["RECOVER_HOME"])
    # This machine takes its letter for case ids in the home before any fault is armed:
    # the faults are the case file's.
    with Store(home) as store:
        store.machine_prefix()
    write_ignores(home)
    if fault is not None and at is None:
        fault.arm(home / "cases" / "1.json")
    then = None if fault is None else (lambda: fault.arm(home / "cases" / "1.json"))
    operator = Operator(answers, at=at, then=then)
    payload = in_child(lambda: run_command(run, list(args), operator, fault))
    snapshot = payload.pop("snapshot")
    fired = payload.pop("fired")
    FAULTS_INJECTED.append(fired)
    return Result(**payload, fired=fired, snapshot=bytes.fromhex(snapshot) if snapshot else None)


def fault_id(value: object) -> str:
    """Test ids that read: write-ENOSPC, not write-28."""
    return errno.errorcode[value] if isinstance(value, int) else str(value)


# -- what the user must see ----------------------------------------------------------------
def documented_exit_codes() -> dict[int, str]:
    """The exit code table of the README."""
    section = README.read_text(encoding="utf-8").split("## Exit codes", 1)[1]
    rows = re.finditer(r"^\| ([0-9]+) \| (.+?) \|$", section, re.MULTILINE)
    return {int(m.group(1)): m.group(2) for m in rows}


def assert_one_clear_error(result: Result, first_line: str) -> None:
    """Exit 1 (documented: a file could not be written), one ``Error:`` line that names
    the file, no traceback, nothing a customer said."""
    assert result.exit_code == 1, result.output
    assert "could not be written" in documented_exit_codes()[1]
    lines = result.stderr.splitlines()
    assert lines and lines[0] == first_line, result.stderr
    assert [line for line in result.output.splitlines() if "Error" in line] == [first_line]
    assert "Traceback" not in result.output
    for typed in [*DETAILS, *STEPS]:
        if len(typed) > 3:
            assert typed not in result.stderr


def case_file(home: Path, case_id: str = "1") -> Path:
    return home / "cases" / f"{case_id}.json"


def cases_folder(home: Path) -> list[str]:
    """What is in the cases folder (lock files are created before a save and kept)."""
    return sorted(n for n in os.listdir(home / "cases") if not n.endswith(".lock"))


def steps_of(path: Path) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = json.loads(path.read_bytes())["steps"]
    return steps


@pytest.fixture
def sample(home: Path) -> Path:
    """The sample playbook in the home's own folder, private as recover keeps it."""
    folder = home / "playbooks"
    folder.mkdir(parents=True, mode=0o700)
    home.chmod(0o700)
    path = folder / "sample.toml"
    path.write_text(SAMPLE, encoding="utf-8")
    path.chmod(0o600)
    return path


def resume_after_the_fault(run: Run, home: Path, kept: list[dict[str, Any]]) -> Result:
    """`recover resume 1` once the fault is gone: it asks the steps from the first one
    not on disk, and the walk ends with every step recorded before the fault unchanged."""
    remaining = STEPS[len(kept) :]
    resumed = invoke(run, "resume", "1", answers=[*remaining, *END])
    assert resumed.exit_code == 0, resumed.output
    assert "Resuming case 1 · Sample recovery" in resumed.stdout
    final = json.loads(case_file(home).read_bytes())
    assert final["walk_completed_at"] is not None
    assert final["steps"][: len(kept)] == kept
    assert [s["id"] for s in final["steps"]] == [
        "listen",
        "sorry",
        "arrived",
        "remedy",
        "refund-now",
        "escalate",
        "check-in",
    ]
    assert [r["offer"] for r in final["remedies"]] == ["refund", "credit"]
    assert cases_folder(home) == ["1.json"]
    return resumed


# -- a save fails before the file is moved into place ----------------------------------------
BEFORE_THE_MOVE = [
    ("mkstemp", errno.ENOSPC),
    ("mkstemp", errno.EROFS),
    ("mkstemp", errno.EACCES),
    ("write", errno.ENOSPC),
    ("flush", errno.ENOSPC),
    ("fsync", errno.EIO),
    ("replace", errno.EIO),
    ("replace", errno.EROFS),
]


@pytest.mark.parametrize("mode", ["once", "always"])
@pytest.mark.parametrize(
    ("point", "err"),
    BEFORE_THE_MOVE,
    ids=fault_id,
)
def test_a_save_that_fails_before_the_move_changes_nothing(
    run: Run, home: Path, sample: Path, point: str, err: int, mode: str
) -> None:
    fault = Fault(point, err, mode)
    result = invoke(run, "new", "-p", "sample", answers=WALK, fault=fault, at=REMEDY)
    path = case_file(home)
    verb = "write" if point == "mkstemp" else "save"
    assert_one_clear_error(result, f"Error: cannot {verb} {path}: {os.strerror(err)}")
    # The hint says how to go on; nothing else follows the one error line.
    assert result.stderr.splitlines()[1:] == [WALK_SAVE_HINT]
    assert result.fired == 1  # the walk stops at the first failed save
    assert result.snapshot is not None and path.read_bytes() == result.snapshot
    assert cases_folder(home) == ["1.json"], "a temp file was left behind"
    # Every answer typed before the fault is on disk; the one being saved is not.
    kept = steps_of(path)
    assert [s["answer"] for s in kept] == ["Link never came", None, False]
    assert json.loads(path.read_bytes())["customer"]["name"] == "Dana Reyes"
    if mode == "always":
        # While the disk is still failing, resuming fails the same clean way, changing nothing.
        again = invoke(run, "resume", "1", answers=STEPS[3:], fault=Fault(point, err, mode))
        assert_one_clear_error(again, f"Error: cannot {verb} {path}: {os.strerror(err)}")
        assert path.read_bytes() == result.snapshot and cases_folder(home) == ["1.json"]
    resume_after_the_fault(run, home, kept)


def test_a_save_that_fails_at_a_customer_detail_keeps_the_ones_before(
    run: Run, home: Path, sample: Path
) -> None:
    fault = Fault("write", errno.ENOSPC)
    result = invoke(run, "new", "-p", "sample", answers=WALK, fault=fault, at=2)
    path = case_file(home)
    assert_one_clear_error(result, f"Error: cannot save {path}: No space left on device")
    assert result.snapshot is not None and path.read_bytes() == result.snapshot
    customer = json.loads(path.read_bytes())["customer"]
    assert (customer["name"], customer["email"], customer["order"]) == (
        "Dana Reyes",
        "dana@example.com",
        "",
    )
    assert cases_folder(home) == ["1.json"]
    resume_after_the_fault(run, home, [])


# -- the folder sync fails after the move: the file is in place, and the user is told ------
@pytest.mark.parametrize("mode", ["once", "always"])
@pytest.mark.parametrize(
    ("point", "err"), [("dir-open", errno.EACCES), ("dir-fsync", errno.EIO)], ids=fault_id
)
def test_a_save_whose_folder_cannot_be_synced_says_so_and_the_walk_goes_on(
    run: Run, home: Path, sample: Path, point: str, err: int, mode: str
) -> None:
    fault = Fault(point, err, mode)
    result = invoke(run, "new", "-p", "sample", answers=WALK, fault=fault, at=REMEDY)
    path = case_file(home)
    assert result.exit_code == 0, result.output
    warning = f"! {path} was saved, but its folder could not be synced to disk: {os.strerror(err)}"
    warnings = [line for line in result.output.splitlines() if "could not be synced" in line]
    assert warnings == [warning] * result.fired
    assert result.fired == (1 if mode == "once" else len(STEPS) - 3)
    assert "Traceback" not in result.output and "Error" not in result.output
    final = json.loads(path.read_bytes())
    typed = ["Link never came", None, False, ["refund", "credit"], "Refund issued", "T-9", None]
    assert [s["answer"] or s["note"] or None for s in final["steps"]] == [t or None for t in typed]
    assert final["walk_completed_at"] is not None and final["revision"] == SAVES
    assert cases_folder(home) == ["1.json"]


# -- a new case cannot be created --------------------------------------------------------------
BEFORE_THE_LINK = [
    ("mkstemp", errno.ENOSPC),
    ("mkstemp", errno.EROFS),
    ("write", errno.ENOSPC),
    ("flush", errno.ENOSPC),
    ("fsync", errno.EIO),
    ("link", errno.EIO),
    ("link", errno.ENOSPC),
]


@pytest.mark.parametrize("mode", ["once", "always"])
@pytest.mark.parametrize(
    ("point", "err"),
    BEFORE_THE_LINK,
    ids=fault_id,
)
def test_a_case_that_cannot_be_created_leaves_nothing_and_the_next_try_works(
    run: Run, home: Path, sample: Path, point: str, err: int, mode: str
) -> None:
    result = invoke(run, "new", "-p", "sample", answers=WALK, fault=Fault(point, err, mode))
    path = case_file(home)
    verb = "write" if point == "mkstemp" else "save"
    assert_one_clear_error(result, f"Error: cannot {verb} {path}: {os.strerror(err)}")
    # With -p, the first detail's prompt is up at once; the case is written when that
    # detail is entered, and nothing after it was asked.
    assert result.prompts == ["Name: "]
    assert cases_folder(home) == [], "a case or a temp file was left behind"
    if mode == "always":
        again = invoke(run, "new", "-p", "sample", answers=WALK, fault=Fault(point, err, mode))
        assert_one_clear_error(again, f"Error: cannot {verb} {path}: {os.strerror(err)}")
        assert cases_folder(home) == []
    retried = invoke(run, "new", "-p", "sample", answers=WALK)
    assert retried.exit_code == 0, retried.output
    assert "Case 1 started · Sample recovery" in retried.stdout
    assert len(steps_of(path)) == len(STEPS) and cases_folder(home) == ["1.json"]


@pytest.mark.parametrize("mode", ["once", "always"])
def test_a_new_case_whose_folder_cannot_be_synced_is_walked_with_a_warning(
    run: Run, home: Path, sample: Path, mode: str
) -> None:
    """The case file is in place when the folder sync fails: as for every later save,
    the user is told once and the walk goes on (an error here would stop the call with
    a case on disk that `recover resume` walks without asking the customer's details)."""
    result = invoke(
        run, "new", "-p", "sample", answers=WALK, fault=Fault("dir-fsync", errno.EIO, mode)
    )
    path = case_file(home)
    warning = f"! {path} was saved, but its folder could not be synced to disk: Input/output error"
    assert "Traceback" not in result.output
    assert json.loads(path.read_bytes())["revision"] >= 1  # the case is on disk either way
    assert result.exit_code == 0, result.output
    assert [line for line in result.output.splitlines() if "synced" in line] == (
        [warning] * result.fired
    )
    final = json.loads(path.read_bytes())
    assert final["customer"]["name"] == "Dana Reyes" and len(final["steps"]) == len(STEPS)
    assert cases_folder(home) == ["1.json"]


@pytest.mark.parametrize("mode", ["once", "always"])
def test_a_new_case_whose_temp_file_cannot_be_removed_is_not_reported_as_unsaved(
    run: Run, home: Path, sample: Path, mode: str
) -> None:
    """The link put the case file in place, then removing the temp file failed (a file
    system that turned read-only, say). Saying "cannot save 1.json ... Nothing already
    saved was changed" is then untrue: case 1 exists. Either the walk goes on, or the
    user is told the case exists."""
    result = invoke(
        run, "new", "-p", "sample", answers=WALK, fault=Fault("unlink", errno.EROFS, mode)
    )
    path = case_file(home)
    assert "Traceback" not in result.output
    if result.exit_code != 0:
        assert not path.exists() or "Case 1" in result.output, (
            f"case 1 is on disk, but the user was told: {result.stderr!r}"
        )
    else:
        assert len(steps_of(path)) == len(STEPS)
    if mode == "always" and path.exists():
        leftovers = [n for n in cases_folder(home) if n.endswith(".tmp")]
        assert len(leftovers) <= 1  # a second name of the same file: doctor removes it


# -- resuming on a failing disk ------------------------------------------------------------
@pytest.fixture
def paused(run: Run, home: Path, sample: Path) -> bytes:
    """Case 1, paused after two steps; returns its file."""
    result = invoke(run, "new", "-p", "sample", answers=[*DETAILS, *STEPS[:2], ":pause"])
    assert result.exit_code == 0, result.output
    return case_file(home).read_bytes()


@pytest.mark.parametrize(
    ("point", "err"),
    [("mkstemp", errno.EROFS), ("write", errno.ENOSPC), ("replace", errno.EIO)],
    ids=fault_id,
)
def test_resume_on_a_failing_disk_changes_nothing(
    run: Run, home: Path, paused: bytes, point: str, err: int
) -> None:
    path = case_file(home)
    result = invoke(run, "resume", answers=STEPS[2:], fault=Fault(point, err, "always"))
    verb = "write" if point == "mkstemp" else "save"
    assert_one_clear_error(result, f"Error: cannot {verb} {path}: {os.strerror(err)}")
    assert result.prompts == [] and path.read_bytes() == paused
    assert cases_folder(home) == ["1.json"]
    resume_after_the_fault(run, home, steps_of(path))


def test_resume_whose_first_save_cannot_be_synced_warns_and_goes_on(
    run: Run, home: Path, paused: bytes
) -> None:
    """Resuming saves the case at once (a 'resumed' event). When only the folder sync of
    that save fails, the file is in place: as in the walk, a warning, and the call goes on."""
    path = case_file(home)
    result = invoke(
        run, "resume", "1", answers=[*STEPS[2:], *END], fault=Fault("dir-fsync", errno.EIO)
    )
    assert "Traceback" not in result.output
    assert json.loads(path.read_bytes())["log"][-1]["event"] in ("resumed", "walk completed")
    assert result.exit_code == 0, result.output
    assert f"! {path} was saved, but its folder could not be synced" in result.stderr
    assert len(steps_of(path)) == len(STEPS)


# -- the outcome at the end of a walk, and a case created from an answers file ------------
OUTCOME = ["y", "1", "4", "The order email bounced", "email", "Check addresses at checkout"]


@pytest.mark.parametrize(
    ("point", "err"), [("write", errno.ENOSPC), ("dir-fsync", errno.EIO)], ids=fault_id
)
def test_the_outcome_recorded_at_the_end_of_a_walk_on_a_failing_disk(
    run: Run, home: Path, sample: Path, point: str, err: int
) -> None:
    """The walk is saved; the outcome typed after it is the save that fails. Before the
    move: one clear error, the walk as it was, and `recover close` records it later.
    After the move (the folder sync): the outcome is on disk, and, as in the walk, the
    user is warned and nothing stops with an error."""
    answers = [*DETAILS, *STEPS, *OUTCOME]
    fault = Fault(point, err)
    result = invoke(run, "new", "-p", "sample", answers=answers, fault=fault, at=len(answers) - 1)
    path = case_file(home)
    assert result.fired == 1 and cases_folder(home) == ["1.json"]
    case = json.loads(path.read_bytes())
    assert case["walk_completed_at"] is not None and len(case["steps"]) == len(STEPS)
    if point == "write":
        assert_one_clear_error(result, f"Error: cannot save {path}: No space left on device")
        assert result.snapshot is not None and path.read_bytes() == result.snapshot
        assert case["outcome"] is None
        closed = invoke(run, "close", "1", "--outcome", "kept", "--no-input", answers=[])
        assert closed.exit_code == 0, closed.output
        assert json.loads(path.read_bytes())["outcome"]["result"] == "kept"
    else:
        assert case["outcome"]["root_cause"] == "The order email bounced"
        assert "Traceback" not in result.output
        assert result.exit_code == 0, result.output
        assert f"! {path} was saved, but its folder could not be synced" in result.stderr


@pytest.mark.parametrize(
    ("point", "err"), [("write", errno.ENOSPC), ("dir-fsync", errno.EIO)], ids=fault_id
)
def test_a_case_from_an_answers_file_is_written_whole_or_not_at_all(
    run: Run, home: Path, sample: Path, tmp_path: Path, point: str, err: int
) -> None:
    """`recover new --answers FILE --no-input` "creates the whole case and prints its id".
    The case is written once, answers and all; here that write fails (before the move:
    the disk filled up; after it: the folder sync). A script that gets no id retries and
    makes another case, so a case on disk must be the whole case, with its id printed;
    otherwise there must be none."""
    answers = tmp_path / "quick.toml"
    answers.write_text(
        'playbook = "sample"\n[customer]\nname = "Dana Reyes"\n[answers]\n'
        'complaint = "Link never came"\narrived = true\nremedy = ["credit"]\n',
        encoding="utf-8",
    )
    fault = Fault(point, err)
    result = invoke(run, "new", "--answers", str(answers), "--no-input", answers=[], fault=fault)
    path = case_file(home)
    assert result.fired == 1 and "Traceback" not in result.output
    assert [n for n in cases_folder(home) if n.endswith(".tmp")] == []
    if point == "write":
        assert_one_clear_error(result, f"Error: cannot save {path}: No space left on device")
    if path.exists():
        left = steps_of(path)
        assert left and left[0]["answer"] == "Link never came", (
            "case 1 was left on disk without its answers"
        )
        assert result.stdout == "1\n", (
            f"case 1 is on disk, whole, but the script got exit {result.exit_code} and no id"
        )
    else:
        assert result.stdout == ""
        retried = invoke(run, "new", "--answers", str(answers), "--no-input", answers=[])
        assert retried.exit_code == 0 and retried.stdout == "1\n", retried.output


# -- the real thing: a full disk and a read-only file system -------------------------------
CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_REMOUNT, MS_REC, MS_PRIVATE = 1, 32, 1 << 14, 1 << 18


def mount(libc: Any, target: Path, flags: int, options: str) -> None:
    if libc.mount(b"tmpfs", os.fsencode(target), b"tmpfs", flags, options.encode()) != 0:
        raise OSError(ctypes.get_errno(), f"mount {target}: {os.strerror(ctypes.get_errno())}")


def private_tmpfs(home: Path) -> Any:
    """In this (child) process only: a small tmpfs over ``home``, in a mount namespace
    of its own, gone when the process ends. Raises OSError where that is not allowed."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare")
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "make / private")
    mount(libc, home, 0, "size=4m,mode=0700")
    return libc


def on_private_tmpfs(home: Path, work: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """Run ``work(libc)`` in a child whose home is a private tmpfs holding the sample
    playbook; skip where mount namespaces are not allowed."""

    def child() -> dict[str, Any]:
        try:
            libc = private_tmpfs(home)
        except OSError as exc:
            return {"unsupported": str(exc)}
        (home / "playbooks").mkdir(mode=0o700)
        (home / "playbooks" / "sample.toml").write_text(SAMPLE, encoding="utf-8")
        return work(libc)

    home.mkdir(exist_ok=True)
    report = in_child(child)
    if "unsupported" in report:
        pytest.skip(f"no private mount namespace here: {report['unsupported']}")
    return report


def fault_mid_walk(
    run: Run, home: Path, fault: Callable[[], None], clear: Callable[[], None]
) -> dict[str, Any]:
    """(In a child.) Walk; ``fault`` just before the remedies are picked; then ``clear``
    it and resume. Reports all it saw."""
    seen: dict[str, Any] = {}

    def strike() -> None:
        seen["before"] = case_file(home).read_bytes().hex()
        fault()

    walked = run_command(run, ["new", "-p", "sample"], Operator(WALK, at=REMEDY, then=strike))
    seen["after"] = case_file(home).read_bytes().hex()
    seen["folder"] = cases_folder(home)
    clear()
    kept = steps_of(case_file(home))
    resumed = run_command(run, ["resume", "1"], Operator([*STEPS[len(kept) :], *END]))
    seen["final"] = case_file(home).read_bytes().hex()
    seen["final_folder"] = cases_folder(home)
    return {"walked": walked, "resumed": resumed, **seen}


def as_result(payload: dict[str, Any]) -> Result:
    return Result(**{k: v for k, v in payload.items() if k != "snapshot"})


def check_fault_mid_walk(report: dict[str, Any], first_line: str) -> None:
    assert_one_clear_error(as_result(report["walked"]), first_line)
    assert report["after"] == report["before"], "the case file changed"
    assert report["folder"] == ["1.json"], "a temp file was left behind"
    assert report["resumed"]["exit_code"] == 0, report["resumed"]
    final = json.loads(bytes.fromhex(report["final"]))
    before = json.loads(bytes.fromhex(report["before"]))
    assert final["steps"][:3] == before["steps"] and len(final["steps"]) == len(STEPS)
    assert final["customer"] == before["customer"] and final["walk_completed_at"]
    assert report["final_folder"] == ["1.json"]


def test_a_disk_that_really_fills_up_during_the_call(run: Run, home: Path) -> None:
    def fill() -> None:
        with open(home / "filler", "wb", buffering=0) as filler:
            try:
                while filler.write(b"\0" * 65536):
                    pass
            except OSError as full:
                if full.errno != errno.ENOSPC:
                    raise

    def free() -> None:
        (home / "filler").unlink()

    report = on_private_tmpfs(home, lambda libc: fault_mid_walk(run, home, fill, free))
    check_fault_mid_walk(report, f"Error: cannot save {case_file(home)}: No space left on device")


def test_a_file_system_that_really_is_read_only_between_two_sessions(run: Run, home: Path) -> None:
    """A file system turns read-only only while no file on it is open for writing, and a
    walk holds its case's lock open: so here it turns read-only between a pause and the
    resume (read-only mid-walk is simulated above, with EROFS)."""

    def work(libc: Any) -> dict[str, Any]:
        paused = run_command(
            run, ["new", "-p", "sample"], Operator([*DETAILS, *STEPS[:3], ":pause"])
        )
        before = case_file(home).read_bytes().hex()
        mount(libc, home, MS_REMOUNT | MS_RDONLY, "size=4m")
        resumed = run_command(run, ["resume", "1"], Operator([*STEPS[3:], *END]))
        created = run_command(run, ["new", "-p", "sample"], Operator(WALK))
        listed = run_command(run, ["list", "--json", "--all"], Operator([]))
        after, folder = case_file(home).read_bytes().hex(), cases_folder(home)
        mount(libc, home, MS_REMOUNT, "size=4m")
        again = run_command(run, ["resume", "1"], Operator([*STEPS[3:], *END]))
        final = case_file(home).read_bytes().hex()
        return {
            "paused": paused,
            "resumed": resumed,
            "created": created,
            "listed": listed,
            "again": again,
            "before": before,
            "after": after,
            "folder": folder,
            "final": final,
        }

    report = on_private_tmpfs(home, work)
    assert report["paused"]["exit_code"] == 0
    # The locks are this machine's, outside the home: the first write that fails is the
    # case file's own.
    assert_one_clear_error(
        as_result(report["resumed"]),
        f"Error: cannot write {case_file(home)}: Read-only file system",
    )
    assert_one_clear_error(
        as_result(report["created"]),
        f"Error: cannot write {home / 'cases' / '2.json'}: Read-only file system",
    )
    assert report["resumed"]["prompts"] == [] and report["created"]["prompts"] == ["Name: "]
    listed = report["listed"]
    assert listed["exit_code"] == 0 and [c["id"] for c in json.loads(listed["stdout"])] == ["1"]
    assert report["after"] == report["before"] and report["folder"] == ["1.json"]
    assert report["again"]["exit_code"] == 0, report["again"]
    final, before = (json.loads(bytes.fromhex(report[k])) for k in ("final", "before"))
    assert final["steps"][:3] == before["steps"] and len(final["steps"]) == len(STEPS)


def test_a_cases_folder_made_read_only_with_chmod(
    run: Run, home: Path, sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """chmod 0500 on the cases folder mid-walk. Root ignores permission bits, so as root
    the command runs as the user 'nobody', in a home that user owns."""
    base = Path(tempfile.mkdtemp(prefix="recover-ro-"))
    try:
        # Everything a walk imports, imported in this process now (a walk here, in the
        # fixture's home): 'nobody' may not be allowed to read the libraries.
        assert run("new", "-p", "sample", answers=WALK).exit_code == 0
        own = base / "home"
        monkeypatch.setenv("RECOVER_HOME", str(own))
        # This machine's folders, for that user too.
        monkeypatch.setenv("RECOVER_CACHE_DIR", str(base / "cache"))
        monkeypatch.setenv("RECOVER_STATE_DIR", str(base / "state"))
        if os.geteuid() == 0:
            try:
                nobody = pwd.getpwnam("nobody")
            except KeyError:
                pytest.skip("running as root, and there is no user 'nobody' to run as")
            os.chown(base, nobody.pw_uid, nobody.pw_gid)

        def work() -> dict[str, Any]:
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
            (own / "playbooks").mkdir(mode=0o700, parents=True)
            (own / "playbooks" / "sample.toml").write_text(SAMPLE, encoding="utf-8")
            return fault_mid_walk(
                run,
                own,
                lambda: (own / "cases").chmod(0o500),
                lambda: (own / "cases").chmod(0o700),
            )

        report = in_child(work)
        check_fault_mid_walk(report, f"Error: cannot write {case_file(own)}: Permission denied")
    finally:
        shutil.rmtree(base, ignore_errors=True)


# -- leftovers of a crash ------------------------------------------------------------------
def test_leftover_temp_files_are_never_read_as_cases(run: Run, home: Path, sample: Path) -> None:
    """Temp files as a crash leaves them, holding whole valid cases (a creation and a
    save cut short after the fsync, before the move) and half of one: no command ever
    reads them as cases, and a new case never takes one's place."""
    assert invoke(run, "new", "-p", "sample", answers=WALK).exit_code == 0
    paused_walk = [*DETAILS, STEPS[0], ":pause"]
    assert invoke(run, "new", "-p", "sample", answers=paused_walk).exit_code == 0
    cases = home / "cases"
    one = json.loads(case_file(home).read_bytes())
    ghost_new = {**one, "id": "3", "customer": {**one["customer"], "name": "Ghost Three"}}
    ghost_save = {**one, "revision": one["revision"] + 1, "customer": {"name": "Ghost One"}}
    leftovers = {
        ".3.json.k1f9x2.tmp": json.dumps(ghost_new, indent=2).encode(),
        ".1.json.m2d8q7.tmp": json.dumps(ghost_save, indent=2).encode(),
        ".2.json.z0p4r1.tmp": case_file(home, "2").read_bytes()[:200],
    }
    for name, data in leftovers.items():
        (cases / name).write_bytes(data)
        (cases / name).chmod(0o600)
    files = {n: (cases / n).read_bytes() for n in ("1.json", "2.json")}

    for args in (
        ["list", "--all"],
        ["list", "--json", "--all"],
        ["export", "-f", "jsonl"],
        ["export", "-f", "json"],
        ["export", "-f", "csv"],
        ["stats", "--json"],
        ["followups", "--all", "--json"],
        ["show", "1", "--json"],
    ):
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
        assert "Ghost" not in result.output and not result.stderr, (args, result.output)
    assert "No cases match 'Ghost'." in run("customer", "Ghost").stdout
    assert [c["id"] for c in json.loads(run("list", "--json", "--all").stdout)] == ["2", "1"]
    assert json.loads(run("stats", "--json").stdout)["cases"] == 2
    assert {f["case_id"] for f in json.loads(run("followups", "--all", "--json").stdout)} == {"1"}
    missing = run("show", "3")
    assert missing.exit_code == 4 and "no case 3" in missing.stderr
    resumed = invoke(run, "resume", answers=[":pause"])  # the latest unfinished is case 2
    assert resumed.exit_code == 0 and "Resuming case 2" in resumed.stdout
    fresh = invoke(run, "new", "-p", "sample", "--name", "Real Three", answers=[":pause"])
    assert fresh.exit_code == 0 and "Paused. Case 3 is saved." in fresh.stderr
    assert json.loads(case_file(home, "3").read_bytes())["customer"]["name"] == "Real Three"
    for name, data in leftovers.items():
        assert (cases / name).read_bytes() == data  # nothing but doctor touches them
    assert case_file(home).read_bytes() == files["1.json"]
    # No walk holds cases 1, 2 or 3 now: doctor --fix removes every leftover, and only them.
    files = {n: (cases / n).read_bytes() for n in ("1.json", "2.json", "3.json")}
    report = json.loads(run("doctor", "--fix", "--json").stdout)
    assert sorted(report["fixed"]) == sorted(f"removed {cases / name}" for name in leftovers)
    assert report["findings"] == [] and not [n for n in os.listdir(cases) if n.endswith(".tmp")]
    assert {n: (cases / n).read_bytes() for n in files} == files


def test_doctor_fix_during_a_live_walk_never_breaks_its_saves(
    run: Run, home: Path, sample: Path
) -> None:
    """`recover doctor --fix` run again and again while a walk saves, answer after answer,
    in another process: the walk's temp files are never taken from under it."""
    churn = [*DETAILS]
    for turn in range(150):  # back and forth over the first steps: a save each time
        churn += [f"answer {turn}", ":back"]
    churn += [*STEPS, *END]
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns
        os.close(read_fd)
        payload: dict[str, Any]
        try:
            walked = run_command(run, ["new", "-p", "sample"], Operator(churn))
            payload = {"exit_code": walked["exit_code"], "stderr": walked["stderr"]}
        except BaseException:
            payload = {"child_error": traceback.format_exc()}
        with os.fdopen(write_fd, "w") as pipe:
            json.dump(payload, pipe)
        os._exit(0)
    os.close(write_fd)
    doctor_runs = 0
    try:
        while not os.waitpid(pid, os.WNOHANG)[0]:
            fixed = run("doctor", "--fix", "--json")
            doctor_runs += 1
            removed = [f for f in json.loads(fixed.stdout)["fixed"] if ".1.json." in f]
            assert removed == [], removed
            time.sleep(0.001)
    finally:
        with os.fdopen(read_fd) as pipe:
            walked = json.loads(pipe.read())
    assert "child_error" not in walked, walked["child_error"]
    assert walked["exit_code"] == 0, walked["stderr"]
    assert doctor_runs >= 1
    final = json.loads(case_file(home).read_bytes())
    assert final["steps"][0]["answer"] == "Link never came" and final["walk_completed_at"]
    assert cases_folder(home) == ["1.json"]


@pytest.fixture(autouse=True, scope="module")
def count_faults() -> Iterator[None]:
    yield
    print(f"\nfaults injected in {__name__}: {sum(FAULTS_INJECTED)}")
