"""The orders part of ``benchmarks/run.py`` (``--only orders``): importing a Shopify
export of 100,000 rows, looking an order up the way the walk does at 100,000 orders,
and ``recover new`` to its first prompt with and without an order book.

Baselines, measured in the same run: for the import, one pass of Python's own
``csv.reader`` over the same file (what any CSV tool must pay) and ``python -c
"import typer"``; for the look-up, the same query on the same table with nothing
checked first; for ``recover new``, ``python -c "import typer"`` in the same terminal,
interleaved. ``--big`` also imports a 200 MB export (streamed; slow).
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Accepts Marketing,Currency,"
    "Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,Created at,"
    "Lineitem quantity,Lineitem name,Lineitem price,Lineitem compare at price,Lineitem sku,"
    "Lineitem requires shipping,Lineitem taxable,Lineitem fulfillment status,Billing Name,"
    "Billing Street,Billing Address1,Billing Address2,Billing Company,Billing City,"
    "Billing Zip,Billing Province,Billing Country,Billing Phone,Shipping Name,Shipping Street,"
    "Shipping Address1,Shipping Address2,Shipping Company,Shipping City,Shipping Zip,"
    "Shipping Province,Shipping Country,Shipping Phone,Notes,Note Attributes,Cancelled at,"
    "Payment Method,Payment Reference,Refunded Amount,Vendor,Outstanding Balance,Employee,"
    "Location,Device ID,Id,Tags,Risk Level,Source,Lineitem discount,Tax 1 Name,Tax 1 Value,"
    "Phone,Receipt Number"
)
BIG_ROWS = 930_000  # a 200 MB export
PRODUCTS = ["Blue Mug", "Tea Towel", "Linen Apron", "Oak Board", "Green Bowl", "Card Set"]
FIRST = ["Dana", "Sam", "Ana", "Wren", "Kofi", "Mei", "Lars", "Ines", "Omar", "Priya"]
LAST = ["Reyes", "Lee", "Souza", "Castillo", "Mensah", "Chen", "Berg", "Ruiz", "Haddad"]


def shopify_export(path: Path, rows: int, seed: int = 15, max_orders: int | None = None) -> int:
    """Write a Shopify orders export of ``rows`` rows (1-3 line items an order, the
    order-level columns on each order's first row, addresses filled as Shopify fills
    them); how many orders it holds."""
    rng = random.Random(seed)
    columns = HEADER.split(",")
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "\r\n")
        written = orders = 0
        while written < rows and (max_orders is None or orders < max_orders):
            orders += 1
            number = 1000 + orders
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{first.lower()}.{last.lower()}{rng.randrange(4000)}@example.com"
            day = f"2025-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d} 10:00:00 -0500"
            count = min(rng.choice((1, 1, 2, 3)), rows - written)
            items = [(rng.choice(PRODUCTS), rng.randrange(1, 4), rng.randrange(5, 60))
                     for _ in range(count)]  # fmt: skip
            total = f"{sum(q * p for _, q, p in items)}.00"
            for index, (item, quantity, price) in enumerate(items):
                cell = {
                    "Name": f"#{number}", "Email": email, "Created at": day,
                    "Lineitem quantity": str(quantity), "Lineitem name": item,
                    "Lineitem price": f"{price}.00", "Lineitem sku": f"SKU-{item[:3]}",
                    "Lineitem requires shipping": "true", "Lineitem taxable": "true",
                }  # fmt: skip
                if index == 0:
                    cell.update({
                        "Financial Status": "paid", "Paid at": day, "Currency": "USD",
                        "Fulfillment Status": "fulfilled", "Subtotal": total, "Total": total,
                        "Shipping": "0.00", "Taxes": "0.00", "Discount Amount": "0.00",
                        "Billing Name": f"{first} {last}", "Billing Street": "1 Elm Street",
                        "Billing City": "Springfield", "Billing Zip": "62704",
                        "Shipping Name": f"{first} {last}", "Shipping City": "Springfield",
                        "Id": str(number * 7), "Refunded Amount": "0.00",
                    })  # fmt: skip
                out.write(",".join(cell.get(name, "") for name in columns) + "\r\n")
                written += 1
    return orders


def _env(home: Path, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECOVER_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(RECOVER_HOME=str(home), RECOVER_CACHE_DIR=str(cache), NO_COLOR="1", TZ="UTC")
    return env


_LAUNCHER = """
import os, sys, time
began = time.perf_counter()
pid = os.fork()
if pid == 0:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - began, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """One run of ``argv``: its wall time (s) and peak memory (bytes)."""
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, *argv], env=env, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    seconds, peak_kb, code = done.stdout.split()
    if int(code) not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} exited {code}")
    return float(seconds), int(peak_kb) * 1024


