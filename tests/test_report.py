"""The monthly review's counts and its page, without a terminal or a browser.

The counts are ``Stats``' own (checked against ``recover stats --json`` here and in
the browser tests); what this module adds is told here: the periods, returning
customers, repeating causes, open prevention actions, and a page whose every number
is the stats JSON's and whose customer text is only ever text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from recovery_cli import lookups
from recovery_cli.case import (
    Case,
    Customer,
    MailIn,
    MailOut,
    MailThread,
    Outcome,
    PlaybookRef,
    Remedy,
    StepRecord,
    new_case,
)
from recovery_cli.errors import UsageError
from recovery_cli.report import Period, between, customer_key, last_full_month, month_period
from recovery_cli.reportpage import duration, render
from recovery_cli.store import Store

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))
REF = PlaybookRef(id="general", title="General", hash="sha256:" + "0" * 64)
XSS_NAME = "<script>alert(1)</script>"
XSS_TAG = '"><img src=x onerror=alert(1)>'
XSS_ROOT = "a </style> and a ]]> in the root cause"
XSS_PREVENTION = "close </style><script>alert(2)</script> ]]>"
SVG_TAG = "fish & <chips>"


def at(month: int, day: int, hour: int = 10, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=UTC)


@dataclass
class Made:
    """One case to make, and how it went (hours are counted from ``opened``)."""

    opened: datetime
    name: str = "Dana Reyes"
    email: str = ""
    value: str | None = "40.00"
    kinds: list[tuple[str | None, str | None]] = field(default_factory=list)  # kind, amount
    result: str | None = None
    tag: str = ""
    root: str = ""
    prevention: str = ""
    closed_after: float = 2
    answered_after: float | None = 0.1  # the walk's first step (a call)
    mailed_before: float | None = None  # an email case: complaint this many hours before
    replied_after: float | None = None  # ... and its reply sent this many hours after
    follow_up: str = ""  # "on_time", "late", "missed", "pending"
    currency: str = "USD"


def build(number: int, spec: Made) -> Case:
    value = Decimal(spec.value) if spec.value is not None else None
    customer = Customer(name=spec.name, email=spec.email, order_value=value)
    case = new_case(
        str(number), customer=customer, playbook=REF, currency=spec.currency, now=spec.opened
    )
    if spec.answered_after is not None and spec.mailed_before is None:
        started = spec.opened + timedelta(hours=spec.answered_after)
        case.put_record(
            StepRecord(
                id="listen", title="Listen", status="answered", answer="it broke",
                started_at=started, ended_at=started + timedelta(minutes=1),
            ),
            ["listen"],
        )  # fmt: skip
    if spec.mailed_before is not None:
        sent = []
        if spec.replied_after is not None:
            moment = spec.opened + timedelta(hours=spec.replied_after)
            sent.append(
                MailOut(
                    message_id=f"<r{number}@shop>", what="reply", to="a@example.com",
                    subject="Re: order", via="smtp", status="sent", at=moment, sent_at=moment,
                )
            )  # fmt: skip
        case.mail = MailThread(
            messages=[
                MailIn(
                    message_id=f"<c{number}@example.com>",
                    date=spec.opened - timedelta(hours=spec.mailed_before),
                    added_at=spec.opened,
                )
            ],
            sent=sent,
        )
    case.set_remedies(
        "remedy",
        [
            Remedy(
                step="remedy", offer=f"o{n}", label=f"Offer {n}", kind=kind,
                amount=Decimal(amount) if amount is not None else None, currency=spec.currency,
            )
            for n, (kind, amount) in enumerate(spec.kinds)
        ],
    )  # fmt: skip
    if spec.follow_up:
        due = spec.opened + timedelta(days=2)
        if spec.follow_up == "pending":
            due = NOW + timedelta(days=3)
        case.schedule_follow_up("check-in", due, "Is it working now?")
    case.complete_walk(spec.opened + timedelta(minutes=5))
    if spec.follow_up in ("on_time", "late"):
        done = spec.opened + timedelta(days=2 if spec.follow_up == "on_time" else 4)
        case.record_follow_up(1, reached=True, happy="not_yet", note="", now=done)
    if spec.result is not None:
        outcome = Outcome(
            result=spec.result,  # type: ignore[arg-type]
            satisfaction=4,
            cause_tag=spec.tag,
            root_cause=spec.root,
            prevention=spec.prevention,
        )
        case.set_outcome(outcome, spec.opened + timedelta(hours=spec.closed_after))
    return case


def write_store(home: Path, specs: list[Made]) -> None:
    """The cases, saved as recover saves them, with an index that has read them."""
    with Store(home) as store:
        for number, spec in enumerate(specs, start=1):
            case = build(number, spec)
            store.create(lambda case_id, case=case: case.model_copy(update={"id": case_id}))


# Known figures: November 2026 has five cases, the months before a few more.
KNOWN = [
    # Before the window of twelve months: only "an earlier case" counts it.
    Made(at(5, 3, year=2025), name="Ann Lee", email="ann@example.com"),
    # Three months with "links" (Sep, Oct, Nov) and one with "courier" (Oct): links repeats.
    Made(at(9, 10), result="kept", tag="links", kinds=[("refund", "40.00")]),
    Made(at(10, 12), result="lost", tag="links", kinds=[("gift", "5.00")]),
    Made(at(10, 20), result="kept", tag="courier", kinds=[("credit", "10.00")], value="20.00"),
    # November:
    Made(  # 5: Ann again, by email, answered after 30 hours: slow; kept
        at(11, 2), name="Ann Lee", email="ANN@example.com ", mailed_before=6, replied_after=24,
        kinds=[("refund", "40.00"), ("bonus", None)], result="kept", tag="links",
        follow_up="on_time", closed_after=50,
    ),
    Made(  # 6: a call, lost, its follow-up done late
        at(11, 5), name="Sam Berg", kinds=[("refund", "25.00")], value="25.00", result="lost",
        tag="links", follow_up="late", root="The link expired", prevention="Longer links",
    ),
    Made(  # 7: a call, kept, a discount; follow-up missed (due 9 Nov, not done)
        at(11, 7), name="Kim Ito", kinds=[("discount", "4.50")], result="kept", tag="Courier",
        follow_up="missed",
    ),
    Made(  # 8: no outcome yet, a follow-up to come; nothing given
        at(11, 28), name="Sam Berg", follow_up="pending", value=None,
    ),
    Made(at(11, 30, 23), name="Lee Chen", kinds=[("support", None)]),  # 9: late on the 30th
    Made(at(12, 1), name="Dec Ember", result="kept", tag="links"),  # 10: not November
]  # fmt: skip


@pytest.fixture
def known(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RECOVER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RECOVER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("TZ", "UTC0")
    import time

    time.tzset()
    home = tmp_path / "home"
    write_store(home, KNOWN)
    yield home
    monkeypatch.undo()
    time.tzset()


def reported(home: Path, period: Period = NOVEMBER) -> Any:
    with Store(home) as store:
        found, damaged = lookups.build_report(store, NOW, period)
    assert damaged == []
    return found


# -- periods -----------------------------------------------------------------------------
def test_the_default_period_is_last_full_month() -> None:
    assert last_full_month(date(2026, 12, 3)) == NOVEMBER
    assert last_full_month(date(2026, 1, 1)) == Period(date(2025, 12, 1), date(2025, 12, 31))
    assert last_full_month(date(2024, 3, 31)) == Period(date(2024, 2, 1), date(2024, 2, 29))


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("2026-11", NOVEMBER),
        (" 2026-02 ", Period(date(2026, 2, 1), date(2026, 2, 28))),
        ("2024-02", Period(date(2024, 2, 1), date(2024, 2, 29))),
        ("2025-12", Period(date(2025, 12, 1), date(2025, 12, 31))),
    ],
)
def test_a_month(text: str, period: Period) -> None:
    assert month_period(text) == period
    assert period.whole_month and period.file_name == f"report-{text.strip()}.html"


@pytest.mark.parametrize(
    "text", ["2026-13", "2026-00", "26-11", "2026/11", "november", "", "2026-1"]
)
def test_a_month_that_is_not_one(text: str) -> None:
    with pytest.raises(UsageError, match="YYYY-MM"):
        month_period(text)


@pytest.mark.parametrize("text", ["0001-01", "0999-12", "9999-12", "9999-01"])
def test_a_month_out_of_reach(text: str) -> None:
    # Its twelve months before, or the month after, would not be dates.
    with pytest.raises(UsageError, match="years 1000 to 9998"):
        month_period(text)
    with pytest.raises(UsageError, match="years 1000 to 9998"):
        between(date(int(text[:4]), 1, 1), None, date(2026, 12, 3))
    assert month_period("1000-01").file_name == "report-1000-01.html"


def test_dates_between() -> None:
    today = date(2026, 12, 3)
    period = between(date(2026, 10, 3), date(2026, 11, 15), today)
    assert period.label == "3 Oct 2026 to 15 Nov 2026" and not period.whole_month
    assert period.file_name == "report-2026-10-03-to-2026-11-15.html"
    assert between(date(2026, 11, 20), None, today) == Period(date(2026, 11, 20), today)
    assert between(None, date(2026, 11, 20), today) == Period(date(2026, 11, 1), date(2026, 11, 20))
    assert between(date(2026, 11, 1), date(2026, 11, 30), today).label == "November 2026"
    with pytest.raises(UsageError, match="after --until"):
        between(date(2026, 11, 20), date(2026, 11, 2), today)
    with pytest.raises(UsageError, match=r"\(2027-01-01\) is after today"):
        between(date(2027, 1, 1), None, today)


def test_the_twelve_months_end_with_the_periods_last() -> None:
    months = NOVEMBER.months()
    assert months[0] == date(2025, 12, 1) and months[-1] == date(2026, 11, 1)
    assert len(months) == 12 == len(set(months))
    assert Period(date(2026, 1, 5), date(2026, 3, 2)).months()[-1] == date(2026, 3, 1)


def test_customer_keys() -> None:
    assert customer_key(" ANN@example.com ", "Ann") == customer_key("ann@example.com", "x")
    assert customer_key("", "  Sam   Berg ") == customer_key("", "sam berg") == "name:sam berg"
    assert customer_key("", "  ") is None


def test_durations_read_at_a_glance() -> None:
    assert [duration(h) for h in (0.0, 0.25, 1.0, 2.5, 12.4, 47.9, 48.0, 84.0)] == [
        "0 min", "15 min", "1 h", "2.5 h", "12 h", "48 h", "2 days", "3.5 days",
    ]  # fmt: skip


# -- what the report counts ---------------------------------------------------------------
def test_the_periods_counts_are_stats_own(known: Path) -> None:
    found = reported(known)
    with Store(known) as store:
        alone, _ = lookups.count_stats(store, NOW, since=NOVEMBER.since, until=NOVEMBER.until)
    assert found.stats.as_json() == alone.as_json()
    data = found.stats.as_json()
    assert data["cases"] == 5 and data["outcomes"]["kept"] == 2 and data["outcomes"]["lost"] == 1
    assert data["follow_ups"] == {"on_time": 1, "late": 1, "missed": 1, "pending": 1}


def test_the_twelve_months(known: Path) -> None:
    found = reported(known)
    cases = {first.month: stats.cases for first, stats in found.months.items() if stats.cases}
    assert cases == {9: 1, 10: 2, 11: 5}
    october = found.months[date(2026, 10, 1)]
    assert october.kept_rate == 0.5 and october.money["USD"].cost == Decimal("15.00")
    assert found.months[date(2026, 11, 1)] is found.stats  # a whole month: counted once


def test_speed_from_the_complaint(known: Path) -> None:
    speed = reported(known).stats.as_json()["speed"]
    reply = speed["first_reply"]
    # Calls answered in six minutes (6, 7, 8, 9); Ann's email 6 + 24 hours after it came.
    assert [b["cases"] for b in reply["buckets"]] == [4, 0, 0, 1, 0]
    assert reply["quick"] == {"cases": 4, "with_outcome": 2, "kept": 1, "kept_rate": 0.5}
    assert reply["slow"] == {"cases": 1, "with_outcome": 1, "kept": 1, "kept_rate": 1.0}
    close = speed["to_close"]
    # Closed: 5 (6 + 50 hours from the complaint) and 6 (2 hours); 7 waits for its
    # follow-up, outcome or not.
    assert [b["cases"] for b in close["buckets"]] == [1, 1, 0, 0, 0]
    assert close["median_hours"] == 29.0


def test_returning_customers(known: Path) -> None:
    found = reported(known).returning
    # Ann (an earlier case in 2025, by email in any case) and Sam (6, then 8).
    assert (found.cases, found.returning) == (5, 2)
    assert len(found.customers) == 4 and len(found.returning_customers) == 2
    assert found.share == 0.4


def test_a_cause_seen_in_three_of_six_months_repeats(known: Path) -> None:
    found = reported(known)
    assert found.repeating() == {"links": 3}
    assert found.causes() == [("links", 2, 3, True), ("courier", 1, 2, False)]


def test_a_repeating_cause_is_listed_even_when_quiet_this_month(known: Path) -> None:
    december = reported(known, Period(date(2026, 12, 1), date(2026, 12, 31)))
    assert december.causes() == [("links", 1, 4, True)]  # Sep, Oct, Nov, Dec
    # The months are calendar months: December's holds the case of the 1st.
    quiet = reported(known, Period(date(2026, 12, 2), date(2026, 12, 31)))
    assert quiet.stats.cases == 0 and quiet.causes() == [("links", 0, 4, True)]


def test_open_prevention_actions_by_cause_with_the_oldest(known: Path) -> None:
    found = reported(known)
    assert found.prevention_open == 1
    (group,) = found.prevention
    assert (group.tag, group.count, group.action, group.case_id) == (
        "links",
        1,
        "Longer links",
        "6",
    )
    assert group.oldest_days == 28 and group.customer == "Sam Berg"


def test_an_empty_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECOVER_CACHE_DIR", str(tmp_path / "cache"))
    found = reported(tmp_path / "home")
    assert found.stats.cases == 0 and found.prevention == [] and found.causes() == []
    page = Page(render(found, business="", made_at=NOW))
    assert "No case was opened in this period." in page.text
    assert "kept-by-month" not in page.charts
    assert "No case with an outcome in these twelve months yet." in page.text


# -- the page ------------------------------------------------------------------------------
class Page(HTMLParser):
    """What a page holds: its text, its elements, the numbers tied to the stats JSON, and
    the marks of each chart."""

    def __init__(self, html: bytes) -> None:
        super().__init__(convert_charrefs=True)
        self.source = html.decode("utf-8")
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.numbers: list[tuple[str, str]] = []
        self.shown: list[str] = []  # the text of each of self.numbers
        self._number = False
        self.charts: dict[str, dict[str, int]] = {}
        self.tables: dict[str, int] = {}
        self.texts: list[str] = []
        self._chart: list[str] = []
        self._table = ""
        self._depth: list[str] = []
        self.feed(self.source)
        self.close()
        self.text = " ".join(self.texts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.tags.append((tag, found))
        if tag in ("meta", "line", "polyline", "br"):
            return
        self._depth.append(tag)
        if "data-json" in found:
            self.numbers.append((found["data-json"], found["data-value"]))
            self.shown.append("")
            self._number = True
        if tag == "figure" and "data-chart" in found:
            self._chart.append(found["data-chart"])
            self.charts[found["data-chart"]] = {"bar": 0, "point": 0}
        if tag == "table" and "data-table" in found:
            self._table = found["data-table"]
            self.tables[self._table] = 0
        if tag == "tr" and self._table and "tbody" in self._depth:
            self.tables[self._table] += 1
        if self._chart and tag in ("rect", "circle"):
            mark = found.get("class", "").split()
            if "bar" in mark or "point" in mark:
                self.charts[self._chart[-1]]["bar" if tag == "rect" else "point"] += 1

    def handle_endtag(self, tag: str) -> None:
        self._number = False
        while self._depth:
            if self._depth.pop() == tag:
                break
        if tag == "figure" and self._chart:
            self._chart.pop()
        if tag == "table":
            self._table = ""

    def handle_data(self, data: str) -> None:
        if self._number:
            self.shown[-1] += data
        if data.strip():
            self.texts.append(data.strip())

    def marks(self, chart: str) -> dict[str, int]:
        return self.charts.get(chart, {"bar": 0, "point": 0})


def json_at(data: Any, path: str) -> Any:
    for part in path.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def test_every_number_tied_to_stats_is_stats_value(known: Path) -> None:
    found = reported(known)
    page = Page(render(found, business="Sam's Templates", made_at=NOW))
    data = found.stats.as_json()
    assert len(page.numbers) >= 60
    for path, value in page.numbers:
        assert json.loads(value) == json_at(data, path), path
    # And what the seller reads is that value: counts with thousands, rates in percent.
    for (path, value), text in zip(page.numbers, page.shown, strict=True):
        number = json.loads(value)
        if number is None:
            assert text == "–", path
        elif path.endswith(("rate", "share")):
            assert text == f"{number * 100:.0f}%", path
        elif isinstance(number, int):
            assert text == f"{number:,}", path
        elif path.startswith("money."):
            assert text == f"{Decimal(number):,.2f}", path
    paths = {path for path, _ in page.numbers}
    assert {"cases", "kept_rate", "money.USD.cost", "remedy_kinds.refund.kept_rate"} <= paths
    assert {"speed.first_reply.buckets.3.cases", "follow_ups.missed", "cause_tags.links"} <= paths


def test_every_chart_has_its_marks_and_its_table(known: Path) -> None:
    page = Page(render(reported(known), business="", made_at=NOW))
    assert page.marks("kept-by-month") == {"point": 3, "bar": 0}  # Sep, Oct, Nov
    assert page.marks("cost-by-month-USD") == {"point": 0, "bar": 24}
    # Refund, bonus, discount have outcomes; support (9) and nothing given (8) do not.
    assert page.marks("remedies")["bar"] == 3
    assert page.marks("first-reply")["bar"] == page.marks("time-to-close")["bar"] == 5
    assert page.marks("follow-ups")["bar"] == 3
    assert page.marks("causes")["bar"] == 2
    assert "bought-again" not in page.charts  # no orders imported
    assert page.tables["kept-by-month"] == 12 and page.tables["cost-by-month-USD"] == 12
    assert page.tables["remedies"] == 5 and page.tables["follow-ups"] == 4
    assert page.tables["first-reply"] == page.tables["time-to-close"] == 5
    assert page.tables["quick-slow"] == 4 and page.tables["causes"] == 2
    assert "No orders imported" in page.text


def test_the_page_asks_for_nothing_outside_itself(known: Path) -> None:
    page = Page(render(reported(known), business="", made_at=NOW))
    assert not [t for t, _ in page.tags if t in ("script", "img", "link", "iframe", "object")]
    for _, attrs in page.tags:
        for name, value in attrs.items():
            assert "http" not in value or name == "content", (name, value)
            assert not name.startswith("on"), name
    (policy,) = [
        a["content"] for t, a in page.tags if a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert policy.startswith("default-src 'none'; style-src 'sha256-")
    assert "url(" not in page.source and "@import" not in page.source


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RECOVER_CACHE_DIR", str(tmp_path / "cache"))
    home = tmp_path / "home"
    write_store(
        home,
        [
            Made(at(11, 3), name=XSS_NAME, result="lost", tag=XSS_TAG, root=XSS_ROOT,
                 prevention=XSS_PREVENTION, kinds=[("refund", "5.00")]),
            Made(at(11, 4), name="Ann & <Co>", result="kept", tag=SVG_TAG, root="]]>",
                 prevention="<b>bold</b>"),
        ],
    )  # fmt: skip
    return home


def test_customer_text_is_only_ever_text(hostile: Path) -> None:
    html = render(reported(hostile), business='<i>Sam</i> & "Co"', made_at=NOW)
    page = Page(html)
    for text in (XSS_NAME, XSS_TAG, XSS_ROOT, XSS_PREVENTION, SVG_TAG, "<b>bold</b>"):
        assert text in page.text or text[:22] in page.text, text
    tags = [t for t, _ in page.tags]
    assert tags.count("script") == 0 and tags.count("style") == 1 and "img" not in tags
    assert "<b>bold" not in page.source and "&lt;b&gt;bold&lt;/b&gt;" in page.source
    assert (
        "<i>Sam" not in page.source and "&lt;i&gt;Sam&lt;/i&gt; &amp; &#34;Co&#34;" in page.source
    )
    assert page.source.count("</style>") == 1
    assert "fish &amp; &lt;chips&gt;" in page.source  # in the SVG's labels, escaped
    assert page.marks("causes")["bar"] == 2


def test_a_period_of_dates_and_a_second_currency(known: Path) -> None:
    with Store(known) as store:
        case = build(99, Made(at(11, 10), currency="EUR", kinds=[("refund", "9.99")], value="9.99"))
        store.create(lambda case_id: case.model_copy(update={"id": case_id}))
    period = Period(date(2026, 10, 15), date(2026, 11, 6))
    found = reported(known, period)
    page = Page(render(found, business="", made_at=NOW))
    assert "Recoveries, 15 Oct 2026 to 6 Nov 2026" in page.text
    assert found.stats.cases == 3  # 4 (20 Oct), 5, 6
    assert set(page.charts) >= {"cost-by-month-USD", "cost-by-month-EUR"}
    assert found.months[date(2026, 11, 1)] is not found.stats
    assert found.months[date(2026, 11, 1)].cases == 6


def test_a_customers_email_added_to_a_call_leaves_it_a_call() -> None:
    from recovery_cli.projections import complaint_times

    case = build(1, Made(at(11, 5), answered_after=0.1))
    later = MailIn(message_id="<later@example.com>", date=at(11, 9), added_at=at(11, 9))
    case.mail = MailThread(messages=[later])
    assert complaint_times(case) == (at(11, 5), at(11, 5) + timedelta(hours=0.1))
    emailed = build(2, Made(at(11, 5), mailed_before=6, replied_after=2))
    assert complaint_times(emailed) == (at(11, 5) - timedelta(hours=6), at(11, 5, 12))


def test_a_currency_or_tag_with_a_dot_is_shown_without_a_json_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECOVER_CACHE_DIR", str(tmp_path / "cache"))
    home = tmp_path / "home"
    write_store(home, [Made(at(11, 3), currency="U.S", kinds=[("refund", "5.00")], result="kept",
                            tag="v1.2 update")])  # fmt: skip
    page = Page(render(reported(home), business="", made_at=NOW))
    assert "U.S" in page.text and "v1.2 update" in page.text
    assert not [path for path, _ in page.numbers if "U.S" in path or "v1.2" in path]
    assert ("cases", "1") in page.numbers


def test_open_actions_group_by_tag_whatever_its_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECOVER_CACHE_DIR", str(tmp_path / "cache"))
    home = tmp_path / "home"
    write_store(home, [
        Made(at(11, 3), result="lost", tag="Courier ", prevention="Switch courier"),
        Made(at(11, 20), result="lost", tag="courier", prevention="Ask for tracking"),
    ])  # fmt: skip
    (group,) = reported(home).prevention
    assert (group.tag, group.count, group.action, group.oldest_days) == (
        "Courier",
        2,
        "Switch courier",
        30,
    )


def test_a_month_is_the_sellers_own_calendar_month(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setenv("RECOVER_CACHE_DIR", str(tmp_path / "cache"))
    home = tmp_path / "home"
    # 31 Oct 12:00 UTC is already 1 November on Kiritimati (UTC+14), still October in UTC.
    write_store(home, [Made(at(10, 31, 12), result="kept", tag="links")])
    try:
        for zone, november in (("Pacific/Kiritimati", 1), ("UTC0", 0)):
            monkeypatch.setenv("TZ", zone)
            time.tzset()
            found = reported(home)
            assert found.stats.cases == november, zone
            assert found.months[date(2026, 10, 1)].cases == 1 - november, zone
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_bought_again_over_the_twelve_months_and_the_period(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recovery_cli.orders.importing import import_files
    from tests.orders.exports import write_shopify

    monkeypatch.setenv("RECOVER_CACHE_DIR", str(tmp_path / "cache"))
    home = tmp_path / "home"
    write_store(home, [
        # Dana ordered again on 10 June 2025 (the Shopify sample), within her 90 days.
        Made(at(5, 20, year=2025), name="Dana Reyes", email="dana@example.com", result="kept"),
        Made(at(10, 5, year=2025), name="Kim Ito", email="kim@example.com", result="lost"),
    ])  # fmt: skip
    exports = tmp_path / "exports"
    exports.mkdir()
    import_files(home, [write_shopify(exports)])
    october = reported(home, month_period("2025-10"))
    year = october.year.as_json()["bought_again"]
    assert (year["kept"]["cases"], year["kept"]["bought_again"], year["kept"]["share"]) == (
        1,
        1,
        1.0,
    )
    assert (year["lost"]["cases"], year["lost"]["share"]) == (1, 0.0)
    with Store(home) as store:
        alone, _ = lookups.count_stats(
            store, NOW, since=date(2024, 11, 1), until=date(2025, 10, 31)
        )
    assert alone.as_json()["bought_again"] == year
    period = october.stats.as_json()["bought_again"]
    assert (period["kept"]["cases"], period["lost"]["cases"]) == (0, 1)
    page = Page(render(october, business="", made_at=NOW))
    assert page.marks("bought-again")["bar"] == 3 and page.tables["bought-again-period"] == 3
    assert ("bought_again.lost.cases", "1") in page.numbers
