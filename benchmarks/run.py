"""Measure recover against the budgets in DESIGN.md and write benchmarks/RESULTS.md.

    python benchmarks/run.py                 # everything, written to RESULTS.md
    python benchmarks/run.py --sizes 1000    # a quick look at scale
    python benchmarks/run.py --only startup  # some parts (comma-separated): startup,
                                             # typer, new, step, peer, scale, orders;
                                             # printed only
    python benchmarks/run.py --only peer --write  # ...and put into RESULTS.md

Every figure is a whole process (or, for walk steps, the real engine + store + screen
path) timed over several runs: the median, with min and max. Peak memory is each
process's own maximum resident set size (``wait4``). Beside every figure stands the
machine's baseline measured in the same session, interleaved with it where it is a
process of its own (``python -c "import typer"`` for start-up and ``recover new``;
Taskwarrior's own commands for the peer rows; reading every case file raw for the scale
runs), so figures from different machines can be compared by their ratios. Nothing here
asserts a time: it prints figures and marks each budget met or **not met**. Generated
stores (and Taskwarrior's data) are kept in ``--stores`` (default: a folder in the
system's temp directory) and reused.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

BUDGET_STEP_MS = 30.0
BUDGET_NEW_RATIO = 2.0  # `recover new` to its first prompt, to `import typer`
BUDGET_NEW_STEP1_MS = 50.0  # the last customer detail's Enter to step 1 on screen
HUMAN_PAUSE = 1.0  # seconds the seller spends on the menu before picking
TYPERS = ["0.28.0", "0.29.2"]  # the releases the typer part compares (each in a venv)
SMALL_STORE = 10  # cases in the store the start-up rows run on
COLS_ROWS = "100 x 40"
# The budgeted commands on the small store, and their budgets (ratio to `import typer`).
STARTUP_COMMANDS: list[tuple[tuple[str, ...], float]] = [
    (("--version",), 1.3),
    (("--help",), 2.2),
    (("list",), 1.5),
    (("show", "{id}"), 1.5),
    (("followups",), 1.5),
    (("customer", "{name}"), 1.5),
    (("prevent",), 1.5),
    (("config",), 1.5),
    (("playbook", "list"), 1.5),
    (("stats",), 1.5),
]


@dataclass
class Timing:
    """Wall times (seconds) and peak memory (bytes) of repeated runs."""

    times: list[float]
    peak_rss: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def ms(self) -> str:
        low, high = min(self.times) * 1000, max(self.times) * 1000
        return f"{self.median * 1000:.0f} ms (min {low:.0f}, max {high:.0f})"

    def mb(self) -> str:
        return f"{self.peak_rss / 2**20:.0f} MB"


# Peak memory is read by a small launcher: a child's maxrss counts the memory of the
# process it was forked from, so this (large) benchmark process must not be the parent.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def run_process(argv: Sequence[str], env: dict[str, str], runs: int, warmup: int = 1) -> Timing:
    """Run ``argv`` ``runs`` times (after ``warmup`` untimed runs), output discarded;
    then once more through the launcher for its peak memory."""
    times: list[float] = []
    for index in range(warmup + runs):
        began = time.perf_counter()
        done = subprocess.run(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, check=False,
        )  # fmt: skip
        elapsed = time.perf_counter() - began
        if done.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(argv)} exited {done.returncode}")
        if index >= warmup:
            times.append(elapsed)
    measured = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, *argv], env=env, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    peak_kb = int(measured.stdout.split()[0])  # kilobytes on Linux
    return Timing(times, peak_kb * 1024)


def recover_argv(*args: str) -> list[str]:
    found = shutil.which("recover")
    if found is None:
        raise SystemExit("`recover` is not on PATH: install the project first (pip install -e .)")
    return [found, *args]


def compile_bytecode() -> None:
    """Compile the package's modules before anything is timed, as `pip install` does.
    An editable install (or PYTHONDONTWRITEBYTECODE in the environment) would
    otherwise leave every module changed since its last import to be compiled from
    source on each run, and start-up figures would measure the compiler."""
    import compileall

    import recovery_cli

    compileall.compile_dir(Path(recovery_cli.__file__).parent, quiet=1)


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECOVER_")}
    # Children may write bytecode (as an installed package has it): see compile_bytecode.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(RECOVER_HOME=str(home), NO_COLOR="1", COLUMNS="120", TZ="UTC")
    env.pop("TERM", None)
    return env


# -- start-up ----------------------------------------------------------------------------
def peak_memory(argv: Sequence[str], env: dict[str, str]) -> int:
    """The peak resident set size (bytes) of one run of ``argv``, output discarded."""
    measured = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, *argv], env=env, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    return int(measured.stdout.split()[0]) * 1024  # kilobytes on Linux


def tree() -> str:
    """Which recover was measured: the commit, and whether src/ had changes not yet
    committed (an editable install runs the work tree as it is)."""
    git = ["git", "-C", str(HERE.parent)]
    try:
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        )
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "src"], capture_output=True, text=True
        )
    except OSError:
        return "recover (git not found)"
    if head.returncode != 0:
        return "recover from outside a git checkout"
    extra = ", with uncommitted changes in src/" if dirty.stdout.strip() else ""
    return f"recover at {head.stdout.strip()}{extra}"


def typer_version() -> str:
    from importlib.metadata import version

    return version("typer")


def small_store(folder: Path) -> tuple[Path, dict[str, str]]:
    """The small store the start-up rows run on, and what to ask it: the newest case's
    id and its customer's full name."""
    home = store_of(SMALL_STORE, folder)
    newest = max(int(p.stem) for p in (home / "cases").glob("*.json"))
    case = json.loads((home / "cases" / f"{newest}.json").read_text("utf-8"))
    return home, {"id": str(newest), "name": case["customer"]["name"]}


