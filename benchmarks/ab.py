"""Compare two builds of recover on the same store, run by run, in one session.

    python benchmarks/ab.py OLD_RECOVER NEW_RECOVER STORE [--runs 3]

OLD_RECOVER and NEW_RECOVER are the ``recover`` executables of two installs (say, a
clone of an earlier commit in its own virtualenv, and this tree). STORE is a home made
by ``benchmarks/generate.py``. Each build gets its own copy of the store, since two
builds may keep the summary index in different formats, and each command is run old,
new, old, new... so that the machine's swings fall on both alike. Prints the median of
each and the ratio new/old: below 1 is faster.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

COMMANDS = [
    ["list"],
    ["list", "--status", "closed", "--limit", "50"],
    ["followups"],
    ["stats", "--json"],
    ["export", "-f", "csv"],
    ["export", "-f", "jsonl"],
    ["export", "--since", "{month_ago}", "-f", "jsonl"],
]


def timed(exe: str, home: Path, args: list[str]) -> float:
    env = {**os.environ, "RECOVER_HOME": str(home), "NO_COLOR": "1"}
    began = time.perf_counter()
    subprocess.run(
        [exe, *args], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", help="the recover executable of the earlier build")
    parser.add_argument("new", help="the recover executable of the later build")
    parser.add_argument("store", type=Path, help="a home made by benchmarks/generate.py")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from datetime import UTC, datetime, timedelta

    month_ago = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    with tempfile.TemporaryDirectory(prefix="recover-ab-") as scratch:
        homes = {}
        for side in ("old", "new"):
            homes[side] = Path(scratch) / side
            shutil.copytree(args.store, homes[side], symlinks=True)
            for warm in (["list"], ["stats"]):  # each brings its own index up to date
                timed(getattr(args, side), homes[side], warm)
        for command in COMMANDS:
            argv = [a.format(month_ago=month_ago) for a in command]
            times: dict[str, list[float]] = {"old": [], "new": []}
            for _ in range(args.runs):
                for side in ("old", "new"):
                    times[side].append(timed(getattr(args, side), homes[side], argv))
            old, new = (statistics.median(times[side]) for side in ("old", "new"))
            print(
                f"{' '.join(argv):45} old {old * 1000:6.0f} ms  new {new * 1000:6.0f} ms  "
                f"{new / old:.2f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
