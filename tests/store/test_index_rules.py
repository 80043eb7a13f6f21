"""The summary index's own rules, new with the redesign: it has a format of its own
(an upgrade that leaves the rows alone rebuilds nothing), every command that can
rebuild it says so on stderr, and every row a view shows is checked against its file
first (a case damaged in place is reported and left untouched)."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

import recovery_cli
from recovery_cli.case import (
    Case,
    Customer,
    MailIn,
    MailOut,
    MailThread,
    Outcome,
    PlaybookRef,
    new_case,
)
from recovery_cli.playbooks.check import parse_playbook
from recovery_cli.store import Store, encode
from recovery_cli.store import index as index_module
from recovery_cli.walk import Walk
from tests.conftest import SAMPLE, Run, full_refund

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)

# The digest of the rows of a few varied cases, for each row format. A change to what the index
# keeps (its columns, or what the projections put in them) changes the digest: bump
# FORMAT in store/index.py, so every index of the old format is rebuilt, and record
# the new digest here.
ROW_DIGESTS = {
    "3": "81d284a8b6b066ac0072409697afad8edaec0d769602b2cb23d6dc86cc110a4a",
    # The card of every case (list, customer and prevent are drawn from the rows).
    "4": "b3abd499c923328c3e3cf0da15e895cb6b2fa8830632fb26193d9e228768c093",
    # The customer in each case's facts (stats: who bought again after the case), and
    # the order's date, items and platform in the CSV cells.
    "5": "97c53d916babf5fb02045d78a04a6812e7827acc24efba55ec9024a7f35be572",
    # Every Message-ID of a case's mail (a message in the thread finds its case), and
    # how each follow-up's message went out.
    "6": "7ddf6cb29c1532b03d039a36c07c648d0ae8c79001b25cc483003b7315d05c0d",
    # When each case was made (newest first across machines, whose ids do not sort by
    # time), and case ids with a machine's letter (B17) as index keys.
    "7": "4a2ef158d6175d4e42e8198b2c269639ea1aa803a3b5960cf37e4e11daa362cc",
    # The facts stats count gain the remedies' kinds, the complaint's moment and the first
    # reply's (the monthly report's speed and remedy sections).
    "8": "733f57d4fb634366ba83d9cd0da7bbb9510e975a84b8914fdd8b630a64718c43",
}


def fixed_case(case_id: str = "1", name: str = "Dana Reyes") -> Case:
    """A case with something in every part of its row, at fixed times."""
    case = new_case(
        case_id,
        customer=Customer(
            name=name, email="dana@example.com", order="#1001", order_value=Decimal("29.00")
        ),
        playbook=PlaybookRef(id="general", title="General recovery", hash="sha256:" + "ab" * 32),
        currency="USD",
        now=T0,
    )
    case.set_remedies(
        "remedy",
        [full_refund("29.00")],
    )
    case.schedule_follow_up(
        "check-in", datetime(2026, 11, 5, 9, 30, tzinfo=UTC), "Is it working now?"
    )
    case.complete_walk(T0)
    case.set_outcome(Outcome(result="refunded", cause_tag="email", prevention="Check the link"), T0)
    return case


def walked_case(lines: list[str], case_id: str) -> Case:
    """A case walked through the engine with the sample playbook, one minute a line,
    then followed up, closed and its prevention done: every part a row is made of."""
    playbook = parse_playbook(SAMPLE.encode(), "sample.toml", stem="sample")
    ref = PlaybookRef(id="sample", title=playbook.title, hash=playbook.digest)
    case = new_case(
        case_id,
        customer=Customer(name="Zoë Ünal", order="=1+1", order_value=Decimal("19.50")),
        playbook=ref,
        currency="EUR",
        now=T0,
    )
    walk = Walk(playbook, case, {"seller": "Sam"})
    for minute, line in enumerate(lines, start=1):
        walk.submit(line, T0 + timedelta(minutes=minute))
    assert walk.finished
    later = T0 + timedelta(days=4)
    case.record_follow_up(1, reached=True, happy="not_yet", note="slow", now=later)
    case.add_follow_up(later + timedelta(days=2), "Better now?", later)
    case.cancel_follow_ups(later + timedelta(hours=1))
    case.set_outcome(
        Outcome(
            result="kept",
            satisfaction=4,
            root_cause="A broken link",
            cause_tag="email",
            prevention="Test the link",
        ),
        later,
    )
    case.finish_prevention(later + timedelta(days=1))
    return case


def mailed_case() -> Case:
    """A case begun by an email, with a reply sent and a follow-up's message drafted."""
    case = fixed_case("4", name="Kim Mailer")
    case.customer.email = "kim@example.com"
    case.mail = MailThread(
        messages=[
            MailIn(
                message_id="<in-1@example.com>",
                digest="ab" * 32,
                subject="Help",
                text="The link never came.",
                added_at=T0,
            )
        ],
        sent=[
            MailOut(
                message_id="<out-1@shop.example>",
                what="reply",
                to="kim@example.com",
                subject="Re: Help",
                via="smtp",
                status="sent",
                at=T0,
                sent_at=T0,
            ),
            MailOut(
                message_id="<out-2@shop.example>",
                what="follow-up",
                follow_up=1,
                to="kim@example.com",
                subject="Re: Help",
                via="draft",
                status="drafted",
                at=T0,
            ),
        ],
    )
    return case


