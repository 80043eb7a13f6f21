"""Measure ``recover report`` (the monthly review) against its budget: at 100,000 cases
≤ 5 s and ≤ 150 MB, and what its dependencies cost.

    python benchmarks/report.py                      # 1,000, 10,000 and 100,000 cases
    python benchmarks/report.py --sizes 1000 --runs 3

For each generated store (``benchmarks/generate.py``: two years of a shop's cases,
kept in ``--stores`` and reused), interleaved in the same rounds: ``python -c "import
typer"`` (the machine's baseline), ``recover stats --json`` for the same month (what the
report's counting is built on), and ``recover report`` for last month, each a whole
process; the median, its peak memory, and the page's size. With ``--orders`` a store of
100,000 cases with 100,000 imported orders (the orders benchmark's, made here when
missing) is measured too, for the "bought again" section. Then the import time of the
report's own dependencies, and their size on disk. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import Timing, clean_env, compile_bytecode, recover_argv, run_process, store_of  # noqa: E402

BUDGET_S, BUDGET_MB = 5.0, 150


def last_month() -> tuple[str, str, str]:
    """Last month as --month takes it, and its first and last days."""
    end = datetime.now(UTC).date().replace(day=1) - timedelta(days=1)
    return f"{end:%Y-%m}", end.replace(day=1).isoformat(), end.isoformat()


def with_orders(stores: Path, cases: Path) -> Path:
    """The 100,000-case store beside a book of 100,000 orders (made once)."""
    from orders import shopify_export

    home = stores / "report" / "store-100000-orders"
    if not (home / "orders").exists():
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(cases, home, copy_function=os.link)
        export = stores / "report" / "orders-100000.csv"
        shopify_export(export, 100_000)
        subprocess.run(
            [*recover_argv("orders", "import", str(export))], env=clean_env(home), check=True,
            capture_output=True,
        )  # fmt: skip
    return home


def measure(home: Path, runs: int, out: Path) -> dict[str, Timing]:
    """The baseline, stats and report, interleaved round by round."""
    month, since, until = last_month()
    env = clean_env(home)
    argvs = {
        "typer": [sys.executable, "-c", "import typer"],
        "stats": recover_argv("stats", "--json", "--since", since, "--until", until),
        "report": recover_argv("report", "--month", month, "-o", str(out)),
    }
    found: dict[str, Timing] = {key: Timing([]) for key in argvs}
    run_process(argvs["report"], env, 1, warmup=1)  # the index brought up to date
    for _ in range(runs):
        for key, argv in argvs.items():
            one = run_process(argv, env, 1, warmup=0)
            found[key].times += one.times
            found[key].peak_rss = max(found[key].peak_rss, one.peak_rss)
    return found


def import_ms(module: str, rounds: int = 7) -> float:
    """The cumulative import time of ``module`` (ms, median), bytecode already compiled."""
    times = []
    for _ in range(rounds):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True, text=True, check=True,
            env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        )  # fmt: skip
        last = [line for line in done.stderr.splitlines() if re.search(rf"\| {module}$", line)]
        times.append(int(last[-1].split("|")[1]) / 1000)
    return statistics.median(times)


def installed_kb(*packages: str) -> int:
    """The size on disk of installed packages (their folders)."""
    import importlib.util

    total = 0
    for name in packages:
        spec = importlib.util.find_spec(name)
        assert spec is not None
        assert spec.origin is not None
        for path in Path(spec.origin).parent.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                total += path.stat().st_size
    return total // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--orders", action="store_true", help="also 100,000 cases with orders")
    parser.add_argument(
        "--stores", type=Path, default=Path(tempfile.gettempdir()) / "recover-bench-stores"
    )
    args = parser.parse_args()
    compile_bytecode()
    args.stores.mkdir(parents=True, exist_ok=True)
    out = args.stores / "report" / "page.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    homes = [
        (f"{int(size):,} cases", store_of(int(size), args.stores)) for size in args.sizes.split(",")
    ]
    if args.orders:
        homes.append(
            (
                "100,000 cases, 100,000 orders",
                with_orders(args.stores, store_of(100_000, args.stores)),
            )
        )
    print(
        "| store | `import typer` | `stats --json` (the month) | `report` "
        "| report / typer | report / stats | page | budget |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, home in homes:
        found = measure(home, args.runs, out)
        typer, stats, report = (found[k] for k in ("typer", "stats", "report"))
        met = report.median <= BUDGET_S and report.peak_rss <= BUDGET_MB * 2**20
        budget = f"≤ {BUDGET_S:.0f} s, ≤ {BUDGET_MB} MB {'met' if met else '**not met**'}"
        cells = [
            label,
            f"{typer.median * 1000:.0f} ms",
            f"{stats.median * 1000:.0f} ms · {stats.mb()}",
            f"{report.median * 1000:.0f} ms · {report.mb()}",
            f"{report.median / typer.median:.1f}x",
            f"{report.median / stats.median:.2f}x",
            f"{out.stat().st_size / 1024:.0f} kB",
            budget if "100,000" in label else "",
        ]
        print("| " + " | ".join(cells) + " |", flush=True)
    jinja, page = import_ms("jinja2"), import_ms("recovery_cli.reportpage")
    typer_import = import_ms("typer")
    print()
    print(
        f"import jinja2: {jinja:.0f} ms; import recovery_cli.reportpage (with jinja2): "
        f"{page:.0f} ms; import typer: {typer_import:.0f} ms"
    )
    print(f"installed: jinja2 + markupsafe {installed_kb('jinja2', 'markupsafe')} kB")


if __name__ == "__main__":
    main()
