"""`recover export`: round trips against the case files, CSV safety, filters, `-o FILE`,
streaming memory, and real pipes."""

from __future__ import annotations

import csv
import io
import json
import os
import shlex
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from recovery_cli import export
from recovery_cli.case import (
    Case,
    Customer,
    FollowUpRecord,
    Outcome,
    PlaybookRef,
    Remedy,
    StepRecord,
    case_to_json,
    new_case,
)
from recovery_cli.projections import CSV_COLUMNS, csv_row, neutralise
from recovery_cli.store import encode
from tests.conftest import SAMPLE, Run, read_case, umask

# What the README promises: a text cell starting with one of these gets a leading quote
# (and so does one that already starts with a quote); numbers and times never do.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT_COLUMNS = {
    "status",
    "customer_name",
    "customer_email",
    "order",
    "channel",
    "currency",
    "playbook_id",
    "playbook_title",
    "remedies",
    "outcome",
    "root_cause",
    "cause_tag",
    "prevention",
}
HASH = "sha256:" + "ab" * 32


def restore(cell: str) -> str:
    """The text a neutralised cell stands for (what a script reading the CSV does)."""
    return cell[1:] if cell.startswith("'") else cell


T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


# -- helpers ---------------------------------------------------------------------------
def inert(text: str) -> str:
    """How the README says a text cell is written: quoted when it could be a formula."""
    return "'" + text if text.startswith((*FORMULA_STARTS, "'")) else text


