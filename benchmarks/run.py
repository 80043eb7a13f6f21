"""Measure recover against the budgets in DESIGN.md and write benchmarks/RESULTS.md.

    python benchmarks/run.py                 # everything: start-up, walk steps, 1k/10k/100k
    python benchmarks/run.py --sizes 1000    # a quick look
    python benchmarks/run.py --only startup  # one part: startup, step, scale

Every figure is a whole process (or, for walk steps, the real engine + store + screen
path) timed over several runs: the median, with min and max. Peak memory is each
process's own maximum resident set size (``wait4``). Beside every figure stands the
machine's baseline measured in the same session (``python -c "import typer"`` for
start-up; reading every case file raw for the scale runs), so figures from different
machines can be compared by their ratios. Generated stores are kept in ``--stores``
(default: a folder in the system's temp directory) and reused.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import re
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
BUDGET_SMALL_MS = 250.0


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


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECOVER_")}
    env.update(RECOVER_HOME=str(home), NO_COLOR="1", COLUMNS="120", TZ="UTC")
    env.pop("TERM", None)
    return env


# -- start-up ----------------------------------------------------------------------------
def startup(runs: int) -> list[str]:
    home = Path(tempfile.mkdtemp(prefix="recover-bench-empty-"))
    env = clean_env(home)
    py = sys.executable
    base_pass = run_process([py, "-c", "pass"], env, runs)
    base_typer = run_process([py, "-c", "import typer"], env, runs)
    pass_ratio = base_pass.median / base_typer.median
    rows = [
        "| command | median (min, max) | ratio to `import typer` | budget | peak memory |",
        "| --- | --- | --- | --- | --- |",
        f"| `python -c pass` (baseline) | {base_pass.ms()} | {pass_ratio:.2f}x | | "
        f"{base_pass.mb()} |",
        f'| `python -c "import typer"` (baseline) | {base_typer.ms()} | 1.00x | | '
        f"{base_typer.mb()} |",
    ]
    for args, budget in (
        (("--version",), "≤ 1.3x"),
        (("--help",), "≤ 2.2x"),
        (("list",), "≤ 250 ms"),
        (("followups",), "≤ 250 ms"),
        (("stats",), "≤ 250 ms"),
    ):
        timing = run_process(recover_argv(*args), env, runs)
        ratio = timing.median / base_typer.median
        if budget.endswith("x"):
            met = ratio <= float(budget.split()[-1].rstrip("x"))
        else:
            met = timing.median * 1000 <= BUDGET_SMALL_MS
        rows.append(
            f"| `recover {' '.join(args)}` (empty store) | {timing.ms()} | {ratio:.2f}x | "
            f"{budget} {'met' if met else '**not met**'} | {timing.mb()} |"
        )
    shutil.rmtree(home, ignore_errors=True)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--only", choices=["startup", "step", "scale"])
    parser.add_argument("--runs", type=int, default=15, help="runs per start-up figure")
    parser.add_argument("--scale-runs", type=int, default=3, help="runs per scale figure")
    parser.add_argument("--walks", type=int, default=28, help="walks for the step figure")
    parser.add_argument(
        "--stores", type=Path, default=Path(tempfile.gettempdir()) / "recover-bench-stores"
    )
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    args.stores.mkdir(parents=True, exist_ok=True)

    sections = [
        "# Benchmark results",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} with `python benchmarks/run.py` on "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}. Medians; the baselines were measured in the same run.",
    ]
    if args.only in (None, "startup"):
        print("start-up", flush=True)
        sections += ["", "## Start-up", "", *startup(args.runs)]
    if args.only in (None, "step"):
        print("walk steps", flush=True)
        sections += ["", "## One walk step (answer → durable save → next step shown)", ""]
        sections += step(args.walks)
    if args.only in (None, "scale"):
        sections += [
            "",
            "## Scale (median wall time · peak memory of the process)",
            "",
            "Stores made by `benchmarks/generate.py`: realistic cases over two years. "
            "Figures in bold miss a budget.",
            "",
            *scale(sizes, args.stores, args.scale_runs),
        ]
    text = "\n".join(sections) + "\n"
    if args.only is None:
        # Notes written by hand below the tables (from "## Notes" on) are kept.
        kept = ""
        if args.out.exists():
            old = args.out.read_text(encoding="utf-8")
            if "\n## Notes" in old:
                kept = old[old.index("\n## Notes") :]
        args.out.write_text(text + kept, encoding="utf-8")
        print(f"wrote {args.out}")
    print(text)


if __name__ == "__main__":
    main()
