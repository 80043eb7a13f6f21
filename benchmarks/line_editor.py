"""What a line editor costs at start-up: GNU readline (what recover's prompts use)
against prompt_toolkit, each timed as a whole process beside the baseline
``python -c "import typer"``, all interleaved in one run so the machine's swings fall
on every row alike.

    python benchmarks/line_editor.py            # 30 runs of each
    python benchmarks/line_editor.py --runs 60

prompt_toolkit is not a dependency of recover: for the measurement it is installed
into a temporary folder with pip (from the package index pip is set up for). When that
cannot be done, its rows say why and the rest is still measured.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = {
    "python -c pass": "pass",
    'python -c "import typer" (baseline)': "import typer",
    "+ readline": "import typer, rich.console, readline",
    "+ prompt_toolkit": "import typer, rich.console, prompt_toolkit.shortcuts",
    "readline alone": "import readline",
    "prompt_toolkit alone (PromptSession)": "from prompt_toolkit.shortcuts import PromptSession",
}
NEEDS_TOOLKIT = {"+ prompt_toolkit", "prompt_toolkit alone (PromptSession)"}


def install_toolkit(folder: Path) -> str | None:
    """prompt_toolkit in ``folder``; None when it is there, else why not."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(folder),
         "prompt_toolkit"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        return (done.stderr.strip().splitlines() or ["pip failed"])[-1]
    return None


def version_of(folder: Path) -> str:
    found = sorted(folder.glob("prompt_toolkit-*.dist-info"))
    return found[0].name.removesuffix(".dist-info").split("-")[1] if found else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="recover-bench-editor-") as tmp:
        folder = Path(tmp)
        missing = install_toolkit(folder)
        env = {**os.environ, "PYTHONPATH": str(folder)}
        rows = {k: v for k, v in ROWS.items() if missing is None or k not in NEEDS_TOOLKIT}
        times: dict[str, list[float]] = {name: [] for name in rows}
        for turn in range(args.runs + 1):  # the first round warms the caches, untimed
            for name, code in rows.items():
                began = time.perf_counter()
                subprocess.run([sys.executable, "-c", code], env=env, check=True)
                if turn:
                    times[name].append(time.perf_counter() - began)
        base = statistics.median(times['python -c "import typer" (baseline)'])
        print(f"Python {sys.version.split()[0]}, {args.runs} interleaved runs each, medians")
        if missing is None:
            print(f"prompt_toolkit {version_of(folder)}")
        print()
        print("| process | median | ratio to `import typer` |")
        print("| --- | --- | --- |")
        for name in ROWS:
            if name not in rows:
                print(f"| {name} | not measured: {missing} | |")
                continue
            median = statistics.median(times[name])
            print(f"| {name} | {median * 1000:.0f} ms | {median / base:.2f}x |")


if __name__ == "__main__":
    main()
