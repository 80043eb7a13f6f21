"""Measure `recover sync` and the commit each command makes in a synced home.

    python benchmarks/sync.py [--cases 10000] [--changed 1000] [--runs 7]

Two machines (each a home with its own cache and state folders) share a bare
repository on local disk. Prints, with the baselines measured in the same run
(`python -c "import typer"` and `git status` in the same home):

* `recover sync` with nothing to do, in a home of N cases;
* `recover sync` bringing in 1,000 cases changed on the other machine (a follow-up
  note on each), and sending out 1,000 changed here;
* the same 100 cases changed on both machines, merged case by case;
* the commit a command adds: `recover followup add` in a synced home against the same
  command in the same home without git (interleaved runs, medians).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

from recovery_cli.store import Store  # noqa: E402


def env_of(root: Path, name: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECOVER_", "GIT_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        RECOVER_HOME=str(home),
        RECOVER_CACHE_DIR=str(root / name / "cache"),
        RECOVER_STATE_DIR=str(root / name / "state"),
        HOME=str(root / name),
        NO_COLOR="1",
        TZ="UTC",
    )
    return env


def recover(env: dict[str, str], *args: str, check: bool = True) -> float:
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "recovery_cli", *args], env=env, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    took = time.perf_counter() - began
    if check and done.returncode != 0:
        raise SystemExit(f"recover {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return took


def timed(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    began = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=True)
    return time.perf_counter() - began


def touch_cases(env: dict[str, str], home: Path, ids: list[str], word: str) -> None:
    """Change each case as a command would (a log entry, saved under its lock)."""
    saved = {k: os.environ.get(k) for k in ("RECOVER_CACHE_DIR", "RECOVER_STATE_DIR")}
    os.environ.update(
        RECOVER_CACHE_DIR=env["RECOVER_CACHE_DIR"], RECOVER_STATE_DIR=env["RECOVER_STATE_DIR"]
    )
    try:
        with Store(home) as store:
            for case_id in ids:
                case = store.load(case_id)
                with store.session(case_id):
                    case.add_event(case.updated_at, "note", word)
                    store.save(case)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def ms(value: float) -> str:
    return f"{value * 1000:,.0f} ms"


def row(what: str, took: float, typer: float, budget: float | None = None) -> None:
    """One line of the table: the time, its ratio to the baseline, and the budget."""
    met = "" if budget is None else f"≤ {budget:g} s {'met' if took <= budget else '**not met**'}"
    print(f"| {what} | {ms(took)} | {took / typer:.2f}x | {met} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--changed", type=int, default=1_000)
    parser.add_argument("--both", type=int, default=100)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="recover-sync-bench-"))
    try:
        run(root, args)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(root: Path, args: argparse.Namespace) -> None:
    remote = root / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    a_home, b_home = root / "a" / "home", root / "b" / "home"
    generate(args.cases, a_home)
    a, b = env_of(root, "a", a_home), env_of(root, "b", b_home)
    took = recover(a, "sync", "init", str(remote))
    print(f"sync init of {args.cases:,} cases (first commit and push): {ms(took)}")
    took = recover(b, "sync", "init", str(remote))
    print(f"second machine joins (clone of {args.cases:,} cases): {ms(took)}")
    recover(a, "list")  # both indexes built
    recover(b, "list")

    typer = statistics.median(
        timed([sys.executable, "-c", "import typer"], a) for _ in range(args.runs)
    )
    status = statistics.median(
        timed(["git", "status", "--porcelain"], a, a_home) for _ in range(args.runs)
    )
    idle = statistics.median(recover(a, "sync") for _ in range(args.runs))
    print()
    print("| what | median | ratio to `import typer` | budget |")
    print("| --- | --- | --- | --- |")
    row('`python -c "import typer"` (baseline)', typer, typer)
    row("`git status` in the home (baseline)", status, typer)
    row(f"`recover sync`, nothing to do, {args.cases:,} cases", idle, typer, 1.0)

    ids = [str(n) for n in range(1, args.changed + 1)]
    touch_cases(b, b_home, ids, "changed on b")
    out = recover(b, "sync")
    row(f"`recover sync` sending {args.changed:,} cases changed here", out, typer, 10.0)
    came = recover(a, "sync")
    row(f"`recover sync` bringing in {args.changed:,} cases changed elsewhere", came, typer, 10.0)
    listed = recover(a, "list", "--limit", "20")
    row("`recover list --limit 20` right after", listed, typer)

    both = [str(n) for n in range(args.changed + 1, args.changed + args.both + 1)]
    touch_cases(a, a_home, both, "changed on a")
    touch_cases(b, b_home, both, "changed on b")
    recover(b, "sync")
    merged = recover(a, "sync")
    row(f"`recover sync` merging {args.both} cases changed on both machines", merged, typer)
    data = json.loads((a_home / "cases" / f"{both[0]}.json").read_text())
    assert {"changed on a", "changed on b"} <= {e["detail"] for e in data["log"]}

    # The commit a command adds: the same command in the same home, with and without git.
    plain_home = root / "plain" / "home"
    shutil.copytree(a_home, plain_home, ignore=shutil.ignore_patterns(".git"))
    plain = env_of(root, "plain", plain_home)
    recover(plain, "list")
    with_git, without = [], []
    for n in range(args.runs * 2):
        case_id = str(args.cases - n)
        with_git.append(recover(a, "followup", "add", case_id, "--in", "3d"))
        without.append(recover(plain, "followup", "add", case_id, "--in", "3d"))
    plain_time, git_time = statistics.median(without), statistics.median(with_git)
    row("`recover followup add`, home not synced", plain_time, typer)
    row("`recover followup add`, synced home (its commit included)", git_time, typer)
    extra = git_time - plain_time
    print(f"| the commit a command adds (difference of medians) | {ms(extra)} | | "
          f"≤ 20 ms {'met' if extra <= 0.020 else '**not met**'} |")  # fmt: skip
    last = subprocess.run(
        ["git", "log", "-1", "--format=%s"], cwd=a_home, capture_output=True, text=True, check=True
    )
    print(f"\nlast commit: {last.stdout.strip()}")


if __name__ == "__main__":
    main()
