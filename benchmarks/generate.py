"""Make a realistic store of N cases, for the scale benchmarks.

    python benchmarks/generate.py 100000 /tmp/store-100k
    python benchmarks/generate.py 20000 /tmp/shop --orders   # and the shop's orders

Cases are made by the project's own engine: a few hundred walks through every shipped
playbook with varied answers, remedies and follow-ups, each then closed, followed up or
left open the way a shop's cases are. Every generated case is one of those walks moved
to its own date (spread over two years, oldest first, one id after another) with its
own customer; a share of customers come back more than once. The files are written in
the store's own format (``store.encode``); a sample is read back through the store to
prove they load. Writing skips the per-file fsync that a live save does: the store is
a fixture, not data to keep.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from recovery_cli.case import Customer, Outcome, PlaybookRef, new_case
from recovery_cli.playbooks.catalog import default_dir, load_file
from recovery_cli.playbooks.model import Playbook
from recovery_cli.store import Store, encode
from recovery_cli.walk import Walk

TEMPLATES = 240
SPAN = timedelta(days=730)
T0 = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
# A shop's customers: a few thousand distinct names, as a real customer list has.
FIRST = [
    *("Dana", "Ann", "Lee", "Sam", "Kim", "Ola", "Raj", "Mia", "Tom", "Ivy", "Noor", "Eli"),
    *("Ana", "Ben", "Cleo", "Dev", "Emma", "Finn", "Gia", "Hugo", "Iris", "Jon", "Kai", "Lena"),
    *("Max", "Nia", "Omar", "Pia", "Quinn", "Rosa", "Sven", "Tara", "Uma", "Vic", "Wen", "Xena"),
    *("Yusuf", "Zoe", "Ada", "Bo"),
]
LAST = [
    *("Reyes", "Lee", "Okafor", "Smith", "Novak", "Haddad", "Berg", "Ito", "Silva", "Khan"),
    *("Adams", "Brown", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Ivanova"),
    *("Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Olsen", "Patel", "Quinn", "Rossi"),
    *("Sato", "Torres", "Ueda", "Varga", "Weber", "Xu", "Yilmaz", "Zhang", "Ali", "Baker"),
    *("Chen", "Diaz"),
]
CAUSES = [
    ("Download link expired", "links"),
    ("Wrong file attached to the order", "fulfilment"),
    ("Payment went through twice", "payments"),
    ("Update broke the template", "releases"),
    ("Shipped the wrong edition", "fulfilment"),
    ("Email landed in spam", "email"),
    ("Checkout page timed out", "checkout"),
    ("Licence key not sent", "licences"),
]
CHANNELS = ["phone", "email", "chat", "phone", "email"]
# Stand-ins for the customer's names in a template's rendered messages.
FIRST_MARK, LAST_MARK = "@@first@@", "@@last@@"
# Cases opened within this many days may still have follow-ups to do.
RECENT = timedelta(days=12)


def _line(walk: Walk, rng: random.Random) -> str:
    step = walk.current
    assert step is not None
    if rng.random() < 0.05 and not (step.ask and step.ask.required):
        return ":skip"
    if step.offer:
        count = len(step.offer)
        if step.pick == "one":
            return str(rng.randint(1, count))
        picks = sorted(rng.sample(range(1, count + 1), rng.randint(1, min(2, count))))
        return ",".join(map(str, picks))
    kind = step.capture_type
    if kind == "yesno":
        return rng.choice("yn")
    if kind == "choice":
        assert step.ask is not None
        return str(rng.randint(1, len(step.ask.choices)))
    if kind in ("money", "number"):
        return rng.choice(["5", "12.50", "30"])
    if kind == "note":
        return rng.choice(["", "", "Sent it from my own address", "They were calm by now"])
    return rng.choice(
        [
            "Paid yesterday, the link never came",
            "The file will not open on my tablet",
            "Got the paperback instead of the hardback, again",
            "Charged twice for one order",
            "It stopped working after the update",
        ]
    )


def _template(playbook: Playbook, rng: random.Random) -> tuple[str, str]:
    """One walk through ``playbook`` at T0, as JSON text twice: just after the call
    (follow-ups still to do) and with an ending chosen at random."""
    ref = PlaybookRef(id=playbook.id, title=playbook.title, hash=playbook.digest)
    value = Decimal(rng.choice(["9.00", "19.50", "29.00", "45.00", "120.00"]))
    customer = Customer(name=f"{FIRST_MARK} {LAST_MARK}", order_value=value)
    case = new_case("1", customer=customer, playbook=ref, currency="USD", now=T0)
    walk = Walk(playbook, case, {"seller": "Sam", "business": "Sam's Templates", "currency": "USD"})
    now = T0
    for _ in range(200):
        if walk.finished:
            break
        now += timedelta(seconds=rng.randint(5, 90))
        walk.begin(now)
        walk.submit(_line(walk, rng), now)
    walk.settle(now)
    after_call = encode(case).decode("utf-8")
    ending = rng.random()
    later = now
    for item in list(case.pending_follow_ups()):
        later = item.due_at + timedelta(hours=rng.choice([1, 3, 30]))
        happy = rng.choice(["yes", "yes", "not_yet"])
        case.record_follow_up(item.id, reached=rng.random() < 0.85, happy=happy, note="", now=later)
    if ending > 0.3:
        cause, tag = rng.choice(CAUSES)
        outcome = Outcome(
            result=rng.choice(["kept"] * 6 + ["refunded"] * 2 + ["lost", "escalated"]),
            satisfaction=rng.choice([None, 2, 3, 4, 4, 5, 5]),
            root_cause=cause,
            cause_tag=tag,
            prevention=rng.choice(["", "Send links that last a month", "Check the edition"]),
        )
        case.set_outcome(outcome, later + timedelta(minutes=5))
        if outcome.prevention and rng.random() < 0.5:
            case.finish_prevention(later + timedelta(days=3))
    return after_call, encode(case).decode("utf-8")


def _times(node: Any, path: list[tuple[Any, Any]]) -> None:
    """Collect (container, key) of every UTC timestamp in a case's JSON."""
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)  # type: ignore[assignment]
    else:
        return
    for key, value in items:
        if isinstance(value, str) and len(value) == 20 and value.endswith("Z") and value[10] == "T":
            path.append((node, key))
        else:
            _times(value, path)


