"""What each Typer release costs a minimal app at start-up: for every version asked for,
a virtualenv of its own with just ``typer==VERSION`` (and what it pulls in), then
``python -c "import typer"`` and ``benchmarks/minimal_app.py`` in each, all interleaved
in one run so the machine's swings fall on every row alike. Medians; output goes to
pipes that are read to the end.

    python benchmarks/typer_versions.py                  # 0.28.0 and 0.29.2
    python benchmarks/typer_versions.py 0.27.0 0.29.2 --runs 31

The virtualenvs are kept in a folder of the system's temp directory and reused; one
whose typer is not the version asked for is made again. A version pip cannot install is
reported as such and the others are still measured.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ttyrun import run_piped  # noqa: E402

APP = [str(HERE / "minimal_app.py"), "--name", "Dana", "--count", "2"]
REPORT = (
    "import importlib.metadata as m, sys; "
    "print(' '.join(f'{d.metadata[\"Name\"]}=={d.version}' for d in sorted("
    "m.distributions(), key=lambda d: d.metadata['Name'].lower()) "
    "if d.metadata['Name'] not in ('pip', 'setuptools', 'wheel')))"
)


def venv_for(version: str, folder: Path) -> tuple[Path | None, str]:
    """The python of a virtualenv holding typer ``version``: (path, what it holds) or
    (None, why it could not be made)."""
    home = folder / f"typer-{version}"
    python = home / "bin" / "python"
    check = [str(python), "-c", "import typer; print(typer.__version__)"]
    if python.exists():
        done = subprocess.run(check, capture_output=True, text=True, check=False)
        if done.returncode != 0 or done.stdout.strip() != version:
            shutil.rmtree(home)
    if not python.exists():
        print(f"making a virtualenv with typer=={version}", flush=True)
        made = subprocess.run(
            [sys.executable, "-m", "venv", str(home)], capture_output=True, text=True, check=False
        )
        if made.returncode != 0:
            return None, f"python -m venv failed: {made.stderr.strip()[-200:]}"
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", f"typer=={version}"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            shutil.rmtree(home, ignore_errors=True)
            lines = (done.stderr or done.stdout).strip().splitlines()
            return None, f"pip could not install typer=={version}: {lines[-1] if lines else '?'}"
    holds = subprocess.run(
        [str(python), "-c", REPORT], capture_output=True, text=True, check=True
    ).stdout.strip()
    return python, holds


VENVS = Path(tempfile.gettempdir()) / "recover-bench-typer"
DEFAULT_VERSIONS = ["0.28.0", "0.29.2"]


def measure(versions: list[str], runs: int, warmup: int, venvs: Path = VENVS) -> list[str]:
    """The table (Markdown lines) for ``versions``: ``import typer`` and the minimal app
    in each version's virtualenv, interleaved, medians."""
    venvs.mkdir(parents=True, exist_ok=True)
    pythons: dict[str, Path] = {}
    notes: list[str] = []
    for version in versions:
        python, what = venv_for(version, venvs)
        if python is None:
            notes.append(f"- typer {version}: not measured: {what}")
        else:
            pythons[version] = python
            notes.append(f"- typer {version}: {what}")
    rows = {
        (version, kind): [str(python), *argv]
        for version, python in pythons.items()
        for kind, argv in (("import", ["-c", "import typer"]), ("app", APP))
    }
    times: dict[tuple[str, str], list[float]] = {key: [] for key in rows}
    for turn in range(warmup + runs):
        for key, argv in rows.items():
            elapsed, _, status = run_piped(argv, dict(os.environ))
            if status != 0:
                raise SystemExit(f"{' '.join(argv)} exited {status}")
            if turn >= warmup:
                times[key].append(elapsed)

    def cell(values: list[float]) -> str:
        low, high = min(values) * 1000, max(values) * 1000
        return f"{statistics.median(values) * 1000:.0f} ms (min {low:.0f}, max {high:.0f})"

    lines = [
        f"Each typer in a virtualenv of its own (`benchmarks/typer_versions.py`), Python "
        f"{sys.version.split()[0]}; {runs} interleaved runs of each after {warmup} untimed "
        "rounds; medians (min, max); stdout and stderr on pipes read to the end. The "
        "minimal app is `benchmarks/minimal_app.py --name Dana --count 2` (one command, a "
        "str option and an int option).",
        "",
        '| typer | `python -c "import typer"` | minimal app | ratio app / `import typer` |',
        "| --- | --- | --- | --- |",
    ]
    for version in versions:
        if version not in pythons:
            lines.append(f"| {version} | not measured | | |")
            continue
        base, app = times[(version, "import")], times[(version, "app")]
        ratio = statistics.median(app) / statistics.median(base)
        lines.append(f"| {version} | {cell(base)} | {cell(app)} | {ratio:.2f}x |")
    return [*lines, "", "Each virtualenv holds:", "", *notes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="*", default=DEFAULT_VERSIONS)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--venvs", type=Path, default=VENVS)
    args = parser.parse_args()
    print("\n".join(measure(args.versions, args.runs, args.warmup, args.venvs)))


if __name__ == "__main__":
    main()