def csv_records(raw: bytes | str) -> list[dict[str, str]]:
    """The rows of a CSV export by column, after checking the header."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == list(CSV_COLUMNS)
    assert all(len(row) == len(CSV_COLUMNS) for row in rows)
    return [dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]]


def expected_row(case: dict[str, Any]) -> dict[str, str]:
    """The CSV row of a case file, worked out from its JSON (before neutralising)."""
    customer = case["customer"]
    outcome = case["outcome"] or {}
    pending = [f for f in case["follow_ups"] if f["done_at"] is None]
    pending.sort(key=lambda f: datetime.fromisoformat(f["due_at"]))
    remedies = "; ".join(
        r["label"]
        + (f" ({r['kind']})" if r["kind"] else "")
        + (f" {r['amount']}" if r["amount"] else "")
        for r in case["remedies"]
    )
    total = sum((Decimal(r["amount"]) for r in case["remedies"] if r["amount"]), Decimal(0))
    satisfaction = outcome.get("satisfaction")
    return {
        "id": case["id"],
        "created_at": case["created_at"],
        "updated_at": case["updated_at"],
        "status": case["status"],
        "walk_completed_at": case["walk_completed_at"] or "",
        "customer_name": customer["name"],
        "customer_email": customer["email"],
        "order": customer["order"],
        "order_value": customer["order_value"] or "",
        "channel": customer["channel"],
        "currency": case["currency"],
        "playbook_id": case["playbook"]["id"],
        "playbook_title": case["playbook"]["title"],
        "remedies": remedies,
        "remedy_total": f"{total:.2f}",
        "follow_ups_pending": str(len(pending)),
        "follow_ups_done": str(sum(f["done_at"] is not None for f in case["follow_ups"])),
        "next_follow_up_due": pending[0]["due_at"] if pending else "",
        "outcome": outcome.get("result", ""),
        "satisfaction": str(satisfaction) if satisfaction else "",
        "root_cause": outcome.get("root_cause", ""),
        "cause_tag": outcome.get("cause_tag", ""),
        "prevention": outcome.get("prevention", ""),
        "steps_answered": str(sum(s["status"] != "skipped" for s in case["steps"])),
        "steps_skipped": str(sum(s["status"] == "skipped" for s in case["steps"])),
        "closed_at": case.get("closed_at") or "",
        "prevention_done_at": outcome.get("prevention_done_at") or "",
    }


def assert_row_matches(row: dict[str, str], case: dict[str, Any]) -> None:
    """A CSV row says what the case file says, text cells neutralised, numbers bare."""
    for column, value in expected_row(case).items():
        cell = row[column]
        if column in TEXT_COLUMNS:
            assert restore(cell) == value, (case["id"], column)
            assert cell == inert(value), (case["id"], column)
        else:
            assert cell == value, (case["id"], column)
        assert not cell.startswith(FORMULA_STARTS), (case["id"], column)


def make_case(
    case_id: str,
    *,
    created: datetime = T0,
    status: str = "open",
    playbook: str = "general",
    remedies: tuple[str, ...] = (),
    name: str = "",
    email: str = "",
    order: str = "",
    value: Decimal | None = None,
) -> Case:
    """A case built from the models, with the details a filter looks at."""
    case = new_case(
        case_id,
        customer=Customer(name=name, email=email, order=order, order_value=value),
        playbook=PlaybookRef(id=playbook, title=playbook.replace("-", " ").title(), hash=HASH),
        currency="USD",
        now=created,
    )
    case.status = status  # type: ignore[assignment]
    case.remedies = [
        Remedy(
            step="remedy",
            offer=kind,
            label=f"The {kind}",
            kind=kind,
            amount=Decimal("10.00") if kind in ("refund", "credit") else None,
            currency="USD",
        )
        for kind in remedies
    ]
    return case


def save_case(home: Path, case: Case) -> None:
    """Write a case file the way the store encodes it (no fsync: tests only)."""
    cases = home / "cases"
    cases.mkdir(parents=True, exist_ok=True)
    (cases / f"{case.id}.json").write_bytes(encode(case))


def realistic_case() -> Case:
    """A case as a finished not-delivered walk leaves it (about 3 kB on disk)."""
    case = new_case(
        "1",
        customer=Customer(
            name="Dana Reyes",
            email="dana@example.com",
            order="A-1001",
            order_value=Decimal("29.00"),
            channel="phone",
        ),
        playbook=PlaybookRef(id="not-delivered", title="Digital product not delivered", hash=HASH),
        currency="USD",
        now=T0,
    )
    walked: list[tuple[str, str, str, Any]] = [
        ("listen", "complaint", "text", "The download link never came"),
        ("arrived-check", "arrived", "yesno", False),
        ("make-good", "make-good", "offer", ["refund", "credit"]),
        ("root-cause", "root_cause", "text", "Link expiry far too short"),
        ("happy-now", "happy_now", "yesno", True),
    ]
    for minute, (step, key, kind, answer) in enumerate(walked):
        at = T0 + timedelta(minutes=minute)
        case.steps.append(
            StepRecord(
                id=step,
                title=step.replace("-", " ").capitalize(),
                status="answered",
                type=kind,
                key=key,
                answer=answer,
                started_at=at,
                ended_at=at,
            )
        )
    case.set_remedies(
        "make-good",
        [
            Remedy(
                step="make-good",
                offer="refund",
                label="Full refund, and keep the product",
                kind="refund",
                amount=Decimal("29.00"),
                currency="USD",
            ),
            Remedy(
                step="make-good",
                offer="credit",
                label="Credit towards their next purchase",
                kind="credit",
                amount=Decimal("10.00"),
                currency="USD",
            ),
        ],
    )
    case.schedule_follow_up(
        "check-in", T0 + timedelta(days=1), "Hi Dana, just making sure your download works."
    )
    case.complete_walk(T0 + timedelta(minutes=9))
    return case


def fill_store(home: Path, first: int, last: int) -> None:
    """Case files ``first``..``last``: copies of one realistic case, written plainly."""
    head, tail = encode(realistic_case()).split(b'"id": "1"', 1)
    cases = home / "cases"
    cases.mkdir(parents=True, exist_ok=True)
    for number in range(first, last + 1):
        (cases / f"{number}.json").write_bytes(b'%s"id": "%d"%s' % (head, number, tail))


def exported_ids(run: Run, fmt: str, *args: str) -> list[str]:
    """The case ids an export prints, in order, read the way a script would."""
    result = run("export", "-f", fmt, *args)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    raw = result.stdout_bytes
    if fmt == "csv":
        return [row["id"] for row in csv_records(raw)]
    if fmt == "json":
        return [case["id"] for case in json.loads(raw)]
    return [json.loads(line)["id"] for line in raw.decode("utf-8").splitlines()]


# -- 1. round trip through the real CLI --------------------------------------------------
ANSWERS: list[tuple[str, dict[str, Any]]] = [
    (
        "formula.toml",
        {
            "playbook": "not-delivered",
            "customer": {
                "name": "=SUM(A1)",
                "email": "@home",
                "order": '-x, "quoted"\nsecond line',
                "order_value": "19.50",
                "channel": "+1 555",
            },
            "answers": {
                "complaint": "=cmd|' /C calc'!A0",
                "email_right": True,
                "cause_explained": "The link expired",
                "arrived": False,
                "wants": "Their money back",
                "make-good": ["refund", "credit"],
                "root_cause": "-short expiry",
                "prevention": "Longer links",
                "happy_now": False,
            },
        },
    ),
    (
        "quotes.json",
        {
            "playbook": "refund-request",
            "customer": {
                "name": 'Zoë "Zed" O\'Brien, Jr.',
                "email": "zoë@exämple.com",
                "order": "A,B;C",
                "order_value": "$1,250.00",
                "channel": "chat",
            },
            "answers": {
                "complaint": "Too slow, sorry",
                "options": "refund",
                "fell_short": "Speed",
                "real_fault": False,
                "parting-gift": ["keep-it", "discount"],
                "happy_now": True,
            },
        },
    ),
    (
        "dash.toml",
        {
            "playbook": "general",
            "customer": {"name": "-x", "email": "x@example.com", "order": "@home"},
            "answers": {"complaint": "It broke", "remedy": ["fix"], "happy_now": True},
        },
    ),
    (
        "quote.json",
        {
            "playbook": "wrong-item",
            "customer": {
                "name": "'quoted start",
                "email": "d@example.com",
                "order": "+44 20 7946 0958",
                "order_value": "0.5",
                "channel": "@twitter",
            },
            "answers": {
                "happened_before": True,
                "remedy": ["refund", "keep-wrong"],
                "extra-mile": ["credit-again"],
                "happy_now": False,
            },
        },
    ),
    (
        "unicode.toml",
        {
            "playbook": "sample",
            "customer": {
                "name": "Łukasz 東京 🙂",
                "email": "łukasz@例え.jp",
                "order": "Ω-1",
                "order_value": "40",
            },
            "answers": {
                "complaint": "Never came",
                "arrived": False,
                "remedy": ["refund", "credit"],
                "ticket": "T-1",
            },
            "notes": {"sorry": "Accepted, with a sigh; then laughed"},
        },
    ),
]


def odd_case(case_id: str) -> dict[str, Any]:
    """A closed case with what no walk writes yet: an outcome, a done follow-up, a skipped
    step, cells starting with a tab or CR, a remedy without kind, and unknown fields."""
    case = make_case(
        case_id,
        created=T0 - timedelta(days=3),
        status="closed",
        playbook="general",
        name="\r\nstarts with CR",
        value=Decimal("7.00"),
    )
    case.currency = "GBP"
    case.walk_completed_at = T0 - timedelta(days=3)
    case.steps = [
        StepRecord(
            id=step, title=step, status=status, started_at=T0, ended_at=T0, key=step, answer=None
        )
        for step, status in (("listen", "answered"), ("explain", "skipped"))
    ]
    case.remedies = [
        Remedy(step="remedy", offer="goodwill", label="Goodwill, no kind", currency="GBP"),
        Remedy(
            step="remedy",
            offer="gift",
            label="+ a gift",
            kind="gift",
            amount=Decimal("5.00"),
            currency="GBP",
        ),
    ]
    case.follow_ups = [
        FollowUpRecord(
            id=1, due_at=T0, message="Done", done_at=T0, result="reached", happy="not_yet"
        ),
        FollowUpRecord(id=2, due_at=T0 + timedelta(days=7), message="Later"),
        FollowUpRecord(id=3, due_at=T0 + timedelta(days=2), message="Sooner"),
    ]
    case.outcome = Outcome(
        result="refunded",
        satisfaction=4,
        root_cause='=HYPERLINK("http://x","y")',
        cause_tag="-courier",
        prevention="\tcheck labels\r\nweekly",
        prevention_done_at=T0 + timedelta(days=3),
    )
    case.closed_at = T0 + timedelta(days=1)
    data = case_to_json(case)
    data["customer"]["vip"] = True  # a newer tool's fields: exported as stored
    data["x_crm"] = {"ticket": 5, "tags": ["a", "b"]}
    return data


@pytest.fixture
def mixed_cases(
    run: Run, home: Path, tmp_path: Path, user_playbook: Callable[[str, str], Path]
) -> list[str]:
    """Five cases made by `recover new --answers FILE --no-input` (TOML and JSON files,
    four shipped playbooks and one of the home's own, USD then EUR) and one odd case
    written straight to disk."""
    user_playbook("sample", SAMPLE)
    ids = []
    for name, data in ANSWERS:
        if data["playbook"] == "sample":
            assert run("config", "set", "currency", "EUR").exit_code == 0
        path = tmp_path / name
        text = json.dumps(data, ensure_ascii=False) if name.endswith(".json") else None
        path.write_text(text or tomli_w.dumps(data), encoding="utf-8")
        result = run("new", "--answers", str(path), "--no-input")
        assert result.exit_code == 0, result.output
        ids.append(result.stdout.strip())
    assert ids == ["1", "2", "3", "4", "5"]
    data = odd_case("6")
    (home / "cases" / "6.json").write_text(
        json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return [*ids, "6"]


def made_order(home: Path, ids: list[str]) -> list[str]:
    """Ids oldest first, as exports list them: by when each case was made (the ids of
    two machines do not sort by time), then by id."""
    from recovery_cli.sync.ids import key_of

    return sorted(ids, key=lambda i: (read_case(home, i)["created_at"], key_of(i)))


def test_csv_round_trip_matches_the_case_files(
    run: Run, home: Path, mixed_cases: list[str]
) -> None:
    result = run("export")  # csv is the default
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    raw = result.stdout_bytes
    assert raw.startswith(",".join(CSV_COLUMNS).encode() + b"\r\n")
    rows = csv_records(raw)
    assert [row["id"] for row in rows] == made_order(home, mixed_cases)
    for row, case_id in zip(rows, made_order(home, mixed_cases), strict=True):
        assert_row_matches(row, read_case(home, case_id))
    first, second, third, fourth, fifth, odd = sorted(rows, key=lambda r: int(r["id"]))
    # Spot checks of what the case files hold, so the comparison is not vacuous.
    assert first["customer_name"] == "'=SUM(A1)"
    assert (first["customer_email"], first["channel"]) == ("'@home", "'+1 555")
    assert first["order"] == '\'-x, "quoted"\nsecond line'
    assert (first["order_value"], first["remedy_total"]) == ("19.50", "29.50")
    assert first["playbook_id"] == "not-delivered" and first["status"] == "awaiting_follow_up"
    assert second["customer_name"] == 'Zoë "Zed" O\'Brien, Jr.'
    assert (second["order_value"], second["remedy_total"]) == ("1250.00", "1260.00")
    assert (third["customer_name"], third["order_value"]) == ("'-x", "")
    assert third["remedy_total"] == "0.00"
    assert (fourth["customer_name"], fourth["order_value"]) == ("''quoted start", "0.50")
    assert fourth["remedy_total"] == "25.50"
    assert (fifth["customer_name"], fifth["currency"]) == ("Łukasz 東京 🙂", "EUR")
    assert odd["customer_name"] == "'\r\nstarts with CR"
    assert odd["remedies"] == "Goodwill, no kind; + a gift (gift) 5.00"
    assert (odd["outcome"], odd["satisfaction"], odd["cause_tag"]) == ("refunded", "4", "'-courier")
    assert odd["prevention"] == "'\tcheck labels\r\nweekly"
    assert (odd["follow_ups_pending"], odd["follow_ups_done"]) == ("2", "1")
    assert odd["next_follow_up_due"] == "2026-11-04T09:30:00Z"
    assert (odd["steps_answered"], odd["steps_skipped"]) == ("1", "1")


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_round_trip_is_each_case_exactly_as_stored(
    run: Run, home: Path, mixed_cases: list[str], fmt: str
) -> None:
    result = run("export", "--format", fmt)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    raw = result.stdout_bytes.decode("utf-8")
    if fmt == "json":
        exported = json.loads(raw)
    else:
        assert raw.endswith("\n")
        lines = raw.split("\n")[:-1]
        assert len(lines) == len(mixed_cases)  # one case per line, no raw newline inside
        exported = [json.loads(line) for line in lines]
    stored = [read_case(home, case_id) for case_id in made_order(home, mixed_cases)]
    assert exported == stored
    # Exactly as stored: key order too, unknown fields included, non-ASCII unescaped.
    assert json.dumps(exported, ensure_ascii=False) == json.dumps(stored, ensure_ascii=False)
    odd = next(case for case in exported if case["id"] == "6")
    assert odd["x_crm"] == {"ticket": 5, "tags": ["a", "b"]}
    assert odd["customer"]["vip"] is True
    assert "Łukasz 東京 🙂" in raw and "=SUM(A1)" in raw


def test_empty_store_exports(run: Run, home: Path) -> None:
    assert run("export", "-f", "json").stdout == "[]\n"
    assert run("export", "-f", "jsonl").stdout == ""
    assert run("export").stdout_bytes == ",".join(CSV_COLUMNS).encode() + b"\r\n"


# -- 2. CSV safety -----------------------------------------------------------------------
risky_text = st.one_of(
    st.text(),
    st.builds(lambda start, rest: start + rest, st.sampled_from([*FORMULA_STARTS, "'"]), st.text()),
    st.builds(
        lambda start, rest: start + rest,
        st.text(alphabet="=+-@\t\r'\" ,\n", min_size=1, max_size=6),
        st.text(),
    ),
)


@given(risky_text)
def test_neutralise_is_inert_and_restore_gives_the_text_back(text: str) -> None:
    cell = neutralise(text)
    assert not cell.startswith(FORMULA_STARTS)
    assert restore(cell) == text
    assert cell == inert(text)  # unchanged unless it could be a formula (or starts with ')


@settings(max_examples=60, deadline=None)
@given(name=risky_text, order=risky_text, label=risky_text)
def test_any_text_survives_a_csv_file_and_no_cell_is_a_formula(
    name: str, order: str, label: str
) -> None:
    case = make_case("7", name=name, order=order, value=Decimal("19.50"), remedies=("refund",))
    case.remedies[0].label = label
    sink = io.StringIO(newline="")
    picked = export.Picked("7.json", csv_row(case))  # as the index keeps the row
    count = export.write(sink, [picked], "csv", on_damaged=print)
    assert count == 1
    (row,) = csv_records(sink.getvalue())
    assert restore(row["customer_name"]) == name
    assert restore(row["order"]) == order
    assert restore(row["remedies"]) == f"{label} (refund) 10.00"
    assert (row["order_value"], row["remedy_total"]) == ("19.50", "10.00")
    assert not any(cell.startswith(FORMULA_STARTS) for cell in row.values())


def test_csv_row_keeps_numbers_as_numbers() -> None:
    case = make_case("12", name="=1+2", order="-5", value=Decimal("19.50"), remedies=("refund",))
    case.follow_ups = [FollowUpRecord(id=1, due_at=T0, message="hi")]
    row = dict(zip(CSV_COLUMNS, csv_row(case), strict=True))
    assert (row["customer_name"], row["order"]) == ("'=1+2", "'-5")
    assert row["id"] == "12"
    assert (row["order_value"], row["remedy_total"]) == ("19.50", "10.00")
    assert (row["follow_ups_pending"], row["follow_ups_done"]) == ("1", "0")
    assert (row["created_at"], row["next_follow_up_due"]) == ("2026-11-02T09:30:00Z",) * 2
    assert (row["steps_answered"], row["steps_skipped"], row["satisfaction"]) == ("0", "0", "")


def test_formula_names_are_neutralised_in_csv_and_verbatim_in_json(
    run: Run, home: Path, tmp_path: Path
) -> None:
    evil = "=cmd|' /C calc'!A0"
    answers = tmp_path / "evil.toml"
    answers.write_text(
        tomli_w.dumps(
            {
                "playbook": "general",
                "customer": {"name": evil, "order": "@SUM(1)", "order_value": "19.50"},
                "answers": {"complaint": evil, "remedy": ["refund"]},
            }
        ),
        encoding="utf-8",
    )
    assert run("new", "--answers", str(answers), "--no-input").stdout == "1\n"

    raw_csv = run("export", "-f", "csv").stdout_bytes.decode("utf-8")
    data_line = raw_csv.split("\r\n")[1]
    assert f",'{evil},," in data_line  # name: one quote in front, nothing else
    assert ",'@SUM(1),19.50," in data_line  # the number right after it: bare
    assert ",19.50,1,0," in data_line  # remedy_total and follow-up counts: bare
    (row,) = csv_records(raw_csv)
    assert (row["customer_name"], row["order_value"]) == ("'" + evil, "19.50")

    for fmt in ("json", "jsonl"):
        raw = run("export", "-f", fmt).stdout
        assert json.dumps(evil) in raw
        assert "'" + evil not in raw and "'@SUM(1)" not in raw
    assert json.loads(run("export", "-f", "json").stdout) == [read_case(home, "1")]
    assert read_case(home, "1")["customer"]["name"] == evil


# -- 3. filters --------------------------------------------------------------------------
@pytest.fixture
def local_tz() -> Iterator[Callable[[str], None]]:
    """Set the local time zone (POSIX TZ) for the test; restored afterwards."""
    before = os.environ.get("TZ")

    def use(zone: str) -> None:
        os.environ["TZ"] = zone
        time.tzset()

    try:
        yield use
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.fixture
def filter_home(home: Path, local_tz: Callable[[str], None]) -> Path:
    """Five cases with known dates (local time = UTC), statuses, playbooks, remedies and
    customers; ids 1, 2, 3, 9, 10 so that oldest-first is numeric, not by name."""
    local_tz("UTC0")
    for case in (
        make_case(
            "1",
            created=datetime(2026, 10, 31, 12, tzinfo=UTC),
            name="Dana Reyes",
            email="dana@example.com",
            order="A-1001",
        ),
        make_case(
            "2",
            created=datetime(2026, 11, 1, tzinfo=UTC),
            status="awaiting_follow_up",
            playbook="not-delivered",
            remedies=("refund",),
            name="Zoë Ünal",
            email="zoe@EXAMPLE.org",
            order="B-2002",
        ),
        make_case(
            "3",
            created=datetime(2026, 11, 15, 8, tzinfo=UTC),
            status="closed",
            playbook="not-delivered",
            remedies=("credit", "bonus"),
            name="Bob Stone",
            email="bob@x.com",
            order="ORDER-77",
        ),
        make_case(
            "9",
            created=datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC),
            playbook="wrong-item",
            remedies=("refund", "credit"),
            name="STRASSE Co",
        ),
        make_case(
            "10",
            created=datetime(2026, 12, 1, tzinfo=UTC),
            status="closed",
            remedies=("exchange",),
            name="Eve",
            email="eve@danamail.com",
            order="C-3",
        ),
    ):
        save_case(home, case)
    return home


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], ["1", "2", "3", "9", "10"]),
        (["--since", "2026-11-01"], ["2", "3", "9", "10"]),
        (["--until", "2026-11-30"], ["1", "2", "3", "9"]),
        (["--since", "2026-11-01", "--until", "2026-11-30"], ["2", "3", "9"]),
        (["--since", "2026-11-15", "--until", "2026-11-15"], ["3"]),
        (["--since", "2026-12-02"], []),
        (["--since", "2026-11-16", "--until", "2026-11-14"], []),
        (["--status", "open"], ["1", "9"]),
        (["--status", "awaiting-follow-up"], ["2"]),
        (["--status", "Awaiting follow-up"], ["2"]),
        (["--status", "closed"], ["3", "10"]),
        (["--playbook", "not-delivered"], ["2", "3"]),
        (["--playbook", "not"], []),  # an id, not a part of one
        (["--remedy", "refund"], ["2", "9"]),
        (["--remedy", "credit"], ["3", "9"]),
        (["--remedy", "gift"], []),
        (["--customer", "DANA"], ["1", "10"]),  # a name, and an email
        (["--customer", "example.ORG"], ["2"]),  # an email
        (["--customer", "order-77"], ["3"]),  # an order
        (["--customer", "ZOË"], ["2"]),
        (["--customer", "straße"], ["9"]),  # casefolded: ß matches SS
        (["--customer", "nobody"], []),
        (["--since", "2026-11-01", "--status", "open", "--remedy", "refund"], ["9"]),
        (["--playbook", "not-delivered", "--customer", "bob", "--status", "closed"], ["3"]),
        (["--playbook", "general", "--remedy", "refund"], []),
        (["--until", "2026-11-30", "--customer", "a", "--remedy", "refund"], ["2", "9"]),
    ],
)
@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_filters(
    run: Run, filter_home: Path, fmt: str, args: list[str], expected: list[str]
) -> None:
    assert exported_ids(run, fmt, *args) == expected


def test_dates_are_the_local_date_the_case_was_opened(
    run: Run, home: Path, local_tz: Callable[[str], None]
) -> None:
    save_case(home, make_case("1", created=datetime(2026, 11, 1, 23, 30, tzinfo=UTC)))
    save_case(home, make_case("2", created=datetime(2026, 11, 2, 3, tzinfo=UTC)))
    on_the_first = ["--since", "2026-11-01", "--until", "2026-11-01"]
    local_tz("UTC0")
    assert exported_ids(run, "jsonl", *on_the_first) == ["1"]
    local_tz("JST-9")  # UTC+9: both were opened on the 2nd there
    assert exported_ids(run, "jsonl", *on_the_first) == []
    assert exported_ids(run, "jsonl", "--since", "2026-11-02") == ["1", "2"]
    local_tz("EST5")  # UTC-5: both were opened on the 1st there
    assert exported_ids(run, "jsonl", *on_the_first) == ["1", "2"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2026-02-30"], ["--since", "2026-02-30"]),
        (["--until", "01/11/2026"], ["--until", "01/11/2026"]),
        (["--since", "yesterday"], ["--since", "yesterday"]),
        (["--since", ""], ["--since"]),
        (["--format", "xml"], ["--format", "use csv, json or jsonl"]),
        (["-f", "tsv"], ["--format", "use csv, json or jsonl"]),
        (["--status", "pending"], ["--status", "use open, awaiting-follow-up or closed"]),
    ],
)
def test_bad_options_are_usage_errors(
    run: Run, filter_home: Path, tmp_path: Path, args: list[str], message: list[str]
) -> None:
    out = tmp_path / "out.csv"
    result = run("export", *args, "-o", str(out))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Error: " in result.stderr and "Traceback" not in result.stderr
    for fragment in message:
        assert fragment in result.stderr
    assert not out.exists()


def test_format_is_case_insensitive(run: Run, filter_home: Path) -> None:
    assert json.loads(run("export", "-f", "JSON").stdout)[0]["id"] == "1"
    assert len(run("export", "--format", "JsonL").stdout.splitlines()) == 5


# -- 4. -o FILE --------------------------------------------------------------------------
def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("mask", [0o022, 0o000])
@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_output_file_is_private_and_stdout_stays_empty(
    run: Run, filter_home: Path, tmp_path: Path, fmt: str, mask: int
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    out = folder / f"all.{fmt}"
    with umask(mask):
        result = run("export", "-f", fmt, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and result.stderr == ""  # stderr is no terminal: no summary
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == [out.name]
    assert out.read_bytes() == run("export", "-f", fmt).stdout_bytes


def test_an_existing_file_is_replaced_whole(
    run: Run, filter_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "all.csv"
    out.write_text("old\n")
    out.chmod(0o644)
    other_name = tmp_path / "link"
    os.link(out, other_name)
    seen: list[str] = []
    real_pick = export.pick

    def watching_pick(*args: Any, **options: Any) -> Iterator[Any]:
        for item in real_pick(*args, **options):
            seen.append(out.read_text())  # mid-export, the file still holds the old text
            yield item

    monkeypatch.setattr(export, "pick", watching_pick)
    result = run("export", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert seen == ["old\n"] * 5
    assert [row["id"] for row in csv_records(out.read_bytes())] == ["1", "2", "3", "9", "10"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert other_name.read_text() == "old\n"  # replaced by a new file, not rewritten in place
    assert out.stat().st_ino != other_name.stat().st_ino
    assert temp_files(tmp_path) == []


def test_a_failed_export_leaves_the_existing_file_alone(
    run: Run, filter_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "all.jsonl"
    out.write_text("old\n")
    real_pick = export.pick

    def failing_pick(*args: Any, **options: Any) -> Iterator[Any]:
        for number, item in enumerate(real_pick(*args, **options), start=1):
            if number == 3:
                raise RuntimeError("the disk went away")
            yield item

    monkeypatch.setattr(export, "pick", failing_pick)
    result = run("export", "-f", "csv", "-o", str(out))
    assert isinstance(result.exception, RuntimeError)
    assert out.read_text() == "old\n"
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
@pytest.mark.parametrize("to_file", [False, True])
def test_damaged_case_files_are_reported_and_skipped(
    run: Run, filter_home: Path, tmp_path: Path, fmt: str, to_file: bool
) -> None:
    cases = filter_home / "cases"
    (cases / "3.json").write_bytes(b"{not json")
    (cases / "4.json").write_bytes(b'{"schema_version": 1, "id": "4"}')
    os.utime(cases / "3.json", (1_000_000_000, 1_000_000_000))
    out = tmp_path / "out"
    result = run("export", "-f", fmt, *(["-o", str(out)] if to_file else []))
    assert result.exit_code == 0, result.output
    damaged, invalid = result.stderr.splitlines()
    assert damaged == f"Warning: {cases / '3.json'} is damaged (not JSON); it was left untouched"
    assert invalid.startswith(f"Warning: {cases / '4.json'} is not a valid case file (bad ")
    assert invalid.endswith("; it was left untouched")
    raw = out.read_bytes() if to_file else result.stdout_bytes
    if to_file:
        assert result.stdout == ""
    if fmt == "csv":
        ids = [row["id"] for row in csv_records(raw)]
    elif fmt == "json":
        ids = [case["id"] for case in json.loads(raw)]
    else:
        ids = [json.loads(line)["id"] for line in raw.splitlines()]
    assert ids == ["1", "2", "9", "10"]
    assert (cases / "3.json").read_bytes() == b"{not json"
    assert (cases / "3.json").stat().st_mtime == 1_000_000_000
    assert (cases / "4.json").read_bytes() == b'{"schema_version": 1, "id": "4"}'


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_a_lone_surrogate_in_one_case_does_not_abort_the_export(
    home: Path, tmp_path: Path, fmt: str
) -> None:
    for number in (1, 2, 3):
        save_case(home, make_case(str(number), name="Ann"))
    two = home / "cases" / "2.json"
    two.write_text(two.read_text("utf-8").replace('"Ann"', '"Ann \\ud83d"'), "utf-8")
    out = tmp_path / f"out.{fmt}"
    done = subprocess.run(
        [sys.executable, "-m", "recovery_cli", "export", "-f", fmt, "-o", str(out)],
        env={**os.environ, "RECOVER_HOME": str(home), "NO_COLOR": "1"},
        capture_output=True,
        timeout=60,
    )
    assert b"something unexpected went wrong" not in done.stderr
    assert done.returncode == 0
    written = out.read_bytes().decode("utf-8")
    if fmt == "json":
        assert [case["id"] for case in json.loads(written)] == ["1", "3"]
    elif fmt == "jsonl":
        assert [json.loads(line)["id"] for line in written.splitlines()] == ["1", "3"]
    else:
        assert "\r\n3," in written


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_files_recover_did_not_write_are_exported_as_valid_utf8_json(
    home: Path, tmp_path: Path, fmt: str
) -> None:
    """A file the index has read, and vouches for, is copied as it is only when its
    bytes are UTF-8 JSON as recover writes it: one with a byte-order mark or in UTF-16
    (which JSON readers accept) is written out again; a copy of another case is
    named as damaged, never exported twice."""
    for number in (1, 2, 3, 4):
        save_case(home, make_case(str(number), name="Ann"))
    cases = home / "cases"
    one, two, four = cases / "1.json", cases / "2.json", cases / "4.json"
    one.write_bytes(b"\xef\xbb\xbf" + one.read_bytes())
    two.write_bytes(two.read_text("utf-8").encode("utf-16"))
    four.write_bytes((cases / "3.json").read_bytes())
    env = {**os.environ, "RECOVER_HOME": str(home), "NO_COLOR": "1"}
    command = [sys.executable, "-m", "recovery_cli"]
    listed = subprocess.run([*command, "list"], env=env, capture_output=True, timeout=60)
    assert listed.returncode == 0  # the index has read each file as it is now
    out = tmp_path / f"out.{fmt}"
    done = subprocess.run(
        [*command, "export", "-f", fmt, "-o", str(out)], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    text = out.read_bytes().decode("utf-8")  # strict: every byte is UTF-8
    found = json.loads(text) if fmt == "json" else [json.loads(x) for x in text.splitlines()]
    assert [case["id"] for case in found] == ["1", "2", "3"]
    assert all(case["customer"]["name"] == "Ann" for case in found)
    assert b"4.json holds another case than case 4" in done.stderr


# -- 5. streaming: memory does not grow with the store -------------------------------------
# Each measurement runs the export command's own path (export.export_cases, index and
# all) in a fresh interpreter (a clean, comparable heap, and the four runs share both
# cores); the export is traced in-process there by tracemalloc.
PEAK_WORKER = """
import sys, tracemalloc
from pathlib import Path
from recovery_cli import export
from recovery_cli.store import Store

class Discard:
    def write(self, text):
        return len(text)

home, fmt = Path(sys.argv[1]), sys.argv[2]
damaged = []
with Store(home) as store:
    # Build the index and warm first-use caches (validators, encoders): not what is
    # measured.
    export.export_cases(store, Discard(), fmt, export.Filters(), on_damaged=damaged.append)
    damaged.clear()
    tracemalloc.start()
    count = export.export_cases(store, Discard(), fmt, export.Filters(), on_damaged=damaged.append)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
print(count, len(damaged), peak)
"""
SMALL, LARGE = 2_000, 20_000


@pytest.fixture(scope="module")
def export_peaks(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], int]:
    """Peak traced bytes of exporting 2,000 and 20,000 cases, as csv and as jsonl."""
    homes = {}
    for size in (LARGE, SMALL):
        homes[size] = tmp_path_factory.mktemp(f"store-{size}")
        fill_store(homes[size], 1, size)
    workers = {
        (fmt, size): subprocess.Popen(
            [sys.executable, "-c", PEAK_WORKER, str(homes[size]), fmt],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for size in (LARGE, SMALL)
        for fmt in ("csv", "jsonl")
    }
    outputs = {}
    try:
        for key, worker in workers.items():
            outputs[key] = (*worker.communicate(timeout=180), worker.returncode)
    finally:
        for worker in workers.values():
            if worker.poll() is None:
                worker.kill()
                worker.communicate()
    peaks = {}
    for (fmt, size), (out, err, code) in outputs.items():
        assert code == 0, err
        count, damaged, peak = map(int, out.split())
        assert (count, damaged) == (size, 0)
        peaks[fmt, size] = peak
    return peaks


# Both formats on one worker: the two stores (22,000 cases) are made once, not per worker.
@pytest.mark.xdist_group("export-peaks")
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_keeps_no_case_in_memory(export_peaks: dict[tuple[str, int], int], fmt: str) -> None:
    small, large = export_peaks[fmt, SMALL], export_peaks[fmt, LARGE]
    print(f"{fmt}: peak {small} bytes for {SMALL} cases, {large} bytes for {LARGE}")
    # A case file is ~3 kB and a parsed case more: keeping even a part of each case
    # would cost far more than this per extra case.
    assert (large - small) / (LARGE - SMALL) < 512


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_memory_is_flat(export_peaks: dict[tuple[str, int], int], fmt: str) -> None:
    assert export_peaks[fmt, LARGE] < 1.5 * export_peaks[fmt, SMALL]


# -- 6. real pipes -----------------------------------------------------------------------
PIPED_CASES = 1_200  # more than the progress bar's threshold


@pytest.fixture(scope="module")
def piped_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("piped") / "home"
    fill_store(home, 1, PIPED_CASES)
    save_case(home, make_case(str(PIPED_CASES + 1), name="Zoë Ünal", order="=1+1"))
    return home


def pipe(home: Path, command: str) -> subprocess.CompletedProcess[bytes]:
    """Run ``command`` in bash with pipefail; {recover} and {python} are filled in."""
    python = shlex.quote(sys.executable)
    script = "set -o pipefail; " + command.format(
        recover=f"{python} -m recovery_cli", python=python
    )
    env = {**os.environ, "RECOVER_HOME": str(home), "NO_COLOR": "1"}
    return subprocess.run(["bash", "-c", script], env=env, capture_output=True, timeout=120)


def test_list_json_pipes_into_json_tool(piped_home: Path) -> None:
    done = pipe(piped_home, "{recover} list --json | {python} -m json.tool")
    assert done.returncode == 0, done.stderr
    # Nothing but, the first time a command meets these files, the note that it indexes.
    assert done.stderr in (
        b"",
        f"! Indexing {PIPED_CASES + 1} case files; this happens once.\n".encode(),
    )
    listed = json.loads(done.stdout)
    assert [case["id"] for case in listed[:2]] == [str(PIPED_CASES + 1), str(PIPED_CASES)]
    assert len(listed) == 20
    assert listed[0]["customer"]["name"] == "Zoë Ünal"


def test_export_jsonl_pipes_into_wc(piped_home: Path) -> None:
    done = pipe(piped_home, "{recover} export --format jsonl | wc -l")
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    assert done.stdout.strip() == str(PIPED_CASES + 1).encode()


def test_export_json_pipes_into_a_script(piped_home: Path) -> None:
    count = "import json, sys; print(len(json.load(sys.stdin)))"
    done = pipe(piped_home, f"{{recover}} export -f json | {{python}} -c {shlex.quote(count)}")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{PIPED_CASES + 1}\n".encode()


def test_piped_csv_export_prints_nothing_on_stderr(piped_home: Path) -> None:
    done = pipe(piped_home, "{recover} export -f csv | cat")
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""  # no progress bar: stderr is no terminal
    rows = csv_records(done.stdout)
    assert len(rows) == PIPED_CASES + 1
    assert (rows[-1]["customer_name"], rows[-1]["order"]) == ("Zoë Ünal", "'=1+1")


def test_export_into_head_stops_quietly(piped_home: Path) -> None:
    done = pipe(piped_home, "{recover} export -f jsonl | head -n 1; true")
    assert done.stderr == b""
    (line,) = done.stdout.splitlines()
    assert json.loads(line)["id"] == "1"


def test_export_into_head_exits_0_under_pipefail(piped_home: Path) -> None:
    done = pipe(piped_home, "{recover} export -f jsonl | head -n 1")
    assert done.stderr == b""
    assert len(done.stdout.splitlines()) == 1
    assert done.returncode == 0
