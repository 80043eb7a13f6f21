"""The monthly review as one self-contained HTML page (``recover report``).

The page is a Jinja2 template with autoescaping on (``templates/report.html.j2``):
every customer word reaches it as data and is escaped where it lands, in HTML or in
SVG. The charts are small inline SVG drawn by the template from the geometry worked
out here (bars, points, ticks): a chart library would cost more to import than this
module and Jinja2 together, and the first one measured writes a script that loads
from the web. The page makes no request: no script at all (its Content Security
Policy allows none), no web font, no image, and its one style sheet is pinned by hash.

Every number that ``recover stats --json`` also gives carries its path in that JSON
(``data-json``) and the value itself (``data-value``), so the page can be checked
against stats, and read by a script.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from .kinds import OUTCOMES
from .report import REPEAT_MONTHS, REPEAT_SEEN, Report
from .stats import AGAIN_DAYS, AGAIN_OUTCOMES, NO_REMEDY, REMEDY_KINDS

# Horizontal bar charts: the drawing's width, a label column, one row per bar.
WIDTH, LABEL_W, ROW_H, BAR_H = 480, 150, 24, 16
# Month charts: twelve columns over the drawing's width, with room for the axis.
PLOT_W, PLOT_H, AXIS_W, AXIS_H = 480, 170, 44, 34
KIND_LABELS = {
    "refund": "Refund",
    "exchange": "Exchange",
    "bonus": "Bonus",
    "gift": "Gift",
    "credit": "Credit",
    "discount": "Discount",
    "support": "Support",
    "other": "Other",
    NO_REMEDY: "Nothing given",
}
FOLLOW_UP_LABELS = {"on_time": "On time", "late": "Late", "missed": "Missed", "pending": "To do"}
OUTCOME_LABELS = {"kept": "Kept", "refunded": "Refunded", "lost": "Lost", "escalated": "Escalated"}


@dataclass
class Cell:
    """A number on the page: its text, and (when ``recover stats --json`` has it) its
    path in that JSON and its value there, as JSON text."""

    text: str
    path: str = ""
    value: str = ""


@dataclass
class Bar:
    """One bar of a chart, where it is drawn, and what it says."""

    label: str
    x: float
    y: float
    w: float
    h: float
    text: str
    tone: str = ""


@dataclass
class Chart:
    """An SVG drawing's size and marks, and the table of its numbers."""

    name: str
    title: str
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    points: list[tuple[float, float, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # polyline point lists
    ticks: list[tuple[float, str]] = field(default_factory=list)  # y, label
    labels: list[tuple[float, str, str]] = field(default_factory=list)  # x, month, year
    legend: list[tuple[str, str]] = field(default_factory=list)  # tone, label
    head: list[str] = field(default_factory=list)
    rows: list[list[Cell]] = field(default_factory=list)


def render(report: Report, *, business: str, made_at: datetime) -> bytes:
    """The page for ``report``, as UTF-8."""
    data: dict[str, Any] = report.stats.as_json()
    environment = Environment(
        loader=PackageLoader("recovery_cli", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    style = environment.loader.get_source(environment, "report.css")[0]  # type: ignore[union-attr]
    digest = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode("ascii")
    page = environment.get_template(
        "report.html.j2"
    ).render(
        style=Markup(style),  # the page's own style sheet: shipped text, not data
        style_hash=f"sha256-{digest}",
        business=business,
        period=report.period.label,
        made_at=f"{made_at.astimezone(report.zone):%d %b %Y %H:%M}",
        summary=_summary(data),
        money=_money(data),
        kept=_kept_by_month(report),
        costs=_cost_by_month(report),
        remedies=_remedies(data),
        speed=[_speed(data, "first_reply"), _speed(data, "to_close")],
        quick=_quick(data),
        follow_ups=_follow_ups(data),
        follow_ups_any=any(data["follow_ups"].values()),
        causes=_causes(report, data),
        repeat=(REPEAT_SEEN, REPEAT_MONTHS),
        prevention=report.prevention[:10],
        prevention_more=len(report.prevention) - 10,
        prevention_open=report.prevention_open,
        returning=_returning(report),
        again=_bought_again(data, report.year.as_json()),
        year_cases=report.year.cases,
        again_days=AGAIN_DAYS,
        has_cases=data["cases"] != 0,
        with_outcome=data["with_outcome"] != 0,
    )
    return page.encode("utf-8")


# -- numbers -----------------------------------------------------------------------------
def _cell(data: dict[str, Any], path: str | Sequence[str | int], shown: str = "count") -> Cell:
    """The number at ``path`` in the stats JSON (dotted, or its parts), with its place
    there; a key that holds a dot itself (a currency or tag typed so) is shown without
    one, as a dotted path could not name it."""
    parts = path.split(".") if isinstance(path, str) else list(path)
    value: Any = data
    for part in parts:
        value = value[int(part)] if isinstance(value, list) else value[part]
    if any("." in str(part) for part in parts):
        return Cell(_format(value, shown))
    return Cell(_format(value, shown), ".".join(map(str, parts)), json.dumps(value))


def _format(value: Any, shown: str) -> str:
    if value is None:
        return "–"
    if shown == "share":
        return _pct(value)
    if shown == "hours":
        return duration(float(value))
    if shown == "money":
        return f"{Decimal(value):,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def duration(hours: float) -> str:
    """A time in words a seller reads at a glance: 40 min, 5 h, 3.5 days."""
    if hours < 1:
        return f"{round(hours * 60)} min"
    if hours < 48:
        return f"{hours:.0f} h" if hours >= 10 else f"{hours:.1f} h".replace(".0 h", " h")
    return f"{hours / 24:.1f} days".replace(".0 days", " days")


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.0f}%"


# -- the sections ------------------------------------------------------------------------
def _summary(data: dict[str, Any]) -> list[tuple[str, Cell]]:
    rows = [
        ("Cases opened", _cell(data, "cases")),
        ("With an outcome", _cell(data, "with_outcome")),
        ("Customers kept", _cell(data, "kept_rate", "share")),
    ]
    rows += [(OUTCOME_LABELS[o], _cell(data, f"outcomes.{o}")) for o in OUTCOMES]
    rows += [
        ("Closed", _cell(data, "closed")),
        ("Median time to the first reply", _cell(data, "speed.first_reply.median_hours", "hours")),
        ("Median time to close", _cell(data, "median_hours_to_close", "hours")),
    ]
    return rows


def _money(data: dict[str, Any]) -> list[tuple[str, list[Cell]]]:
    keys = (("refunds", "money"), ("goodwill", "money"), ("cost", "money"))
    rows = []
    for currency in data["money"]:
        cells = [_cell(data, ("money", currency, key), shown) for key, shown in keys]
        cells += [
            _cell(data, ("money", currency, "order_value"), "money"),
            _cell(data, ("money", currency, "cost_share"), "share"),
        ]
        rows.append((currency, cells))
    return rows


def _kept_by_month(report: Report) -> Chart:
    months = list(report.months.items())
    chart = Chart("kept-by-month", "Customers kept, month by month", PLOT_W, PLOT_H + AXIS_H)
    chart.head = ["Month", "Cases", "With an outcome", "Kept", "Kept rate"]
    inner = PLOT_H - 12
    chart.ticks = [(12 + inner * (1 - share), f"{share * 100:.0f}%") for share in (0, 0.5, 1)]
    run: list[str] = []
    for index, (first, stats) in enumerate(months):
        x = _column_x(index, len(months))
        chart.labels.append(_month_label(x, first, index))
        rate = stats.kept_rate
        if rate is None:
            if len(run) > 1:
                chart.lines.append(" ".join(run))
            run = []
        else:
            y = 12 + inner * (1 - rate)
            chart.points.append((x, y, f"{first:%b %Y}: {_pct(rate)} of {stats.with_outcome}"))
            run.append(f"{x:.1f},{y:.1f}")
        chart.rows.append(
            [
                Cell(f"{first:%b %Y}"),
                Cell(f"{stats.cases:,}"),
                Cell(f"{stats.with_outcome:,}"),
                Cell(f"{stats.outcomes['kept']:,}"),
                Cell(_pct(rate)),
            ]
        )
    if len(run) > 1:
        chart.lines.append(" ".join(run))
    return chart


def _cost_by_month(report: Report) -> list[Chart]:
    months = list(report.months.items())
    currencies = sorted(
        {c for _, stats in months for c, m in stats.money.items() if m.cost or m.order_value}
    )
    charts = []
    for currency in currencies:
        figures = [stats.money.get(currency) for _, stats in months]
        top = max(
            (max(m.cost, m.order_value) for m in figures if m is not None), default=Decimal(0)
        )
        scale = _nice(float(top))
        chart = Chart(
            f"cost-by-month-{currency}",
            f"Cost of recoveries against order value ({currency})",
            PLOT_W,
            PLOT_H + AXIS_H,
        )
        chart.head = ["Month", "Refunds", "Goodwill", "Cost", "Order value", "Cost share"]
        chart.legend = [("cost", "Cost (refunds and goodwill)"), ("value", "Order value")]
        inner = PLOT_H - 12
        chart.ticks = [(12 + inner * (1 - f), _short_money(scale * f)) for f in (0, 0.5, 1)]
        step = (PLOT_W - AXIS_W) / len(months)
        for index, ((first, _), money) in enumerate(zip(months, figures, strict=True)):
            x = _column_x(index, len(months))
            chart.labels.append(_month_label(x, first, index))
            cost = money.cost if money else Decimal(0)
            value = money.order_value if money else Decimal(0)
            for offset, amount, tone, what in (
                (-1, cost, "cost", "cost"),
                (0, value, "value", "order value"),
            ):
                h = inner * float(amount) / scale if scale else 0.0
                w = step * 0.36
                chart.bars.append(
                    Bar(
                        f"{first:%b %Y} {what}",
                        x + offset * w,
                        12 + inner - h,
                        w,
                        h,
                        f"{first:%b %Y}, {what}: {amount:,.2f} {currency}",
                        tone,
                    )
                )
            chart.rows.append(
                [
                    Cell(f"{first:%b %Y}"),
                    Cell(f"{money.refunds:,.2f}" if money else "0.00"),
                    Cell(f"{money.goodwill:,.2f}" if money else "0.00"),
                    Cell(f"{cost:,.2f}"),
                    Cell(f"{value:,.2f}"),
                    Cell(_pct(money.share) if money else "–"),
                ]
            )
        charts.append(chart)
    return charts


def _remedies(data: dict[str, Any]) -> Chart:
    chart = Chart("remedies", "Kept rate by remedy", WIDTH, 0)
    chart.head = ["Remedy", "Cases", "With an outcome", "Kept", "Kept rate"]
    for kind in (*REMEDY_KINDS, NO_REMEDY):
        tally = data["remedy_kinds"].get(kind)
        if not tally or not tally["cases"]:
            continue
        base = f"remedy_kinds.{kind}"
        chart.rows.append(
            [
                Cell(KIND_LABELS[kind]),
                _cell(data, f"{base}.cases"),
                _cell(data, f"{base}.with_outcome"),
                _cell(data, f"{base}.kept"),
                _cell(data, f"{base}.kept_rate", "share"),
            ]
        )
        if tally["with_outcome"]:
            rate = tally["kept_rate"]
            n = tally["with_outcome"]
            _hbar(
                chart, KIND_LABELS[kind], rate, 1.0, f"{_pct(rate)} of {n}", "few" if n < 10 else ""
            )
    return chart


def _speed(data: dict[str, Any], which: str) -> Chart:
    spread = data["speed"][which]
    title = "Time to the first reply" if which == "first_reply" else "Time to close"
    chart = Chart(which.replace("_", "-").replace("to-close", "time-to-close"), title, WIDTH, 0)
    chart.head = ["From the complaint", "Cases", "With an outcome", "Kept", "Kept rate"]
    top = max((b["cases"] for b in spread["buckets"]), default=0)
    for index, bucket in enumerate(spread["buckets"]):
        base = f"speed.{which}.buckets.{index}"
        chart.rows.append(
            [
                Cell(bucket["label"]),
                _cell(data, f"{base}.cases"),
                _cell(data, f"{base}.with_outcome"),
                _cell(data, f"{base}.kept"),
                _cell(data, f"{base}.kept_rate", "share"),
            ]
        )
        tone = (
            "quick"
            if bucket["up_to_hours"] is not None and bucket["up_to_hours"] <= spread["quick_hours"]
            else "slow"
        )
        _hbar(chart, bucket["label"], bucket["cases"], top, f"{bucket['cases']:,}", tone)
    return chart


def _quick(data: dict[str, Any]) -> list[tuple[str, list[Cell]]]:
    rows = []
    for which, what in (("first_reply", "Answered"), ("to_close", "Closed")):
        hours = data["speed"][which]["quick_hours"]
        within = "within a day" if hours == 24 else f"within {hours // 24} days"
        for side, words in (("quick", within), ("slow", "later")):
            base = f"speed.{which}.{side}"
            cells = [_cell(data, f"{base}.{key}") for key in ("cases", "with_outcome", "kept")]
            rows.append((f"{what} {words}", [*cells, _cell(data, f"{base}.kept_rate", "share")]))
    return rows


def _follow_ups(data: dict[str, Any]) -> Chart:
    chart = Chart("follow-ups", "Follow-ups", WIDTH, 0)
    chart.head = ["Follow-ups", "Count"]
    counts = data["follow_ups"]
    top = max(counts["on_time"], counts["late"], counts["missed"])
    for key, label in FOLLOW_UP_LABELS.items():
        chart.rows.append([Cell(label), _cell(data, f"follow_ups.{key}")])
        if key != "pending":
            _hbar(
                chart, label, counts[key], top, f"{counts[key]:,}", "" if key == "on_time" else key
            )
    return chart


def _causes(report: Report, data: dict[str, Any]) -> Chart:
    chart = Chart("causes", "Top causes", WIDTH, 0)
    chart.head = ["Cause", "Cases", f"Months seen (last {REPEAT_MONTHS})", "Repeats"]
    listed = report.causes()
    top = max((count for _, count, _, _ in listed), default=0)
    for tag, count, months, repeats in listed:
        cases = Cell(f"{count:,}")
        if tag in data["cause_tags"]:
            cases = _cell(data, ("cause_tags", tag))
        chart.rows.append([Cell(tag), cases, Cell(f"{months}"), Cell("repeats" if repeats else "")])
        if count:
            _hbar(chart, tag, count, top, f"{count:,}", "repeat" if repeats else "")
    return chart


def _returning(report: Report) -> list[tuple[str, str]]:
    found = report.returning
    return [
        ("Cases with a known customer", f"{found.cases:,}"),
        ("From a customer with an earlier case", f"{found.returning:,} ({_pct(found.share)})"),
        ("Customers", f"{len(found.customers):,}"),
        ("Customers who had complained before", f"{len(found.returning_customers):,}"),
    ]


def _bought_again(data: dict[str, Any], year: dict[str, Any]) -> tuple[Chart | None, Chart | None]:
    """Who bought again: the twelve months' cases as a chart (most of them have had their
    90 days), and the period's as a table of the stats' own numbers; None without orders."""
    if data["bought_again"] is None:
        return None, None
    chart = Chart("bought-again", "Bought again, cases of the twelve months", WIDTH, 0)
    period = Chart("bought-again-period", "Bought again, this period's cases", WIDTH, 0)
    chart.head = period.head = [
        "Outcome",
        "Cases",
        "Bought again",
        "Share",
        "Still within the window",
    ]
    for outcome in AGAIN_OUTCOMES:
        base = f"bought_again.{outcome}"
        keys = (
            ("cases", "count"),
            ("bought_again", "count"),
            ("share", "share"),
            ("window_open", "count"),
        )
        label = Cell(OUTCOME_LABELS[outcome])
        period.rows.append([label, *(_cell(data, f"{base}.{key}", shown) for key, shown in keys)])
        chart.rows.append(
            [label, *(Cell(_cell(year, f"{base}.{key}", shown).text) for key, shown in keys)]
        )
        share = year["bought_again"][outcome]["share"]
        _hbar(chart, OUTCOME_LABELS[outcome], share or 0.0, 1.0, _pct(share), outcome)
    return chart, period


# -- geometry ----------------------------------------------------------------------------
def _hbar(chart: Chart, label: str, value: float, top: float, text: str, tone: str = "") -> None:
    """Add a horizontal bar (its length ``value`` of ``top``) as the chart's next row."""
    room = WIDTH - LABEL_W - 90
    y = 4 + ROW_H * len(chart.bars)
    w = room * value / top if top else 0.0
    chart.bars.append(Bar(label, LABEL_W, y, w, BAR_H, text, tone))
    chart.height = int(y + ROW_H + 4)


def _column_x(index: int, count: int) -> float:
    step = (PLOT_W - AXIS_W) / count
    return AXIS_W + step * (index + 0.5)


def _month_label(x: float, first: date, index: int) -> tuple[float, str, str]:
    # The year under January and under the first column, as a wall calendar has it.
    return x, f"{first:%b}", "" if index and first.month != 1 else f"{first:%Y}"


def _nice(top: float) -> float:
    """The round number at or above ``top`` that the axis ends at (0 stays 0)."""
    if top <= 0:
        return 0.0
    magnitude = float(10 ** (len(str(int(top))) - 1))
    for step in (1, 2, 2.5, 5, 10):
        if top <= step * magnitude:
            return step * magnitude
    return 10.0 * magnitude


def _short_money(amount: float) -> str:
    if amount >= 10_000:
        return f"{amount / 1000:,.0f}k"
    if amount >= 1000:
        return f"{amount / 1000:,.1f}k".replace(".0k", "k")
    return f"{amount:,.0f}"