def _shift(value: str, delta: timedelta) -> str:
    moved = datetime.fromisoformat(value) + delta
    return moved.strftime("%Y-%m-%dT%H:%M:%SZ")


def _by_email(data: dict[str, Any], number: int, rng: random.Random) -> None:
    """Make a case an email's: the complaint arrived a while before the seller opened
    the case, and the reply went out a while after the walk. A slow answer loses some
    customers who would have stayed (as complaint-handling research finds), so the
    report's speed section has something true to show."""
    opened = datetime.fromisoformat(data["created_at"])
    waited = timedelta(hours=rng.choice([0.2, 0.5, 1, 2, 3, 6, 10, 20, 30, 50, 80]))
    walked = datetime.fromisoformat(data.get("walk_completed_at") or data["created_at"])
    replied = walked + timedelta(minutes=rng.choice([2, 5, 10, 30, 90, 240]))
    name, email = data["customer"]["name"], data["customer"]["email"]
    data["mail"] = {
        "messages": [
            {
                "message_id": f"<complaint-{number}@example.com>",
                "subject": f"Problem with order {data['customer']['order']}",
                "date": _utc(opened - waited),
                "sender": email,
                "name": name,
                "text": "Paid yesterday, the link never came",
                "added_at": data["created_at"],
            }
        ],
        "sent": [
            {
                "message_id": f"<reply-{number}@shop.example>",
                "what": "reply",
                "to": email,
                "subject": f"Re: Problem with order {data['customer']['order']}",
                "via": "smtp",
                "status": "sent",
                "at": _utc(replied),
                "sent_at": _utc(replied),
            }
        ],
        "reply": "",
    }
    outcome = data.get("outcome")
    hours = (replied - opened + waited) / timedelta(hours=1)
    if outcome and outcome["result"] == "kept" and rng.random() < min(0.5, hours / 150):
        outcome["result"] = "lost"


class _Shop:
    """The orders behind the generated cases, written as a Shopify export: each case's
    own order a few days before it, and for a share of customers (by outcome, see
    :data:`AGAIN`) another order within four months after it."""

    def __init__(self, path: Path, rng: random.Random) -> None:
        from orders import HEADER

        self.path, self.rng, self.orders = path, rng, 0
        self.columns = HEADER.split(",")
        self.out = path.open("w", encoding="utf-8", newline="")
        self.out.write(HEADER + "\r\n")

    def add(self, data: dict[str, Any], created: datetime) -> None:
        customer = data["customer"]
        value = customer.get("order_value") or "25.00"
        self._order(
            customer, customer["order"], created - timedelta(days=self.rng.randint(1, 9)), value
        )
        outcome = (data.get("outcome") or {}).get("result")
        if self.rng.random() < AGAIN[outcome]:
            later = created + timedelta(days=self.rng.randint(5, 120))
            if later < datetime.now(UTC):
                self._order(
                    customer,
                    f"{customer['order']}-B",
                    later,
                    self.rng.choice(["19.00", "29.00", "45.00"]),
                )

    def _order(self, customer: dict[str, Any], ref: str, when: datetime, total: str) -> None:
        self.orders += 1
        day = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S +0000")
        cell = {
            "Name": ref, "Email": customer["email"], "Created at": day, "Paid at": day,
            "Financial Status": "paid", "Fulfillment Status": "fulfilled", "Currency": "USD",
            "Subtotal": total, "Total": total, "Shipping": "0.00", "Taxes": "0.00",
            "Discount Amount": "0.00", "Refunded Amount": "0.00", "Lineitem quantity": "1",
            "Lineitem name": "Template pack", "Lineitem price": total, "Lineitem sku": "TP-1",
            "Billing Name": customer["name"], "Id": str(self.orders),
        }  # fmt: skip
        self.out.write(",".join(cell.get(name, "") for name in self.columns) + "\r\n")

    def close(self) -> None:
        self.out.close()


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# Who orders again after their case (the share of customers, by outcome), when the
# store is generated with its orders: the pattern recovery research reports, roughly.
AGAIN = {"kept": 0.45, "refunded": 0.2, "lost": 0.06, "escalated": 0.15, None: 0.25}