CSV_PASS = (
    "import csv, sys\nfor _ in csv.reader(open(sys.argv[1], newline='', encoding='utf-8')): pass"
)


def import_rows(
    recover: str, export: Path, folder: Path, runs: int, label: str, budget: float | None = 10.0
) -> list[str]:
    """The import of ``export`` into an empty home, then again into the full one (every
    order unchanged), against one ``csv.reader`` pass and ``import typer``."""
    times: dict[str, list[float]] = {"csv": [], "typer": [], "new": [], "again": []}
    peaks: dict[str, int] = {}
    for _ in range(runs):
        for key, argv, fresh in (
            ("typer", [sys.executable, "-c", "import typer"], False),
            ("csv", [sys.executable, "-c", CSV_PASS, str(export)], False),
            ("new", [recover, "orders", "import", str(export)], True),
            ("again", [recover, "orders", "import", str(export)], False),
        ):
            home = folder / "home"
            if fresh:
                shutil.rmtree(home, ignore_errors=True)
                shutil.rmtree(folder / "cache", ignore_errors=True)
            seconds, peak = timed(argv, _env(home, folder / "cache"))
            times[key].append(seconds)
            peaks[key] = max(peaks.get(key, 0), peak)
    med = {key: statistics.median(values) for key, values in times.items()}
    size = export.stat().st_size / 2**20
    rows = []
    for key, what, limit in (
        ("new", f"`recover orders import` ({label}, {size:.0f} MB) into an empty home", budget),
        ("again", "the same again (every order unchanged)", budget),
        ("csv", "baseline: one `csv.reader` pass over the file", None),
        ("typer", 'baseline: `python -c "import typer"`', None),
    ):
        cell = f"{med[key]:.2f} s" if med[key] >= 1 else f"{med[key] * 1000:.0f} ms"
        mem = f"{peaks[key] / 2**20:.0f} MB"
        ratio = f"{med[key] / med['csv']:.1f}x"
        verdict = ""
        if limit is not None:
            met = med[key] <= limit and peaks[key] <= 100 * 2**20
            verdict = f"≤ {limit:.0f} s, ≤ 100 MB {'met' if met else '**not met**'}"
        rows.append(f"| {what} | {cell} | {mem} | {ratio} | {verdict} |")
    return rows


LOOKUP = """
import statistics, sys, time
from pathlib import Path
from recovery_cli.store.ordercache import OrderCache
home, refs, emails = Path(sys.argv[1]), sys.argv[2].split(","), sys.argv[3].split(",")
began = time.perf_counter()
cache = OrderCache(home)
cache.by_ref(refs[0])
first = time.perf_counter() - began
checked, bare = [], []
for ref, email in zip(refs, emails):
    for query in (ref, email):
        t = time.perf_counter(); cache.find(query); checked.append(time.perf_counter() - t)
db = cache.fresh()
for ref in refs:
    t = time.perf_counter()
    db.execute("SELECT line FROM orders WHERE ref_norm = ?", (ref.lstrip("#"),)).fetchall()
    bare.append(time.perf_counter() - t)
print(first, statistics.median(checked), max(checked), statistics.median(bare))
"""


