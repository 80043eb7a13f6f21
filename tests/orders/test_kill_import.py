"""An order import killed at any moment leaves the old order book or the new one,
never a mix: the real ``recover orders import`` SIGKILLed at seeded random moments,
and an import killed at every file move of its commit (the journal written, each
platform file moved into place). After each kill, the first reader finds one whole
book, and a new import runs as if nothing had happened."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recovery_cli.orders import book
from recovery_cli.store.ordercache import OrderCache
from tests.orders.exports import (
    ETSY_ORDERS_HEADER,
    ETSY_ORDERS_ROWS,
    SHOPIFY_HEADER,
    csv_text,
)

ROWS = 4000  # enough that an import takes a while to be killed inside


def shopify_rows(status: str) -> list[str]:
    return [
        f"#{n},c{n % 700}@example.com,{status},,fulfilled,no,USD,10.00,0.00,0.00,10.00,,0.00,"
        f"Standard,2025-01-{1 + n % 28:02d} 10:00:00 +0000,1,Thing {n},10.00,T-{n},Buyer {n},"
        f",,,,,,,0.00,{9000 + n},,"
        for n in range(ROWS)
    ]


def exports(folder: Path, version: str) -> list[Path]:
    """A Shopify export and an Etsy Sold Orders file: ``old`` or ``new`` (every order
    in both changed), so that a mix of the two books can be told apart."""
    folder.mkdir(parents=True, exist_ok=True)
    shopify, etsy = folder / "shopify.csv", folder / "etsy.csv"
    status = "paid" if version == "old" else "refunded"
    shopify.write_text(csv_text(SHOPIFY_HEADER, shopify_rows(status)), "utf-8")
    rows = (
        ETSY_ORDERS_ROWS
        if version == "old"
        else [ETSY_ORDERS_ROWS[0].replace("Ana Souza", "Ana S.")]
    )
    etsy.write_text(csv_text(ETSY_ORDERS_HEADER, rows), "utf-8")
    return [shopify, etsy]


def recover(home: Path, cache: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RECOVER_HOME": str(home), "RECOVER_CACHE_DIR": str(cache)}
    return subprocess.Popen(
        [sys.executable, "-m", "recovery_cli", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def books(home: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(book.folder_of(home).glob("*.jsonl"))}


@pytest.fixture(scope="module")
def books_before_and_after(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Path, dict[str, bytes], list[Path]]:
    """A home with the old book; the new exports; what the book is once they are in."""
    root = tmp_path_factory.mktemp("kill-import")
    old_home, cache = root / "old-home", root / "cache"
    child = recover(old_home, cache, "orders", "import", *map(str, exports(root / "old", "old")))
    assert child.wait(timeout=60) == 0
    new_home = root / "new-home"
    shutil.copytree(old_home, new_home)
    new_exports = exports(root / "new", "new")
    child = recover(new_home, cache, "orders", "import", *map(str, new_exports))
    assert child.wait(timeout=60) == 0
    return old_home, cache, books(new_home), new_exports


def check_whole(home: Path, old: dict[str, bytes], new: dict[str, bytes], label: str) -> str:
    """The first reader after a kill sees one whole book; which one."""
    with OrderCache(home) as cache:
        count = cache.count()
    found = books(home)
    assert found in (old, new), f"{label}: a mix of the old and the new order book"
    assert count == ROWS + 1, label
    # A journal is finished by the reader; a temporary file of an import killed before
    # its commit may stay (never read as orders) until the next import removes it.
    assert not (book.folder_of(home) / book.JOURNAL).exists(), label
    return "old" if found == old else "new"


def leftovers(home: Path) -> list[str]:
    return [p.name for p in book.folder_of(home).iterdir() if p.name.endswith(".tmp")]


def kill_at_random(
    books_before_and_after: tuple[Path, Path, dict[str, bytes], list[Path]],
    tmp_path: Path,
    kills: int,
    seed: int,
) -> None:
    old_home, cache, new, new_exports = books_before_and_after
    old = books(old_home)
    args = ["orders", "import", *map(str, new_exports)]
    started = time.monotonic()
    assert recover(tmp_path / "timing", cache, *args).wait(timeout=60) == 0
    took = time.monotonic() - started
    rng = random.Random(seed)
    seen = set()
    for attempt in range(kills):
        home = tmp_path / f"home-{attempt}"
        shutil.copytree(old_home, home)
        child = recover(home, cache, *args)
        delay = rng.uniform(0.0, took * 1.1)
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        seen.add(check_whole(home, old, new, f"seed {seed}, attempt {attempt}, {delay:.3f}s"))
        # And the import runs again from there as if nothing had happened.
        assert recover(home, cache, *args).wait(timeout=60) == 0
        assert books(home) == new and leftovers(home) == []
    assert seen  # which ones depends on the machine's speed: both are fine


def test_import_killed_at_random_moments(
    books_before_and_after: tuple[Path, Path, dict[str, bytes], list[Path]], tmp_path: Path
) -> None:
    kill_at_random(books_before_and_after, tmp_path, kills=4, seed=15)


@pytest.mark.soak
def test_soak_import_killed_at_random_moments(
    books_before_and_after: tuple[Path, Path, dict[str, bytes], list[Path]], tmp_path: Path
) -> None:
    kill_at_random(books_before_and_after, tmp_path, kills=30, seed=1015)


KILL_AT_MOVE = """
import os, signal, sys
from pathlib import Path
from recovery_cli.orders import book, importing
moves, wanted = [0], int(sys.argv[1])
real = os.replace
def replace(src, dst):
    real(src, dst)
    moves[0] += 1
    if moves[0] == wanted:
        os.kill(os.getpid(), signal.SIGKILL)