def generate(count: int, home: Path, seed: int = 1, orders: Path | None = None) -> Path:
    """Write ``count`` cases into ``home/cases`` and return the folder; with
    ``orders``, also a Shopify export there of the orders the cases were about, and of
    the later orders of customers who came back, imported into the home."""
    rng = random.Random(seed)
    shop = _Shop(orders, random.Random(seed + 1)) if orders is not None else None
    playbooks = [load_file(p, origin="default") for p in sorted(default_dir().glob("*.toml"))]
    templates = [_template(playbooks[i % len(playbooks)], rng) for i in range(TEMPLATES)]
    folder = home / "cases"
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    os.chmod(folder, 0o700)
    people = max(50, count // 3)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - SPAN
    step = SPAN / max(count, 1)
    for number in range(1, count + 1):
        created = start + step * (number - 1) + timedelta(seconds=rng.randint(0, 60))
        # Recent cases are often still waiting for their follow-ups; older ones have
        # had them done, bar the odd one a busy seller missed.
        pending = rng.random() < (0.6 if now - created < RECENT else 0.01)
        # A few customers come back again and again; most appear once or twice.
        regular = rng.random() < 0.3
        person = int(rng.paretovariate(1.2)) % people if regular else rng.randrange(people)
        first = FIRST[person % len(FIRST)]
        last = LAST[(person * 7 + person // len(FIRST)) % len(LAST)]
        text = templates[rng.randrange(TEMPLATES)][0 if pending else 1]
        data = json.loads(text.replace(FIRST_MARK, first).replace(LAST_MARK, last))
        delta = created.replace(microsecond=0) - T0
        spots: list[tuple[Any, Any]] = []
        _times(data, spots)
        for container, key in spots:
            container[key] = _shift(container[key], delta)
        data["id"] = str(number)
        data["customer"].update(
            name=f"{first} {last}",
            email=f"{first.lower()}.{last.lower()}{person}@example.com",
            order=f"A-{100000 + number}",
            channel=rng.choice(CHANNELS),
        )
        for remedy in data["remedies"]:
            if remedy.get("kind") == "refund":
                remedy["amount"] = data["customer"]["order_value"]
        if data["customer"]["channel"] == "email":
            _by_email(data, number, rng)
        if shop is not None:
            shop.add(data, created)
        path = folder / f"{number}.json"
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    if shop is not None:
        shop.close()
        from recovery_cli.orders.importing import import_files

        began = time.perf_counter()
        import_files(home, [shop.path])
        print(f"  imported {shop.orders} orders in {time.perf_counter() - began:.1f} s")
    store = Store(home)
    for number in rng.sample(range(1, count + 1), min(count, 50)):
        store.load(str(number))  # raises if a generated case would not load
    # The summary index, as the first command after an upgrade would build it.
    began = time.perf_counter()
    store.index.rebuild()
    store.index.close()
    print(f"  indexed {count} cases in {time.perf_counter() - began:.1f} s", flush=True)
    return folder


def main() -> None:
    """Command line: the number of cases and the home to write them into."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int)
    parser.add_argument("home", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--orders",
        action="store_true",
        help="also write the shop's orders (HOME-orders.csv beside the home) and import them",
    )
    args = parser.parse_args()
    if (args.home / "cases").exists() and any((args.home / "cases").iterdir()):
        sys.exit(f"{args.home} already holds cases; give an empty folder")
    began = time.perf_counter()
    orders = args.home.parent / f"{args.home.name}-orders.csv" if args.orders else None
    generate(args.count, args.home, args.seed, orders)
    print(f"{args.count} cases in {args.home} ({time.perf_counter() - began:.1f} s)")


if __name__ == "__main__":
    main()