def lookups(folder: Path, export: Path, orders: int) -> list[str]:
    """The walk's look-up at ``orders`` orders: the first one of a process (the table
    opened and checked against the book), then each later one (checked again), against
    the bare query."""
    rng = random.Random(7)
    numbers = [1000 + rng.randrange(1, orders) for _ in range(200)]
    refs = [f"#{n}" for n in numbers]
    emails = []
    wanted = set(refs)
    with export.open(encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            ref, email = line.split(",", 2)[:2]
            if ref in wanted and email:
                emails.append(email)
                wanted.discard(ref)
    env = _env(folder / "home", folder / "cache")
    out = subprocess.run(
        [sys.executable, "-c", LOOKUP, str(folder / "home"), ",".join(refs), ",".join(emails)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    first, median, top, bare = (float(x) for x in out.stdout.split())
    ok = median * 1000 <= 5 and first * 1000 <= 5
    return [
        f"| look-up, first of a process (table opened, checked against the book) | "
        f"{first * 1000:.2f} ms | | | ≤ 5 ms {'met' if first * 1000 <= 5 else '**not met**'} |",
        f"| look-up by order number or email, each later one (checked again), "
        f"{len(refs) * 2} look-ups | {median * 1000:.2f} ms (max {top * 1000:.2f}) | | "
        f"{median / bare:.1f}x | ≤ 5 ms {'met' if ok else '**not met**'} |",
        f"| baseline: the bare indexed query | {bare * 1000:.3f} ms | | 1.0x | |",
    ]


def new_first_prompt(recover: str, folder: Path, runs: int) -> list[str]:
    """`recover new -p general` to its first prompt with no order book and with a book
    of 100,000 orders, interleaved with `import typer`, in a terminal."""
    from ttyrun import Session, terminal_env

    with_orders = folder / "home"
    without = folder / "empty-home"
    without.mkdir(exist_ok=True)
    times: dict[str, list[float]] = {"typer": [], "none": [], "orders": []}
    scratch = Path(tempfile.mkdtemp(prefix="recover-bench-orders-"))
    try:
        for turn in range(runs + 1):
            for key, argv, home in (
                ("typer", [sys.executable, "-c", "import typer"], scratch),
                ("none", [recover, "new", "-p", "general"], without),
                ("orders", [recover, "new", "-p", "general"], with_orders),
            ):
                env = terminal_env(_env(home, folder / "cache"), home)
                session = Session(argv, env)
                try:
                    end = session.wait_end() if key == "typer" else session.wait_prompt(1)
                    if turn:
                        times[key].append(end - session.began)
                finally:
                    session.close()
            shutil.rmtree(with_orders / "cases", ignore_errors=True)
            shutil.rmtree(without / "cases", ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    med = {key: statistics.median(values) for key, values in times.items()}
    return [
        f"| `recover new -p general` → first prompt, no orders | {med['none'] * 1000:.0f} ms | "
        f"| {med['none'] / med['typer']:.2f}x `import typer` | ≤ 2.0x |",
        f"| the same with an order book of 100,000 orders | {med['orders'] * 1000:.0f} ms | | "
        f"{med['orders'] / med['typer']:.2f}x `import typer` | |",
        f'| baseline: `python -c "import typer"` | {med["typer"] * 1000:.0f} ms | | 1.00x | |',
    ]


def stats_rows(recover: str, stores: Path, book_export: Path, runs: int) -> list[str]:
    """`recover stats` on 100,000 cases, without orders and with a book of 100,000
    orders (every case's customer looked up for who bought again)."""
    from generate import generate

    cases = stores / "store-100000"  # the scale part's store, generated once
    if not (cases / ".generated").exists():
        print("orders: generating 100,000 cases", flush=True)
        shutil.rmtree(cases, ignore_errors=True)
        generate(100_000, cases)
        (cases / ".generated").write_text("orders.py")
    with_orders = stores / "orders" / "store-100000-orders"
    if not (with_orders / "orders").exists():
        shutil.rmtree(with_orders, ignore_errors=True)
        # The case files linked, not copied (stats only reads them); the index copied.
        shutil.copytree(
            cases,
            with_orders,
            copy_function=os.link,
            ignore=shutil.ignore_patterns("index.sqlite3*"),
        )
        subprocess.run(
            [recover, "orders", "import", str(book_export)],
            env=_env(with_orders, stores / "orders" / "cache"), check=True, capture_output=True,
        )  # fmt: skip
    times: dict[str, list[float]] = {"none": [], "orders": []}
    peaks: dict[str, int] = {}
    for turn in range(runs + 1):
        for key, home in (("none", cases), ("orders", with_orders)):
            seconds, peak = timed([recover, "stats"], _env(home, stores / "orders" / "cache"))
            if turn:  # the first round brings each index up to date
                times[key].append(seconds)
                peaks[key] = max(peaks.get(key, 0), peak)
    med = {key: statistics.median(values) for key, values in times.items()}
    return [
        f"| `recover stats` on 100,000 cases, no orders | {med['none']:.2f} s | "
        f"{peaks['none'] / 2**20:.0f} MB | 1.0x | ≤ 3 s |",
        f"| the same with 100,000 orders (who bought again) | {med['orders']:.2f} s | "
        f"{peaks['orders'] / 2**20:.0f} MB | {med['orders'] / med['none']:.2f}x | ≤ 3 s "
        f"{'met' if med['orders'] <= 3 else '**not met**'} |",
    ]


def measure(recover: str, stores: Path, runs: int, big: bool) -> list[str]:
    folder = stores / "orders"
    folder.mkdir(parents=True, exist_ok=True)
    export = folder / "shopify-100k.csv"
    if not export.exists():
        print("orders: writing a 100,000-row Shopify export", flush=True)
        shopify_export(export, 100_000)
    with export.open(encoding="utf-8") as handle:
        orders = len({line.split(",", 1)[0] for line in handle}) - 1
    rows = [
        f"A generated Shopify export: 100,000 rows, {orders:,} orders (1-3 line items each), "
        f"the 63 columns Shopify writes; {runs} runs of each, interleaved, medians; peak "
        "memory is the process's own (`wait4`). Ratios are to the `csv.reader` pass.",
        "",
        "| what | time | peak memory | ratio | budget |",
        "| --- | --- | --- | --- | --- |",
        *import_rows(recover, export, folder, runs, "100,000 rows"),
    ]
    if big:
        huge = folder / "shopify-200mb.csv"
        if not huge.exists():
            print("orders: writing a 200 MB Shopify export", flush=True)
            shopify_export(huge, BIG_ROWS, seed=16)
        with huge.open(encoding="utf-8") as handle:
            big_orders = len({line.split(",", 1)[0] for line in handle}) - 1
        rows += import_rows(
            recover, huge, folder / "big", 1, f"{BIG_ROWS:,} rows, {big_orders:,} orders", None
        )
        shutil.rmtree(folder / "big" / "home", ignore_errors=True)
    # A book of 100,000 orders for the look-ups and `recover new`.
    book_export = folder / "shopify-100k-orders.csv"
    if not book_export.exists():
        shopify_export(book_export, 10**7, seed=17, max_orders=100_000)
    shutil.rmtree(folder / "home", ignore_errors=True)
    subprocess.run(
        [recover, "orders", "import", str(book_export)],
        env=_env(folder / "home", folder / "cache"), check=True, capture_output=True,
    )  # fmt: skip
    rows += ["", "| look-up at 100,000 orders | time | | ratio | budget |",
             "| --- | --- | --- | --- | --- |", *lookups(folder, book_export, 100_000)]  # fmt: skip
    rows += ["", "| start-up | median | | ratio | budget |", "| --- | --- | --- | --- | --- |",
             *new_first_prompt(recover, folder, max(5, runs * 2))]  # fmt: skip
    rows += ["", "| stats | median | peak memory | ratio | budget |",
             "| --- | --- | --- | --- | --- |",
             *stats_rows(recover, stores, book_export, runs)]  # fmt: skip
    return rows


if __name__ == "__main__":
    started = time.perf_counter()
    found = shutil.which("recover")
    if found is None:
        raise SystemExit("`recover` is not on PATH: install the project first")
    root = Path(tempfile.gettempdir()) / "recover-bench-stores"
    print("\n".join(measure(found, root, 3, "--big" in sys.argv)))
    print(f"({time.perf_counter() - started:.0f} s)")