def budget_cell(ratio: float, budget: float | None) -> str:
    if budget is None:
        return ""
    return f"≤ {budget:g}x {'met' if ratio <= budget else '**not met**'}"


def startup(runs: int, warmup: int, folder: Path) -> list[str]:
    """Every budgeted command on a small store, in a terminal (and piped), interleaved
    round by round with the baselines."""
    from ttyrun import run_in_pty, run_piped, terminal_env

    home, values = small_store(folder)
    env = terminal_env(dict(os.environ), home)
    py = sys.executable
    app = [py, str(HERE / "minimal_app.py"), "--name", "Dana", "--count", "2"]
    rows: list[tuple[str, list[str], float | None]] = [
        ("`python -c pass` (baseline)", [py, "-c", "pass"], None),
        ('`python -c "import typer"` (baseline)', [py, "-c", "import typer"], None),
        (f"minimal Typer app (typer {typer_version()})", app, None),
    ]
    for args, budget in STARTUP_COMMANDS:
        filled = [a.format(**values) for a in args]
        rows.append((f"`recover {shlex.join(filled)}`", recover_argv(*filled), budget))
    pty_times: dict[str, list[float]] = {label: [] for label, _, _ in rows}
    pipe_times: dict[str, list[float]] = {label: [] for label, _, _ in rows}
    written: dict[str, int] = {}
    for turn in range(warmup + runs):
        for label, argv, _ in rows:
            for runner, times in ((run_in_pty, pty_times), (run_piped, pipe_times)):
                elapsed, size, status = runner(argv, env)
                if status not in (0, 1):
                    raise SystemExit(f"{' '.join(argv)} exited {status}")
                if turn >= warmup:
                    times[label].append(elapsed)
                if runner is run_in_pty:
                    written[label] = size
    base_pty = statistics.median(pty_times[rows[1][0]])
    base_pipe = statistics.median(pipe_times[rows[1][0]])
    table = [
        f"A store of {SMALL_STORE} cases made by `benchmarks/generate.py`. In a terminal: "
        f"stdin, stdout and stderr on a pseudo-terminal of {COLS_ROWS}, TERM=xterm-256color, "
        "colour on, its output read as it comes (what the seller sees). Piped: stdout and "
        f"stderr on pipes read to the end. {runs} runs of each after {warmup} untimed "
        "rounds, every row once per round, the baselines included.",
        "",
        "| command | in a terminal: median (min, max) | ratio to `import typer` | budget | "
        "piped: median | ratio to `import typer` | written to the terminal | peak memory |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, argv, limit in rows:
        timing = Timing(pty_times[label], peak_memory(argv, env))
        ratio = timing.median / base_pty
        piped = statistics.median(pipe_times[label])
        table.append(
            f"| {label} | {timing.ms()} | {ratio:.2f}x | {budget_cell(ratio, limit)} | "
            f"{piped * 1000:.0f} ms | {piped / base_pipe:.2f}x | {written[label]:,} B | "
            f"{timing.mb()} |"
        )
    return table


# -- recover new, through a terminal ----------------------------------------------------
DETAILS = {  # the customer detail prompts of `recover new`, and what the seller types
    "name": "Wren Castillo",
    "email": "wren.castillo@example.com",
    "order": "A-424242",
    "order value": "29",
    "channel": "phone",
}


def _detail(prompt: str) -> str | None:
    lowered = prompt.lower()
    for label, answer in DETAILS.items():
        if lowered.startswith(label) and (label != "order" or not lowered.startswith("order v")):
            return answer
    return None


def _menu_number(text: str, playbook: str = "General") -> str:
    found = re.search(rf"^\s*(\d+)\s+{playbook}", text, re.MULTILINE)
    return found.group(1) if found else "1"


def new_timings(runs: int, warmup: int, folder: Path) -> list[str]:
    """`recover new` to its first prompt, with and without -p, and from the last
    customer detail to step 1; a fresh copy of the small store for every run."""
    from ttyrun import Session, plain, terminal_env

    source, _ = small_store(folder)
    py = sys.executable
    times: dict[str, list[float]] = {"base": [], "menu": [], "first": [], "step1": []}
    seen: dict[str, str] = {}
    scratch = Path(tempfile.mkdtemp(prefix="recover-bench-new-"))

    def fresh_home() -> dict[str, str]:
        home = scratch / "home"
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(source, home)
        return terminal_env(dict(os.environ), home)

    def baseline() -> float:
        session = Session([py, "-c", "import typer"], terminal_env(dict(os.environ), scratch))
        try:
            return session.wait_end() - session.began
        finally:
            session.close()

    def first_prompt(key: str, *args: str) -> float:
        session = Session(recover_argv("new", *args), fresh_home())
        try:
            drawn = session.wait_prompt(1)
            seen[key] = session.screen_row()
            return drawn - session.began
        finally:
            session.close()

    def to_menu() -> float:
        return first_prompt("menu")

    def to_first() -> float:
        return first_prompt("first", "-p", "general")

    def to_step1() -> float:
        session = Session(recover_argv("new"), fresh_home())
        try:
            number = 1
            session.wait_prompt(number)
            time.sleep(HUMAN_PAUSE)  # the seller reads the menu
            session.send_line(_menu_number(plain(bytes(session.raw))))
            sent: float | None = None
            typed: list[str] = []
            while True:
                number += 1
                drawn = session.wait_prompt(number)
                prompt = session.prompt()
                answer = _detail(prompt)
                if answer is None:
                    if sent is None:
                        raise RuntimeError(f"no customer detail was asked for: {prompt!r}")
                    seen["step1"] = session.screen_row()
                    seen["details"] = " → ".join(typed)
                    return drawn - sent
                if len(typed) > len(DETAILS):
                    raise RuntimeError(f"the details are asked again and again: {prompt!r}")
                typed.append(prompt.rstrip(": ").split(" (")[0])
                sent = session.send_line(answer)
        finally:
            session.close()

    try:
        for turn in range(warmup + runs):
            for key, measure in (
                ("base", baseline), ("menu", to_menu), ("first", to_first), ("step1", to_step1),
            ):  # fmt: skip
                elapsed = measure()
                if turn >= warmup:
                    times[key].append(elapsed)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    def stats(values: list[float]) -> tuple[float, float, float]:
        ordered = sorted(values)
        p95 = ordered[max(0, math.ceil(len(ordered) * 0.95) - 1)]
        return statistics.median(ordered), p95, ordered[-1]

    base, _, _ = stats(times["base"])
    rows = [
        f"Through a pseudo-terminal of {COLS_ROWS} (pexpect, TERM=xterm-256color), each run "
        f"in a fresh copy of the {SMALL_STORE}-case store; {runs} runs of each after {warmup} "
        "untimed rounds, interleaved with the baseline; p95 is the nearest rank (run "
        f"{max(1, math.ceil(runs * 0.95))} of {runs}, fastest first). A prompt is on screen "
        "when readline "
        "has begun the line (it writes `ESC[?2004h`), the prompt is drawn and the program "
        "waits in select() for a key; the row under the cursor, read through pyte, is "
        'quoted. The baseline is `python -c "import typer"` in the same terminal, from '
        "spawn to its end.",
        "",
        "| path | median | p95 | max | ratio to `import typer` | budget |",
        "| --- | --- | --- | --- | --- | --- |",
        f'| `python -c "import typer"` (baseline) | {base * 1000:.0f} ms | '
        f"{stats(times['base'])[1] * 1000:.0f} ms | {stats(times['base'])[2] * 1000:.0f} ms | "
        "1.00x | |",
    ]
    for key, label in (
        ("menu", f"`recover new`: spawn → the playbook menu's prompt `{seen.get('menu', '?')}`"),
        ("first", "`recover new -p general`: spawn → the first customer prompt "
                  f"`{seen.get('first', '?')}`"),
    ):  # fmt: skip
        median, p95, top = stats(times[key])
        ratio = median / base
        rows.append(
            f"| {label} | {median * 1000:.0f} ms | {p95 * 1000:.0f} ms | {top * 1000:.0f} ms | "
            f"{ratio:.2f}x | {budget_cell(ratio, BUDGET_NEW_RATIO)} |"
        )
    median, p95, top = stats(times["step1"])
    rows.append(
        f"| `recover new`, after a {HUMAN_PAUSE:g} s pause at the menu (the seller reads it) "
        f"and the details typed as each prompt shows ({seen.get('details', '?')}): Enter on "
        f"the last detail → step 1's prompt `{seen.get('step1', '?')}` | {median * 1000:.1f} ms "
        f"| {p95 * 1000:.1f} ms | {top * 1000:.1f} ms | | ≤ "
        f"{BUDGET_NEW_STEP1_MS:.0f} ms "
        f"{'met' if median * 1000 <= BUDGET_NEW_STEP1_MS else '**not met**'} |"
    )
    return rows


# -- one walk step -----------------------------------------------------------------------
class _TimingPrompter:
    """Answers every prompt and notes when each was asked: the time from returning
    an answer to the next prompt is one step (submit, durable save, next screen)."""

    def __init__(self, line_for: Callable[[str], str]) -> None:
        self.line_for = line_for
        self.returned_at: float | None = None
        self.steps: list[float] = []

    def ask(self, prompt: str, *, prefill: str = "") -> str:
        now = time.perf_counter()
        if self.returned_at is not None:
            self.steps.append(now - self.returned_at)
        line = self.line_for(prompt)
        self.returned_at = time.perf_counter()
        return line

    @contextlib.contextmanager
    def signals(self) -> Iterator[None]:
        yield


def _answer(prompt: str) -> str:
    if prompt.lower().endswith("(y/n): "):
        return "y"
    if "(1-" in prompt or prompt.startswith("Pick one"):
        return "1"
    if prompt.startswith("Pick"):
        return "1,2"
    if prompt.endswith("(amount): ") or prompt.endswith("(number): "):
        return "12"
    return "They were upset, and said so"


def step_in_process(walks: int) -> tuple[list[float], str]:
    """Steps of real walks of every shipped playbook, timed inside one process."""
    from rich.console import Console

    from recovery_cli import clock
    from recovery_cli.case import Customer, PlaybookRef, new_case
    from recovery_cli.cli.views.screen import WalkScreen
    from recovery_cli.playbooks.catalog import default_dir, load_file
    from recovery_cli.store import Store
    from recovery_cli.walk import Walk
    from recovery_cli.walking import LiveWalk

    home = Path(tempfile.mkdtemp(prefix="recover-bench-step-"))
    store = Store(home)
    playbooks = [load_file(p, origin="default") for p in sorted(default_dir().glob("*.toml"))]
    steps: list[float] = []
    for index in range(walks):
        playbook = playbooks[index % len(playbooks)]
        ref = PlaybookRef(id=playbook.id, title=playbook.title, hash=playbook.digest)
        customer = Customer(name="Dana Reyes", email="dana@example.com", order="A-1")

        def build(case_id: str, ref: PlaybookRef = ref, customer: Customer = customer):  # type: ignore[no-untyped-def]
            return new_case(
                case_id, customer=customer, playbook=ref, currency="USD", now=clock.now()
            )

        case = store.create(build)
        console = Console(file=io.StringIO(), width=100, color_system=None)
        prompter = _TimingPrompter(_answer)
        live = LiveWalk(store, Walk(playbook, case, {"seller": "Sam"}))
        with store.session(case.id):
            WalkScreen(console, prompter).run(live)
        steps += prompter.steps
    shutil.rmtree(home, ignore_errors=True)
    return steps, f"{walks} walks of the {len(playbooks)} shipped playbooks"


def step_pty(walks: int) -> list[float]:
    """Steps through a real terminal: from Enter to the next prompt on screen."""
    import pexpect

    times: list[float] = []
    for _ in range(walks):
        home = Path(tempfile.mkdtemp(prefix="recover-bench-pty-"))
        env = clean_env(home)
        env["TERM"] = "xterm"
        child = pexpect.spawn(
            recover_argv()[0], ["new", "-p", "general", "--name", "Dana Reyes", "--email",
            "dana@example.com", "--order", "A-1", "--value", "29", "--channel", "phone"],
            env=env, encoding="utf-8", timeout=30, dimensions=(40, 120),
        )  # fmt: skip
        child.delaybeforesend = None  # pexpect would wait 50 ms before every line
        prompt = r"[^\r\n]*: (\x1b\[0m)?$"
        child.expect(prompt)
        in_walk = False
        while True:
            text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", child.after).strip()
            if text.startswith("Record the outcome now"):
                child.sendline("n")
                break
            began = time.perf_counter()
            child.sendline(_answer(text + " "))
            if child.expect([prompt, pexpect.EOF]) == 1:
                break
            if in_walk:
                times.append(time.perf_counter() - began)
            in_walk = True
        child.expect(pexpect.EOF)
        child.close()
        shutil.rmtree(home, ignore_errors=True)
    return times


def step(walks: int) -> list[str]:
    inproc, what = step_in_process(walks)
    rows = [
        "| path | steps | median | p95 | max | budget |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for label, times in (
        (f"in process: engine + durable save + next screen ({what})", inproc),
        ("end to end through a pty: Enter to the next prompt (general playbook)", step_pty(3)),
    ):
        ordered = sorted(times)
        p95 = ordered[int(len(ordered) * 0.95) - 1]
        median = statistics.median(ordered) * 1000
        rows.append(
            f"| {label} | {len(times)} | {median:.1f} ms | {p95 * 1000:.1f} ms | "
            f"{ordered[-1] * 1000:.1f} ms | ≤ {BUDGET_STEP_MS:.0f} ms "
            f"{'met' if median <= BUDGET_STEP_MS else '**not met**'} |"
        )
    return rows


# -- against Taskwarrior ---------------------------------------------------------------
PEER_SIZE = 10_000
# (what, recover's arguments, Taskwarrior's arguments, budget: recover / task at most)
PEER_PAIRS: list[tuple[str, tuple[str, ...], tuple[str, ...], float]] = [
    ("the newest 50", ("list", "--limit", "50"), ("limit:50", "list"), 0.6),
    ("export every case as JSON", ("export", "-f", "json"), ("export",), 1.0),
]


def peer_section(runs: int, warmup: int, folder: Path) -> list[str]:
    """recover against Taskwarrior on 10,000 cases and 10,000 tasks shaped like them,
    pair by pair in the same run: recover, task, recover, task..."""
    from peer import ensure_task, prepare
    from ttyrun import run_piped

    task, how = ensure_task()
    if task is None:
        line = f"Taskwarrior could not be installed ({how}): the peer rows are skipped."
        print(line, flush=True)
        return [line]
    home = store_of(PEER_SIZE, folder)
    try:
        peers = {
            "pending": prepare(task, home, folder / f"taskwarrior-{PEER_SIZE}-pending", False),
            "completed": prepare(task, home, folder / f"taskwarrior-{PEER_SIZE}-completed", True),
        }
    except (OSError, RuntimeError, subprocess.CalledProcessError) as error:
        line = (
            f"Taskwarrior ({how}) could not be loaded with the tasks ({error}): "
            "the peer rows are skipped."
        )
        print(line, flush=True)
        return [line]
    recover_env = clean_env(home)
    results = []
    for what, ours, theirs, budget in PEER_PAIRS:
        sides = {
            "recover": (recover_argv(*ours), recover_env),
            "pending": (peers["pending"].argv(*theirs), peers["pending"].env(clean_env(home))),
            "completed": (
                peers["completed"].argv(*theirs), peers["completed"].env(clean_env(home))
            ),
            "completed gc=off": (
                peers["completed"].argv(*theirs, gc=False),
                peers["completed"].env(clean_env(home)),
            ),
        }  # fmt: skip
        times: dict[str, list[float]] = {side: [] for side in sides}
        sizes: dict[str, int] = {}
        for turn in range(warmup + runs):
            for side, (argv, env) in sides.items():
                elapsed, size, status = run_piped(argv, env)
                if status not in (0, 1) or size == 0:
                    raise SystemExit(f"{' '.join(argv)} exited {status} with {size} bytes out")
                sizes[side] = size
                if turn >= warmup:
                    times[side].append(elapsed)
        memory = {side: peak_memory(argv, env) for side, (argv, env) in sides.items()}
        results.append((what, ours, theirs, budget, times, sizes, memory))
    first = peers["pending"]
    rc = [line for line in first.rc.read_text().splitlines() if not line.startswith("data.")]
    rows = [
        f"{PEER_SIZE:,} cases made by `benchmarks/generate.py`; Taskwarrior {first.version} "
        f"({how}) holding {PEER_SIZE:,} tasks shaped like them (`benchmarks/peer.py`), "
        "loaded once with `task import`, in two shapes: every case a pending task with its "
        f"status in its tags ({peers['pending'].import_seconds:.1f} s to import), and each "
        f"closed case a completed task ({peers['completed'].pending:,} pending, "
        f"{peers['completed'].completed:,} completed; "
        f"{peers['completed'].import_seconds:.1f} s to import). A private TASKRC: "
        f"`{' '.join(rc)}`. Stdout and stderr of both on pipes read to the end; recover "
        "with COLUMNS=120, Taskwarrior with defaultwidth=120. In each of the "
        f"{runs} rounds (after {warmup} untimed) recover runs, then each Taskwarrior.",
        "",
        f"| at {PEER_SIZE:,} | recover: median (min, max) | Taskwarrior: median (min, max) | "
        "ratio recover / task | budget | stdout (recover, task) | peak memory (recover, task) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    notes = []
    for what, ours, theirs, budget, times, sizes, memory in results:
        mine = Timing(times["recover"])
        for side, shape in (
            ("pending", "every task pending"), ("completed", "closed cases completed"),
        ):  # fmt: skip
            peer_t = Timing(times[side])
            ratio = mine.median / peer_t.median
            rows.append(
                f"| {what}: `recover {' '.join(ours)}` vs `task {' '.join(theirs)}`, {shape} | "
                f"{mine.ms()} | {peer_t.ms()} | {ratio:.2f}x | ≤ {budget:g}x "
                f"{'met' if ratio <= budget else '**not met**'} | {sizes['recover']:,} B, "
                f"{sizes[side]:,} B | {memory['recover'] / 2**20:.0f} MB, "
                f"{memory[side] / 2**20:.0f} MB |"
            )
        off, on = Timing(times["completed gc=off"]), Timing(times["completed"])
        notes.append(
            f"`task rc.gc=off {' '.join(theirs)}` {off.ms()}, {off.median / on.median:.2f}x "
            f"of gc=on, {memory['completed gc=off'] / 2**20:.0f} MB"
        )
    rows += [
        "",
        "Taskwarrior with gc off (closed cases completed), in the same rounds: "
        + "; ".join(notes) + ".",
    ]  # fmt: skip
    return rows


# -- scale -------------------------------------------------------------------------------
def store_of(size: int, folder: Path) -> Path:
    from generate import generate

    home = folder / f"store-{size}"
    marker = home / ".generated"
    if not marker.exists():
        shutil.rmtree(home, ignore_errors=True)
        began = time.perf_counter()
        generate(size, home)
        marker.write_text(datetime.now(UTC).isoformat())
        print(f"  generated {size} cases in {time.perf_counter() - began:.0f} s", flush=True)
    return home


def read_raw(home: Path) -> Timing:
    """Baseline: read every case file's bytes, no parsing (what any tool must pay)."""
    times = []
    for _ in range(3):
        began = time.perf_counter()
        with os.scandir(home / "cases") as entries:
            for entry in entries:
                if entry.name.endswith(".json"):
                    with open(entry.path, "rb") as handle:
                        handle.read()
        times.append(time.perf_counter() - began)
    return Timing(times)


SCALE_COMMANDS: list[tuple[str, tuple[str, ...], float]] = [
    ("list (newest 20)", ("list",), 0.3),
    ("list --status open", ("list", "--status", "open"), 0.5),
    ("list --status closed --limit 50", ("list", "--status", "closed", "--limit", "50"), 0.5),
    ("show", ("show", "{middle}"), 0.5),
    ("customer (email)", ("customer", "{email}"), 0.5),
    ("customer (full name)", ("customer", "{name}"), 0.5),
    ("followups", ("followups",), 0.5),
    ("export -f csv", ("export", "-f", "csv"), 3.0),
    ("export -f json", ("export", "-f", "json"), 3.0),
    ("export -f jsonl", ("export", "-f", "jsonl"), 3.0),
    ("export --since (30 days) -f jsonl", ("export", "--since", "{month_ago}", "-f", "jsonl"), 3.0),
    ("stats", ("stats",), 3.0),
    ("stats --json", ("stats", "--json"), 3.0),
]


def scale(sizes: Sequence[int], folder: Path, runs: int) -> list[str]:
    from datetime import timedelta

    month_ago = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    header = "| command | " + " | ".join(f"{s:,} cases" for s in sizes) + " | budget at 100,000 |"
    rows = [header, "|" + " --- |" * (len(sizes) + 2)]
    results: dict[str, list[str]] = {}
    baselines: list[str] = []
    for size in sizes:
        print(f"scale: {size} cases", flush=True)
        home = store_of(size, folder)
        env = clean_env(home)
        raw = read_raw(home)
        baselines.append(f"{raw.median * 1000:.0f} ms")
        # The customer of the middle case: a name and email as a seller would type them.
        someone = json.loads((home / "cases" / f"{size // 2}.json").read_text("utf-8"))
        values = {
            "middle": size // 2,
            "month_ago": month_ago,
            "email": someone["customer"]["email"],
            "name": someone["customer"]["name"],
        }
        for label, args, budget in SCALE_COMMANDS:
            argv = recover_argv(*(a.format(**values) for a in args))
            timing = run_process(argv, env, runs)
            over_time = size >= 100_000 and timing.median > budget
            over_memory = timing.peak_rss > 100 * 2**20
            cell = f"{timing.median * 1000:.0f} ms · {timing.mb()}"
            if over_time or over_memory:
                cell = f"**{cell}**"
            results.setdefault(label, []).append(cell)
            print(f"  {label}: {cell}", flush=True)
    rows.append(
        "| baseline: read every case file raw (no parsing) | " + " | ".join(baselines) + " | |"
    )
    for label, _, budget in SCALE_COMMANDS:
        unit = f"≤ {budget * 1000:.0f} ms" if budget < 1 else f"≤ {budget:.0f} s"
        rows.append(f"| `{label}` | " + " | ".join(results[label]) + f" | {unit}, ≤ 100 MB |")
    return rows


SECTIONS = ["startup", "typer", "new", "step", "peer", "scale", "orders"]
TITLES = {
    "startup": "## Start-up",
    "typer": "## A minimal Typer app, by typer release",
    "new": "## `recover new` through a terminal",
    "step": "## One walk step (answer → durable save → next step shown)",
    "peer": "## Against Taskwarrior",
    "scale": "## Scale (median wall time · peak memory of the process)",
    "orders": "## Orders (import, look-up, `recover new` with an order book)",
}


def write_results(out: Path, head: list[str], made: dict[str, list[str]], whole: bool) -> str:
    """RESULTS.md from the sections measured now. A whole run writes every section; a
    partial one (``--only ... --write``) replaces the sections it measured and keeps the
    others as they were. Either way the notes written by hand below the tables (from
    "## Notes" on) are kept as they are."""
    old = out.read_text(encoding="utf-8") if out.exists() else ""
    kept = old[old.index("\n## Notes") :] if "\n## Notes" in old else ""
    tables = old[: len(old) - len(kept)]
    before: dict[str, str] = {}  # title line -> the section's text, as it was
    for chunk in re.split(r"\n(?=## )", tables)[1:]:
        before[chunk.split("\n", 1)[0].strip()] = chunk.rstrip("\n")
    if whole or not before:
        parts = ["\n".join(head)]
    else:  # the header of the whole run stays; each section re-measured says when
        parts = [re.split(r"\n(?=## )", tables)[0].rstrip("\n")]
    for name in SECTIONS:
        if name in made:
            lines = [TITLES[name], ""]
            if not whole:
                lines += [f"_{head[-1].split(' on ')[0]}._", ""]
            parts.append("\n".join([*lines, *made[name]]))
        elif not whole and TITLES[name] in before:
            parts.append(before[TITLES[name]])
    text = "\n\n".join(parts) + "\n"
    out.write_text(text + kept, encoding="utf-8")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument(
        "--only", help=f"comma-separated parts to run: {', '.join(SECTIONS)} (default: all)"
    )
    parser.add_argument(
        "--write", action="store_true",
        help="with --only: put the parts measured into RESULTS.md, keeping the others",
    )  # fmt: skip
    parser.add_argument("--runs", type=int, default=21, help="runs per start-up figure")
    parser.add_argument(
        "--typers", default=",".join(TYPERS), help="typer releases for the typer part"
    )
    parser.add_argument("--warmup", type=int, default=2, help="untimed rounds first")
    parser.add_argument("--new-runs", type=int, default=11, help="runs per `recover new` figure")
    parser.add_argument("--peer-runs", type=int, default=15, help="runs per Taskwarrior pair")
    parser.add_argument("--scale-runs", type=int, default=3, help="runs per scale figure")
    parser.add_argument("--walks", type=int, default=28, help="walks for the step figure")
    parser.add_argument(
        "--big", action="store_true", help="orders: also import a 200 MB export (slow)"
    )
    parser.add_argument(
        "--stores", type=Path, default=Path(tempfile.gettempdir()) / "recover-bench-stores"
    )
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    only = SECTIONS if args.only is None else [p.strip() for p in args.only.split(",") if p]
    unknown = [p for p in only if p not in SECTIONS]
    if unknown:
        parser.error(f"--only: unknown part {', '.join(unknown)} (choose from {SECTIONS})")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    args.stores.mkdir(parents=True, exist_ok=True)
    compile_bytecode()

    command = "python benchmarks/run.py" + (f" --only {args.only}" if args.only else "")
    head = [
        "# Benchmark results",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} with `{command}` on "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, typer {typer_version()}, {tree()}. Medians; the "
        "baselines were measured in the same run.",
    ]
    made: dict[str, list[str]] = {}
    for name in SECTIONS:
        if name not in only:
            continue
        print(name, flush=True)
        if name == "startup":
            made[name] = startup(args.runs, args.warmup, args.stores)
        elif name == "typer":
            from typer_versions import measure

            made[name] = measure(args.typers.split(","), args.runs, args.warmup)
        elif name == "new":
            made[name] = new_timings(args.new_runs, args.warmup, args.stores)
        elif name == "step":
            made[name] = step(args.walks)
        elif name == "peer":
            made[name] = peer_section(args.peer_runs, args.warmup, args.stores)
        elif name == "scale":
            made[name] = [
                "Stores made by `benchmarks/generate.py`: realistic cases over two years. "
                "Figures in bold miss a budget.",
                "",
                *scale(sizes, args.stores, args.scale_runs),
            ]
        elif name == "orders":
            from orders import measure as measure_orders

            made[name] = measure_orders(recover_argv()[0], args.stores, args.scale_runs, args.big)
    if args.only is None or args.write:
        text = write_results(args.out, head, made, whole=args.only is None)
        print(f"wrote {args.out}")
    else:
        text = (
            "\n\n".join(["\n".join(head)] + ["\n".join([TITLES[n], "", *made[n]]) for n in made])
            + "\n"
        )
    print(text)


if __name__ == "__main__":
    main()