def corpus() -> list[Case]:
    """Cases that between them fill every column of a row in every way it can be."""
    return [
        mailed_case(),
        fixed_case(),
        walked_case(["It never came", "", "n", "1,3", "T-99", ""], "2"),
        walked_case([":skip", "done it", "y", "2", "", ""], "3"),
    ]


def row_digest() -> str:
    rows = [index_module.row_of(case, 0, 0) for case in corpus()]
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()


def test_the_row_format_is_versioned() -> None:
    digest = row_digest()
    assert index_module.FORMAT in ROW_DIGESTS, "record the digest of the new format"
    assert ROW_DIGESTS[index_module.FORMAT] == digest, (
        f"the index rows changed (digest {digest}): bump FORMAT in store/index.py "
        "and record the new digest in ROW_DIGESTS"
    )


def store_of(home: Path, count: int) -> None:
    """``count`` case files, written plainly (as a copy or a restore leaves them)."""
    cases = home / "cases"
    cases.mkdir(parents=True, exist_ok=True)
    for number in range(1, count + 1):
        (cases / f"{number}.json").write_bytes(encode(fixed_case(str(number))))


def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The case files the index parses from now on."""
    seen: list[str] = []
    real = index_module.parse

    def counting(path: str | Path, raw: bytes) -> object:
        seen.append(os.path.basename(path))
        return real(path, raw)

    monkeypatch.setattr(index_module, "parse", counting)
    return seen


def test_an_upgrade_that_leaves_the_rows_alone_rebuilds_nothing(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_of(home, 5)
    with Store(home) as store:
        assert [row.id for row in store.stats_rows()] == [1, 2, 3, 4, 5]
    seen = reads(monkeypatch)
    monkeypatch.setattr(recovery_cli, "__version__", "99.0.0")
    with Store(home) as store:
        assert [row.id for row in store.stats_rows()] == [1, 2, 3, 4, 5]
    assert seen == []


def test_an_index_of_another_format_is_rebuilt(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store_of(home, 5)
    with Store(home) as store:
        list(store.stats_rows())
    seen = reads(monkeypatch)
    monkeypatch.setattr(index_module, "FORMAT", index_module.FORMAT + "-next")
    with Store(home) as store:
        assert [row.id for row in store.stats_rows()] == [1, 2, 3, 4, 5]
    assert sorted(seen) == [f"{n}.json" for n in range(1, 6)]


NOTE = f"! Indexing {index_module.NOTE_FROM + 1} case files; this happens once."


@pytest.mark.parametrize(
    "command",
    [
        ["list"],
        ["list", "--status", "closed"],
        ["customer", "dana"],
        ["followups"],
        ["stats"],
        ["prevent"],
        ["export", "-f", "csv"],
        ["resume"],
    ],
    ids=lambda c: " ".join(c),
)
def test_every_command_that_rebuilds_the_index_says_so_once(
    run: Run, home: Path, command: list[str]
) -> None:
    store_of(home, index_module.NOTE_FROM + 1)
    first = run(*command)
    assert first.exit_code in (0, 4), first.output  # resume: no unfinished case
    assert NOTE in first.stderr.splitlines()
    again = run(*command)
    assert NOTE not in again.stderr


def damage_in_place(path: Path) -> bytes:
    """Overwrite a case file's bytes in place: the cases folder keeps its mtime, so only
    a look at the file itself can tell."""
    folder = os.stat(path.parent)
    with open(path, "r+b") as handle:
        handle.write(b"{ not a case any more")
    os.utime(path.parent, ns=(folder.st_atime_ns, folder.st_mtime_ns))
    assert os.stat(path.parent).st_mtime_ns == folder.st_mtime_ns
    return path.read_bytes()


@pytest.mark.parametrize(
    ("command", "shows"),
    [
        (["list"], "Ann Lee"),
        (["list", "--json"], '"Ann Lee"'),
        (["customer", "example.com"], "Ann Lee"),
        (["customer", "example.com", "--json"], '"Ann Lee"'),
        (["followups"], "Ann Lee"),
        (["followups", "--json"], '"Ann Lee"'),
    ],
    ids=lambda c: " ".join(c) if isinstance(c, list) else "",
)
def test_a_case_damaged_in_place_is_reported_by_the_views_that_show_it(
    run: Run, home: Path, command: list[str], shows: str
) -> None:
    with Store(home) as store:
        for name in ("Dana Reyes", "Ann Lee"):
            case = store.create(lambda case_id, name=name: fixed_case(case_id, name))
            case.outcome = None
            case.settle_status(T0)
            store.release(case.id)
            store.save(case)
    assert run("list").exit_code == 0  # the index knows both, healthy
    damaged = damage_in_place(home / "cases" / "1.json")
    result = run(*command)
    assert result.exit_code == 0, result.output
    assert f"Warning: {home / 'cases' / '1.json'} is damaged (not JSON)" in result.stderr
    assert shows in result.stdout and "Dana Reyes" not in result.stdout
    assert (home / "cases" / "1.json").read_bytes() == damaged  # left untouched