os.replace = replace
importing.import_files(Path(sys.argv[2]), [Path(p) for p in sys.argv[3:]])
"""


def test_import_killed_at_every_move_of_its_commit(
    books_before_and_after: tuple[Path, Path, dict[str, bytes], list[Path]], tmp_path: Path
) -> None:
    old_home, cache, new, new_exports = books_before_and_after
    old = books(old_home)
    env = {**os.environ, "RECOVER_CACHE_DIR": str(cache)}
    # The journal, then the two platform files: a kill after each of the three moves.
    found = []
    for wanted in (1, 2, 3):
        home = tmp_path / f"home-{wanted}"
        shutil.copytree(old_home, home)
        child = subprocess.run(
            [sys.executable, "-c", KILL_AT_MOVE, str(wanted), str(home), *map(str, new_exports)],
            env=env,
            check=False,
            timeout=60,
        )
        assert child.returncode == -signal.SIGKILL
        if wanted > 1:  # killed between the moves: the journal is there, to be finished
            assert (book.folder_of(home) / book.JOURNAL).exists()
        found.append(check_whole(home, old, new, f"killed after move {wanted}"))
    assert found == ["new", "new", "new"]


@pytest.mark.soak
def test_soak_a_200_mb_export_is_streamed(tmp_path: Path) -> None:
    """A 200 MB export imports whole (its memory is a benchmark figure:
    ``python benchmarks/run.py --only orders --big``)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from orders import BIG_ROWS, shopify_export  # type: ignore[import-not-found]

    export = tmp_path / "big.csv"
    orders = shopify_export(export, BIG_ROWS, seed=16)
    assert export.stat().st_size > 200 * 2**20
    home, cache = tmp_path / "home", tmp_path / "cache"
    assert recover(home, cache, "orders", "import", str(export)).wait(timeout=600) == 0
    with OrderCache(home) as found:
        assert found.count() == orders


def test_ctrl_c_during_an_import_says_so_and_keeps_one_whole_book(
    books_before_and_after: tuple[Path, Path, dict[str, bytes], list[Path]], tmp_path: Path
) -> None:
    old_home, cache, new, new_exports = books_before_and_after
    old = books(old_home)
    env = {**os.environ, "RECOVER_CACHE_DIR": str(cache)}
    argv = [sys.executable, "-m", "recovery_cli", "orders", "import", *map(str, new_exports)]
    seen = set()
    for attempt, delay in enumerate((0.05, 0.2, 0.35, 0.5, 0.7)):  # start-up, reading, commit
        home = tmp_path / f"home-{attempt}"
        shutil.copytree(old_home, home)
        child = subprocess.Popen(
            argv, env={**env, "RECOVER_HOME": str(home)}, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        time.sleep(delay)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=60)
        label = f"Ctrl-C after {delay} s"
        # -2: the signal came while Python was starting or shutting down, when SIGINT
        # has its default action (the process ends, silently); the book is whole still.
        assert child.returncode in (0, 130, -signal.SIGINT), (label, child.returncode, err)
        assert "Traceback" not in err.decode(), (label, err)
        if child.returncode == 130:
            assert err.decode().strip().splitlines()[-1] == "Interrupted.", label
        seen.add(check_whole(home, old, new, label))
    assert seen
