"""``recover stats`` on screen: the figures first, then a bar chart per distribution."""

from __future__ import annotations

from rich.bar import Bar
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ...case import OUTCOMES
from ...stats import Stats
from ...values import format_money

BAR_WIDTH = 30


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f}%"


def _duration(hours: float) -> str:
    if hours < 1:
        return f"{round(hours * 60)}m"
    if hours < 48:
        return f"{hours:.1f}h"
    return f"{hours / 24:.1f}d"


def render(stats: Stats) -> list[RenderableType]:
    """The stats screen: figures first, then a bar chart per distribution."""
    span = ""
    if stats.since or stats.until:
        span = (
            f" opened {stats.since.isoformat() if stats.since else '…'}"
            f" to {stats.until.isoformat() if stats.until else 'today'}"
        )
    parts: list[RenderableType] = [Text(f"Recoveries{span}", style="bold")]
    if not stats.cases:
        parts.append(Text("No cases yet." if not span else "No cases in those dates."))
        return parts
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column()
    facts.add_row("Cases", str(stats.cases))
    facts.add_row(
        "Kept",
        f"{_percent(stats.kept_rate)} ({stats.outcomes['kept']} of {stats.with_outcome} "
        "with an outcome)"
        if stats.with_outcome
        else "— (no outcome recorded yet: recover close ID)",
    )
    for currency, money in sorted(stats.money.items()):
        label = "Cost" if len(stats.money) == 1 else f"Cost ({currency})"
        line = (
            f"{format_money(money.cost, currency)}: refunds {format_money(money.refunds)}, "
            f"goodwill {format_money(money.goodwill)}"
        )
        if money.order_value:
            line += (
                f"; {_percent(money.share)} of {format_money(money.order_value, currency)} "
                "order value"
            )
        facts.add_row(label, line)
    median = stats.median_hours_to_close
    facts.add_row(
        "Time to close",
        f"median {_duration(median)} ({len(stats.hours_to_close)} closed)"
        if median is not None
        else "— (none closed yet)",
    )
    f = stats.follow_ups
    facts.add_row(
        "Follow-ups",
        f"{f['on_time']} on time · {f['late']} late · {f['missed']} missed · "
        f"{f['pending']} to come",
    )
    parts += [facts, Text("")]
    parts.append(chart("Outcomes", [(o, stats.outcomes[o]) for o in OUTCOMES]))
    parts.append(chart("Cases per playbook", stats.playbooks_ranked()))
    parts.append(chart("Root-cause tags", stats.top_causes(), empty="no tags yet"))
    parts.append(
        chart(
            "Satisfaction",
            [(f"{score}/5", stats.satisfaction[score]) for score in range(5, 0, -1)],
            empty="no scores yet",
        )
    )
    return parts


def chart(title: str, rows: list[tuple[str, int]], *, empty: str = "none") -> RenderableType:
    """A titled horizontal bar chart: label, bar (scaled to the largest), count."""
    heading = Text(title, style="bold")
    if not any(count for _, count in rows):
        return Group(heading, Text(f"  {empty}", style="dim"), Text(""))
    top = max(count for _, count in rows)
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column(width=BAR_WIDTH, no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    for label, count in rows:
        table.add_row(
            Text(f"  {label}"),
            Bar(size=top, begin=0, end=count, width=BAR_WIDTH, color="cyan"),
            str(count),
        )
    return Group(heading, table, Text(""))
